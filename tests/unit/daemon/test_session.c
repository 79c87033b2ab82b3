/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The session state machine and broker (daemon/session/vm.c) without a loop or a
 * socket: the guest's frames are encoded with the real codec and fed as
 * bytes, vcmad's frames are captured through vm->write and decoded.
 */
#include <stdbool.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "balloon.h"
#include "../../tap.h"
#include "vm.h"

#define M (1ull << 20)
#define BASE (1ull << 32)

struct wire {
	uint8_t buf[1 << 16];
	size_t len;
	bool full;	/* simulate a guest that does not read */
};

static int capture(void *io, const void *buf, size_t len)
{
	struct wire *w = io;

	if (w->full || w->len + len > sizeof(w->buf))
		return -ENOBUFS;
	memcpy(w->buf + w->len, buf, len);
	w->len += len;
	return 0;
}

/* Pop the next frame vcmad sent; returns false if none. */
static bool sent(struct wire *w, struct vcma_msg *m)
{
	int n;

	if (!w->len)
		return false;
	n = vcma_decode(w->buf, w->len, m);
	if (n <= 0)
		return false;
	memmove(w->buf, w->buf + n, w->len - (size_t)n);
	w->len -= (size_t)n;
	return true;
}

/* Pop frames until one of type t; false if none. */
static bool sent_type(struct wire *w, struct vcma_msg *m, uint8_t t)
{
	while (sent(w, m))
		if (m->type == t)
			return true;
	return false;
}

static void feed(struct vcma_vm *vm, const struct vcma_msg *m, int64_t now)
{
	static uint8_t buf[VCMA_MAX_PAYLOAD + 64];
	int n = vcma_encode(m, buf, sizeof(buf));

	if (n < 0) {
		printf("# encode failed: %s\n", vcma_codec_strerror(n));
		abort();
	}
	vm_feed(vm, buf, (size_t)n, now);
}

static struct vcma_msg *msg(uint8_t type, uint64_t id)
{
	static struct vcma_msg *m;

	if (!m)
		m = malloc(sizeof(*m));
	vcma_msg_init(m, type, id);
	return m;
}

/* What the simulated guest offers in HELLO. */
static uint64_t guest_caps = VCMA_CAP_RESERVE | VCMA_CAP_STATUS;

/* A guest HELLO under id: 0 when unsolicited, else answering one of ours. */
static void guest_hello_id(struct vcma_vm *vm, uint64_t id, uint8_t boot, uint64_t mem,
			   int64_t now)
{
	struct vcma_msg *m = msg(VCMA_MSG_HELLO, id);

	m->u.hello = (struct vcma_hello_h){
		.proto_min = 1, .proto_max = 1, .role = VCMA_ROLE_GUEST, .pageblock_order = 9,
		.max_order = 10, .caps = guest_caps, .page_size = 4096,
		.mem_total = mem, .mem_free = mem / 2, .nr_ranges = 1,
	};
	memset(m->u.hello.boot_id, boot, 16);
	snprintf(m->u.hello.software, sizeof(m->u.hello.software), "unit");
	m->u.hello.ranges[0] = (struct vcma_mem_range_h){ BASE, mem, 0, VCMA_ZONE_NORMAL };
	feed(vm, m, now);
}

static void guest_hello(struct vcma_vm *vm, uint8_t boot, uint64_t mem, int64_t now)
{
	guest_hello_id(vm, 0, boot, mem, now);
}

/* Answer the STATUS vcmad sent with these grants. */
static void guest_status(struct vcma_vm *vm, struct wire *w, const struct vcma_grant_info_h *g,
			 uint32_t n, int64_t now)
{
	struct vcma_msg got;
	struct vcma_msg *m;

	if (!sent_type(w, &got, VCMA_MSG_STATUS)) {
		ok(0, "STATUS expected");
		return;
	}
	m = msg(VCMA_MSG_STATUS_RESULT, got.id);
	m->u.status_result.mem_total = 1024 * M;
	m->u.status_result.nr_grants = n;
	for (uint32_t i = 0; i < n; i++) {
		m->u.status_result.grants[i] = g[i];
		m->u.status_result.holders |= g[i].flags != 0;
	}
	feed(vm, m, now);
}

static void reserve_result(struct vcma_vm *vm, uint64_t req, uint64_t tag, uint32_t status,
			   uint64_t grant, uint64_t gpa, uint64_t size, int64_t now)
{
	struct vcma_msg *m = msg(VCMA_MSG_RESERVE_RESULT, req);

	m->u.reserve_result.status = status;
	m->u.reserve_result.tag = tag;
	if (status == VCMA_OK) {
		m->u.reserve_result.grant_id = grant;
		m->u.reserve_result.gpa = gpa;
		m->u.reserve_result.size = size;
	} else {
		m->u.reserve_result.ev.cause = VCMA_CAUSE_PINNED;
	}
	feed(vm, m, now);
}

static struct vm_limits lim;

/* A VM whose session has just started: our HELLO sits in w, nothing answered. */
static struct vcma_vm *started_vm(struct wire *w)
{
	struct vcma_vm *vm = vm_new("t", "/nowhere", &lim);

	memset(w, 0, sizeof(*w));
	vm->write = capture;
	vm->io = w;
	vm_session_start(vm, 0);
	return vm;
}

/* A session through HELLO and STATUS; checks nothing, see ready_vm. */
static struct vcma_vm *synced_vm(struct wire *w, const struct vcma_grant_info_h *g, uint32_t n,
				 bool *hello_ok)
{
	struct vcma_vm *vm = started_vm(w);
	struct vcma_msg got;

	*hello_ok = sent(w, &got) && got.type == VCMA_MSG_HELLO &&
		    got.u.hello.role == VCMA_ROLE_HOST;
	guest_hello(vm, 1, 1024 * M, 10);
	*hello_ok &= vm->conn == VM_SYNCING;
	guest_status(vm, w, g, n, 20);
	return vm;
}

static struct vcma_vm *ready_vm(struct wire *w, const struct vcma_grant_info_h *g, uint32_t n)
{
	bool hello_ok;
	struct vcma_vm *vm = synced_vm(w, g, n, &hello_ok);

	ok(hello_ok, "host HELLO on connect, guest HELLO -> syncing");
	ok(vm->conn == VM_READY, "STATUS_RESULT -> ready");
	return vm;
}

