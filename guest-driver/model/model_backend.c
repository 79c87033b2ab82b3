// SPDX-License-Identifier: GPL-2.0-only OR MIT
/*
 * The model's lifecycle, its struct vcma_backend_ops for the core, the
 * inspection API for tests and benchmarks, and the invariant checker.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "model_priv.h"

static int validate(const struct vcma_model_scenario *sc, char *err, size_t errlen)
{
	const char *why = NULL;

	if (sc->mem_mib < 64 || sc->mem_mib > (1u << 20))
		why = "mem_mib must be 64..1048576";
	else if (!sc->cpus || sc->cpus > MODEL_MAX_CPUS)
		why = "cpus must be 1..64";
	else if (sc->busy_cpus > sc->cpus)
		why = "busy_cpus must not exceed cpus";
	else if (sc->idle_ppm > 1000000 || (!sc->busy_cpus && !sc->idle_ppm))
		why = "idle_ppm must be 0..1000000, and nonzero without busy CPUs";
	else if (sc->movable_pct > 90 || sc->cma_pct > 50 || sc->movable_pct + sc->cma_pct > 90)
		why = "movable_pct <= 90, cma_pct <= 50, together <= 90";
	else if (sc->cma_mode > VCMA_MODEL_CMA_ZONE)
		why = "cma_mode must be none, migratetype or zone";
	else if (sc->fill_pct > 95 || sc->hot_pct > 100)
		why = "fill_pct <= 95, hot_pct <= 100";
	else if (!sc->tick_us || sc->tick_us > 1000000)
		why = "tick_us must be 1..1000000";
	else if (sc->pagevec_disable > 1 || sc->bh_invalidate > 1)
		why = "switches are on or off";
	if (why)
		snprintf(err, errlen, "scenario: %s", why);
	return why ? -1 : 0;
}

struct vcma_model *vcma_model_new_scenario(const struct vcma_model_scenario *sc,
					   char *err, size_t errlen)
{
	struct vcma_model *m;
	uint32_t cpu;

	if (validate(sc, err, errlen))
		return NULL;
	m = calloc(1, sizeof(*m));
	if (!m) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	m->sc = *sc;
	m->rng = sc->seed;
	m->next_pin_id = 1;
	m->nr_cpus = sc->cpus;
	for (cpu = 0; cpu < m->nr_cpus; cpu++) {
		m->cpus[cpu].weight = cpu < sc->busy_cpus ? 1000000 : sc->idle_ppm;
		m->cpu_weight_total += m->cpus[cpu].weight;
	}
	m->mix_total = sc->mix_anon + sc->mix_file + sc->mix_file_buffers +
		       sc->mix_file_journal + sc->mix_bdev + sc->mix_shmem + sc->mix_slab +
		       sc->mix_slab_reclaimable + sc->mix_kernel;
	if (mm_init(m)) {
		snprintf(err, errlen, "scenario: memory too small for its zones, or out of memory");
		vcma_model_free(m);
		return NULL;
	}
	m->objs = calloc(m->nr_pages, sizeof(*m->objs));
	if (!m->objs) {
		snprintf(err, errlen, "out of memory");
		vcma_model_free(m);
		return NULL;
	}
	backend_init_ops(m);
	workload_fill(m);
	m->workload_on = 1;
	return m;
}

int vcma_model_create(const struct vcma_model_config *cfg, struct vcma_model **out,
		      char *err, size_t errlen)
{
	struct vcma_model_scenario sc;

	*out = NULL;
	if (!cfg) {
		snprintf(err, errlen, "no config");
		return -1;
	}
	if (vcma_model_preset(cfg->preset, &sc)) {
		snprintf(err, errlen, "unknown preset '%s'", cfg->preset);
		return -1;
	}
	if (cfg->scenario && vcma_model_scenario_load(&sc, cfg->scenario, err, errlen))
		return -1;
	if (cfg->mem_bytes)
		sc.mem_mib = cfg->mem_bytes >> 20;
	if (cfg->nr_cpus)
		sc.cpus = cfg->nr_cpus;
	if (sc.busy_cpus > sc.cpus)
		sc.busy_cpus = sc.cpus;
	if (cfg->seed)
		sc.seed = cfg->seed;
	if (cfg->movable_pct >= 0)
		sc.movable_pct = (uint32_t)cfg->movable_pct;
	*out = vcma_model_new_scenario(&sc, err, errlen);
	return *out ? 0 : -1;
}

struct vcma_model *vcma_model_new(const struct vcma_model_config *cfg)
{
	struct vcma_model *m;
	char err[160];

	return vcma_model_create(cfg, &m, err, sizeof(err)) ? NULL : m;
}

void vcma_model_free(struct vcma_model *m)
{
	if (!m)
		return;
	mm_fini(m);
	free(m->objs);
	free(m->pins);
	free(m->wb);
	free(m);
}

const struct vcma_model_scenario *vcma_model_get_scenario(const struct vcma_model *m)
{
	return &m->sc;
}

uint64_t vcma_model_now_us(const struct vcma_model *m)
{
	return m->now_us;
}

uint64_t vcma_model_nr_pages(const struct vcma_model *m)
{
	return m->nr_pages;
}

void vcma_model_meminfo(struct vcma_model *m, uint64_t *total_pages, uint64_t *free_pages,
			uint64_t *available_pages)
{
	if (total_pages)
		*total_pages = m->nr_pages - m->cls_total[VCMA_PC_HOLE];
	if (free_pages)
		*free_pages = m->cls_total[VCMA_PC_FREE];
	if (available_pages)
		*available_pages = model_available(m);
}

void vcma_model_get_stats(struct vcma_model *m, struct vcma_model_stats *out)
{
	*out = m->st;
}

void vcma_model_set_switches(struct vcma_model *m, int pagevec_disable, int bh_invalidate)
{
	m->sc.pagevec_disable = !!pagevec_disable;
	m->sc.bh_invalidate = !!bh_invalidate;
}

int vcma_model_page_get(struct vcma_model *m, uint64_t pfn, struct vcma_model_page *out)
{
	const struct mpage *p;
	struct mzone *z;
	size_t i;

	if (pfn >= m->nr_pages)
		return -1;
	p = &m->pages[pfn];
	z = zone_of(m, pfn);
	memset(out, 0, sizeof(*out));
	out->ref = p->ref;
	out->mapcount = p->mapcount;
	out->type = p->type;
	out->flags = p->flags;
	if (p->type != VCMA_MPT_FREE) {
		out->bh_refs = p->aux;
		out->token = p->b;
	}
	out->zone_type = z ? z->type : UINT32_MAX;
	out->migratetype = block_of(m, pfn)->mt;
	for (i = 0; i < m->nr_pins; i++)
		if (m->pins[i].pfn == pfn && m->pins[i].kind != VCMA_PIN_GUP_REF)
			out->pins++;
	return 0;
}

uint32_t vcma_model_pageblock_mt(struct vcma_model *m, uint64_t pfn)
{
	return pfn < m->nr_pages ? block_of(m, pfn)->mt : UINT32_MAX;
}

int vcma_model_get_refs(struct vcma_model *m, uint64_t pfn, uint32_t n)
{
	uint8_t c;

	if (pfn >= m->nr_pages || m->pages[pfn].type == VCMA_MPT_FREE ||
	    m->pages[pfn].ref + n < m->pages[pfn].ref)
		return -22;
	c = cls_begin(m, pfn);
	m->pages[pfn].ref += n;
	cls_end(m, pfn, c);
	return 0;
}

int vcma_model_put_refs(struct vcma_model *m, uint64_t pfn, uint32_t n)
{
	uint8_t c;

	if (pfn >= m->nr_pages || m->pages[pfn].type == VCMA_MPT_FREE ||
	    m->pages[pfn].ref < page_owner_refs(&m->pages[pfn]) + n)
		return -22;
	c = cls_begin(m, pfn);
	m->pages[pfn].ref -= n;
	cls_end(m, pfn, c);
	return 0;
}

void vcma_model_summarize(struct vcma_model *m, uint64_t pfn, uint64_t nr,
			  struct vcma_range_summary *out)
{
	uint64_t end = pfn + nr, b;
	int i;

	memset(out, 0, sizeof(*out));
	if (end > m->nr_pages || end < pfn) {	/* beyond memory: a hole */
		out->count[VCMA_PC_HOLE] += end < pfn || pfn >= m->nr_pages ? nr :
					     end - m->nr_pages;
		end = pfn < m->nr_pages ? m->nr_pages : pfn;
	}
	/* Partial pageblocks page by page, whole ones from their counters. */
	while (pfn < end && (pfn & (PB_PAGES - 1)))
		out->count[page_class(&m->pages[pfn++])]++;
	for (; pfn + PB_PAGES <= end; pfn += PB_PAGES) {
		b = pfn >> PB_ORDER;
		for (i = 0; i < VCMA_NR_PAGE_CLASSES; i++)
			out->count[i] += m->blocks[b].cnt[i];
	}
	while (pfn < end)
		out->count[page_class(&m->pages[pfn++])]++;
}

