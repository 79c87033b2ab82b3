/* SPDX-License-Identifier: GPL-2.0-only */
/* Host reclaim through QEMU's QMP socket (see reclaim.h). */
#include "reclaim.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include <json-c/json.h>

#ifndef HUGETLBFS_MAGIC
#define HUGETLBFS_MAGIC 0x958458f6
#endif
#ifndef FALLOC_FL_KEEP_SIZE
#define FALLOC_FL_KEEP_SIZE 0x01
#endif
#ifndef FALLOC_FL_PUNCH_HOLE
#define FALLOC_FL_PUNCH_HOLE 0x02
#endif

const char *reclaim_kind_name(enum reclaim_kind k)
{
	static const char *const names[] = { "none", "memfd", "file", "hugetlbfs" };

	return k <= RECLAIM_HUGETLBFS ? names[k] : "?";
}

/* ---- "info mtree -f" ------------------------------------------------------ */

/*
 * A flat view starts with "FlatView #N", lists the address spaces it serves
 * (' AS "memory", root: system'), then ranges:
 *   "  0000000000100000-000000007fffffff (prio 0, ram): pc.ram @0000000000100000 KVM"
 * The end is inclusive; "@OFFSET" is the offset in the region (absent = 0).
 */
static int parse_range(const char *line, struct ram_section *s)
{
	unsigned long long start, end, off = 0;
	const char *p = strstr(line, "): "), *type = strchr(line, ',');
	size_t n;

	if (sscanf(line, " %llx-%llx (prio", &start, &end) != 2 || !p || !type || type > p)
		return 0;
	type++;
	while (*type == ' ')
		type++;
	if (strncmp(type, "ram)", 4))	/* only plain RAM: not rom, i/o, romd, nv-ram */
		return 0;
	if (end < start || end == UINT64_MAX)
		return -1;
	p += 3;
	n = strcspn(p, " \r\n");	/* HMP text ends lines with \r\n */
	if (!n || n >= sizeof(s->region))
		return -1;
	memcpy(s->region, p, n);
	s->region[n] = 0;
	p += n;
	while (*p == ' ')
		p++;
	if (*p == '@' && sscanf(p + 1, "%llx", &off) != 1)
		return -1;
	s->gpa = start;
	s->size = end - start + 1;
	s->offset = off;
	return 1;
}

int reclaim_parse_mtree(const char *text, struct ram_layout *out, char *why, size_t whylen)
{
	const char *line = text;
	bool in_view = false, is_memory = false, done = false;

	memset(out, 0, sizeof(*out));
	while (line && *line && !done) {
		const char *nl = strchr(line, '\n');
		size_t len = nl ? (size_t)(nl - line) : strlen(line);
		char buf[512];

		if (len >= sizeof(buf))
			len = sizeof(buf) - 1;
		memcpy(buf, line, len);
		buf[len] = 0;
		line = nl ? nl + 1 : NULL;
		if (!strncmp(buf, "FlatView #", 10)) {
			if (is_memory)
				done = true;	/* the view of "memory" ended */
			in_view = true;
			is_memory = false;
			continue;
		}
		if (!in_view)
			continue;
		if (strstr(buf, " AS \"memory\"") == buf) {
			is_memory = true;
			continue;
		}
		if (!is_memory)
			continue;
		struct ram_section s;
		int r = parse_range(buf, &s);

		if (r < 0) {
			snprintf(why, whylen, "unparsable mtree line: %.200s", buf);
			return -1;
		}
		if (!r)
			continue;
		if (out->nr == RECLAIM_MAX_SECTIONS) {
			snprintf(why, whylen, "more than %d RAM sections", RECLAIM_MAX_SECTIONS);
			return -1;
		}
		out->s[out->nr++] = s;
	}
	if (!out->nr) {
		snprintf(why, whylen, "no RAM sections in the flat view of address space \"memory\"");
		return -1;
	}
	return 0;
}

int reclaim_map(const struct ram_layout *l, uint64_t gpa, uint64_t len, const char **region,
		uint64_t *offset)
{
	if (!len || gpa + len < gpa)
		return -ERANGE;
	for (size_t i = 0; i < l->nr; i++) {
		const struct ram_section *s = &l->s[i];

		if (gpa >= s->gpa && gpa + len <= s->gpa + s->size) {
			*region = s->region;
			*offset = s->offset + (gpa - s->gpa);
			return 0;
		}
	}
	return -ERANGE;
}

