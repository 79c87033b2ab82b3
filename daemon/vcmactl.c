/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * vcmactl: the operator CLI of vcmad. Speaks HTTP/1.1 to the REST API on
 * its unix socket (one request per connection, hand-written: libevent 2.1's
 * evhttp client cannot use an already connected unix socket). Tables for
 * people, --json for scripts.
 *
 * Exit codes: 0 ok, 1 the request or a reservation failed, 2 usage,
 * 3 cannot reach vcmad, 4 timed out waiting (--wait).
 */
#include <errno.h>
#include <getopt.h>
#include <poll.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include <json-c/json.h>

#include "vcma_size.h"

#define DEFAULT_SOCKET "/run/vcma/vcmad.sock"
#define EXIT_FAILED 1
#define EXIT_USAGE 2
#define EXIT_UNREACHABLE 3
#define EXIT_TIMEOUT 4

struct ctl {
	const char *socket;
	bool json;
	double timeout_s;	/* per HTTP request */
};

struct http_reply {
	int code;
	json_object *body;	/* NULL if not JSON */
	char *raw;
};

static int64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void http_reply_free(struct http_reply *r)
{
	json_object_put(r->body);
	free(r->raw);
	memset(r, 0, sizeof(*r));
}

/* Returns 0, or EXIT_UNREACHABLE with a message printed. */
static int http_call(const struct ctl *c, const char *method, const char *path,
		     const char *body, struct http_reply *out)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	char head[1024];
	size_t blen = body ? strlen(body) : 0, cap = 65536, len = 0;
	char *buf = NULL, *sep;
	int64_t deadline = now_ms() + (int64_t)(c->timeout_s * 1000);
	int fd, n;

	memset(out, 0, sizeof(*out));
	if (strlen(c->socket) >= sizeof(sa.sun_path)) {
		fprintf(stderr, "vcmactl: socket path too long: %s\n", c->socket);
		return EXIT_UNREACHABLE;
	}
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", c->socket);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0 || connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		fprintf(stderr, "vcmactl: cannot reach vcmad at %s: %s\n"
			"  (is vcmad running? set --socket or VCMA_SOCKET)\n",
			c->socket, strerror(errno));
		if (fd >= 0)
			close(fd);
		return EXIT_UNREACHABLE;
	}
	n = snprintf(head, sizeof(head),
		     "%s %s HTTP/1.1\r\nHost: vcmad\r\nConnection: close\r\n"
		     "Accept: application/json\r\n%s%s"
		     "Content-Length: %zu\r\n\r\n",
		     method, path, body ? "Content-Type: application/json" : "", body ? "\r\n" : "",
		     blen);
	if (write(fd, head, (size_t)n) != n ||
	    (blen && write(fd, body, blen) != (ssize_t)blen))
		goto io_error;
	buf = malloc(cap + 1);
	if (!buf)
		goto io_error;
	for (;;) {
		struct pollfd p = { .fd = fd, .events = POLLIN };
		int64_t left = deadline - now_ms();
		ssize_t r;

		if (left <= 0 || poll(&p, 1, (int)left) != 1) {
			fprintf(stderr, "vcmactl: vcmad did not answer within %.0f s\n", c->timeout_s);
			free(buf);
			close(fd);
			return EXIT_UNREACHABLE;
		}
		if (len == cap) {
			char *nb = cap < (64u << 20) ? realloc(buf, 2 * cap + 1) : NULL;

			if (!nb)
				goto io_error;
			buf = nb;
			cap *= 2;
		}
		r = read(fd, buf + len, cap - len);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0)
			goto io_error;
		if (r == 0)
			break;
		len += (size_t)r;
	}
	close(fd);
	buf[len] = 0;
	sep = strstr(buf, "\r\n\r\n");
	if (sscanf(buf, "HTTP/1.%*d %d", &out->code) != 1 || !sep) {
		fprintf(stderr, "vcmactl: malformed answer from vcmad\n");
		free(buf);
		return EXIT_UNREACHABLE;
	}
	out->raw = buf;
	out->body = json_tokener_parse(sep + 4);
	return 0;
io_error:
	fprintf(stderr, "vcmactl: talking to vcmad at %s: %s\n", c->socket, strerror(errno));
	free(buf);
	close(fd);
	return EXIT_UNREACHABLE;
}

static const char *jstr(json_object *o, const char *key)
{
	json_object *v;

	if (!o || !json_object_object_get_ex(o, key, &v) || !v)
		return "";
	return json_object_get_string(v);
}

static uint64_t ju64(json_object *o, const char *key)
{
	json_object *v;

	if (!o || !json_object_object_get_ex(o, key, &v))
		return 0;
	return json_object_get_uint64(v);
}

/* An HTTP error: print the daemon's {"error","detail"} and return EXIT_FAILED. */
static int report_error(const struct ctl *c, const struct http_reply *r)
{
	if (c->json && r->body)
		printf("%s\n", json_object_to_json_string_ext(r->body, JSON_C_TO_STRING_PRETTY));
	if (r->body)
		fprintf(stderr, "vcmactl: %s (HTTP %d): %s\n", jstr(r->body, "error"), r->code,
			jstr(r->body, "detail"));
	else
		fprintf(stderr, "vcmactl: HTTP %d from vcmad\n", r->code);
	return EXIT_FAILED;
}

/* GET path: 0 with *r filled on 200 + JSON, else the exit code (already reported). */
static int get_ok(const struct ctl *c, const char *path, struct http_reply *r)
{
	int rc = http_call(c, "GET", path, NULL, r);

	if (rc)
		return rc;
	if (r->code == 200 && r->body)
		return 0;
	rc = report_error(c, r);
	http_reply_free(r);
	return rc;
}

