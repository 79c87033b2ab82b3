/* SPDX-License-Identifier: GPL-2.0-only */
#include "config.h"

#include <errno.h>
#include <getopt.h>
#include <ini.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "vcma_size.h"

void config_init(struct vcmad_config *c)
{
	memset(c, 0, sizeof(*c));
	c->api_socket = strdup(VCMAD_DEFAULT_SOCKET);
	c->state_dir = strdup(VCMAD_DEFAULT_STATE);
	c->log_level = VLOG_INFO;
	c->log_rate = 20;
	c->log_burst = 100;
	c->fsync = true;
	c->reconnect_min_ms = 100;
	c->reconnect_max_ms = 5000;
	c->max_output = 256 * 1024;
	vm_limits_default(&c->lim);
}

void config_free(struct vcmad_config *c)
{
	for (size_t i = 0; i < c->nr_vms; i++) {
		free(c->vms[i].name);
		free(c->vms[i].channel);
		free(c->vms[i].qmp);
	}
	free(c->vms);
	free(c->config_file);
	free(c->api_socket);
	free(c->api_group);
	free(c->api_read_group);
	free(c->state_dir);
	free(c->libvirt_uri);
	memset(c, 0, sizeof(*c));
}

static int set_str(char **dst, const char *v)
{
	char *n = strdup(v);

	if (!n)
		return -1;
	free(*dst);
	*dst = n;
	return 0;
}

static int parse_uint(const char *v, unsigned long long max, unsigned long long *out)
{
	char *end;
	unsigned long long n;

	if (!*v || *v == '-')
		return -1;
	errno = 0;
	n = strtoull(v, &end, 10);
	if (errno || *end || n > max)
		return -1;
	*out = n;
	return 0;
}

static int parse_bool(const char *v, bool *out)
{
	if (!strcmp(v, "true") || !strcmp(v, "yes") || !strcmp(v, "1") || !strcmp(v, "on"))
		*out = true;
	else if (!strcmp(v, "false") || !strcmp(v, "no") || !strcmp(v, "0") || !strcmp(v, "off"))
		*out = false;
	else
		return -1;
	return 0;
}

int config_add_vm(struct vcmad_config *c, const char *name, const char *channel,
		  char *err, size_t errlen)
{
	struct config_vm *n;

	if (!vm_name_valid(name)) {
		snprintf(err, errlen, "invalid VM name '%s' (1-%d of [A-Za-z0-9_.-])", name,
			 VCMA_VM_NAME_MAX);
		return -1;
	}
	if (!*channel || strlen(channel) >= 108) {
		snprintf(err, errlen, "VM '%s': channel path empty or longer than 107 bytes", name);
		return -1;
	}
	for (size_t i = 0; i < c->nr_vms; i++) {
		if (!strcmp(c->vms[i].name, name))
			return set_str(&c->vms[i].channel, channel);
	}
	n = realloc(c->vms, (c->nr_vms + 1) * sizeof(*n));
	if (!n)
		return -1;
	c->vms = n;
	n[c->nr_vms].name = strdup(name);
	n[c->nr_vms].channel = strdup(channel);
	n[c->nr_vms].qmp = NULL;
	n[c->nr_vms].stats_interval_s = -1;
	n[c->nr_vms].pressure_backoff_ms = 0;
	if (!n[c->nr_vms].name || !n[c->nr_vms].channel)
		return -1;
	c->nr_vms++;
	return 0;
}

int config_set_vm_qmp(struct vcmad_config *c, const char *name, const char *qmp, char *err,
		      size_t errlen)
{
	if (!*qmp || strlen(qmp) >= 108) {
		snprintf(err, errlen, "VM '%s': QMP socket path empty or longer than 107 bytes", name);
		return -1;
	}
	for (size_t i = 0; i < c->nr_vms; i++)
		if (!strcmp(c->vms[i].name, name))
			return set_str(&c->vms[i].qmp, qmp);
	snprintf(err, errlen, "VM '%s': qmp given before its channel", name);
	return -1;
}