/* ---- QMP ---------------------------------------------------------------- */

struct qmp {
	int fd;
	int timeout_ms;
	int64_t until;		/* one budget for the whole exchange: a hung QEMU costs it once */
	char buf[1 << 20];	/* one "info mtree -f" answer is one line */
	size_t len;
};

static int64_t mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Next JSON line from QEMU (events skipped by the caller); NULL on timeout or EOF. */
static json_object *qmp_read(struct qmp *q, int64_t until)
{
	for (;;) {
		char *nl = memchr(q->buf, '\n', q->len);

		if (nl) {
			json_object *o;

			*nl = 0;
			o = json_tokener_parse(q->buf);
			q->len -= (size_t)(nl + 1 - q->buf);
			memmove(q->buf, nl + 1, q->len);
			if (o)
				return o;
			continue;
		}
		if (q->len == sizeof(q->buf) - 1) {
			/* a line longer than the buffer: only the mtree can be; give up */
			return NULL;
		}
		struct pollfd p = { .fd = q->fd, .events = POLLIN };
		int64_t left = until - mono_ms();

		if (left <= 0 || poll(&p, 1, (int)left) <= 0)
			return NULL;
		ssize_t n = read(q->fd, q->buf + q->len, sizeof(q->buf) - 1 - q->len);

		if (n <= 0)
			return NULL;
		q->len += (size_t)n;
	}
}

/* Run cmd (a JSON object); the "return" value (caller puts it) or NULL with err. */
static json_object *qmp_cmd(struct qmp *q, json_object *cmd, char *err, size_t errlen)
{
	const char *js = json_object_to_json_string_ext(cmd, JSON_C_TO_STRING_PLAIN);
	int64_t until = q->until;
	char s[1024];
	size_t len, off = 0;

	/* one command per line: QEMU does not need the newline, line-based peers do */
	len = (size_t)snprintf(s, sizeof(s), "%s\n", js);
	if (len >= sizeof(s)) {
		snprintf(err, errlen, "QMP command too long");
		json_object_put(cmd);
		return NULL;
	}
	while (off < len) {
		ssize_t n = send(q->fd, s + off, len - off, MSG_NOSIGNAL);

		if (n <= 0) {
			snprintf(err, errlen, "QMP write: %s", strerror(errno));
			json_object_put(cmd);
			return NULL;
		}
		off += (size_t)n;
	}
	json_object_put(cmd);
	for (;;) {
		json_object *o = qmp_read(q, until), *v;

		if (!o) {
			snprintf(err, errlen, "QMP: no answer within %d ms", q->timeout_ms);
			return NULL;
		}
		if (json_object_object_get_ex(o, "return", &v)) {
			json_object_get(v);
			json_object_put(o);
			return v;
		}
		if (json_object_object_get_ex(o, "error", &v)) {
			json_object *d = NULL;

			json_object_object_get_ex(v, "desc", &d);
			snprintf(err, errlen, "QMP error: %s", d ? json_object_get_string(d) : "?");
			json_object_put(o);
			return NULL;
		}
		json_object_put(o);	/* an event */
	}
}

static json_object *qmp_exec(struct qmp *q, const char *name, json_object *args, char *err,
			     size_t errlen)
{
	json_object *cmd = json_object_new_object();

	json_object_object_add(cmd, "execute", json_object_new_string(name));
	if (args)
		json_object_object_add(cmd, "arguments", args);
	return qmp_cmd(q, cmd, err, errlen);
}

static json_object *qom_get(struct qmp *q, const char *path, const char *prop, char *err,
			    size_t errlen)
{
	json_object *a = json_object_new_object();

	json_object_object_add(a, "path", json_object_new_string(path));
	json_object_object_add(a, "property", json_object_new_string(prop));
	return qmp_exec(q, "qom-get", a, err, errlen);
}

static json_object *qom_list(struct qmp *q, const char *path, char *err, size_t errlen)
{
	json_object *a = json_object_new_object();

	json_object_object_add(a, "path", json_object_new_string(path));
	return qmp_exec(q, "qom-list", a, err, errlen);
}

