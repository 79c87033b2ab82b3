// SPDX-License-Identifier: GPL-2.0-only OR MIT
/*
 * Page frames, zones, pageblocks and the buddy allocator of the model.
 *
 * Zones are laid out low to high: a 1 MiB hole, ZONE_NORMAL (its first
 * pages reserved for the kernel image and memmap; MIGRATE_CMA pageblocks at
 * its top in the migratetype CMA variant), ZONE_CMA (zone variant) and
 * ZONE_MOVABLE. Allocation follows the zonelist of the gfp class, highest
 * zone first, above the low watermark first; a migratetype with empty lists
 * steals from its fallbacks largest block first and claims the pageblock the
 * way Linux does, so unmovable pages scatter and fragmentation emerges.
 *
 * Every pageblock keeps per-class page counters, updated on every page state
 * change (cls_begin/cls_end), so a range summary costs O(pageblocks).
 */
#include <stdlib.h>
#include <string.h>

#include "model_priv.h"

uint64_t rng_next(struct vcma_model *m)
{
	/* splitmix64: tiny, good enough, and the same everywhere. */
	uint64_t z = (m->rng += 0x9e3779b97f4a7c15ull);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	return z ^ (z >> 31);
}

uint64_t rng_below(struct vcma_model *m, uint64_t n)
{
	return n ? rng_next(m) % n : 0;
}

uint8_t page_class(const struct mpage *p)
{
	switch (p->type) {
	case VCMA_MPT_FREE:
		return VCMA_PC_FREE;
	case VCMA_MPT_HOLE:
		return VCMA_PC_HOLE;
	case VCMA_MPT_OWNED:
		return VCMA_PC_OWNED;
	case VCMA_MPT_SLAB:
	case VCMA_MPT_SLAB_RECLAIMABLE:
	case VCMA_MPT_KERNEL:
		return VCMA_PC_UNMOVABLE;
	default:
		break;
	}
	if (p->ref >= PIN_BIAS)		/* page_maybe_dma_pinned() */
		return VCMA_PC_PINNED;
	if (p->flags & VCMA_MPF_WRITEBACK)
		return VCMA_PC_WRITEBACK;
	if (p->flags & VCMA_MPF_DIRTY)
		return VCMA_PC_DIRTY;
	if (p->flags & VCMA_MPF_PVEC)
		return VCMA_PC_PAGEVEC;
	if ((p->flags & VCMA_MPF_BUFFERS) || p->type == VCMA_MPT_BDEV)
		return VCMA_PC_BUFFERS;
	if (p->type == VCMA_MPT_ANON)
		return VCMA_PC_LRU_ANON;
	if (p->type == VCMA_MPT_SHMEM)
		return VCMA_PC_LRU_SHMEM;
	return VCMA_PC_LRU_FILE;
}

void cls_end(struct vcma_model *m, uint64_t pfn, uint8_t old)
{
	uint8_t now = page_class(&m->pages[pfn]);
	struct mblock *b;

	if (now == old)
		return;
	b = block_of(m, pfn);
	b->cnt[old]--;
	b->cnt[now]++;
	m->cls_total[old]--;
	m->cls_total[now]++;
}

struct mzone *zone_of(struct vcma_model *m, uint64_t pfn)
{
	if (pfn < HOLE_PAGES || pfn >= m->nr_pages)
		return NULL;
	return &m->zones[block_of(m, pfn)->zone];
}

uint32_t page_owner_refs(const struct mpage *p)
{
	/* The mapping (or slab) reference, one per mapping, one for attached buffers. */
	return 1u + p->mapcount + ((p->flags & VCMA_MPF_BUFFERS) ? 1u : 0u);
}

bool page_is_lru_type(const struct mpage *p)
{
	return p->type == VCMA_MPT_ANON || p->type == VCMA_MPT_FILE ||
	       p->type == VCMA_MPT_SHMEM || p->type == VCMA_MPT_BDEV;
}

bool page_in_movable_area(struct vcma_model *m, uint64_t pfn)
{
	struct mzone *z = zone_of(m, pfn);
	struct mblock *b = block_of(m, pfn);
	uint8_t mt = b->mt == VCMA_MT_ISOLATE ? b->saved_mt : b->mt;

	return z && (z->type == VCMA_ZT_MOVABLE || z->type == VCMA_ZT_CMA || mt == VCMA_MT_CMA);
}