static void print_json(json_object *o)
{
	printf("%s\n", json_object_to_json_string_ext(o, JSON_C_TO_STRING_PRETTY |
						      JSON_C_TO_STRING_NOSLASHESCAPE));
}

/* GET path and print its body: as JSON with --json, through printer otherwise. */
static int show(const struct ctl *c, const char *path, void (*printer)(json_object *))
{
	struct http_reply r;
	int rc = get_ok(c, path, &r);

	if (rc)
		return rc;
	if (c->json)
		print_json(r.body);
	else
		printer(r.body);
	http_reply_free(&r);
	return 0;
}

static const char *human(uint64_t v, char *buf, size_t len)
{
	return vcma_size_format(v, 0, buf, len);
}

static void print_rsv_table(json_object *arr)
{
	char b1[32], b2[32];

	printf("%-6s %-10s %-8s %-8s %-18s %-10s %s\n", "ID", "STATE", "SIZE", "ALIGN", "GPA",
	       "GRANT", "LABEL / DETAIL");
	for (size_t i = 0; i < json_object_array_length(arr); i++) {
		json_object *r = json_object_array_get_idx(arr, i);
		const char *detail = jstr(r, "detail");
		const char *gpa = jstr(r, "gpa");
		const char *holder = jstr(r, "claimed_by");
		char grant[24] = "-", claimed[96] = "";

		if (ju64(r, "grant_id"))
			snprintf(grant, sizeof(grant), "%llu", (unsigned long long)ju64(r, "grant_id"));
		/* A refused release says who in its detail already. */
		if (*holder && !strstr(detail, "claimed by"))
			snprintf(claimed, sizeof(claimed), "%sclaimed by %s",
				 *jstr(r, "label") || *detail ? " / " : "", holder);
		printf("%-6llu %-10s %-8s %-8s %-18s %-10s %s%s%s%s\n",
		       (unsigned long long)ju64(r, "id"), jstr(r, "state"),
		       human(ju64(r, "size"), b1, sizeof(b1)),
		       ju64(r, "align") ? human(ju64(r, "align"), b2, sizeof(b2)) : "-",
		       *gpa ? gpa : "-", grant, jstr(r, "label"),
		       *detail ? (*jstr(r, "label") ? " / " : "") : "", detail, claimed);
	}
}

static int cmd_vms(const struct ctl *c)
{
	struct http_reply r;
	json_object *arr;
	char b1[32], b2[32];
	int rc = get_ok(c, "/v1/vms", &r);

	if (rc)
		return rc;
	if (c->json) {
		print_json(r.body);
	} else if (json_object_object_get_ex(r.body, "vms", &arr)) {
		printf("%-20s %-13s %-8s %-8s %-8s %-10s %s\n", "VM", "STATE", "GRANTED", "PENDING",
		       "FAILED", "BYTES", "MEMORY");
		for (size_t i = 0; i < json_object_array_length(arr); i++) {
			json_object *v = json_object_array_get_idx(arr, i);

			printf("%-20s %-13s %-8llu %-8llu %-8llu %-10s %s\n", jstr(v, "name"),
			       jstr(v, "state"), (unsigned long long)ju64(v, "granted"),
			       (unsigned long long)ju64(v, "pending"),
			       (unsigned long long)ju64(v, "failed"),
			       human(ju64(v, "grant_bytes"), b1, sizeof(b1)),
			       ju64(v, "mem_total") ? human(ju64(v, "mem_total"), b2, sizeof(b2)) : "-");
		}
	}
	http_reply_free(&r);
	return 0;
}

static int cmd_status(const struct ctl *c, const char *vm)
{
	struct http_reply r;
	char path[256];
	json_object *g, *arr;
	char b1[32], b2[32];
	int rc;

	snprintf(path, sizeof(path), "/v1/vms/%s", vm);
	rc = get_ok(c, path, &r);
	if (rc)
		return rc;
	if (c->json) {
		print_json(r.body);
		http_reply_free(&r);
		return 0;
	}
	printf("VM %s: %s (channel %s)\n", jstr(r.body, "name"), jstr(r.body, "state"),
	       jstr(r.body, "channel"));
	if (json_object_object_get_ex(r.body, "guest", &g))
		printf("guest: %s, boot %s, memory %s, free %s, page %llu\n", jstr(g, "software"),
		       jstr(g, "boot_id"), human(ju64(g, "mem_total"), b1, sizeof(b1)),
		       human(ju64(g, "mem_free"), b2, sizeof(b2)),
		       (unsigned long long)ju64(g, "page_size"));
	if (json_object_object_get_ex(r.body, "stats", &g) && *jstr(g, "last_error"))
		printf("last error: %s\n", jstr(g, "last_error"));
	printf("granted %llu (%s), pending %llu, failed %llu\n",
	       (unsigned long long)ju64(r.body, "granted"),
	       human(ju64(r.body, "grant_bytes"), b1, sizeof(b1)),
	       (unsigned long long)ju64(r.body, "pending"), (unsigned long long)ju64(r.body, "failed"));
	if (json_object_object_get_ex(r.body, "reservations", &arr) &&
	    json_object_array_length(arr)) {
		printf("\n");
		print_rsv_table(arr);
	}
	if (json_object_object_get_ex(r.body, "guest_grants", &arr) &&
	    json_object_array_length(arr)) {
		printf("\ngrants the guest holds on its own (not managed by vcmad):\n");
		for (size_t i = 0; i < json_object_array_length(arr); i++) {
			json_object *e = json_object_array_get_idx(arr, i);

			printf("  grant %llu at %s, %s, tag %llu %s%s%s\n",
			       (unsigned long long)ju64(e, "grant_id"), jstr(e, "gpa"),
			       human(ju64(e, "size"), b1, sizeof(b1)),
			       (unsigned long long)ju64(e, "tag"), jstr(e, "label"),
			       *jstr(e, "claimed_by") ? ", claimed by " : "", jstr(e, "claimed_by"));
		}
	}
	http_reply_free(&r);
	return 0;
}