int vcma_model_window_truth(struct vcma_model *m, uint64_t pfn, uint64_t nr, uint64_t *to_move)
{
	struct vcma_range_summary s;
	uint64_t i, move = 0;
	struct mzone *z = zone_of(m, pfn);

	if (!z || pfn + nr > z->end)
		return 0;
	vcma_model_summarize(m, pfn, nr, &s);
	if (s.count[VCMA_PC_UNMOVABLE] || s.count[VCMA_PC_HOLE] || s.count[VCMA_PC_OWNED])
		return 0;
	if (s.count[VCMA_PC_PINNED]) {
		/* The classifier may be fooled by 1024+ plain refs; the truth is the pin list. */
		for (i = 0; i < m->nr_pins; i++)
			if (m->pins[i].kind != VCMA_PIN_GUP_REF && m->pins[i].pfn >= pfn &&
			    m->pins[i].pfn < pfn + nr)
				return 0;
	}
	for (i = 0; i < VCMA_NR_PAGE_CLASSES; i++)
		if (i != VCMA_PC_FREE)
			move += s.count[i];
	if (to_move)
		*to_move = move;
	return 1;
}

/* ---- backend ops ----------------------------------------------------------- */

static int be_zones(void *ctx, struct vcma_zone_span *out, int max)
{
	struct vcma_model *m = ctx;
	int i;

	for (i = 0; i < m->nr_zones && i < max; i++) {
		out[i].start_pfn = m->zones[i].start;
		out[i].end_pfn = m->zones[i].end;
		out[i].node = 0;
		out[i].type = m->zones[i].type;
	}
	return i;
}

