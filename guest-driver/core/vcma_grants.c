// SPDX-License-Identifier: GPL-2.0-only OR MIT
/*
 * Grant table and held-range index: the CMA-like area allocator over what the
 * core holds. Every grant (reservation or balloon chunk) is one extent; the
 * extents never overlap, and two sorted indexes over the table answer "does
 * this window touch anything held?" and "grant by id" in O(log n).
 *
 * Ids start at 1 and only grow, so an id is never reused within a core's life.
 */
#include "core_priv.h"

static vcma_u64 slot_end(const struct vcma_core *core, vcma_u32 slot)
{
	return core->grants[slot].start_pfn + core->grants[slot].nr_pages;
}

static vcma_u64 slot_key(const struct vcma_core *core, vcma_u32 slot, int by_id)
{
	return by_id ? core->grants[slot].id : core->grants[slot].start_pfn;
}

/* Position of the first outstanding grant whose key (id or start pfn) is >= key. */
static vcma_u32 lower_bound(const struct vcma_core *core, int by_id, vcma_u64 key)
{
	const vcma_u32 *idx = by_id ? core->by_id : core->by_pfn;
	vcma_u32 lo = 0, hi = core->nr_grants;

	while (lo < hi) {
		vcma_u32 mid = lo + (hi - lo) / 2;

		if (slot_key(core, idx[mid], by_id) < key)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

static vcma_u32 by_pfn_lower_bound(const struct vcma_core *core, vcma_u64 pfn)
{
	return lower_bound(core, 0, pfn);
}

static vcma_u32 by_id_lower_bound(const struct vcma_core *core, vcma_u64 id)
{
	return lower_bound(core, 1, id);
}

int vcma_held_overlaps(const struct vcma_core *core, vcma_u64 pfn, vcma_u64 nr)
{
	/*
	 * Extents are disjoint and sorted, so their ends are sorted too: only
	 * the last extent starting before the window's end can reach into it.
	 */
	vcma_u32 i = by_pfn_lower_bound(core, pfn + nr);

	if (i == 0)
		return 0;
	return slot_end(core, core->by_pfn[i - 1]) > pfn;
}

static void index_insert(vcma_u32 *idx, vcma_u32 n, vcma_u32 at, vcma_u32 slot)
{
	vcma_u32 i;

	for (i = n; i > at; i--)
		idx[i] = idx[i - 1];
	idx[at] = slot;
}

static void index_remove(vcma_u32 *idx, vcma_u32 n, vcma_u32 at)
{
	vcma_u32 i;

	for (i = at; i + 1 < n; i++)
		idx[i] = idx[i + 1];
}

static void copy_label(char *dst, const char *src)
{
	int i;

	for (i = 0; i < VCMA_CORE_LABEL_LEN - 1 && src[i]; i++)
		dst[i] = src[i];
	for (; i < VCMA_CORE_LABEL_LEN; i++)
		dst[i] = 0;
}

int vcma_grant_add(struct vcma_core *core, vcma_u64 pfn, vcma_u64 nr, vcma_u32 kind,
		   const struct vcma_core_request *req, struct vcma_grant *out)
{
	vcma_u32 max = core->cfg.max_grants, slot, i;
	struct vcma_grant *g;

	if (core->nr_grants >= max)
		return -VCMA_ENOSPC;
	if (vcma_held_overlaps(core, pfn, nr))
		return -VCMA_EEXIST;
	for (i = 0; i < max; i++) {
		slot = (core->free_hint + i) % max;
		if (!core->grants[slot].id)
			break;
	}
	core->free_hint = (slot + 1) % max;
	g = &core->grants[slot];
	g->id = core->next_id++;
	g->start_pfn = pfn;
	g->nr_pages = nr;
	g->kind = kind;
	g->tag = req ? req->tag : 0;
	g->max_addr = req ? req->max_addr : 0;
	copy_label(g->label, req ? req->label : "");

	index_insert(core->by_pfn, core->nr_grants, by_pfn_lower_bound(core, pfn), slot);
	core->by_id[core->nr_grants] = slot;
	core->nr_grants++;

	core->stats.grants = core->nr_grants;
	core->stats.pages_held += nr;
	if (kind == VCMA_GRANT_BALLOON)
		core->stats.balloon_pages += nr;
	if (out)
		*out = *g;
	return 0;
}

struct vcma_grant *vcma_grant_by_tag(struct vcma_core *core, vcma_u64 tag)
{
	vcma_u32 i;

	for (i = 0; tag && i < core->nr_grants; i++)
		if (core->grants[core->by_id[i]].tag == tag)
			return &core->grants[core->by_id[i]];
	return 0;
}

struct vcma_grant *vcma_grant_by_id(struct vcma_core *core, vcma_u64 id)
{
	vcma_u32 i = by_id_lower_bound(core, id);

	if (i < core->nr_grants && core->grants[core->by_id[i]].id == id)
		return &core->grants[core->by_id[i]];
	return 0;
}

/* Forget a grant; the caller has already given its pages back. */
void vcma_grant_drop(struct vcma_core *core, struct vcma_grant *g)
{
	vcma_u32 slot = (vcma_u32)(g - core->grants);
	vcma_u32 i = by_pfn_lower_bound(core, g->start_pfn);

	index_remove(core->by_pfn, core->nr_grants, i);
	index_remove(core->by_id, core->nr_grants, by_id_lower_bound(core, g->id));
	core->nr_grants--;
	core->stats.grants = core->nr_grants;
	core->stats.pages_held -= g->nr_pages;
	if (g->kind == VCMA_GRANT_BALLOON)
		core->stats.balloon_pages -= g->nr_pages;
	vcma_zero(g, sizeof(*g));
	core->free_hint = slot;
}

vcma_u32 vcma_core_list(struct vcma_core *core, struct vcma_grant *out, vcma_u32 max)
{
	vcma_u32 i;

	for (i = 0; out && i < max && i < core->nr_grants; i++)
		out[i] = core->grants[core->by_id[i]];
	return core->nr_grants;
}

int vcma_core_find(struct vcma_core *core, vcma_u64 grant_id, struct vcma_grant *out)
{
	struct vcma_grant *g = grant_id ? vcma_grant_by_id(core, grant_id) : 0;

	if (!g)
		return -VCMA_ENOENT;
	if (out)
		*out = *g;
	return 0;
}

int vcma_core_release(struct vcma_core *core, vcma_u64 grant_id)
{
	struct vcma_grant *g = grant_id ? vcma_grant_by_id(core, grant_id) : 0;

	if (!g)
		return -VCMA_ENOENT;
	core->ops->release(core->ctx, g->start_pfn, g->nr_pages);
	vcma_grant_drop(core, g);
	return 0;
}
