// SPDX-License-Identifier: MIT
/*
 * vcma-guest: the guest admin's view of vcma. Talks to /dev/vcma through the
 * same backend code as the agent (backend_dev.c), so what it shows is what
 * the host is told. Exit codes: 0 ok, 1 the operation failed, 2 usage
 * error, 3 the vcma module is not available.
 */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <json-c/json.h>

#include "agent_util.h"
#include "backend.h"

#ifndef VCMA_VERSION
#define VCMA_VERSION "0.0.0"
#endif

enum { EXIT_OPFAIL = 1, EXIT_USAGE = 2, EXIT_NOMODULE = 3 };

#define SYSFS_DIR "/sys/kernel/vcma"

static const char *device_path = VCMA_DEV_PATH;

static void usage(FILE *f)
{
	fprintf(f,
"Usage: vcma-guest [--device PATH] COMMAND [ARGS]\n"
"Guest admin CLI of vcma: contiguous guest-physical reservations held by vcma.ko.\n"
"\n"
"Commands:\n"
"  status [--json]                 grants and counters\n"
"  reserve SIZE [--align A] [--label L] [--deadline MS] [--tag T] [--json]\n"
"                                  reserve SIZE bytes (4096, 64M, 2G) contiguously\n"
"  release ID                      release grant ID\n"
"Options:\n"
"  --device PATH   vcma device (default " VCMA_DEV_PATH ")\n"
"  -h, --help      this text\n"
"  -V, --version   print the version\n"
"Exit: 0 ok, 1 operation failed, 2 usage error, 3 vcma module not available.\n");
}

/* Report a backend error once, here, and pick the exit code. */
static int fail(const char *what, int neg_errno)
{
	struct stat st;

	if (neg_errno == -ENODEV) {
		if (stat(SYSFS_DIR, &st) == 0)
			fprintf(stderr, "vcma-guest: %s: %s is missing although the module "
				"is loaded (no devtmpfs?)\n", what, device_path);
		else
			fprintf(stderr, "vcma-guest: %s: the vcma module is not loaded "
				"(modprobe vcma)\n", what);
		return EXIT_NOMODULE;
	}
	if (neg_errno == -EACCES || neg_errno == -EPERM) {
		fprintf(stderr, "vcma-guest: %s: permission denied on %s (run as root)\n",
			what, device_path);
		return EXIT_OPFAIL;
	}
	fprintf(stderr, "vcma-guest: %s: %s\n", what, strerror(-neg_errno));
	return EXIT_OPFAIL;
}

/* getopt's own message would name the command as the program; say it here. */
static int bad_option(const char *cmd, char **argv)
{
	fprintf(stderr, "vcma-guest: %s: bad option or missing value in '%s' (see --help)\n",
		cmd, argv[optind - 1]);
	return EXIT_USAGE;
}

static void print_json(struct json_object *o)
{
	puts(json_object_to_json_string_ext(o, JSON_C_TO_STRING_PRETTY |
					      JSON_C_TO_STRING_NOSLASHESCAPE));
	json_object_put(o);
}

static struct json_object *json_u64(uint64_t v)
{
	return json_object_new_uint64(v);
}

static struct json_object *evidence_json(const struct vcma_ioc_evidence *ev)
{
	struct json_object *o = json_object_new_object();

	json_object_object_add(o, "ranges_scanned", json_u64(ev->ranges_scanned));
	json_object_object_add(o, "ranges_tried", json_u64(ev->ranges_tried));
	json_object_object_add(o, "pages_migrated", json_u64(ev->pages_migrated));
	json_object_object_add(o, "pinned_met", json_u64(ev->pinned_met));
	json_object_object_add(o, "bh_invalidations", json_u64(ev->bh_invalidations));
	json_object_object_add(o, "retries", json_u64(ev->retries));
	json_object_object_add(o, "elapsed_us", json_u64(ev->elapsed_us));
	json_object_object_add(o, "cause", json_object_new_string(vcma_cause_name(ev->cause)));
	return o;
}