static void test_reserve_flow(void)
{
	struct wire w;
	struct vcma_vm *vm = ready_vm(&w, NULL, 0);
	struct rsv_spec s = { .size = 64 * M, .align = 2 * M, .count = 2, .label = "dma" };
	struct vcma_msg a, b;
	uint64_t first;

	ok(vm_reserve(vm, &s, 100, &first) == 0 && first == 1 && vm->nr_rsv == 2, "two desired");
	vm_pump(vm, 100);
	ok(sent(&w, &a) && a.type == VCMA_MSG_RESERVE && a.u.reserve.tag == 1 &&
	   a.u.reserve.size == 64 * M && a.u.reserve.align == 2 * M &&
	   !strcmp(a.u.reserve.label, "dma"), "RESERVE carries size, align, label, tag = id");
	ok(sent(&w, &b) && b.type == VCMA_MSG_RESERVE && b.u.reserve.tag == 2 && b.id != a.id,
	   "second RESERVE, own request id");
	reserve_result(vm, a.id, 1, VCMA_OK, 11, BASE, 64 * M, 130);
	ok(vm->rsv[0].state == RSV_GRANTED && vm->rsv[0].grant_id == 11 && vm->rsv[0].gpa == BASE,
	   "granted with the guest's grant");
	ok(vm->st.lat_count == 1 && vm->st.lat_sum_ms == 30, "latency recorded (30 ms)");
	reserve_result(vm, b.id, 2, VCMA_E_BUSY, 0, 0, 0, 140);
	ok(vm->rsv[1].state == RSV_FAILED && vm->rsv[1].status == VCMA_E_BUSY &&
	   vm->rsv[1].cause == VCMA_CAUSE_PINNED && strstr(vm->rsv[1].detail, "pinned"),
	   "failure carries status, cause and a detail");
	ok(vm->dirty, "state marked for saving");

	/* release the granted one */
	ok(vm_release(vm, 1, 200) == 1 && vm->rsv[0].state == RSV_RELEASING, "release -> releasing");
	ok(vm_release(vm, 1, 200) == -EALREADY, "second release: already");
	vm_pump(vm, 200);
	ok(sent(&w, &a) && a.type == VCMA_MSG_RELEASE && a.u.release.grant_id == 11, "RELEASE sent");
	struct vcma_msg *r = msg(VCMA_MSG_RELEASE_RESULT, a.id);

	r->u.release_result.grant_id = 11;
	feed(vm, r, 210);
	ok(vm->nr_rsv == 1 && vm->rsv[0].id == 2, "released reservation forgotten");
	ok(vm_release(vm, 2, 220) == 0 && vm->nr_rsv == 0, "a failed reservation goes at once");
	ok(vm_release(vm, 99, 220) == -ENOENT, "unknown id");
	ok(vm->st.protocol_errors == 0, "no violations in a clean flow");
	vm_free(vm);
}

static void test_validation(void)
{
	struct wire w;
	struct vcma_vm *vm = ready_vm(&w, NULL, 0);
	struct rsv_spec s = { .size = 4 * M, .align = 2 * M, .count = 4 };
	struct vcma_msg q[4];
	uint64_t first;

	vm_reserve(vm, &s, 0, &first);
	vm_pump(vm, 0);
	for (int i = 0; i < 4; i++)
		sent(&w, &q[i]);
	reserve_result(vm, q[0].id, 1, VCMA_OK, 5, BASE + 2048 * M, 4 * M, 1);
	ok(vm->rsv[0].state == RSV_FAILED && strstr(vm->rsv[0].detail, "implausible"),
	   "grant outside the guest's memory map is refused");
	ok(sent_type(&w, &q[0], VCMA_MSG_RELEASE) && q[0].u.release.grant_id == 5, "and given back");
	reserve_result(vm, q[1].id, 2, VCMA_OK, 6, BASE + 4096, 4 * M, 1);
	ok(vm->rsv[1].state == RSV_FAILED, "misaligned grant refused");
	reserve_result(vm, q[2].id, 3, VCMA_OK, 7, BASE, 1 * M, 1);
	ok(vm->rsv[2].state == RSV_FAILED, "undersized grant refused");
	reserve_result(vm, q[3].id, 99, VCMA_OK, 8, BASE, 4 * M, 1);
	ok(vm->rsv[3].state == RSV_FAILED && strstr(vm->rsv[3].detail, "wrong tag"),
	   "grant for another tag refused");
	ok(vm->st.protocol_errors == 4 && !vm->drop, "four violations counted, still connected");
	reserve_result(vm, 12345, 1, VCMA_OK, 9, BASE, 4 * M, 2);
	ok(vm->st.ignored_frames == 1, "answer to a request never sent is ignored");
	for (int i = 0; i < 3; i++)
		reserve_result(vm, 777 + (uint64_t)i, 1, VCMA_OK, 9, BASE, 4 * M, 2);
	ok(vm->drop && strstr(vm->drop_reason, "protocol violations"),
	   "disconnect after %u violations: %s", lim.max_violations, vm->drop_reason);
	vm_session_end(vm, "test");
	ok(vm->conn == VM_DISCONNECTED && vm->nr_infl == 0, "session end forgets requests in flight");
	vm_free(vm);
}

