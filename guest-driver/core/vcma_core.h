/* SPDX-License-Identifier: GPL-2.0-only OR MIT */
/*
 * vcma mm core: the policy engine that decides which contiguous guest-physical
 * range to evacuate and how, over a small backend interface. The same source
 * is compiled into vcma.ko (backend: the real kernel mm) and into a userspace
 * library (backend: guest-driver/model).
 *
 * Portable C: no libc and no kernel headers. Integer types come from the
 * compiler's predefined macros; memory comes from the backend.
 *
 * Locking: a struct vcma_core is not internally locked. The kernel binding
 * serialises calls with one mutex; backend callbacks may sleep.
 */
#ifndef VCMA_CORE_H
#define VCMA_CORE_H

typedef __UINT8_TYPE__ vcma_u8;
typedef __UINT16_TYPE__ vcma_u16;
typedef __UINT32_TYPE__ vcma_u32;
typedef __UINT64_TYPE__ vcma_u64;
typedef __INT64_TYPE__ vcma_s64;
typedef __SIZE_TYPE__ vcma_size_t;

/* Failure causes; numerically equal to enum vcma_cause in proto/vcma_proto.h. */
enum vcma_core_cause {
	VCMA_CORE_CAUSE_NONE		= 0,
	VCMA_CORE_CAUSE_UNMOVABLE	= 1,
	VCMA_CORE_CAUSE_PINNED		= 2,
	VCMA_CORE_CAUSE_PAGEVEC		= 3,
	VCMA_CORE_CAUSE_BH_LRU		= 4,
	VCMA_CORE_CAUSE_WRITEBACK	= 5,
	VCMA_CORE_CAUSE_NO_RANGE	= 6,
	VCMA_CORE_CAUSE_FLOOR		= 7,
	VCMA_CORE_CAUSE_DEADLINE	= 8,
	VCMA_CORE_CAUSE_MIGRATE		= 9,
	VCMA_CORE_CAUSE_LIMIT		= 10,
	VCMA_CORE_CAUSE_ADDR_LIMIT	= 11,	/* no window below the request's max_addr */
	VCMA_CORE_NR_CAUSES		= 12,
};

/* What a page frame is, as far as evacuation is concerned. */
enum vcma_page_class {
	VCMA_PC_FREE = 0,	/* in the buddy allocator */
	VCMA_PC_LRU_ANON,	/* on an LRU list, anonymous */
	VCMA_PC_LRU_FILE,	/* on an LRU list, page cache without buffers */
	VCMA_PC_LRU_SHMEM,	/* shmem/tmpfs */
	VCMA_PC_PAGEVEC,	/* movable but not yet on the LRU (per-CPU cache) */
	VCMA_PC_BUFFERS,	/* page cache with buffer heads (maybe in the BH LRU) */
	VCMA_PC_DIRTY,		/* dirty, not under writeback */
	VCMA_PC_WRITEBACK,	/* under writeback */
	VCMA_PC_PINNED,		/* page_maybe_dma_pinned() */
	VCMA_PC_UNMOVABLE,	/* slab, page tables, reserved, kernel */
	VCMA_PC_HOLE,		/* not online RAM, or another zone */
	VCMA_PC_OWNED,		/* already held by vcma (grant or balloon) */
	VCMA_PC_OTHER_MOVABLE,	/* movable, none of the above (e.g. balloon compaction) */
	VCMA_NR_PAGE_CLASSES
};

enum vcma_zone_type {
	VCMA_ZT_DMA = 0, VCMA_ZT_DMA32 = 1, VCMA_ZT_NORMAL = 2, VCMA_ZT_MOVABLE = 3,
	VCMA_ZT_CMA = 4,	/* ZONE_CMA (2016 proposal; the model's variant): movable-only */
};

struct vcma_zone_span {
	vcma_u64 start_pfn;
	vcma_u64 end_pfn;	/* exclusive */
	vcma_u32 node;
	vcma_u32 type;		/* enum vcma_zone_type */
};

/* Per-class page counts over a pfn range. */
struct vcma_range_summary {
	vcma_u64 count[VCMA_NR_PAGE_CLASSES];
};

/*
 * Why the pages still in use in a piece that failed to evacuate stayed:
 * counted from that piece's own pages after the failure.
 */
