// SPDX-License-Identifier: GPL-2.0-only OR MIT
/*
 * Migration, pins, writeback and alloc_contig_range.
 *
 * migrate_one() is one migrate_pages() attempt on an isolated page: the page
 * moves only when its refcount equals what its owners explain (mapping, maps,
 * attached buffers), so a pagevec entry, a GUP reference or a FOLL_PIN bias
 * all make it fail with -EAGAIN. Writeback pages wait. Pages of a mapping
 * without a migratepage callback (ext4 journalled data) take the fallback
 * path: dirty ones are written out first, and their buffers must be dropped,
 * which fails while a BH LRU holds one. Block-device pages use the "norefs"
 * variant, which fails on a referenced buffer head too.
 *
 * alloc_contig_range() follows Linux 6.1: isolate the pageblocks (refusing
 * unmovable pages outside ZONE_MOVABLE/CMA), disable the LRU caches (or, with
 * pagevec_disable off, drain them once as before 5.13), isolate and migrate
 * the range in clusters of 32 pages with up to 10 passes each and up to 5
 * rounds, let the rest of the system run between passes, verify that every
 * page is free, claim the range, and restore the pageblock types; on failure
 * every pageblock gets back the migratetype it had.
 */
#include <stdlib.h>
#include <string.h>

#include "model_priv.h"

#define EAGAIN_	11
#define EBUSY_	16
#define ENOMEM_	12
#define EINVAL_	22

enum gfp_class gfp_of_type(uint32_t type)
{
	switch (type) {
	case VCMA_MPT_BDEV:
		return GFP_USER_MOVABLE;
	case VCMA_MPT_SLAB_RECLAIMABLE:
		return GFP_KERNEL_RECLAIMABLE;
	case VCMA_MPT_SLAB:
	case VCMA_MPT_KERNEL:
		return GFP_KERNEL_UNMOVABLE;
	default:
		return GFP_HIGHUSER_MOVABLE;
	}
}

void wb_start(struct vcma_model *m, uint64_t pfn)
{
	struct mpage *p = &m->pages[pfn];
	uint64_t end = m->now_us + m->sc.writeback_us;
	uint8_t c;

	if (p->flags & VCMA_MPF_WRITEBACK)
		return;
	if (m->nr_wb == m->cap_wb) {
		size_t cap = m->cap_wb ? m->cap_wb * 2 : 256;
		struct mwb *n = realloc(m->wb, cap * sizeof(*n));

		if (!n)
			return;
		m->wb = n;
		m->cap_wb = cap;
	}
	c = cls_begin(m, pfn);
	p->flags = (uint8_t)((p->flags & ~VCMA_MPF_DIRTY) | VCMA_MPF_WRITEBACK);
	cls_end(m, pfn, c);
	m->wb[m->nr_wb].pfn = (uint32_t)pfn;
	m->wb[m->nr_wb].end_us = end;
	m->nr_wb++;
	if (end < m->next_wb_end || m->nr_wb == 1)
		m->next_wb_end = end;
}

void wb_expire(struct vcma_model *m)
{
	uint64_t next = UINT64_MAX;
	size_t i = 0;
	uint8_t c;

	if (!m->nr_wb || m->now_us < m->next_wb_end)
		return;
	while (i < m->nr_wb) {
		if (m->wb[i].end_us <= m->now_us) {
			uint64_t pfn = m->wb[i].pfn;

			c = cls_begin(m, pfn);
			m->pages[pfn].flags &= (uint8_t)~VCMA_MPF_WRITEBACK;
			cls_end(m, pfn, c);
			m->wb[i] = m->wb[--m->nr_wb];
			continue;
		}
		if (m->wb[i].end_us < next)
			next = m->wb[i].end_us;
		i++;
	}
	m->next_wb_end = next;
}

/*
 * MIGRATE_SYNC waits for writeback to end (folio_wait_writeback); the rest of
 * the system runs meanwhile. Nested waits (from activity that runs inside a
 * wait) give up instead, which bounds the recursion. 0 when it ended.
 */