static uint8_t head_mt(struct vcma_model *m, uint64_t pfn)
{
	return block_of(m, pfn)->mt;
}

static void list_add(struct vcma_model *m, uint64_t pfn, unsigned int order)
{
	struct mzone *z = zone_of(m, pfn);
	uint8_t mt = head_mt(m, pfn);
	struct mpage *p = &m->pages[pfn];

	p->flags = VCMA_MPF_HEAD;
	p->aux = (uint8_t)order;
	p->b = NIL;
	p->a = z->head[mt][order];
	if (p->a != NIL)
		m->pages[p->a].b = (uint32_t)pfn;
	z->head[mt][order] = (uint32_t)pfn;
	z->nr_free += 1ull << order;
	z->nr_free_mt[mt] += 1ull << order;
}

static void list_del(struct vcma_model *m, uint64_t pfn)
{
	struct mzone *z = zone_of(m, pfn);
	uint8_t mt = head_mt(m, pfn);
	struct mpage *p = &m->pages[pfn];
	unsigned int order = p->aux;

	if (p->b != NIL)
		m->pages[p->b].a = p->a;
	else
		z->head[mt][order] = p->a;
	if (p->a != NIL)
		m->pages[p->a].b = p->b;
	p->flags = 0;
	p->aux = 0;
	p->a = p->b = NIL;
	z->nr_free -= 1ull << order;
	z->nr_free_mt[mt] -= 1ull << order;
}

/* Free a block of 2^order pages (already typed FREE), merging with its buddies. */
static void buddy_merge_add(struct vcma_model *m, uint64_t pfn, unsigned int order)
{
	struct mzone *z = zone_of(m, pfn);
	uint64_t bud;

	while (order < MAX_ORDER - 1) {
		bud = pfn ^ (1ull << order);
		if (bud < z->start || bud + (1ull << order) > z->end)
			break;
		if (!(m->pages[bud].flags & VCMA_MPF_HEAD) || m->pages[bud].aux != order)
			break;
		/* Never merge across pageblocks of different types (isolation, CMA). */
		if (order >= PB_ORDER && head_mt(m, bud) != head_mt(m, pfn))
			break;
		list_del(m, bud);
		pfn &= ~(1ull << order);
		order++;
	}
	list_add(m, pfn, order);
}

void buddy_free_page(struct vcma_model *m, uint64_t pfn)
{
	struct mpage *p = &m->pages[pfn];
	uint8_t c = cls_begin(m, pfn);

	p->type = VCMA_MPT_FREE;
	p->ref = 0;
	p->flags = 0;
	p->aux = 0;
	p->mapcount = 0;
	p->a = p->b = NIL;
	cls_end(m, pfn, c);
	buddy_merge_add(m, pfn, 0);
}

/* Split a free block in two halves of order - 1, each on its own list. */
static void split_head(struct vcma_model *m, uint64_t pfn)
{
	unsigned int order = m->pages[pfn].aux;

	list_del(m, pfn);
	list_add(m, pfn, order - 1);
	list_add(m, pfn + (1ull << (order - 1)), order - 1);
}

/* The free head whose block covers pfn, or NIL. */
static uint64_t find_head(struct vcma_model *m, uint64_t pfn)
{
	unsigned int o;
	uint64_t h;

	for (o = 0; o < MAX_ORDER; o++) {
		h = pfn & ~((1ull << o) - 1);
		if ((m->pages[h].flags & VCMA_MPF_HEAD) && h + (1ull << m->pages[h].aux) > pfn)
			return h;
	}
	return NIL;
}

/*
 * Change a pageblock's migratetype and move its free pages to the matching
 * lists. Blocks larger than a pageblock are split first so that no free
 * block straddles two types.
 */