static struct json_object *evac_json(const struct vcma_ioc_evac *e)
{
	struct json_object *o = json_object_new_object();
	struct json_object *left = json_object_new_object();
	struct json_object *us = json_object_new_object();
	struct json_object *causes = json_object_new_object();
	uint32_t i;

	json_object_object_add(o, "exact", json_object_new_boolean(e->exact));
	json_object_object_add(o, "pages_in_use", json_u64(e->pages_in_use));
	json_object_object_add(o, "pages_migrated", json_u64(e->pages_migrated));
	json_object_object_add(o, "migrate_failed", json_u64(e->migrate_failed));
	json_object_object_add(left, "pinned", json_u64(e->left_pinned));
	json_object_object_add(left, "writeback", json_u64(e->left_writeback));
	json_object_object_add(left, "bh", json_u64(e->left_bh));
	json_object_object_add(left, "refcount", json_u64(e->left_refcount));
	json_object_object_add(left, "unmovable", json_u64(e->left_unmovable));
	json_object_object_add(o, "pages_left", left);
	json_object_object_add(us, "scan", json_u64(e->scan_us));
	json_object_object_add(us, "isolate", json_u64(e->isolate_us));
	json_object_object_add(us, "migrate", json_u64(e->migrate_us));
	json_object_object_add(us, "verify", json_u64(e->verify_us));
	json_object_object_add(us, "zero", json_u64(e->zero_us));
	json_object_object_add(us, "elapsed", json_u64(e->elapsed_us));
	json_object_object_add(us, "deadline", json_u64(e->deadline_us));
	json_object_object_add(o, "us", us);
	json_object_object_add(o, "pieces", json_u64(e->pieces));
	json_object_object_add(o, "pieces_late", json_u64(e->pieces_late));
	json_object_object_add(o, "piece_pages_max", json_u64(e->piece_pages_max));
	json_object_object_add(o, "attempts_failed", json_u64(e->attempts_failed));
	for (i = 1; i <= VCMA_CAUSE_MAX; i++)
		if (e->attempt_cause[i])
			json_object_object_add(causes, vcma_cause_name(i),
					       json_u64(e->attempt_cause[i]));
	json_object_object_add(o, "attempt_causes", causes);
	return o;
}

static void status_json(const struct vcma_ioc_stats *st, const struct vcma_ioc_grant *g,
			uint32_t n)
{
	struct json_object *root = json_object_new_object();
	struct json_object *grants = json_object_new_array();
	struct json_object *fails = json_object_new_object();
	uint32_t i;

	for (i = 0; i < n; i++) {
		struct json_object *o = json_object_new_object();

		json_object_object_add(o, "id", json_u64(g[i].grant_id));
		json_object_object_add(o, "gpa", json_u64(g[i].phys_addr));
		json_object_object_add(o, "size", json_u64(g[i].size));
		json_object_object_add(o, "tag", json_u64(g[i].tag));
		json_object_object_add(o, "kind", json_object_new_string(
			g[i].kind == AGENT_GRANT_BALLOON ? "balloon" : "reservation"));
		json_object_object_add(o, "label", json_object_new_string_len(
			g[i].label, (int)strnlen(g[i].label, VCMA_LABEL_LEN)));
		json_object_array_add(grants, o);
	}
	for (i = 1; i <= VCMA_CAUSE_MAX; i++)
		json_object_object_add(fails, vcma_cause_name(i), json_u64(st->fail_by_cause[i]));
	json_object_object_add(root, "grants", grants);
	json_object_object_add(root, "reserve_ok", json_u64(st->reserve_ok));
	json_object_object_add(root, "reserve_fail", json_u64(st->reserve_fail));
	json_object_object_add(root, "fail_by_cause", fails);
	json_object_object_add(root, "pages_migrated", json_u64(st->pages_migrated));
	json_object_object_add(root, "pinned_met", json_u64(st->pinned_met));
	json_object_object_add(root, "bh_invalidations", json_u64(st->bh_invalidations));
	json_object_object_add(root, "retries", json_u64(st->retries));
	json_object_object_add(root, "bytes_held", json_u64(st->bytes_held));
	json_object_object_add(root, "balloon_bytes", json_u64(st->balloon_bytes));
	json_object_object_add(root, "floor_pages", json_u64(st->floor_pages));
	json_object_object_add(root, "mem_total", json_u64(st->mem_total));
	json_object_object_add(root, "mem_free", json_u64(st->mem_free));
	json_object_object_add(root, "mem_available", json_u64(st->mem_available));
	json_object_object_add(root, "last_cause",
			       json_object_new_string(vcma_cause_name(st->last_cause)));
	print_json(root);
}

