// SPDX-License-Identifier: GPL-2.0-only OR MIT
/*
 * Prepare, evacuate, learn: the executing half of a reservation.
 *
 * Candidates are tried best first. Before each try the window is summarised
 * again (the guest kept running since the scan). Pin policy:
 *  - FAIL_FAST: one evacuation try per candidate, never sleep;
 *  - WAIT_PINS: a pinned window may be waited on with exponential backoff,
 *    each sleep capped by max_backoff_ms and by the deadline; a pin that
 *    outlives the backoff is taken for a long-term pin, remembered for a
 *    while, and its window avoided;
 *  - neither: pinned windows are skipped, transient failures (pagevec, BH
 *    LRU, writeback) get a few bounded retries.
 * After a failed try the window is classified again to learn why, so that
 * every failure carries a cause and per-class evidence.
 *
 * A plan that found no feasible window is made again a few times after a
 * backoff (not with FAIL_FAST), since it may have caught a passing state.
 *
 * Every loop is bounded by the candidate count, a fixed try, wait or
 * re-plan count, and the deadline.
 */
#include "core_priv.h"

#define VCMA_MAX_PIN_WAITS	64
#define VCMA_PIN_PATIENCE	4

int vcma_deadline_passed(struct vcma_core *core, const struct vcma_req_state *rs)
{
	return core->ops->now_us(core->ctx) >= rs->deadline_us;
}

/* Sleep min(us, time left); 0 when there was no time left or it was interrupted. */
static int sleep_bounded(struct vcma_core *core, const struct vcma_req_state *rs,
			 vcma_u64 us)
{
	vcma_u64 now = core->ops->now_us(core->ctx);

	if (now >= rs->deadline_us)
		return 0;
	us = vcma_min64(us, rs->deadline_us - now);
	return core->ops->sleep_us(core->ctx, us) == 0;
}

vcma_u32 vcma_cause_from_summary(const struct vcma_range_summary *s)
{
	const vcma_u64 *c = s->count;

	if (c[VCMA_PC_UNMOVABLE] || c[VCMA_PC_HOLE] || c[VCMA_PC_OWNED])
		return VCMA_CORE_CAUSE_UNMOVABLE;
	if (c[VCMA_PC_PINNED])
		return VCMA_CORE_CAUSE_PINNED;
	if (c[VCMA_PC_WRITEBACK] || c[VCMA_PC_DIRTY])
		return VCMA_CORE_CAUSE_WRITEBACK;
	if (c[VCMA_PC_PAGEVEC])
		return VCMA_CORE_CAUSE_PAGEVEC;
	if (c[VCMA_PC_BUFFERS])
		return VCMA_CORE_CAUSE_BH_LRU;
	return VCMA_CORE_CAUSE_MIGRATE;
}

static int cause_is_transient(vcma_u32 cause)
{
	return cause == VCMA_CORE_CAUSE_PAGEVEC || cause == VCMA_CORE_CAUSE_BH_LRU ||
	       cause == VCMA_CORE_CAUSE_WRITEBACK || cause == VCMA_CORE_CAUSE_MIGRATE;
}

/* Record what stands in a window that could not be had (core->sum_win). */
static void note_blockers(struct vcma_core *core, struct vcma_req_state *rs)
{
	int i;

	for (i = 0; i < VCMA_NR_PAGE_CLASSES; i++) {
		if (i == VCMA_PC_FREE)
			continue;
		rs->ev->blocked_by_class[i] += core->sum_win.count[i];
		core->stats.blocked_by_class[i] += core->sum_win.count[i];
	}
}

static int long_pin_known(struct vcma_core *core, vcma_u64 pfn, vcma_u64 nr, vcma_u64 now)
{
	const struct vcma_long_pin *lp;
	int i;

	for (i = 0; i < VCMA_LONG_PIN_SLOTS; i++) {
		lp = &core->long_pins[i];
		if (lp->seen_us && now - lp->seen_us < VCMA_LONG_PIN_TTL_US &&
		    lp->pfn >= pfn && lp->pfn < pfn + nr)
			return 1;
	}
	return 0;
}