void block_set_mt(struct vcma_model *m, uint64_t block, uint8_t mt)
{
	uint64_t bs = block << PB_ORDER, be = bs + PB_PAGES, pfn, h;
	uint32_t n = 0, i;

	if (block_of(m, bs)->mt == mt)
		return;
	if (bs >= HOLE_PAGES) {
		h = find_head(m, bs);
		if (h != NIL && m->pages[h].aux > PB_ORDER)
			split_head(m, h);
	}
	for (pfn = bs; pfn < be;) {
		if (pfn >= HOLE_PAGES && (m->pages[pfn].flags & VCMA_MPF_HEAD)) {
			unsigned int order = m->pages[pfn].aux;

			list_del(m, pfn);
			m->scratch[n++] = (uint32_t)(pfn - bs) | (order << 16);
			pfn += 1ull << order;
		} else {
			pfn++;
		}
	}
	block_of(m, bs)->mt = mt;
	for (i = 0; i < n; i++)
		buddy_merge_add(m, bs + (m->scratch[i] & 0xffff), m->scratch[i] >> 16);
}

/* Take the first page of the free block at h and give the rest back (expand). */
static uint32_t rmqueue_at(struct vcma_model *m, uint32_t h)
{
	unsigned int o = m->pages[h].aux;

	list_del(m, h);
	while (o-- > 0)
		list_add(m, h + (1ull << o), o);
	return h;
}

/* Take one page from the smallest free block of a list. */
static uint32_t rmqueue(struct vcma_model *m, struct mzone *z, uint8_t mt)
{
	unsigned int o;

	for (o = 0; o < MAX_ORDER; o++)
		if (z->head[mt][o] != NIL)
			return rmqueue_at(m, z->head[mt][o]);
	return NIL;
}

static uint64_t block_free_pages(struct vcma_model *m, uint64_t block)
{
	return block_of(m, block << PB_ORDER)->cnt[VCMA_PC_FREE];
}

/* __rmqueue_fallback: steal from another migratetype, largest block first. */
static uint32_t steal_fallback(struct vcma_model *m, struct mzone *z, uint8_t mt)
{
	static const uint8_t fallbacks[3][2] = {
		[VCMA_MT_UNMOVABLE] = { VCMA_MT_RECLAIMABLE, VCMA_MT_MOVABLE },
		[VCMA_MT_MOVABLE] = { VCMA_MT_RECLAIMABLE, VCMA_MT_UNMOVABLE },
		[VCMA_MT_RECLAIMABLE] = { VCMA_MT_UNMOVABLE, VCMA_MT_MOVABLE },
	};
	int o, i;
	uint32_t h;
	uint64_t blk;

	for (o = MAX_ORDER - 1; o >= 0; o--) {
		for (i = 0; i < 2; i++) {
			h = z->head[fallbacks[mt][i]][o];
			if (h == NIL)
				continue;
			blk = h >> PB_ORDER;
			/* can_steal_fallback + steal_suitable_fallback, simplified. */
			if (o >= PB_ORDER / 2 || mt != VCMA_MT_MOVABLE) {
				if (o >= PB_ORDER || block_free_pages(m, blk) * 2 >= PB_PAGES) {
					block_set_mt(m, blk, mt);
					if (o > PB_ORDER)
						block_set_mt(m, blk + 1, mt);
					m->st.steals++;
				}
			}
			return rmqueue_at(m, h);
		}
	}
	return NIL;
}

static uint32_t zone_alloc(struct vcma_model *m, struct mzone *z, uint8_t mt, bool cma_ok)
{
	uint32_t pfn;

	if (z->type == VCMA_ZT_CMA)
		return cma_ok ? rmqueue(m, z, VCMA_MT_CMA) : NIL;
	/* Movable allocations use CMA pageblocks once they hold over half the free pages. */
	if (cma_ok && z->nr_free_mt[VCMA_MT_CMA] * 2 > z->nr_free) {
		pfn = rmqueue(m, z, VCMA_MT_CMA);
		if (pfn != NIL)
			return pfn;
	}
	pfn = rmqueue(m, z, mt);
	if (pfn == NIL && cma_ok)
		pfn = rmqueue(m, z, VCMA_MT_CMA);
	if (pfn == NIL)
		pfn = steal_fallback(m, z, mt);
	return pfn;
}

static bool gfp_allows_zone(enum gfp_class gfp, uint32_t zone_type)
{
	if (gfp == GFP_HIGHUSER_MOVABLE)
		return true;
	return zone_type != VCMA_ZT_MOVABLE && zone_type != VCMA_ZT_CMA;
}