static int qmp_open(struct qmp *q, const char *path, int *pid, char *err, size_t errlen)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	struct ucred cr;
	socklen_t crlen = sizeof(cr);
	json_object *greeting, *r;

	if (strlen(path) >= sizeof(sa.sun_path)) {
		snprintf(err, errlen, "QMP socket path too long");
		return -1;
	}
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", path);
	q->fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (q->fd < 0 || connect(q->fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		snprintf(err, errlen, "QMP socket %s: %s", path, strerror(errno));
		return -1;
	}
	if (getsockopt(q->fd, SOL_SOCKET, SO_PEERCRED, &cr, &crlen) < 0 || cr.pid <= 0) {
		snprintf(err, errlen, "QMP socket %s: no peer credentials", path);
		return -1;
	}
	*pid = cr.pid;
	greeting = qmp_read(q, q->until);
	if (!greeting || !json_object_object_get_ex(greeting, "QMP", NULL)) {
		json_object_put(greeting);
		snprintf(err, errlen, "QMP socket %s: no QMP greeting (busy with another client?)",
			 path);
		return -1;
	}
	json_object_put(greeting);
	r = qmp_exec(q, "qmp_capabilities", NULL, err, errlen);
	if (!r)
		return -1;
	json_object_put(r);
	return 0;
}

/* ---- what QEMU runs ----------------------------------------------------------- */

/* A VFIO (or other memory-pinning) device in the tree under path, or NULL. */
static const char *find_pinning_device(struct qmp *q, const char *path, char *name,
				       size_t namelen)
{
	char err[128];
	json_object *l = qom_list(q, path, err, sizeof(err));
	const char *found = NULL;

	if (!l)
		return NULL;
	for (size_t i = 0; i < json_object_array_length(l) && !found; i++) {
		json_object *e = json_object_array_get_idx(l, i), *t, *n;

		if (!json_object_object_get_ex(e, "type", &t) ||
		    !json_object_object_get_ex(e, "name", &n))
			continue;
		if (strstr(json_object_get_string(t), "vfio")) {
			snprintf(name, namelen, "%s/%s (%s)", path, json_object_get_string(n),
				 json_object_get_string(t));
			found = name;
		}
	}
	json_object_put(l);
	return found;
}

/* Backend type ("memfd", "file", "ram", ...) of object id, into type. */
static int backend_type(struct qmp *q, const char *id, char *type, size_t typelen)
{
	char err[128];
	json_object *l = qom_list(q, "/objects", err, sizeof(err));
	int rc = -1;

	if (!l)
		return -1;
	for (size_t i = 0; i < json_object_array_length(l); i++) {
		json_object *e = json_object_array_get_idx(l, i), *t, *n;
		const char *ts;

		if (!json_object_object_get_ex(e, "type", &t) ||
		    !json_object_object_get_ex(e, "name", &n) ||
		    strcmp(json_object_get_string(n), id))
			continue;
		ts = json_object_get_string(t);	/* "child<memory-backend-memfd>" */
		if (!strncmp(ts, "child<memory-backend-", 21)) {
			snprintf(type, typelen, "%.*s", (int)strcspn(ts + 21, ">"), ts + 21);
			rc = 0;
		}
		break;
	}
	json_object_put(l);
	return rc;
}

static bool want_fd(const char *link, enum reclaim_kind kind, const char *mem_path)
{
	if (kind == RECLAIM_MEMFD)
		return !strncmp(link, "/memfd:", 7);
	/* mem-path is the file itself, or a directory QEMU made an unlinked file in */
	size_t n = strlen(mem_path);

	return !strncmp(link, mem_path, n) && (link[n] == 0 || link[n] == '/' || link[n] == ' ');
}