static int wb_wait(struct vcma_model *m, uint64_t pfn)
{
	size_t i;

	if (m->in_advance)
		return -1;
	for (i = 0; i < m->nr_wb; i++)
		if (m->wb[i].pfn == pfn && m->wb[i].end_us > m->now_us) {
			model_advance(m, m->wb[i].end_us - m->now_us);
			break;
		}
	wb_expire(m);
	return (m->pages[pfn].flags & VCMA_MPF_WRITEBACK) ? -1 : 0;
}

/* The new page gets the old one's identity, owner and buffers; the old one is freed. */
static void move_page(struct vcma_model *m, uint64_t from, uint64_t to)
{
	struct mpage old = m->pages[from], *np = &m->pages[to];
	uint8_t c = cls_begin(m, to);

	np->type = old.type;
	np->flags = old.flags & (VCMA_MPF_DIRTY | VCMA_MPF_BUFFERS | VCMA_MPF_JOURNAL);
	np->aux = old.aux;
	np->mapcount = old.mapcount;
	np->a = old.a;
	np->b = old.b;
	np->ref = page_owner_refs(np);
	cls_end(m, to, c);
	if (old.a != NIL)
		m->objs[old.a] = (uint32_t)to;
	if (old.aux)
		bh_lru_repoint(m, from, to);
	buddy_free_page(m, from);
	lru_add_new(m, 0, to);		/* folio_add_lru of the destination */
	m->st.migrations++;
	model_advance(m, COST_MIGRATE_US);
}

int migrate_one(struct vcma_model *m, uint64_t pfn, enum gfp_class gfp, uint64_t *new_pfn)
{
	struct mpage *p = &m->pages[pfn];
	uint32_t np;
	uint8_t c;

	if (!page_is_lru_type(p) || !(p->flags & VCMA_MPF_ISOLATED))
		return -EBUSY_;
	if ((p->flags & VCMA_MPF_WRITEBACK) && wb_wait(m, pfn))
		return -EAGAIN_;
	if (p->ref != page_owner_refs(p))	/* pagevec, GUP ref or pin */
		return -EAGAIN_;
	if (p->flags & VCMA_MPF_JOURNAL) {	/* fallback_migrate_folio */
		if (p->flags & VCMA_MPF_DIRTY) {
			wb_start(m, pfn);
			return -EAGAIN_;
		}
		if (p->flags & VCMA_MPF_BUFFERS) {
			if (p->aux)		/* try_to_free_buffers: a bh is busy */
				return -EAGAIN_;
			c = cls_begin(m, pfn);
			p->flags &= (uint8_t)~VCMA_MPF_BUFFERS;
			p->ref--;
			cls_end(m, pfn, c);
		}
	}
	if (p->type == VCMA_MPT_BDEV && p->aux)	/* buffer_migrate_folio_norefs */
		return -EAGAIN_;
	np = buddy_alloc_page(m, gfp);
	if (np == NIL)
		return -ENOMEM_;
	move_page(m, pfn, np);
	if (new_pfn)
		*new_pfn = np;
	return 0;
}

static bool isolate_lru(struct vcma_model *m, uint64_t pfn)
{
	struct mpage *p = &m->pages[pfn];

	if (!page_is_lru_type(p) || !(p->flags & VCMA_MPF_LRU))
		return false;
	p->flags = (uint8_t)((p->flags & ~VCMA_MPF_LRU) | VCMA_MPF_ISOLATED);
	return true;
}

static void putback(struct vcma_model *m, uint64_t pfn)
{
	m->pages[pfn].flags &= (uint8_t)~VCMA_MPF_ISOLATED;
	lru_putback(m, pfn);
}

int vcma_model_migrate_page(struct vcma_model *m, uint64_t pfn, uint64_t *new_pfn)
{
	int r;

	if (pfn >= m->nr_pages || !isolate_lru(m, pfn))
		return -EBUSY_;
	r = migrate_one(m, pfn, gfp_of_type(m->pages[pfn].type), new_pfn);
	if (r)
		putback(m, pfn);
	return r;
}

/* ---- pins ---------------------------------------------------------------- */

static uint32_t pin_refs(uint32_t kind)
{
	return kind == VCMA_PIN_GUP_REF ? 1 : PIN_BIAS;
}

