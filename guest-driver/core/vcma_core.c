// SPDX-License-Identifier: GPL-2.0-only OR MIT
/*
 * The core object and its public entry points: lifecycle, request
 * validation, tag idempotency, the safety floor, statistics, the balloon
 * chunk interface and the names of causes and page classes.
 */
#include "core_priv.h"

static void *core_zalloc(const struct vcma_backend_ops *ops, void *ctx, vcma_u64 bytes)
{
	return ops->zalloc(ctx, (vcma_size_t)bytes);
}

static void core_free_tables(struct vcma_core *core)
{
	const struct vcma_backend_ops *ops = core->ops;

	if (core->grants)
		ops->free(core->ctx, core->grants);
	if (core->by_pfn)
		ops->free(core->ctx, core->by_pfn);
	if (core->by_id)
		ops->free(core->ctx, core->by_id);
	if (core->cand)
		ops->free(core->ctx, core->cand);
	if (core->units)
		ops->free(core->ctx, core->units);
	ops->free(core->ctx, core);
}

static int ops_complete(const struct vcma_backend_ops *ops)
{
	return ops && ops->zones && ops->classify && ops->invalidate_bh_lrus &&
	       ops->evacuate && ops->release && ops->available_pages && ops->now_us &&
	       ops->sleep_us && ops->zalloc && ops->free;
}

struct vcma_core *vcma_core_new(const struct vcma_backend_ops *ops, void *ctx,
				const struct vcma_core_config *cfg)
{
	struct vcma_core *core;
	struct vcma_core_config c;

	if (!ops_complete(ops) || !cfg)
		return 0;
	c = *cfg;
	if (!c.page_shift)
		c.page_shift = 12;
	if (!c.pageblock_order)
		c.pageblock_order = 9;
	if (!c.max_grants)
		c.max_grants = 1024;
	if (!c.max_candidates)
		c.max_candidates = 32;
	if (!c.default_deadline_ms)
		c.default_deadline_ms = 1000;
	if (!c.max_backoff_ms)
		c.max_backoff_ms = 100;
	if (c.page_shift < 9 || c.page_shift > 21 || c.pageblock_order > 20 ||
	    c.strategy > VCMA_STRATEGY_NAIVE || c.max_grants > (1u << 24) ||
	    c.max_candidates > 4096)
		return 0;

	core = ops->zalloc(ctx, sizeof(*core));
	if (!core)
		return 0;
	core->ops = ops;
	core->ctx = ctx;
	core->cfg = c;
	core->next_id = 1;
	core->grants = core_zalloc(ops, ctx, (vcma_u64)c.max_grants * sizeof(*core->grants));
	core->by_pfn = core_zalloc(ops, ctx, (vcma_u64)c.max_grants * sizeof(vcma_u32));
	core->by_id = core_zalloc(ops, ctx, (vcma_u64)c.max_grants * sizeof(vcma_u32));
	core->cand = core_zalloc(ops, ctx, (vcma_u64)c.max_candidates * sizeof(*core->cand));
	if (!core->grants || !core->by_pfn || !core->by_id || !core->cand) {
		core_free_tables(core);
		return 0;
	}
	return core;
}

void vcma_core_free(struct vcma_core *core)
{
	if (!core)
		return;
	while (core->nr_grants)
		vcma_core_release(core, core->grants[core->by_id[core->nr_grants - 1]].id);
	core_free_tables(core);
}

void vcma_core_get_stats(struct vcma_core *core, struct vcma_core_stats *out)
{
	*out = core->stats;
}

static vcma_u64 zone_pages_total(const struct vcma_core *core)
{
	vcma_u64 total = 0;
	int i;

	for (i = 0; i < core->nr_zones; i++)
		total += core->zones[i].end_pfn - core->zones[i].start_pfn;
	return total;
}

/* Would taking nr more pages push the guest below its safety floor? */
static int below_floor(struct vcma_core *core, vcma_u64 nr)
{
	vcma_u64 avail = core->ops->available_pages(core->ctx);

	return avail < nr || avail - nr < core->cfg.floor_pages;
}

static void init_request(struct vcma_core *core, struct vcma_req_state *rs, vcma_u64 nr,
			 vcma_u64 align, vcma_u32 flags, vcma_u32 node, vcma_u32 deadline_ms,
			 struct vcma_core_evidence *ev)
{
	vcma_u64 pageblock = 1ull << core->cfg.pageblock_order;

	rs->nr = nr;
	rs->align = align;
	/* Sub-pageblock requests still start at most once per pageblock-ish step. */
	rs->step = vcma_max64(align, vcma_min64(pageblock, vcma_pow2_ceil(nr)));
	rs->flags = flags;
	rs->node = node;
	rs->ev = ev;
	rs->start_us = core->ops->now_us(core->ctx);
	rs->deadline_us = rs->start_us +
		(vcma_u64)(deadline_ms ? deadline_ms : core->cfg.default_deadline_ms) * 1000;
}