/* Remember the first pinned page of a window whose pin outlived our patience. */
static void long_pin_remember(struct vcma_core *core, vcma_u64 pfn, vcma_u64 nr,
			      vcma_u64 now)
{
	struct vcma_long_pin *lp;
	vcma_u64 i;

	for (i = 0; i < nr; i++) {
		if (core->ops->classify(core->ctx, pfn + i) != VCMA_PC_PINNED)
			continue;
		lp = &core->long_pins[core->long_pin_next++ % VCMA_LONG_PIN_SLOTS];
		lp->pfn = pfn + i;
		lp->seen_us = now ? now : 1;
		return;
	}
}

/*
 * Wait for the pins in [pfn, pfn + nr) to go; nonzero when they did. A pin
 * that outlasts VCMA_PIN_PATIENCE maximal backoffs is taken for long-term,
 * so one window cannot eat the whole deadline of a request.
 */
static int wait_pins(struct vcma_core *core, struct vcma_req_state *rs, vcma_u64 pfn)
{
	vcma_u64 cap = (vcma_u64)core->cfg.max_backoff_ms * 1000;
	vcma_u64 backoff = vcma_min64(VCMA_BACKOFF_START_US, cap);
	vcma_u64 waited = 0;
	int i;

	for (i = 0; i < VCMA_MAX_PIN_WAITS && waited < VCMA_PIN_PATIENCE * cap; i++) {
		if (!sleep_bounded(core, rs, backoff))
			return 0;
		waited += backoff;
		rs->ev->retries++;
		vcma_summarize(core, pfn, rs->nr, &core->sum_win);
		if (!core->sum_win.count[VCMA_PC_PINNED])
			return 1;
		backoff = vcma_min64(backoff * 2, cap);
	}
	return 0;
}

/* Pin policy for a window that holds pinned pages; nonzero: go ahead. */
static int handle_pins(struct vcma_core *core, struct vcma_req_state *rs, vcma_u64 pfn)
{
	vcma_u64 now = core->ops->now_us(core->ctx);

	rs->ev->pinned_met += (vcma_u32)core->sum_win.count[VCMA_PC_PINNED];
	if ((rs->flags & VCMA_CORE_FAIL_FAST) || !(rs->flags & VCMA_CORE_WAIT_PINS) ||
	    long_pin_known(core, pfn, rs->nr, now))
		return 0;
	if (wait_pins(core, rs, pfn))
		return 1;
	long_pin_remember(core, pfn, rs->nr, core->ops->now_us(core->ctx));
	return 0;
}

/*
 * Fold one evacuate() call's own counts into the request's evidence. The
 * evidence starts exact (nothing moved yet) and stays so while every
 * attempt's is.
 */
static void record_attempt(struct vcma_req_state *rs, const struct vcma_evac_result *res,
			   int failed)
{
	struct vcma_evac_detail *acc = &rs->ev->evac;
	const struct vcma_evac_detail *d = &res->d;
	int i;

	acc->exact = acc->exact && d->exact;
	acc->pages_in_use += d->pages_in_use;
	acc->migrate_failed += d->migrate_failed;
	for (i = 0; i < VCMA_NR_LEFT; i++)
		acc->left[i] += d->left[i];
	acc->isolate_us += d->isolate_us;
	acc->migrate_us += d->migrate_us;
	acc->verify_us += d->verify_us;
	acc->zero_us += d->zero_us;
	acc->pieces += d->pieces;
	acc->pieces_late += d->pieces_late;
	if (d->piece_pages_max > acc->piece_pages_max)
		acc->piece_pages_max = d->piece_pages_max;
	if (failed)
		rs->ev->attempts_failed++;
}

static void record_cause(struct vcma_req_state *rs, vcma_u32 cause)
{
	if (cause < VCMA_CORE_NR_CAUSES)
		rs->ev->attempt_cause[cause]++;
}

/*
 * After a failed evacuation: classify the window again to learn what stood
 * in the way, keep it as evidence, and name the cause (the backend's, or the
 * one the classes point at).
 */
static vcma_u32 learn_failure(struct vcma_core *core, struct vcma_req_state *rs, vcma_u64 pfn,
			      const struct vcma_evac_result *res)
{
	rs->ev->pages_migrated += res->pages_migrated;
	rs->ev->bh_invalidations += res->bh_invalidations;
	vcma_summarize(core, pfn, rs->nr, &core->sum_win);
	note_blockers(core, rs);
	rs->ev->pinned_met += (vcma_u32)core->sum_win.count[VCMA_PC_PINNED];
	if (res->cause && res->cause < VCMA_CORE_NR_CAUSES)
		return res->cause;
	return vcma_cause_from_summary(&core->sum_win);
}

