/* SPDX-License-Identifier: (GPL-2.0-only OR MIT) */
/*
 * vcma wire protocol v1: the one definition of every frame exchanged between
 * the host daemon (vcmad) and the guest agent over the virtio-serial port
 * "org.vcma.0". PROTOCOL.md beside this file is the prose specification.
 *
 * Every multi-byte field is little-endian. Every struct below is packed by
 * construction (natural alignment, explicit padding named "reserved" that
 * must be zero on the wire) and its size is asserted, so the same header
 * serves the kernel and userspace. Nothing here depends on libc.
 */
#ifndef VCMA_PROTO_H
#define VCMA_PROTO_H

#include <linux/types.h>

#ifdef __KERNEL__
#include <linux/build_bug.h>
#define VCMA_STATIC_ASSERT(e, msg) static_assert(e, msg)
#else
#define VCMA_STATIC_ASSERT(e, msg) _Static_assert(e, msg)
#endif

#define VCMA_MAGIC		0x414d4356u	/* "VCMA" read as a __le32 */
#define VCMA_PROTO_V1		1
#define VCMA_PROTO_MIN		1	/* oldest version this build speaks */
#define VCMA_PROTO_MAX		1	/* newest version this build speaks */
#define VCMA_PORT_NAME		"org.vcma.0"

/* Largest payload a frame may carry; larger frames are a protocol error. */
#define VCMA_MAX_PAYLOAD	65536u

/* Frame types. Requests are even-numbered in spirit only: see PROTOCOL.md. */
enum vcma_msg_type {
	VCMA_MSG_HELLO		= 1,	/* both ways, first frame on a channel */
	VCMA_MSG_RESERVE	= 2,	/* host -> guest */
	VCMA_MSG_RESERVE_RESULT	= 3,	/* guest -> host */
	VCMA_MSG_RELEASE	= 4,	/* host -> guest */
	VCMA_MSG_RELEASE_RESULT	= 5,	/* guest -> host */
	VCMA_MSG_BALLOON_SET	= 6,	/* host -> guest */
	VCMA_MSG_BALLOON_REPORT	= 7,	/* guest -> host (solicited or not) */
	VCMA_MSG_STATUS		= 8,	/* host -> guest */
	VCMA_MSG_STATUS_RESULT	= 9,	/* guest -> host */
	VCMA_MSG_EVENT		= 10,	/* guest -> host, unsolicited */
	VCMA_MSG_PING		= 11,	/* both ways */
	VCMA_MSG_PONG		= 12,	/* both ways */
	VCMA_MSG_ERROR		= 13,	/* both ways, answers a request */
	VCMA_MSG_BALLOON_STATS	= 14,	/* host -> guest (VCMA_CAP_BALLOON_STATS) */
	VCMA_MSG_BALLOON_STATS_RESULT = 15,	/* guest -> host */
	VCMA_MSG_TYPE_MAX	= 15,
};

/* Header flags. Undefined bits must be zero. */
#define VCMA_HDR_F_MORE		(1u << 0)	/* another frame with this id follows */
#define VCMA_HDR_F_KNOWN	(VCMA_HDR_F_MORE)

struct vcma_hdr {
	__le32 magic;		/* VCMA_MAGIC */
	__u8   version;		/* negotiated version; HELLO always uses 1 */
	__u8   type;		/* enum vcma_msg_type */
	__le16 flags;		/* VCMA_HDR_F_* */
	__le32 payload_len;	/* bytes after this header, <= VCMA_MAX_PAYLOAD */
	__le32 reserved;	/* zero */
	__le64 request_id;	/* chosen by the requester; echoed by the answer */
};
VCMA_STATIC_ASSERT(sizeof(struct vcma_hdr) == 24, "vcma_hdr layout");

