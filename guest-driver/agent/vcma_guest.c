// SPDX-License-Identifier: MIT
/*
 * vcma-guest: the guest admin's view of vcma. Talks to /dev/vcma through the
 * same backend code as the agent (backend_dev.c), so what it shows is what
 * the host is told. Exit codes: 0 ok, 1 the operation failed, 2 usage
 * error, 3 the vcma module is not available; export --exec exits with the
 * program's status once it runs (126/127 when it cannot be started).
 *
 * Who holds a grant (claims, a live dma-buf, mappings) is not in the LIST
 * ioctl: status asks the backend (sysfs grants/<id>/holders), as the agent
 * does for the host.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/un.h>
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
"  reserve SIZE [--align A] [--below LIMIT] [--label L] [--deadline MS] [--tag T] [--json]\n"
"                                  reserve SIZE bytes (4096, 64M, 2G) contiguously,\n"
"                                  ending at or below guest-physical LIMIT (256M, 4G)\n"
"  release ID                      release grant ID\n"
"  export [--read-only] ID|LABEL --exec PROG [ARGS...]\n"
"                                  run PROG with a dma-buf fd of the grant (fd\n"
"                                  number in $VCMA_DMABUF_FD; also VCMA_GRANT_ID,\n"
"                                  VCMA_GRANT_SIZE, VCMA_GRANT_GPA, VCMA_GRANT_LABEL)\n"
"  export [--read-only] ID|LABEL --socket PATH\n"
"                                  send the fd (SCM_RIGHTS) to the unix socket\n"
"                                  listening at PATH, with one line\n"
"                                  \"vcma-dmabuf id=ID size=BYTES gpa=0xADDR label=L\"\n"
"                                  A LABEL picks the first grant of that label\n"
"                                  without a live dma-buf.\n"
"Options:\n"
"  --device PATH   vcma device (default " VCMA_DEV_PATH ")\n"
"  -h, --help      this text\n"
"  -V, --version   print the version\n"
"Exit: 0 ok, 1 operation failed, 2 usage error, 3 vcma module not available;\n"
"export --exec: PROG's status, 126/127 if it cannot be run.\n");
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

/*
 * Who keeps a grant from release, through the backend (sysfs
 * grants/<id>/holders for the module): exactly what the host is told.
 */
struct grant_holders {
	bool known;		/* false: the backend does not say */
	uint32_t flags;		/* VCMA_GRANT_F_* */
	char holder[64];	/* the claim's owner, else the dma-buf's exporter */
};

static void read_holders(struct agent_backend *be, uint64_t id, struct grant_holders *h)
{
	memset(h, 0, sizeof(*h));
	h->known = be->ops->holders &&
		   !be->ops->holders(be->priv, id, &h->flags, h->holder, sizeof(h->holder));
}

static struct json_object *json_str_or_null(const char *s)
{
	return s[0] ? json_object_new_string(s) : NULL;
}

static void status_json(struct agent_backend *be, const struct vcma_ioc_stats *st,
			const struct vcma_ioc_grant *g, uint32_t n)
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
		if (g[i].kind != AGENT_GRANT_BALLOON) {
			struct grant_holders h;

			read_holders(be, g[i].grant_id, &h);
			/* null: the backend does not say. */
			json_object_object_add(o, "exported", h.known ? json_object_new_boolean(
				h.flags & VCMA_GRANT_F_EXPORTED) : NULL);
			json_object_object_add(o, "claimed", h.known ? json_object_new_boolean(
				h.flags & VCMA_GRANT_F_CLAIMED) : NULL);
			json_object_object_add(o, "mapped", h.known ? json_object_new_boolean(
				h.flags & VCMA_GRANT_F_MAPPED) : NULL);
			json_object_object_add(o, "holder", json_str_or_null(h.holder));
		}
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

