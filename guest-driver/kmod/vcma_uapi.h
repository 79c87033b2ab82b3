/* SPDX-License-Identifier: (GPL-2.0-only WITH Linux-syscall-note) OR MIT */
/*
 * /dev/vcma ioctl ABI, version 1. Shared by vcma.ko, vcma-agent and
 * vcma-guest. Every struct starts with its own size so that the ABI can grow
 * at the end; the module rejects sizes it does not know with -EINVAL and any
 * non-zero reserved field or unknown flag likewise.
 *
 * mmap: offset = grant id << PAGE_SHIFT maps that grant (MAP_SHARED only,
 * length <= grant size). Memory handed out is zeroed first.
 */
#ifndef VCMA_UAPI_H
#define VCMA_UAPI_H

#include <linux/ioctl.h>
#include <linux/types.h>

#define VCMA_ABI_VERSION	1
#define VCMA_DEV_PATH		"/dev/vcma"
#define VCMA_LABEL_LEN		32
#define VCMA_IOC_MAGIC		0xCA

/* Same values as VCMA_RSV_* in proto/vcma_proto.h. */
#define VCMA_IOC_F_FAIL_FAST	(1u << 0)
#define VCMA_IOC_F_WAIT_PINS	(1u << 1)
#define VCMA_IOC_F_MOVABLE_ONLY	(1u << 2)
#define VCMA_IOC_F_KNOWN	((1u << 3) - 1)

#define VCMA_IOC_NODE_ANY	0xffffffffu

struct vcma_ioc_version {
	__u32 abi_version;	/* out: VCMA_ABI_VERSION */
	__u32 page_size;	/* out */
	__u32 pageblock_order;	/* out */
	__u32 max_order;	/* out: buddy MAX_ORDER */
};

struct vcma_ioc_evidence {
	__u32 ranges_scanned;
	__u32 ranges_tried;
	__u64 pages_migrated;
	__u32 pinned_met;
	__u32 bh_invalidations;
	__u32 retries;
	__u32 cause;		/* enum vcma_cause (proto/vcma_proto.h) */
	__u64 elapsed_us;
};

struct vcma_ioc_reserve {
	__u32 argsz;		/* in: sizeof(struct vcma_ioc_reserve) */
	__u32 flags;		/* in: VCMA_IOC_F_* */
	__u64 size;		/* in: bytes, page multiple, > 0 */
	__u64 align;		/* in: bytes, power of two, 0 = natural */
	__u64 tag;		/* in: caller's idempotency key, 0 = none */
	__u32 node;		/* in: NUMA node or VCMA_IOC_NODE_ANY */
	__u32 deadline_ms;	/* in: 0 = module default */
	char  label[VCMA_LABEL_LEN];	/* in: NUL-terminated */
	__u64 grant_id;		/* out */
	__u64 phys_addr;	/* out: guest-physical address */
	__u64 granted_size;	/* out */
	struct vcma_ioc_evidence ev;	/* out, also on failure */
	/*
	 * in (VCMA_FEAT_ADDR_LIMIT): the grant must end at or below this
	 * guest-physical address (a device's DMA limit, 1 << bits for a mask
	 * of that many bits); page aligned and >= size, 0 = no limit. When no
	 * window of the size lies below it the request fails at once with
	 * EADDRNOTAVAIL and ev.cause 11 (addr_limit).
	 */
	__u64 max_addr;
};

/*
 * The RESERVE of ABI 1 without max_addr: the module still takes it (argsz
 * must then be this size), so older agents keep working.
 */
#define VCMA_IOC_RESERVE_V1_SIZE	136

struct vcma_ioc_release {
	__u32 argsz;
	__u32 reserved;		/* must be 0 */
	__u64 grant_id;
};

struct vcma_ioc_grant {
	__u64 grant_id;
	__u64 phys_addr;
	__u64 size;
	__u64 tag;
	__u32 kind;		/* 1 = reservation, 2 = balloon (aggregate) */
	__u32 reserved;
	char  label[VCMA_LABEL_LEN];
};

struct vcma_ioc_list {
	__u32 argsz;
	__u32 max_grants;	/* in: entries at grants_ptr */
	__u64 grants_ptr;	/* in: user pointer to struct vcma_ioc_grant[] */
	__u32 nr_grants;	/* out: total outstanding (may exceed max_grants) */
	__u32 reserved;
};