/* Open QEMU's backing fd through /proc; exactly one candidate of that size. */
static int open_backing(struct reclaim *rc, const char *mem_path, char *err, size_t errlen)
{
	char dir[64], path[64 + sizeof(((struct dirent *)0)->d_name)], link[512];
	struct dirent *de;
	int found = -1, nfound = 0;
	ino_t ino = 0;
	DIR *d;

	snprintf(dir, sizeof(dir), "/proc/%d/fd", rc->pid);
	d = opendir(dir);
	if (!d) {
		snprintf(err, errlen, "%s: %s (vcmad must run as QEMU's user or root)", dir,
			 strerror(errno));
		return -1;
	}
	while ((de = readdir(d))) {
		struct stat st;
		ssize_t n;
		int fd;

		if (de->d_name[0] == '.')
			continue;
		snprintf(path, sizeof(path), "%s/%s", dir, de->d_name);
		n = readlink(path, link, sizeof(link) - 1);
		if (n <= 0)
			continue;
		link[n] = 0;
		if (!want_fd(link, rc->kind, mem_path))
			continue;
		fd = open(path, O_RDWR | O_CLOEXEC);
		if (fd < 0)
			continue;
		if (fstat(fd, &st) || (uint64_t)st.st_size != rc->backend_size ||
		    (nfound && st.st_ino == ino)) {
			close(fd);
			continue;
		}
		if (found >= 0)
			close(found);
		found = fd;
		ino = st.st_ino;
		nfound++;
	}
	closedir(d);
	if (nfound != 1) {
		if (found >= 0)
			close(found);
		if (nfound)
			snprintf(err, errlen, "%d candidate backing files of %" PRIu64
				 " bytes in QEMU (pid %d): cannot tell which one is %s", nfound,
				 rc->backend_size, rc->pid, rc->backend);
		else
			snprintf(err, errlen, "no backing file of %" PRIu64
				 " bytes found in QEMU (pid %d) for %s", rc->backend_size, rc->pid,
				 rc->backend);
		return -1;
	}
	rc->fd = found;
	return 0;
}