uint32_t buddy_alloc_page(struct vcma_model *m, enum gfp_class gfp)
{
	static const uint8_t gfp_mt[] = {
		[GFP_KERNEL_UNMOVABLE] = VCMA_MT_UNMOVABLE,
		[GFP_KERNEL_RECLAIMABLE] = VCMA_MT_RECLAIMABLE,
		[GFP_USER_MOVABLE] = VCMA_MT_MOVABLE,
		[GFP_HIGHUSER_MOVABLE] = VCMA_MT_MOVABLE,
		[GFP_USER_PINNABLE] = VCMA_MT_UNMOVABLE,
	};
	bool cma_ok = gfp == GFP_USER_MOVABLE || gfp == GFP_HIGHUSER_MOVABLE;
	int pass, i;
	uint32_t pfn;

	/*
	 * Zonelist order: highest zone first; first above the low watermark,
	 * then any, then again after direct reclaim of clean page cache.
	 */
	for (pass = 0; pass < 3; pass++) {
		if (pass == 2 && !reclaim_clean(m, 32))
			break;
		for (i = m->nr_zones - 1; i >= 0; i--) {
			struct mzone *z = &m->zones[i];

			if (!gfp_allows_zone(gfp, z->type))
				continue;
			if (pass == 0 && z->nr_free <= z->low_wmark)
				continue;
			pfn = zone_alloc(m, z, gfp_mt[gfp], cma_ok);
			if (pfn != NIL)
				return pfn;
		}
	}
	m->st.alloc_fail++;
	return NIL;
}

/* Claim [start, end) out of the buddy allocator; every page must be free. */
void buddy_take_range(struct vcma_model *m, uint64_t start, uint64_t end)
{
	uint64_t pfn = start, h, i, n;
	uint8_t c;

	while (pfn < end) {
		h = find_head(m, pfn);
		if (h == NIL)
			abort();	/* caller verified the range is free */
		n = 1ull << m->pages[h].aux;
		if (h < start || h + n > end) {
			split_head(m, h);
			continue;
		}
		list_del(m, h);
		for (i = h; i < h + n; i++) {
			c = cls_begin(m, i);
			m->pages[i].type = VCMA_MPT_OWNED;
			m->pages[i].ref = 1;
			cls_end(m, i, c);
		}
		pfn = h + n;
	}
}

/*
 * alloc_pages() of a movable block of 2^order pages (order >= PB_ORDER)
 * without reclaim or compaction: highest zone first, only from a zone that
 * stays at or above its low watermark, from the MOVABLE lists, then CMA's,
 * then a whole free block of another type, which is stolen (it becomes
 * MOVABLE, as __rmqueue_fallback does at pageblock order). The block is
 * then held like a range alloc_contig_range took. First pfn, or NIL.
 */
uint64_t buddy_take_block(struct vcma_model *m, unsigned int order)
{
	static const uint8_t lists[] = {
		VCMA_MT_MOVABLE, VCMA_MT_CMA, VCMA_MT_RECLAIMABLE, VCMA_MT_UNMOVABLE,
	};
	uint64_t nr = 1ull << order, h, b;
	unsigned int l, o;
	int i;

	if (order < PB_ORDER || order >= MAX_ORDER)
		return NIL;
	for (i = m->nr_zones - 1; i >= 0; i--) {
		struct mzone *z = &m->zones[i];

		if (z->nr_free < z->low_wmark + nr)
			continue;
		for (l = 0; l < sizeof(lists); l++) {
			for (o = order; o < MAX_ORDER; o++) {
				h = z->head[lists[l]][o];
				if (h == NIL)
					continue;
				if (lists[l] != VCMA_MT_MOVABLE && lists[l] != VCMA_MT_CMA) {
					for (b = h >> PB_ORDER; b < (h + nr) >> PB_ORDER; b++)
						block_set_mt(m, b, VCMA_MT_MOVABLE);
					m->st.steals++;
				}
				buddy_take_range(m, h, h + nr);
				return h;
			}
		}
	}
	return NIL;
}

uint64_t model_available(struct vcma_model *m)
{
	/* si_mem_available, roughly: free plus clean page cache that reclaim can drop. */
	return m->cls_total[VCMA_PC_FREE] + m->cls_total[VCMA_PC_LRU_FILE] +
	       m->cls_total[VCMA_PC_BUFFERS];
}

