/* SPDX-License-Identifier: GPL-2.0-only */
/* vcmad configuration (INI file and flags); sizes are tested in tests/unit/proto. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "config.h"
#include "../../tap.h"

static char *write_tmp(const char *text)
{
	static char path[64];
	int fd;

	snprintf(path, sizeof(path), "/tmp/vcmad-conf-XXXXXX");
	fd = mkstemp(path);
	if (fd < 0 || write(fd, text, strlen(text)) != (ssize_t)strlen(text))
		abort();
	close(fd);
	return path;
}

static int parse(struct vcmad_config *c, char *err, int argc, ...)
{
	char *argv[32] = { "vcmad" };
	va_list ap;

	va_start(ap, argc);
	for (int i = 1; i <= argc; i++)
		argv[i] = va_arg(ap, char *);
	va_end(ap);
	config_init(c);
	return config_parse_args(c, argc + 1, argv, err, 256);
}

static void test_config(void)
{
	struct vcmad_config c;
	char err[256] = "";
	char *path = write_tmp(
		"; comment\n"
		"[daemon]\napi_socket = /tmp/x.sock\nstate_dir = /tmp/st\nlog_level = debug\n"
		"fsync = no\nreconnect_min_ms = 50\n"
		"[limits]\nmax_inflight = 7\nmax_guest_mem = 2T\nkeepalive_ms = 1000\n"
		"keepalive_timeout_ms = 3000\n"
		"[balloon]\npressure_backoff_ms = 30000\n"
		"[vm.alpha]\nchannel = /run/a.sock\npressure_backoff_ms = 5000\n"
		"[vm.beta]\nchannel = /run/b.sock\n");
	char vmarg[] = "gamma=/run/g.sock";
	char setarg[] = "limits.max_violations=3";
	char setvm[] = "vm.delta.channel=/run/d.sock";
	int rc = parse(&c, err, 8, "--config", path, "--vm", vmarg, "--set", setarg, "--set", setvm);

	ok(rc == 0, "config file + flags parse (%s)", err);
	ok(!strcmp(c.api_socket, "/tmp/x.sock") && !strcmp(c.state_dir, "/tmp/st"), "paths");
	ok(c.log_level == 3 && !c.fsync && c.reconnect_min_ms == 50, "daemon keys");
	ok(c.lim.max_inflight == 7 && c.lim.max_guest_mem == 2ull << 40, "limits, sizes with suffix");
	ok(c.lim.max_violations == 3, "--set overrides a limit");
	ok(c.lim.pressure_backoff_ms == 30000 && c.vms[0].pressure_backoff_ms == 5000 &&
	   c.vms[1].pressure_backoff_ms == 0, "pressure_backoff_ms: global and per VM (0: global)");
	ok(c.nr_vms == 4 && !strcmp(c.vms[0].name, "alpha") && !strcmp(c.vms[2].name, "gamma") &&
	   !strcmp(c.vms[3].channel, "/run/d.sock"), "VMs from file, --vm and --set vm.NAME");
	config_free(&c);

	/* flags win over the file wherever they appear */
	rc = parse(&c, err, 4, "--api-socket", "/tmp/flag.sock", "--config", path);
	ok(rc == 0 && !strcmp(c.api_socket, "/tmp/flag.sock"), "flag beats file");
	config_free(&c);
	unlink(path);

	static const struct { const char *text; const char *want; } bad[] = {
		{ "[daemon]\nnope = 1\n", "unknown key" },
		{ "[limits]\nmax_inflight = lots\n", "not a number" },
		{ "[limits]\nmax_inflight = 0\n", "out of range" },
		{ "[limits]\nmax_inflight = -3\n", "not a number" },
		{ "[daemon]\nlog_level = loud\n", "bad value" },
		{ "[daemon]\nfsync = maybe\n", "bad value" },
		{ "[vm.bad/name]\nchannel = /x\n", "invalid VM name" },
		{ "[vm.ok]\nchannel = \n", "empty" },
		{ "no section line\n", ":1:" },
		{ "[vm.ok]\npressure_backoff_ms = 5\n", "before its channel" },
		{ "[vm.ok]\nchannel = /x\npressure_backoff_ms = 0\n", "not 1..86400000" },
		{ "[balloon]\npressure_backoff_ms = 86400001\n", "out of range" },
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		path = write_tmp(bad[i].text);
		rc = parse(&c, err, 2, "--config", path);
		ok(rc == -1 && strstr(err, bad[i].want), "bad config %zu refused: %s", i, err);
		config_free(&c);
		unlink(path);
	}
	ok(parse(&c, err, 2, "--config", "/nonexistent/vcmad.conf") == -1 &&
	   strstr(err, "cannot open"), "missing config file: %s", err);
	config_free(&c);
	ok(parse(&c, err, 2, "--vm", "novalue") == -1 && strstr(err, "NAME=PATH"), "--vm without =");
	config_free(&c);
	ok(parse(&c, err, 1, "--bogus") == -1, "unknown flag");
	config_free(&c);
	ok(parse(&c, err, 1, "stray") == -1 && strstr(err, "unexpected"), "stray argument");
	config_free(&c);
	ok(parse(&c, err, 2, "--log-level", "chatty") == -1, "bad log level");
	config_free(&c);
	ok(parse(&c, err, 4, "--set", "limits.keepalive_ms=5000", "--set",
		 "limits.keepalive_timeout_ms=4000") == -1 && strstr(err, "keepalive"),
	   "keepalive timeout must exceed the interval");
	config_free(&c);
	ok(parse(&c, err, 2, "--set", "nodot") == -1, "--set without SECTION.KEY");
	config_free(&c);
}