/*
 * Poll the reservations ids[0..n) until none is pending/releasing (or gone,
 * when released). Progress goes to stderr. Returns 0 all good, 1 any failed,
 * 4 timeout, 3 unreachable.
 */
static int wait_for(const struct ctl *c, const char *vm, const uint64_t *ids, size_t n,
		    bool releasing, double wait_s, json_object **final)
{
	int64_t deadline = now_ms() + (int64_t)(wait_s * 1000);
	char path[256];
	bool tty = isatty(2);
	size_t last_done = (size_t)-1;

	snprintf(path, sizeof(path), "/v1/vms/%s/reservations", vm);
	for (;;) {
		struct http_reply r;
		json_object *arr;
		size_t done = 0, failed = 0;
		int rc = get_ok(c, path, &r);

		if (rc)
			return rc;
		if (!json_object_object_get_ex(r.body, "reservations", &arr)) {
			http_reply_free(&r);
			fprintf(stderr, "vcmactl: unexpected answer from vcmad\n");
			return EXIT_FAILED;
		}
		for (size_t k = 0; k < n; k++) {
			json_object *found = NULL;

			for (size_t i = 0; i < json_object_array_length(arr) && !found; i++) {
				json_object *e = json_object_array_get_idx(arr, i);

				if (ju64(e, "id") == ids[k])
					found = e;
			}
			if (!found) {
				done += releasing;
				failed += !releasing;	/* vanished while we wanted it */
				continue;
			}
			const char *st = jstr(found, "state");

			if (!releasing && !strcmp(st, "granted")) {
				done++;
			} else if (!strcmp(st, "failed")) {
				done++, failed++;
			} else if (releasing && !strcmp(st, "granted")) {
				/* the guest refused: something there holds the grant */
				fprintf(stderr, "vcmactl: reservation %llu: busy: claimed by %s\n",
					(unsigned long long)ids[k],
					*jstr(found, "claimed_by") ? jstr(found, "claimed_by") : "?");
				done++, failed++;
			}
		}
		if (done != last_done && !c->json) {
			fprintf(stderr, "%s%s: %zu/%zu %s%s", tty ? "\r" : "", vm, done, n,
				releasing ? "released" : "done", tty ? "   " : "\n");
			last_done = done;
		}
		if (done == n || now_ms() >= deadline) {
			if (tty && !c->json)
				fprintf(stderr, "\n");
			if (final)
				*final = json_object_get(r.body);
			http_reply_free(&r);
			if (done < n) {
				fprintf(stderr, "vcmactl: %zu of %zu still in progress after %.0f s\n",
					n - done, n, wait_s);
				return EXIT_TIMEOUT;
			}
			return failed ? EXIT_FAILED : 0;
		}
		http_reply_free(&r);
		usleep(100 * 1000);
	}
}

static void usage_reserve(FILE *f)
{
	fprintf(f,
		"Usage: vcmactl reserve VM SIZE [--count N] [--align A] [--below LIMIT]\n"
		"                       [--label L] [--deadline MS] [--wait [--wait-timeout S]]\n"
		"Ask the guest of VM for contiguous ranges of SIZE bytes (e.g. 64M, 2G).\n"
		"The request becomes desired state: vcmad keeps it across restarts and\n"
		"re-requests it after a guest reboot.\n"
		"  --count N      N ranges (default 1)\n"
		"  --align A      alignment, a power of two (default: the guest's choice)\n"
		"  --below LIMIT  each range ends at or below guest-physical LIMIT (e.g. 4G\n"
		"                 for a 32-bit DMA mask); guests that cannot honour it refuse\n"
		"  --label L      a name shown in the guest (max 32 characters)\n"
		"  --deadline MS  how long the guest may try (default: vcmad's)\n"
		"  --wait         wait until all are granted or failed, showing progress\n"
		"  --wait-timeout S  give up waiting after S seconds (default 120; exit 4)\n");
}

static int parse_wait(const char *arg, double *out)
{
	char *end;

	*out = strtod(arg, &end);
	return (*end || *out <= 0) ? -1 : 0;
}

