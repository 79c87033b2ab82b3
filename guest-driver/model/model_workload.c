// SPDX-License-Identifier: GPL-2.0-only OR MIT
/*
 * The seeded workload and virtual time.
 *
 * Time advances in slices of at most 100 us; in each slice every event kind
 * earns credit at its rate (events per ms per GiB) and fires when a whole
 * event is due, so activity interleaves with migration passes at a fine
 * grain. CPUs are weighted: the first busy_cpus do most of the work, the
 * others are mostly idle and therefore keep their pagevec and BH LRU entries
 * for a long time, which is what made contiguous allocation fail in Linux.
 * "Hot" accesses pick from the most recently allocated pages, the way an app
 * launch touches what it just faulted in.
 */
#include <stdlib.h>

#include "model_priv.h"

#define SLICE_US	100
#define PICK_TRIES	4

void obj_add(struct vcma_model *m, uint64_t pfn)
{
	m->pages[pfn].a = (uint32_t)m->nr_objs;
	m->objs[m->nr_objs++] = (uint32_t)pfn;
	m->recent[m->recent_pos++ % RECENT] = (uint32_t)pfn;
}

void obj_del(struct vcma_model *m, uint64_t pfn)
{
	uint32_t i = m->pages[pfn].a, last = m->objs[--m->nr_objs];

	m->objs[i] = last;
	m->pages[last].a = i;
	m->pages[pfn].a = NIL;
}

uint32_t pick_cpu(struct vcma_model *m)
{
	uint64_t r = rng_below(m, m->cpu_weight_total);
	uint32_t cpu;

	for (cpu = 0; cpu + 1 < m->nr_cpus; cpu++) {
		if (r < m->cpus[cpu].weight)
			break;
		r -= m->cpus[cpu].weight;
	}
	return cpu;
}

int64_t vcma_model_alloc(struct vcma_model *m, uint32_t cpu, uint32_t type, uint32_t flags)
{
	struct mpage *p;
	uint32_t pfn;
	uint8_t c;

	if (type == VCMA_MPT_FREE || type >= VCMA_MPT_OWNED || cpu >= m->nr_cpus)
		return -1;
	pfn = buddy_alloc_page(m, gfp_of_type(type));
	if (pfn == NIL)
		return -1;
	p = &m->pages[pfn];
	c = cls_begin(m, pfn);
	p->type = (uint8_t)type;
	p->flags = (uint8_t)(flags & (VCMA_MPF_DIRTY | VCMA_MPF_BUFFERS | VCMA_MPF_JOURNAL));
	if (type == VCMA_MPT_BDEV || (p->flags & VCMA_MPF_JOURNAL))
		p->flags |= VCMA_MPF_BUFFERS;
	if (type != VCMA_MPT_FILE && type != VCMA_MPT_BDEV)
		p->flags &= (uint8_t)~(VCMA_MPF_BUFFERS | VCMA_MPF_JOURNAL);
	p->mapcount = type == VCMA_MPT_ANON ? 1 : 0;
	p->aux = 0;
	p->b = ++m->next_token;
	p->ref = page_owner_refs(p);
	cls_end(m, pfn, c);
	obj_add(m, pfn);
	if (page_is_lru_type(p))
		lru_add_new(m, cpu, pfn);
	return pfn;
}

static bool freeable(const struct mpage *p)
{
	if (p->type == VCMA_MPT_FREE || p->type >= VCMA_MPT_OWNED || p->aux ||
	    p->ref != page_owner_refs(p) || (p->flags & VCMA_MPF_WRITEBACK))
		return false;
	return !page_is_lru_type(p) || (p->flags & VCMA_MPF_LRU);
}

int vcma_model_put(struct vcma_model *m, uint64_t pfn)
{
	if (pfn >= m->nr_pages || !freeable(&m->pages[pfn]) || m->pages[pfn].a == NIL)
		return -16;
	obj_del(m, pfn);
	buddy_free_page(m, pfn);
	return 0;
}

static void alloc_random(struct vcma_model *m)
{
	const struct vcma_model_scenario *sc = &m->sc;
	uint64_t r = rng_below(m, m->mix_total);
	const uint32_t w[] = { sc->mix_anon, sc->mix_file, sc->mix_file_buffers,
			       sc->mix_file_journal, sc->mix_bdev, sc->mix_shmem, sc->mix_slab,
			       sc->mix_slab_reclaimable, sc->mix_kernel };
	static const uint8_t type[] = { VCMA_MPT_ANON, VCMA_MPT_FILE, VCMA_MPT_FILE,
					VCMA_MPT_FILE, VCMA_MPT_BDEV, VCMA_MPT_SHMEM,
					VCMA_MPT_SLAB, VCMA_MPT_SLAB_RECLAIMABLE,
					VCMA_MPT_KERNEL };
	static const uint8_t flags[] = { 0, 0, VCMA_MPF_BUFFERS, VCMA_MPF_JOURNAL, 0, 0, 0,
					 0, 0 };
	unsigned int i;

	for (i = 0; i + 1 < sizeof(w) / sizeof(w[0]) && r >= w[i]; i++)
		r -= w[i];
	vcma_model_alloc(m, pick_cpu(m), type[i], flags[i]);
}

