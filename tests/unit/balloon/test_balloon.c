// SPDX-License-Identifier: GPL-2.0-only
/*
 * Unit tests of vcmad's balloon pieces: the RAM layout parsed from QEMU's
 * "info mtree -f" (mtree-q35-5g.txt: a q35 guest with 5 GiB in one memfd
 * backend, as QEMU 7.2 printed it) and the GPA -> backend offset map; and
 * the checks every chunk GPA from the guest must pass before anything could
 * be punched (balloon.c through vm.c's frame handler).
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

#include "balloon.h"
#include "reclaim.h"
#include "vm.h"

#define M (1ull << 20)
#define G (1ull << 30)

static char *fixture_path;

static char *slurp(const char *path)
{
	FILE *f = fopen(path, "r");
	char *buf;
	long n;

	assert_non_null(f);
	fseek(f, 0, SEEK_END);
	n = ftell(f);
	rewind(f);
	buf = calloc(1, (size_t)n + 1);
	assert_non_null(buf);
	assert_int_equal(fread(buf, 1, (size_t)n, f), (size_t)n);
	fclose(f);
	return buf;
}

/* QMP hands HMP text over with \r\n line ends. */
static char *crlf(const char *s)
{
	char *out = calloc(1, strlen(s) * 2 + 1), *p = out;

	assert_non_null(out);
	for (; *s; s++) {
		if (*s == '\n')
			*p++ = '\r';
		*p++ = *s;
	}
	return out;
}

static void check_q35_layout(const struct ram_layout *l)
{
	const char *region;
	uint64_t off;

	/* only RAM of the "memory" view: no rom, no i/o, not the device view's copy */
	assert_int_equal(l->nr, 3);
	assert_string_equal(l->s[0].region, "ram0");
	assert_true(l->s[2].gpa == 4 * G && l->s[2].size == 3 * G && l->s[2].offset == 2 * G);
	/* below 4 GiB: identity */
	assert_int_equal(reclaim_map(l, 0x7fe00000, 2 * M, &region, &off), 0);
	assert_true(off == 0x7fe00000);
	/* above 4 GiB: ram-above-4g aliases the backend from 2 GiB on */
	assert_int_equal(reclaim_map(l, 4 * G, 2 * M, &region, &off), 0);
	assert_true(off == 2 * G);
	assert_int_equal(reclaim_map(l, 7 * G - 2 * M, 2 * M, &region, &off), 0);
	assert_true(off == 5 * G - 2 * M);
	assert_string_equal(region, "ram0");
	/* the PCI hole, past the end, across the VGA hole, wrapping: no backing */
	assert_int_equal(reclaim_map(l, 2 * G, 2 * M, &region, &off), -ERANGE);
	assert_int_equal(reclaim_map(l, 7 * G, 2 * M, &region, &off), -ERANGE);
	assert_int_equal(reclaim_map(l, 0, 2 * M, &region, &off), -ERANGE);
	assert_int_equal(reclaim_map(l, UINT64_MAX - M, 2 * M, &region, &off), -ERANGE);
	assert_int_equal(reclaim_map(l, 4 * G, 0, &region, &off), -ERANGE);
}

static void test_mtree_q35(void **state)
{
	struct ram_layout l;
	char why[256], *text = slurp(fixture_path), *text2 = crlf(text);

	(void)state;
	assert_int_equal(reclaim_parse_mtree(text, &l, why, sizeof(why)), 0);
	check_q35_layout(&l);
	assert_int_equal(reclaim_parse_mtree(text2, &l, why, sizeof(why)), 0);
	check_q35_layout(&l);
	free(text);
	free(text2);
}

static void test_mtree_bad(void **state)
{
	struct ram_layout l;
	char why[256];

	(void)state;
	assert_int_equal(reclaim_parse_mtree("", &l, why, sizeof(why)), -1);
	assert_non_null(strstr(why, "no RAM"));
	/* RAM only in another address space's view */
	assert_int_equal(reclaim_parse_mtree("FlatView #0\n AS \"I/O\", root: io\n"
					     "  0000000000000000-00000000000bffff (prio 0, ram): ram0\n",
					     &l, why, sizeof(why)), -1);
	/* garbage offset, end before start, name too long */
	assert_int_equal(reclaim_parse_mtree("FlatView #0\n AS \"memory\", root: system\n"
					     "  0000000000000000-00000000000bffff (prio 0, ram): ram0 @zz\n",
					     &l, why, sizeof(why)), -1);
	assert_int_equal(reclaim_parse_mtree("FlatView #0\n AS \"memory\", root: system\n"
					     "  0000000000100000-00000000000bffff (prio 0, ram): ram0\n",
					     &l, why, sizeof(why)), -1);
	assert_int_equal(reclaim_parse_mtree("FlatView #0\n AS \"memory\", root: system\n"
					     "  0000000000000000-00000000000bffff (prio 0, ram): "
					     "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\n",
					     &l, why, sizeof(why)), -1);
}