/* Status codes carried in *_RESULT, BALLOON_REPORT and ERROR. */
enum vcma_status {
	VCMA_OK			= 0,
	VCMA_E_INVAL		= 1,	/* malformed or out-of-range request */
	VCMA_E_NOSPC		= 2,	/* no feasible contiguous range */
	VCMA_E_BUSY		= 3,	/* feasible ranges blocked (pins, ...) */
	VCMA_E_TIMEOUT		= 4,	/* deadline passed */
	VCMA_E_FLOOR		= 5,	/* would cross the guest's safety floor */
	VCMA_E_NOENT		= 6,	/* unknown grant id */
	VCMA_E_PROTO		= 7,	/* protocol violation */
	VCMA_E_UNSUPPORTED	= 8,	/* capability or message not supported */
	VCMA_E_INTERNAL		= 9,	/* peer-internal failure */
	VCMA_E_AGAIN		= 10,	/* transient; retry later */
	VCMA_E_NODEV		= 11,	/* guest module not loaded */
	VCMA_E_CLAIMED		= 12,	/* grant held in the guest (VCMA_CAP_ADDR_LIMIT) */
	VCMA_STATUS_MAX		= 12,
};

/*
 * Why a reservation failed (or what dominated its cost), reported in the
 * evidence. The same numbers are used by guest-driver/core.
 */
enum vcma_cause {
	VCMA_CAUSE_NONE		= 0,
	VCMA_CAUSE_UNMOVABLE	= 1,	/* slab/reserved/kernel pages in the way */
	VCMA_CAUSE_PINNED	= 2,	/* DMA-pinned pages in the way */
	VCMA_CAUSE_PAGEVEC	= 3,	/* pages held by per-CPU LRU caches */
	VCMA_CAUSE_BH_LRU	= 4,	/* buffer heads held by the BH LRU */
	VCMA_CAUSE_WRITEBACK	= 5,	/* dirty/writeback pages did not settle */
	VCMA_CAUSE_NO_RANGE	= 6,	/* no aligned range of that size exists */
	VCMA_CAUSE_FLOOR	= 7,	/* safety floor */
	VCMA_CAUSE_DEADLINE	= 8,	/* deadline reached */
	VCMA_CAUSE_MIGRATE	= 9,	/* migration failed for another reason */
	VCMA_CAUSE_LIMIT	= 10,	/* grant table or size limit */
	VCMA_CAUSE_ADDR_LIMIT	= 11,	/* no window lies below the request's max_addr */
	VCMA_CAUSE_MAX		= 11,
};

/* Capability bits (HELLO.caps). Peers use the intersection. */
#define VCMA_CAP_RESERVE	(1ull << 0)
#define VCMA_CAP_BALLOON	(1ull << 1)
#define VCMA_CAP_STATUS		(1ull << 2)
#define VCMA_CAP_EVENTS		(1ull << 3)
#define VCMA_CAP_DMABUF		(1ull << 4)	/* grants exportable as dma-buf */
#define VCMA_CAP_PRESSURE_DEFLATE (1ull << 5)
/*
 * Bit 6: RESERVE may carry max_addr; RELEASE of a grant a guest driver holds
 * is answered E_CLAIMED naming the holder; STATUS_RESULT grants carry holders.
 */
#define VCMA_CAP_ADDR_LIMIT	(1ull << 6)
/* Bit 7: BALLOON_STATS / BALLOON_STATS_RESULT (and the balloon's node preference). */
#define VCMA_CAP_BALLOON_STATS	(1ull << 7)
#define VCMA_CAP_KNOWN		((1ull << 8) - 1)

#define VCMA_ROLE_HOST		1
#define VCMA_ROLE_GUEST		2

#define VCMA_NAME_LEN		32	/* fixed, NUL-padded strings */
#define VCMA_HOLDER_LEN		48	/* who holds a grant (VCMA_CAP_ADDR_LIMIT) */
#define VCMA_MAX_MEM_RANGES	128	/* HELLO memory map entries */
#define VCMA_MAX_GRANTS_FRAME	256	/* STATUS_RESULT entries per frame */
#define VCMA_MAX_CHUNKS_FRAME	512	/* BALLOON_REPORT chunk GPAs per frame */
#define VCMA_NODE_ANY		0xffffffffu

enum vcma_zone {
	VCMA_ZONE_DMA		= 0,
	VCMA_ZONE_DMA32		= 1,
	VCMA_ZONE_NORMAL	= 2,
	VCMA_ZONE_MOVABLE	= 3,
	VCMA_ZONE_MAX		= 3,
};