static int cmd_reserve(const struct ctl *c, int argc, char **argv)
{
	static const struct option opts[] = {
		{ "count", required_argument, NULL, 'n' },
		{ "align", required_argument, NULL, 'a' },
		{ "below", required_argument, NULL, 'b' },
		{ "label", required_argument, NULL, 'L' },
		{ "deadline", required_argument, NULL, 'D' },
		{ "wait", no_argument, NULL, 'w' },
		{ "wait-timeout", required_argument, NULL, 'W' },
		{ "help", no_argument, NULL, 'h' },
		{ 0 },
	};
	json_object *req = json_object_new_object();
	uint64_t size, align = 0, below = 0, *ids = NULL;
	const char *below_arg = NULL;
	double wait_s = 120;
	bool wait = false;
	char path[256], *end;
	struct http_reply r;
	json_object *arr, *final = NULL;
	size_t n;
	int o, rc;
	long v;

	optind = 0;	/* 0: glibc re-initialises its scanner for the new argv */
	while ((o = getopt_long(argc, argv, "n:a:b:L:D:wW:h", opts, NULL)) != -1) {
		switch (o) {
		case 'n':
			v = strtol(optarg, &end, 10);
			if (*end || v < 1 || v > 256) {
				fprintf(stderr, "vcmactl reserve: --count: 1 to 256\n");
				goto usage;
			}
			json_object_object_add(req, "count", json_object_new_int((int)v));
			break;
		case 'a':
			if (vcma_size_parse(optarg, 0, &align) || !vcma_size_is_pow2(align)) {
				fprintf(stderr, "vcmactl reserve: --align '%s': a power of two like 2M\n",
					optarg);
				goto usage;
			}
			json_object_object_add(req, "align", json_object_new_uint64(align));
			break;
		case 'b':
			if (vcma_size_parse(optarg, VCMA_SIZE_NONZERO, &below) || below % 4096) {
				fprintf(stderr, "vcmactl reserve: --below '%s': a multiple of 4K "
					"like 256M or 4G\n", optarg);
				goto usage;
			}
			json_object_object_add(req, "max_addr", json_object_new_uint64(below));
			below_arg = optarg;
			break;
		case 'L':
			json_object_object_add(req, "label", json_object_new_string(optarg));
			break;
		case 'D':
			v = strtol(optarg, &end, 10);
			if (*end || v < 0) {
				fprintf(stderr, "vcmactl reserve: --deadline: milliseconds\n");
				goto usage;
			}
			json_object_object_add(req, "deadline_ms", json_object_new_int64(v));
			break;
		case 'w':
			wait = true;
			break;
		case 'W':
			if (parse_wait(optarg, &wait_s)) {
				fprintf(stderr, "vcmactl reserve: --wait-timeout: seconds\n");
				goto usage;
			}
			break;
		case 'h':
			usage_reserve(stdout);
			json_object_put(req);
			return 0;
		default:
			goto usage;
		}
	}
	if (argc - optind != 2) {
		fprintf(stderr, "vcmactl reserve: need VM and SIZE\n");
		goto usage;
	}
	if (vcma_size_parse(argv[optind + 1], VCMA_SIZE_NONZERO, &size) || size % 4096) {
		fprintf(stderr, "vcmactl reserve: SIZE '%s': a multiple of 4K like 64M or 2G\n",
			argv[optind + 1]);
		goto usage;
	}
	if (below && below < size) {
		fprintf(stderr, "vcmactl reserve: --below %s is below the size %s: no range fits\n",
			below_arg, argv[optind + 1]);
		goto usage;
	}
	json_object_object_add(req, "size", json_object_new_uint64(size));
	snprintf(path, sizeof(path), "/v1/vms/%s/reservations", argv[optind]);
	rc = http_call(c, "POST", path, json_object_to_json_string(req), &r);
	json_object_put(req);
	if (rc)
		return rc;
	if (r.code != 202 || !json_object_object_get_ex(r.body, "reservations", &arr)) {
		rc = report_error(c, &r);
		http_reply_free(&r);
		return rc;
	}
	n = json_object_array_length(arr);
	ids = calloc(n ? n : 1, sizeof(*ids));
	for (size_t i = 0; i < n && ids; i++)
		ids[i] = ju64(json_object_array_get_idx(arr, i), "id");
	if (!wait || !ids) {
		if (c->json)
			print_json(r.body);
		else
			print_rsv_table(arr);
		http_reply_free(&r);
		free(ids);
		return 0;
	}
	http_reply_free(&r);
	rc = wait_for(c, argv[optind], ids, n, false, wait_s, &final);
	if (final) {
		json_object *all, *mine = json_object_new_array();

		json_object_object_get_ex(final, "reservations", &all);
		for (size_t i = 0; all && i < json_object_array_length(all); i++) {
			json_object *e = json_object_array_get_idx(all, i);

			for (size_t k = 0; k < n; k++)
				if (ju64(e, "id") == ids[k])
					json_object_array_add(mine, json_object_get(e));
		}
		if (c->json) {
			json_object *o = json_object_new_object();

			json_object_object_add(o, "vm", json_object_new_string(argv[optind]));
			json_object_object_add(o, "reservations", mine);
			print_json(o);
			json_object_put(o);
		} else {
			print_rsv_table(mine);
			json_object_put(mine);
		}
		json_object_put(final);
	}
	free(ids);
	return rc;
usage:
	json_object_put(req);
	usage_reserve(stderr);
	return EXIT_USAGE;
}