static enum vcma_page_class be_classify(void *ctx, vcma_u64 pfn)
{
	struct vcma_model *m = ctx;

	return pfn < m->nr_pages ? page_class(&m->pages[pfn]) : VCMA_PC_HOLE;
}

static void be_summarize(void *ctx, vcma_u64 pfn, vcma_u64 nr, struct vcma_range_summary *out)
{
	vcma_model_summarize(ctx, pfn, nr, out);
}

static void be_invalidate_bh_lrus(void *ctx)
{
	vcma_model_invalidate_bh_lrus(ctx);
}

static vcma_u64 pages_in_use(const struct vcma_range_summary *s)
{
	vcma_u64 n = 0;
	int i;

	for (i = 0; i < VCMA_NR_PAGE_CLASSES; i++)
		if (i != VCMA_PC_FREE)
			n += s->count[i];
	return n;
}

/* A failed range's pages still in use, by the reason they stayed. */
static void be_left(const struct vcma_range_summary *s, struct vcma_evac_detail *d)
{
	const vcma_u64 *c = s->count;

	d->left[VCMA_LEFT_PINNED] = c[VCMA_PC_PINNED];
	d->left[VCMA_LEFT_WRITEBACK] = c[VCMA_PC_DIRTY] + c[VCMA_PC_WRITEBACK];
	d->left[VCMA_LEFT_BH] = c[VCMA_PC_BUFFERS];
	d->left[VCMA_LEFT_UNMOVABLE] = c[VCMA_PC_UNMOVABLE] + c[VCMA_PC_HOLE] + c[VCMA_PC_OWNED];
	d->left[VCMA_LEFT_REFCOUNT] = pages_in_use(s) - d->left[VCMA_LEFT_PINNED] -
				      d->left[VCMA_LEFT_WRITEBACK] - d->left[VCMA_LEFT_BH] -
				      d->left[VCMA_LEFT_UNMOVABLE];
}

