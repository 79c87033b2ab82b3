/* SPDX-License-Identifier: GPL-2.0-only OR MIT */
/*
 * Internals of the mm model, shared by its files:
 *   model_mm.c        page frames, zones, pageblocks, buddy allocator, class counters
 *   model_lru.c       per-CPU LRU pagevecs and BH LRUs
 *   model_migrate.c   migration, pins, alloc_contig_range
 *   model_workload.c  the seeded workload and virtual time
 *   model_scenario.c  presets and the text scenario format
 *   model_backend.c   struct vcma_backend_ops for the core, inspection API
 *
 * Invariants (checked by vcma_model_check): every page of a free buddy block
 * has type FREE and only its head carries MPF_HEAD and the order; a free head
 * sits on the list [its zone][its pageblock's migratetype][order]; free blocks
 * never straddle pageblocks of different migratetypes; every pageblock's
 * class counters equal the classes of its pages; a page's refcount is its
 * owner references + pagevec entries + GUP refs + 1024 per FOLL_PIN.
 */
#ifndef VCMA_MODEL_PRIV_H
#define VCMA_MODEL_PRIV_H

#include <stdbool.h>
#include <stdint.h>

#include "vcma_model.h"

#define NIL		0xffffffffu
#define MAX_ORDER	11
#define PB_ORDER	9
#define PB_PAGES	(1u << PB_ORDER)
#define PVEC_SIZE	15	/* PAGEVEC_SIZE in Linux */
#define BH_LRU_SIZE	8	/* BH_LRU_SIZE in Linux */
#define PIN_BIAS	1024	/* GUP_PIN_COUNTING_BIAS */
#define MODEL_MAX_CPUS	64
#define MIGRATE_PASSES	10	/* NR_MAX_MIGRATE_PAGES_RETRY */
#define CONTIG_TRIES	5	/* __alloc_contig_migrate_range gives up after 5 */
#define CLUSTER		32	/* COMPACT_CLUSTER_MAX: pages isolated per batch */
#define RECENT		4096	/* recently allocated pages, the "hot" set */
#define MAX_ZONES	4
#define HOLE_PAGES	256	/* the first MiB is not usable RAM, as on a PC */

/* Virtual costs, microseconds. */
#define COST_MIGRATE_US		8
#define COST_PASS_US		40
#define COST_DRAIN_CPU_US	5
#define COST_ISOLATE_US		1

/* gfp classes: where an allocation may land. */
enum gfp_class {
	GFP_KERNEL_UNMOVABLE,	/* slab, kernel: ZONE_NORMAL, MIGRATE_UNMOVABLE */
	GFP_KERNEL_RECLAIMABLE,	/* reclaimable slab */
	GFP_USER_MOVABLE,	/* block-device cache: ZONE_NORMAL, may use MIGRATE_CMA */
	GFP_HIGHUSER_MOVABLE,	/* anon, file, shmem: ZONE_MOVABLE/ZONE_CMA first */
	GFP_USER_PINNABLE,	/* FOLL_LONGTERM target: not movable, no CMA */
};

struct mpage {
	uint32_t ref;
	uint8_t type;		/* enum vcma_model_page_type */
	uint8_t flags;		/* VCMA_MPF_* */
	uint8_t aux;		/* free head: order; in use: BH LRU entries for its buffers */
	uint8_t mapcount;
	uint32_t a;		/* free head: next; in use: workload object index or NIL */
	uint32_t b;		/* free head: prev; in use: data token (identity) */
};

struct mblock {
	uint8_t mt, saved_mt, zone, pad;
	uint16_t cnt[VCMA_NR_PAGE_CLASSES];
};

struct mzone {
	uint64_t start, end;
	uint32_t type;		/* enum vcma_zone_type */
	uint32_t head[VCMA_MT_NR][MAX_ORDER];
	uint64_t nr_free;
	uint64_t nr_free_mt[VCMA_MT_NR];
	uint64_t low_wmark;
};

struct mcpu {
	uint32_t pvec[PVEC_SIZE];
	uint32_t npvec;
	uint32_t bh[BH_LRU_SIZE];	/* pfns whose buffer heads this CPU's LRU holds */
	uint32_t nbh;
	uint32_t weight;
};

struct mpin {
	uint32_t pfn;
	uint32_t kind;
	uint64_t expire_us;	/* 0: until unpinned */
	int64_t id;
};

struct mwb {
	uint32_t pfn;
	uint64_t end_us;
};

