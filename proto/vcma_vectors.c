// SPDX-License-Identifier: MIT
/*
 * Test vectors of PROTOCOL.md. Valid vectors are messages built here and
 * encoded by the real encoder; invalid ones are a valid encoding with a few
 * bytes patched (offsets taken from the wire structs, so they follow the
 * layout) and the decode error that must result.
 */
#include "vcma_vectors.h"

#include <stdlib.h>
#include <string.h>

#define HDR		sizeof(struct vcma_hdr)
#define PL(type, field)	(HDR + offsetof(struct type, field))
#define MIB		(1024ull * 1024)

static const uint8_t boot_id[16] = {
	0x3f, 0x2a, 0x91, 0x0c, 0x5e, 0x44, 0x4b, 0x1d,
	0x8a, 0x62, 0x07, 0xc3, 0xe9, 0x15, 0x70, 0xb8,
};

static void hello_host(struct vcma_msg *m)
{
	struct vcma_hello_h *h = &m->u.hello;

	vcma_msg_init(m, VCMA_MSG_HELLO, 1);
	h->proto_min = 1;
	h->proto_max = 1;
	h->role = VCMA_ROLE_HOST;
	h->caps = VCMA_CAP_RESERVE | VCMA_CAP_BALLOON | VCMA_CAP_STATUS |
		  VCMA_CAP_EVENTS;
	strcpy(h->software, "vcmad 0.1.0");
}

static void hello_guest(struct vcma_msg *m)
{
	struct vcma_hello_h *h = &m->u.hello;

	vcma_msg_init(m, VCMA_MSG_HELLO, 1);
	h->proto_min = 1;
	h->proto_max = 1;
	h->role = VCMA_ROLE_GUEST;
	h->pageblock_order = 9;
	h->max_order = 10;
	h->caps = VCMA_CAP_RESERVE | VCMA_CAP_BALLOON | VCMA_CAP_STATUS |
		  VCMA_CAP_EVENTS | VCMA_CAP_PRESSURE_DEFLATE;
	h->page_size = 4096;
	memcpy(h->boot_id, boot_id, sizeof(boot_id));
	h->mem_total = 3968 * MIB;
	h->mem_free = 3500 * MIB;
	h->mem_movable = 1024 * MIB;
	strcpy(h->software, "vcma-agent 0.1.0");
	h->nr_ranges = 2;
	h->ranges[0] = (struct vcma_mem_range_h){ 0x100000, 3071 * MIB, 0,
						  VCMA_ZONE_DMA32 };
	h->ranges[1] = (struct vcma_mem_range_h){ 0x100000000ull, 1024 * MIB,
						  0, VCMA_ZONE_MOVABLE };
}

/* What a future v2 guest sends: a wider version range, a capability v1 lacks. */
static void hello_guest_v2(struct vcma_msg *m)
{
	hello_guest(m);
	m->u.hello.proto_max = 2;
	m->u.hello.caps |= 1ull << 40;
	m->u.hello.nr_ranges = 0;
}

static void reserve(struct vcma_msg *m)
{
	struct vcma_reserve_h *r = &m->u.reserve;

	vcma_msg_init(m, VCMA_MSG_RESERVE, 2);
	r->size = 64 * MIB;
	r->align = 2 * MIB;
	r->tag = 0x1001;
	r->node = VCMA_NODE_ANY;
	r->flags = VCMA_RSV_WAIT_PINS;
	r->deadline_ms = 5000;
	strcpy(r->label, "gpu0-fb");
}

/* The address-limited form (VCMA_CAP_ADDR_LIMIT): 16 MiB below 256 MiB for a 28-bit device. */
static void reserve_below(struct vcma_msg *m)
{
	struct vcma_reserve_h *r = &m->u.reserve;

	vcma_msg_init(m, VCMA_MSG_RESERVE, 9);
	r->size = 16 * MIB;
	r->tag = 0x1003;
	r->node = VCMA_NODE_ANY;
	r->flags = VCMA_RSV_FAIL_FAST;
	r->max_addr = 256 * MIB;
	strcpy(r->label, "edu0");
}

static void reserve_result_addr_limit(struct vcma_msg *m)
{
	struct vcma_reserve_result_h *r = &m->u.reserve_result;

	vcma_msg_init(m, VCMA_MSG_RESERVE_RESULT, 9);
	r->status = VCMA_E_NOSPC;
	r->tag = 0x1003;
	r->ev = (struct vcma_evidence_h){ .elapsed_us = 12, .cause = VCMA_CAUSE_ADDR_LIMIT };
}