static void set_why(struct reclaim *rc, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void set_why(struct reclaim *rc, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(rc->why, sizeof(rc->why), fmt, ap);
	va_end(ap);
}

static void inspect(struct reclaim *rc, struct qmp *q)
{
	char err[256], type[64], opath[128], name[160];
	const char *region = NULL;
	json_object *v;
	struct statfs sfs;

	v = qmp_exec(q, "human-monitor-command",
		     json_tokener_parse("{\"command-line\":\"info mtree -f\"}"), err, sizeof(err));
	if (!v) {
		set_why(rc, "cannot read the RAM layout: %s", err);
		return;
	}
	if (reclaim_parse_mtree(json_object_get_string(v), &rc->layout, err, sizeof(err))) {
		json_object_put(v);
		set_why(rc, "RAM layout: %s", err);
		return;
	}
	json_object_put(v);
	/* One backend behind all RAM: the usual case; several (NUMA) are not handled yet. */
	for (size_t i = 0; i < rc->layout.nr; i++) {
		if (region && strcmp(region, rc->layout.s[i].region)) {
			set_why(rc, "guest RAM comes from several memory regions (%s, %s): not supported",
				region, rc->layout.s[i].region);
			return;
		}
		region = rc->layout.s[i].region;
	}
	snprintf(rc->backend, sizeof(rc->backend), "%s", region);
	if (find_pinning_device(q, "/machine/peripheral", name, sizeof(name)) ||
	    find_pinning_device(q, "/machine/peripheral-anon", name, sizeof(name))) {
		set_why(rc, "VFIO device %s pins guest memory: host reclaim refused "
			"(the guest still shrinks)", name);
		return;
	}
	if (backend_type(q, region, type, sizeof(type))) {
		set_why(rc, "RAM region %s is not a memory backend object", region);
		return;
	}
	snprintf(opath, sizeof(opath), "/objects/%s", region);
	v = qom_get(q, opath, "size", err, sizeof(err));
	if (!v) {
		set_why(rc, "backend %s size: %s", region, err);
		return;
	}
	rc->backend_size = (uint64_t)json_object_get_int64(v);
	json_object_put(v);
	v = qom_get(q, opath, "share", err, sizeof(err));
	bool share = v && json_object_get_boolean(v);

	json_object_put(v);
	if (!strcmp(type, "memfd")) {
		rc->kind = RECLAIM_MEMFD;
	} else if (!strcmp(type, "file")) {
		rc->kind = RECLAIM_FILE;
	} else {
		set_why(rc, "RAM backend %s is memory-backend-%s (anonymous memory): no shared "
			"backing to punch; use memory-backend-memfd or -file with share=on", region,
			type);
		return;
	}
	if (!share) {
		set_why(rc, "RAM backend %s has share=off: QEMU's private copy cannot be "
			"punched through the file; use share=on", region);
		return;
	}
	char mem_path[256] = "";

	if (rc->kind == RECLAIM_FILE) {
		v = qom_get(q, opath, "mem-path", err, sizeof(err));
		if (!v) {
			set_why(rc, "backend %s mem-path: %s", region, err);
			return;
		}
		snprintf(mem_path, sizeof(mem_path), "%s", json_object_get_string(v));
		json_object_put(v);
	}
	if (open_backing(rc, mem_path, err, sizeof(err))) {
		set_why(rc, "%s", err);
		return;
	}
	rc->align = 4096;
	if (fstatfs(rc->fd, &sfs) == 0 && (unsigned long)sfs.f_type == HUGETLBFS_MAGIC) {
		rc->kind = RECLAIM_HUGETLBFS;
		rc->align = (uint64_t)sfs.f_bsize;
	}
	rc->possible = true;
	set_why(rc, "%s backend %s (%" PRIu64 " MiB) of QEMU pid %d, %zu RAM sections",
		reclaim_kind_name(rc->kind), region, rc->backend_size >> 20, rc->pid,
		rc->layout.nr);
}

struct reclaim *reclaim_open(const char *qmp_path, int timeout_ms)
{
	struct reclaim *rc = calloc(1, sizeof(*rc));
	struct qmp *q = calloc(1, sizeof(*q));
	char err[256];

	if (!rc || !q) {
		free(rc);
		free(q);
		return NULL;
	}
	rc->fd = -1;
	q->fd = -1;
	q->timeout_ms = timeout_ms;
	q->until = mono_ms() + timeout_ms;
	if (!qmp_path)
		set_why(rc, "no QMP socket configured for this VM (--vm NAME=CHANNEL,qmp=PATH): "
			"the RAM backing is unknown");
	else if (qmp_open(q, qmp_path, &rc->pid, err, sizeof(err))) {
		set_why(rc, "%s", err);
		rc->transient = true;
	}
	else
		inspect(rc, q);
	if (q->fd >= 0)
		close(q->fd);
	free(q);
	return rc;
}

void reclaim_free(struct reclaim *rc)
{
	if (!rc)
		return;
	if (rc->fd >= 0)
		close(rc->fd);
	free(rc);
}

int reclaim_punch(struct reclaim *rc, uint64_t gpa, uint64_t len)
{
	const char *region;
	uint64_t off;

	if (!rc->possible)
		return -EOPNOTSUPP;
	if (reclaim_map(&rc->layout, gpa, len, &region, &off) || strcmp(region, rc->backend))
		return -ERANGE;
	if (off % rc->align || len % rc->align || off + len > rc->backend_size)
		return -EINVAL;
	if (fallocate(rc->fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, (off_t)off,
		      (off_t)len) < 0) {
		rc->punch_errors++;
		return -errno;
	}
	rc->punched_bytes += len;
	return 0;
}

void reclaim_measure(const struct reclaim *rc, struct reclaim_usage *u)
{
	char path[64], line[256];
	struct stat st;
	FILE *f;

	memset(u, 0, sizeof(*u));
	if (!rc || rc->fd < 0 || fstat(rc->fd, &st))
		return;
	u->backing_bytes = (uint64_t)st.st_blocks * 512;
	u->valid = true;
	snprintf(path, sizeof(path), "/proc/%d/status", rc->pid);
	f = fopen(path, "re");
	if (!f)
		return;
	while (fgets(line, sizeof(line), f)) {
		unsigned long long kb;

		if (sscanf(line, "RssAnon: %llu kB", &kb) == 1)
			u->rss_anon = kb << 10;
		else if (sscanf(line, "RssShmem: %llu kB", &kb) == 1)
			u->rss_shmem = kb << 10;
		else if (sscanf(line, "RssFile: %llu kB", &kb) == 1)
			u->rss_file = kb << 10;
	}
	fclose(f);
}