static uint64_t round_pages(uint64_t pages)
{
	/* Zone boundaries on MAX_ORDER blocks keep the buddy allocator simple. */
	return pages & ~((1ull << (MAX_ORDER - 1)) - 1);
}

static void zone_add(struct vcma_model *m, uint64_t start, uint64_t end, uint32_t type)
{
	struct mzone *z = &m->zones[m->nr_zones];
	uint64_t b;
	int mt;

	memset(z, 0, sizeof(*z));
	memset(z->head, 0xff, sizeof(z->head));
	z->start = start;
	z->end = end;
	z->type = type;
	z->low_wmark = (end - start) / 128;
	for (b = start >> PB_ORDER; b < (end + PB_PAGES - 1) >> PB_ORDER; b++) {
		m->blocks[b].zone = (uint8_t)m->nr_zones;
		mt = type == VCMA_ZT_CMA ? VCMA_MT_CMA : VCMA_MT_MOVABLE;
		m->blocks[b].mt = m->blocks[b].saved_mt = (uint8_t)mt;
	}
	m->nr_zones++;
}

int mm_init(struct vcma_model *m)
{
	const struct vcma_model_scenario *sc = &m->sc;
	uint64_t n = round_pages(sc->mem_mib * 256), movable, cma, normal_end, kernel, pfn, b;
	unsigned int o;

	movable = round_pages(n * sc->movable_pct / 100);
	cma = sc->cma_mode == VCMA_MODEL_CMA_NONE ? 0 : round_pages(n * sc->cma_pct / 100);
	normal_end = n - movable - (sc->cma_mode == VCMA_MODEL_CMA_ZONE ? cma : 0);
	kernel = round_pages(n / 100 + 2048) + 1024 - HOLE_PAGES;
	if (normal_end < HOLE_PAGES + kernel + cma + 4096)
		return -1;
	m->nr_pages = n;
	m->nr_blocks = n >> PB_ORDER;
	m->pages = calloc(n, sizeof(*m->pages));
	m->blocks = calloc(m->nr_blocks, sizeof(*m->blocks));
	m->scratch = calloc(PB_PAGES, sizeof(*m->scratch));
	if (!m->pages || !m->blocks || !m->scratch)
		return -1;

	zone_add(m, HOLE_PAGES, normal_end, VCMA_ZT_NORMAL);
	if (sc->cma_mode == VCMA_MODEL_CMA_ZONE && cma)
		zone_add(m, normal_end, normal_end + cma, VCMA_ZT_CMA);
	if (movable)
		zone_add(m, n - movable, n, VCMA_ZT_MOVABLE);
	if (sc->cma_mode == VCMA_MODEL_CMA_MIGRATETYPE)
		for (b = (normal_end - cma) >> PB_ORDER; b < normal_end >> PB_ORDER; b++)
			m->blocks[b].mt = m->blocks[b].saved_mt = VCMA_MT_CMA;
	for (b = 0; b < (HOLE_PAGES + kernel) >> PB_ORDER; b++)
		m->blocks[b].mt = m->blocks[b].saved_mt = VCMA_MT_UNMOVABLE;

	for (pfn = 0; pfn < n; pfn++) {
		struct mpage *p = &m->pages[pfn];

		p->a = p->b = NIL;
		if (pfn < HOLE_PAGES)
			p->type = VCMA_MPT_HOLE;
		else if (pfn < HOLE_PAGES + kernel)
			p->type = VCMA_MPT_KERNEL, p->ref = 1;
		else
			p->type = VCMA_MPT_FREE;
		block_of(m, pfn)->cnt[page_class(p)]++;
		m->cls_total[page_class(p)]++;
	}
	/* Seed the free lists with the largest aligned blocks that fit. */
	for (pfn = HOLE_PAGES + kernel; pfn < n;) {
		struct mzone *z = zone_of(m, pfn);

		for (o = MAX_ORDER - 1; o > 0; o--)
			if (!(pfn & ((1ull << o) - 1)) && pfn + (1ull << o) <= z->end &&
			    (o <= PB_ORDER || head_mt(m, pfn) == head_mt(m, pfn + PB_PAGES)))
				break;
		list_add(m, pfn, o);
		pfn += 1ull << o;
	}
	return 0;
}

void mm_fini(struct vcma_model *m)
{
	free(m->pages);
	free(m->blocks);
	free(m->scratch);
}
