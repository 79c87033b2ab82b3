/* SPDX-License-Identifier: GPL-2.0-only */
#include "store.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "balloon.h"
#include "vcma_size.h"

/* 2: the balloon's chunk set. Format 1 files load (no chunks known). */
#define STORE_FORMAT 2
#define LOCK_NAME ".vcmad.lock"

int store_init(const char *dir)
{
	if (mkdir(dir, 0700) < 0 && errno != EEXIST)
		return -errno;
	return 0;
}

int store_lock(const char *dir, char *err, size_t errlen)
{
	char path[4200], pid[32] = "";
	int fd, n;

	snprintf(path, sizeof(path), "%s/%s", dir, LOCK_NAME);
	fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
	if (fd < 0) {
		snprintf(err, errlen, "cannot open %s: %s", path, strerror(errno));
		return -errno;
	}
	if (flock(fd, LOCK_EX | LOCK_NB) < 0) {
		int e = errno;

		n = (int)pread(fd, pid, sizeof(pid) - 1, 0);
		pid[n > 0 ? n : 0] = 0;
		pid[strcspn(pid, "\n")] = 0;
		if (e == EWOULDBLOCK)
			snprintf(err, errlen, "%s is in use by another vcmad (pid %s); one vcmad "
				 "per state directory", dir, *pid ? pid : "unknown");
		else
			snprintf(err, errlen, "cannot lock %s: %s", path, strerror(e));
		close(fd);
		return e == EWOULDBLOCK ? -EBUSY : -e;
	}
	/* the pid is for the message above only; the lock is the flock */
	n = snprintf(pid, sizeof(pid), "%d\n", (int)getpid());
	if (ftruncate(fd, 0) < 0 || pwrite(fd, pid, (size_t)n, 0) != n)
		(void)0;	/* a missing pid only makes a second vcmad's message vaguer */
	return fd;
}

const char *store_key(const struct vcma_vm *vm)
{
	return vm->uuid[0] ? vm->uuid : vm->name;
}

static void path_of(char *buf, size_t len, const char *dir, const char *key, const char *sfx)
{
	snprintf(buf, len, "%s/vm-%s.json%s", dir, key, sfx);
}

int store_adopt_legacy(const char *dir, const struct vcma_vm *vm)
{
	char from[4200], to[4200];

	if (!vm->uuid[0])
		return 0;
	path_of(from, sizeof(from), dir, vm->name, "");
	path_of(to, sizeof(to), dir, vm->uuid, "");
	if (access(to, F_OK) == 0 || access(from, F_OK) < 0)
		return 0;
	if (rename(from, to) < 0)
		return -errno;
	return 1;
}

int store_set_aside(const char *dir, const struct vcma_vm *vm, char *out, size_t outlen)
{
	char path[4200], sfx[64];
	struct tm tm;
	time_t now = time(NULL);

	gmtime_r(&now, &tm);
	strftime(sfx, sizeof(sfx), ".corrupt-%Y%m%dT%H%M%SZ", &tm);
	path_of(path, sizeof(path), dir, store_key(vm), "");
	path_of(out, outlen, dir, store_key(vm), sfx);
	/* never overwrite an earlier copy set aside in the same second */
	for (int i = 1; access(out, F_OK) == 0 && i < 100; i++) {
		char more[80];

		snprintf(more, sizeof(more), "%s.%d", sfx, i);
		path_of(out, outlen, dir, store_key(vm), more);
	}
	return rename(path, out) < 0 ? -errno : 0;
}

bool store_set_aside_exists(const char *dir, const char *key, char *out, size_t outlen)
{
	char prefix[256];
	struct dirent *e;
	bool found = false;
	DIR *dh = opendir(dir);

	if (!dh)
		return false;
	snprintf(prefix, sizeof(prefix), "vm-%s.json.corrupt-", key);
	while (!found && (e = readdir(dh))) {
		if (strncmp(e->d_name, prefix, strlen(prefix)))
			continue;
		snprintf(out, outlen, "%s/%s", dir, e->d_name);
		found = true;
	}
	closedir(dh);
	return found;
}

int store_remove(const char *dir, const char *key)
{
	char path[4200];

	path_of(path, sizeof(path), dir, key, "");
	if (unlink(path) < 0)
		return errno == ENOENT ? 0 : -errno;
	return 1;
}