/* ---- chunk validation through the session ------------------------------------ */

struct fx {
	struct vm_limits lim;
	struct vcma_vm *vm;
	struct vcma_msg *m;
	uint8_t out[4096];
	size_t out_len;
};

static int capture(void *io, const void *buf, size_t len)
{
	struct fx *f = io;

	if (len > sizeof(f->out))
		return -1;
	memcpy(f->out, buf, len);
	f->out_len = len;
	return 0;
}

static int fx_setup(void **state)
{
	struct fx *f = calloc(1, sizeof(*f));
	struct vcma_hello_h *h;
	char why[128];
	char *text;

	assert_non_null(f);
	vm_limits_default(&f->lim);
	f->vm = vm_new("vm0", "/nonexistent", &f->lim);
	f->m = calloc(1, sizeof(*f->m));
	assert_non_null(f->vm);
	assert_non_null(f->m);
	f->vm->write = capture;
	f->vm->io = f;
	/* a guest that completed HELLO: 5 GiB in two ranges, as the q35 layout */
	h = calloc(1, sizeof(*h));
	assert_non_null(h);
	h->role = VCMA_ROLE_GUEST;
	h->page_size = 4096;
	h->mem_total = 5 * G;
	h->nr_ranges = 2;
	h->ranges[0].gpa = 1 * M;
	h->ranges[0].size = 2 * G - M;
	h->ranges[1].gpa = 4 * G;
	h->ranges[1].size = 3 * G + 2 * M;	/* the guest claims a chunk more than QEMU has */
	f->vm->hello = h;
	f->vm->version = 1;
	f->vm->caps = VCMA_CAP_BALLOON;
	f->vm->conn = VM_READY;
	f->vm->reasm = NULL;
	f->vm->guest.mem_total = 5 * G;
	f->vm->guest.valid = true;
	/* QEMU's layout known, punching off: the checks still use the layout */
	f->vm->bal->rc = calloc(1, sizeof(struct reclaim));
	assert_non_null(f->vm->bal->rc);
	text = slurp(fixture_path);
	assert_int_equal(reclaim_parse_mtree(text, &f->vm->bal->rc->layout, why, sizeof(why)), 0);
	free(text);
	*state = f;
	return 0;
}

static int fx_teardown(void **state)
{
	struct fx *f = *state;

	vm_free(f->vm);
	free(f->m);
	free(f);
	return 0;
}

/* Ask for target, answer with one final report of these chunks; returns refused delta. */
static uint64_t exchange(struct fx *f, uint64_t target, const uint64_t *chunks, uint16_t n)
{
	struct vcma_vm *vm = f->vm;
	uint64_t refused = vm->bal->chunks_refused;
	struct vcma_balloon_report_h *r = &f->m->u.balloon_report;

	assert_int_equal(balloon_set_target(vm, target, 0), 0);
	vm_pump(vm, 0);
	assert_true(vm->bal->req_id != 0);
	vcma_msg_init(f->m, VCMA_MSG_BALLOON_REPORT, vm->bal->req_id);
	r->target_bytes = target;
	r->actual_bytes = vm->guest.balloon_bytes + n * 2 * M;
	r->status = VCMA_OK;
	r->chunk_order = 9;
	r->direction = n ? VCMA_BALLOON_INFLATED : 0;
	r->nr_chunks = n;
	memcpy(r->chunks, chunks, n * sizeof(*chunks));
	vm_handle_frame(vm, f->m, 0);
	assert_int_equal(vm->bal->req_id, 0);
	return vm->bal->chunks_refused - refused;
}

