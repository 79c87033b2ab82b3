/* SPDX-License-Identifier: GPL-2.0-only OR MIT */
/*
 * vcma mm core internals shared by the core's own files: the core object,
 * the held-range index, the candidate list and the per-request state.
 * Nothing here is visible to the kernel binding or the model.
 *
 * The core owns no global state: everything lives in struct vcma_core, whose
 * big tables come from the backend's zalloc, so every function keeps a small
 * stack frame (the same source runs in the kernel).
 */
#ifndef VCMA_CORE_PRIV_H
#define VCMA_CORE_PRIV_H

#include "vcma_core.h"

#define VCMA_MAX_ZONES		32
#define VCMA_LONG_PIN_SLOTS	16
/* A remembered long-term pin is trusted for this long before being probed again. */
#define VCMA_LONG_PIN_TTL_US	(10ull * 1000 * 1000)
/* Evacuation tries per candidate when the failure looks transient. */
#define VCMA_TRIES_PER_CANDIDATE 3
/* First backoff sleep while waiting out a short pin or a transient failure. */
#define VCMA_BACKOFF_START_US	1000ull
/* Scan windows between two deadline checks. */
#define VCMA_SCAN_CLOCK_EVERY	1024u
/*
 * A plan is a snapshot of a live system: when one finds no feasible window
 * although windows of that size exist, plan again this many times, after
 * a backoff starting here and doubling (capped by max_backoff_ms and the
 * deadline), before the verdict is no_range.
 */
#define VCMA_REPLAN_ROUNDS	3
#define VCMA_REPLAN_BACKOFF_US	10000ull

/*
 * Cost weights. A pinned page weighs more than any window of pin-free pages
 * can, so pinned windows always rank after every pin-free one; dirty and
 * writeback pages cost extra because they must be written (or waited for)
 * before they can move.
 */
#define VCMA_COST_PINNED	(1ull << 40)
#define VCMA_COST_DIRTY		1ull
#define VCMA_COST_WRITEBACK	2ull

struct vcma_candidate {
	vcma_u64 start_pfn;
	vcma_u64 cost;
	vcma_u64 pinned;
};

struct vcma_long_pin {
	vcma_u64 pfn;
	vcma_u64 seen_us;	/* 0: slot empty */
};

struct vcma_core {
	const struct vcma_backend_ops *ops;
	void *ctx;
	struct vcma_core_config cfg;
	vcma_u64 next_id;

	/* Grant table: slot is free when id == 0. */
	struct vcma_grant *grants;
	/* Outstanding slots sorted by start pfn: the held-range index. */
	vcma_u32 *by_pfn;
	/* Outstanding slots in id order (ids only grow, so adding appends). */
	vcma_u32 *by_id;
	vcma_u32 nr_grants;
	vcma_u32 free_hint;

	struct vcma_candidate *cand;
	vcma_u32 nr_cand;

	/*
	 * Sliding scans: the summary of each pageblock in the window, as it
	 * was read on entry, so that leaving subtracts exactly what entering
	 * added even when the page states changed meanwhile.
	 */
	struct vcma_range_summary *units;
	vcma_u64 units_cap;

	struct vcma_zone_span zones[VCMA_MAX_ZONES];
	int nr_zones;

	/* Scratch summaries: kept here to keep stack frames small. */
	struct vcma_range_summary sum_win;
	struct vcma_range_summary sum_unit;
	/* Evidence for callers that pass none. */
	struct vcma_core_evidence ev_scratch;

	struct vcma_long_pin long_pins[VCMA_LONG_PIN_SLOTS];
	vcma_u32 long_pin_next;

	struct vcma_core_stats stats;
};

/* One reservation (or balloon chunk) in flight. */
struct vcma_req_state {
	vcma_u64 nr;		/* pages */
	vcma_u64 align;		/* pages, power of two */
	vcma_u64 step;		/* distance between candidate window starts */
	vcma_u64 limit_pfn;	/* windows end at or below this pfn; 0 = no limit */
	vcma_u64 start_us;
	vcma_u64 deadline_us;
	vcma_u32 flags;
	vcma_u32 node;
	vcma_u32 evac_flags;	/* VCMA_EVAC_* for every evacuate() */
	struct vcma_core_evidence *ev;
};

/* vcma_util.c: freestanding helpers (no libc in the kernel build). */
void vcma_zero(void *p, vcma_size_t n);
void vcma_copy(void *dst, const void *src, vcma_size_t n);
int vcma_is_pow2(vcma_u64 v);
vcma_u64 vcma_pow2_ceil(vcma_u64 v);
vcma_u64 vcma_align_up(vcma_u64 v, vcma_u64 a);	/* a: power of two */
vcma_u64 vcma_min64(vcma_u64 a, vcma_u64 b);
vcma_u64 vcma_max64(vcma_u64 a, vcma_u64 b);
void vcma_sum_add(struct vcma_range_summary *acc, const struct vcma_range_summary *s);
void vcma_sum_sub(struct vcma_range_summary *acc, const struct vcma_range_summary *s);

/* vcma_grants.c: the held-range index and grant table. */
int vcma_held_overlaps(const struct vcma_core *core, vcma_u64 pfn, vcma_u64 nr);
int vcma_grant_add(struct vcma_core *core, vcma_u64 pfn, vcma_u64 nr, vcma_u32 kind,
		   const struct vcma_core_request *req, struct vcma_grant *out);
struct vcma_grant *vcma_grant_by_tag(struct vcma_core *core, vcma_u64 tag);
void vcma_grant_drop(struct vcma_core *core, struct vcma_grant *g);
struct vcma_grant *vcma_grant_by_id(struct vcma_core *core, vcma_u64 id);

/* vcma_plan.c: scan, classify, score, rank. */
int vcma_load_zones(struct vcma_core *core);
void vcma_summarize(struct vcma_core *core, vcma_u64 pfn, vcma_u64 nr,
		    struct vcma_range_summary *out);
vcma_u64 vcma_window_cost(const struct vcma_range_summary *s, int *possible);
void vcma_plan(struct vcma_core *core, struct vcma_req_state *rs);
int vcma_zone_usable(const struct vcma_core *core, const struct vcma_zone_span *z,
		     const struct vcma_req_state *rs);
vcma_u64 vcma_zone_end(const struct vcma_zone_span *z, const struct vcma_req_state *rs);
int vcma_windows_exist(const struct vcma_core *core, const struct vcma_req_state *rs);

/* vcma_evac.c: prepare, evacuate, learn, pin policy. */
int vcma_deadline_passed(struct vcma_core *core, const struct vcma_req_state *rs);
int vcma_run_candidates(struct vcma_core *core, struct vcma_req_state *rs,
			vcma_u64 *pfn_out);
int vcma_run_planner(struct vcma_core *core, struct vcma_req_state *rs, vcma_u64 *pfn_out);
vcma_u32 vcma_try_window(struct vcma_core *core, struct vcma_req_state *rs, vcma_u64 pfn);
int vcma_cause_errno(vcma_u32 cause);
int vcma_run_naive(struct vcma_core *core, struct vcma_req_state *rs, vcma_u64 *pfn_out);
vcma_u32 vcma_cause_from_summary(const struct vcma_range_summary *s);

#endif /* VCMA_CORE_PRIV_H */