static json_object *u64_array(const uint64_t *v, size_t n)
{
	json_object *a = json_object_new_array_ext((int)n);

	for (size_t i = 0; i < n; i++)
		json_object_array_add(a, json_object_new_uint64(v[i]));
	return a;
}

static json_object *balloon_to_json(const struct vm_balloon *b)
{
	json_object *o = json_object_new_object();

	json_object_object_add(o, "chunk_order", json_object_new_int(b->chunk_order));
	json_object_object_add(o, "chunks", u64_array(b->chunks, b->nr_chunks));
	json_object_object_add(o, "unpunched", u64_array(b->unpunched, b->nr_unpunched));
	return o;
}

json_object *store_to_json(const struct vcma_vm *vm)
{
	json_object *o = json_object_new_object();
	json_object *arr = json_object_new_array();
	char hex[33];

	boot_id_hex(vm->boot_id, hex);
	json_object_object_add(o, "format", json_object_new_int(STORE_FORMAT));
	json_object_object_add(o, "vm", json_object_new_string(vm->name));
	json_object_object_add(o, "next_id", json_object_new_uint64(vm->next_id));
	json_object_object_add(o, "boot_id", json_object_new_string(hex));
	json_object_object_add(o, "balloon_target", json_object_new_uint64(vm->balloon_target));
	for (size_t i = 0; i < vm->nr_rsv; i++) {
		const struct rsv *r = &vm->rsv[i];
		json_object *e = json_object_new_object();

		json_object_object_add(e, "id", json_object_new_uint64(r->id));
		json_object_object_add(e, "size", json_object_new_uint64(r->size));
		json_object_object_add(e, "align", json_object_new_uint64(r->align));
		if (r->max_addr)
			json_object_object_add(e, "max_addr", json_object_new_uint64(r->max_addr));
		json_object_object_add(e, "deadline_ms", json_object_new_uint64(r->deadline_ms));
		json_object_object_add(e, "label", json_object_new_string(r->label));
		json_object_object_add(e, "state", json_object_new_string(rsv_state_name(r->state)));
		json_object_object_add(e, "status", json_object_new_int((int)r->status));
		json_object_object_add(e, "cause", json_object_new_int((int)r->cause));
		json_object_object_add(e, "detail", json_object_new_string(r->detail));
		json_object_object_add(e, "grant_id", json_object_new_uint64(r->grant_id));
		json_object_object_add(e, "gpa", json_object_new_uint64(r->gpa));
		json_object_object_add(e, "granted_size", json_object_new_uint64(r->granted_size));
		json_object_object_add(e, "created", json_object_new_int64(r->created));
		json_object_object_add(e, "attempts", json_object_new_uint64(r->attempts));
		json_object_array_add(arr, e);
	}
	json_object_object_add(o, "reservations", arr);
	if (vm->bal)
		json_object_object_add(o, "balloon", balloon_to_json(vm->bal));
	return o;
}

/* Typed field access that rejects what a hand-edited file may get wrong. */
static int get_u64(json_object *o, const char *key, uint64_t *out, bool required)
{
	json_object *v;

	if (!json_object_object_get_ex(o, key, &v))
		return required ? -ENOENT : 0;
	if (!json_object_is_type(v, json_type_int))
		return -EINVAL;
	if (json_object_get_int64(v) < 0)
		return -EINVAL;
	*out = json_object_get_uint64(v);
	return 0;
}

static int get_str(json_object *o, const char *key, char *out, size_t len)
{
	json_object *v;
	const char *s;

	if (!json_object_object_get_ex(o, key, &v))
		return 0;
	if (!json_object_is_type(v, json_type_string))
		return -EINVAL;
	s = json_object_get_string(v);
	if (strlen(s) >= len)
		return -EINVAL;
	snprintf(out, len, "%s", s);
	return 0;
}