struct vcma_ioc_stats {
	__u32 argsz;
	__u32 reserved;
	__u64 reserve_ok;
	__u64 reserve_fail;
	__u64 fail_by_cause[16];	/* indexed by enum vcma_cause */
	__u64 pages_migrated;
	__u64 pinned_met;
	__u64 bh_invalidations;
	__u64 retries;
	__u64 grants;
	__u64 bytes_held;
	__u64 balloon_bytes;
	__u64 floor_pages;
	__u64 mem_total;	/* bytes, as MemTotal */
	__u64 mem_free;
	__u64 mem_available;
	__u32 last_cause;
	__s32 last_error;
};

/* Balloon: set the target the module should hold; it works towards it. */
struct vcma_ioc_balloon {
	__u32 argsz;
	__u32 chunk_order;	/* in: chunk = PAGE_SIZE << chunk_order */
	__u64 target_bytes;	/* in */
	__u64 actual_bytes;	/* out */
	__u32 status;		/* out: 0 ok, VCMA_E_FLOOR, VCMA_E_AGAIN (more to do) */
	__u32 nr_chunks;	/* out: chunk GPAs written to chunks_ptr */
	__u32 max_chunks;	/* in: room at chunks_ptr */
	__u32 direction;	/* out: 1 inflated, 2 deflated */
	__u64 chunks_ptr;	/* in: user pointer to __u64[] */
};

/*
 * Exact evacuation evidence of the last RESERVE made through this open
 * file (-ENODATA before the first): counted on the request's own ranges,
 * summed over its attempts. pages_migrated is what migration moved out of
 * them (exact = 1: the migration tracepoints filtered to the request; 0:
 * the kernel-wide counter, other migrations included); left_* are the
 * pages still in use, by reason, in the pieces that failed.
 */
struct vcma_ioc_evac {
	__u32 argsz;		/* in: sizeof(struct vcma_ioc_evac) */
	__u32 exact;		/* out */
	__u64 pages_in_use;	/* out: pages not free when their piece started */
	__u64 pages_migrated;	/* out */
	__u64 migrate_failed;	/* out: pages migration gave up on */
	__u64 left_pinned;	/* out */
	__u64 left_writeback;	/* out: dirty or under writeback */
	__u64 left_bh;		/* out: page cache with buffer heads */
	__u64 left_refcount;	/* out: movable, held by an unexpected reference */
	__u64 left_unmovable;	/* out */
	__u64 scan_us;		/* out: planning */
	__u64 isolate_us;	/* out: isolating pageblocks and pages, draining */
	__u64 migrate_us;	/* out: inside migrate_pages */
	__u64 verify_us;	/* out: after the last migration of each piece */
	__u64 zero_us;		/* out: zeroing the grant */
	__u64 elapsed_us;	/* out: the whole request */
	__u64 deadline_us;	/* out: the request's deadline, relative */
	__u32 pieces;		/* out: evacuation pieces started */
	__u32 pieces_late;	/* out: pieces that ended after the deadline (<= 1) */
	__u32 piece_pages_max;	/* out: largest piece */
	__u32 attempts_failed;	/* out: evacuation attempts that failed */
	__u32 attempt_cause[16];	/* out: their causes, by enum vcma_cause */
};

/*
 * dma-buf of a grant. flags: O_RDWR or O_RDONLY (the fd's access mode;
 * mmap follows it), optionally | O_CLOEXEC. One dma-buf per grant at a
 * time: while one is alive a second export fails with EBUSY (pass the fd
 * on instead). While it is alive the grant cannot be released (EBUSY).
 */
struct vcma_ioc_export {
	__u32 argsz;
	__u32 flags;		/* in */
	__u64 grant_id;		/* in */
	__s32 fd;		/* out */
	__u32 reserved;		/* must be 0 */
	__u64 size;		/* out: bytes */
};

/*
 * What this module offers beyond ABI 1 (an older module answers ENOTTY):
 * user space asks once after opening /dev/vcma.
 */
/* vcma_ioc_reserve.max_addr, grants/<id>/max_addr */
#define VCMA_FEAT_ADDR_LIMIT	(1ull << 0)
/* drivers hold grants (vcma_claim.h): RELEASE answers EBUSY */
#define VCMA_FEAT_CLAIMS	(1ull << 1)
/* VCMA_IOC_EXPORT */
#define VCMA_FEAT_EXPORT	(1ull << 2)