static void reserve_result_ok(struct vcma_msg *m)
{
	struct vcma_reserve_result_h *r = &m->u.reserve_result;

	vcma_msg_init(m, VCMA_MSG_RESERVE_RESULT, 2);
	r->status = VCMA_OK;
	r->grant_id = 17;
	r->gpa = 0x140000000ull;
	r->size = 64 * MIB;
	r->tag = 0x1001;
	r->ev = (struct vcma_evidence_h){
		.ranges_scanned = 12, .ranges_tried = 2, .pages_migrated = 4310,
		.pinned_met = 0, .bh_invalidations = 1, .retries = 1,
		.elapsed_us = 38250, .cause = VCMA_CAUSE_NONE,
	};
}

static void reserve_result_busy(struct vcma_msg *m)
{
	struct vcma_reserve_result_h *r = &m->u.reserve_result;

	vcma_msg_init(m, VCMA_MSG_RESERVE_RESULT, 3);
	r->status = VCMA_E_BUSY;
	r->tag = 0x1002;
	r->ev = (struct vcma_evidence_h){
		.ranges_scanned = 40, .ranges_tried = 40, .pages_migrated = 120,
		.pinned_met = 40, .retries = 5, .elapsed_us = 5000000,
		.cause = VCMA_CAUSE_PINNED,
	};
}

static void release(struct vcma_msg *m)
{
	vcma_msg_init(m, VCMA_MSG_RELEASE, 4);
	m->u.release.grant_id = 17;
}

static void release_result(struct vcma_msg *m)
{
	vcma_msg_init(m, VCMA_MSG_RELEASE_RESULT, 4);
	m->u.release_result.status = VCMA_OK;
	m->u.release_result.grant_id = 17;
}

/* Bit 6: the grant is a guest driver's; its holder comes back instead of OK. */
static void release_result_claimed(struct vcma_msg *m)
{
	vcma_msg_init(m, VCMA_MSG_RELEASE_RESULT, 4);
	m->u.release_result.status = VCMA_E_CLAIMED;
	m->u.release_result.grant_id = 17;
	strcpy(m->u.release_result.holder, "edu-0000:00:03.0");
}

static void balloon_set(struct vcma_msg *m)
{
	vcma_msg_init(m, VCMA_MSG_BALLOON_SET, 5);
	m->u.balloon_set.target_bytes = 512 * MIB;
	m->u.balloon_set.chunk_order = 9;
}

static void balloon_report(struct vcma_msg *m)
{
	struct vcma_balloon_report_h *b = &m->u.balloon_report;

	vcma_msg_init(m, VCMA_MSG_BALLOON_REPORT, 5);
	m->flags = VCMA_HDR_F_MORE;
	b->target_bytes = 512 * MIB;
	b->actual_bytes = 8 * MIB;
	b->status = VCMA_E_AGAIN;
	b->chunk_order = 9;
	b->direction = VCMA_BALLOON_INFLATED;
	b->nr_chunks = 4;
	for (unsigned int i = 0; i < 4; i++)
		b->chunks[i] = 0xc0000000ull + i * 2 * MIB;
}

static void balloon_report_done(struct vcma_msg *m)
{
	struct vcma_balloon_report_h *b = &m->u.balloon_report;

	vcma_msg_init(m, VCMA_MSG_BALLOON_REPORT, 5);
	b->target_bytes = 512 * MIB;
	b->actual_bytes = 512 * MIB;
	b->status = VCMA_OK;
	b->chunk_order = 9;
}

static void status(struct vcma_msg *m)
{
	vcma_msg_init(m, VCMA_MSG_STATUS, 6);
}

