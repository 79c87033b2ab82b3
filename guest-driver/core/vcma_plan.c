// SPDX-License-Identifier: GPL-2.0-only OR MIT
/*
 * Scan, classify, score, rank: the planning half of a reservation.
 *
 * Candidate windows are aligned ranges of the requested size inside one zone
 * (never across zones), ZONE_MOVABLE (and ZONE_CMA) first. A request with an
 * address limit sees each zone cut at the limit, so no window it considers
 * ends above it. Each window is
 * summarised by page class; a window holding an unmovable, hole or owned page
 * is impossible, a pinned page weighs more than any pin-free window, and the
 * rest costs the pages that must move plus a surcharge for dirty/writeback.
 * The best max_candidates windows are kept in a sorted array; ties keep scan
 * order, which is zone preference then ascending pfn.
 *
 * When windows overlap (step < size) and are made of whole pageblocks, the
 * summary slides: each pageblock is summarised once, on entry, and its
 * summary kept until it leaves, so a scan costs O(pageblocks in the zone)
 * whatever the window size.
 */
#include "core_priv.h"

static int zone_rank(vcma_u32 type)
{
	/* ZONE_MOVABLE and ZONE_CMA hold only movable pages: try them first. */
	return type == VCMA_ZT_MOVABLE || type == VCMA_ZT_CMA ? 0 : 1;
}

int vcma_load_zones(struct vcma_core *core)
{
	struct vcma_zone_span tmp;
	int n, i, j;

	n = core->ops->zones(core->ctx, core->zones, VCMA_MAX_ZONES);
	if (n < 0)
		n = 0;
	if (n > VCMA_MAX_ZONES)
		n = VCMA_MAX_ZONES;
	/* Insertion sort by (preference, start pfn): few zones, no recursion. */
	for (i = 1; i < n; i++) {
		tmp = core->zones[i];
		for (j = i; j > 0; j--) {
			const struct vcma_zone_span *p = &core->zones[j - 1];

			if (zone_rank(p->type) < zone_rank(tmp.type) ||
			    (zone_rank(p->type) == zone_rank(tmp.type) &&
			     p->start_pfn <= tmp.start_pfn))
				break;
			core->zones[j] = core->zones[j - 1];
		}
		core->zones[j] = tmp;
	}
	core->nr_zones = n;
	return n;
}

/* Where windows of this request must end in zone z: its end, or the limit below it. */
vcma_u64 vcma_zone_end(const struct vcma_zone_span *z, const struct vcma_req_state *rs)
{
	return rs->limit_pfn ? vcma_min64(z->end_pfn, rs->limit_pfn) : z->end_pfn;
}

int vcma_zone_usable(const struct vcma_core *core, const struct vcma_zone_span *z,
		     const struct vcma_req_state *rs)
{
	(void)core;
	if (rs->node != VCMA_CORE_NODE_ANY && z->node != rs->node)
		return 0;
	if ((rs->flags & VCMA_CORE_MOVABLE_ONLY) && zone_rank(z->type) != 0)
		return 0;
	return vcma_zone_end(z, rs) > z->start_pfn;
}

void vcma_summarize(struct vcma_core *core, vcma_u64 pfn, vcma_u64 nr,
		    struct vcma_range_summary *out)
{
	vcma_u64 i;
	vcma_u32 cls;

	if (core->ops->summarize) {
		core->ops->summarize(core->ctx, pfn, nr, out);
		return;
	}
	vcma_zero(out, sizeof(*out));
	for (i = 0; i < nr; i++) {
		cls = core->ops->classify(core->ctx, pfn + i);
		out->count[cls < VCMA_NR_PAGE_CLASSES ? cls : VCMA_PC_UNMOVABLE]++;
	}
}

vcma_u64 vcma_window_cost(const struct vcma_range_summary *s, int *possible)
{
	const vcma_u64 *c = s->count;
	vcma_u64 move = 0;
	int i;

	*possible = !c[VCMA_PC_UNMOVABLE] && !c[VCMA_PC_HOLE] && !c[VCMA_PC_OWNED];
	for (i = 0; i < VCMA_NR_PAGE_CLASSES; i++)
		if (i != VCMA_PC_FREE)
			move += c[i];
	return move + c[VCMA_PC_PINNED] * VCMA_COST_PINNED +
	       c[VCMA_PC_DIRTY] * VCMA_COST_DIRTY +
	       c[VCMA_PC_WRITEBACK] * VCMA_COST_WRITEBACK;
}