static void account_work(struct vcma_core *core, const struct vcma_core_evidence *ev)
{
	struct vcma_core_stats *st = &core->stats;

	st->pages_migrated += ev->pages_migrated;
	st->pinned_met += ev->pinned_met;
	st->bh_invalidations += ev->bh_invalidations;
	st->retries += ev->retries;
	st->ranges_scanned += ev->ranges_scanned;
	st->ranges_tried += ev->ranges_tried;
}

static void account_failure(struct vcma_core *core, vcma_u32 cause, int err)
{
	struct vcma_core_stats *st = &core->stats;

	st->fail_by_cause[cause < VCMA_CORE_NR_CAUSES ? cause : 0]++;
	st->last_cause = cause;
	st->last_error = err;
}

static void account(struct vcma_core *core, const struct vcma_core_evidence *ev, int err)
{
	account_work(core, ev);
	if (err) {
		core->stats.reserve_fail++;
		account_failure(core, ev->cause, err);
	} else {
		core->stats.reserve_ok++;
	}
}

static int check_request(const struct vcma_core *core, const struct vcma_core_request *req,
			 vcma_u64 *nr, vcma_u64 *align)
{
	vcma_u64 page = 1ull << core->cfg.page_shift;

	if (!req || !req->size || (req->size & (page - 1)) ||
	    (req->flags & ~VCMA_CORE_FLAGS_KNOWN))
		return -VCMA_EINVAL;
	if (req->align && (!vcma_is_pow2(req->align) || req->align < page))
		return -VCMA_EINVAL;
	if (req->max_addr && ((req->max_addr & (page - 1)) || req->max_addr < req->size))
		return -VCMA_EINVAL;
	*nr = req->size >> core->cfg.page_shift;
	*align = req->align ? req->align >> core->cfg.page_shift : vcma_pow2_ceil(*nr);
	if (!*align || *nr > zone_pages_total(core))
		return -VCMA_EINVAL;
	return 0;
}

/*
 * A limit no usable zone can meet: windows of this size exist, but none
 * ends at or below the limit. Decided from the zone layout alone, before any
 * page is looked at, so nothing is evacuated for a request that cannot be had.
 */
static int addr_limit_unmeetable(const struct vcma_core *core, struct vcma_req_state *rs)
{
	vcma_u64 limit = rs->limit_pfn;
	int exist_below, exist;

	if (!limit)
		return 0;
	exist_below = vcma_windows_exist(core, rs);
	rs->limit_pfn = 0;
	exist = vcma_windows_exist(core, rs);
	rs->limit_pfn = limit;
	return !exist_below && exist;
}

static int reserve_locked(struct vcma_core *core, const struct vcma_core_request *req,
			  struct vcma_grant *grant, struct vcma_req_state *rs)
{
	struct vcma_grant *old;
	vcma_u64 nr, align, pfn = 0;
	int err;

	vcma_load_zones(core);
	err = check_request(core, req, &nr, &align);
	if (err)
		return err;
	old = vcma_grant_by_tag(core, req->tag);
	if (old) {
		if (old->nr_pages != nr || (old->start_pfn & (align - 1)) ||
		    (req->max_addr &&
		     old->start_pfn + nr > req->max_addr >> core->cfg.page_shift))
			return -VCMA_EEXIST;
		*grant = *old;
		return 0;
	}
	init_request(core, rs, nr, align, req->flags, req->node, req->deadline_ms, rs->ev);
	if (req->max_addr)
		rs->limit_pfn = req->max_addr >> core->cfg.page_shift;
	if (core->nr_grants >= core->cfg.max_grants) {
		rs->ev->cause = VCMA_CORE_CAUSE_LIMIT;
		return -VCMA_ENOSPC;
	}
	if (addr_limit_unmeetable(core, rs)) {
		rs->ev->cause = VCMA_CORE_CAUSE_ADDR_LIMIT;
		return -VCMA_ENOSPC;
	}
	if (below_floor(core, nr)) {
		rs->ev->cause = VCMA_CORE_CAUSE_FLOOR;
		return -VCMA_ENOSPC;
	}
	if (core->cfg.strategy == VCMA_STRATEGY_NAIVE) {
		err = vcma_run_naive(core, rs, &pfn);
	} else {
		err = vcma_run_planner(core, rs, &pfn);
	}
	if (err)
		return err;
	err = vcma_grant_add(core, pfn, nr, VCMA_GRANT_RESERVE, req, grant);
	if (err) {	/* cannot happen: the scan skips held ranges; stay safe anyway */
		core->ops->release(core->ctx, pfn, nr);
		rs->ev->cause = VCMA_CORE_CAUSE_LIMIT;
	}
	return err;
}