static void status_result(struct vcma_msg *m)
{
	struct vcma_status_result_h *s = &m->u.status_result;

	vcma_msg_init(m, VCMA_MSG_STATUS_RESULT, 6);
	s->mem_total = 3968 * MIB;
	s->mem_free = 2900 * MIB;
	s->mem_available = 3100 * MIB;
	s->balloon_bytes = 512 * MIB;
	s->grant_bytes = 80 * MIB;
	s->reserve_ok = 2;
	s->reserve_fail = 1;
	s->floor_pages = 32768;
	memcpy(s->boot_id, boot_id, sizeof(boot_id));
	s->nr_grants = 2;
	s->grants[0] = (struct vcma_grant_info_h){ 17, 0x140000000ull, 64 * MIB,
						   0x1001, "gpu0-fb", 0, "" };
	s->grants[1] = (struct vcma_grant_info_h){ 18, 0x148000000ull, 16 * MIB,
						   0x1003, "nic-rx", 0, "" };
}

/* Bit 6: the same two grants in 120-byte entries, one claimed and exported. */
static void status_result_holders(struct vcma_msg *m)
{
	struct vcma_status_result_h *s = &m->u.status_result;

	status_result(m);
	s->holders = 1;
	s->grants[0].flags = VCMA_GRANT_F_CLAIMED | VCMA_GRANT_F_EXPORTED;
	strcpy(s->grants[0].holder, "edu-0000:00:03.0");
}

static void event(struct vcma_msg *m)
{
	vcma_msg_init(m, VCMA_MSG_EVENT, 0);
	m->u.event.kind = VCMA_EV_PRESSURE_DEFLATE;
	m->u.event.arg0 = 64 * MIB;
}

static void ping(struct vcma_msg *m)
{
	vcma_msg_init(m, VCMA_MSG_PING, 0x8000000000000007ull);
}

static void pong(struct vcma_msg *m)
{
	vcma_msg_init(m, VCMA_MSG_PONG, 0x8000000000000007ull);
}

static void error_answer(struct vcma_msg *m)
{
	vcma_msg_init(m, VCMA_MSG_ERROR, 8);
	m->u.error.status = VCMA_E_UNSUPPORTED;
	m->u.error.ref_type = VCMA_MSG_BALLOON_SET;
	strcpy(m->u.error.message, "balloon capability not negotiated");
}

static void balloon_stats(struct vcma_msg *m)
{
	vcma_msg_init(m, VCMA_MSG_BALLOON_STATS, 10);
}

/* A two-node guest holding 512 MiB in 2 MiB chunks, every counter known. */
static void balloon_stats_result(struct vcma_msg *m)
{
	struct vcma_balloon_stats_result_h *s = &m->u.balloon_stats_result;

	vcma_msg_init(m, VCMA_MSG_BALLOON_STATS_RESULT, 10);
	s->valid = VCMA_BST_KNOWN;
	s->chunk_order = 9;
	s->nr_nodes = 2;
	s->actual_bytes = 512 * MIB;
	s->mem_total = 3456 * MIB;
	s->mem_free = 2100 * MIB;
	s->mem_available = 2900 * MIB;
	s->disk_caches = 700 * MIB;
	s->swap_in = 0;
	s->swap_out = 4096;
	s->major_faults = 412;
	s->minor_faults = 1830211;
	s->oom_kills = 0;
	s->hugetlb_allocs = 0;
	s->hugetlb_failures = 0;
	s->pressure_deflated = 64 * MIB;
	s->pressure_events = 1;
	s->chunks_by_node[0] = 160;
	s->chunks_by_node[1] = 96;
}

/* A guest without swap accounting or vcma.ko's pressure files: those bits clear, zero. */
static void balloon_stats_result_partial(struct vcma_msg *m)
{
	struct vcma_balloon_stats_result_h *s = &m->u.balloon_stats_result;

	balloon_stats_result(m);
	s->valid = VCMA_BST_KNOWN & ~(VCMA_BST_SWAP_IN | VCMA_BST_SWAP_OUT |
				      VCMA_BST_PRESSURE_DEFLATED | VCMA_BST_PRESSURE_EVENTS);
	s->swap_in = s->swap_out = s->pressure_deflated = s->pressure_events = 0;
}

#define P(o, ...) { (uint16_t)(o), sizeof((uint8_t[]){ __VA_ARGS__ }), { __VA_ARGS__ } }
#define LE32(v) (uint8_t)(v), (uint8_t)((v) >> 8), (uint8_t)((v) >> 16), (uint8_t)((v) >> 24)