/*
 * The model migrates the range in one piece and counts each page it moves,
 * so its evidence is exact; it has no clock for the phases.
 */
static int be_evacuate(void *ctx, vcma_u64 start, vcma_u64 nr, vcma_u32 flags,
		       struct vcma_evac_result *res)
{
	struct vcma_range_summary s;
	vcma_u64 in_use;
	int ret;

	(void)flags;	/* the model keeps no page contents to clear */
	vcma_model_summarize(ctx, start, nr, &s);
	in_use = nr - s.count[VCMA_PC_FREE];
	ret = vcma_model_alloc_contig_range(ctx, start, nr, res);
	res->d.exact = 1;
	res->d.pieces = 1;
	res->d.piece_pages_max = (vcma_u32)nr;
	res->d.pages_in_use = in_use;
	if (ret) {
		vcma_model_summarize(ctx, start, nr, &s);
		be_left(&s, &res->d);
	}
	return ret;
}

/* alloc_pages() of free blocks, one at a time, until none is left or max. */
static int be_take_free(void *ctx, vcma_u32 order, vcma_u32 max, vcma_u64 *pfns)
{
	vcma_u32 n = 0;
	uint64_t pfn;

	while (n < max && (pfn = buddy_take_block(ctx, order)) != NIL)
		pfns[n++] = pfn;
	return (int)n;
}

static void be_release(void *ctx, vcma_u64 start, vcma_u64 nr)
{
	vcma_model_free_contig_range(ctx, start, nr);
}

static vcma_u64 be_available(void *ctx)
{
	return model_available(ctx);
}

static vcma_u64 be_now(void *ctx)
{
	return ((struct vcma_model *)ctx)->now_us;
}

static int be_sleep(void *ctx, vcma_u64 us)
{
	model_advance(ctx, us);
	return 0;
}

static void *be_zalloc(void *ctx, vcma_size_t bytes)
{
	(void)ctx;
	return calloc(1, bytes ? bytes : 1);
}

static void be_free(void *ctx, void *p)
{
	(void)ctx;
	free(p);
}

void backend_init_ops(struct vcma_model *m)
{
	m->ops.zones = be_zones;
	m->ops.classify = be_classify;
	m->ops.summarize = be_summarize;
	m->ops.invalidate_bh_lrus = be_invalidate_bh_lrus;
	m->ops.evacuate = be_evacuate;
	m->ops.take_free = be_take_free;
	m->ops.release = be_release;
	m->ops.available_pages = be_available;
	m->ops.now_us = be_now;
	m->ops.sleep_us = be_sleep;
	m->ops.zalloc = be_zalloc;
	m->ops.free = be_free;
}

void vcma_model_backend(struct vcma_model *m, const struct vcma_backend_ops **ops, void **ctx)
{
	*ops = &m->ops;
	*ctx = m;
}

/* ---- invariants ------------------------------------------------------------- */

static int fail(char *err, size_t errlen, const char *what, uint64_t pfn)
{
	snprintf(err, errlen, "%s (pfn %llu)", what, (unsigned long long)pfn);
	return -1;
}