/* Try one window; VCMA_CORE_CAUSE_NONE when it is now ours. */
vcma_u32 vcma_try_window(struct vcma_core *core, struct vcma_req_state *rs, vcma_u64 pfn)
{
	vcma_u32 tries = rs->flags & VCMA_CORE_FAIL_FAST ? 1 : VCMA_TRIES_PER_CANDIDATE;
	vcma_u64 backoff = VCMA_BACKOFF_START_US;
	struct vcma_evac_result res;
	vcma_u32 t, cause = VCMA_CORE_CAUSE_MIGRATE;
	int possible;

	if (vcma_held_overlaps(core, pfn, rs->nr))
		return VCMA_CORE_CAUSE_NO_RANGE;
	vcma_summarize(core, pfn, rs->nr, &core->sum_win);
	vcma_window_cost(&core->sum_win, &possible);
	if (!possible) {
		note_blockers(core, rs);
		return VCMA_CORE_CAUSE_UNMOVABLE;
	}
	if (core->sum_win.count[VCMA_PC_PINNED] && !handle_pins(core, rs, pfn)) {
		note_blockers(core, rs);
		return VCMA_CORE_CAUSE_PINNED;
	}
	if (core->sum_win.count[VCMA_PC_BUFFERS]) {
		core->ops->invalidate_bh_lrus(core->ctx);
		rs->ev->bh_invalidations++;
	}
	for (t = 0; t < tries; t++) {
		if (t) {
			if (!sleep_bounded(core, rs, vcma_min64(backoff,
					(vcma_u64)core->cfg.max_backoff_ms * 1000)))
				return VCMA_CORE_CAUSE_DEADLINE;
			backoff *= 2;
			rs->ev->retries++;
			if (cause == VCMA_CORE_CAUSE_BH_LRU) {
				core->ops->invalidate_bh_lrus(core->ctx);
				rs->ev->bh_invalidations++;
			}
		}
		vcma_zero(&res, sizeof(res));
		rs->ev->ranges_tried++;
		if (!core->ops->evacuate(core->ctx, pfn, rs->nr, rs->evac_flags, &res)) {
			record_attempt(rs, &res, 0);
			rs->ev->pages_migrated += res.pages_migrated;
			rs->ev->bh_invalidations += res.bh_invalidations;
			return VCMA_CORE_CAUSE_NONE;
		}
		record_attempt(rs, &res, 1);
		cause = learn_failure(core, rs, pfn, &res);
		record_cause(rs, cause);
		if (!cause_is_transient(cause))
			break;
	}
	return cause;
}

int vcma_cause_errno(vcma_u32 cause)
{
	switch (cause) {
	case VCMA_CORE_CAUSE_NONE:
		return 0;
	case VCMA_CORE_CAUSE_DEADLINE:
		return -VCMA_ETIMEDOUT;
	case VCMA_CORE_CAUSE_FLOOR:
	case VCMA_CORE_CAUSE_LIMIT:
	case VCMA_CORE_CAUSE_ADDR_LIMIT:
		return -VCMA_ENOSPC;
	case VCMA_CORE_CAUSE_NO_RANGE:
		return -VCMA_ENOMEM;
	default:
		return -VCMA_EBUSY;
	}
}

/* Fold one try's outcome into the request's verdict; nonzero: stop trying. */
static int settle(vcma_u32 cause, vcma_u32 *verdict)
{
	if (cause == VCMA_CORE_CAUSE_NO_RANGE)	/* window taken meanwhile: not a verdict */
		return 0;
	*verdict = cause;
	return cause == VCMA_CORE_CAUSE_NONE || cause == VCMA_CORE_CAUSE_DEADLINE;
}

int vcma_run_candidates(struct vcma_core *core, struct vcma_req_state *rs,
			vcma_u64 *pfn_out)
{
	vcma_u32 i, verdict = VCMA_CORE_CAUSE_NO_RANGE;

	for (i = 0; i < core->nr_cand; i++) {
		if (vcma_deadline_passed(core, rs)) {
			verdict = VCMA_CORE_CAUSE_DEADLINE;
			break;
		}
		if (settle(vcma_try_window(core, rs, core->cand[i].start_pfn), &verdict))
			break;
	}
	if (verdict == VCMA_CORE_CAUSE_NONE)
		*pfn_out = core->cand[i].start_pfn;
	rs->ev->cause = verdict;
	return vcma_cause_errno(verdict);
}