static void rank_insert(struct vcma_core *core, vcma_u64 pfn, vcma_u64 cost,
			vcma_u64 pinned)
{
	vcma_u32 max = core->cfg.max_candidates, i;

	if (core->nr_cand == max && core->cand[max - 1].cost <= cost)
		return;
	i = core->nr_cand < max ? core->nr_cand++ : max - 1;
	/* Strictly-greater shift keeps scan order among equal costs. */
	for (; i > 0 && core->cand[i - 1].cost > cost; i--)
		core->cand[i] = core->cand[i - 1];
	core->cand[i].start_pfn = pfn;
	core->cand[i].cost = cost;
	core->cand[i].pinned = pinned;
}

static void consider(struct vcma_core *core, struct vcma_req_state *rs, vcma_u64 pfn)
{
	int possible;
	vcma_u64 cost;

	rs->ev->ranges_scanned++;
	if (vcma_held_overlaps(core, pfn, rs->nr))
		return;
	cost = vcma_window_cost(&core->sum_win, &possible);
	if (possible)
		rank_insert(core, pfn, cost, core->sum_win.count[VCMA_PC_PINNED]);
}

/* The first window start in zone z; nonzero when at least one window fits. */
static int first_window(const struct vcma_zone_span *z, const struct vcma_req_state *rs,
			vcma_u64 *pfn)
{
	*pfn = vcma_align_up(z->start_pfn, rs->step);
	return *pfn >= z->start_pfn && *pfn + rs->nr <= vcma_zone_end(z, rs);
}

int vcma_windows_exist(const struct vcma_core *core, const struct vcma_req_state *rs)
{
	vcma_u64 pfn;
	int i;

	for (i = 0; i < core->nr_zones; i++)
		if (vcma_zone_usable(core, &core->zones[i], rs) &&
		    first_window(&core->zones[i], rs, &pfn))
			return 1;
	return 0;
}

/*
 * The per-pageblock summaries of a sliding window of units pageblocks,
 * zeroed; NULL when there is no memory for them (then the scan does not
 * slide). Kept in the core for the next request.
 */
static struct vcma_range_summary *unit_ring(struct vcma_core *core, vcma_u64 units)
{
	if (units > core->units_cap) {
		if (core->units)
			core->ops->free(core->ctx, core->units);
		core->units_cap = 0;
		core->units = core->ops->zalloc(core->ctx, units * sizeof(*core->units));
		if (!core->units)
			return 0;
		core->units_cap = units;
	}
	vcma_zero(core->units, units * sizeof(*core->units));
	return core->units;
}

/*
 * Returns nonzero when the deadline cut the scan short.
 *
 * The system keeps running while a zone is scanned, so a pageblock may read
 * differently when it leaves the window than when it entered. Subtracting a
 * fresh read would leave the difference in the window's counts for the rest
 * of the zone (one page freed from a slab meanwhile, and every later window
 * looks impossible; one allocated, and a count wraps around). The ring
 * keeps what each pageblock contributed, and exactly that is taken out.
 */
static int scan_zone(struct vcma_core *core, struct vcma_req_state *rs,
		     const struct vcma_zone_span *z)
{
	vcma_u64 unit = 1ull << core->cfg.pageblock_order;
	vcma_u64 units = rs->nr / unit, end = vcma_zone_end(z, rs), first, pfn, u, idx;
	struct vcma_range_summary *ring = 0, *slot;
	vcma_u32 n = 0;

	if (!first_window(z, rs, &first))
		return 0;
	if (rs->step < rs->nr && !(rs->nr % unit) && !(rs->step % unit))
		ring = unit_ring(core, units);
	vcma_zero(&core->sum_win, sizeof(core->sum_win));
	for (pfn = first; pfn + rs->nr <= end; pfn += rs->step) {
		if (!(++n % VCMA_SCAN_CLOCK_EVERY) && vcma_deadline_passed(core, rs))
			return 1;
		if (!ring) {
			/* A held window is never a candidate: no need to read it. */
			if (vcma_held_overlaps(core, pfn, rs->nr)) {
				rs->ev->ranges_scanned++;
				continue;
			}
			vcma_summarize(core, pfn, rs->nr, &core->sum_win);
			consider(core, rs, pfn);
			continue;
		}
		/* The first window reads all its pageblocks, later ones the new. */
		for (u = n > 1 ? units - rs->step / unit : 0; u < units; u++) {
			idx = (pfn - first) / unit + u;
			slot = &ring[idx % units];	/* the slot of the one leaving */
			vcma_sum_sub(&core->sum_win, slot);
			vcma_summarize(core, pfn + u * unit, unit, slot);
			vcma_sum_add(&core->sum_win, slot);
		}
		consider(core, rs, pfn);
	}
	return 0;
}

void vcma_plan(struct vcma_core *core, struct vcma_req_state *rs)
{
	int i;

	core->nr_cand = 0;
	for (i = 0; i < core->nr_zones; i++) {
		if (!vcma_zone_usable(core, &core->zones[i], rs))
			continue;
		if (scan_zone(core, rs, &core->zones[i]))
			break;
	}
}
