/* SPDX-License-Identifier: MIT */
/*
 * vcma codec: the one encoder/decoder of vcma_proto.h frames, userspace C17.
 *
 * A struct vcma_msg is the host-endian view of one frame. Decoding is strict:
 * every length, count, reserved field, flag and enum is checked, and anything
 * off is rejected with a distinct vcma_codec_err. Encoding validates the same
 * rules so that a peer never sends what it would itself reject.
 *
 * The reassembler takes arbitrary byte chunks from a stream (virtio-serial,
 * unix socket), yields whole validated frames, skips garbage by resynchronising
 * on the magic, and never buffers more than its bound.
 */
#ifndef VCMA_CODEC_H
#define VCMA_CODEC_H

#include <stddef.h>
#include <stdint.h>

#include "vcma_proto.h"

enum vcma_codec_err {
	VCMA_CERR_OK		= 0,
	VCMA_CERR_SHORT		= -1,	/* not enough bytes yet (stream: need more) */
	VCMA_CERR_MAGIC		= -2,
	VCMA_CERR_VERSION	= -3,
	VCMA_CERR_TYPE		= -4,	/* unknown message type */
	VCMA_CERR_FLAGS		= -5,	/* unknown header flag */
	VCMA_CERR_RESERVED	= -6,	/* reserved field not zero */
	VCMA_CERR_TOOBIG	= -7,	/* payload_len > VCMA_MAX_PAYLOAD */
	VCMA_CERR_LENGTH	= -8,	/* payload_len wrong for the type */
	VCMA_CERR_COUNT		= -9,	/* array count over its max or the payload */
	VCMA_CERR_VALUE		= -10,	/* a field out of its range (enum, string) */
	VCMA_CERR_NOSPACE	= -11,	/* encode: output buffer too small */
	VCMA_CERR_NOMEM		= -12,
};

struct vcma_mem_range_h {
	uint64_t gpa;
	uint64_t size;
	uint32_t node;
	uint8_t zone;
};

struct vcma_hello_h {
	uint16_t proto_min, proto_max;
	uint8_t role, pageblock_order, max_order;
	uint64_t caps;
	uint32_t page_size;
	uint8_t boot_id[16];
	uint64_t mem_total, mem_free, mem_movable;
	char software[VCMA_NAME_LEN + 1];	/* NUL-terminated */
	uint32_t nr_ranges;
	struct vcma_mem_range_h ranges[VCMA_MAX_MEM_RANGES];
};

struct vcma_reserve_h {
	uint64_t size, align, tag;
	uint32_t node, flags, deadline_ms;
	char label[VCMA_NAME_LEN + 1];
	/*
	 * Exclusive upper GPA of the grant, 0 = none. Non-zero makes the frame
	 * the 80-byte form, which only a peer with VCMA_CAP_ADDR_LIMIT reads.
	 */
	uint64_t max_addr;
};

struct vcma_evidence_h {
	uint32_t ranges_scanned, ranges_tried, pages_migrated, pinned_met;
	uint32_t bh_invalidations, retries;
	uint64_t elapsed_us;
	uint32_t cause;
};

struct vcma_reserve_result_h {
	uint32_t status;
	uint64_t grant_id, gpa, size, tag;
	struct vcma_evidence_h ev;
};

struct vcma_release_h {
	uint64_t grant_id;
};

struct vcma_release_result_h {
	uint32_t status;
	uint64_t grant_id;
	/*
	 * VCMA_E_CLAIMED only (and then non-empty): who holds the grant. The
	 * status decides the form: E_CLAIMED is the 64-byte frame.
	 */
	char holder[VCMA_HOLDER_LEN + 1];
};

struct vcma_balloon_set_h {
	uint64_t target_bytes;
	uint8_t chunk_order;
};

struct vcma_balloon_report_h {
	uint64_t target_bytes, actual_bytes;
	uint32_t status;
	uint8_t chunk_order, direction;
	uint16_t nr_chunks;
	uint64_t chunks[VCMA_MAX_CHUNKS_FRAME];
};

struct vcma_grant_info_h {
	uint64_t grant_id, gpa, size, tag;
	char label[VCMA_NAME_LEN + 1];
	/* Only in the 120-byte entries (holders set in the status result). */
	uint32_t flags;				/* VCMA_GRANT_F_* */
	char holder[VCMA_HOLDER_LEN + 1];	/* non-empty iff flags */
};

struct vcma_status_result_h {
	uint64_t mem_total, mem_free, mem_available, balloon_bytes, grant_bytes;
	uint64_t reserve_ok, reserve_fail;
	uint32_t floor_pages;
	uint8_t boot_id[16];
	/*
	 * The entries carry flags and holder (120 bytes each, sent only when
	 * VCMA_CAP_ADDR_LIMIT is common); 0: 64-byte entries, whose flags
	 * must be 0 and holder empty. Decoding tells the two apart by the
	 * payload length (a frame without grants decodes as 0).
	 */
	uint8_t holders;	/* 0 or 1 */
	uint32_t nr_grants;
	struct vcma_grant_info_h grants[VCMA_MAX_GRANTS_FRAME];
};

struct vcma_event_h {
	uint32_t kind;
	uint64_t arg0, arg1;
};