struct vcma_ioc_features {
	__u32 argsz;		/* in: sizeof(struct vcma_ioc_features) */
	__u32 reserved;		/* must be 0 */
	__u64 features;		/* out: VCMA_FEAT_* */
};

/*
 * Deflate under guest memory pressure (module option deflate_on_pressure):
 * the module's shrinker and OOM notifier give balloon chunks back to the
 * guest on their own and queue each chunk's GPA here until user space
 * reads it. poll() on /dev/vcma reports POLLIN while chunks are queued.
 *
 * Only chunks the host has been told about and has acted on may go back
 * that way: flags VCMA_PRESSURE_F_ACK says the host has (it sent a new
 * BALLOON_SET, PROTOCOL.md 5.7), and makes every chunk the balloon holds
 * now eligible; chunks inflated later wait for the next ack. While chunks
 * are queued, VCMA_IOC_BALLOON inflates nothing (status VCMA_E_AGAIN): the
 * host hears of the deflate before it sees new chunks.
 *
 * One call moves up to max_chunks queued GPAs, all of chunk_order, to
 * chunks_ptr (max_chunks 0: counters only); call again while pending.
 */
#define VCMA_PRESSURE_F_ACK	(1u << 0)
#define VCMA_PRESSURE_F_KNOWN	((1u << 1) - 1)
#define VCMA_PRESSURE_MAX_CHUNKS	512

struct vcma_ioc_pressure {
	__u32 argsz;		/* in: sizeof(struct vcma_ioc_pressure) */
	__u32 flags;		/* in: VCMA_PRESSURE_F_* */
	__u32 max_chunks;	/* in: room at chunks_ptr, <= VCMA_PRESSURE_MAX_CHUNKS */
	__u32 nr_chunks;	/* out: GPAs written */
	__u64 chunks_ptr;	/* in: user pointer to __u64[] */
	__u32 chunk_order;	/* out: chunk = PAGE_SIZE << chunk_order */
	__u32 enabled;		/* out: 1 when the module option is on */
	__u64 pending;		/* out: chunks still queued after this call */
	__u64 balloon_bytes;	/* out: the balloon once the chunks written are out */
	__u64 eligible;		/* out: chunks that may go back under pressure now */
	__u64 deflated_bytes;	/* out: lifetime, bytes given back under pressure */
	__u64 events;		/* out: lifetime, shrinker and OOM calls that gave some back */
	__u64 oom_events;	/* out: lifetime, of which OOM notifier calls */
	__u64 busy;		/* out: lifetime, calls skipped: the module was busy */
	__u64 last_ns;		/* out: CLOCK_MONOTONIC ns of the last one, 0 = never */
};

#define VCMA_IOC_VERSION	_IOR(VCMA_IOC_MAGIC, 0, struct vcma_ioc_version)
#define VCMA_IOC_RESERVE	_IOWR(VCMA_IOC_MAGIC, 1, struct vcma_ioc_reserve)
#define VCMA_IOC_RESERVE_V1	_IOC(_IOC_READ | _IOC_WRITE, VCMA_IOC_MAGIC, 1, \
				     VCMA_IOC_RESERVE_V1_SIZE)
#define VCMA_IOC_RELEASE	_IOW(VCMA_IOC_MAGIC, 2, struct vcma_ioc_release)
#define VCMA_IOC_LIST		_IOWR(VCMA_IOC_MAGIC, 3, struct vcma_ioc_list)
#define VCMA_IOC_STATS		_IOWR(VCMA_IOC_MAGIC, 4, struct vcma_ioc_stats)
#define VCMA_IOC_BALLOON	_IOWR(VCMA_IOC_MAGIC, 5, struct vcma_ioc_balloon)
#define VCMA_IOC_PRESSURE	_IOWR(VCMA_IOC_MAGIC, 7, struct vcma_ioc_pressure)
#define VCMA_IOC_EVIDENCE	_IOWR(VCMA_IOC_MAGIC, 8, struct vcma_ioc_evac)
#define VCMA_IOC_EXPORT		_IOWR(VCMA_IOC_MAGIC, 6, struct vcma_ioc_export)
#define VCMA_IOC_FEATURES	_IOWR(VCMA_IOC_MAGIC, 9, struct vcma_ioc_features)

#endif /* VCMA_UAPI_H */