/* One grant, and who holds it on a second line when anybody does. */
static void status_grant_row(struct agent_backend *be, const struct vcma_ioc_grant *g)
{
	static const struct {
		uint32_t flag;
		const char *name;
	} kinds[] = {
		{ VCMA_GRANT_F_CLAIMED, "claimed" },
		{ VCMA_GRANT_F_EXPORTED, "exported" },
		{ VCMA_GRANT_F_MAPPED, "mapped" },
	};
	bool balloon = g->kind == AGENT_GRANT_BALLOON;
	struct grant_holders h = { 0 };
	const char *sep = " (";
	char sz[32];
	size_t i;

	if (!balloon)
		read_holders(be, g->grant_id, &h);
	vcma_size_format(g->size, VCMA_SIZE_IEC, sz, sizeof(sz));
	printf("%-8" PRIu64 " 0x%016" PRIx64 " %-10s %-8" PRIu64 " %-8s %.*s%s\n",
	       (uint64_t)g->grant_id, (uint64_t)g->phys_addr, sz, (uint64_t)g->tag,
	       balloon ? "-" : !h.known ? "?" : h.flags & VCMA_GRANT_F_EXPORTED ? "yes" : "no",
	       VCMA_LABEL_LEN, g->label, balloon ? " (balloon)" : "");
	if (!h.flags)
		return;
	printf("%-8s held by %s", "", h.holder);
	for (i = 0; i < sizeof(kinds) / sizeof(kinds[0]); i++) {
		if (h.flags & kinds[i].flag) {
			printf("%s%s", sep, kinds[i].name);
			sep = ", ";
		}
	}
	printf(")\n");
}