static void status_table(const struct vcma_ioc_stats *st, const struct vcma_ioc_grant *g,
			 uint32_t n, uint32_t page_size)
{
	char sz[32], a[32], b[32], c[32];
	uint32_t i;
	int any = 0;

	if (n) {
		printf("%-8s %-18s %-10s %-8s %s\n", "GRANT", "GPA", "SIZE", "TAG", "LABEL");
		for (i = 0; i < n; i++) {
			vcma_size_format(g[i].size, VCMA_SIZE_IEC, sz, sizeof(sz));
			printf("%-8" PRIu64 " 0x%016" PRIx64 " %-10s %-8" PRIu64 " %.*s%s\n",
			       (uint64_t)g[i].grant_id, (uint64_t)g[i].phys_addr, sz,
			       (uint64_t)g[i].tag, VCMA_LABEL_LEN, g[i].label,
			       g[i].kind == AGENT_GRANT_BALLOON ? " (balloon)" : "");
		}
	} else {
		printf("no grants\n");
	}
	printf("\nreservations: %" PRIu64 " ok, %" PRIu64 " failed",
	       (uint64_t)st->reserve_ok, (uint64_t)st->reserve_fail);
	for (i = 1; i <= VCMA_CAUSE_MAX; i++) {
		if (!st->fail_by_cause[i])
			continue;
		printf("%s%s %" PRIu64, any ? ", " : " (", vcma_cause_name(i),
		       (uint64_t)st->fail_by_cause[i]);
		any = 1;
	}
	printf("%s\n", any ? ")" : "");
	printf("pages migrated: %" PRIu64 ", pinned pages met: %" PRIu64
	       ", bh invalidations: %" PRIu64 ", retries: %" PRIu64 "\n",
	       (uint64_t)st->pages_migrated, (uint64_t)st->pinned_met,
	       (uint64_t)st->bh_invalidations, (uint64_t)st->retries);
	vcma_size_format(st->bytes_held, VCMA_SIZE_IEC, a, sizeof(a));
	vcma_size_format(st->balloon_bytes, VCMA_SIZE_IEC, b, sizeof(b));
	vcma_size_format(st->floor_pages * page_size, VCMA_SIZE_IEC, c, sizeof(c));
	printf("held: %s in %" PRIu64 " grants, balloon: %s, floor: %s\n",
	       a, (uint64_t)st->grants, b, c);
	vcma_size_format(st->mem_total, VCMA_SIZE_IEC, a, sizeof(a));
	vcma_size_format(st->mem_free, VCMA_SIZE_IEC, b, sizeof(b));
	vcma_size_format(st->mem_available, VCMA_SIZE_IEC, c, sizeof(c));
	printf("memory: total %s, free %s, available %s\n", a, b, c);
}