/* [vm.NAME] pressure_backoff_ms: 1 ms .. 1 day (0 would mean "the global one"). */
static int config_set_vm_backoff(struct vcmad_config *c, const char *name, const char *v,
				 char *err, size_t errlen)
{
	unsigned long long n;

	if (parse_uint(v, 86400000, &n) || !n) {
		snprintf(err, errlen, "[vm.%s] pressure_backoff_ms: '%s' is not 1..86400000", name, v);
		return -1;
	}
	for (size_t i = 0; i < c->nr_vms; i++) {
		if (!strcmp(c->vms[i].name, name)) {
			c->vms[i].pressure_backoff_ms = (uint32_t)n;
			return 0;
		}
	}
	snprintf(err, errlen, "VM '%s': pressure_backoff_ms given before its channel", name);
	return -1;
}

int config_set_vm_stats_interval(struct vcmad_config *c, const char *name, const char *v,
				 char *err, size_t errlen)
{
	unsigned long long n;

	if (parse_uint(v, 86400, &n)) {
		snprintf(err, errlen, "[vm.%s] balloon_stats_interval_s: '%s' is not 0..86400",
			 name, v);
		return -1;
	}
	for (size_t i = 0; i < c->nr_vms; i++) {
		if (!strcmp(c->vms[i].name, name)) {
			c->vms[i].stats_interval_s = (int64_t)n;
			return 0;
		}
	}
	snprintf(err, errlen, "VM '%s': balloon_stats_interval_s given before its channel", name);
	return -1;
}

/* A numeric limit: the key, where it lives and its bounds. */
struct num_key {
	const char *section, *key;
	size_t off;
	int width;	/* 4 = unsigned int, 8 = uint64_t/size_t */
	unsigned long long min, max;
	bool size;	/* accepts "64M" */
};

#define CFG(f) offsetof(struct vcmad_config, f)
static const struct num_key num_keys[] = {
	{ "daemon", "log_rate", CFG(log_rate), 4, 0, 1000000, false },
	{ "daemon", "log_burst", CFG(log_burst), 4, 1, 1000000, false },
	{ "daemon", "reconnect_min_ms", CFG(reconnect_min_ms), 4, 1, 60000, false },
	{ "daemon", "reconnect_max_ms", CFG(reconnect_max_ms), 4, 1, 3600000, false },
	{ "limits", "max_output", CFG(max_output), 8, 4096, 1ull << 30, true },
	{ "limits", "max_inflight", CFG(lim.max_inflight), 4, 1, 4096, false },
	{ "limits", "max_reservations", CFG(lim.max_reservations), 4, 1, 1 << 20, false },
	{ "limits", "max_violations", CFG(lim.max_violations), 4, 1, 1000000, false },
	{ "limits", "keepalive_ms", CFG(lim.keepalive_ms), 4, 10, 3600000, false },
	{ "limits", "keepalive_timeout_ms", CFG(lim.keepalive_timeout_ms), 4, 10, 3600000, false },
	{ "limits", "frame_timeout_ms", CFG(lim.frame_timeout_ms), 4, 10, 3600000, false },
	{ "limits", "default_deadline_ms", CFG(lim.default_deadline_ms), 4, 1, 3600000, false },
	{ "limits", "deadline_grace_ms", CFG(lim.deadline_grace_ms), 4, 0, 3600000, false },
	{ "limits", "max_frames_per_sec", CFG(lim.max_frames_per_sec), 4, 1, 10000000, false },
	{ "limits", "max_guest_mem", CFG(lim.max_guest_mem), 8, 1ull << 20, 1ull << 60, true },
	{ "limits", "max_status_grants", CFG(lim.max_status_grants), 4, 1, 1 << 20, false },
	{ "balloon", "stats_interval_s", CFG(lim.stats_interval_s), 4, 0, 86400, false },
	{ "balloon", "pressure_backoff_ms", CFG(lim.pressure_backoff_ms), 4, 0, 86400000, false },
	{ "limits", "max_reasm", CFG(lim.max_reasm), 8,
	  VCMA_MAX_PAYLOAD + sizeof(struct vcma_hdr), 1ull << 30, true },
};