/* One entry of the guest's memory map summary. */
struct vcma_mem_range {
	__le64 gpa;
	__le64 size;
	__le32 node;
	__u8   zone;		/* enum vcma_zone */
	__u8   reserved[3];
};
VCMA_STATIC_ASSERT(sizeof(struct vcma_mem_range) == 24, "vcma_mem_range layout");

/* HELLO: fixed part, followed by nr_ranges struct vcma_mem_range. */
struct vcma_hello {
	__le16 proto_min;
	__le16 proto_max;
	__u8   role;		/* VCMA_ROLE_* */
	__u8   pageblock_order;	/* guest; 0 from the host */
	__u8   max_order;	/* guest buddy MAX_ORDER; 0 from the host */
	__u8   reserved0;
	__le64 caps;		/* VCMA_CAP_* */
	__le32 page_size;	/* guest; 0 from the host */
	__le32 nr_ranges;	/* <= VCMA_MAX_MEM_RANGES; 0 from the host */
	__u8   boot_id[16];	/* guest boot id; zero from the host */
	__le64 mem_total;	/* bytes managed by the guest kernel */
	__le64 mem_free;
	__le64 mem_movable;	/* bytes in ZONE_MOVABLE */
	char   software[VCMA_NAME_LEN];	/* "vcma-agent 0.1.0", NUL-padded */
};
VCMA_STATIC_ASSERT(sizeof(struct vcma_hello) == 96, "vcma_hello layout");

/* RESERVE flags. */
#define VCMA_RSV_FAIL_FAST	(1u << 0)	/* try once per candidate, no waiting */
#define VCMA_RSV_WAIT_PINS	(1u << 1)	/* wait out short pins until deadline */
#define VCMA_RSV_MOVABLE_ONLY	(1u << 2)	/* only ZONE_MOVABLE */
#define VCMA_RSV_KNOWN		((1u << 3) - 1)

/*
 * A RESERVE is 72 bytes (VCMA_RESERVE_BASE_LEN), or 80 with the address
 * limit: the 80-byte form is sent only when VCMA_CAP_ADDR_LIMIT is common,
 * and only with a non-zero max_addr.
 */
struct vcma_reserve {
	__le64 size;		/* bytes, multiple of the guest page size */
	__le64 align;		/* bytes, power of two, 0 = size rounded up */
	__le64 tag;		/* host's reservation id; idempotency key */
	__le32 node;		/* NUMA node or VCMA_NODE_ANY */
	__le32 flags;		/* VCMA_RSV_* */
	__le32 deadline_ms;	/* relative; 0 = guest default */
	__le32 reserved;
	char   label[VCMA_NAME_LEN];
	/* VCMA_CAP_ADDR_LIMIT: the grant ends at or below this GPA (exclusive). */
	__le64 max_addr;
};
VCMA_STATIC_ASSERT(sizeof(struct vcma_reserve) == 80, "vcma_reserve layout");
#define VCMA_RESERVE_BASE_LEN	72	/* without max_addr */

/* What a reservation cost, or why it failed. */
struct vcma_evidence {
	__le32 ranges_scanned;
	__le32 ranges_tried;
	__le32 pages_migrated;
	__le32 pinned_met;
	__le32 bh_invalidations;
	__le32 retries;
	__le64 elapsed_us;
	__le32 cause;		/* enum vcma_cause */
	__le32 reserved;
};
VCMA_STATIC_ASSERT(sizeof(struct vcma_evidence) == 40, "vcma_evidence layout");

struct vcma_reserve_result {
	__le32 status;		/* enum vcma_status */
	__le32 reserved;
	__le64 grant_id;	/* 0 on failure */
	__le64 gpa;
	__le64 size;
	__le64 tag;		/* echoed from RESERVE */
	struct vcma_evidence ev;
};
VCMA_STATIC_ASSERT(sizeof(struct vcma_reserve_result) == 80, "vcma_reserve_result layout");

struct vcma_release {
	__le64 grant_id;
};
VCMA_STATIC_ASSERT(sizeof(struct vcma_release) == 8, "vcma_release layout");

/*
 * A RELEASE_RESULT is 16 bytes (VCMA_RELEASE_RESULT_BASE_LEN), or 64 with
 * the holder: the 64-byte form is the form of status VCMA_E_CLAIMED and of
 * no other status; a guest sends it only when VCMA_CAP_ADDR_LIMIT is common.
 */