static int cmd_status(struct agent_backend *be, int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "json", no_argument, NULL, 'j' },
		{ "help", no_argument, NULL, 'h' },
		{ 0 }
	};
	struct agent_grant_list list = { 0 };
	struct vcma_ioc_version ver;
	struct vcma_ioc_stats st;
	int json = 0, c, ret;

	while ((c = getopt_long(argc, argv, "h", longopts, NULL)) != -1) {
		if (c == 'j') {
			json = 1;
		} else if (c == 'h') {
			usage(stdout);
			return 0;
		} else {
			return bad_option("status", argv);
		}
	}
	if (optind < argc) {
		fprintf(stderr, "vcma-guest: status: unexpected argument '%s'\n", argv[optind]);
		return EXIT_USAGE;
	}
	ret = be->ops->version(be->priv, &ver);
	if (!ret)
		ret = be->ops->stats(be->priv, &st);
	if (!ret)
		ret = agent_list_grants(be, &list);
	if (ret) {
		agent_grant_list_free(&list);
		return fail("status", ret);
	}
	if (json)
		status_json(&st, list.grants, list.nr);
	else
		status_table(&st, list.grants, list.nr, ver.page_size);
	agent_grant_list_free(&list);
	return 0;
}

static int parse_size_arg(const char *what, const char *s, uint64_t *out)
{
	int ret = vcma_size_parse(s, VCMA_SIZE_NONZERO, out);

	if (ret == -ERANGE)
		fprintf(stderr, "vcma-guest: %s '%s' is too large\n", what, s);
	else if (ret)
		fprintf(stderr, "vcma-guest: bad %s '%s' (a positive number of bytes with "
			"an optional K, M, G or T suffix, e.g. 64M)\n", what, s);
	return ret;
}

static void print_evidence(const struct vcma_ioc_evidence *ev)
{
	printf("evidence: %u ranges scanned, %u tried, %" PRIu64 " pages migrated, "
	       "%u pinned met, %u bh invalidations, %u retries, %" PRIu64 " us, cause %s\n",
	       ev->ranges_scanned, ev->ranges_tried, (uint64_t)ev->pages_migrated,
	       ev->pinned_met, ev->bh_invalidations, ev->retries, (uint64_t)ev->elapsed_us,
	       vcma_cause_name(ev->cause));
}

static void print_evac(const struct vcma_ioc_evac *e)
{
	uint32_t i;

	printf("evacuation (%s): %" PRIu64 " pages in use, %" PRIu64 " migrated, %" PRIu64
	       " failed; left pinned %" PRIu64 ", writeback %" PRIu64 ", bh %" PRIu64
	       ", refcount %" PRIu64 ", unmovable %" PRIu64 "\n",
	       e->exact ? "exact, this request's ranges" : "kernel-wide migration counter",
	       (uint64_t)e->pages_in_use, (uint64_t)e->pages_migrated,
	       (uint64_t)e->migrate_failed, (uint64_t)e->left_pinned,
	       (uint64_t)e->left_writeback, (uint64_t)e->left_bh, (uint64_t)e->left_refcount,
	       (uint64_t)e->left_unmovable);
	printf("time (us): scan %" PRIu64 ", isolate %" PRIu64 ", migrate %" PRIu64
	       ", verify %" PRIu64 ", zero %" PRIu64 " of %" PRIu64 " (deadline %" PRIu64
	       "); %u pieces of at most %u pages, %u after the deadline; %u failed attempts",
	       (uint64_t)e->scan_us, (uint64_t)e->isolate_us, (uint64_t)e->migrate_us,
	       (uint64_t)e->verify_us, (uint64_t)e->zero_us, (uint64_t)e->elapsed_us,
	       (uint64_t)e->deadline_us, e->pieces, e->piece_pages_max, e->pieces_late,
	       e->attempts_failed);
	for (i = 1; i <= VCMA_CAUSE_MAX; i++)
		if (e->attempt_cause[i])
			printf(", %s %u", vcma_cause_name(i), e->attempt_cause[i]);
	printf("\n");
}

/* The exact evidence of the reserve just made, when the backend has it. */
static int fetch_evac(struct agent_backend *be, struct vcma_ioc_evac *e)
{
	memset(e, 0, sizeof(*e));
	return be->ops->evidence ? be->ops->evidence(be->priv, e) : -ENOTTY;
}

