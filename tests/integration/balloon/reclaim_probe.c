// SPDX-License-Identifier: GPL-2.0-only
/*
 * reclaim-probe: what vcmad's host reclaim (daemon/balloon/reclaim.c) learns
 * from a running QEMU, as JSON on stdout, for the tests against a real QEMU
 * (qemu_layout.py): the guest RAM sections, the backends (with the inode of
 * the backing file it opened) and the device memory it left out. Each GPA
 * argument is then punched as one 2 MiB chunk, as the balloon would.
 *
 *   reclaim-probe QMP_SOCKET [GPA...]      exit 0, 1 on a failed punch, 2 usage
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <json-c/json.h>

#include "reclaim.h"

#define CHUNK (2ull << 20)

int main(int argc, char **argv)
{
	json_object *o, *a, *bes, *p;
	struct reclaim *rc;
	int status = 0;

	if (argc < 2 || !strcmp(argv[1], "--help")) {
		fprintf(stderr, "usage: %s QMP_SOCKET [GPA...]\n", argv[0]);
		return 2;
	}
	rc = reclaim_open(argv[1], 5000);
	if (!rc)
		return 1;
	o = json_object_new_object();
	json_object_object_add(o, "possible", json_object_new_boolean(rc->possible));
	json_object_object_add(o, "kind", json_object_new_string(reclaim_kind_name(rc->kind)));
	json_object_object_add(o, "why", json_object_new_string(rc->why));
	json_object_object_add(o, "device_ram", json_object_new_string(rc->device_ram));
	a = json_object_new_array();
	for (size_t i = 0; i < rc->layout.nr; i++) {
		const struct ram_section *s = &rc->layout.s[i];
		json_object *e = json_object_new_object();

		json_object_object_add(e, "gpa", json_object_new_uint64(s->gpa));
		json_object_object_add(e, "size", json_object_new_uint64(s->size));
		json_object_object_add(e, "offset", json_object_new_uint64(s->offset));
		json_object_object_add(e, "backend", json_object_new_string(s->region));
		json_object_array_add(a, e);
	}
	json_object_object_add(o, "sections", a);
	bes = reclaim_backends_json(rc);
	for (size_t i = 0; i < rc->nr_backends; i++) {
		struct stat st;

		if (rc->backends[i].fd >= 0 && !fstat(rc->backends[i].fd, &st))
			json_object_object_add(json_object_array_get_idx(bes, i), "ino",
					       json_object_new_uint64(st.st_ino));
	}
	json_object_object_add(o, "backends", bes);
	p = json_object_new_array();
	for (int i = 2; i < argc; i++) {
		uint64_t gpa = strtoull(argv[i], NULL, 0);
		int e = reclaim_punch(rc, gpa, CHUNK);

		json_object_array_add(p, json_object_new_int(e));
		if (e < 0)
			status = 1;
	}
	json_object_object_add(o, "punch", p);
	printf("%s\n", json_object_to_json_string_ext(o, JSON_C_TO_STRING_PRETTY));
	json_object_put(o);
	reclaim_free(rc);
	return status;
}