int vcma_core_reserve(struct vcma_core *core, const struct vcma_core_request *req,
		      struct vcma_grant *grant, struct vcma_core_evidence *ev)
{
	struct vcma_req_state rs;
	struct vcma_core_evidence *e = ev;
	struct vcma_grant *g = grant;
	vcma_u64 t0 = core->ops->now_us(core->ctx);
	int err;

	vcma_zero(&rs, sizeof(rs));
	if (!e)		/* evidence is optional for callers */
		e = &core->ev_scratch;
	vcma_zero(e, sizeof(*e));
	e->evac.exact = 1;
	rs.ev = e;
	if (!g)
		return -VCMA_EINVAL;
	err = reserve_locked(core, req, g, &rs);
	e->elapsed_us = core->ops->now_us(core->ctx) - t0;
	if (err == -VCMA_EINVAL || err == -VCMA_EEXIST) {
		core->stats.last_error = err;
		return err;
	}
	if (err && e->cause == VCMA_CORE_CAUSE_NONE)
		e->cause = VCMA_CORE_CAUSE_MIGRATE;
	account(core, e, err);
	return err;
}

/* Chunks asked of take_free() at once: bounds one backend call. */
#define VCMA_TAKE_FREE_BATCH	64u

/* Why inflating must stop before the next chunk, or NONE. */
static vcma_u32 balloon_stop(struct vcma_core *core, struct vcma_req_state *rs)
{
	if (core->nr_grants >= core->cfg.max_grants)
		return VCMA_CORE_CAUSE_LIMIT;
	if (below_floor(core, rs->nr))
		return VCMA_CORE_CAUSE_FLOOR;
	if (vcma_deadline_passed(core, rs))
		return VCMA_CORE_CAUSE_DEADLINE;
	return VCMA_CORE_CAUSE_NONE;
}

/* Chunks that can be taken now without crossing the floor or filling the table. */
static vcma_u32 balloon_room(struct vcma_core *core, const struct vcma_req_state *rs,
			     vcma_u32 want)
{
	vcma_u64 avail = core->ops->available_pages(core->ctx);
	vcma_u64 room = avail > core->cfg.floor_pages ?
			(avail - core->cfg.floor_pages) / rs->nr : 0;

	room = vcma_min64(room, core->cfg.max_grants - core->nr_grants);
	return (vcma_u32)vcma_min64(room, want);
}

/* Make a taken chunk a BALLOON grant; nonzero if it had to be given back. */
static int balloon_keep(struct vcma_core *core, vcma_u64 pfn, vcma_u64 nr)
{
	if (vcma_grant_add(core, pfn, nr, VCMA_GRANT_BALLOON, 0, 0)) {
		core->ops->release(core->ctx, pfn, nr);
		return -1;
	}
	core->stats.balloon_inflated++;
	return 0;
}

/*
 * Free blocks first: as many chunks as take_free() has, in bounded batches
 * each checked against the floor and the grant table. Returns the chunks
 * kept; *verdict is set when a limit (not the free blocks) stopped it.
 */
static vcma_u32 balloon_take_free(struct vcma_core *core, struct vcma_req_state *rs,
				  vcma_u32 order, vcma_u32 max_chunks, vcma_u64 *pfns,
				  vcma_u32 *verdict)
{
	vcma_u32 done = 0, base, want, got, i;
	int taken;

	if (!core->ops->take_free)
		return 0;
	while (done < max_chunks) {
		*verdict = balloon_stop(core, rs);
		if (*verdict != VCMA_CORE_CAUSE_NONE)
			break;
		want = balloon_room(core, rs, (vcma_u32)vcma_min64(max_chunks - done,
								    VCMA_TAKE_FREE_BATCH));
		if (!want) {	/* below_floor said there is room for one: stay safe */
			*verdict = VCMA_CORE_CAUSE_FLOOR;
			break;
		}
		taken = core->ops->take_free(core->ctx, order, want, pfns + done);
		got = taken > 0 ? (vcma_u32)taken : 0;
		/* Blocks stay in place in pfns[]; from the first one refused on, all go back. */
		base = done;
		for (i = 0; i < got; i++) {
			if (balloon_keep(core, pfns[base + i], rs->nr)) {
				while (++i < got)
					core->ops->release(core->ctx, pfns[base + i], rs->nr);
				*verdict = VCMA_CORE_CAUSE_LIMIT;
				return done;
			}
			done++;
			core->stats.balloon_free_taken++;
		}
		if (got < want)		/* no free block left */
			break;
	}
	return done;
}