/* A grant that overlaps another grant, a guest-held grant or balloon chunks is refused. */
static void test_overlap(void)
{
	const struct vcma_grant_info_h held[] = {
		{ .grant_id = 40, .gpa = BASE + 64 * M, .size = 4 * M },
	};
	struct wire w;
	struct vcma_vm *vm = ready_vm(&w, held, 1);
	struct rsv_spec s = { .size = 4 * M, .align = 2 * M, .count = 4 };
	struct vm_balloon *b = vm->bal;
	struct vcma_msg q[4], rel;
	uint64_t first;

	b->chunks = realloc(b->chunks, sizeof(uint64_t));
	b->chunks[0] = BASE + 128 * M;		/* one 2 MiB chunk in the balloon */
	b->nr_chunks = b->cap_chunks = 1;
	vm_reserve(vm, &s, 0, &first);
	vm_pump(vm, 0);
	for (int i = 0; i < 4; i++)
		sent(&w, &q[i]);
	reserve_result(vm, q[0].id, 1, VCMA_OK, 5, BASE, 4 * M, 1);
	ok(vm->rsv[0].state == RSV_GRANTED, "a grant of its own range");
	reserve_result(vm, q[1].id, 2, VCMA_OK, 6, BASE + 2 * M, 4 * M, 1);
	ok(vm->rsv[1].state == RSV_FAILED && strstr(vm->rsv[1].detail, "overlaps") &&
	   sent_type(&w, &rel, VCMA_MSG_RELEASE) && rel.u.release.grant_id == 6,
	   "a grant overlapping another reservation's is refused and given back (%s)",
	   vm->rsv[1].detail);
	reserve_result(vm, q[2].id, 3, VCMA_OK, 7, BASE + 66 * M, 4 * M, 1);
	ok(vm->rsv[2].state == RSV_FAILED && strstr(vm->rsv[2].detail, "overlaps"),
	   "a grant overlapping one the guest already holds is refused");
	reserve_result(vm, q[3].id, 4, VCMA_OK, 8, BASE + 126 * M, 4 * M, 1);
	ok(vm->rsv[3].state == RSV_FAILED && strstr(vm->rsv[3].detail, "balloon"),
	   "a grant overlapping a balloon chunk is refused (%s)", vm->rsv[3].detail);
	ok(vm->st.protocol_errors == 3, "three violations counted (%llu)",
	   (unsigned long long)vm->st.protocol_errors);
	ok(balloon_holds_range(vm, BASE + 129 * M, 4096) && !balloon_holds_range(vm, BASE + 130 * M, M) &&
	   balloon_holds_range(vm, BASE + 127 * M, M + 1) && !balloon_holds_range(vm, BASE + 127 * M, M),
	   "balloon_holds_range: inside, after, reaching in, ending at the chunk");
	vm_free(vm);
}

static void test_sync(void)
{
	struct wire w;
	struct vcma_vm *vm = vm_new("t", "/nowhere", &lim);
	struct rsv_spec s = { .size = 2 * M, .count = 4 };
	uint64_t first;
	struct vcma_msg got;

	/* desired state as loaded from the store after a restart */
	vm_reserve(vm, &s, 0, &first);
	vm->rsv[0].state = RSV_GRANTED;
	vm->rsv[0].grant_id = 100;
	vm->rsv[1].state = RSV_GRANTED;		/* the guest lost this one */
	vm->rsv[1].grant_id = 101;
	vm->rsv[2].state = RSV_RELEASING;	/* deleted while vcmad was down */
	vm->rsv[2].grant_id = 102;
	vm->next_id = 10;
	memset(&w, 0, sizeof(w));
	vm->write = capture;
	vm->io = &w;
	vm_session_start(vm, 0);
	guest_hello(vm, 1, 1024 * M, 0);
	const struct vcma_grant_info_h grants[] = {
		{ 100, BASE, 2 * M, 1, "", 0, "" },			/* rsv 1: still there */
		{ 102, BASE + 2 * M, 2 * M, 3, "", 0, "" },		/* rsv 3: to release */
		{ 103, BASE + 4 * M, 2 * M, 0, "mine", 0, "" },	/* guest-local */
		{ 104, BASE + 6 * M, 2 * M, 7, "", 0, "" },		/* ours, no longer desired */
		{ 105, BASE + 8 * M, 2 * M, 500, "", 0, "" },		/* tag we never issued */
	};
	guest_status(vm, &w, grants, 5, 10);
	ok(vm->conn == VM_READY, "ready after sync");
	ok(vm->rsv[0].state == RSV_GRANTED && vm->rsv[0].grant_id == 100, "existing grant re-learned");
	ok(vm->rsv[1].state == RSV_PENDING || vm->rsv[1].inflight_req, "lost grant re-requested");
	ok(vm->nr_foreign == 2 && vm->foreign[0].grant_id == 103 && vm->foreign[1].grant_id == 105,
	   "guest-local and unknown-tag grants are shown, not touched");
	bool rel102 = false, rel104 = false, rsv2 = false;

	while (sent(&w, &got)) {
		if (got.type == VCMA_MSG_RELEASE)
			rel102 |= got.u.release.grant_id == 102, rel104 |= got.u.release.grant_id == 104;
		if (got.type == VCMA_MSG_RESERVE)
			rsv2 |= got.u.reserve.tag == 2;
		ok(got.type != VCMA_MSG_RELEASE || (got.u.release.grant_id != 103 &&
						    got.u.release.grant_id != 105),
		   "never releases grants that are not ours");
	}
	ok(rel102, "releasing reservation's grant released");
	ok(rel104, "stale grant of ours released");
	ok(rsv2, "missing grant re-requested with its tag");
	ok(vm->rsv[3].state == RSV_PENDING, "never-granted reservation requested");

	/* guest reboot: new boot id, nothing granted any more */
	vm_session_end(vm, "reboot");
	vm_session_start(vm, 100);
	guest_hello(vm, 2, 1024 * M, 100);
	guest_status(vm, &w, NULL, 0, 110);
	ok(vm->st.reboots == 1, "reboot counted");
	ok(vm->rsv[0].state == RSV_PENDING, "granted before the reboot -> pending again");
	vm_free(vm);
}