void pins_expire(struct vcma_model *m)
{
	uint64_t next = UINT64_MAX;
	size_t i = 0;

	if (!m->nr_pins || m->now_us < m->next_pin_expiry)
		return;
	while (i < m->nr_pins) {
		struct mpin *pn = &m->pins[i];

		if (pn->expire_us && pn->expire_us <= m->now_us) {
			vcma_model_unpin(m, pn->id);	/* swaps the last pin into slot i */
			continue;
		}
		if (pn->expire_us && pn->expire_us < next)
			next = pn->expire_us;
		i++;
	}
	m->next_pin_expiry = next;
}

/* FOLL_LONGTERM: move the page out of ZONE_MOVABLE/CMA before pinning it. */
static int longterm_relocate(struct vcma_model *m, uint64_t *pfn)
{
	uint64_t np;
	int r, attempt;

	for (attempt = 0; attempt < 2; attempt++) {
		if (!isolate_lru(m, *pfn)) {
			r = -EBUSY_;
		} else {
			r = migrate_one(m, *pfn, GFP_USER_PINNABLE, &np);
			if (!r) {
				m->st.longterm_migrations++;
				*pfn = np;
				return 0;
			}
			putback(m, *pfn);
		}
		lru_drain_all(m);	/* check_and_migrate_movable_pages drains, then retries */
	}
	return r;
}

int64_t vcma_model_pin(struct vcma_model *m, uint64_t pfn, uint32_t kind, uint64_t lifetime_us)
{
	struct mpage *p;
	struct mpin *pn;
	uint8_t c;

	if (pfn >= m->nr_pages || kind > VCMA_PIN_LONGTERM)
		return -EINVAL_;
	p = &m->pages[pfn];
	if (p->type != VCMA_MPT_ANON && p->type != VCMA_MPT_FILE && p->type != VCMA_MPT_SHMEM)
		return -EINVAL_;
	if (p->ref + PIN_BIAS < p->ref)
		return -EINVAL_;
	if (kind == VCMA_PIN_LONGTERM && page_in_movable_area(m, pfn) &&
	    longterm_relocate(m, &pfn)) {
		m->st.pin_fail++;
		return -EBUSY_;
	}
	if (m->nr_pins == m->cap_pins) {
		size_t cap = m->cap_pins ? m->cap_pins * 2 : 256;
		struct mpin *n = realloc(m->pins, cap * sizeof(*n));

		if (!n)
			return -ENOMEM_;
		m->pins = n;
		m->cap_pins = cap;
	}
	p = &m->pages[pfn];
	c = cls_begin(m, pfn);
	p->ref += pin_refs(kind);
	cls_end(m, pfn, c);
	pn = &m->pins[m->nr_pins++];
	pn->pfn = (uint32_t)pfn;
	pn->kind = kind;
	pn->id = m->next_pin_id++;
	pn->expire_us = lifetime_us ? m->now_us + lifetime_us : 0;
	if (pn->expire_us && (pn->expire_us < m->next_pin_expiry || m->nr_pins == 1))
		m->next_pin_expiry = pn->expire_us;
	return pn->id;
}

static struct mpin *pin_find(struct vcma_model *m, int64_t id)
{
	size_t i;

	for (i = 0; i < m->nr_pins; i++)
		if (m->pins[i].id == id)
			return &m->pins[i];
	return NULL;
}

int vcma_model_unpin(struct vcma_model *m, int64_t id)
{
	struct mpin *pn = pin_find(m, id);
	uint8_t c;

	if (!pn)
		return -2;
	c = cls_begin(m, pn->pfn);
	m->pages[pn->pfn].ref -= pin_refs(pn->kind);
	cls_end(m, pn->pfn, c);
	if (pn->kind == VCMA_PIN_LONGTERM && !pn->expire_us && m->nr_long)
		m->nr_long--;
	else if (pn->kind == VCMA_PIN_FOLL_PIN && !pn->expire_us && m->nr_long_inplace)
		m->nr_long_inplace--;
	*pn = m->pins[--m->nr_pins];
	return 0;
}

uint64_t vcma_model_pin_pfn(struct vcma_model *m, int64_t id)
{
	struct mpin *pn = pin_find(m, id);

	return pn ? pn->pfn : UINT64_MAX;
}

/* ---- alloc_contig_range -------------------------------------------------- */