static int rsv_from_json(struct rsv *r, json_object *e)
{
	uint64_t v;
	char state[16] = "pending";
	int st;

	if (!json_object_is_type(e, json_type_object))
		return -EINVAL;
	if (get_u64(e, "id", &r->id, true) || !r->id ||
	    get_u64(e, "size", &r->size, true) || !r->size || r->size % 4096 ||
	    get_u64(e, "align", &r->align, false) || (r->align && !vcma_size_is_pow2(r->align)) ||
	    get_u64(e, "max_addr", &r->max_addr, false) || !vm_limit_valid(r->size, r->max_addr) ||
	    get_u64(e, "grant_id", &r->grant_id, false) ||
	    get_u64(e, "gpa", &r->gpa, false) ||
	    get_u64(e, "granted_size", &r->granted_size, false) ||
	    get_str(e, "label", r->label, sizeof(r->label)) ||
	    get_str(e, "detail", r->detail, sizeof(r->detail)) ||
	    get_str(e, "state", state, sizeof(state)))
		return -EINVAL;
	st = rsv_state_parse(state);
	if (st < 0)
		return -EINVAL;
	r->state = (enum rsv_state)st;
	v = 0;
	if (get_u64(e, "deadline_ms", &v, false) || v > UINT32_MAX)
		return -EINVAL;
	r->deadline_ms = (uint32_t)v;
	v = 0;
	if (get_u64(e, "status", &v, false) || v > VCMA_STATUS_MAX)
		return -EINVAL;
	r->status = (uint32_t)v;
	v = 0;
	if (get_u64(e, "cause", &v, false) || v > VCMA_CAUSE_MAX)
		return -EINVAL;
	r->cause = (uint32_t)v;
	v = 0;
	if (get_u64(e, "created", &v, false))
		return -EINVAL;
	r->created = (int64_t)v;
	v = 0;
	if (get_u64(e, "attempts", &v, false) || v > UINT32_MAX)
		return -EINVAL;
	r->attempts = (uint32_t)v;
	return 0;
}

/* A sorted list of distinct chunk GPAs, each aligned to chunk bytes; NULL on error. */
static uint64_t *chunks_from_json(json_object *a, uint64_t chunk, uint64_t max_n, size_t *n)
{
	uint64_t *v;

	if (!a || !json_object_is_type(a, json_type_array))
		return NULL;
	*n = json_object_array_length(a);
	if (*n > max_n)
		return NULL;
	v = malloc((*n ? *n : 1) * sizeof(*v));
	if (!v)
		return NULL;
	for (size_t i = 0; i < *n; i++) {
		json_object *e = json_object_array_get_idx(a, i);

		if (!json_object_is_type(e, json_type_int) || json_object_get_int64(e) < 0)
			goto bad;
		v[i] = json_object_get_uint64(e);
		if (v[i] % chunk || v[i] + chunk < v[i] || (i && v[i] <= v[i - 1]))
			goto bad;
	}
	return v;
bad:
	free(v);
	return NULL;
}

static bool subset(const uint64_t *a, size_t na, const uint64_t *b, size_t nb)
{
	size_t j = 0;

	for (size_t i = 0; i < na; i++) {
		while (j < nb && b[j] < a[i])
			j++;
		if (j == nb || b[j] != a[i])
			return false;
	}
	return true;
}

static int balloon_from_json(struct vcma_vm *vm, json_object *o, char *err, size_t errlen)
{
	struct vm_balloon *b = vm->bal;
	json_object *v, *a, *u;
	uint64_t *chunks = NULL, *unp = NULL, chunk, max_n;
	size_t n = 0, nu = 0;
	int order;

	if (!json_object_object_get_ex(o, "balloon", &v)) {
		if (b)
			b->nr_chunks = b->nr_unpunched = 0;
		return 0;
	}
	if (!json_object_is_type(v, json_type_object) ||
	    !json_object_object_get_ex(v, "chunk_order", &a) ||
	    !json_object_is_type(a, json_type_int)) {
		snprintf(err, errlen, "balloon: not an object with a chunk_order");
		return -EINVAL;
	}
	order = json_object_get_int(a);
	if (order < 0 || order > 18) {
		snprintf(err, errlen, "balloon: chunk_order %d out of range", order);
		return -EINVAL;
	}
	chunk = 4096ull << order;
	max_n = vm->lim->max_guest_mem / chunk;
	json_object_object_get_ex(v, "chunks", &a);
	json_object_object_get_ex(v, "unpunched", &u);
	chunks = chunks_from_json(a, chunk, max_n, &n);
	unp = chunks ? chunks_from_json(u, chunk, max_n, &nu) : NULL;
	if (!chunks || !unp || !subset(unp, nu, chunks, n)) {
		snprintf(err, errlen, "balloon: chunks or unpunched are not sorted, distinct, "
			 "%llu KiB aligned lists of at most %llu chunks (unpunched within chunks)",
			 (unsigned long long)(chunk >> 10), (unsigned long long)max_n);
		free(chunks);
		free(unp);
		return -EINVAL;
	}
	if (!b || order != b->chunk_order) {
		/* another chunk size than this build balloons with: no chunk is known */
		free(chunks);
		free(unp);
		return 0;
	}
	free(b->chunks);
	free(b->unpunched);
	b->chunks = chunks;
	b->nr_chunks = b->cap_chunks = n;
	b->unpunched = unp;
	b->nr_unpunched = b->cap_unpunched = nu;
	b->from_store = true;
	return 0;
}