static int cmd_release(const struct ctl *c, int argc, char **argv)
{
	static const struct option opts[] = {
		{ "wait", no_argument, NULL, 'w' },
		{ "wait-timeout", required_argument, NULL, 'W' },
		{ "help", no_argument, NULL, 'h' },
		{ 0 },
	};
	static const char *const usage =
		"Usage: vcmactl release VM ID [--wait [--wait-timeout S]]\n"
		"Give reservation ID of VM back to the guest and forget it. When the guest\n"
		"keeps the grant because a driver there holds it, prints \"busy: claimed by X\"\n"
		"and exits 1; the reservation stays granted, release it again later.\n"
		"  --wait         wait until the guest confirmed the release\n"
		"  --wait-timeout S  give up waiting after S seconds (default 120; exit 4)\n";
	double wait_s = 120;
	bool wait = false;
	struct http_reply r;
	char path[256], *end;
	uint64_t id;
	int o, rc;

	optind = 0;	/* 0: glibc re-initialises its scanner for the new argv */
	while ((o = getopt_long(argc, argv, "wW:h", opts, NULL)) != -1) {
		if (o == 'h') {
			fputs(usage, stdout);
			return 0;
		}
		if (o == 'w') {
			wait = true;
			continue;
		}
		if (o != 'W' || parse_wait(optarg, &wait_s)) {
			fputs(usage, stderr);
			return EXIT_USAGE;
		}
	}
	if (argc - optind != 2) {
		fputs(usage, stderr);
		return EXIT_USAGE;
	}
	errno = 0;
	id = strtoull(argv[optind + 1], &end, 10);
	if (errno || *end || !id || argv[optind + 1][0] == '-') {
		fprintf(stderr, "vcmactl release: ID '%s' is not a reservation id\n", argv[optind + 1]);
		return EXIT_USAGE;
	}
	snprintf(path, sizeof(path), "/v1/vms/%s/reservations/%llu", argv[optind],
		 (unsigned long long)id);
	rc = http_call(c, "DELETE", path, NULL, &r);
	if (rc)
		return rc;
	if (r.code == 409 && r.body && json_object_object_get_ex(r.body, "claimed_by", NULL)) {
		const char *holder = jstr(r.body, "claimed_by");

		/* The guest keeps the grant, and so does vcmad: release again once it is free. */
		if (c->json)
			print_json(r.body);
		fprintf(stderr, "vcmactl: release of reservation %llu of %s refused: busy: claimed by %s\n",
			(unsigned long long)id, argv[optind], *holder ? holder : "a guest user");
		http_reply_free(&r);
		return EXIT_FAILED;
	}
	if ((r.code != 200 && r.code != 202) || !r.body) {
		rc = report_error(c, &r);
		http_reply_free(&r);
		return rc;
	}
	if (r.code == 202 && wait) {
		http_reply_free(&r);
		rc = wait_for(c, argv[optind], &id, 1, true, wait_s, NULL);
		if (!rc && !c->json)
			printf("reservation %llu released\n", (unsigned long long)id);
		else if (!rc)
			printf("{\"id\": %llu, \"state\": \"released\"}\n", (unsigned long long)id);
		return rc;
	}
	if (c->json)
		print_json(r.body);
	else
		printf("reservation %llu %s\n", (unsigned long long)id, jstr(r.body, "state"));
	http_reply_free(&r);
	return 0;
}

static void print_balloon(json_object *b)
{
	json_object *h = json_object_object_get(b, "host");
	char t[32], a[32], m[32], f[32];
	json_object *freed;

	printf("balloon %s: %s of target %s, guest memory %s, %llu chunks%s\n", jstr(b, "vm"),
	       human(ju64(b, "actual_bytes"), a, sizeof(a)),
	       human(ju64(b, "target_bytes"), t, sizeof(t)),
	       human(ju64(b, "guest_mem_total_bytes"), m, sizeof(m)),
	       (unsigned long long)ju64(b, "chunks"),
	       json_object_get_boolean(json_object_object_get(b, "floor_hit")) ? ", floor hit" : "");
	printf("  state %s, last status %s%s%s\n", jstr(b, "state"), jstr(b, "last_status"),
	       *jstr(b, "detail") ? ": " : "", jstr(b, "detail"));
	if (!h)
		return;
	printf("  host reclaim: %s (%s backend): %s\n",
	       json_object_get_boolean(json_object_object_get(h, "reclaim_possible")) ? "yes" : "no",
	       jstr(h, "backend"), jstr(h, "reason"));
	if (json_object_object_get_ex(h, "backing_freed_bytes", &freed)) {
		int64_t fb = json_object_get_int64(freed);

		printf("  host memory freed since the resize began: %s%s (backing now %s)",
		       fb < 0 ? "-" : "", human((uint64_t)(fb < 0 ? -fb : fb), f, sizeof(f)),
		       human(ju64(h, "backing_allocated_bytes"), a, sizeof(a)));
		if (json_object_object_get_ex(h, "freed_per_mib_ballooned", &freed))
			printf(", %.2f MiB per MiB ballooned", json_object_get_double(freed));
		printf("\n");
	}
}

/* Poll the balloon until it settles; progress lines while it moves. */
static int balloon_wait(const struct ctl *c, const char *path, double wait_s)
{
	int64_t deadline = now_ms() + (int64_t)(wait_s * 1000);
	uint64_t last = UINT64_MAX;

	for (;;) {
		struct http_reply r;
		const char *state;
		int rc = get_ok(c, path, &r);
		char a[32], t[32];

		if (rc)
			return rc;
		state = jstr(r.body, "state");
		if (!c->json && ju64(r.body, "actual_bytes") != last) {
			last = ju64(r.body, "actual_bytes");
			printf("  ... balloon %s of %s (%s)\n", human(last, a, sizeof(a)),
			       human(ju64(r.body, "target_bytes"), t, sizeof(t)), state);
			fflush(stdout);
		}
		if (strcmp(state, "running") && strcmp(state, "disconnected")) {
			if (c->json)
				print_json(r.body);
			else
				print_balloon(r.body);
			rc = strcmp(state, "done") ? EXIT_FAILED : 0;
			http_reply_free(&r);
			return rc;
		}
		http_reply_free(&r);
		if (now_ms() >= deadline) {
			fprintf(stderr, "vcmactl: balloon still %s after %.0f s\n", state, wait_s);
			return EXIT_TIMEOUT;
		}
		usleep(200 * 1000);
	}
}

/* Whole seconds 0..86400 for --stats-interval. 0 or -1. */
static int parse_interval(const char *s, uint64_t *out)
{
	char *end;
	unsigned long long v;

	errno = 0;
	v = strtoull(s, &end, 10);
	if (errno || end == s || *end || s[0] == '-' || v > 86400)
		return -1;
	*out = v;
	return 0;
}

