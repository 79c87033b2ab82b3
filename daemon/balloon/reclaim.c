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
#include <sys/sysmacros.h>
#include <sys/time.h>
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
	s->backend = -1;
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

static const struct ram_section *find_section(const struct ram_layout *l, uint64_t gpa,
					      uint64_t len)
{
	if (!len || gpa + len < gpa)
		return NULL;
	for (size_t i = 0; i < l->nr; i++) {
		const struct ram_section *s = &l->s[i];

		if (gpa >= s->gpa && gpa + len <= s->gpa + s->size)
			return s;
	}
	return NULL;
}

int reclaim_map(const struct ram_layout *l, uint64_t gpa, uint64_t len, const char **region,
		uint64_t *offset)
{
	const struct ram_section *s = find_section(l, gpa, len);

	if (!s)
		return -ERANGE;
	*region = s->region;
	*offset = s->offset + (gpa - s->gpa);
	return 0;
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

static int qom_set_bool(struct qmp *q, const char *path, const char *prop, bool value)
{
	json_object *a = json_object_new_object(), *r;
	char err[128];

	json_object_object_add(a, "path", json_object_new_string(path));
	json_object_object_add(a, "property", json_object_new_string(prop));
	json_object_object_add(a, "value", json_object_new_boolean(value));
	r = qmp_exec(q, "qom-set", a, err, sizeof(err));
	if (!r)
		return -1;
	json_object_put(r);
	return 0;
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
	if (q->fd >= 0) {
		/* a unix connect() blocks while the listener's backlog is full: bound it */
		struct timeval tv = { q->timeout_ms / 1000, (q->timeout_ms % 1000) * 1000 };

		setsockopt(q->fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
	}
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

/* ---- guest RAM or device memory ------------------------------------------ */

static const char *jstr(json_object *o, const char *key)
{
	json_object *v;

	return json_object_object_get_ex(o, key, &v) && json_object_is_type(v, json_type_string)
		? json_object_get_string(v) : NULL;
}

/* "child<memory-backend-memfd>" of object id in qom-list /objects -> "memfd", or NULL. */
static const char *backend_type_of(json_object *objects, const char *id, char *type, size_t len)
{
	for (size_t i = 0; json_object_is_type(objects, json_type_array) &&
	     i < json_object_array_length(objects); i++) {
		json_object *e = json_object_array_get_idx(objects, i);
		const char *n = jstr(e, "name"), *t = jstr(e, "type");

		if (!n || !t || strcmp(n, id))
			continue;
		if (strncmp(t, "child<memory-backend-", 21))
			return NULL;
		snprintf(type, len, "%.*s", (int)strcspn(t + 21, ">"), t + 21);
		return type;
	}
	return NULL;
}

/* The device (other than a pc-dimm) whose memdev link is backend id, or NULL. */
static json_object *device_holding(json_object *devices, const char *id)
{
	for (size_t i = 0; json_object_is_type(devices, json_type_array) &&
	     i < json_object_array_length(devices); i++) {
		json_object *d = json_object_array_get_idx(devices, i);
		const char *m = jstr(d, "memdev"), *t = jstr(d, "type");

		if (!m || !t)
			continue;
		if (!strncmp(m, "/objects/", 9))
			m += 9;
		if (!strcmp(m, id) && strcmp(t, "pc-dimm"))
			return d;
	}
	return NULL;
}

static json_object *memdev_of(json_object *memdevs, const char *id)
{
	for (size_t i = 0; json_object_is_type(memdevs, json_type_array) &&
	     i < json_object_array_length(memdevs); i++) {
		json_object *m = json_object_array_get_idx(memdevs, i);
		const char *n = jstr(m, "id");

		if (n && !strcmp(n, id))
			return m;
	}
	return NULL;
}

static void note_device_ram(struct reclaim *rc, const char *what)
{
	size_t n = strlen(rc->device_ram);

	if (strstr(rc->device_ram, what))
		return;
	snprintf(rc->device_ram + n, sizeof(rc->device_ram) - n, "%s%s", n ? ", " : "", what);
}

static void be_why(struct reclaim_backend *be, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
static void be_why(struct reclaim_backend *be, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(be->why, sizeof(be->why), fmt, ap);
	va_end(ap);
}

/* Index of the backend for region id (added on first sight), -1 = device memory, -2 = full. */
static int backend_index(struct reclaim *rc, const char *id, json_object *memdevs,
			 json_object *objects, json_object *devices)
{
	struct reclaim_backend *be;
	json_object *holder, *md, *v;
	char type[32], what[128];

	if (!strncmp(id, "/objects/", 9))	/* x-use-canonical-path-for-ramblock-id */
		id += 9;
	for (size_t i = 0; i < rc->nr_backends; i++)
		if (!strcmp(rc->backends[i].id, id))
			return (int)i;
	if (!backend_type_of(objects, id, type, sizeof(type))) {
		note_device_ram(rc, id);	/* vga.vram, qxl.vram, ...: a device's own RAM */
		return -1;
	}
	holder = device_holding(devices, id);
	if (holder) {
		snprintf(what, sizeof(what), "%s (memdev of %s)", id, jstr(holder, "type"));
		note_device_ram(rc, what);
		return -1;
	}
	if (rc->nr_backends == RECLAIM_MAX_BACKENDS)
		return -2;
	be = &rc->backends[rc->nr_backends];
	memset(be, 0, sizeof(*be));
	be->fd = -1;
	snprintf(be->id, sizeof(be->id), "%s", id);
	snprintf(be->type, sizeof(be->type), "%s", type);
	md = memdev_of(memdevs, id);
	if (md && json_object_object_get_ex(md, "size", &v))
		be->size = (uint64_t)json_object_get_int64(v);
	be->share = md && json_object_object_get_ex(md, "share", &v) && json_object_get_boolean(v);
	if (!md)
		be_why(be, "RAM backend %s is not listed by query-memdev", id);
	else if (strcmp(type, "memfd") && strcmp(type, "file"))
		be_why(be, "RAM backend %s is memory-backend-%s (anonymous memory): no shared "
		       "backing to punch; use memory-backend-memfd or -file with share=on", id, type);
	else if (!be->share)
		be_why(be, "RAM backend %s has share=off: QEMU's private copy cannot be "
		       "punched through the file; use share=on", id);
	return (int)rc->nr_backends++;
}

int reclaim_classify(struct reclaim *rc, json_object *memdevs, json_object *objects,
		     json_object *devices, char *why, size_t whylen)
{
	struct ram_layout *l = &rc->layout;
	size_t keep = 0;

	rc->nr_backends = 0;
	rc->device_ram[0] = 0;
	for (size_t i = 0; i < l->nr; i++) {
		int b = backend_index(rc, l->s[i].region, memdevs, objects, devices);

		if (b == -2) {
			snprintf(why, whylen, "more than %d memory backends", RECLAIM_MAX_BACKENDS);
			return -1;
		}
		if (b < 0)
			continue;
		l->s[keep] = l->s[i];
		l->s[keep++].backend = b;
	}
	l->nr = keep;
	if (!keep) {
		snprintf(why, whylen, "no guest RAM in QEMU's layout: no RAM section of address "
			 "space \"memory\" belongs to a memory backend object%s%s",
			 rc->device_ram[0] ? " (device memory only: " : "", rc->device_ram[0] ?
			 rc->device_ram : "");
		if (rc->device_ram[0])
			snprintf(why + strlen(why), whylen - strlen(why), ")");
		return -1;
	}
	return 0;
}

const char *reclaim_pinning_device(json_object *devices, char *name, size_t namelen)
{
	for (size_t i = 0; json_object_is_type(devices, json_type_array) &&
	     i < json_object_array_length(devices); i++) {
		json_object *d = json_object_array_get_idx(devices, i);
		const char *t = jstr(d, "type"), *p = jstr(d, "path");

		if (t && p && strstr(t, "vfio")) {
			snprintf(name, namelen, "%s (%s)", p, t);
			return name;
		}
	}
	return NULL;
}

/* ---- what QEMU runs ----------------------------------------------------------- */

/* QEMU's devices as [{"path", "type", "memdev"?}] (see reclaim_classify). */
static json_object *list_devices(struct qmp *q)
{
	static const char *const roots[] = { "/machine/peripheral", "/machine/peripheral-anon" };
	json_object *out = json_object_new_array();
	char err[128], path[256];

	for (size_t r = 0; r < 2; r++) {
		json_object *l = qom_list(q, roots[r], err, sizeof(err));

		for (size_t i = 0; l && i < json_object_array_length(l); i++) {
			json_object *e = json_object_array_get_idx(l, i), *d, *m;
			const char *n = jstr(e, "name"), *t = jstr(e, "type");

			if (!n || !t || strncmp(t, "child<", 6))
				continue;
			d = json_object_new_object();
			snprintf(path, sizeof(path), "%s/%s", roots[r], n);
			json_object_object_add(d, "path", json_object_new_string(path));
			json_object_object_add(d, "type", json_object_new_string_len(
				t + 6, (int)strcspn(t + 6, ">")));
			m = qom_get(q, path, "memdev", err, sizeof(err));	/* most have none */
			if (m && json_object_is_type(m, json_type_string))
				json_object_object_add(d, "memdev", json_object_get(m));
			json_object_put(m);
			json_object_array_add(out, d);
		}
		json_object_put(l);
	}
	return out;
}

static bool want_fd(const char *link, const struct reclaim_backend *be, const char *mem_path)
{
	if (be->kind == RECLAIM_MEMFD)
		return !strncmp(link, "/memfd:", 7);
	/* mem-path is the file itself, or a directory QEMU made an unlinked file in */
	size_t n = strlen(mem_path);

	return !strncmp(link, mem_path, n) && (link[n] == 0 || link[n] == '/' || link[n] == ' ');
}

#define RECLAIM_MAX_CANDIDATES	8

struct candidate {
	int fd;
	dev_t dev;
	ino_t ino;
	int dd;		/* VmFlags of its mappings: bit 0 = some without dd, bit 1 = some with */
};

static bool taken(const struct reclaim *rc, const struct stat *st)
{
	for (size_t i = 0; i < rc->nr_backends; i++) {
		struct stat o;

		if (rc->backends[i].fd >= 0 && !fstat(rc->backends[i].fd, &o) &&
		    o.st_dev == st->st_dev && o.st_ino == st->st_ino)
			return true;
	}
	return false;
}

/* The dontdump flag of every candidate's mappings in QEMU, from /proc/PID/smaps. */
static int read_dontdump(int pid, struct candidate *c, size_t n)
{
	char path[64], line[512];
	struct candidate *cur = NULL;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/smaps", pid);
	f = fopen(path, "re");
	if (!f)
		return -1;
	for (size_t i = 0; i < n; i++)
		c[i].dd = 0;
	while (fgets(line, sizeof(line), f)) {
		unsigned long long lo, hi, off, ino;
		unsigned int maj, mnr;
		char perms[8];

		if (sscanf(line, "%llx-%llx %7s %llx %x:%x %llu", &lo, &hi, perms, &off, &maj, &mnr,
			   &ino) == 7) {
			cur = NULL;
			for (size_t i = 0; i < n; i++)
				if (c[i].ino == (ino_t)ino && c[i].dev == makedev(maj, mnr))
					cur = &c[i];
		} else if (cur && !strncmp(line, "VmFlags:", 8)) {
			cur->dd |= strstr(line, " dd") ? 2 : 1;
		}
	}
	fclose(f);
	return 0;
}

/*
 * Several files alike in QEMU (memfds of one size): flip the backend's dump
 * property and see whose mapping changed. The property is restored before
 * anything else; index of the one, or -1.
 */
static int pick_by_dontdump(struct reclaim *rc, struct qmp *q, const struct reclaim_backend *be,
			    struct candidate *c, size_t n)
{
	char opath[128], err[128];
	int before[RECLAIM_MAX_CANDIDATES], found = -1, changed = 0;
	json_object *v;
	bool dump;

	snprintf(opath, sizeof(opath), "/objects/%s", be->id);
	v = qom_get(q, opath, "dump", err, sizeof(err));
	if (!v)
		return -1;
	dump = json_object_get_boolean(v);
	json_object_put(v);
	if (read_dontdump(rc->pid, c, n))
		return -1;
	for (size_t i = 0; i < n; i++)
		before[i] = c[i].dd;
	if (qom_set_bool(q, opath, "dump", !dump))
		return -1;
	int r = read_dontdump(rc->pid, c, n);

	qom_set_bool(q, opath, "dump", dump);
	if (r)
		return -1;
	for (size_t i = 0; i < n; i++)
		if (c[i].dd != before[i]) {
			found = (int)i;
			changed++;
		}
	return changed == 1 ? found : -1;
}

/* Open QEMU's fd of be's backing through /proc: the one file of its size, or told apart. */
static int open_backing(struct reclaim *rc, struct qmp *q, struct reclaim_backend *be,
			const char *mem_path)
{
	char dir[64], path[64 + sizeof(((struct dirent *)0)->d_name)], link[512];
	struct candidate c[RECLAIM_MAX_CANDIDATES];
	struct dirent *de;
	size_t n = 0;
	int pick;
	DIR *d;

	snprintf(dir, sizeof(dir), "/proc/%d/fd", rc->pid);
	d = opendir(dir);
	if (!d) {
		be_why(be, "%s: %s (vcmad must run as QEMU's user or root)", dir, strerror(errno));
		return -1;
	}
	while ((de = readdir(d)) && n < RECLAIM_MAX_CANDIDATES) {
		struct stat st;
		ssize_t len;
		bool dup = false;
		int fd;

		if (de->d_name[0] == '.')
			continue;
		snprintf(path, sizeof(path), "%s/%s", dir, de->d_name);
		len = readlink(path, link, sizeof(link) - 1);
		if (len <= 0)
			continue;
		link[len] = 0;
		if (!want_fd(link, be, mem_path))
			continue;
		fd = open(path, O_RDWR | O_CLOEXEC);
		if (fd < 0)
			continue;
		if (fstat(fd, &st) || (uint64_t)st.st_size != be->size || taken(rc, &st)) {
			close(fd);
			continue;
		}
		for (size_t i = 0; i < n; i++)
			dup |= c[i].dev == st.st_dev && c[i].ino == st.st_ino;
		if (dup) {
			close(fd);
			continue;
		}
		c[n++] = (struct candidate){ .fd = fd, .dev = st.st_dev, .ino = st.st_ino };
	}
	closedir(d);
	pick = n == 1 ? 0 : n > 1 ? pick_by_dontdump(rc, q, be, c, n) : -1;
	for (size_t i = 0; i < n; i++)
		if ((int)i != pick)
			close(c[i].fd);
	if (pick < 0) {
		if (n)
			be_why(be, "%zu candidate backing files of %" PRIu64 " bytes in QEMU (pid %d): "
			       "cannot tell which one is %s", n, be->size, rc->pid, be->id);
		else
			be_why(be, "no backing file of %" PRIu64 " bytes found in QEMU (pid %d) for %s",
			       be->size, rc->pid, be->id);
		return -1;
	}
	be->fd = c[pick].fd;
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

static void add_why(struct reclaim *rc, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void add_why(struct reclaim *rc, const char *fmt, ...)
{
	size_t n = strlen(rc->why);
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(rc->why + n, sizeof(rc->why) - n, fmt, ap);
	va_end(ap);
}

/* Set up one backend for punching; on failure its why says why. */
static void open_backend(struct reclaim *rc, struct qmp *q, struct reclaim_backend *be)
{
	char opath[128], err[256], mem_path[256] = "";
	struct statfs sfs;

	be->kind = !strcmp(be->type, "memfd") ? RECLAIM_MEMFD : RECLAIM_FILE;
	if (be->kind == RECLAIM_FILE) {
		json_object *v;

		snprintf(opath, sizeof(opath), "/objects/%s", be->id);
		v = qom_get(q, opath, "mem-path", err, sizeof(err));
		if (!v) {
			be_why(be, "backend %s mem-path: %s", be->id, err);
			be->kind = RECLAIM_NONE;
			return;
		}
		snprintf(mem_path, sizeof(mem_path), "%s", json_object_get_string(v));
		json_object_put(v);
	}
	if (open_backing(rc, q, be, mem_path)) {
		be->kind = RECLAIM_NONE;
		return;
	}
	be->align = 4096;
	if (fstatfs(be->fd, &sfs) == 0 && (unsigned long)sfs.f_type == HUGETLBFS_MAGIC) {
		be->kind = RECLAIM_HUGETLBFS;
		be->align = (uint64_t)sfs.f_bsize;
	}
	be->punchable = true;
}

static void inspect(struct reclaim *rc, struct qmp *q)
{
	char err[256], name[160];
	json_object *v, *devices, *memdevs, *objects;
	size_t nr_punch = 0;

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
	devices = list_devices(q);
	memdevs = qmp_exec(q, "query-memdev", NULL, err, sizeof(err));
	objects = qom_list(q, "/objects", err, sizeof(err));
	if (reclaim_classify(rc, memdevs, objects, devices, err, sizeof(err)))
		set_why(rc, "RAM layout: %s", err);
	else if (reclaim_pinning_device(devices, name, sizeof(name)))
		set_why(rc, "VFIO device %s pins guest memory: host reclaim refused "
			"(the guest still shrinks)", name);
	else
		for (size_t i = 0; i < rc->nr_backends; i++)
			if (!rc->backends[i].why[0])
				open_backend(rc, q, &rc->backends[i]);
	json_object_put(devices);
	json_object_put(memdevs);
	json_object_put(objects);
	if (!rc->nr_backends || rc->why[0])
		return;
	for (size_t i = 0; i < rc->nr_backends; i++) {
		const struct reclaim_backend *be = &rc->backends[i];

		if (!be->punchable)
			continue;
		if (!nr_punch || be->kind == RECLAIM_HUGETLBFS)
			rc->kind = be->kind;
		if (be->align > rc->align)
			rc->align = be->align;
		add_why(rc, "%s%s backend %s (%" PRIu64 " MiB)", nr_punch ? ", " : "",
			reclaim_kind_name(be->kind), be->id, be->size >> 20);
		nr_punch++;
	}
	rc->possible = nr_punch > 0;
	if (nr_punch)
		add_why(rc, " of QEMU pid %d, %zu RAM sections", rc->pid, rc->layout.nr);
	for (size_t i = 0; i < rc->nr_backends; i++)
		if (!rc->backends[i].punchable)
			add_why(rc, "%s%s%s", rc->why[0] ? "; " : "",
				nr_punch ? "skipped: " : "", rc->backends[i].why);
	if (rc->device_ram[0])
		add_why(rc, "; device memory, never punched: %s", rc->device_ram);
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
	for (size_t i = 0; i < rc->nr_backends; i++)
		if (rc->backends[i].fd >= 0)
			close(rc->backends[i].fd);
	free(rc);
}

struct reclaim_backend *reclaim_backend_of(struct reclaim *rc, uint64_t gpa, uint64_t len,
					   uint64_t *offset)
{
	const struct ram_section *s = find_section(&rc->layout, gpa, len);

	if (!s || s->backend < 0 || (size_t)s->backend >= rc->nr_backends)
		return NULL;
	*offset = s->offset + (gpa - s->gpa);
	return &rc->backends[s->backend];
}

int reclaim_punch(struct reclaim *rc, uint64_t gpa, uint64_t len)
{
	struct reclaim_backend *be;
	uint64_t off;

	if (!rc->possible)
		return -EOPNOTSUPP;
	be = reclaim_backend_of(rc, gpa, len, &off);
	if (!be)
		return -ERANGE;
	if (!be->punchable) {
		be->skipped_bytes += len;
		return 1;
	}
	if (off % be->align || len % be->align || off + len > be->size)
		return -EINVAL;
	if (fallocate(be->fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, (off_t)off,
		      (off_t)len) < 0) {
		be->punch_errors++;
		rc->punch_errors++;
		return -errno;
	}
	be->punched_bytes += len;
	rc->punched_bytes += len;
	return 0;
}

static bool backing_bytes(const struct reclaim_backend *be, uint64_t *bytes)
{
	struct stat st;

	if (be->fd < 0 || fstat(be->fd, &st))
		return false;
	*bytes = (uint64_t)st.st_blocks * 512;
	return true;
}

json_object *reclaim_backends_json(const struct reclaim *rc)
{
	json_object *a = json_object_new_array();

	for (size_t i = 0; rc && i < rc->nr_backends; i++) {
		const struct reclaim_backend *be = &rc->backends[i];
		json_object *o = json_object_new_object();
		uint64_t bytes;

		json_object_object_add(o, "id", json_object_new_string(be->id));
		json_object_object_add(o, "type", json_object_new_string(be->type));
		json_object_object_add(o, "kind", json_object_new_string(reclaim_kind_name(be->kind)));
		json_object_object_add(o, "share", json_object_new_boolean(be->share));
		json_object_object_add(o, "size_bytes", json_object_new_uint64(be->size));
		json_object_object_add(o, "punched", json_object_new_boolean(be->punchable));
		if (!be->punchable)
			json_object_object_add(o, "reason", json_object_new_string(be->why));
		json_object_object_add(o, "punched_bytes", json_object_new_uint64(be->punched_bytes));
		json_object_object_add(o, "skipped_bytes", json_object_new_uint64(be->skipped_bytes));
		if (backing_bytes(be, &bytes))
			json_object_object_add(o, "backing_allocated_bytes",
					       json_object_new_uint64(bytes));
		json_object_array_add(a, o);
	}
	return a;
}

void reclaim_measure(const struct reclaim *rc, struct reclaim_usage *u)
{
	char path[64], line[256];
	FILE *f;

	memset(u, 0, sizeof(*u));
	for (size_t i = 0; rc && i < rc->nr_backends; i++) {
		uint64_t bytes;

		if (rc->backends[i].punchable && backing_bytes(&rc->backends[i], &bytes)) {
			u->backing_bytes += bytes;
			u->valid = true;
		}
	}
	if (!u->valid)
		return;
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