static int set_num(struct vcmad_config *c, const struct num_key *k, const char *v,
		   char *err, size_t errlen)
{
	unsigned long long n;
	uint64_t sz;

	if (k->size ? vcma_size_parse(v, 0, &sz) : parse_uint(v, ULLONG_MAX, &n)) {
		snprintf(err, errlen, "%s: '%s' is not a %s", k->key, v,
			 k->size ? "size" : "number");
		return -1;
	}
	if (k->size)
		n = sz;
	if (n < k->min || n > k->max) {
		snprintf(err, errlen, "%s: %llu out of range [%llu, %llu]", k->key, n, k->min,
			 k->max);
		return -1;
	}
	if (k->width == 4)
		*(unsigned int *)((char *)c + k->off) = (unsigned int)n;
	else
		*(uint64_t *)((char *)c + k->off) = n;
	return 0;
}

struct ini_ctx {
	struct vcmad_config *c;
	char *err;
	size_t errlen;
	int failed;
};

static int config_ini_entry(void *user, const char *section, const char *key, const char *value)
{
	struct ini_ctx *x = user;
	struct vcmad_config *c = x->c;
	int level;

	if (x->failed)
		return 0;
	for (size_t i = 0; i < sizeof(num_keys) / sizeof(num_keys[0]); i++) {
		if (!strcmp(section, num_keys[i].section) && !strcmp(key, num_keys[i].key)) {
			x->failed = set_num(c, &num_keys[i], value, x->err, x->errlen) < 0;
			return !x->failed;
		}
	}
	if (!strcmp(section, "daemon")) {
		if (!strcmp(key, "api_socket"))
			return !set_str(&c->api_socket, value);
		if (!strcmp(key, "api_group"))
			return !set_str(&c->api_group, value);
		if (!strcmp(key, "api_read_group"))
			return !set_str(&c->api_read_group, value);
		if (!strcmp(key, "state_dir"))
			return !set_str(&c->state_dir, value);
		if (!strcmp(key, "log_level")) {
			level = vlog_parse_level(value);
			if (level < 0)
				goto bad_value;
			c->log_level = level;
			return 1;
		}
		if (!strcmp(key, "fsync")) {
			if (parse_bool(value, &c->fsync))
				goto bad_value;
			return 1;
		}
	} else if (!strcmp(section, "balloon")) {
		if (!strcmp(key, "libvirt_fallback")) {
			if (parse_bool(value, &c->balloon_libvirt_fallback))
				goto bad_value;
			return 1;
		}
	} else if (!strcmp(section, "libvirt")) {
		if (!strcmp(key, "enabled")) {
			if (parse_bool(value, &c->libvirt))
				goto bad_value;
			return 1;
		}
		/* "uri" is the older spelling of the same key */
		if (!strcmp(key, "connect") || !strcmp(key, "uri"))
			return !set_str(&c->libvirt_uri, value);
	} else if (!strncmp(section, "vm.", 3)) {
		if (!strcmp(key, "channel")) {
			x->failed = config_add_vm(c, section + 3, value, x->err, x->errlen) < 0;
			return !x->failed;
		}
		if (!strcmp(key, "qmp")) {
			x->failed = config_set_vm_qmp(c, section + 3, value, x->err, x->errlen) < 0;
			return !x->failed;
		}
		if (!strcmp(key, "balloon_stats_interval_s")) {
			x->failed = config_set_vm_stats_interval(c, section + 3, value, x->err,
								 x->errlen) < 0;
			return !x->failed;
		}
		if (!strcmp(key, "pressure_backoff_ms")) {
			x->failed = config_set_vm_backoff(c, section + 3, value, x->err,
							  x->errlen) < 0;
			return !x->failed;
		}
	}
	snprintf(x->err, x->errlen, "unknown key '%s' in section [%s]", key, section);
	x->failed = 1;
	return 0;
bad_value:
	snprintf(x->err, x->errlen, "[%s] %s: bad value '%s'", section, key, value);
	x->failed = 1;
	return 0;
}