/* A guest counter as text: a size, a count, or "n/a" where the guest could not read it. */
static const char *gval(json_object *g, const char *key, bool size, char *buf, size_t len)
{
	json_object *v;

	if (!g || !json_object_object_get_ex(g, key, &v) || !v)
		return "n/a";
	if (size)
		return human(json_object_get_uint64(v), buf, len);
	snprintf(buf, len, "%llu", (unsigned long long)json_object_get_uint64(v));
	return buf;
}

static void print_bstats(json_object *s)
{
	json_object *g = json_object_object_get(s, "guest");
	json_object *nodes = json_object_object_get(s, "nodes");
	json_object *h = json_object_object_get(s, "host");
	json_object *p = json_object_object_get(s, "pressure");
	json_object *last = p ? json_object_object_get(p, "last") : NULL;
	json_object *age = json_object_object_get(s, "sample_age_ms");
	char a[32], b[32], c[32], d[32];
	int64_t interval = json_object_get_int64(json_object_object_get(s, "interval_s"));

	printf("balloon statistics %s: ", jstr(s, "vm"));
	if (age)
		printf("sample %.1f s old", (double)json_object_get_int64(age) / 1000.0);
	else
		printf("no sample yet");
	if (interval)
		printf(", polling every %lld s\n", (long long)interval);
	else
		printf(", polling off (asked on demand)\n");
	printf("  balloon       %s of target %s (chunks of %s)\n",
	       human(ju64(s, "actual_bytes"), a, sizeof(a)),
	       human(ju64(s, "target_bytes"), b, sizeof(b)),
	       human(ju64(s, "chunk_bytes"), c, sizeof(c)));
	printf("  memory        total %s, free %s, available %s, caches %s\n",
	       gval(g, "mem_total_bytes", true, a, sizeof(a)),
	       gval(g, "mem_free_bytes", true, b, sizeof(b)),
	       gval(g, "mem_available_bytes", true, c, sizeof(c)),
	       gval(g, "disk_caches_bytes", true, d, sizeof(d)));
	printf("  swap          in %s, out %s\n", gval(g, "swap_in_bytes", true, a, sizeof(a)),
	       gval(g, "swap_out_bytes", true, b, sizeof(b)));
	printf("  page faults   major %s, minor %s\n", gval(g, "major_faults", false, a, sizeof(a)),
	       gval(g, "minor_faults", false, b, sizeof(b)));
	printf("  OOM kills     %s\n", gval(g, "oom_kills", false, a, sizeof(a)));
	printf("  hugetlb       allocations %s, failures %s\n",
	       gval(g, "hugetlb_allocs", false, a, sizeof(a)),
	       gval(g, "hugetlb_failures", false, b, sizeof(b)));
	printf("  by node      ");
	if (!nodes)
		printf(" n/a");
	for (size_t i = 0; nodes && i < json_object_array_length(nodes); i++) {
		json_object *n = json_object_array_get_idx(nodes, i);

		printf("%s node %llu: %llu chunks (%s)", i ? "," : "",
		       (unsigned long long)ju64(n, "node"), (unsigned long long)ju64(n, "chunks"),
		       human(ju64(n, "bytes"), a, sizeof(a)));
	}
	printf("\n");
	if (h)
		printf("  host          freed %s by vcmad's punches, %llu punch errors, reclaim %s\n",
		       human(ju64(h, "freed_bytes"), a, sizeof(a)),
		       (unsigned long long)ju64(h, "punch_errors"),
		       json_object_get_boolean(json_object_object_get(h, "reclaim_possible")) ?
		       "possible" : "not possible");
	printf("  pressure      last deflate: ");
	if (last)
		printf("%s, %.1f s ago", human(ju64(last, "bytes"), a, sizeof(a)),
		       (double)json_object_get_int64(json_object_object_get(last, "age_ms")) / 1000.0);
	else
		printf("none");
	printf("; the guest's balloon gave back %s in %s events since boot\n",
	       gval(g, "pressure_deflated_bytes", true, a, sizeof(a)),
	       gval(g, "pressure_events", false, b, sizeof(b)));
	if (*jstr(s, "last_error"))
		printf("  last error    %s\n", jstr(s, "last_error"));
}

/* vcmactl balloon VM --stats [--stats-interval S]: GET or PUT .../balloon/statistics. */
static int balloon_stats(const struct ctl *c, const char *vm, const char *interval)
{
	struct http_reply r;
	char path[256], body[64];
	uint64_t v;
	int rc;

	snprintf(path, sizeof(path), "/v1/vms/%s/balloon/statistics", vm);
	if (interval) {
		if (parse_interval(interval, &v)) {
			fprintf(stderr, "vcmactl balloon: --stats-interval '%s' is not 0..86400 "
				"seconds\n", interval);
			return EXIT_USAGE;
		}
		snprintf(body, sizeof(body), "{\"interval_s\": %llu}", (unsigned long long)v);
		rc = http_call(c, "PUT", path, body, &r);
		if (rc)
			return rc;
		if (r.code != 200 || !r.body) {
			rc = report_error(c, &r);
			http_reply_free(&r);
			return rc;
		}
		http_reply_free(&r);
	}
	return show(c, path, print_bstats);
}

/*
 * vcmactl balloon VM [--target SIZE]: SIZE is what the balloon takes from the guest.
 * vcmactl resize VM SIZE: SIZE is the memory the guest keeps (its MemTotal).
 */