int store_from_json(struct vcma_vm *vm, json_object *o, char *err, size_t errlen)
{
	json_object *arr;
	uint64_t next_id = 1, balloon = 0;
	char hex[40] = "";
	uint8_t boot_id[16] = { 0 };
	size_t n;

	if (!json_object_is_type(o, json_type_object)) {
		snprintf(err, errlen, "not a JSON object");
		return -EINVAL;
	}
	if (get_u64(o, "next_id", &next_id, false) || !next_id ||
	    get_u64(o, "balloon_target", &balloon, false) ||
	    get_str(o, "boot_id", hex, sizeof(hex)) || (*hex && boot_id_parse(hex, boot_id))) {
		snprintf(err, errlen, "bad next_id, balloon_target or boot_id");
		return -EINVAL;
	}
	if (!json_object_object_get_ex(o, "reservations", &arr) ||
	    !json_object_is_type(arr, json_type_array)) {
		snprintf(err, errlen, "no reservations array");
		return -EINVAL;
	}
	n = json_object_array_length(arr);
	if (n > vm->lim->max_reservations) {
		snprintf(err, errlen, "%zu reservations, more than the limit %u", n,
			 vm->lim->max_reservations);
		return -EINVAL;
	}
	vm->nr_rsv = 0;
	for (size_t i = 0; i < n; i++) {
		struct rsv *r = vm_add_rsv(vm);

		if (!r) {
			snprintf(err, errlen, "out of memory");
			return -ENOMEM;
		}
		if (rsv_from_json(r, json_object_array_get_idx(arr, i)) ||
		    (i && r->id <= vm->rsv[vm->nr_rsv - 2].id) || r->id >= next_id) {
			snprintf(err, errlen, "reservation #%zu is invalid", i);
			vm->nr_rsv = 0;
			return -EINVAL;
		}
	}
	if (balloon_from_json(vm, o, err, errlen)) {
		vm->nr_rsv = 0;
		return -EINVAL;
	}
	vm->next_id = next_id;
	vm->balloon_target = balloon;
	memcpy(vm->boot_id, boot_id, sizeof(boot_id));
	return 0;
}

int store_load(const char *dir, struct vcma_vm *vm, char *err, size_t errlen)
{
	char path[4200];
	json_object *o;
	int rc;

	path_of(path, sizeof(path), dir, store_key(vm), "");
	if (access(path, F_OK) < 0)
		return -ENOENT;
	o = json_object_from_file(path);
	if (!o) {
		snprintf(err, errlen, "%s: %s", path, json_util_get_last_err());
		return -EINVAL;
	}
	rc = store_from_json(vm, o, err, errlen);
	json_object_put(o);
	return rc;
}

static int write_all(int fd, const char *p, size_t n)
{
	while (n) {
		ssize_t w = write(fd, p, n);

		if (w < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		p += w;
		n -= (size_t)w;
	}
	return 0;
}

int store_save(const char *dir, const struct vcma_vm *vm, bool do_fsync)
{
	char path[4200], tmp[4200];
	json_object *o = store_to_json(vm);
	const char *text = json_object_to_json_string_ext(o, JSON_C_TO_STRING_PRETTY);
	int fd, rc;

	path_of(path, sizeof(path), dir, store_key(vm), "");
	path_of(tmp, sizeof(tmp), dir, store_key(vm), ".tmp");
	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd < 0) {
		rc = -errno;
		goto out;
	}
	rc = write_all(fd, text, strlen(text));
	if (!rc)
		rc = write_all(fd, "\n", 1);
	if (!rc && do_fsync && fsync(fd) < 0)
		rc = -errno;
	if (close(fd) < 0 && !rc)
		rc = -errno;
	if (!rc && rename(tmp, path) < 0)
		rc = -errno;
	if (rc) {
		unlink(tmp);
		goto out;
	}
	if (do_fsync) {
		/* the rename itself is only durable once the directory is */
		int dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);

		if (dfd >= 0) {
			if (fsync(dfd) < 0)
				rc = -errno;
			close(dfd);
		}
	}
out:
	json_object_put(o);
	return rc;
}