const struct vcma_vector vcma_vectors[] = {
	/* Valid: at least one per message type. */
	{ "hello-host", "HELLO from the host (id 1): versions 1..1, caps RESERVE|BALLOON|STATUS|EVENTS",
	  hello_host, .expect = VCMA_CERR_OK },
	{ "hello-guest", "HELLO from a guest answering id 1: 4 KiB pages, pageblock order 9, two memory ranges",
	  hello_guest, .expect = VCMA_CERR_OK },
	{ "hello-guest-v2", "HELLO from a future guest speaking versions 1..2 with capability bit 40; a v1 peer accepts it and negotiates 1",
	  hello_guest_v2, .expect = VCMA_CERR_OK },
	{ "reserve", "RESERVE id 2: 64 MiB aligned to 2 MiB, tag 0x1001, any node, WAIT_PINS, deadline 5 s, label \"gpu0-fb\"",
	  reserve, .expect = VCMA_CERR_OK },
	{ "reserve-below", "RESERVE id 9 in the 80-byte form (VCMA_CAP_ADDR_LIMIT): 16 MiB ending at or below 256 MiB, FAIL_FAST, label \"edu0\"",
	  reserve_below, .expect = VCMA_CERR_OK },
	{ "reserve-result-addr-limit", "RESERVE_RESULT id 9: E_NOSPC, cause addr_limit (no window below the limit), nothing evacuated",
	  reserve_result_addr_limit, .expect = VCMA_CERR_OK },
	{ "reserve-result-ok", "RESERVE_RESULT id 2: granted, grant 17 at GPA 0x140000000, with evidence",
	  reserve_result_ok, .expect = VCMA_CERR_OK },
	{ "reserve-result-busy", "RESERVE_RESULT id 3: E_BUSY, cause pinned, no grant",
	  reserve_result_busy, .expect = VCMA_CERR_OK },
	{ "release", "RELEASE id 4: grant 17", release, .expect = VCMA_CERR_OK },
	{ "release-result-claimed", "RELEASE_RESULT id 4 in the 64-byte form (VCMA_CAP_ADDR_LIMIT): E_CLAIMED, grant 17 held by \"edu-0000:00:03.0\"",
	  release_result_claimed, .expect = VCMA_CERR_OK },
	{ "status-result-holders", "STATUS_RESULT id 6 with 120-byte entries (VCMA_CAP_ADDR_LIMIT): grant 17 claimed and exported by \"edu-0000:00:03.0\", grant 18 free",
	  status_result_holders, .expect = VCMA_CERR_OK },
	{ "release-result", "RELEASE_RESULT id 4: OK, grant 17", release_result,
	  .expect = VCMA_CERR_OK },
	{ "balloon-set", "BALLOON_SET id 5: target 512 MiB in 2 MiB chunks (order 9)",
	  balloon_set, .expect = VCMA_CERR_OK },
	{ "balloon-report-more", "BALLOON_REPORT id 5 with MORE: in progress (E_AGAIN), 4 chunks inflated",
	  balloon_report, .expect = VCMA_CERR_OK },
	{ "balloon-report-done", "BALLOON_REPORT id 5, last of the sequence: target reached, no chunks",
	  balloon_report_done, .expect = VCMA_CERR_OK },
	{ "status", "STATUS id 6 (empty payload)", status, .expect = VCMA_CERR_OK },
	{ "status-result", "STATUS_RESULT id 6: counters and two grants", status_result,
	  .expect = VCMA_CERR_OK },
	{ "event", "EVENT (unsolicited, id 0): PRESSURE_DEFLATE of 64 MiB", event,
	  .expect = VCMA_CERR_OK },
	{ "ping", "PING id 0x8000000000000007 (host-chosen keepalive id)", ping,
	  .expect = VCMA_CERR_OK },
	{ "pong", "PONG answering that PING", pong, .expect = VCMA_CERR_OK },
	{ "error", "ERROR id 8 answering a BALLOON_SET: E_UNSUPPORTED with a message",
	  error_answer, .expect = VCMA_CERR_OK },
	{ "balloon-stats", "BALLOON_STATS id 10 (VCMA_CAP_BALLOON_STATS, empty payload)",
	  balloon_stats, .expect = VCMA_CERR_OK },
	{ "balloon-stats-result", "BALLOON_STATS_RESULT id 10: every counter known, 512 MiB ballooned as 160 + 96 2 MiB chunks on nodes 0 and 1",
	  balloon_stats_result, .expect = VCMA_CERR_OK },
	{ "balloon-stats-result-partial", "BALLOON_STATS_RESULT id 10 without the swap and pressure counters (bits clear, fields zero)",
	  balloon_stats_result_partial, .expect = VCMA_CERR_OK },

	/* Invalid: what a receiver must reject, and with which error. */
	{ "bad-magic", "ping with the first magic byte changed to 'X'", ping,
	  { P(0, 'X') }, 0, VCMA_CERR_MAGIC },
	{ "bad-version", "ping with header version 2 (not spoken by a v1 decoder)", ping,
	  { P(4, 2) }, 0, VCMA_CERR_VERSION },
	{ "hello-version-2", "HELLO with header version 2: HELLO always travels as version 1",
	  hello_host, { P(4, 2) }, 0, VCMA_CERR_VERSION },
	{ "unknown-type", "ping with type 16", ping, { P(5, 16) }, 0, VCMA_CERR_TYPE },
	{ "type-zero", "ping with type 0", ping, { P(5, 0) }, 0, VCMA_CERR_TYPE },
	{ "unknown-flag", "ping with flag bit 1 set", ping, { P(6, 2) }, 0,
	  VCMA_CERR_FLAGS },
	{ "more-on-reserve", "RESERVE with MORE: only STATUS_RESULT and BALLOON_REPORT continue",
	  reserve, { P(6, 1) }, 0, VCMA_CERR_FLAGS },
	{ "header-reserved", "ping with the header's reserved word = 1", ping,
	  { P(12, 1) }, 0, VCMA_CERR_RESERVED },
	{ "too-big", "ping claiming a 65537-byte payload (rejected from the header alone)",
	  ping, { P(8, LE32(VCMA_MAX_PAYLOAD + 1)) }, 0, VCMA_CERR_TOOBIG },
	{ "ping-with-payload", "ping carrying 8 zero bytes of payload", ping,
	  { P(8, 8) }, HDR + 8, VCMA_CERR_LENGTH },
	{ "reserve-short-payload", "RESERVE with payload_len 71 and 71 bytes",
	  reserve, { P(8, 71) }, HDR + 71, VCMA_CERR_LENGTH },
	{ "truncated", "RESERVE cut after 40 of its 96 bytes (a stream would wait for more)",
	  reserve, { { 0 } }, 40, VCMA_CERR_SHORT },
	{ "count-over-payload", "BALLOON_REPORT saying 5 chunks but carrying 4",
	  balloon_report, { P(PL(vcma_balloon_report, nr_chunks), 5) }, 0,
	  VCMA_CERR_COUNT },
	{ "count-under-payload", "BALLOON_REPORT saying 3 chunks but carrying 4",
	  balloon_report, { P(PL(vcma_balloon_report, nr_chunks), 3) }, 0,
	  VCMA_CERR_COUNT },
	{ "count-over-max", "STATUS_RESULT saying 257 grants (max 256)",
	  status_result, { P(PL(vcma_status_result, nr_grants), 1, 1) }, 0,
	  VCMA_CERR_COUNT },
	{ "payload-reserved", "RESERVE with its reserved word = 1", reserve,
	  { P(PL(vcma_reserve, reserved), 1) }, 0, VCMA_CERR_RESERVED },
	{ "bad-status", "RELEASE_RESULT with status 13 (past E_CLAIMED)", release_result,
	  { P(PL(vcma_release_result, status), 13) }, 0, VCMA_CERR_VALUE },
	{ "claimed-short", "16-byte RELEASE_RESULT with status E_CLAIMED: E_CLAIMED names its holder",
	  release_result, { P(PL(vcma_release_result, status), 12) }, 0, VCMA_CERR_VALUE },
	{ "claimed-no-holder", "64-byte RELEASE_RESULT E_CLAIMED whose holder is empty",
	  release_result_claimed, { P(PL(vcma_release_result, holder), 0, 0, 0, 0, 0, 0, 0, 0),
				    P(PL(vcma_release_result, holder) + 8, 0, 0, 0, 0, 0, 0, 0, 0) }, 0,
	  VCMA_CERR_VALUE },
	{ "holder-with-ok", "64-byte RELEASE_RESULT with status OK: only E_CLAIMED has the long form",
	  release_result_claimed, { P(PL(vcma_release_result, status), 0) }, 0,
	  VCMA_CERR_VALUE },
	{ "release-result-40", "RELEASE_RESULT with payload_len 40: neither the 16- nor the 64-byte form",
	  release_result_claimed, { P(8, 40) }, HDR + 40, VCMA_CERR_LENGTH },
	{ "grant-flag-unknown", "STATUS_RESULT with holders whose first grant has flag bit 3",
	  status_result_holders,
	  { P(HDR + sizeof(struct vcma_status_result) + sizeof(struct vcma_grant_info), 0x0b) },
	  0, VCMA_CERR_VALUE },
	{ "grant-flag-no-holder", "STATUS_RESULT with holders whose second grant is CLAIMED but names no holder",
	  status_result_holders,
	  { P(HDR + sizeof(struct vcma_status_result) + VCMA_GRANT_INFO_EXT_LEN +
	      sizeof(struct vcma_grant_info), 1) }, 0, VCMA_CERR_VALUE },
	{ "grant-holder-reserved", "STATUS_RESULT with holders whose first grant has its reserved word = 1",
	  status_result_holders,
	  { P(HDR + sizeof(struct vcma_status_result) + sizeof(struct vcma_grant_info) +
	      offsetof(struct vcma_grant_holders, reserved), 1) }, 0, VCMA_CERR_RESERVED },
	{ "grants-neither-size", "STATUS_RESULT of two grants with 120-byte entries cut by 8 bytes: fits neither entry size",
	  status_result_holders, { P(8, LE32(sizeof(struct vcma_status_result) +
					      2 * VCMA_GRANT_INFO_EXT_LEN - 8)) },
	  HDR + sizeof(struct vcma_status_result) + 2 * VCMA_GRANT_INFO_EXT_LEN - 8,
	  VCMA_CERR_COUNT },
	{ "bad-cause", "RESERVE_RESULT with cause 255 (unknown)", reserve_result_busy,
	  { P(PL(vcma_reserve_result, ev.cause), 255) }, 0, VCMA_CERR_VALUE },
	{ "reserve-below-zero", "80-byte RESERVE whose max_addr is 0: the long form exists only to carry a limit",
	  reserve_below, { P(PL(vcma_reserve, max_addr), 0, 0, 0, 0, 0, 0, 0, 0) }, 0,
	  VCMA_CERR_VALUE },
	{ "reserve-below-unaligned", "RESERVE with max_addr 256 MiB + 1 (not a multiple of 4096)",
	  reserve_below, { P(PL(vcma_reserve, max_addr), 1) }, 0, VCMA_CERR_VALUE },
	{ "reserve-below-size", "RESERVE of 16 MiB with max_addr 8 MiB (the limit is below the size)",
	  reserve_below, { P(PL(vcma_reserve, max_addr), 0, 0, 0x80, 0) }, 0, VCMA_CERR_VALUE },
	{ "reserve-below-76", "RESERVE with payload_len 76: neither the 72- nor the 80-byte form",
	  reserve_below, { P(8, 76) }, HDR + 76, VCMA_CERR_LENGTH },
	{ "bad-zone", "guest HELLO whose first range has zone 4", hello_guest,
	  { P(HDR + sizeof(struct vcma_hello) + offsetof(struct vcma_mem_range, zone), 4) },
	  0, VCMA_CERR_VALUE },
	{ "bad-role", "HELLO with role 3", hello_host,
	  { P(PL(vcma_hello, role), 3) }, 0, VCMA_CERR_VALUE },
	{ "bad-label-char", "RESERVE whose label contains byte 0x07", reserve,
	  { P(PL(vcma_reserve, label) + 2, 7) }, 0, VCMA_CERR_VALUE },
	{ "bad-label-padding", "RESERVE whose label has 'x' after its terminating NUL",
	  reserve, { P(PL(vcma_reserve, label) + 20, 'x') }, 0, VCMA_CERR_VALUE },
	{ "error-status-ok", "ERROR with status OK", error_answer,
	  { P(PL(vcma_error, status), 0) }, 0, VCMA_CERR_VALUE },
	{ "event-kind-zero", "EVENT with kind 0", event,
	  { P(PL(vcma_event, kind), 0) }, 0, VCMA_CERR_VALUE },
	{ "release-grant-zero", "RELEASE of grant 0", release,
	  { P(PL(vcma_release, grant_id), 0) }, 0, VCMA_CERR_VALUE },
	{ "balloon-stats-with-payload", "BALLOON_STATS carrying 8 zero bytes", balloon_stats,
	  { P(8, 8) }, HDR + 8, VCMA_CERR_LENGTH },
	{ "balloon-stats-result-short", "BALLOON_STATS_RESULT with payload_len 176 and 176 bytes (one of 184 missing)",
	  balloon_stats_result, { P(8, 176) }, HDR + 176, VCMA_CERR_LENGTH },
	{ "balloon-stats-unknown-bit", "BALLOON_STATS_RESULT with valid bit 14 set (unknown)",
	  balloon_stats_result, { P(PL(vcma_balloon_stats_result, valid), 0xff, 0x7f) }, 0,
	  VCMA_CERR_VALUE },
	{ "balloon-stats-unknown-counter", "partial BALLOON_STATS_RESULT whose swap_in is 1 while its bit is clear",
	  balloon_stats_result_partial, { P(PL(vcma_balloon_stats_result, swap_in), 1) }, 0,
	  VCMA_CERR_VALUE },
	{ "balloon-stats-free-over-total", "BALLOON_STATS_RESULT whose mem_free (2^40 + 2100 MiB) exceeds mem_total",
	  balloon_stats_result, { P(PL(vcma_balloon_stats_result, mem_free) + 5, 1) }, 0,
	  VCMA_CERR_VALUE },
	{ "balloon-stats-nodes-17", "BALLOON_STATS_RESULT with nr_nodes 17 (max 16)",
	  balloon_stats_result, { P(PL(vcma_balloon_stats_result, nr_nodes), 17) }, 0,
	  VCMA_CERR_VALUE },
	{ "balloon-stats-node-past-count", "BALLOON_STATS_RESULT with chunks on node 2 of nr_nodes 2",
	  balloon_stats_result, { P(PL(vcma_balloon_stats_result, chunks_by_node) + 8, 1) }, 0,
	  VCMA_CERR_VALUE },
	{ "balloon-stats-reserved", "BALLOON_STATS_RESULT with its reserved half-word = 1",
	  balloon_stats_result, { P(PL(vcma_balloon_stats_result, reserved), 1) }, 0,
	  VCMA_CERR_RESERVED },
};