static int cmd_reserve(struct agent_backend *be, int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "align", required_argument, NULL, 'a' },
		{ "label", required_argument, NULL, 'l' },
		{ "deadline", required_argument, NULL, 'd' },
		{ "tag", required_argument, NULL, 't' },
		{ "json", no_argument, NULL, 'j' },
		{ "help", no_argument, NULL, 'h' },
		{ 0 }
	};
	struct vcma_ioc_reserve io = { .argsz = sizeof(io), .node = VCMA_IOC_NODE_ANY };
	struct vcma_ioc_version ver;
	struct vcma_ioc_evac evac;
	char sz[32];
	int json = 0, c, ret, have_evac;
	uint64_t v;

	while ((c = getopt_long(argc, argv, "h", longopts, NULL)) != -1) {
		switch (c) {
		case 'a':
			if (parse_size_arg("alignment", optarg, &v))
				return EXIT_USAGE;
			io.align = v;
			if (io.align & (io.align - 1)) {
				fprintf(stderr, "vcma-guest: alignment '%s' is not a power of two\n",
					optarg);
				return EXIT_USAGE;
			}
			break;
		case 'l':
			if (vcma_copy_label(io.label, sizeof(io.label), optarg)) {
				fprintf(stderr, "vcma-guest: label must be printable and at most "
					"%d bytes\n", VCMA_LABEL_LEN - 1);
				return EXIT_USAGE;
			}
			break;
		case 'd':
			if (vcma_parse_u64(optarg, 1, UINT32_MAX, &v)) {
				fprintf(stderr, "vcma-guest: bad deadline '%s' (milliseconds, > 0)\n",
					optarg);
				return EXIT_USAGE;
			}
			io.deadline_ms = (uint32_t)v;
			break;
		case 't':
			if (vcma_parse_u64(optarg, 1, UINT64_MAX, &v)) {
				fprintf(stderr, "vcma-guest: bad tag '%s' (a positive number)\n",
					optarg);
				return EXIT_USAGE;
			}
			io.tag = v;
			break;
		case 'j':
			json = 1;
			break;
		case 'h':
			usage(stdout);
			return 0;
		default:
			return bad_option("reserve", argv);
		}
	}
	if (argc - optind != 1) {
		fprintf(stderr, "vcma-guest: reserve needs exactly one SIZE (see --help)\n");
		return EXIT_USAGE;
	}
	if (parse_size_arg("size", argv[optind], &v))
		return EXIT_USAGE;
	io.size = v;
	ret = be->ops->version(be->priv, &ver);
	if (ret)
		return fail("reserve", ret);
	if (io.size % ver.page_size) {
		fprintf(stderr, "vcma-guest: size %s is not a multiple of the page size (%u)\n",
			argv[optind], ver.page_size);
		return EXIT_USAGE;
	}
	if (io.align && io.align < ver.page_size) {
		fprintf(stderr, "vcma-guest: alignment must be at least the page size (%u)\n",
			ver.page_size);
		return EXIT_USAGE;
	}

	ret = be->ops->reserve(be->priv, &io);
	have_evac = fetch_evac(be, &evac) == 0;
	if (json) {
		struct json_object *o = json_object_new_object();

		json_object_object_add(o, "status", json_object_new_string(
			vcma_status_name(vcma_status_from_errno(ret, io.ev.cause))));
		if (!ret) {
			json_object_object_add(o, "id", json_u64(io.grant_id));
			json_object_object_add(o, "gpa", json_u64(io.phys_addr));
			json_object_object_add(o, "size", json_u64(io.granted_size));
		} else {
			json_object_object_add(o, "error", json_object_new_string(strerror(-ret)));
		}
		json_object_object_add(o, "evidence", evidence_json(&io.ev));
		if (have_evac)
			json_object_object_add(o, "evacuation", evac_json(&evac));
		print_json(o);
	}
	if (ret == -ENODEV || ret == -EACCES || ret == -EPERM)
		return fail("reserve", ret);
	if (ret) {
		if (!json && ret == -EINVAL)
			fprintf(stderr, "vcma-guest: reserve %s refused by the module: larger "
				"than guest memory, or bad alignment, node or deadline\n",
				argv[optind]);
		else if (!json)
			fprintf(stderr, "vcma-guest: reserve %s failed: %s (cause: %s)\n",
				argv[optind], strerror(-ret), vcma_cause_name(io.ev.cause));
		if (!json)
			print_evidence(&io.ev);
		if (!json && have_evac)
			print_evac(&evac);
		return EXIT_OPFAIL;
	}
	if (!json) {
		vcma_size_format(io.granted_size, VCMA_SIZE_IEC, sz, sizeof(sz));
		printf("grant %" PRIu64 ": gpa 0x%016" PRIx64 ", size %s\n",
		       (uint64_t)io.grant_id, (uint64_t)io.phys_addr, sz);
		print_evidence(&io.ev);
		if (have_evac)
			print_evac(&evac);
	}
	return 0;
}