static int cmd_balloon(const struct ctl *c, int argc, char **argv, bool resize)
{
	static const struct option opts[] = {
		{ "target", required_argument, NULL, 'T' },
		{ "stats", no_argument, NULL, 's' },
		{ "stats-interval", required_argument, NULL, 'I' },
		{ "wait", no_argument, NULL, 'w' },
		{ "wait-timeout", required_argument, NULL, 'W' },
		{ "help", no_argument, NULL, 'h' },
		{ 0 },
	};
	const char *usage = resize ?
		"Usage: vcmactl resize VM SIZE [--wait [--wait-timeout S]]\n"
		"Make the guest's memory (MemTotal) SIZE, e.g. 1G, by setting the balloon to\n"
		"the guest's whole memory minus SIZE (rounded up to 2 MiB chunks).\n"
		"  --wait         wait until the balloon settled, showing progress\n"
		"  --wait-timeout S  give up waiting after S seconds (default 300; exit 4)\n"
		"Exit 1 when the guest stopped short (its safety floor).\n" :
		"Usage: vcmactl balloon VM [--target SIZE [--wait [--wait-timeout S]]]\n"
		"       vcmactl balloon VM --stats [--stats-interval S]\n"
		"Show the balloon, or set how much memory it takes from the guest\n"
		"(SIZE, a multiple of 2 MiB; 0 gives everything back).\n"
		"  --stats        the guest's memory counters, the balloon per NUMA node and\n"
		"                 the host memory freed (asked from the guest unless polled)\n"
		"  --stats-interval S  poll the guest every S seconds (0 = off), then show\n"
		"  --wait         wait until the balloon settled, showing progress\n"
		"  --wait-timeout S  give up waiting after S seconds (default 300; exit 4)\n"
		"Exit 1 when the guest stopped short (its safety floor).\n";
	const char *size_arg = NULL, *interval = NULL;
	double wait_s = 300;
	bool wait = false, stats = false;
	struct http_reply r;
	char path[256], body[128];
	uint64_t v;
	int o, rc;

	optind = 0;
	while ((o = getopt_long(argc, argv, "T:sI:wW:h", opts, NULL)) != -1) {
		if (o == 'h') {
			fputs(usage, stdout);
			return 0;
		}
		if (o == 'w') {
			wait = true;
		} else if ((o == 's' || o == 'I') && !resize) {
			stats = true;
			if (o == 'I')
				interval = optarg;
		} else if (o == 'T' && !resize) {
			size_arg = optarg;
		} else if (o != 'W' || parse_wait(optarg, &wait_s)) {
			fputs(usage, stderr);
			return EXIT_USAGE;
		}
	}
	if (argc - optind != (resize ? 2 : 1)) {
		fputs(usage, stderr);
		return EXIT_USAGE;
	}
	if (resize)
		size_arg = argv[optind + 1];
	if (stats && (size_arg || wait)) {
		fputs(usage, stderr);
		return EXIT_USAGE;
	}
	if (stats)
		return balloon_stats(c, argv[optind], interval);
	snprintf(path, sizeof(path), "/v1/vms/%s/balloon", argv[optind]);
	if (!size_arg) {
		if (wait)
			return balloon_wait(c, path, wait_s);
		return show(c, path, print_balloon);
	}
	if (vcma_size_parse(size_arg, 0, &v)) {
		fprintf(stderr, "vcmactl %s: '%s' is not a size (e.g. 256M, 1G)\n",
			resize ? "resize" : "balloon", size_arg);
		return EXIT_USAGE;
	}
	snprintf(body, sizeof(body), "{\"%s\": %llu}", resize ? "size" : "target",
		 (unsigned long long)v);
	rc = http_call(c, "PUT", path, body, &r);
	if (rc)
		return rc;
	/* 200: libvirt resized the domain at once (no vcma agent, or RAM not reclaimable) */
	if (r.code == 200 && r.body && *jstr(r.body, "via")) {
		char m[32];

		if (c->json)
			print_json(r.body);
		else
			printf("balloon %s: via %s (%s): guest memory now %s\n  %s\n",
			       jstr(r.body, "vm"),
			       !strcmp(jstr(r.body, "via"), "libvirt-balloon") ? "libvirt's balloon" :
			       jstr(r.body, "via"), jstr(r.body, "reason"),
			       human(ju64(r.body, "guest_mem_bytes"), m, sizeof(m)),
			       jstr(r.body, "detail"));
		http_reply_free(&r);
		return 0;
	}
	if (r.code != 202 || !r.body) {
		rc = report_error(c, &r);
		http_reply_free(&r);
		return rc;
	}
	if (wait) {
		http_reply_free(&r);
		return balloon_wait(c, path, wait_s);
	}
	if (c->json)
		print_json(r.body);
	else
		print_balloon(r.body);
	http_reply_free(&r);
	return 0;
}

static int cmd_host(const struct ctl *c)
{
	struct http_reply r;
	json_object *k, *arr, *t, *ext;
	char b[32];
	int rc = get_ok(c, "/v1/host", &r);

	if (rc)
		return rc;
	if (c->json) {
		print_json(r.body);
		http_reply_free(&r);
		return 0;
	}
	if (json_object_object_get_ex(r.body, "kvm", &k)) {
		if (!json_object_get_boolean(json_object_object_get(k, "present")))
			printf("KVM: /dev/kvm not present\n");
		else if (*jstr(k, "error"))
			printf("KVM: %s\n", jstr(k, "error"));
		else
			printf("KVM: API version %s\n", jstr(k, "api_version"));
		if (json_object_object_get_ex(k, "extensions", &ext)) {
			json_object_object_foreach(ext, key, val)
				printf("  %-28s %s\n", key, json_object_get_string(val));
		}
	}
	if (json_object_object_get_ex(r.body, "hugepages", &arr)) {
		printf("huge pages:\n");
		for (size_t i = 0; i < json_object_array_length(arr); i++) {
			json_object *e = json_object_array_get_idx(arr, i);

			printf("  %-8s total %s, free %s\n", human(ju64(e, "size"), b, sizeof(b)),
			       jstr(e, "total"), jstr(e, "free"));
		}
	}
	if (json_object_object_get_ex(r.body, "transparent_hugepage", &t))
		printf("THP: enabled [%s], defrag [%s]\n", jstr(t, "enabled"), jstr(t, "defrag"));
	http_reply_free(&r);
	return 0;
}

