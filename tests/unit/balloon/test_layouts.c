// SPDX-License-Identifier: GPL-2.0-only
/*
 * Guest RAM told from device memory in QEMU layouts recorded from the real
 * QEMU 7.2 here (qemu-layouts/KIND/: "info mtree -f", query-memdev, qom-list
 * /objects and the devices' memdev links, written by
 * tests/integration/balloon/qemu_layout.py --record after the firmware mapped
 * the BARs): std VGA, QXL, virtio-vga, virtio-gpu, USB controllers, OVMF
 * pflash, 1 and 2 NUMA nodes (share=on and off mixed, two memfds of one size,
 * or a hugetlbfs node beside a tmpfs one), QEMU's default anonymous RAM and
 * an ivshmem device holding a memory backend. Only sections of memory backend objects are chunk candidates;
 * every device RAM section in the view is refused by the chunk map.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <json-c/json.h>

#include "reclaim.h"

#define M (1ull << 20)
#define G (1ull << 30)

static const char *fixtures;

struct probe {
	uint64_t gpa;
	const char *backend;	/* NULL: no chunk here */
	uint64_t offset;
};

struct want {
	const char *kind;
	const char *backends[3];	/* in the order of their first section */
	const char *skipped[3];		/* reason words per backend, NULL = left to open */
	const char *device_ram;		/* must be named, "" = none */
	uint64_t ram;
	struct probe probes[4];
};

static const struct want wants[] = {
	{ "vga", { "ram0" }, { NULL }, "vga.vram", 1 * G,
	  { { 0x20000000, "ram0", 0x20000000 }, { 0xfd000000, NULL, 0 } } },
	{ "qxl", { "ram0" }, { NULL }, "vga.vram, qxl.vram", 1 * G,
	  { { 0xf4000000, NULL, 0 }, { 0xf8000000, NULL, 0 }, { 0x3fe00000, "ram0", 0x3fe00000 } } },
	{ "virtio-vga", { "ram0" }, { NULL }, "vga.vram", 1 * G,
	  { { 0xfe000000, NULL, 0 } } },
	{ "virtio-gpu", { "ram0" }, { NULL }, "", 1 * G, { { 0x100000, "ram0", 0x100000 } } },
	{ "usb", { "ram0" }, { NULL }, "", 1 * G, { { 0x200000, "ram0", 0x200000 } } },
	/* OVMF's pflash is romd, never a RAM section; firmware ROM shadows neither */
	{ "ovmf", { "ram0" }, { NULL }, "", 1 * G,
	  { { 0xffe00000, NULL, 0 }, { 0xc0000, NULL, 0 } } },
	{ "numa1", { "node0" }, { NULL }, "vga.vram", 1 * G, { { 0xfd000000, NULL, 0 } } },
	{ "numa2", { "node0", "node1" }, { NULL, "share=off" }, "vga.vram", 4 * G,
	  { { 0x5fe00000, "node0", 0x5fe00000 }, { 0x60000000, "node1", 0 },
	    { 4 * G, "node1", 0x20000000 }, { 0xfd000000, NULL, 0 } } },
	{ "numa2-equal", { "node0", "node1" }, { NULL, NULL }, "vga.vram", 1 * G,
	  { { 0x20000000, "node1", 0 }, { 0x1fe00000, "node0", 0x1fe00000 } } },
	{ "numa2-hugetlb", { "node0", "node1" }, { NULL, NULL }, "vga.vram", 512 * M,
	  { { 0x10000000, "node1", 0 }, { 0xfe00000, "node0", 0xfe00000 } } },
	{ "default-ram", { "pc.ram" }, { "anonymous memory" }, "vga.vram", 512 * M,
	  { { 0xfd000000, NULL, 0 } } },
	{ "ivshmem", { "ram0" }, { NULL }, "shm0 (memdev of ivshmem-plain)", 512 * M,
	  { { 0xfd000000, NULL, 0 } } },
};

