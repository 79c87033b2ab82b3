/* SPDX-License-Identifier: GPL-2.0-only */
/* The state store (atomic JSON files) and the pure REST parts (routing, request parsing). */
#include <stdbool.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "api.h"
#include "balloon.h"
#include "store.h"
#include "../../tap.h"

#define M (1ull << 20)

static struct vm_limits lim;

static void test_store(void)
{
	char dir[] = "/tmp/vcmad-store-XXXXXX";
	char path[256], err[256] = "";
	struct vcma_vm *a = vm_new("vm-1", "/x", &lim), *b = vm_new("vm-1", "/x", &lim);
	struct rsv_spec s = { .size = 64 * M, .align = 2 * M, .count = 3, .deadline_ms = 900,
			      .max_addr = 4096 * M, .label = "with \"quotes\"" };
	uint64_t first;
	struct stat st;
	FILE *f;

	ok(mkdtemp(dir) != NULL, "temp dir");
	ok(store_load(dir, a, err, sizeof(err)) == -ENOENT, "nothing stored yet");
	vm_reserve(a, &s, 0, &first);
	a->rsv[0].state = RSV_GRANTED;
	a->rsv[0].grant_id = 9;
	a->rsv[0].gpa = 1ull << 32;
	a->rsv[0].granted_size = 64 * M;
	a->rsv[1].state = RSV_FAILED;
	a->rsv[1].status = VCMA_E_NOSPC;
	a->rsv[1].cause = VCMA_CAUSE_NO_RANGE;
	snprintf(a->rsv[1].detail, sizeof(a->rsv[1].detail), "no range");
	a->rsv[2].state = RSV_RELEASING;
	memset(a->boot_id, 0xab, 16);
	a->balloon_target = 512 * M;
	ok(store_save(dir, a, true) == 0, "save with fsync");
	snprintf(path, sizeof(path), "%s/vm-vm-1.json.tmp", dir);
	ok(access(path, F_OK) < 0, "no temp file left behind");
	snprintf(path, sizeof(path), "%s/vm-vm-1.json", dir);
	ok(stat(path, &st) == 0 && (st.st_mode & 0777) == 0600, "state file mode 0600");
	ok(store_load(dir, b, err, sizeof(err)) == 0, "load (%s)", err);
	ok(b->nr_rsv == 3 && b->next_id == 4 && b->balloon_target == 512 * M &&
	   !memcmp(b->boot_id, a->boot_id, 16), "VM fields round-trip");
	bool same = true;

	for (size_t i = 0; i < 3; i++) {
		const struct rsv *x = &a->rsv[i], *y = &b->rsv[i];

		same &= x->id == y->id && x->size == y->size && x->align == y->align &&
			x->max_addr == y->max_addr && y->max_addr == 4096 * M &&
			x->deadline_ms == y->deadline_ms && !strcmp(x->label, y->label) &&
			x->state == y->state && x->grant_id == y->grant_id && x->gpa == y->gpa &&
			x->granted_size == y->granted_size && x->status == y->status &&
			x->cause == y->cause && !strcmp(x->detail, y->detail);
	}
	ok(same, "reservations round-trip");

	/* the balloon's chunk set: every chunk, and which are not punched yet */
	{
		static const uint64_t chunks[] = { 2 * M, 6 * M, 1ull << 32 };
		struct vm_balloon *ab = a->bal;

		ab->chunks = realloc(ab->chunks, sizeof(chunks));
		memcpy(ab->chunks, chunks, sizeof(chunks));
		ab->nr_chunks = ab->cap_chunks = 3;
		ab->unpunched = realloc(ab->unpunched, sizeof(uint64_t));
		ab->unpunched[0] = 6 * M;
		ab->nr_unpunched = ab->cap_unpunched = 1;
		ok(store_save(dir, a, false) == 0 && store_load(dir, b, err, sizeof(err)) == 0 &&
		   b->bal->nr_chunks == 3 && !memcmp(b->bal->chunks, chunks, sizeof(chunks)) &&
		   b->bal->nr_unpunched == 1 && b->bal->unpunched[0] == 6 * M,
		   "balloon chunk set round-trips (%s)", err);
	}
	/* a file of format 1 has no chunk set: it loads with none known */
	f = fopen(path, "w");
	fputs("{\"format\": 1, \"next_id\": 2, \"reservations\": []}", f);
	fclose(f);
	ok(store_load(dir, b, err, sizeof(err)) == 0 && b->bal->nr_chunks == 0 &&
	   b->bal->nr_unpunched == 0, "format 1 file: no chunks (%s)", err);

	/* one vcmad per state directory */
	{
		char lerr[256] = "";
		int fd = store_lock(dir, lerr, sizeof(lerr));
		int again = store_lock(dir, lerr, sizeof(lerr));

		/* flock locks belong to the open file: a second open is refused like a second process */
		ok(fd >= 0 && again == -EBUSY && strstr(lerr, "in use by another vcmad"),
		   "the state directory lock refuses a second holder: %s", lerr);
		close(fd);
		again = store_lock(dir, lerr, sizeof(lerr));
		ok(again >= 0, "and is free once the holder closed it");
		close(again);
		snprintf(lerr, sizeof(lerr), "%s/.vcmad.lock", dir);
		unlink(lerr);
	}

	/* files by UUID; a name-keyed file of an older vcmad is renamed */
	{
		struct vcma_vm *u = vm_new("vm-1", "/x", &lim);
		char upath[300], aside[4200];

		snprintf(u->uuid, sizeof(u->uuid), "%s", "6f1a4d3e-0c8b-4d2a-9a51-2f7d1c0e9b11");
		ok(store_save(dir, a, false) == 0 && store_adopt_legacy(dir, u) == 1 &&
		   access(path, F_OK) < 0, "vm-NAME.json renamed to vm-UUID.json");
		snprintf(upath, sizeof(upath), "%s/vm-%s.json", dir, u->uuid);
		ok(store_load(dir, u, err, sizeof(err)) == 0 && u->nr_rsv == 3,
		   "and loads under the UUID (%s)", err);
		ok(store_save(dir, a, false) == 0 && store_adopt_legacy(dir, u) == 0 &&
		   access(path, F_OK) == 0, "an existing vm-UUID.json is never overwritten");
		unlink(path);
		ok(!store_set_aside_exists(dir, u->uuid, aside, sizeof(aside)) &&
		   store_set_aside(dir, u, aside, sizeof(aside)) == 0 && access(upath, F_OK) < 0 &&
		   access(aside, F_OK) == 0 && strstr(aside, ".corrupt-") &&
		   store_set_aside_exists(dir, u->uuid, upath, sizeof(upath)),
		   "set aside as %s", aside);
		unlink(aside);
		ok(store_save(dir, u, false) == 0 && store_remove(dir, u->uuid) == 1 &&
		   store_remove(dir, u->uuid) == 0, "remove: 1, then 0 (nothing left)");
		vm_free(u);
	}

	static const char *const bad[] = {
		"{",
		"[]",
		"{\"reservations\": 5}",
		"{\"next_id\": 0, \"reservations\": []}",
		"{\"next_id\": -4, \"reservations\": []}",
		"{\"boot_id\": \"zz\", \"reservations\": []}",
		"{\"next_id\": 5, \"reservations\": [{\"id\": 1, \"size\": 1000}]}",
		"{\"next_id\": 5, \"reservations\": [{\"id\": 1, \"size\": 4096, \"state\": \"odd\"}]}",
		"{\"next_id\": 5, \"reservations\": [{\"id\": 9, \"size\": 4096}]}",
		"{\"next_id\": 5, \"reservations\": [{\"id\": 2, \"size\": 4096}, {\"id\": 2, \"size\": 4096}]}",
		"{\"next_id\": 5, \"reservations\": [{\"id\": 1, \"size\": 4096, \"align\": 3}]}",
		"{\"next_id\": 5, \"reservations\": [{\"id\": 1, \"size\": \"4096\"}]}",
		/* the balloon's chunk set, hand-edited or torn */
		"{\"reservations\": [], \"balloon\": 5}",
		"{\"reservations\": [], \"balloon\": {\"chunks\": []}}",
		"{\"reservations\": [], \"balloon\": {\"chunk_order\": 40, \"chunks\": [], \"unpunched\": []}}",
		"{\"reservations\": [], \"balloon\": {\"chunk_order\": 9, \"chunks\": [4096], \"unpunched\": []}}",
		"{\"reservations\": [], \"balloon\": {\"chunk_order\": 9, \"chunks\": [4194304, 2097152], \"unpunched\": []}}",
		"{\"reservations\": [], \"balloon\": {\"chunk_order\": 9, \"chunks\": [2097152, 2097152], \"unpunched\": []}}",
		"{\"reservations\": [], \"balloon\": {\"chunk_order\": 9, \"chunks\": [-2097152], \"unpunched\": []}}",
		"{\"reservations\": [], \"balloon\": {\"chunk_order\": 9, \"chunks\": [\"0x200000\"], \"unpunched\": []}}",
		"{\"reservations\": [], \"balloon\": {\"chunk_order\": 9, \"chunks\": [2097152], \"unpunched\": [4194304]}}",
		"{\"reservations\": [], \"balloon\": {\"chunk_order\": 9, \"chunks\": [18446744073707454464], \"unpunched\": []}}",
		"{\"reservations\": [], \"balloon\": {\"chunk_order\": 9, \"chunks\": [2097152]}}",
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		f = fopen(path, "w");
		fputs(bad[i], f);
		fclose(f);
		err[0] = 0;
		ok(store_load(dir, b, err, sizeof(err)) == -EINVAL && err[0],
		   "bad state file %zu refused: %s", i, err);
	}
	unlink(path);
	rmdir(dir);
	ok(store_save("/nonexistent-dir/x", a, false) < 0, "save into a missing dir fails");
	vm_free(a);
	vm_free(b);
}