struct vcma_release_result {
	__le32 status;
	__le32 reserved;
	__le64 grant_id;
	/* VCMA_E_CLAIMED only: who holds the grant, non-empty. */
	char   holder[VCMA_HOLDER_LEN];
};
VCMA_STATIC_ASSERT(sizeof(struct vcma_release_result) == 64, "vcma_release_result layout");
#define VCMA_RELEASE_RESULT_BASE_LEN	16	/* without holder */

/* BALLOON_SET: how much memory the balloon should hold. */
struct vcma_balloon_set {
	__le64 target_bytes;	/* multiple of the chunk size */
	__u8   chunk_order;	/* chunk = page_size << chunk_order; 9 = 2 MiB */
	__u8   reserved[7];
};
VCMA_STATIC_ASSERT(sizeof(struct vcma_balloon_set) == 16, "vcma_balloon_set layout");

#define VCMA_BALLOON_INFLATED	1	/* chunks below left the guest */
#define VCMA_BALLOON_DEFLATED	2	/* chunks below returned to the guest */

/* BALLOON_REPORT: fixed part, followed by nr_chunks __le64 chunk GPAs. */
struct vcma_balloon_report {
	__le64 target_bytes;
	__le64 actual_bytes;
	__le32 status;		/* VCMA_OK, VCMA_E_FLOOR, VCMA_E_AGAIN (in progress) */
	__u8   chunk_order;
	__u8   direction;	/* VCMA_BALLOON_INFLATED or _DEFLATED; 0 if no chunks */
	__le16 nr_chunks;	/* <= VCMA_MAX_CHUNKS_FRAME */
};
VCMA_STATIC_ASSERT(sizeof(struct vcma_balloon_report) == 24, "vcma_balloon_report layout");

struct vcma_grant_info {
	__le64 grant_id;
	__le64 gpa;
	__le64 size;
	__le64 tag;
	char   label[VCMA_NAME_LEN];
};
VCMA_STATIC_ASSERT(sizeof(struct vcma_grant_info) == 64, "vcma_grant_info layout");

/* struct vcma_grant_holders.flags: what keeps a grant from being released. */
#define VCMA_GRANT_F_CLAIMED	(1u << 0)	/* a guest driver claimed it */
#define VCMA_GRANT_F_EXPORTED	(1u << 1)	/* a dma-buf of it is alive */
#define VCMA_GRANT_F_MAPPED	(1u << 2)	/* a guest process maps it */
#define VCMA_GRANT_F_KNOWN	((1u << 3) - 1)

/*
 * With VCMA_CAP_ADDR_LIMIT common, each STATUS_RESULT grant entry is a
 * struct vcma_grant_info followed by this (120 bytes in all); otherwise
 * the entries are the 64-byte struct vcma_grant_info alone.
 */
struct vcma_grant_holders {
	__le32 flags;		/* VCMA_GRANT_F_* */
	__le32 reserved;
	/* Non-empty iff flags is non-zero: the claim's owner, else the dma-buf's, else "mmap". */
	char   holder[VCMA_HOLDER_LEN];
};
VCMA_STATIC_ASSERT(sizeof(struct vcma_grant_holders) == 56, "vcma_grant_holders layout");
#define VCMA_GRANT_INFO_EXT_LEN	\
	(sizeof(struct vcma_grant_info) + sizeof(struct vcma_grant_holders))

/* STATUS_RESULT: fixed part, followed by nr_grants grant entries. */
struct vcma_status_result {
	__le64 mem_total;
	__le64 mem_free;
	__le64 mem_available;
	__le64 balloon_bytes;
	__le64 grant_bytes;
	__le64 reserve_ok;
	__le64 reserve_fail;
	__le32 floor_pages;	/* safety floor in guest pages */
	__le32 nr_grants;	/* entries in this frame, <= VCMA_MAX_GRANTS_FRAME */
	__u8   boot_id[16];
};
VCMA_STATIC_ASSERT(sizeof(struct vcma_status_result) == 80, "vcma_status_result layout");

enum vcma_event_kind {
	VCMA_EV_PRESSURE_DEFLATE = 1,	/* arg0 = bytes deflated under pressure */
	VCMA_EV_GRANT_LOST	 = 2,	/* arg0 = grant id (module unloaded...) */
	VCMA_EV_FLOOR_HIT	 = 3,	/* arg0 = bytes short of the target */
	VCMA_EV_AGENT_RESTART	 = 4,
	VCMA_EV_MAX		 = 4,
};