static char *slurp(const char *kind, const char *name)
{
	char path[512];
	FILE *f;
	char *buf;
	long n;

	snprintf(path, sizeof(path), "%s/%s/%s", fixtures, kind, name);
	f = fopen(path, "r");
	if (!f)
		fail_msg("fixture %s missing", path);
	fseek(f, 0, SEEK_END);
	n = ftell(f);
	rewind(f);
	buf = calloc(1, (size_t)n + 1);
	assert_non_null(buf);
	assert_int_equal(fread(buf, 1, (size_t)n, f), (size_t)n);
	fclose(f);
	return buf;
}

static json_object *load_json(const char *kind, const char *name)
{
	char *text = slurp(kind, name);
	json_object *o = json_tokener_parse(text);

	free(text);
	assert_non_null(o);
	return o;
}

/* Every RAM section of the full view whose region is a device's: refused by the map. */
static void check_device_sections(struct reclaim *rc, const char *mtree)
{
	struct ram_layout all;
	char why[256];

	assert_int_equal(reclaim_parse_mtree(mtree, &all, why, sizeof(why)), 0);
	for (size_t i = 0; i < all.nr; i++) {
		bool guest = false;
		uint64_t off;

		for (size_t b = 0; b < rc->nr_backends; b++)
			guest |= !strcmp(all.s[i].region, rc->backends[b].id);
		if (guest)
			continue;
		assert_non_null(strstr(rc->device_ram, all.s[i].region));
		assert_null(reclaim_backend_of(rc, all.s[i].gpa, 4096, &off));
	}
}

static void check_kind(const struct want *w)
{
	struct reclaim *rc = calloc(1, sizeof(*rc));
	char *mtree = slurp(w->kind, "mtree.txt"), why[256];
	json_object *memdevs = load_json(w->kind, "memdev.json");
	json_object *objects = load_json(w->kind, "objects.json");
	json_object *devices = load_json(w->kind, "devices.json");
	uint64_t covered = 0, off;
	size_t nb = 0;

	assert_non_null(rc);
	assert_int_equal(reclaim_parse_mtree(mtree, &rc->layout, why, sizeof(why)), 0);
	assert_int_equal(reclaim_classify(rc, memdevs, objects, devices, why, sizeof(why)), 0);
	while (nb < 3 && w->backends[nb])
		nb++;
	assert_int_equal(rc->nr_backends, nb);
	for (size_t b = 0; b < nb; b++) {
		const struct reclaim_backend *be = &rc->backends[b];

		assert_string_equal(be->id, w->backends[b]);
		assert_int_equal(be->fd, -1);
		assert_false(be->punchable);	/* nothing opened by classifying */
		if (w->skipped[b])
			assert_non_null(strstr(be->why, w->skipped[b]));
		else
			assert_string_equal(be->why, "");
	}
	if (w->device_ram[0])
		assert_non_null(strstr(rc->device_ram, w->device_ram));
	else
		assert_string_equal(rc->device_ram, "");
	for (size_t i = 0; i < rc->layout.nr; i++) {
		const struct ram_section *s = &rc->layout.s[i];

		assert_true(s->backend >= 0 && (size_t)s->backend < nb);
		assert_string_equal(s->region, rc->backends[s->backend].id);
		covered += s->size;
	}
	/* all of the guest's RAM but the legacy VGA window and the BIOS shadow */
	assert_true(covered <= w->ram && covered >= w->ram - M);
	for (size_t p = 0; p < 4 && w->probes[p].gpa; p++) {
		const struct probe *pr = &w->probes[p];
		struct reclaim_backend *be = reclaim_backend_of(rc, pr->gpa, 2 * M, &off);

		if (!pr->backend) {
			assert_null(be);
			continue;
		}
		assert_non_null(be);
		assert_string_equal(be->id, pr->backend);
		assert_true(off == pr->offset);
	}
	check_device_sections(rc, mtree);
	assert_null(reclaim_pinning_device(devices, why, sizeof(why)));
	free(mtree);
	json_object_put(memdevs);
	json_object_put(objects);
	json_object_put(devices);
	free(rc);
}