static void test_route(void)
{
	static const struct { const char *path; enum api_route_kind kind; const char *vm; uint64_t id; } c[] = {
		{ "/v1/vms", API_VMS, "", 0 },
		{ "/v1/vms/", API_VMS, "", 0 },
		{ "/v1/vms/web-1", API_VM, "web-1", 0 },
		{ "/v1/vms/web-1/reservations", API_RSVS, "web-1", 0 },
		{ "/v1/vms/web-1/reservations/42", API_RSV, "web-1", 42 },
		{ "/v1/vms/web-1/balloon", API_BALLOON, "web-1", 0 },
		{ "/v1/host", API_HOST, "", 0 },
		{ "/metrics", API_METRICS, "", 0 },
		{ "/v1/vms/web-1/reservations/0", API_NOT_FOUND, "", 0 },
		{ "/v1/vms/web-1/reservations/-1", API_NOT_FOUND, "", 0 },
		{ "/v1/vms/web-1/reservations/99999999999999999999999", API_NOT_FOUND, "", 0 },
		{ "/v1/vms/web-1/reservations/1/x", API_NOT_FOUND, "", 0 },
		{ "/v1/vms/../etc", API_NOT_FOUND, "", 0 },
		{ "/v1/vms/a%2fb", API_NOT_FOUND, "", 0 },
		{ "/v2/vms", API_NOT_FOUND, "", 0 },
		{ "//v1/vms", API_NOT_FOUND, "", 0 },
		{ "", API_NOT_FOUND, "", 0 },
		{ "/", API_NOT_FOUND, "", 0 },
		{ "/v1/vms/aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa",
		  API_NOT_FOUND, "", 0 },
	};
	for (size_t i = 0; i < sizeof(c) / sizeof(c[0]); i++) {
		struct api_route r;

		api_route(c[i].path, &r);
		ok(r.kind == c[i].kind && !strcmp(r.vm, c[i].vm) && r.id == c[i].id,
		   "route \"%s\"", c[i].path);
	}
}