enum vcma_left_reason {
	VCMA_LEFT_PINNED = 0,	/* page_maybe_dma_pinned */
	VCMA_LEFT_WRITEBACK,	/* dirty or under writeback */
	VCMA_LEFT_BH,		/* page cache with buffer heads */
	VCMA_LEFT_REFCOUNT,	/* movable, but held by a reference migration does not expect */
	VCMA_LEFT_UNMOVABLE,	/* appeared meanwhile: slab, page tables, kernel */
	VCMA_NR_LEFT
};

/*
 * What evacuation did to the request's own ranges, summed over its
 * attempts. A backend may leave any field 0 (the model has no clock for
 * isolating, and fills only what it counts).
 */
struct vcma_evac_detail {
	vcma_u64 pages_in_use;		/* pages of the ranges not free before each piece */
	vcma_u64 migrate_failed;	/* pages migration gave up on */
	vcma_u64 left[VCMA_NR_LEFT];	/* pages still in use where a piece failed */
	vcma_u64 isolate_us;		/* isolating pageblocks and pages, draining */
	vcma_u64 migrate_us;		/* inside migrate_pages (copying and remapping) */
	vcma_u64 verify_us;		/* after the last migration: test and take the free pages */
	vcma_u64 zero_us;		/* zeroing a granted range */
	vcma_u32 pieces;		/* bounded pieces started */
	vcma_u32 pieces_late;		/* pieces that ended after the deadline */
	vcma_u32 piece_pages_max;	/* largest piece */
	vcma_u32 exact;			/* nonzero: pages_migrated counts this range only */
};

/* Result of one evacuation attempt of [start_pfn, start_pfn + nr). */
struct vcma_evac_result {
	vcma_u64 pages_migrated;
	vcma_u32 failed_pfns;		/* pages that could not be moved */
	vcma_u32 cause;			/* enum vcma_core_cause when it failed */
	vcma_u32 bh_invalidations;	/* invalidate_bh_lrus calls made inside */
	struct vcma_evac_detail d;
};

/* evacuate() flags. */
#define VCMA_EVAC_KEEP_CONTENTS	(1u << 0)	/* a balloon chunk: no need to clear it */

/*
 * The backend: the mm the core runs on. ctx is passed back verbatim.
 * All callbacks are required unless marked optional.
 */
struct vcma_backend_ops {
	/* Fill up to max zone spans (online RAM, by node and zone); return how many. */
	int (*zones)(void *ctx, struct vcma_zone_span *out, int max);
	/* Classify one pfn. */
	enum vcma_page_class (*classify)(void *ctx, vcma_u64 pfn);
	/*
	 * Optional: per-class counts over [pfn, pfn + nr) in one call (a backend
	 * with per-pageblock counters answers in O(1)). NULL: the core calls
	 * classify() per pfn.
	 */
	void (*summarize)(void *ctx, vcma_u64 pfn, vcma_u64 nr,
			  struct vcma_range_summary *out);
	/* Flush per-CPU buffer-head LRUs (invalidate_bh_lrus). */
	void (*invalidate_bh_lrus)(void *ctx);
	/*
	 * Evacuate and take [start_pfn, start_pfn + nr): alloc_contig_range. 0 on
	 * success (the range now belongs to the caller, cleared unless flags has
	 * VCMA_EVAC_KEEP_CONTENTS), negative errno-style on failure (-16 busy,
	 * -12 no memory, -4 interrupted, -110 timed out) with *res filled
	 * either way.
	 */
	int (*evacuate)(void *ctx, vcma_u64 start_pfn, vcma_u64 nr, vcma_u32 flags,
			struct vcma_evac_result *res);
	/*
	 * Optional: take up to max free, naturally aligned blocks of
	 * (1 << order) pages straight from the free lists (alloc_pages of that
	 * order): no reclaim, no compaction, no migration, and no zone taken
	 * below its watermark. Each block's first pfn goes to pfns[]; returns
	 * how many were taken (0: no free block left). A block belongs to the
	 * caller like an evacuated range, release() gives it back; its
	 * contents are left as they were. NULL: the balloon evacuates every
	 * chunk.
	 */
	int (*take_free)(void *ctx, vcma_u32 order, vcma_u32 max, vcma_u64 *pfns);
	/* Give back a range taken by evacuate or take_free (free_contig_range). */
	void (*release)(void *ctx, vcma_u64 start_pfn, vcma_u64 nr);
	/* Pages that could still be freed or are free: the floor check (si_mem_available). */
	vcma_u64 (*available_pages)(void *ctx);
	/* Monotonic clock in microseconds. */
	vcma_u64 (*now_us)(void *ctx);
	/* Sleep (kernel: msleep_interruptible; model: advance virtual time). Returns nonzero if interrupted. */
	int (*sleep_us)(void *ctx, vcma_u64 us);
	/* Memory for core bookkeeping. zalloc returns zeroed memory or NULL. */
	void *(*zalloc)(void *ctx, vcma_size_t bytes);
	void (*free)(void *ctx, void *p);
};