static void test_recorded(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(wants) / sizeof(wants[0]); i++) {
		print_message("# layout %s\n", wants[i].kind);
		check_kind(&wants[i]);
	}
}

/* Objects QEMU did not list, a VFIO device, a pc-dimm's backend, hostile JSON shapes. */
static void test_classify_edges(void **state)
{
	struct reclaim *rc = calloc(1, sizeof(*rc));
	char *mtree = slurp("numa2", "mtree.txt"), why[256];
	json_object *memdevs = load_json("numa2", "memdev.json");
	json_object *objects = load_json("numa2", "objects.json");
	json_object *devices, *empty = json_object_new_array(), *bogus = json_object_new_int(7);

	(void)state;
	assert_non_null(rc);
	/* no backend objects at all: every section is device memory, nothing to punch */
	assert_int_equal(reclaim_parse_mtree(mtree, &rc->layout, why, sizeof(why)), 0);
	assert_int_equal(reclaim_classify(rc, memdevs, empty, empty, why, sizeof(why)), -1);
	assert_non_null(strstr(why, "no guest RAM"));
	assert_int_equal(rc->layout.nr, 0);
	/* replies of the wrong shape are no objects either */
	assert_int_equal(reclaim_parse_mtree(mtree, &rc->layout, why, sizeof(why)), 0);
	assert_int_equal(reclaim_classify(rc, bogus, bogus, bogus, why, sizeof(why)), -1);
	/* a backend missing from query-memdev is guest RAM that cannot be punched */
	assert_int_equal(reclaim_parse_mtree(mtree, &rc->layout, why, sizeof(why)), 0);
	assert_int_equal(reclaim_classify(rc, empty, objects, empty, why, sizeof(why)), 0);
	assert_int_equal(rc->nr_backends, 2);
	assert_non_null(strstr(rc->backends[0].why, "query-memdev"));
	/* node1 as a pc-dimm's memdev stays guest RAM; as a virtio-pmem's it is device memory */
	devices = json_tokener_parse("[{\"path\":\"/machine/peripheral/d0\",\"type\":\"pc-dimm\","
				     "\"memdev\":\"/objects/node1\"}]");
	assert_int_equal(reclaim_parse_mtree(mtree, &rc->layout, why, sizeof(why)), 0);
	assert_int_equal(reclaim_classify(rc, memdevs, objects, devices, why, sizeof(why)), 0);
	assert_int_equal(rc->nr_backends, 2);
	json_object_put(devices);
	devices = json_tokener_parse("[{\"path\":\"/machine/peripheral/p0\",\"type\":"
				     "\"virtio-pmem-pci\",\"memdev\":\"/objects/node1\"},"
				     "{\"path\":\"/machine/peripheral/hostdev0\",\"type\":\"vfio-pci\"}]");
	assert_int_equal(reclaim_parse_mtree(mtree, &rc->layout, why, sizeof(why)), 0);
	assert_int_equal(reclaim_classify(rc, memdevs, objects, devices, why, sizeof(why)), 0);
	assert_int_equal(rc->nr_backends, 1);
	assert_non_null(strstr(rc->device_ram, "node1 (memdev of virtio-pmem-pci)"));
	assert_non_null(reclaim_pinning_device(devices, why, sizeof(why)));
	assert_non_null(strstr(why, "hostdev0 (vfio-pci)"));
	/* punching needs an opened backend: a classified layout alone punches nothing */
	assert_int_equal(reclaim_punch(rc, 0x20000000, 2 * M), -EOPNOTSUPP);
	json_object_put(devices);
	json_object_put(empty);
	json_object_put(bogus);
	json_object_put(memdevs);
	json_object_put(objects);
	free(mtree);
	free(rc);
}

int main(int argc, char **argv)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_recorded),
		cmocka_unit_test(test_classify_edges),
	};

	if (argc != 2) {
		fprintf(stderr, "usage: %s FIXTURE_DIR\n", argv[0]);
		return 2;
	}
	fixtures = argv[1];
	cmocka_set_message_output(CM_OUTPUT_TAP);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
