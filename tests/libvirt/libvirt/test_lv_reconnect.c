/* SPDX-License-Identifier: MIT */
/*
 * The connector through a real libvirtd (private socket, its test driver):
 * domain events arrive over the remote protocol on the libevent bridge;
 * when libvirtd dies the connector notices, keeps its attached domains and
 * retries with backoff; when libvirtd is back it reconnects, rescans and
 * detaches what is gone, and follows new domains again. A libvirtd that
 * hangs is noticed by keepalive and waited for without stalling the loop.
 *
 *   test-lv-reconnect FIXTURE_DIR
 */
#include <stdbool.h>
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <event2/event.h>
#include <libvirt/libvirt.h>
#include <libvirt/virterror.h>

#include "libvirt_events.h"
#include "libvirt_meta.h"
#include "lv_embed.h"
#include "lv_testutil.h"
#include "../../tap.h"

#define LIBVIRTD "/usr/sbin/libvirtd"

static struct event_base *base;
static char dir[64], sock[128], uri[256];
static const char *fixdir;
static pid_t daemon_pid = -1;

static bool start_libvirtd(void)
{
	char conf[128], pidf[128], log[160];
	FILE *f;

	snprintf(conf, sizeof(conf), "%s/libvirtd.conf", dir);
	snprintf(pidf, sizeof(pidf), "%s/libvirtd.pid", dir);
	snprintf(log, sizeof(log), "%s/libvirtd.log", dir);
	f = fopen(conf, "w");
	if (!f)
		return false;
	fprintf(f, "unix_sock_dir = \"%s\"\nunix_sock_rw_perms = \"0700\"\n"
		"auth_unix_rw = \"none\"\nauth_unix_ro = \"none\"\n"
		"log_outputs = \"3:file:%s\"\n", dir, log);
	fclose(f);
	unlink(sock);
	daemon_pid = fork();
	if (daemon_pid == 0) {
		execl(LIBVIRTD, LIBVIRTD, "--config", conf, "--pid-file", pidf, (char *)NULL);
		_exit(127);
	}
	for (int i = 0; i < 200 && daemon_pid > 0; i++) {
		if (access(sock, F_OK) == 0)
			return true;
		usleep(50 * 1000);
	}
	return false;
}

static void stop_libvirtd(void)
{
	if (daemon_pid <= 0)
		return;
	kill(daemon_pid, SIGKILL);
	waitpid(daemon_pid, NULL, 0);
	daemon_pid = -1;
}

static int connected_flag(struct vcma_lv_conn *c, bool want)
{
	return vcma_lv_conn_connected(c) == want;
}

/* Runs the loop until the connector's state is `want`; false after `seconds`. */
static bool wait_connected(struct vcma_lv_conn *c, bool want, int seconds)
{
	for (int i = 0; i < seconds * 10; i++) {
		if (connected_flag(c, want))
			return true;
		lv_run_for(base, 100);
	}
	return connected_flag(c, want);
}

static virDomainPtr start_fixture(virConnectPtr admin)
{
	char *xml = lv_slurp(fixdir, "testdrv-domain.xml");
	virDomainPtr dom = virDomainCreateXML(admin, xml, 0);

	free(xml);
	return dom;
}

static void count_tick(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	(*(int *)arg)++;
}

/*
 * A libvirtd that stops answering (SIGSTOP): keepalive ends the connection,
 * the reopen blocks on its own thread while the loop keeps running, and
 * completes once libvirtd resumes.
 */