int config_load_file(struct vcmad_config *c, const char *path, char *err, size_t errlen)
{
	struct ini_ctx x = { c, err, errlen, 0 };
	char inner[256] = "";
	int rc;

	x.err = inner;
	x.errlen = sizeof(inner);
	rc = ini_parse(path, config_ini_entry, &x);
	if (rc == -1) {
		snprintf(err, errlen, "%s: cannot open: %s", path, strerror(errno));
		return -1;
	}
	if (rc) {
		snprintf(err, errlen, "%s:%d: %s", path, rc, *inner ? inner : "syntax error");
		return -1;
	}
	return 0;
}

static void usage(FILE *f)
{
	fprintf(f,
		"Usage: vcmad [OPTION]...\n"
		"Host daemon of vcma: brokers contiguous guest memory to KVM guests over\n"
		"their virtio-serial channel and serves a REST API on a unix socket.\n\n"
		"  -c, --config FILE       INI configuration (see configs/vcmad.conf)\n"
		"  -s, --api-socket PATH   REST API socket (default %s)\n"
		"  -d, --state-dir DIR     desired-state store (default %s)\n"
		"      --api-group GROUP   group allowed to use the API socket (name or gid;\n"
		"                          primary or supplementary group of the caller)\n"
		"      --api-read-group GROUP  group allowed GET requests and /metrics only\n"
		"      --vm NAME=PATH[,qmp=QMP]  serve VM NAME whose channel socket is PATH\n"
		"                          (repeatable); QMP = QEMU's QMP socket, for balloon\n"
		"                          host reclaim (RAM layout and backing file)\n"
		"  -l, --log-level LEVEL   error, warn, info (default) or debug\n"
		"      --no-fsync          do not fsync state writes (tests, tmpfs)\n"
		"      --connect URI       discover VMs through libvirt at URI (if built in;\n"
		"                          default qemu:///system); config [libvirt] connect\n"
		"      --libvirt[=URI]     same as --connect, URI optional\n"
		"      --set SECTION.KEY=VALUE  any configuration key, as in the file\n"
		"  -h, --help              this help\n"
		"  -V, --version           print the version\n",
		VCMAD_DEFAULT_SOCKET, VCMAD_DEFAULT_STATE);
}