static bool block_checks_unmovable(struct vcma_model *m, uint64_t pfn)
{
	struct mzone *z = zone_of(m, pfn);

	/* has_unmovable_pages: ZONE_MOVABLE and CMA pageblocks are movable by definition. */
	return !(z->type == VCMA_ZT_MOVABLE || z->type == VCMA_ZT_CMA ||
		 block_of(m, pfn)->mt == VCMA_MT_CMA);
}

static uint32_t page_block_cause(struct vcma_model *m, uint64_t pfn)
{
	const struct mpage *p = &m->pages[pfn];

	if (!page_is_lru_type(p))
		return VCMA_CORE_CAUSE_UNMOVABLE;
	if (p->ref >= PIN_BIAS)
		return VCMA_CORE_CAUSE_PINNED;
	if (p->flags & (VCMA_MPF_WRITEBACK | VCMA_MPF_DIRTY))
		return VCMA_CORE_CAUSE_WRITEBACK;
	if (p->flags & VCMA_MPF_PVEC)
		return VCMA_CORE_CAUSE_PAGEVEC;
	if (p->ref > page_owner_refs(p))	/* activation pagevec or GUP reference */
		return VCMA_CORE_CAUSE_MIGRATE;
	if (p->aux)
		return VCMA_CORE_CAUSE_BH_LRU;
	return VCMA_CORE_CAUSE_MIGRATE;
}

static void undo_isolation(struct vcma_model *m, uint64_t first_block, uint64_t end_block)
{
	uint64_t b;

	for (b = first_block; b < end_block; b++)
		if (m->blocks[b].mt == VCMA_MT_ISOLATE)
			block_set_mt(m, b, m->blocks[b].saved_mt);
}

/* start_isolate_page_range; 0 or the cause that refused it. */
static uint32_t isolate_range(struct vcma_model *m, uint64_t start, uint64_t end,
			      uint64_t *failed_pfn)
{
	uint64_t b, pfn, bs, be;

	for (b = start >> PB_ORDER; b < (end + PB_PAGES - 1) >> PB_ORDER; b++) {
		bs = b << PB_ORDER;
		be = bs + PB_PAGES;
		if (m->blocks[b].mt == VCMA_MT_ISOLATE)
			goto refuse_busy;
		if (block_checks_unmovable(m, bs > start ? bs : start)) {
			for (pfn = bs > start ? bs : start; pfn < (be < end ? be : end); pfn++) {
				const struct mpage *p = &m->pages[pfn];

				if (p->type == VCMA_MPT_FREE || (p->flags & VCMA_MPF_LRU))
					continue;
				*failed_pfn = pfn;
				undo_isolation(m, start >> PB_ORDER, b);
				return (p->flags & VCMA_MPF_PVEC) ? VCMA_CORE_CAUSE_PAGEVEC :
								   page_block_cause(m, pfn);
			}
		}
		m->blocks[b].saved_mt = m->blocks[b].mt;
		block_set_mt(m, b, VCMA_MT_ISOLATE);
		model_advance(m, COST_ISOLATE_US);
	}
	return 0;
refuse_busy:
	*failed_pfn = b << PB_ORDER;
	undo_isolation(m, start >> PB_ORDER, b);
	return VCMA_CORE_CAUSE_MIGRATE;
}

/* Isolate up to CLUSTER LRU pages from *pfn on; returns how many, advances *pfn. */
static uint32_t isolate_cluster(struct vcma_model *m, uint64_t *pfn, uint64_t end,
				uint32_t *list)
{
	uint32_t n = 0;

	while (*pfn < end && n < CLUSTER) {
		struct mpage *p = &m->pages[*pfn];

		if (p->type == VCMA_MPT_FREE && (p->flags & VCMA_MPF_HEAD)) {
			*pfn += 1ull << p->aux;
			continue;
		}
		if (isolate_lru(m, *pfn))
			list[n++] = (uint32_t)*pfn;
		(*pfn)++;
	}
	return n;
}

/* migrate_pages with MIGRATE_SYNC: up to 10 passes; the system runs in between. */
static void migrate_list(struct vcma_model *m, uint32_t *list, uint32_t n,
			 struct vcma_evac_result *res)
{
	uint32_t pass, i, left = n;
	int r;