/* --connect URI is the documented spelling; --libvirt[=URI] and both config keys stay. */
static void test_libvirt_connect(void)
{
	struct vcmad_config c;
	char err[256] = "";
	char *path = write_tmp("[libvirt]\nenabled = no\nconnect = qemu:///session\n");

	ok(parse(&c, err, 2, "--connect", "test:///default") == 0 && c.libvirt &&
	   c.libvirt_uri && !strcmp(c.libvirt_uri, "test:///default"), "--connect URI (%s)", err);
	config_free(&c);
	ok(parse(&c, err, 1, "--connect=qemu:///embed?root=/tmp/x") == 0 && c.libvirt &&
	   !strcmp(c.libvirt_uri, "qemu:///embed?root=/tmp/x"), "--connect=URI");
	config_free(&c);
	ok(parse(&c, err, 1, "--connect") == -1 && strstr(err, "--connect"),
	   "--connect without URI refused: %s", err);
	config_free(&c);
	ok(parse(&c, err, 2, "--connect", "") == -1 && strstr(err, "empty"),
	   "--connect '' refused: %s", err);
	config_free(&c);
	ok(parse(&c, err, 1, "--libvirt") == 0 && c.libvirt && !c.libvirt_uri,
	   "--libvirt alone: default URI");
	config_free(&c);
	ok(parse(&c, err, 1, "--libvirt=test:///default") == 0 &&
	   !strcmp(c.libvirt_uri, "test:///default"), "--libvirt=URI");
	config_free(&c);
	ok(parse(&c, err, 2, "--config", path) == 0 && !c.libvirt &&
	   !strcmp(c.libvirt_uri, "qemu:///session"), "[libvirt] connect key");
	config_free(&c);
	ok(parse(&c, err, 4, "--config", path, "--connect", "test:///default") == 0 && c.libvirt &&
	   !strcmp(c.libvirt_uri, "test:///default"), "--connect beats the file");
	config_free(&c);
	ok(parse(&c, err, 0) == 0 && !c.balloon_libvirt_fallback, "libvirt_fallback off by default");
	config_free(&c);
	ok(parse(&c, err, 2, "--set", "balloon.libvirt_fallback=yes") == 0 &&
	   c.balloon_libvirt_fallback, "[balloon] libvirt_fallback = yes");
	config_free(&c);
	ok(parse(&c, err, 2, "--set", "balloon.libvirt_fallback=sometimes") == -1 &&
	   strstr(err, "libvirt_fallback"), "bad libvirt_fallback refused: %s", err);
	config_free(&c);
	ok(parse(&c, err, 2, "--set", "libvirt.uri=qemu:///system") == 0 &&
	   !strcmp(c.libvirt_uri, "qemu:///system"), "older key uri still accepted");
	config_free(&c);
	unlink(path);
}

/* The shipped example must load and describe exactly the built-in defaults. */
static void test_shipped_example(const char *path)
{
	struct vcmad_config c, d;
	char err[256] = "";

	config_init(&d);
	config_init(&c);
	ok(config_load_file(&c, path, err, sizeof(err)) == 0, "%s loads (%s)", path, err);
	ok(!strcmp(c.api_socket, d.api_socket) && !strcmp(c.state_dir, d.state_dir) &&
	   c.log_level == d.log_level && c.fsync == d.fsync && c.max_output == d.max_output &&
	   c.reconnect_min_ms == d.reconnect_min_ms && c.reconnect_max_ms == d.reconnect_max_ms &&
	   !memcmp(&c.lim, &d.lim, sizeof(c.lim)) && c.nr_vms == 0 && !c.libvirt,
	   "the example documents the defaults");
	config_free(&c);
	config_free(&d);
}

int main(int argc, char **argv)
{
	test_config();
	test_libvirt_connect();
	if (argc > 1)
		test_shipped_example(argv[1]);
	return tap_done();
}