static void test_parse(void)
{
	struct rsv_spec s;
	char err[256];
	const char *body = "{\"size\": \"64M\", \"align\": 2097152, \"count\": 4, "
			   "\"label\": \"gpu\", \"deadline_ms\": 5000}";

	ok(api_parse_reserve(body, strlen(body), &s, err, sizeof(err)) == 0 && s.size == 64 * M &&
	   s.align == 2 * M && s.count == 4 && !strcmp(s.label, "gpu") && s.deadline_ms == 5000,
	   "full request parsed");
	body = "{\"size\": 8388608}\n";
	ok(api_parse_reserve(body, strlen(body), &s, err, sizeof(err)) == 0 && s.size == 8 * M &&
	   s.count == 1 && s.align == 0 && s.label[0] == 0 && s.max_addr == 0, "defaults");
	body = "{\"size\": \"16M\", \"max_addr\": \"256M\"}";
	ok(api_parse_reserve(body, strlen(body), &s, err, sizeof(err)) == 0 &&
	   s.max_addr == 256 * M, "max_addr as a size string");
	body = "{\"max_addr\": 4294967296, \"size\": 16777216}";
	ok(api_parse_reserve(body, strlen(body), &s, err, sizeof(err)) == 0 &&
	   s.max_addr == 4096 * M, "max_addr in bytes, before the size");
	body = "{\"size\": \"16M\", \"max_addr\": \"16M\"}";
	ok(api_parse_reserve(body, strlen(body), &s, err, sizeof(err)) == 0 &&
	   s.max_addr == 16 * M, "max_addr equal to the size");
	{
		struct vcma_vm *vm = vm_new("lim", "/x", &lim);
		struct rsv_spec bad = { .size = 16 * M, .count = 1, .max_addr = 8 * M };
		uint64_t id;

		ok(vm_reserve(vm, &bad, 0, &id) == -EINVAL && vm->nr_rsv == 0,
		   "vm_reserve refuses a limit below the size");
		bad.max_addr = 256 * M + 512;
		ok(vm_reserve(vm, &bad, 0, &id) == -EINVAL && vm->nr_rsv == 0,
		   "vm_reserve refuses an unaligned limit");
		vm_free(vm);
	}
	static const char *const bad[] = {
		"", "{}", "null", "\"64M\"", "{\"size\": \"64M\"} x", "{\"size\": -4096}",
		"{\"size\": 4097}", "{\"size\": 0}", "{\"size\": true}", "{\"size\": 4096.0}",
		"{\"size\": \"4096\", \"align\": \"3K\"}", "{\"size\": 4096, \"align\": 2048}",
		"{\"size\": 4096, \"count\": \"2\"}", "{\"size\": 4096, \"count\": 257}",
		"{\"size\": 4096, \"deadline_ms\": -1}", "{\"size\": 4096, \"label\": 5}",
		"{\"size\": 4096, \"label\": \"tab\\there\"}", "{\"size\": 4096, \"extra\": 1}",
		"{\"size\": \"1000000000T\"}", "{\"size\": \"16M\", \"max_addr\": \"8M\"}",
		"{\"size\": \"16M\", \"max_addr\": 268435457}", "{\"size\": \"16M\", \"max_addr\": 0}",
		"{\"size\": \"16M\", \"max_addr\": -4096}", "{\"size\": \"16M\", \"max_addr\": \"4Q\"}",
		"{\"size\": \"16M\", \"max_addr\": true}", "{\"size\": \"16M\", \"max_addr\": \"1000000000T\"}",
		"{\"a\":{\"b\":{\"c\":{\"d\":{\"e\":{\"f\":{\"g\":{\"h\":{}}}}}}}}}",
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		err[0] = 0;
		ok(api_parse_reserve(bad[i], strlen(bad[i]), &s, err, sizeof(err)) < 0 && err[0],
		   "refused: %s -> %s", bad[i], err);
	}
}