static void test_chunks_checked(void **state)
{
	struct fx *f = *state;
	struct vcma_vm *vm = f->vm;
	struct rsv *r;
	const uint64_t good[] = { 4 * G, 2 * M, 7 * G - 2 * M };
	const uint64_t misaligned[] = { 4 * G + 4096 };
	const uint64_t hole[] = { 2 * G + 2 * M };		/* beyond range 0: PCI hole */
	const uint64_t low[] = { 0 };				/* below the guest's map */
	const uint64_t unbacked[] = { 7 * G };			/* in the guest's map, not QEMU's */
	const uint64_t twice[] = { 6 * G, 6 * G };
	const uint64_t again[] = { 4 * G };			/* already in the balloon */
	const uint64_t grant[] = { 5 * G };			/* a reservation's grant */
	const uint64_t many[] = { 8 * M, 10 * M, 12 * M };

	/* the frame of good chunks is taken, in any order */
	assert_int_equal(exchange(f, 6 * M, good, 3), 0);
	assert_int_equal(vm->bal->nr_chunks, 3);
	assert_true(vm->bal->chunks[0] == 2 * M && vm->bal->chunks[2] == 7 * G - 2 * M);
	assert_int_equal(exchange(f, 8 * M, misaligned, 1), 1);
	assert_int_equal(exchange(f, 10 * M, hole, 1), 1);
	assert_int_equal(exchange(f, 12 * M, low, 1), 1);
	assert_int_equal(exchange(f, 13 * M + M, unbacked, 1), 1);
	assert_int_equal(exchange(f, 14 * M, twice, 2), 2);
	assert_int_equal(exchange(f, 16 * M, again, 1), 1);
	r = vm_add_rsv(vm);
	assert_non_null(r);
	r->id = 1;
	r->state = RSV_GRANTED;
	r->grant_id = 7;
	r->gpa = 5 * G - 4 * M;
	r->granted_size = 16 * M;
	assert_int_equal(exchange(f, 18 * M, grant, 1), 1);
	/* 3 held + 3 more = 12 MiB > the 10 MiB asked */
	assert_int_equal(exchange(f, 10 * M, many, 3), 3);
	assert_int_equal(vm->bal->nr_chunks, 3);
	assert_int_equal(vm->bal->punched_bytes, 0);
	assert_int_equal(vm->st.protocol_errors, 8);
	/* eight violations end the session */
	assert_true(vm->drop);
}

static void test_deflate_and_reboot(void **state)
{
	struct fx *f = *state;
	struct vcma_vm *vm = f->vm;
	const uint64_t good[] = { 4 * G, 4 * G + 2 * M };
	struct vcma_balloon_report_h *r = &f->m->u.balloon_report;

	assert_int_equal(exchange(f, 4 * M, good, 2), 0);
	assert_int_equal(balloon_set_target(vm, 2 * M, 0), 0);
	vm_pump(vm, 0);
	vcma_msg_init(f->m, VCMA_MSG_BALLOON_REPORT, vm->bal->req_id);
	r->target_bytes = 2 * M;
	r->actual_bytes = 2 * M;
	r->chunk_order = 9;
	r->direction = VCMA_BALLOON_DEFLATED;
	r->nr_chunks = 1;
	r->chunks[0] = 4 * G + 2 * M;
	vm_handle_frame(vm, f->m, 0);
	assert_int_equal(vm->bal->nr_chunks, 1);
	assert_true(vm->bal->settled && vm->bal->last_status == VCMA_OK);
	/* settled: no new BALLOON_SET for the same target */
	vm_pump(vm, 0);
	assert_int_equal(vm->bal->req_id, 0);
	/* a reboot forgets the chunks and re-applies the target */
	balloon_session_reset(vm, true);
	assert_int_equal(vm->bal->nr_chunks, 0);
	vm->bal->rc = calloc(1, sizeof(struct reclaim));	/* keep QMP out of the test */
	vm_pump(vm, 0);
	assert_true(vm->bal->req_id != 0);
	/* a target that is no multiple of the chunk is refused */
	assert_int_equal(balloon_set_target(vm, 3 * M, 0), -EINVAL);
}

int main(int argc, char **argv)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_mtree_q35),
		cmocka_unit_test(test_mtree_bad),
		cmocka_unit_test_setup_teardown(test_chunks_checked, fx_setup, fx_teardown),
		cmocka_unit_test_setup_teardown(test_deflate_and_reboot, fx_setup, fx_teardown),
	};

	if (argc != 2) {
		fprintf(stderr, "usage: %s MTREE_FIXTURE\n", argv[0]);
		return 2;
	}
	fixture_path = argv[1];
	cmocka_set_message_output(CM_OUTPUT_TAP);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