static int check_free_lists(struct vcma_model *m, char *err, size_t errlen)
{
	uint64_t covered = 0, free_pages = 0, pfn, i;
	int z, mt, o;

	for (z = 0; z < m->nr_zones; z++) {
		struct mzone *zn = &m->zones[z];
		uint64_t zfree = 0;

		for (mt = 0; mt < VCMA_MT_NR; mt++)
			for (o = 0; o < MAX_ORDER; o++)
				for (pfn = zn->head[mt][o]; pfn != NIL; pfn = m->pages[pfn].a) {
					const struct mpage *p = &m->pages[pfn];

					if (!(p->flags & VCMA_MPF_HEAD) || p->aux != o ||
					    block_of(m, pfn)->mt != mt || zone_of(m, pfn) != zn)
						return fail(err, errlen, "free head on wrong list", pfn);
					if (pfn & ((1ull << o) - 1) || pfn + (1ull << o) > zn->end)
						return fail(err, errlen, "misaligned free block", pfn);
					for (i = pfn; i < pfn + (1ull << o); i++)
						if (m->pages[i].type != VCMA_MPT_FREE)
							return fail(err, errlen, "used page in free block", i);
					if (o > PB_ORDER && block_of(m, pfn + PB_PAGES)->mt != mt)
						return fail(err, errlen, "free block straddles types", pfn);
					zfree += 1ull << o;
				}
		if (zfree != zn->nr_free)
			return fail(err, errlen, "zone free count drifted", zn->start);
		covered += zfree;
	}
	for (pfn = 0; pfn < m->nr_pages; pfn++)
		free_pages += m->pages[pfn].type == VCMA_MPT_FREE;
	if (covered != free_pages)
		return fail(err, errlen, "free pages not all on free lists", covered);
	return 0;
}

static int check_counters(struct vcma_model *m, char *err, size_t errlen)
{
	uint64_t b, pfn, total = 0, tot[VCMA_NR_PAGE_CLASSES] = { 0 };
	uint16_t cnt[VCMA_NR_PAGE_CLASSES];
	int i;

	for (b = 0; b < m->nr_blocks; b++) {
		memset(cnt, 0, sizeof(cnt));
		for (pfn = b << PB_ORDER; pfn < (b + 1) << PB_ORDER; pfn++)
			cnt[page_class(&m->pages[pfn])]++;
		if (memcmp(cnt, m->blocks[b].cnt, sizeof(cnt)))
			return fail(err, errlen, "pageblock class counters drifted", b << PB_ORDER);
		for (i = 0; i < VCMA_NR_PAGE_CLASSES; i++)
			tot[i] += cnt[i];
	}
	for (i = 0; i < VCMA_NR_PAGE_CLASSES; i++) {
		if (tot[i] != m->cls_total[i])
			return fail(err, errlen, "global class counters drifted", (uint64_t)i);
		total += tot[i];
	}
	if (total != m->nr_pages)
		return fail(err, errlen, "pages not conserved", total);
	return 0;
}

static int check_refs(struct vcma_model *m, char *err, size_t errlen)
{
	uint32_t *extra = calloc(m->nr_pages, sizeof(*extra));
	uint8_t *bh = calloc(m->nr_pages, 1);
	uint64_t pfn, i;
	uint32_t cpu;
	int r = 0;

	if (!extra || !bh) {
		free(extra);
		free(bh);
		return fail(err, errlen, "out of memory", 0);
	}
	for (cpu = 0; cpu < m->nr_cpus; cpu++) {
		for (i = 0; i < m->cpus[cpu].npvec; i++)
			extra[m->cpus[cpu].pvec[i]]++;
		for (i = 0; i < m->cpus[cpu].nbh; i++)
			bh[m->cpus[cpu].bh[i]]++;
	}
	for (i = 0; i < m->nr_pins; i++)
		extra[m->pins[i].pfn] += m->pins[i].kind == VCMA_PIN_GUP_REF ? 1 : PIN_BIAS;
	for (i = 0; i < m->nr_objs; i++)
		if (m->pages[m->objs[i]].a != i)
			r = fail(err, errlen, "object table out of step", m->objs[i]);
	for (pfn = 0; pfn < m->nr_pages && !r; pfn++) {
		const struct mpage *p = &m->pages[pfn];

		if (!page_is_lru_type(p))
			continue;
		if (p->ref < page_owner_refs(p) || p->ref - page_owner_refs(p) < extra[pfn])
			r = fail(err, errlen, "refcount below what its holders explain", pfn);
		else if (p->aux != bh[pfn])
			r = fail(err, errlen, "bh reference count differs from BH LRU slots", pfn);
	}
	free(extra);
	free(bh);
	return r;
}

int vcma_model_check(struct vcma_model *m, char *err, size_t errlen)
{
	if (check_free_lists(m, err, errlen) || check_counters(m, err, errlen) ||
	    check_refs(m, err, errlen))
		return -1;
	return 0;
}