	for (pass = 0; pass < MIGRATE_PASSES && left; pass++) {
		for (i = 0; i < n; i++) {
			if (list[i] == NIL)
				continue;
			r = migrate_one(m, list[i], gfp_of_type(m->pages[list[i]].type), NULL);
			if (!r) {
				list[i] = NIL;
				left--;
				res->pages_migrated++;
				continue;
			}
			if (r == -ENOMEM_) {	/* no target page: migrate_pages gives up */
				pass = MIGRATE_PASSES;
				break;
			}
			m->st.migrate_fail_passes++;
			model_advance(m, 1);
		}
		if (left && pass < MIGRATE_PASSES)
			model_advance(m, COST_PASS_US);
	}
	/* What is left failed past pass 2: Linux dump_page()d these for MR_CONTIG_RANGE. */
	m->st.forced_retries += left;
	for (i = 0; i < n; i++)
		if (list[i] != NIL)
			putback(m, list[i]);
}

static uint64_t first_busy(struct vcma_model *m, uint64_t start, uint64_t end, uint32_t *nr)
{
	uint64_t pfn, first = NIL;

	*nr = 0;
	for (pfn = start; pfn < end; pfn++) {
		if (m->pages[pfn].type == VCMA_MPT_FREE)
			continue;
		if (first == NIL)
			first = pfn;
		(*nr)++;
	}
	return first;
}

static int range_valid(struct vcma_model *m, uint64_t start, uint64_t nr)
{
	struct mzone *z = zone_of(m, start);

	return nr && start + nr <= m->nr_pages && start + nr > start && z &&
	       start >= z->start && start + nr <= z->end;
}

int vcma_model_alloc_contig_range(struct vcma_model *m, uint64_t start, uint64_t nr,
				  struct vcma_evac_result *res)
{
	uint64_t end = start + nr, pfn, bad;
	uint32_t *list, n, tries, busy, cause;

	memset(res, 0, sizeof(*res));
	if (!range_valid(m, start, nr) || m->in_contig) {
		res->cause = VCMA_CORE_CAUSE_UNMOVABLE;
		return -EINVAL_;
	}
	m->in_contig = 1;
	list = m->cluster;
	cause = isolate_range(m, start, end, &bad);
	if (cause) {
		res->cause = cause;
		res->failed_pfns = 1;
		goto fail;
	}
	if (m->sc.pagevec_disable) {
		vcma_model_lru_cache_disable(m);
	} else {
		lru_drain_all(m);	/* migrate_prep() before 5.13 */
	}
	if (m->sc.bh_invalidate)
		res->bh_invalidations++;
	for (tries = 0; tries < CONTIG_TRIES; tries++) {
		for (pfn = start; pfn < end;) {
			n = isolate_cluster(m, &pfn, end, list);
			if (n)
				migrate_list(m, list, n, res);
		}
		if (first_busy(m, start, end, &busy) == NIL)
			break;
	}
	if (m->sc.pagevec_disable)
		vcma_model_lru_cache_enable(m);
	bad = first_busy(m, start, end, &busy);
	if (bad != NIL) {
		res->failed_pfns = busy;
		res->cause = page_block_cause(m, bad);
		for (pfn = start; pfn < end; pfn++)
			if (m->pages[pfn].type == VCMA_MPT_BDEV && m->pages[pfn].aux) {
				m->st.blocked_by_bdev++;
				break;
			}
		undo_isolation(m, start >> PB_ORDER, (end + PB_PAGES - 1) >> PB_ORDER);
		goto fail;
	}
	buddy_take_range(m, start, end);
	undo_isolation(m, start >> PB_ORDER, (end + PB_PAGES - 1) >> PB_ORDER);
	m->in_contig = 0;
	m->st.contig_ok++;
	return 0;
fail:
	m->in_contig = 0;
	m->st.contig_fail++;
	return -EBUSY_;
}

void vcma_model_free_contig_range(struct vcma_model *m, uint64_t start, uint64_t nr)
{
	uint64_t pfn;

	for (pfn = start; pfn < start + nr && pfn < m->nr_pages; pfn++)
		if (m->pages[pfn].type == VCMA_MPT_OWNED)
			buddy_free_page(m, pfn);
}