struct vcma_balloon_stats_result_h {
	uint32_t valid;			/* VCMA_BST_* */
	uint8_t chunk_order, nr_nodes;
	uint64_t actual_bytes;
	/* The VCMA_BST_NR_COUNTERS counters, in the order of their bits. */
	uint64_t mem_total, mem_free, mem_available, disk_caches;
	uint64_t swap_in, swap_out, major_faults, minor_faults, oom_kills;
	uint64_t hugetlb_allocs, hugetlb_failures, pressure_deflated, pressure_events;
	uint32_t chunks_by_node[VCMA_STATS_MAX_NODES];
};

struct vcma_error_h {
	uint32_t status;
	uint8_t ref_type;
	char message[64 + 1];
};

/* One decoded frame. Large (about 30 KiB): allocate it, do not put it on small stacks. */
struct vcma_msg {
	uint8_t version;
	uint8_t type;		/* enum vcma_msg_type */
	uint16_t flags;		/* VCMA_HDR_F_* */
	uint64_t id;		/* request id */
	union {
		struct vcma_hello_h hello;
		struct vcma_reserve_h reserve;
		struct vcma_reserve_result_h reserve_result;
		struct vcma_release_h release;
		struct vcma_release_result_h release_result;
		struct vcma_balloon_set_h balloon_set;
		struct vcma_balloon_report_h balloon_report;
		struct vcma_status_result_h status_result;
		struct vcma_event_h event;
		struct vcma_error_h error;
		struct vcma_balloon_stats_result_h balloon_stats_result;
		/* STATUS, BALLOON_STATS, PING and PONG have no payload. */
	} u;
};

/* Initialise *m as an empty message of that type (zeroed, version 1). */
void vcma_msg_init(struct vcma_msg *m, uint8_t type, uint64_t id);

/*
 * Encode m into buf. Returns the number of bytes written (header + payload)
 * or a negative vcma_codec_err. Never writes past cap.
 */
int vcma_encode(const struct vcma_msg *m, uint8_t *buf, size_t cap);

/* Bytes vcma_encode would write for m, or a negative vcma_codec_err. */
int vcma_encoded_size(const struct vcma_msg *m);

/*
 * Decode exactly one frame from the start of buf. Returns the number of bytes
 * consumed (> 0), VCMA_CERR_SHORT if buf holds only part of a frame, or
 * another negative vcma_codec_err if the frame is invalid.
 */
int vcma_decode(const uint8_t *buf, size_t len, struct vcma_msg *m);

const char *vcma_codec_strerror(int err);
const char *vcma_msg_type_name(unsigned int type);	/* "HELLO", ..., "?" */
const char *vcma_status_name(unsigned int status);	/* "OK", "E_NOSPC", ... */
const char *vcma_cause_name(unsigned int cause);	/* "none", "pinned", ... */

/* Stream reassembler. */
struct vcma_reasm;

struct vcma_reasm_stats {
	uint64_t frames;		/* valid frames yielded */
	uint64_t bad_frames;		/* frames rejected after a full header */
	uint64_t bytes_discarded;	/* dropped without yielding a frame: garbage and bad frames */
	int last_error;			/* last error vcma_reasm_next returned, 0 if none */
};

/* max_buffer: bound on buffered bytes, at least one maximal frame. NULL on ENOMEM. */
struct vcma_reasm *vcma_reasm_new(size_t max_buffer);
void vcma_reasm_free(struct vcma_reasm *r);

/*
 * Append bytes. Returns 0, or VCMA_CERR_NOSPACE if the bytes would exceed
 * the bound (nothing is appended; drain with vcma_reasm_next first).
 */
int vcma_reasm_feed(struct vcma_reasm *r, const void *data, size_t len);

/*
 * Take the next frame: 1 = *m holds a valid frame, 0 = need more bytes,
 * negative vcma_codec_err = an invalid frame was skipped (call again).
 */
int vcma_reasm_next(struct vcma_reasm *r, struct vcma_msg *m);

size_t vcma_reasm_buffered(const struct vcma_reasm *r);
void vcma_reasm_stats(const struct vcma_reasm *r, struct vcma_reasm_stats *out);

/*
 * Additions after the first contract (additive only).
 */

/* Largest page/chunk order a frame may carry (HELLO orders, chunk_order). */
#define VCMA_ORDER_MAX		20

/*
 * Version negotiation (PROTOCOL.md, "HELLO and negotiation"): the highest
 * version both ranges contain, or -1 if they are disjoint or malformed.
 */
int vcma_negotiate(uint16_t our_min, uint16_t our_max,
		   uint16_t their_min, uint16_t their_max);

/* Capabilities both sides may use: the intersection, limited to bits this build knows. */
uint64_t vcma_caps_common(uint64_t ours, uint64_t theirs);

/* Bytes vcma_reasm_feed accepts right now without VCMA_CERR_NOSPACE. */
size_t vcma_reasm_space(const struct vcma_reasm *r);

/* Forget buffered bytes and statistics, e.g. when the channel reconnects. */
void vcma_reasm_reset(struct vcma_reasm *r);

/*
 * BALLOON_STATS_RESULT counter i (0 <= i < VCMA_BST_NR_COUNTERS, the one
 * valid bit 1 << i covers) of s, and its name ("mem_total", ...).
 */
uint64_t *vcma_bst_counter(struct vcma_balloon_stats_result_h *s, unsigned int i);
const char *vcma_bst_counter_name(unsigned int i);

#endif /* VCMA_CODEC_H */