static void status_table(struct agent_backend *be, const struct vcma_ioc_stats *st,
			 const struct vcma_ioc_grant *g, uint32_t n, uint32_t page_size)
{
	char a[32], b[32], c[32];
	uint32_t i;
	int any = 0;

	if (n) {
		printf("%-8s %-18s %-10s %-8s %-8s %s\n", "GRANT", "GPA", "SIZE", "TAG",
		       "EXPORTED", "LABEL");
		for (i = 0; i < n; i++)
			status_grant_row(be, &g[i]);
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
		status_json(be, &st, list.grants, list.nr);
	else
		status_table(be, &st, list.grants, list.nr, ver.page_size);
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
		{ "below", required_argument, NULL, 'b' },
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
		case 'b':
			if (parse_size_arg("limit", optarg, &v))
				return EXIT_USAGE;
			io.max_addr = v;
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
	if (io.max_addr && (io.max_addr % ver.page_size || io.max_addr < io.size)) {
		fprintf(stderr, "vcma-guest: --below must be a multiple of the page size (%u) "
			"and at least the size\n", ver.page_size);
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
		else if (!json && ret == -EADDRNOTAVAIL)
			fprintf(stderr, "vcma-guest: reserve %s: no window of that size lies "
				"below %#" PRIx64 " (cause: %s)\n", argv[optind],
				(uint64_t)io.max_addr, vcma_cause_name(io.ev.cause));
		else if (!json && ret == -EOPNOTSUPP)
			fprintf(stderr, "vcma-guest: reserve %s: this vcma module takes no "
				"address limit (--below)\n", argv[optind]);
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

/*
 * The grants arg names, as indexes into the freshly read list (at most max,
 * in id order): the grant of that id if arg is one, else every reservation
 * labelled arg. Returns how many, 0 if none, or -errno from the backend.
 */
static int export_candidates(struct agent_backend *be, const char *arg,
			     struct agent_grant_list *list, uint32_t *idx, uint32_t max)
{
	uint64_t id = 0;
	uint32_t i, n = 0;
	int ret;

	ret = agent_list_grants(be, list);
	if (ret)
		return ret;
	if (!vcma_parse_u64(arg, 1, UINT64_MAX, &id)) {
		for (i = 0; i < list->nr && n < max; i++)
			if (list->grants[i].grant_id == id &&
			    list->grants[i].kind != AGENT_GRANT_BALLOON)
				idx[n++] = i;
		if (n)
			return (int)n;
	}
	for (i = 0; i < list->nr && n < max; i++)
		if (list->grants[i].kind != AGENT_GRANT_BALLOON &&
		    !strncmp(list->grants[i].label, arg, VCMA_LABEL_LEN))
			idx[n++] = i;
	return (int)n;
}

static int setenv_u64(const char *name, const char *fmt, uint64_t v)
{
	char buf[32];

	snprintf(buf, sizeof(buf), fmt, v);
	return setenv(name, buf, 1);
}

/* Replace this process with argv[0], the dma-buf at fd inherited. */
static int export_exec(int fd, const struct vcma_ioc_grant *g, uint64_t size, char **argv)
{
	char label[VCMA_LABEL_LEN + 1];
	int err;

	snprintf(label, sizeof(label), "%.*s", VCMA_LABEL_LEN, g->label);
	if (fcntl(fd, F_SETFD, 0) || setenv_u64("VCMA_DMABUF_FD", "%" PRIu64, (uint64_t)fd) ||
	    setenv_u64("VCMA_GRANT_ID", "%" PRIu64, g->grant_id) ||
	    setenv_u64("VCMA_GRANT_SIZE", "%" PRIu64, size) ||
	    setenv_u64("VCMA_GRANT_GPA", "0x%" PRIx64, g->phys_addr) ||
	    setenv("VCMA_GRANT_LABEL", label, 1)) {
		fprintf(stderr, "vcma-guest: export: cannot prepare the program's fd and "
			"environment: %s\n", strerror(errno));
		return EXIT_OPFAIL;
	}
	fflush(NULL);
	execvp(argv[0], argv);
	err = errno;
	fprintf(stderr, "vcma-guest: export: cannot run '%s': %s\n", argv[0], strerror(err));
	return err == ENOENT ? 127 : 126;
}

/*
 * Connect to the listener at path, whatever its socket type, with bounded
 * waits (a listener that never accepts must not hang us). fd or -errno.
 */
static int connect_unix(const char *path)
{
	static const int types[] = { SOCK_STREAM, SOCK_SEQPACKET, SOCK_DGRAM };
	struct timeval tmo = { .tv_sec = 10 };
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	size_t i;
	int s, ret = -EPROTOTYPE;

	if (strlen(path) >= sizeof(sa.sun_path))
		return -ENAMETOOLONG;
	memcpy(sa.sun_path, path, strlen(path) + 1);
	for (i = 0; i < sizeof(types) / sizeof(types[0]) && ret == -EPROTOTYPE; i++) {
		s = socket(AF_UNIX, types[i] | SOCK_CLOEXEC, 0);
		if (s < 0)
			return -errno;
		if (setsockopt(s, SOL_SOCKET, SO_SNDTIMEO, &tmo, sizeof(tmo)) == 0 &&
		    connect(s, (struct sockaddr *)&sa, sizeof(sa)) == 0)
			return s;
		ret = -errno;
		close(s);
	}
	return ret;
}

/* Send fd with one line describing the grant; the receiver owns it after. */
static int export_send(int fd, const struct vcma_ioc_grant *g, uint64_t size,
		       const char *path)
{
	union {
		struct cmsghdr h;
		char buf[CMSG_SPACE(sizeof(int))];
	} ctl;
	char line[160];
	struct iovec iov = { .iov_base = line };
	struct msghdr msg = {
		.msg_iov = &iov, .msg_iovlen = 1,
		.msg_control = ctl.buf, .msg_controllen = sizeof(ctl.buf),
	};
	struct cmsghdr *c;
	ssize_t sent;
	int s, len;

	len = snprintf(line, sizeof(line), "vcma-dmabuf id=%" PRIu64 " size=%" PRIu64
		       " gpa=0x%" PRIx64 " label=%.*s\n", (uint64_t)g->grant_id, size,
		       (uint64_t)g->phys_addr, VCMA_LABEL_LEN, g->label);
	iov.iov_len = (size_t)len;
	memset(&ctl, 0, sizeof(ctl));
	c = CMSG_FIRSTHDR(&msg);
	c->cmsg_level = SOL_SOCKET;
	c->cmsg_type = SCM_RIGHTS;
	c->cmsg_len = CMSG_LEN(sizeof(int));
	memcpy(CMSG_DATA(c), &fd, sizeof(int));

	s = connect_unix(path);
	if (s < 0) {
		fprintf(stderr, "vcma-guest: export: cannot connect to %s: %s%s\n", path,
			strerror(-s), s == -ECONNREFUSED || s == -ENOENT ?
			" (is a receiver listening there?)" : "");
		return EXIT_OPFAIL;
	}
	sent = sendmsg(s, &msg, MSG_NOSIGNAL);
	if (sent != len) {
		fprintf(stderr, "vcma-guest: export: sending the dma-buf to %s failed: %s\n",
			path, sent < 0 ? strerror(errno) : "short write");
		close(s);
		return EXIT_OPFAIL;
	}
	close(s);
	return 0;
}

static int cmd_export(struct agent_backend *be, int argc, char **argv)
{
	struct vcma_ioc_export io;
	struct agent_grant_list list = { 0 };
	const struct vcma_ioc_grant *g = NULL;
	const char *target = NULL, *sock = NULL;
	char **prog = NULL, sz[32];
	uint32_t flags = O_RDWR | O_CLOEXEC, idx[64];
	int i, n, ret = -ENOENT, busy = 0;

	/* Not getopt: everything after --exec PROG belongs to PROG. */
	for (i = 1; i < argc && !prog; i++) {
		if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) {
			usage(stdout);
			return 0;
		} else if (!strcmp(argv[i], "--read-only")) {
			flags = O_RDONLY | O_CLOEXEC;
		} else if (!strcmp(argv[i], "--socket") && i + 1 < argc && !sock) {
			sock = argv[++i];
		} else if (!strcmp(argv[i], "--exec") && i + 1 < argc) {
			prog = &argv[i + 1];
		} else if (argv[i][0] == '-' || target) {
			fprintf(stderr, "vcma-guest: export: bad option, missing value or extra "
				"argument '%s' (see --help)\n", argv[i]);
			return EXIT_USAGE;
		} else {
			target = argv[i];
		}
	}
	if (sock && prog) {
		fprintf(stderr, "vcma-guest: export: --exec and --socket exclude each other\n");
		return EXIT_USAGE;
	}
	if (!target || (!sock && !prog)) {
		fprintf(stderr, "vcma-guest: export needs ID|LABEL and one of --exec PROG "
			"[ARGS...] or --socket PATH (see --help)\n");
		return EXIT_USAGE;
	}
	if (strlen(target) >= VCMA_LABEL_LEN) {
		fprintf(stderr, "vcma-guest: export: '%s' is neither a grant id nor a label "
			"(at most %d bytes)\n", target, VCMA_LABEL_LEN - 1);
		return EXIT_USAGE;
	}
	if (!be->ops->export_dmabuf)
		return fail("export", -ENOTSUP);

	n = export_candidates(be, target, &list, idx, sizeof(idx) / sizeof(idx[0]));
	if (n < 0) {
		agent_grant_list_free(&list);
		return fail("export", n);
	}
	/* The first of them without a live dma-buf (EBUSY: one exists). */
	for (i = 0; i < n; i++) {
		memset(&io, 0, sizeof(io));
		io.flags = flags;
		io.grant_id = list.grants[idx[i]].grant_id;
		ret = be->ops->export_dmabuf(be->priv, &io);
		if (ret != -EBUSY && ret != -ENOENT)
			break;
		busy += ret == -EBUSY;
	}
	if (ret == 0)
		g = &list.grants[idx[i]];
	if (!g && (ret == -ENOENT || ret == -EBUSY)) {
		if (!n)
			fprintf(stderr, "vcma-guest: export: no grant with id or label '%s'\n",
				target);
		else if (busy && n == 1)
			fprintf(stderr, "vcma-guest: export: grant %" PRIu64 " is already exported "
				"(one dma-buf per grant: pass the live fd on instead)\n",
				(uint64_t)list.grants[idx[0]].grant_id);
		else if (busy)
			fprintf(stderr, "vcma-guest: export: every grant labelled '%s' is already "
				"exported (one dma-buf per grant)\n", target);
		else
			fprintf(stderr, "vcma-guest: export: '%s' was released meanwhile\n",
				target);
		agent_grant_list_free(&list);
		return EXIT_OPFAIL;
	}
	if (!g) {
		agent_grant_list_free(&list);
		if (ret == -ENOTTY)
			fprintf(stderr, "vcma-guest: export: this vcma module has no dma-buf "
				"export (older than the tools)\n");
		return ret == -ENOTTY ? EXIT_OPFAIL : fail("export", ret);
	}
	if (prog)
		ret = export_exec(io.fd, g, io.size, prog);
	else
		ret = export_send(io.fd, g, io.size, sock);
	if (!ret) {
		vcma_size_format(io.size, VCMA_SIZE_IEC, sz, sizeof(sz));
		printf("grant %" PRIu64 " (%s%s%.*s): dma-buf sent to %s\n",
		       (uint64_t)g->grant_id, sz, g->label[0] ? ", " : "", VCMA_LABEL_LEN,
		       g->label, sock);
	}
	close(io.fd);
	agent_grant_list_free(&list);
	return ret;
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
	if (strcmp(cmd, "status") && strcmp(cmd, "reserve") && strcmp(cmd, "release") &&
	    strcmp(cmd, "export")) {
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
	else if (!strcmp(cmd, "export"))
		ret = cmd_export(&be, argc, argv);
	else
		ret = cmd_release(&be, argc, argv);
	agent_backend_free(&be);
	return ret;
}