/*
 * Balloon inflate: take up to max_chunks aligned chunks, each a BALLOON
 * grant. Free blocks come first (no scan, no migration); only when none is
 * left are chunks evacuated. One plan serves several chunks; a new plan is
 * made when its candidates are used up, and inflating stops at the first
 * plan that yields nothing, at the floor, or at the default deadline.
 */
int vcma_core_balloon_inflate(struct vcma_core *core, vcma_u32 chunk_order,
			      vcma_u32 max_chunks, vcma_u64 *pfns, vcma_u32 *cause)
{
	struct vcma_core_evidence *ev;
	struct vcma_req_state rs;
	vcma_u64 nr;
	vcma_u32 done, i, verdict = VCMA_CORE_CAUSE_NONE, got;

	if (cause)
		*cause = VCMA_CORE_CAUSE_NONE;
	if (!pfns || chunk_order > 30 || !max_chunks)
		return -VCMA_EINVAL;
	nr = 1ull << chunk_order;
	vcma_load_zones(core);
	if (nr > zone_pages_total(core))
		return -VCMA_EINVAL;
	ev = core->ops->zalloc(core->ctx, sizeof(*ev));
	if (!ev)
		return -VCMA_ENOMEM;
	vcma_zero(&rs, sizeof(rs));
	init_request(core, &rs, nr, nr, VCMA_CORE_FAIL_FAST, VCMA_CORE_NODE_ANY, 0, ev);
	rs.evac_flags = VCMA_EVAC_KEEP_CONTENTS;
	done = balloon_take_free(core, &rs, chunk_order, max_chunks, pfns, &verdict);
	while (done < max_chunks && verdict == VCMA_CORE_CAUSE_NONE) {
		vcma_plan(core, &rs);
		if (!core->nr_cand)
			verdict = VCMA_CORE_CAUSE_NO_RANGE;
		for (i = 0, got = 0; i < core->nr_cand && done < max_chunks; i++) {
			vcma_u64 pfn = core->cand[i].start_pfn;

			verdict = balloon_stop(core, &rs);
			if (verdict != VCMA_CORE_CAUSE_NONE)
				break;
			ev->cause = vcma_try_window(core, &rs, pfn);
			if (ev->cause != VCMA_CORE_CAUSE_NONE || balloon_keep(core, pfn, nr))
				continue;
			pfns[done++] = pfn;
			got++;
		}
		if (!got && verdict == VCMA_CORE_CAUSE_NONE)
			verdict = ev->cause ? ev->cause : VCMA_CORE_CAUSE_NO_RANGE;
	}
	ev->cause = done == max_chunks ? VCMA_CORE_CAUSE_NONE : verdict;
	/* Chunks are counted apart from reservations; a short inflate still has a cause. */
	account_work(core, ev);
	if (ev->cause)
		account_failure(core, ev->cause, vcma_cause_errno(ev->cause));
	if (cause)
		*cause = ev->cause;
	core->ops->free(core->ctx, ev);
	if (!done && verdict != VCMA_CORE_CAUSE_NONE)
		return vcma_cause_errno(verdict);
	return (int)done;
}

/* Balloon deflate: give back the highest chunks of that size first. */
int vcma_core_balloon_deflate(struct vcma_core *core, vcma_u32 chunk_order,
			      vcma_u32 max_chunks, vcma_u64 *pfns)
{
	vcma_u32 i = core->nr_grants, done = 0;
	struct vcma_grant *g;

	if (!pfns || chunk_order > 30)
		return -VCMA_EINVAL;
	while (i-- > 0 && done < max_chunks) {
		g = &core->grants[core->by_pfn[i]];
		if (g->kind != VCMA_GRANT_BALLOON || g->nr_pages != 1ull << chunk_order)
			continue;
		pfns[done++] = g->start_pfn;
		core->ops->release(core->ctx, g->start_pfn, g->nr_pages);
		vcma_grant_drop(core, g);
		core->stats.balloon_deflated++;
	}
	return (int)done;
}

const char *vcma_core_cause_name(vcma_u32 cause)
{
	static const char *const names[VCMA_CORE_NR_CAUSES] = {
		"none", "unmovable", "pinned", "pagevec", "bh_lru", "writeback",
		"no_range", "floor", "deadline", "migrate", "limit", "addr_limit",
	};

	return cause < VCMA_CORE_NR_CAUSES ? names[cause] : "unknown";
}

const char *vcma_page_class_name(vcma_u32 cls)
{
	static const char *const names[VCMA_NR_PAGE_CLASSES] = {
		"free", "lru_anon", "lru_file", "lru_shmem", "pagevec", "buffers",
		"dirty", "writeback", "pinned", "unmovable", "hole", "owned",
		"other_movable",
	};

	return cls < VCMA_NR_PAGE_CLASSES ? names[cls] : "unknown";
}