static uint64_t pick_page(struct vcma_model *m, bool hot)
{
	uint64_t pfn;

	if (!m->nr_objs)
		return NIL;
	if (hot && m->recent_pos) {
		pfn = m->recent[rng_below(m, m->recent_pos < RECENT ? m->recent_pos : RECENT)];
		if (pfn < m->nr_pages && m->pages[pfn].type != VCMA_MPT_FREE)
			return pfn;
	}
	return m->objs[rng_below(m, m->nr_objs)];
}

static void free_random(struct vcma_model *m)
{
	int i;
	uint64_t pfn;

	for (i = 0; i < PICK_TRIES; i++) {
		pfn = pick_page(m, false);
		if (pfn != NIL && !vcma_model_put(m, pfn))
			return;
	}
}

static bool clean_cache(const struct mpage *p)
{
	return (p->type == VCMA_MPT_FILE || p->type == VCMA_MPT_BDEV) && !p->mapcount &&
	       !(p->flags & (VCMA_MPF_DIRTY | VCMA_MPF_WRITEBACK)) && freeable(p);
}

/* Direct reclaim, crudely: drop clean unmapped page cache picked at random. */
uint64_t reclaim_clean(struct vcma_model *m, uint64_t want)
{
	uint64_t got = 0, pfn;
	int tries;

	if (m->in_reclaim)
		return 0;
	m->in_reclaim = 1;
	for (tries = 0; tries < 256 && got < want && m->nr_objs; tries++) {
		pfn = m->objs[rng_below(m, m->nr_objs)];
		if (!clean_cache(&m->pages[pfn]))
			continue;
		obj_del(m, pfn);
		buddy_free_page(m, pfn);
		got++;
	}
	m->st.reclaimed += got;
	m->in_reclaim = 0;
	return got;
}

static bool hot(struct vcma_model *m)
{
	return rng_below(m, 100) < m->sc.hot_pct;
}

static uint64_t pick_where(struct vcma_model *m, bool (*ok)(const struct mpage *))
{
	int i;
	uint64_t pfn;

	for (i = 0; i < PICK_TRIES; i++) {
		pfn = pick_page(m, hot(m));
		if (pfn != NIL && ok(&m->pages[pfn]))
			return pfn;
	}
	return NIL;
}

static bool has_buffers(const struct mpage *p)
{
	return p->type != VCMA_MPT_FREE && (p->flags & VCMA_MPF_BUFFERS);
}

static bool is_file(const struct mpage *p)
{
	return p->type == VCMA_MPT_FILE || p->type == VCMA_MPT_BDEV || p->type == VCMA_MPT_SHMEM;
}

static bool is_dirty(const struct mpage *p)
{
	return is_file(p) && (p->flags & VCMA_MPF_DIRTY);
}

static bool is_user(const struct mpage *p)
{
	return p->type == VCMA_MPT_ANON || p->type == VCMA_MPT_FILE || p->type == VCMA_MPT_SHMEM;
}

static void set_dirty(struct vcma_model *m, uint64_t pfn)
{
	uint8_t c = cls_begin(m, pfn);

	m->pages[pfn].flags |= VCMA_MPF_DIRTY;
	cls_end(m, pfn, c);
}

void vcma_model_set_dirty(struct vcma_model *m, uint64_t pfn, int writeback)
{
	if (pfn >= m->nr_pages || !is_file(&m->pages[pfn]))
		return;
	if (writeback)
		wb_start(m, pfn);
	else
		set_dirty(m, pfn);
}