static void test_hung_libvirtd(struct vcma_lv_conn *c)
{
	struct timeval tv = { 0, 100 * 1000 };
	struct event *tick;
	int ticks = 0, before;

	tick = event_new(base, -1, EV_PERSIST, count_tick, &ticks);
	event_add(tick, &tv);
	kill(daemon_pid, SIGSTOP);
	ok(wait_connected(c, false, 30), "a hung libvirtd is noticed (keepalive)");
	lv_run_for(base, 1500);
	before = ticks;
	lv_run_for(base, 1000);
	ok(!vcma_lv_conn_connected(c) && ticks - before >= 5,
	   "the loop keeps running while the reopen waits for libvirtd (%d ticks in 1 s)",
	   ticks - before);
	kill(daemon_pid, SIGCONT);
	ok(wait_connected(c, true, 30) && vcma_lv_conn_generation(c) == 3,
	   "reconnected once libvirtd answers again (generation %u)", vcma_lv_conn_generation(c));
	event_free(tick);
}

int main(int argc, char **argv)
{
	struct vcma_lv_conn *c = NULL;
	virConnectPtr admin;
	virDomainPtr dom;

	if (argc != 2)
		return 2;
	fixdir = argv[1];
	if (geteuid() != 0 || access(LIBVIRTD, X_OK) != 0) {
		printf("1..0 # SKIP needs root and " LIBVIRTD " (libvirt-daemon)\n");
		return 0;
	}
	snprintf(dir, sizeof(dir), "/tmp/vcma-lvd-XXXXXX");
	if (!mkdtemp(dir))
		return 2;
	snprintf(sock, sizeof(sock), "%s/libvirt-sock", dir);
	snprintf(uri, sizeof(uri), "test+unix:///default?socket=%s", sock);
	signal(SIGPIPE, SIG_IGN);
	base = event_base_new();

	ok(start_libvirtd(), "private libvirtd up (%s)", sock);
	ok(vcma_lv_conn_new(base, &(struct vcma_lv_conf){
		.uri = uri, .keepalive_interval_s = 1, .keepalive_count = 2,
		.backoff_min_ms = 100, .backoff_max_ms = 800 }, &lv_recording_sink, NULL, &c) == 0 &&
	   vcma_lv_conn_connected(c), "connector connected through libvirtd");

	admin = virConnectOpen(uri);
	dom = admin ? start_fixture(admin) : NULL;
	ok(dom && lv_run_until(base, &lv_seen.attaches, 1, 20 * 1000) &&
	   strcmp(lv_seen.name, "vcma-td1") == 0,
	   "a domain started through libvirtd is attached (remote events on the bridge)");
	if (dom)
		virDomainFree(dom);
	if (admin)
		virConnectClose(admin);

	stop_libvirtd();
	ok(wait_connected(c, false, 20), "libvirtd killed: the connector notices");
	lv_run_for(base, 1500);
	ok(lv_seen.detaches == 0 && !vcma_lv_conn_connected(c),
	   "while libvirtd is away nothing is detached and retries fail quietly");

	ok(start_libvirtd(), "libvirtd back");
	ok(wait_connected(c, true, 20) && vcma_lv_conn_generation(c) == 2,
	   "the connector reconnects by itself (generation %u)", vcma_lv_conn_generation(c));
	ok(lv_seen.detaches == 1 && strcmp(lv_seen.detached, "vcma-td1") == 0,
	   "the fresh libvirtd has no vcma-td1: it is detached after the rescan");

	admin = virConnectOpen(uri);
	dom = admin ? start_fixture(admin) : NULL;
	ok(dom && lv_run_until(base, &lv_seen.attaches, 2, 20 * 1000),
	   "events flow again on the new connection");
	if (dom) {
		virDomainDestroy(dom);
		virDomainFree(dom);
	}
	ok(lv_run_until(base, &lv_seen.detaches, 2, 20 * 1000), "and a destroyed domain detaches");
	if (admin)
		virConnectClose(admin);
	test_hung_libvirtd(c);

	vcma_lv_conn_free(c);
	lv_run_for(base, 100);
	vcma_lv_event_shutdown();
	event_base_free(base);
	stop_libvirtd();
	if (!getenv("VCMA_KEEP_TMP")) {
		char cmd[128];

		snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
		if (system(cmd) != 0)
			tap_diag("could not remove %s", dir);
	}
	return tap_done();
}