enum vcma_strategy {
	VCMA_STRATEGY_PLANNER = 0,	/* scan, classify, score, rank, evacuate best first */
	VCMA_STRATEGY_NAIVE = 1,	/* first-fit from the lowest pfn (alloc_contig_pages) */
};

struct vcma_core_config {
	vcma_u32 page_shift;		/* 12 */
	vcma_u32 pageblock_order;	/* 9 on x86-64 */
	vcma_u64 floor_pages;		/* available pages that must remain after a grant */
	vcma_u32 max_grants;		/* grant table size */
	vcma_u32 max_candidates;	/* ranked candidates kept per request */
	vcma_u32 default_deadline_ms;
	vcma_u32 max_backoff_ms;	/* cap on one backoff sleep */
	vcma_u32 strategy;		/* enum vcma_strategy */
};

/* Reservation flags; numerically equal to VCMA_RSV_* in the protocol. */
#define VCMA_CORE_FAIL_FAST	(1u << 0)
#define VCMA_CORE_WAIT_PINS	(1u << 1)
#define VCMA_CORE_MOVABLE_ONLY	(1u << 2)
#define VCMA_CORE_FLAGS_KNOWN	((1u << 3) - 1)

#define VCMA_CORE_NODE_ANY	0xffffffffu
#define VCMA_CORE_LABEL_LEN	32

struct vcma_core_request {
	vcma_u64 size;		/* bytes, page multiple */
	vcma_u64 align;		/* bytes, power of two >= page size; 0 = natural (size rounded up) */
	vcma_u64 tag;		/* caller's idempotency key, 0 = none */
	vcma_u32 node;		/* or VCMA_CORE_NODE_ANY */
	vcma_u32 flags;		/* VCMA_CORE_* */
	vcma_u32 deadline_ms;	/* relative; 0 = config default */
	char label[VCMA_CORE_LABEL_LEN];
	/*
	 * Bytes: the grant must end at or below this physical address (a
	 * device's DMA limit); page aligned and >= size, 0 = no limit.
	 */
	vcma_u64 max_addr;
};

struct vcma_core_evidence {
	vcma_u32 ranges_scanned;
	vcma_u32 ranges_tried;
	vcma_u64 pages_migrated;
	vcma_u32 pinned_met;
	vcma_u32 bh_invalidations;
	vcma_u32 retries;
	vcma_u64 elapsed_us;
	vcma_u32 cause;		/* enum vcma_core_cause */
	/* For failures: pages met per class in the ranges tried. */
	vcma_u64 blocked_by_class[VCMA_NR_PAGE_CLASSES];
	/* Added with the exact evidence: what evacuation did, summed over attempts. */
	struct vcma_evac_detail evac;
	vcma_u32 attempts_failed;			/* evacuate() calls that failed */
	vcma_u32 attempt_cause[VCMA_CORE_NR_CAUSES];	/* their causes */
	vcma_u64 scan_us;				/* planning: scans and re-plans */
};

struct vcma_grant {
	vcma_u64 id;		/* never 0, never reused within a core's life */
	vcma_u64 start_pfn;
	vcma_u64 nr_pages;
	vcma_u64 tag;
	vcma_u32 kind;		/* VCMA_GRANT_RESERVE or VCMA_GRANT_BALLOON */
	char label[VCMA_CORE_LABEL_LEN];
	vcma_u64 max_addr;	/* the request's limit, 0 = none */
};

#define VCMA_GRANT_RESERVE	1
#define VCMA_GRANT_BALLOON	2