static void usage_main(FILE *f)
{
	fprintf(f,
		"Usage: vcmactl [--socket PATH] [--json] [--timeout S] COMMAND [ARGS]\n"
		"Operator CLI of vcmad (vcma host daemon).\n\n"
		"Commands:\n"
		"  vms                        list served VMs\n"
		"  status VM                  a VM's guest, reservations and grants\n"
		"  reserve VM SIZE [...]      ask for contiguous ranges (see reserve --help)\n"
		"  release VM ID [--wait]     give a reservation back\n"
		"  balloon VM [--target SIZE] show or set what the balloon takes (--wait)\n"
		"  balloon VM --stats         guest memory counters, balloon by node, host freed\n"
		"  resize VM SIZE [--wait]    make the guest's memory SIZE via the balloon\n"
		"  host                       KVM, huge page and THP facts of this host\n\n"
		"Options:\n"
		"  --socket PATH   vcmad's API socket (default $VCMA_SOCKET, then %s)\n"
		"  --json          machine-readable output\n"
		"  --timeout S     per-request timeout in seconds (default 30)\n"
		"  -h, --help      this help; COMMAND --help for a command's\n\n"
		"Exit codes: 0 ok, 1 request or reservation failed, 2 usage,\n"
		"3 cannot reach vcmad, 4 timed out waiting.\n",
		DEFAULT_SOCKET);
}

static int simple_cmd_help(const char *cmd, int argc, char **argv, int want_args)
{
	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "-h") || !strcmp(argv[i], "--help")) {
			if (!strcmp(cmd, "status"))
				printf("Usage: vcmactl status VM\nShow VM's guest, reservations and grants.\n");
			else if (!strcmp(cmd, "vms"))
				printf("Usage: vcmactl vms\nList the VMs vcmad serves.\n");
			else
				printf("Usage: vcmactl host\nShow KVM, huge page and THP facts of the host.\n");
			return 0;
		}
	}
	if (argc - 1 != want_args) {
		fprintf(stderr, "vcmactl %s: expected %d argument%s (see vcmactl %s --help)\n", cmd,
			want_args, want_args == 1 ? "" : "s", cmd);
		return EXIT_USAGE;
	}
	return -1;
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "socket", required_argument, NULL, 's' },
		{ "json", no_argument, NULL, 'j' },
		{ "timeout", required_argument, NULL, 't' },
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
		{ 0 },
	};
	struct ctl c = { .socket = getenv("VCMA_SOCKET"), .timeout_s = 30 };
	const char *cmd;
	char *end;
	int o, rc;

	if (!c.socket || !*c.socket)
		c.socket = DEFAULT_SOCKET;
	/* '+': stop at the command; its own options are parsed by it */
	while ((o = getopt_long(argc, argv, "+s:jt:hV", opts, NULL)) != -1) {
		switch (o) {
		case 's':
			c.socket = optarg;
			break;
		case 'j':
			c.json = true;
			break;
		case 't':
			c.timeout_s = strtod(optarg, &end);
			if (*end || c.timeout_s <= 0) {
				fprintf(stderr, "vcmactl: --timeout: seconds\n");
				return EXIT_USAGE;
			}
			break;
		case 'h':
			usage_main(stdout);
			return 0;
		case 'V':
			printf("vcmactl %s\n", VCMA_VERSION);
			return 0;
		default:
			usage_main(stderr);
			return EXIT_USAGE;
		}
	}
	if (optind >= argc) {
		usage_main(stderr);
		return EXIT_USAGE;
	}
	cmd = argv[optind];
	argc -= optind;
	argv += optind;
	/* --json may also follow the command, where scripts tend to put it */
	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--json")) {
			c.json = true;
			memmove(&argv[i], &argv[i + 1], (size_t)(argc - i) * sizeof(*argv));
			argc--;
			i--;
		}
	}
	if (!strcmp(cmd, "vms")) {
		rc = simple_cmd_help(cmd, argc, argv, 0);
		return rc >= 0 ? rc : cmd_vms(&c);
	}
	if (!strcmp(cmd, "status")) {
		rc = simple_cmd_help(cmd, argc, argv, 1);
		return rc >= 0 ? rc : cmd_status(&c, argv[1]);
	}
	if (!strcmp(cmd, "host")) {
		rc = simple_cmd_help(cmd, argc, argv, 0);
		return rc >= 0 ? rc : cmd_host(&c);
	}
	if (!strcmp(cmd, "reserve"))
		return cmd_reserve(&c, argc, argv);
	if (!strcmp(cmd, "release"))
		return cmd_release(&c, argc, argv);
	if (!strcmp(cmd, "balloon") || !strcmp(cmd, "resize"))
		return cmd_balloon(&c, argc, argv, cmd[0] == 'r');
	fprintf(stderr, "vcmactl: unknown command '%s' (see vcmactl --help)\n", cmd);
	return EXIT_USAGE;
}