struct vcma_event {
	__le32 kind;		/* enum vcma_event_kind */
	__le32 reserved;
	__le64 arg0;
	__le64 arg1;
};
VCMA_STATIC_ASSERT(sizeof(struct vcma_event) == 24, "vcma_event layout");

struct vcma_error {
	__le32 status;		/* enum vcma_status, never VCMA_OK */
	__u8   ref_type;	/* type of the frame this answers, 0 if none */
	__u8   reserved[3];
	char   message[64];	/* NUL-padded, printable ASCII */
};
VCMA_STATIC_ASSERT(sizeof(struct vcma_error) == 72, "vcma_error layout");

/*
 * BALLOON_STATS_RESULT.valid: which counters the guest could read. A counter
 * whose bit is clear is zero on the wire and means "not known", never 0.
 * Bits 0-12 name the __le64 counters from mem_total on, in their order.
 */
#define VCMA_BST_MEM_TOTAL		(1u << 0)
#define VCMA_BST_MEM_FREE		(1u << 1)
#define VCMA_BST_MEM_AVAILABLE		(1u << 2)
#define VCMA_BST_DISK_CACHES		(1u << 3)
#define VCMA_BST_SWAP_IN		(1u << 4)
#define VCMA_BST_SWAP_OUT		(1u << 5)
#define VCMA_BST_MAJOR_FAULTS		(1u << 6)
#define VCMA_BST_MINOR_FAULTS		(1u << 7)
#define VCMA_BST_OOM_KILLS		(1u << 8)
#define VCMA_BST_HUGETLB_ALLOCS		(1u << 9)
#define VCMA_BST_HUGETLB_FAILURES	(1u << 10)
#define VCMA_BST_PRESSURE_DEFLATED	(1u << 11)
#define VCMA_BST_PRESSURE_EVENTS	(1u << 12)
#define VCMA_BST_NR_COUNTERS		13
#define VCMA_BST_NODES			(1u << 13)	/* chunk_order, nr_nodes, chunks_by_node */
#define VCMA_BST_KNOWN			((1u << 14) - 1)

#define VCMA_STATS_MAX_NODES		16

/*
 * BALLOON_STATS_RESULT (VCMA_CAP_BALLOON_STATS): one sample of the guest's
 * memory counters and of its balloon, answering a BALLOON_STATS (whose
 * payload is empty). Fixed size; a later extension would be a longer form
 * under a new capability bit.
 */
struct vcma_balloon_stats_result {
	__le32 valid;		/* VCMA_BST_* */
	__u8   chunk_order;	/* of the chunks counted in chunks_by_node */
	__u8   nr_nodes;	/* entries of chunks_by_node in use, <= VCMA_STATS_MAX_NODES */
	__le16 reserved;
	__le64 actual_bytes;	/* bytes the balloon holds (always valid) */
	__le64 mem_total;	/* MemTotal: what the guest kernel manages, balloon excluded */
	__le64 mem_free;	/* MemFree */
	__le64 mem_available;	/* MemAvailable */
	__le64 disk_caches;	/* Cached */
	__le64 swap_in;		/* bytes swapped in since boot (pswpin) */
	__le64 swap_out;	/* bytes swapped out since boot (pswpout) */
	__le64 major_faults;	/* pgmajfault */
	__le64 minor_faults;	/* pgfault - pgmajfault */
	__le64 oom_kills;	/* oom_kill */
	__le64 hugetlb_allocs;	/* htlb_buddy_alloc_success */
	__le64 hugetlb_failures;	/* htlb_buddy_alloc_fail */
	__le64 pressure_deflated;	/* bytes the balloon gave back under pressure since boot */
	__le64 pressure_events;		/* pressure deflates since boot */
	__le32 chunks_by_node[VCMA_STATS_MAX_NODES];	/* balloon chunks per NUMA node */
};
VCMA_STATIC_ASSERT(sizeof(struct vcma_balloon_stats_result) == 184,
		   "vcma_balloon_stats_result layout");

#endif /* VCMA_PROTO_H */