static void test_timers(void)
{
	struct wire w;
	struct vcma_vm *vm = ready_vm(&w, NULL, 0);
	struct rsv_spec s = { .size = 2 * M, .count = 1, .deadline_ms = 500 };
	struct vcma_msg got, q;
	uint64_t first;

	while (sent(&w, &got))
		;
	vm_tick(vm, 20 + lim.keepalive_ms);
	ok(sent(&w, &got) && got.type == VCMA_MSG_PING, "PING after keepalive_ms of silence");
	feed(vm, msg(VCMA_MSG_PONG, got.id), 30 + lim.keepalive_ms);
	ok(vm->ping_id == 0, "PONG accepted");
	feed(vm, msg(VCMA_MSG_PONG, 4242), 40 + lim.keepalive_ms);
	ok(vm->st.protocol_errors == 1, "unsolicited PONG is a violation");
	feed(vm, msg(VCMA_MSG_PING, 77), 50 + lim.keepalive_ms);
	ok(sent(&w, &got) && got.type == VCMA_MSG_PONG && got.id == 77, "guest PING answered");

	int64_t t = 100000;

	vm->last_rx_ms = t;
	vm_reserve(vm, &s, t, &first);
	vm_pump(vm, t);
	ok(sent(&w, &q) && q.type == VCMA_MSG_RESERVE && q.u.reserve.deadline_ms == 500,
	   "deadline passed to the guest");
	vm_tick(vm, t + 500 + lim.deadline_grace_ms - 1);
	ok(vm->rsv[0].state == RSV_PENDING, "not failed before deadline + grace");
	vm_tick(vm, t + 500 + lim.deadline_grace_ms);
	ok(vm->rsv[0].state == RSV_FAILED && vm->rsv[0].cause == VCMA_CAUSE_DEADLINE,
	   "failed at deadline + grace, cause deadline");
	reserve_result(vm, q.id, first, VCMA_OK, 50, BASE, 2 * M, t + 3000);
	ok(vm->nr_orphans == 0 && sent_type(&w, &got, VCMA_MSG_RELEASE) &&
	   got.u.release.grant_id == 50, "a grant arriving after its deadline is given back");
	ok(vm->rsv[0].state == RSV_FAILED, "the reservation stays failed");
	vm_tick(vm, t + 3000 + lim.keepalive_timeout_ms);
	ok(vm->drop && strstr(vm->drop_reason, "keepalive"), "silent guest dropped: %s",
	   vm->drop_reason);
	vm_free(vm);

	/* partial frame, then silence */
	vm = ready_vm(&w, NULL, 0);
	uint8_t half[10] = { 0x56, 0x43, 0x4d, 0x41, 1, VCMA_MSG_PING };

	/* frames that always end mid-frame but keep coming are progress, not a stall */
	uint8_t two[48];
	struct vcma_msg *pm = msg(VCMA_MSG_PING, 9);
	int64_t t0 = 1000;

	vcma_encode(pm, two, 24);
	vcma_encode(pm, two + 24, 24);
	vm_feed(vm, two, 12, t0);
	for (int k = 0; k < 20; k++) {
		int64_t t = t0 + (k + 1) * (int64_t)lim.frame_timeout_ms / 2;

		vm_feed(vm, two + 12, 24, t);	/* completes one, starts the next */
		vm_tick(vm, t);
		memmove(two, two + 24, 24);
		vcma_encode(pm, two + 24, 24);
	}
	ok(!vm->drop, "a steady trickle of split frames is not a stall");
	vm_free(vm);
	vm = ready_vm(&w, NULL, 0);
	vm_feed(vm, half, sizeof(half), 1000);
	vm_tick(vm, 1000 + lim.frame_timeout_ms);
	ok(vm->drop && strstr(vm->drop_reason, "partial frame"), "stalled partial frame: %s",
	   vm->drop_reason);
	vm_free(vm);
}

/* A paused domain's guest cannot answer: nothing times out until it runs again. */
static void test_suspended(void)
{
	struct wire w;
	struct vcma_vm *vm = ready_vm(&w, NULL, 0);
	struct rsv_spec s = { .size = 2 * M, .count = 1, .deadline_ms = 500 };
	struct vcma_msg got, q;
	uint64_t first;
	int64_t t = 100000, pause = 10 * (int64_t)lim.keepalive_timeout_ms;

	vm->last_rx_ms = t;
	vm_reserve(vm, &s, t, &first);
	vm_pump(vm, t);
	ok(sent_type(&w, &q, VCMA_MSG_RESERVE), "RESERVE sent");
	vm_set_suspended(vm, true, t + 100);
	while (sent(&w, &got))
		;
	vm_tick(vm, t + 100 + pause);
	ok(!vm->drop && vm->rsv[0].state == RSV_PENDING && !sent(&w, &got),
	   "paused for 10 keepalive timeouts: no PING, no drop, the RESERVE not failed");
	vm_set_suspended(vm, false, t + 100 + pause);
	vm_tick(vm, t + 100 + pause + 1);
	ok(!vm->drop && vm->rsv[0].state == RSV_PENDING, "resumed: the pause does not count");
	reserve_result(vm, q.id, first, VCMA_OK, 60, BASE, 2 * M, t + 200 + pause);
	ok(vm->rsv[0].state == RSV_GRANTED && vm->st.protocol_errors == 0,
	   "the answer after the resume is taken (the request was still in flight)");
	vm_tick(vm, t + 200 + pause + lim.keepalive_timeout_ms);
	ok(vm->drop && strstr(vm->drop_reason, "keepalive"),
	   "running again, a silent guest is dropped as before: %s", vm->drop_reason);
	vm_free(vm);
}

static void test_hostile(void)
{
	struct wire w;
	struct vcma_vm *vm = started_vm(&w);
	uint8_t junk[4096];

	guest_hello(vm, 1, 1ull << 60, 0);
	ok(vm->drop && strstr(vm->drop_reason, "absurd"), "absurd HELLO: %s", vm->drop_reason);
	vm_free(vm);

	vm = ready_vm(&w, NULL, 0);
	for (size_t i = 0; i < sizeof(junk); i++)
		junk[i] = (uint8_t)(i * 7 + 3);
	for (int i = 0; i < 16 && !vm->drop; i++)
		vm_feed(vm, junk, sizeof(junk), 100);
	ok(vm->drop && strstr(vm->drop_reason, "garbage"), "garbage: %s", vm->drop_reason);
	vm_free(vm);

	vm = ready_vm(&w, NULL, 0);
	for (uint32_t i = 0; i <= lim.max_frames_per_sec && !vm->drop; i++)
		feed(vm, msg(VCMA_MSG_BALLOON_REPORT, 0), 200);
	ok(vm->drop && strstr(vm->drop_reason, "flood"), "flood: %s", vm->drop_reason);
	vm_free(vm);

	/* frames the host sends are not for the guest to send */
	vm = ready_vm(&w, NULL, 0);
	struct vcma_msg *m = msg(VCMA_MSG_RESERVE, 3);

	m->u.reserve.size = 4096;
	feed(vm, m, 300);
	ok(vm->st.protocol_errors == 1, "guest-sent RESERVE is a violation");
	feed(vm, msg(VCMA_MSG_STATUS_RESULT, 999), 300);
	ok(vm->st.protocol_errors == 2, "STATUS_RESULT without STATUS is a violation");
	/* PROTOCOL.md: the guest's report of bad input (id 0, ref_type 0) is informational */
	struct vcma_msg *bad = msg(VCMA_MSG_ERROR, 0);

	bad->u.error.status = VCMA_E_PROTO;
	snprintf(bad->u.error.message, sizeof(bad->u.error.message), "bad magic");
	feed(vm, bad, 300);
	ok(vm->st.protocol_errors == 2 && !vm->drop, "ERROR id 0 reporting bad input is not a violation");
	/* a guest that does not read its channel */
	w.full = true;
	feed(vm, msg(VCMA_MSG_PING, 5), 300);
	ok(vm->drop && strstr(vm->drop_reason, "does not read"), "full output queue: %s",
	   vm->drop_reason);
	vm_free(vm);

	/* a STATUS answer that cannot be true is not believed at all */
	const struct vcma_grant_info_h twice[] = {
		{ 7, BASE, 2 * M, 0, "", 0, "" }, { 7, BASE + 2 * M, 2 * M, 0, "", 0, "" },
	};
	bool hello_ok;

	vm = synced_vm(&w, twice, 2, &hello_ok);
	ok(vm->drop && strstr(vm->drop_reason, "twice") && vm->nr_foreign == 0,
	   "duplicate grant ids in STATUS: %s", vm->drop_reason);
	vm_free(vm);
	const struct vcma_grant_info_h huge[] = {
		{ 1, BASE, 1024 * M, 0, "", 0, "" }, { 2, BASE, 1024 * M, 0, "", 0, "" },
	};
	vm = synced_vm(&w, huge, 2, &hello_ok);
	ok(vm->drop && strstr(vm->drop_reason, "more than the guest"),
	   "more granted than the guest has: %s", vm->drop_reason);
	vm_free(vm);

	/* before HELLO nothing else counts */
	vm = started_vm(&w);
	feed(vm, msg(VCMA_MSG_PING, 1), 0);
	ok(vm->st.protocol_errors == 1 && vm->conn == VM_HELLO_WAIT, "PING before HELLO refused");
	struct vcma_msg *e = msg(VCMA_MSG_ERROR, 1);

	e->u.error.status = VCMA_E_UNSUPPORTED;
	e->u.error.ref_type = VCMA_MSG_HELLO;
	snprintf(e->u.error.message, sizeof(e->u.error.message), "no common protocol version");
	feed(vm, e, 0);
	ok(vm->st.protocol_errors == 1 && !vm->drop, "ERROR answering our HELLO is logged, not a violation");
	vm_free(vm);
}