static int cmd_release(struct agent_backend *be, int argc, char **argv)
{
	uint64_t id;
	int ret;

	if (argc != 2 || !strcmp(argv[1], "--help") || !strcmp(argv[1], "-h")) {
		if (argc == 2) {
			usage(stdout);
			return 0;
		}
		fprintf(stderr, "vcma-guest: release needs exactly one grant ID\n");
		return EXIT_USAGE;
	}
	if (vcma_parse_u64(argv[1], 1, UINT64_MAX, &id)) {
		fprintf(stderr, "vcma-guest: bad grant ID '%s'\n", argv[1]);
		return EXIT_USAGE;
	}
	ret = be->ops->release(be->priv, id);
	if (ret == -ENOENT) {
		fprintf(stderr, "vcma-guest: no grant %" PRIu64 "\n", id);
		return EXIT_OPFAIL;
	}
	if (ret)
		return fail("release", ret);
	printf("released grant %" PRIu64 "\n", id);
	return 0;
}

int main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "device", required_argument, NULL, 'D' },
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
		{ 0 }
	};
	struct agent_backend be;
	const char *cmd;
	int c, ret;

	/* '+': stop at the command; its own options are parsed by the command. */
	while ((c = getopt_long(argc, argv, "+hV", longopts, NULL)) != -1) {
		switch (c) {
		case 'D':
			device_path = optarg;
			break;
		case 'h':
			usage(stdout);
			return 0;
		case 'V':
			printf("vcma-guest %s\n", VCMA_VERSION);
			return 0;
		default:
			usage(stderr);
			return EXIT_USAGE;
		}
	}
	if (optind >= argc) {
		usage(stderr);
		return EXIT_USAGE;
	}
	cmd = argv[optind];
	argc -= optind;
	argv += optind;
	/* 0, not 1: glibc then forgets the '+' (stop at the first non-option). */
	optind = 0;
	opterr = 0;
	if (strcmp(cmd, "status") && strcmp(cmd, "reserve") && strcmp(cmd, "release")) {
		fprintf(stderr, "vcma-guest: unknown command '%s' (see --help)\n", cmd);
		return EXIT_USAGE;
	}
	if (agent_backend_dev_new(device_path, &be)) {
		fprintf(stderr, "vcma-guest: out of memory\n");
		return EXIT_OPFAIL;
	}
	vcma_log_init("vcma-guest", VCMA_LOG_WARN, false);
	if (!strcmp(cmd, "status"))
		ret = cmd_status(&be, argc, argv);
	else if (!strcmp(cmd, "reserve"))
		ret = cmd_reserve(&be, argc, argv);
	else
		ret = cmd_release(&be, argc, argv);
	agent_backend_free(&be);
	return ret;
}