struct vcma_core_stats {
	vcma_u64 reserve_ok;
	vcma_u64 reserve_fail;
	vcma_u64 fail_by_cause[VCMA_CORE_NR_CAUSES];
	vcma_u64 pages_migrated;
	vcma_u64 pinned_met;
	vcma_u64 bh_invalidations;
	vcma_u64 retries;
	vcma_u64 ranges_scanned;
	vcma_u64 ranges_tried;
	vcma_u64 grants;		/* outstanding */
	vcma_u64 pages_held;		/* outstanding, all kinds */
	vcma_u64 balloon_pages;
	vcma_u32 last_cause;
	int last_error;
	/* Added after the first contract: pages met per class in windows that failed. */
	vcma_u64 blocked_by_class[VCMA_NR_PAGE_CLASSES];
	vcma_u64 balloon_inflated;	/* chunks taken, lifetime */
	vcma_u64 balloon_deflated;	/* chunks given back, lifetime */
	vcma_u64 balloon_free_taken;	/* of those taken, free blocks (not evacuated) */
};

struct vcma_core;

/* Errors returned by the core: negative errno values (kernel convention). */
#define VCMA_EINVAL	22
#define VCMA_ENOENT	2
#define VCMA_ENOMEM	12
#define VCMA_EBUSY	16
#define VCMA_ENOSPC	28
#define VCMA_ETIMEDOUT	110
#define VCMA_EEXIST	17

struct vcma_core *vcma_core_new(const struct vcma_backend_ops *ops, void *ctx,
				const struct vcma_core_config *cfg);
/* Releases every outstanding grant back to the backend, then frees the core. */
void vcma_core_free(struct vcma_core *core);

/*
 * Reserve a contiguous range. 0 and *grant filled on success; negative errno
 * on failure. *ev is filled either way (ev->cause says why); ev may be NULL.
 * Returns by the request's deadline: no scan step, sleep or evacuation starts
 * after it (one backend evacuate() already running may finish late).
 * A request whose tag matches an outstanding grant returns that grant again
 * (idempotent); -VCMA_EEXIST only when that grant has another size or an
 * alignment the request does not accept.
 * Errors: -EINVAL bad request (also a max_addr not page aligned or below
 * the size); -ENOSPC floor (cause FLOOR), grant table full (LIMIT) or no
 * window of that size below max_addr in any usable zone (ADDR_LIMIT, decided
 * before anything is evacuated); -ENOMEM no feasible range (NO_RANGE);
 * -ETIMEDOUT deadline; -EBUSY every candidate failed (cause of the last one).
 */
int vcma_core_reserve(struct vcma_core *core, const struct vcma_core_request *req,
		      struct vcma_grant *grant, struct vcma_core_evidence *ev);
int vcma_core_release(struct vcma_core *core, vcma_u64 grant_id);

/* Copy up to max outstanding grants in id order; return the total outstanding. */
vcma_u32 vcma_core_list(struct vcma_core *core, struct vcma_grant *out, vcma_u32 max);
int vcma_core_find(struct vcma_core *core, vcma_u64 grant_id, struct vcma_grant *out);
void vcma_core_get_stats(struct vcma_core *core, struct vcma_core_stats *out);

/*
 * Balloon: take (inflate) or give back (deflate) chunks of (1 << chunk_order)
 * pages, at most max_chunks per call, writing each chunk's start pfn to
 * pfns[]. Returns the number of chunks moved (>= 0) or negative errno;
 * inflate stops early at the floor (*cause = VCMA_CORE_CAUSE_FLOOR).
 * Inflate takes free blocks first (backend take_free) and evacuates only
 * once none is left; a chunk's contents are not cleared (nothing in the
 * guest reads a ballooned page, and the host drops it).
 */
int vcma_core_balloon_inflate(struct vcma_core *core, vcma_u32 chunk_order,
			      vcma_u32 max_chunks, vcma_u64 *pfns, vcma_u32 *cause);
int vcma_core_balloon_deflate(struct vcma_core *core, vcma_u32 chunk_order,
			      vcma_u32 max_chunks, vcma_u64 *pfns);

const char *vcma_core_cause_name(vcma_u32 cause);
const char *vcma_page_class_name(vcma_u32 cls);

#endif /* VCMA_CORE_H */