/* The agent says HELLO on its own and in answer to ours; restarts must still be seen. */
static void test_hello_rules(void)
{
	struct wire w;
	struct vcma_vm *vm;
	struct vcma_msg got;
	uint64_t sessions;

	vm = started_vm(&w);
	sent(&w, &got);
	uint64_t host_id = got.id;

	guest_hello(vm, 1, 1024 * M, 5);		/* unsolicited, id 0 */
	guest_status(vm, &w, NULL, 0, 6);
	sessions = vm->st.sessions;
	/* the answer under our id */
	guest_hello_id(vm, host_id, 1, 1024 * M, 7);
	ok(vm->conn == VM_READY && !sent_type(&w, &got, VCMA_MSG_STATUS),
	   "the answer to our HELLO does not re-sync");
	/* agent restarts twice, each time an unsolicited HELLO with id 0 */
	for (int k = 0; k < 2; k++) {
		int64_t t = 5000 + 5000 * k;

		guest_hello(vm, 1, 1024 * M, t);
		ok(vm->conn == VM_SYNCING, "agent restart %d seen: re-sync", k + 1);
		guest_status(vm, &w, NULL, 0, t + 1);
		/* it answers the HELLO we sent back (id 0) */
		guest_hello(vm, 1, 1024 * M, t + 2);
		ok(vm->conn == VM_READY, "its answer to our HELLO is no news (%d)", k + 1);
	}
	ok(vm->st.sessions == sessions && vm->st.reboots == 0, "same boot: no reboot counted");
	vm_free(vm);

	/*
	 * vcmad connects while the guest still boots: the agent's own HELLO
	 * comes later and is answered, then the agent answers both of our
	 * HELLOs. Neither answer may restart the session.
	 */
	vm = started_vm(&w);
	sent(&w, &got);
	host_id = got.id;
	guest_hello(vm, 2, 1024 * M, 3000);
	ok(sent_type(&w, &got, VCMA_MSG_HELLO) && got.id == 0, "the guest's own HELLO is answered");
	guest_status(vm, &w, NULL, 0, 3001);
	sessions = vm->st.sessions;
	guest_hello_id(vm, host_id, 2, 1024 * M, 3002);
	ok(vm->conn == VM_READY && !sent_type(&w, &got, VCMA_MSG_STATUS) &&
	   vm->st.sessions == sessions, "its late answer to our opening HELLO is no news");
	guest_hello_id(vm, 0, 2, 1024 * M, 3003);
	ok(vm->conn == VM_READY && !sent_type(&w, &got, VCMA_MSG_STATUS) &&
	   vm->st.protocol_errors == 0, "its answer to our answering HELLO is no news");
	guest_hello(vm, 2, 1024 * M, 9000);
	ok(vm->conn == VM_SYNCING, "a later unsolicited HELLO still restarts the session");
	vm_free(vm);
}

static void test_again_and_lost(void)
{
	struct wire w;
	struct vcma_vm *vm = ready_vm(&w, NULL, 0);
	struct rsv_spec s = { .size = 2 * M, .count = 1 };
	struct vcma_msg q;
	uint64_t first;

	vm_reserve(vm, &s, 0, &first);
	vm_pump(vm, 0);
	sent_type(&w, &q, VCMA_MSG_RESERVE);
	reserve_result(vm, q.id, first, VCMA_E_AGAIN, 0, 0, 0, 10);
	ok(vm->rsv[0].state == RSV_PENDING, "E_AGAIN keeps it pending");
	vm_pump(vm, 20);
	ok(!sent_type(&w, &q, VCMA_MSG_RESERVE), "no retry before the backoff");
	vm_pump(vm, 2000);
	ok(sent_type(&w, &q, VCMA_MSG_RESERVE) && q.u.reserve.tag == first, "retried with its tag");
	reserve_result(vm, q.id, first, VCMA_OK, 70, BASE, 2 * M, 2010);
	struct vcma_msg *ev = msg(VCMA_MSG_EVENT, 0);

	ev->u.event.kind = VCMA_EV_GRANT_LOST;
	ev->u.event.arg0 = 70;
	feed(vm, ev, 2020);
	ok(vm->rsv[0].grant_id == 0 && sent_type(&w, &q, VCMA_MSG_RESERVE) &&
	   q.u.reserve.tag == first, "a lost grant is requested again");
	ev->u.event.arg0 = 4711;
	feed(vm, ev, 2030);
	ok(vm->st.ignored_frames == 1 && !vm->drop, "unknown grant lost: ignored");
	vm_free(vm);
}

