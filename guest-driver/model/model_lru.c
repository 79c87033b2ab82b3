// SPDX-License-Identifier: GPL-2.0-only OR MIT
/*
 * Per-CPU LRU pagevecs and per-CPU buffer-head LRUs.
 *
 * A pagevec entry holds a page reference until its CPU drains it: a new LRU
 * page waits there before it gets onto the LRU (MPF_PVEC, not MPF_LRU), an
 * activated page waits there with MPF_LRU still set. A CPU drains only when
 * its pagevec fills (15 entries) or someone drains all CPUs, so an idle CPU
 * can hold its entries for ever. lru_cache_disable() counts: while the count
 * is non-zero, pages bypass the pagevecs; nested disables need as many
 * enables.
 *
 * A BH LRU slot holds a buffer-head reference of its page (mpage.aux counts
 * them), which makes try_to_free_buffers fail. invalidate_bh_lrus() only
 * interrupts CPUs whose LRU holds entries. With the 5.13 fix (bh_invalidate
 * on) the LRU drain also invalidates BH LRUs and no bh is installed while the
 * LRU cache is disabled.
 */
#include "model_priv.h"

static void pvec_push(struct vcma_model *m, uint32_t cpu, uint64_t pfn)
{
	struct mcpu *c = &m->cpus[cpu];

	c->pvec[c->npvec++] = (uint32_t)pfn;
	if (c->npvec == PVEC_SIZE)
		pvec_drain_cpu(m, cpu);
}

void pvec_drain_cpu(struct vcma_model *m, uint32_t cpu)
{
	struct mcpu *c = &m->cpus[cpu];
	uint32_t i;
	uint64_t pfn;
	uint8_t cl;

	for (i = 0; i < c->npvec; i++) {
		pfn = c->pvec[i];
		cl = cls_begin(m, pfn);
		m->pages[pfn].ref--;
		if (m->pages[pfn].flags & VCMA_MPF_PVEC) {
			m->pages[pfn].flags &= (uint8_t)~VCMA_MPF_PVEC;
			m->pages[pfn].flags |= VCMA_MPF_LRU;
		}
		cls_end(m, pfn, cl);
	}
	c->npvec = 0;
}

/* lru_cache_add of a page that just got its owner reference. */
void lru_add_new(struct vcma_model *m, uint32_t cpu, uint64_t pfn)
{
	struct mpage *p = &m->pages[pfn];
	uint8_t cl = cls_begin(m, pfn);

	if (m->lru_disable) {
		p->flags |= VCMA_MPF_LRU;
		cls_end(m, pfn, cl);
		return;
	}
	p->flags |= VCMA_MPF_PVEC;
	p->ref++;
	cls_end(m, pfn, cl);
	pvec_push(m, cpu, pfn);
}

/* putback_lru_page after a failed migration: through the migrating CPU's pagevec. */
void lru_putback(struct vcma_model *m, uint64_t pfn)
{
	lru_add_new(m, 0, pfn);
}

void vcma_model_activate(struct vcma_model *m, uint32_t cpu, uint64_t pfn)
{
	struct mpage *p;
	uint8_t cl;

	if (pfn >= m->nr_pages || cpu >= m->nr_cpus)
		return;
	p = &m->pages[pfn];
	/* folio_activate only batches pages on the LRU; disabled caches apply it at once. */
	if (!page_is_lru_type(p) || !(p->flags & VCMA_MPF_LRU) || m->lru_disable)
		return;
	cl = cls_begin(m, pfn);
	p->ref++;
	cls_end(m, pfn, cl);
	pvec_push(m, cpu, pfn);
}

static void bh_lru_drop(struct vcma_model *m, uint32_t cpu)
{
	struct mcpu *c = &m->cpus[cpu];
	uint32_t i;

	for (i = 0; i < c->nbh; i++)
		m->pages[c->bh[i]].aux--;
	c->nbh = 0;
}

void vcma_model_invalidate_bh_lrus(struct vcma_model *m)
{
	uint32_t cpu;

	m->st.bh_invalidates++;
	for (cpu = 0; cpu < m->nr_cpus; cpu++) {
		if (!m->cpus[cpu].nbh)	/* has_bh_in_lru(): no IPI for empty LRUs */
			continue;
		m->st.bh_ipis++;
		bh_lru_drop(m, cpu);
	}
}

static bool page_has_buffers(const struct mpage *p)
{
	return (p->flags & VCMA_MPF_BUFFERS) || p->type == VCMA_MPT_BDEV;
}

/* __find_get_block + bh_lru_install: the looked-up bh moves to the front. */
void vcma_model_bh_touch(struct vcma_model *m, uint32_t cpu, uint64_t pfn)
{
	struct mcpu *c;
	uint32_t i, at;

	if (pfn >= m->nr_pages || cpu >= m->nr_cpus || !page_has_buffers(&m->pages[pfn]))
		return;
	if (m->lru_disable && m->sc.bh_invalidate) {
		m->st.bh_installs_skipped++;
		return;
	}
	c = &m->cpus[cpu];
	for (at = 0; at < c->nbh && c->bh[at] != pfn; at++)
		;
	if (at == c->nbh) {		/* not there: take a reference, evict the oldest */
		if (c->nbh == BH_LRU_SIZE)
			m->pages[c->bh[--c->nbh]].aux--;
		m->pages[pfn].aux++;
		at = c->nbh++;
	}
	for (i = at; i > 0; i--)
		c->bh[i] = c->bh[i - 1];
	c->bh[0] = (uint32_t)pfn;
}

/* A migrated page takes its buffer heads along; LRU slots follow them. */
void bh_lru_repoint(struct vcma_model *m, uint64_t from, uint64_t to)
{
	uint32_t cpu, i;

	for (cpu = 0; cpu < m->nr_cpus; cpu++)
		for (i = 0; i < m->cpus[cpu].nbh; i++)
			if (m->cpus[cpu].bh[i] == from)
				m->cpus[cpu].bh[i] = (uint32_t)to;
}

void lru_drain_all(struct vcma_model *m)
{
	uint32_t cpu;

	m->st.drains++;
	for (cpu = 0; cpu < m->nr_cpus; cpu++) {
		if (m->cpus[cpu].npvec)
			pvec_drain_cpu(m, cpu);
		model_advance(m, COST_DRAIN_CPU_US);
	}
	if (m->sc.bh_invalidate)
		vcma_model_invalidate_bh_lrus(m);
}

void vcma_model_lru_add_drain_all(struct vcma_model *m)
{
	lru_drain_all(m);
}

void vcma_model_lru_cache_disable(struct vcma_model *m)
{
	/* Only the first disabler drains; later ones find the caches empty. */
	if (m->lru_disable++ == 0)
		lru_drain_all(m);
}

void vcma_model_lru_cache_enable(struct vcma_model *m)
{
	if (m->lru_disable > 0)
		m->lru_disable--;
}

int vcma_model_lru_cache_disabled(const struct vcma_model *m)
{
	return m->lru_disable > 0;
}

uint32_t vcma_model_pagevec_count(const struct vcma_model *m, uint32_t cpu)
{
	return cpu < m->nr_cpus ? m->cpus[cpu].npvec : 0;
}

uint32_t vcma_model_bh_lru_count(const struct vcma_model *m, uint32_t cpu)
{
	return cpu < m->nr_cpus ? m->cpus[cpu].nbh : 0;
}