/*
 * Plan, then evacuate the best candidates. A plan without a single feasible
 * window, while windows of that size exist, describes one moment of a live
 * guest (a page in flight or held for a moment can make every window look
 * impossible): unless FAIL_FAST, plan again after a bounded backoff, so that
 * no_range means it persisted. A request no zone can hold fails at once.
 */
int vcma_run_planner(struct vcma_core *core, struct vcma_req_state *rs, vcma_u64 *pfn_out)
{
	vcma_u64 cap = (vcma_u64)core->cfg.max_backoff_ms * 1000;
	vcma_u64 backoff = vcma_min64(VCMA_REPLAN_BACKOFF_US, cap);
	vcma_u64 t;
	int round;

	for (round = 0;; round++) {
		t = core->ops->now_us(core->ctx);
		vcma_plan(core, rs);
		rs->ev->scan_us += core->ops->now_us(core->ctx) - t;
		if (core->nr_cand || (rs->flags & VCMA_CORE_FAIL_FAST) ||
		    round == VCMA_REPLAN_ROUNDS || !vcma_windows_exist(core, rs) ||
		    !sleep_bounded(core, rs, backoff) || vcma_deadline_passed(core, rs))
			break;
		rs->ev->retries++;
		backoff = vcma_min64(backoff * 2, cap);
	}
	return vcma_run_candidates(core, rs, pfn_out);
}

/* Index of the usable zone with the lowest start pfn above after (or -1). */
static int next_zone_by_pfn(struct vcma_core *core, struct vcma_req_state *rs, int prev)
{
	vcma_u64 after = prev < 0 ? 0 : core->zones[prev].start_pfn;
	int i, best = -1;

	for (i = 0; i < core->nr_zones; i++) {
		const struct vcma_zone_span *z = &core->zones[i];

		if (!vcma_zone_usable(core, z, rs) ||
		    (prev >= 0 && z->start_pfn <= after))
			continue;
		if (best < 0 || z->start_pfn < core->zones[best].start_pfn)
			best = i;
	}
	return best;
}

/*
 * What the kernel's alloc_contig_pages does: walk aligned windows from the
 * lowest pfn upwards, skip windows with holes (pfn_range_valid_contig), and
 * call alloc_contig_range on each until one succeeds. No scoring, no pin
 * awareness, no retries; the same bookkeeping and evidence as the planner.
 */
int vcma_run_naive(struct vcma_core *core, struct vcma_req_state *rs, vcma_u64 *pfn_out)
{
	struct vcma_evac_result res;
	vcma_u32 verdict = VCMA_CORE_CAUSE_NO_RANGE;
	int z = -1;
	vcma_u64 pfn;

	while ((z = next_zone_by_pfn(core, rs, z)) >= 0) {
		const struct vcma_zone_span *zs = &core->zones[z];
		vcma_u64 end = vcma_zone_end(zs, rs);

		for (pfn = vcma_align_up(zs->start_pfn, rs->step);
		     pfn + rs->nr <= end; pfn += rs->step) {
			if (vcma_deadline_passed(core, rs)) {
				rs->ev->cause = VCMA_CORE_CAUSE_DEADLINE;
				return vcma_cause_errno(VCMA_CORE_CAUSE_DEADLINE);
			}
			rs->ev->ranges_scanned++;
			if (vcma_held_overlaps(core, pfn, rs->nr))
				continue;
			vcma_summarize(core, pfn, rs->nr, &core->sum_win);
			if (core->sum_win.count[VCMA_PC_HOLE] || core->sum_win.count[VCMA_PC_OWNED])
				continue;
			vcma_zero(&res, sizeof(res));
			rs->ev->ranges_tried++;
			if (!core->ops->evacuate(core->ctx, pfn, rs->nr, rs->evac_flags, &res)) {
				record_attempt(rs, &res, 0);
				rs->ev->pages_migrated += res.pages_migrated;
				rs->ev->cause = VCMA_CORE_CAUSE_NONE;
				*pfn_out = pfn;
				return 0;
			}
			record_attempt(rs, &res, 1);
			verdict = learn_failure(core, rs, pfn, &res);
			record_cause(rs, verdict);
		}
	}
	rs->ev->cause = verdict;
	return vcma_cause_errno(verdict);
}