static bool reclaim_refused_with(struct vcma_vm *vm, const char *want, int64_t now)
{
	json_object *o = balloon_json(vm, now), *h = json_object_object_get(o, "host");
	const char *why = json_object_get_string(json_object_object_get(h, "reason"));
	bool refused = !json_object_get_boolean(json_object_object_get(h, "reclaim_possible")) &&
		       why && strstr(why, want);

	if (!refused)
		printf("# reason: %s\n", why ? why : "(none)");
	json_object_put(o);
	return refused;
}

/* A pinned VM (libvirt saw a <hostdev>) refuses host reclaim with that reason, QMP or not. */
static void test_pinned(void)
{
	static const char hostdev[] = "host reclaim refused: domain has a <hostdev> passthrough "
				      "device (VFIO pins guest memory)";
	struct wire w;
	struct vcma_vm *vm = vm_new("p", "/nowhere", &lim);

	ok(balloon_set_pinned(vm, hostdev) == 0 && reclaim_refused_with(vm, hostdev, 0),
	   "not connected yet: GET shows the pinning reason");
	vm_free(vm);

	vm = ready_vm(&w, NULL, 0);
	ok(reclaim_refused_with(vm, "no QMP socket", 30), "unpinned, no QMP: the usual reason");
	ok(balloon_set_pinned(vm, hostdev) == 0 && reclaim_refused_with(vm, hostdev, 40),
	   "pinned without a QMP socket: refused with the <hostdev> reason");
	ok(balloon_set_qmp(vm, "/nonexistent/qmp.sock") == 0 &&
	   reclaim_refused_with(vm, hostdev, 50), "pinned with an unreachable QMP socket: same");
	ok(balloon_set_unshared(vm, "host reclaim impossible: domain RAM is not a shared") == 0 &&
	   reclaim_refused_with(vm, hostdev, 55), "pinned and unshared: the pinning reason wins");
	ok(balloon_set_pinned(vm, NULL) == 0 && balloon_set_qmp(vm, NULL) == 0 &&
	   reclaim_refused_with(vm, "not a shared", 60), "<hostdev> removed: RAM not shared");
	ok(balloon_set_unshared(vm, NULL) == 0 && reclaim_refused_with(vm, "no QMP socket", 70),
	   "shared again: reasons cleared");
	vm_free(vm);
}

static void release_result(struct vcma_vm *vm, uint64_t req, uint64_t grant, uint32_t status,
			   const char *holder, int64_t now)
{
	struct vcma_msg *m = msg(VCMA_MSG_RELEASE_RESULT, req);

	m->u.release_result.status = status;
	m->u.release_result.grant_id = grant;
	snprintf(m->u.release_result.holder, sizeof(m->u.release_result.holder), "%s", holder);
	feed(vm, m, now);
}

/* A grant a guest driver holds: the guest keeps it, so does vcmad, until it is let go. */
static void test_claimed_release(void)
{
	struct wire w;
	struct vcma_vm *vm = vm_new("t", "/nowhere", &lim);
	struct rsv_spec s = { .size = 2 * M, .count = 2 };
	struct vcma_msg got;
	uint64_t first;
	bool again = false;

	guest_caps |= VCMA_CAP_ADDR_LIMIT;
	vm_reserve(vm, &s, 0, &first);
	vm->rsv[0].state = vm->rsv[1].state = RSV_GRANTED;
	vm->rsv[0].grant_id = 100;
	vm->rsv[1].grant_id = 101;
	memset(&w, 0, sizeof(w));
	vm->write = capture;
	vm->io = &w;
	vm_session_start(vm, 0);
	ok(sent(&w, &got) && got.type == VCMA_MSG_HELLO && (got.u.hello.caps & VCMA_CAP_ADDR_LIMIT),
	   "vcmad offers bit 6 (claims)");
	guest_hello(vm, 1, 1024 * M, 0);
	const struct vcma_grant_info_h grants[] = {
		{ 100, BASE, 2 * M, 1, "", VCMA_GRANT_F_CLAIMED | VCMA_GRANT_F_EXPORTED, "drv0" },
		{ 101, BASE + 2 * M, 2 * M, 2, "", 0, "" },
	};
	guest_status(vm, &w, grants, 2, 10);
	ok(vm->conn == VM_READY && vm->st.protocol_errors == 0 &&
	   !strcmp(vm->rsv[0].claimed_by, "drv0") &&
	   vm->rsv[0].holder_flags == (VCMA_GRANT_F_CLAIMED | VCMA_GRANT_F_EXPORTED) &&
	   !vm->rsv[1].claimed_by[0], "STATUS with holders: reservation 1 claimed by drv0");

	ok(vm_release(vm, 1, 20) == 1, "release of the claimed reservation: releasing");
	vm_pump(vm, 20);
	ok(sent_type(&w, &got, VCMA_MSG_RELEASE) && got.u.release.grant_id == 100, "RELEASE sent");
	release_result(vm, got.id, 100, VCMA_E_CLAIMED, "drv0", 30);
	ok(vm->nr_rsv == 2 && vm->rsv[0].state == RSV_GRANTED && vm->rsv[0].grant_id == 100 &&
	   vm->rsv[0].status == VCMA_E_CLAIMED && !strcmp(vm->rsv[0].claimed_by, "drv0") &&
	   strstr(vm->rsv[0].detail, "busy, claimed by drv0"),
	   "E_CLAIMED: granted again, grant kept, claimed by drv0 (%s)", vm->rsv[0].detail);
	vm_tick(vm, 5000);
	while (sent(&w, &got))
		again |= got.type == VCMA_MSG_RELEASE;
	ok(!again, "no RELEASE is repeated on its own");

	/* the driver let go: the operator's next release goes through */
	ok(vm_release(vm, 1, 6000) == 1, "release again");
	vm_pump(vm, 6000);
	ok(sent_type(&w, &got, VCMA_MSG_RELEASE) && got.u.release.grant_id == 100, "RELEASE again");
	release_result(vm, got.id, 100, VCMA_OK, "", 6010);
	ok(vm->nr_rsv == 1 && vm->rsv[0].id == 2, "released once the holder let go");

	/* a refusal that may pass is retried after a backoff, not in a loop */
	ok(vm_release(vm, 2, 7000) == 1, "release of reservation 2");
	vm_pump(vm, 7000);
	ok(sent_type(&w, &got, VCMA_MSG_RELEASE) && got.u.release.grant_id == 101, "RELEASE sent");
	release_result(vm, got.id, 101, VCMA_E_INTERNAL, "", 7010);
	ok(vm->rsv[0].state == RSV_RELEASING && !sent_type(&w, &got, VCMA_MSG_RELEASE),
	   "E_INTERNAL: still releasing, not asked again at once");
	vm_tick(vm, 8100);
	ok(sent_type(&w, &got, VCMA_MSG_RELEASE) && got.u.release.grant_id == 101,
	   "asked again after the backoff");
	release_result(vm, got.id, 101, VCMA_OK, "", 8110);
	ok(vm->nr_rsv == 0, "released");
	vm_free(vm);

	/* a guest without bit 6 must not send the claimed forms */
	guest_caps &= ~VCMA_CAP_ADDR_LIMIT;
	s.count = 1;
	vm = ready_vm(&w, NULL, 0);
	vm_reserve(vm, &s, 0, &first);
	vm->rsv[0].state = RSV_GRANTED;
	vm->rsv[0].grant_id = 200;
	vm_release(vm, first, 100);
	vm_pump(vm, 100);
	ok(sent_type(&w, &got, VCMA_MSG_RELEASE), "RELEASE to a guest without bit 6");
	release_result(vm, got.id, 200, VCMA_E_CLAIMED, "x", 110);
	ok(vm->st.protocol_errors == 1 && vm->rsv[0].state == RSV_GRANTED,
	   "E_CLAIMED without bit 6: a violation, the grant still kept");
	vm_release(vm, first, 200);
	vm_pump(vm, 200);
	ok(sent_type(&w, &got, VCMA_MSG_RELEASE), "RELEASE again");
	release_result(vm, got.id, 200, VCMA_E_BUSY, "", 210);
	ok(vm->rsv[0].state == RSV_GRANTED && vm->rsv[0].status == VCMA_E_BUSY &&
	   strstr(vm->rsv[0].detail, "busy"), "E_BUSY from an older guest: kept as well");
	vm_free(vm);
}