enum { EV_CHURN, EV_ACCESS, EV_BH, EV_DIRTY, EV_FLUSH, EV_GUP, EV_SHORT_PIN, EV_NR };

struct vcma_model {
	struct vcma_model_scenario sc;
	uint64_t nr_pages;
	struct mpage *pages;
	struct mblock *blocks;
	uint64_t nr_blocks;
	struct mzone zones[MAX_ZONES];
	int nr_zones;
	struct mcpu cpus[MODEL_MAX_CPUS];
	uint32_t nr_cpus;
	uint32_t cpu_weight_total;
	int lru_disable;	/* lru_cache_disable() nesting count */
	uint64_t now_us;
	uint64_t rng;
	uint64_t cls_total[VCMA_NR_PAGE_CLASSES];

	/* Workload. */
	int workload_on;
	int in_reclaim;
	int in_advance;
	int in_contig;		/* inside alloc_contig_range: no nested contiguous work */
	uint32_t *objs;		/* pfns of pages the workload owns */
	uint64_t nr_objs;
	uint32_t recent[RECENT];
	uint32_t recent_pos;
	uint64_t used_target;
	uint64_t credit[EV_NR];
	uint32_t mix_total;
	uint32_t next_token;
	uint64_t nr_long, nr_long_inplace;

	struct mpin *pins;
	size_t nr_pins, cap_pins;
	int64_t next_pin_id;
	uint64_t next_pin_expiry;
	struct mwb *wb;
	size_t nr_wb, cap_wb;
	uint64_t next_wb_end;

	uint32_t *scratch;	/* PB_PAGES entries, for moving a block's free heads */
	uint32_t cluster[CLUSTER];	/* pages isolated by alloc_contig_range */
	struct vcma_model_stats st;
	struct vcma_backend_ops ops;
};

/* model_mm.c */
uint64_t rng_next(struct vcma_model *m);
uint64_t rng_below(struct vcma_model *m, uint64_t n);
int mm_init(struct vcma_model *m);
void mm_fini(struct vcma_model *m);
uint8_t page_class(const struct mpage *p);
static inline uint8_t cls_begin(struct vcma_model *m, uint64_t pfn)
{
	return page_class(&m->pages[pfn]);
}
void cls_end(struct vcma_model *m, uint64_t pfn, uint8_t old);
struct mzone *zone_of(struct vcma_model *m, uint64_t pfn);
static inline struct mblock *block_of(struct vcma_model *m, uint64_t pfn)
{
	return &m->blocks[pfn >> PB_ORDER];
}
uint32_t page_owner_refs(const struct mpage *p);
bool page_is_lru_type(const struct mpage *p);
bool page_in_movable_area(struct vcma_model *m, uint64_t pfn);
uint32_t buddy_alloc_page(struct vcma_model *m, enum gfp_class gfp);
void buddy_free_page(struct vcma_model *m, uint64_t pfn);
void block_set_mt(struct vcma_model *m, uint64_t block, uint8_t mt);
void buddy_take_range(struct vcma_model *m, uint64_t start, uint64_t end);
uint64_t buddy_take_block(struct vcma_model *m, unsigned int order);
uint64_t model_available(struct vcma_model *m);

/* model_lru.c */
void lru_add_new(struct vcma_model *m, uint32_t cpu, uint64_t pfn);
void lru_putback(struct vcma_model *m, uint64_t pfn);
void pvec_drain_cpu(struct vcma_model *m, uint32_t cpu);
void bh_lru_repoint(struct vcma_model *m, uint64_t from, uint64_t to);
void lru_drain_all(struct vcma_model *m);

/* model_migrate.c */
int migrate_one(struct vcma_model *m, uint64_t pfn, enum gfp_class gfp, uint64_t *new_pfn);
enum gfp_class gfp_of_type(uint32_t type);
void pins_expire(struct vcma_model *m);
void wb_expire(struct vcma_model *m);
void wb_start(struct vcma_model *m, uint64_t pfn);

/* model_workload.c */
void model_advance(struct vcma_model *m, uint64_t us);
void obj_add(struct vcma_model *m, uint64_t pfn);
void obj_del(struct vcma_model *m, uint64_t pfn);
int workload_fill(struct vcma_model *m);
uint32_t pick_cpu(struct vcma_model *m);
uint64_t reclaim_clean(struct vcma_model *m, uint64_t want);

/* model_backend.c */
void backend_init_ops(struct vcma_model *m);

#endif /* VCMA_MODEL_PRIV_H */