/* The registry API a VM source (libvirt connector) uses. */
static void test_registry(void)
{
	struct vcma_vm *vm = vm_new("r", "/x", &lim);
	struct rsv_spec s = { .size = 4 * M, .count = 2, .label = "a" };
	struct vcma_desired d;
	struct vcma_desired_rsv want[3];
	struct vcma_vm_info info;
	uint64_t first;

	vm_reserve(vm, &s, 0, &first);
	vm->rsv[0].state = RSV_GRANTED;
	vm->rsv[0].granted_size = 4 * M;
	ok(vcma_vm_get_desired(vm, &d) == 0 && d.nr_rsv == 2 && d.rsv[1].id == 2 &&
	   d.rsv[1].size == 4 * M && !strcmp(d.rsv[1].label, "a"), "get_desired copies");
	vcma_desired_clear(&d);
	vcma_vm_get_info(vm, &info);
	ok(info.nr_granted == 1 && info.nr_pending == 1 && info.grant_bytes == 4 * M, "info");

	memset(want, 0, sizeof(want));
	want[0] = (struct vcma_desired_rsv){ .id = 1, .size = 4 * M };
	want[1] = (struct vcma_desired_rsv){ .id = 0, .size = 8 * M, .label = "new" };
	d = (struct vcma_desired){ .balloon_target = 64 * M, .nr_rsv = 2, .rsv = want };
	vm->desired_changed = false;
	ok(vcma_vm_set_desired(vm, &d) == 0, "set_desired");
	ok(vm->nr_rsv == 2 && vm->rsv[0].id == 1 && vm->rsv[1].id == 3 &&
	   vm->rsv[1].size == 8 * M && !strcmp(vm->rsv[1].label, "new"),
	   "kept 1, dropped 2 (never sent), added 3");
	ok(vm->balloon_target == 64 * M && !vm->desired_changed && vm->dirty,
	   "balloon target stored, no echo to the source, persisted");
	want[1].id = 2;		/* an id below next_id we no longer have */
	ok(vcma_vm_set_desired(vm, &d) == 0 && vm->nr_rsv == 2 && vm->rsv[0].id == 1 &&
	   vm->rsv[1].id == 2 && vm->next_id == 4, "a known-to-the-source id is taken back, in order");
	ok(vcma_vm_set_desired(vm, &d) == 0 && vm->nr_rsv == 2, "applying the same state is a no-op");
	want[0].size = 1000;
	ok(vcma_vm_set_desired(vm, &d) == -EINVAL, "bad size refused");
	ok(vcma_vm_set_balloon_target(vm, 4097) == -EINVAL, "balloon target must be page-aligned");
	vm_free(vm);
}

int main(void)
{
	vm_limits_default(&lim);
	test_store();
	test_registry();
	test_route();
	test_parse();
	return tap_done();
}