/*
 * An address-limited reservation: the limit goes on the wire only to a guest
 * with bit 6, a grant above it is a violation, a guest without bit 6 fails
 * it (never reserves without the limit).
 */
static void test_addr_limit(void)
{
	struct wire w;
	struct vcma_vm *vm;
	struct rsv_spec s = { .size = 16 * M, .count = 2, .max_addr = BASE + 256 * M,
			      .label = "edu0" };
	struct vcma_msg a, b;
	uint64_t first, saved = guest_caps;

	guest_caps |= VCMA_CAP_ADDR_LIMIT;
	vm = ready_vm(&w, NULL, 0);
	ok(vm->caps & VCMA_CAP_ADDR_LIMIT, "bit 6 common");
	ok(vm_reserve(vm, &s, 100, &first) == 0 && vm->rsv[0].max_addr == BASE + 256 * M,
	   "limited reservation desired");
	vm_pump(vm, 100);
	ok(sent(&w, &a) && a.type == VCMA_MSG_RESERVE && a.u.reserve.max_addr == BASE + 256 * M,
	   "RESERVE carries max_addr");
	ok(sent(&w, &b) && b.u.reserve.max_addr == BASE + 256 * M, "so does the second");
	reserve_result(vm, a.id, 1, VCMA_OK, 11, BASE + 240 * M, 16 * M, 110);
	ok(vm->rsv[0].state == RSV_GRANTED && vm->st.protocol_errors == 0,
	   "a grant ending at the limit is believed");
	reserve_result(vm, b.id, 2, VCMA_OK, 12, BASE + 256 * M, 16 * M, 120);
	ok(vm->rsv[1].state == RSV_FAILED && vm->rsv[1].status == VCMA_E_PROTO &&
	   vm->st.protocol_errors == 1, "a grant above the limit is a violation, not a grant");
	vm_pump(vm, 130);
	ok(sent(&w, &a) && a.type == VCMA_MSG_RELEASE && a.u.release.grant_id == 12,
	   "and is given back");
	s.max_addr = 8 * M;
	ok(vm_reserve(vm, &s, 140, &first) == -EINVAL, "a limit below the size is refused");
	vm_free(vm);

	guest_caps = saved & ~VCMA_CAP_ADDR_LIMIT;
	vm = ready_vm(&w, NULL, 0);
	s.max_addr = BASE + 256 * M;
	s.count = 1;
	vm_reserve(vm, &s, 100, &first);
	s.max_addr = 0;
	vm_reserve(vm, &s, 100, &first);
	vm_pump(vm, 100);
	ok(vm->rsv[0].state == RSV_FAILED && vm->rsv[0].status == VCMA_E_UNSUPPORTED &&
	   strstr(vm->rsv[0].detail, "address limit"),
	   "without bit 6 a limited reservation fails: %s", vm->rsv[0].detail);
	ok(sent(&w, &a) && a.type == VCMA_MSG_RESERVE && a.u.reserve.tag == 2 &&
	   a.u.reserve.max_addr == 0 && !sent(&w, &b),
	   "only the unlimited one is sent, no RESERVE without its limit");
	vm_free(vm);
	guest_caps = saved;
}

/* A BALLOON_REPORT of n 2 MiB chunks from gpa on, id 0 = unsolicited. */
static void balloon_report(struct vcma_vm *vm, uint64_t id, uint8_t dir, uint64_t gpa,
			   uint16_t n, uint64_t actual, int64_t now)
{
	struct vcma_msg *m = msg(VCMA_MSG_BALLOON_REPORT, id);
	struct vcma_balloon_report_h *r = &m->u.balloon_report;

	r->target_bytes = id ? vm->balloon_target : actual;
	r->actual_bytes = actual;
	r->status = VCMA_OK;
	r->chunk_order = 9;
	r->direction = n ? dir : 0;
	r->nr_chunks = n;
	for (uint16_t i = 0; i < n; i++)
		r->chunks[i] = gpa + i * 2 * M;
	feed(vm, m, now);
}

static json_object *pressure_of(struct vcma_vm *vm, int64_t now, json_object **all)
{
	*all = balloon_json(vm, now);
	return json_object_object_get(*all, "pressure");
}

static uint64_t jget(json_object *o, const char *k)
{
	return (uint64_t)json_object_get_int64(json_object_object_get(o, k));
}