static void fire(struct vcma_model *m, int ev)
{
	const struct vcma_model_scenario *sc = &m->sc;
	uint64_t pfn;

	switch (ev) {
	case EV_CHURN:
		free_random(m);
		alloc_random(m);
		break;
	case EV_ACCESS:
		pfn = pick_page(m, hot(m));
		if (pfn != NIL)
			vcma_model_activate(m, pick_cpu(m), pfn);
		break;
	case EV_BH:
		pfn = pick_where(m, has_buffers);
		if (pfn != NIL)
			vcma_model_bh_touch(m, pick_cpu(m), pfn);
		break;
	case EV_DIRTY:
		pfn = pick_where(m, is_file);
		if (pfn != NIL)
			set_dirty(m, pfn);
		break;
	case EV_FLUSH:
		pfn = pick_where(m, is_dirty);
		if (pfn != NIL)
			wb_start(m, pfn);
		break;
	case EV_GUP:
		pfn = pick_where(m, is_user);
		if (pfn != NIL)
			vcma_model_pin(m, pfn, VCMA_PIN_GUP_REF, sc->gup_ref_us);
		break;
	case EV_SHORT_PIN:
		pfn = pick_where(m, is_user);
		if (pfn != NIL)
			vcma_model_pin(m, pfn, VCMA_PIN_FOLL_PIN, sc->short_pin_us);
		break;
	}
}

static bool is_anon(const struct mpage *p)
{
	return p->type == VCMA_MPT_ANON;
}

/* Standing long-term pins (io_uring buffers, VFIO): top them up, a few per call. */
static void keep_long_pins(struct vcma_model *m)
{
	uint64_t want = m->sc.long_pins * m->sc.mem_mib / 1024;
	uint64_t want_inplace = m->sc.long_pins_inplace * m->sc.mem_mib / 1024;
	uint64_t pfn;
	int i;

	for (i = 0; i < 64 && m->nr_long < want; i++) {
		pfn = pick_where(m, is_anon);
		if (pfn != NIL && vcma_model_pin(m, pfn, VCMA_PIN_LONGTERM, 0) > 0)
			m->nr_long++;
	}
	for (i = 0; i < 64 && m->nr_long_inplace < want_inplace; i++) {
		pfn = pick_where(m, is_anon);
		if (pfn != NIL && vcma_model_pin(m, pfn, VCMA_PIN_FOLL_PIN, 0) > 0)
			m->nr_long_inplace++;
	}
}

static void run_slice(struct vcma_model *m, uint64_t us)
{
	const struct vcma_model_scenario *sc = &m->sc;
	const uint32_t rate[EV_NR] = {
		[EV_CHURN] = sc->churn, [EV_ACCESS] = sc->access, [EV_BH] = sc->bh_access,
		[EV_DIRTY] = sc->dirty, [EV_FLUSH] = sc->flush, [EV_GUP] = sc->gup_refs,
		[EV_SHORT_PIN] = sc->short_pins,
	};
	/* One event is due per ms per GiB of rate: credit in (MiB * us) units. */
	const uint64_t due = 1024ull * 1000;
	int ev;

	for (ev = 0; ev < EV_NR; ev++) {
		m->credit[ev] += (uint64_t)rate[ev] * sc->mem_mib * us;
		while (m->credit[ev] >= due) {
			m->credit[ev] -= due;
			fire(m, ev);
		}
	}
	keep_long_pins(m);
}

void model_advance(struct vcma_model *m, uint64_t us)
{
	uint64_t end = m->now_us + us, slice;

	while (m->now_us < end) {
		slice = end - m->now_us < SLICE_US ? end - m->now_us : SLICE_US;
		m->now_us += slice;
		if (m->workload_on && !m->in_advance) {
			m->in_advance = 1;
			run_slice(m, slice);
			m->in_advance = 0;
		}
		pins_expire(m);
		wb_expire(m);
	}
}

void vcma_model_step(struct vcma_model *m, unsigned int n)
{
	model_advance(m, (uint64_t)n * m->sc.tick_us);
}

void vcma_model_set_workload(struct vcma_model *m, int on)
{
	m->workload_on = on;
}

/*
 * Age memory the way a long-running guest is aged: fill well past fill_pct
 * with the mix (frees in between leave holes), then free at random down to
 * fill_pct, so free memory ends up scattered instead of in one tail.
 */
int workload_fill(struct vcma_model *m)
{
	uint64_t usable = m->cls_total[VCMA_PC_FREE];
	uint64_t target = usable * m->sc.fill_pct / 100, n = 0;
	uint64_t peak = usable;
	int z;

	/* Up to the watermarks: leaving a free tail would hand out free windows for ever. */
	for (z = 0; z < m->nr_zones; z++)
		peak -= m->zones[z].low_wmark < peak ? m->zones[z].low_wmark : 0;

	if (!m->mix_total)
		return 0;
	while (m->nr_objs < peak) {
		alloc_random(m);
		if (++n % 8 == 0)
			free_random(m);
		if (n > 4 * peak)	/* memory too fragmented or full: stop trying */
			break;
	}
	for (n = 0; m->nr_objs > target && n < 4 * peak; n++)
		free_random(m);
	keep_long_pins(m);
	return 0;
}