const size_t vcma_vectors_count = sizeof(vcma_vectors) / sizeof(vcma_vectors[0]);

int vcma_vector_bytes(const struct vcma_vector *v, uint8_t *buf, size_t cap)
{
	struct vcma_msg *m = malloc(sizeof(*m));
	int len;

	if (!m)
		return VCMA_CERR_NOMEM;
	v->build(m);
	len = vcma_encode(m, buf, cap);
	free(m);
	if (len < 0)
		return len;
	for (size_t i = 0; i < sizeof(v->patch) / sizeof(v->patch[0]); i++) {
		const struct vcma_vec_patch *p = &v->patch[i];

		if (!p->len)
			continue;
		if ((size_t)p->off + p->len > (size_t)len)
			return VCMA_CERR_NOSPACE;
		memcpy(buf + p->off, p->bytes, p->len);
	}
	if (v->resize) {
		if (v->resize > cap)
			return VCMA_CERR_NOSPACE;
		if (v->resize > (uint32_t)len)
			memset(buf + len, 0, v->resize - (uint32_t)len);
		len = (int)v->resize;
	}
	return len;
}

static const char *const cerr_names[] = {
	"VCMA_CERR_OK", "VCMA_CERR_SHORT", "VCMA_CERR_MAGIC", "VCMA_CERR_VERSION",
	"VCMA_CERR_TYPE", "VCMA_CERR_FLAGS", "VCMA_CERR_RESERVED",
	"VCMA_CERR_TOOBIG", "VCMA_CERR_LENGTH", "VCMA_CERR_COUNT",
	"VCMA_CERR_VALUE", "VCMA_CERR_NOSPACE", "VCMA_CERR_NOMEM",
};

const char *vcma_cerr_name(int err)
{
	if (err > 0 || -err >= (int)(sizeof(cerr_names) / sizeof(cerr_names[0])))
		return NULL;
	return cerr_names[-err];
}

int vcma_cerr_from_name(const char *name)
{
	for (size_t i = 0; i < sizeof(cerr_names) / sizeof(cerr_names[0]); i++) {
		if (strcmp(name, cerr_names[i]) == 0)
			return -(int)i;
	}
	return 1;
}