int config_parse_args(struct vcmad_config *c, int argc, char **argv, char *err, size_t errlen)
{
	enum { OPT_VM = 256, OPT_GROUP, OPT_NOFSYNC, OPT_LIBVIRT, OPT_CONNECT, OPT_SET,
	       OPT_RGROUP };
	static const struct option opts[] = {
		{ "config", required_argument, NULL, 'c' },
		{ "api-socket", required_argument, NULL, 's' },
		{ "state-dir", required_argument, NULL, 'd' },
		{ "api-group", required_argument, NULL, OPT_GROUP },
		{ "api-read-group", required_argument, NULL, OPT_RGROUP },
		{ "vm", required_argument, NULL, OPT_VM },
		{ "log-level", required_argument, NULL, 'l' },
		{ "no-fsync", no_argument, NULL, OPT_NOFSYNC },
		{ "libvirt", optional_argument, NULL, OPT_LIBVIRT },
		{ "connect", required_argument, NULL, OPT_CONNECT },
		{ "set", required_argument, NULL, OPT_SET },
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
		{ 0 },
	};
	int o, level;

	/* The file first, so that flags override it wherever they appear. */
	opterr = 0;
	optind = 1;
	while ((o = getopt_long(argc, argv, "c:s:d:l:hV", opts, NULL)) != -1) {
		if (o == 'c') {
			if (set_str(&c->config_file, optarg) ||
			    config_load_file(c, optarg, err, errlen))
				return -1;
		}
	}
	optind = 1;
	while ((o = getopt_long(argc, argv, "c:s:d:l:hV", opts, NULL)) != -1) {
		char *eq, *comma;

		switch (o) {
		case 'c':
			break;
		case 's':
			if (strlen(optarg) >= 108) {
				snprintf(err, errlen, "--api-socket: path longer than 107 bytes");
				return -1;
			}
			set_str(&c->api_socket, optarg);
			break;
		case 'd':
			set_str(&c->state_dir, optarg);
			break;
		case OPT_GROUP:
			set_str(&c->api_group, optarg);
			break;
		case OPT_RGROUP:
			set_str(&c->api_read_group, optarg);
			break;
		case OPT_VM: {
			char *name = strdup(optarg);

			eq = name ? strchr(name, '=') : NULL;
			if (!eq) {
				snprintf(err, errlen, "--vm '%s': expected NAME=PATH[,qmp=QMP_SOCKET]",
					 optarg);
				free(name);
				return -1;
			}
			*eq = 0;
			/* NAME=CHANNEL[,qmp=PATH]: a channel path holding ",qmp=" is not supported */
			comma = strstr(eq + 1, ",qmp=");
			if (comma)
				*comma = 0;
			o = config_add_vm(c, name, eq + 1, err, errlen);
			if (!o && comma)
				o = config_set_vm_qmp(c, name, comma + 5, err, errlen);
			free(name);
			if (o < 0)
				return -1;
			break;
		}
		case 'l':
			level = vlog_parse_level(optarg);
			if (level < 0) {
				snprintf(err, errlen, "--log-level '%s': use error, warn, info or debug",
					 optarg);
				return -1;
			}
			c->log_level = level;
			break;
		case OPT_NOFSYNC:
			c->fsync = false;
			break;
		case OPT_CONNECT:
		case OPT_LIBVIRT:
			if (o == OPT_CONNECT && !*optarg) {
				snprintf(err, errlen, "--connect: empty libvirt URI");
				return -1;
			}
			c->libvirt = true;
			if (optarg)
				set_str(&c->libvirt_uri, optarg);
			break;
		case OPT_SET: {
			struct ini_ctx x = { c, err, errlen, 0 };
			char *arg = strdup(optarg), *dot = NULL;

			eq = arg ? strchr(arg, '=') : NULL;
			/* the key is after the last dot before '=': sections may hold dots (vm.NAME) */
			for (char *p = arg; eq && p < eq; p++)
				if (*p == '.')
					dot = p;
			if (!dot || !eq) {
				snprintf(err, errlen, "--set '%s': expected SECTION.KEY=VALUE", optarg);
				free(arg);
				return -1;
			}
			*dot = *eq = 0;
			config_ini_entry(&x, arg, dot + 1, eq + 1);
			free(arg);
			if (x.failed)
				return -1;
			break;
		}
		case 'h':
			usage(stdout);
			return 1;
		case 'V':
			printf("vcmad %s (protocol %d..%d)\n", VCMA_VERSION, VCMA_PROTO_MIN,
			       VCMA_PROTO_MAX);
			return 1;
		default:
			snprintf(err, errlen, "unknown or incomplete option '%s' (see --help)",
				 argv[optind - 1]);
			return -1;
		}
	}
	if (optind < argc) {
		snprintf(err, errlen, "unexpected argument '%s' (see --help)", argv[optind]);
		return -1;
	}
	if (c->reconnect_min_ms > c->reconnect_max_ms) {
		snprintf(err, errlen, "reconnect_min_ms is above reconnect_max_ms");
		return -1;
	}
	if (c->lim.keepalive_timeout_ms <= c->lim.keepalive_ms) {
		snprintf(err, errlen, "keepalive_timeout_ms must exceed keepalive_ms");
		return -1;
	}
	return 0;
}