/*
 * Deflate under guest pressure: the confirming BALLOON_SET after chunks were
 * inflated, the record of an unsolicited deflate, the backoff, the metrics.
 */
static void test_pressure(void)
{
	struct wire w;
	struct vcma_vm *vm;
	struct vcma_msg q, *ev;
	json_object *all, *p;
	char *text = NULL;
	size_t len = 0;
	FILE *f;

	/* Without the capability no confirming BALLOON_SET. */
	guest_caps = VCMA_CAP_RESERVE | VCMA_CAP_STATUS | VCMA_CAP_BALLOON | VCMA_CAP_EVENTS;
	vm = ready_vm(&w, NULL, 0);
	ok(!(vm->caps & VCMA_CAP_PRESSURE_DEFLATE), "guest without PRESSURE_DEFLATE: not common");
	ok(sent_type(&w, &q, VCMA_MSG_BALLOON_SET) && !q.u.balloon_set.target_bytes,
	   "ready: the stored target (0) is applied");
	balloon_report(vm, q.id, 0, 0, 0, 0, 90);
	balloon_set_target(vm, 8 * M, 100);
	vm_pump(vm, 100);
	ok(sent_type(&w, &q, VCMA_MSG_BALLOON_SET) && q.u.balloon_set.target_bytes == 8 * M,
	   "BALLOON_SET 8 MiB sent");
	balloon_report(vm, q.id, VCMA_BALLOON_INFLATED, BASE, 4, 8 * M, 110);
	vm_pump(vm, 120);
	ok(!sent_type(&w, &q, VCMA_MSG_BALLOON_SET), "settled: no second BALLOON_SET");
	vm_free(vm);

	guest_caps |= VCMA_CAP_PRESSURE_DEFLATE;
	vm = ready_vm(&w, NULL, 0);
	ok(vm->caps & VCMA_CAP_PRESSURE_DEFLATE, "guest with PRESSURE_DEFLATE: common");
	ok(sent_type(&w, &q, VCMA_MSG_BALLOON_SET) && !q.u.balloon_set.target_bytes,
	   "ready: the stored target (0) is applied");
	balloon_report(vm, q.id, 0, 0, 0, 0, 90);
	balloon_set_target(vm, 8 * M, 100);
	vm_pump(vm, 100);
	ok(sent_type(&w, &q, VCMA_MSG_BALLOON_SET) && q.u.balloon_set.target_bytes == 8 * M,
	   "BALLOON_SET 8 MiB sent");
	balloon_report(vm, q.id, VCMA_BALLOON_INFLATED, BASE, 4, 8 * M, 110);
	vm_pump(vm, 120);
	ok(sent_type(&w, &q, VCMA_MSG_BALLOON_SET) && q.u.balloon_set.target_bytes == 8 * M,
	   "chunks inflated: the same target once more, so the guest may give them back");
	balloon_report(vm, q.id, VCMA_BALLOON_INFLATED, 0, 0, 8 * M, 130);
	vm_pump(vm, 140);
	ok(!sent_type(&w, &q, VCMA_MSG_BALLOON_SET) && balloon_idle(vm),
	   "nothing inflated by the confirmation: settled");

	/* The guest gives 2 chunks back under pressure. */
	balloon_report(vm, 0, VCMA_BALLOON_DEFLATED, BASE + 4 * M, 2, 4 * M, 1000);
	ev = msg(VCMA_MSG_EVENT, 0);
	ev->u.event.kind = VCMA_EV_PRESSURE_DEFLATE;
	ev->u.event.arg0 = 4 * M;
	ev->u.event.arg1 = 4 * M;
	feed(vm, ev, 1000);
	p = pressure_of(vm, 1500, &all);
	ok(!vm->drop && vm->bal->nr_chunks == 2 && vm->guest.balloon_bytes == 4 * M,
	   "unsolicited deflate: 2 chunks left, balloon 4 MiB");
	ok(jget(p, "events") == 1 && jget(p, "deflated_bytes") == 4 * M && jget(p, "chunks") == 2 &&
	   jget(p, "last_bytes") == 4 * M && jget(p, "last_ago_ms") == 500 &&
	   json_object_get_boolean(json_object_object_get(p, "holding")) &&
	   jget(p, "reinflate_in_ms") == lim.pressure_backoff_ms - 500 &&
	   jget(p, "backoff_ms") == lim.pressure_backoff_ms,
	   "GET balloon records the pressure deflate (bytes, chunks, when, backoff)");
	json_object_put(all);
	vm_pump(vm, 1000 + lim.pressure_backoff_ms - 1);
	ok(!sent_type(&w, &q, VCMA_MSG_BALLOON_SET), "no inflating BALLOON_SET during the backoff");
	vm_pump(vm, 1000 + lim.pressure_backoff_ms);
	ok(sent_type(&w, &q, VCMA_MSG_BALLOON_SET) && q.u.balloon_set.target_bytes == 8 * M,
	   "after the backoff: towards the target again");
	balloon_report(vm, q.id, VCMA_BALLOON_INFLATED, BASE + 4 * M, 2, 8 * M, 1000 + lim.pressure_backoff_ms + 10);
	ok(!vm->drop && vm->bal->nr_chunks == 4, "re-inflated, the chunks given back taken again");

	f = open_memstream(&text, &len);
	balloon_metrics(f, &vm, 1);
	fclose(f);
	ok(strstr(text, "vcmad_balloon_pressure_deflated_bytes_total{vm=\"t\"} 4194304\n") &&
	   strstr(text, "vcmad_balloon_pressure_deflates_total{vm=\"t\"} 1\n"),
	   "metrics count the pressure deflate");
	free(text);

	balloon_set_pressure_backoff(vm, 5000);
	p = pressure_of(vm, 2000, &all);
	ok(jget(p, "backoff_ms") == 5000, "a VM's own backoff wins over the global one");
	json_object_put(all);
	vm_free(vm);
	guest_caps = VCMA_CAP_RESERVE | VCMA_CAP_STATUS;
}

int main(void)
{
	vm_limits_default(&lim);
	lim.max_frames_per_sec = 200;
	test_reserve_flow();
	test_validation();
	test_overlap();
	test_sync();
	test_timers();
	test_suspended();
	test_hostile();
	test_again_and_lost();
	test_hello_rules();
	test_pinned();
	test_claimed_release();
	test_addr_limit();
	test_pressure();
	return tap_done();
}
