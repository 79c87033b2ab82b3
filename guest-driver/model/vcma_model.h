/* SPDX-License-Identifier: GPL-2.0-only OR MIT */
/*
 * vcma mm model: a deterministic userspace model of the Linux mm parts that
 * decide whether a contiguous allocation succeeds (zones, pageblocks and
 * migratetypes, buddy allocator with fallback stealing, per-CPU LRU pagevecs
 * with lru_cache_disable counting, per-CPU BH LRUs, GUP refs vs FOLL_PIN vs
 * FOLL_LONGTERM, migration, alloc_contig_range, ZONE_CMA vs MIGRATE_CMA), plus
 * a seeded workload generator. guest-driver/core runs on it unchanged through
 * vcma_model_backend().
 *
 * Everything is single-threaded and driven by virtual time: the N CPUs are
 * simulated, sleep_us advances the clock and runs the workload meanwhile.
 * Same config and seed, same calls: same results, bit for bit.
 */
#ifndef VCMA_MODEL_H
#define VCMA_MODEL_H

#include <stddef.h>
#include <stdint.h>

#include "vcma_core.h"

struct vcma_model;

enum vcma_model_cma_mode {
	VCMA_MODEL_CMA_NONE = 0,
	VCMA_MODEL_CMA_MIGRATETYPE = 1,	/* MIGRATE_CMA pageblocks inside ZONE_NORMAL */
	VCMA_MODEL_CMA_ZONE = 2,	/* ZONE_CMA: only GFP_HIGHUSER_MOVABLE lands there */
};

/* A parsed scenario: every knob of the model and its workload. */
struct vcma_model_scenario {
	char name[32];
	uint64_t mem_mib;
	uint32_t cpus;
	uint32_t busy_cpus;		/* CPUs doing most of the work; the rest are mostly idle */
	uint32_t idle_ppm;		/* an idle CPU's events per million of a busy CPU's */
	uint64_t seed;
	uint32_t movable_pct;		/* ZONE_MOVABLE share of memory */
	uint32_t cma_pct;		/* CMA area share of memory */
	uint32_t cma_mode;		/* enum vcma_model_cma_mode */
	uint32_t pagevec_disable;	/* 1: alloc_contig_range uses lru_cache_disable (5.13+) */
	uint32_t bh_invalidate;		/* 1: the LRU drain invalidates BH LRUs, installs skipped */
	uint32_t fill_pct;		/* memory in use the workload keeps */
	/* Allocation mix, relative weights. */
	uint32_t mix_anon, mix_file, mix_file_buffers, mix_file_journal, mix_bdev;
	uint32_t mix_shmem, mix_slab, mix_slab_reclaimable, mix_kernel;
	/* Rates: events per millisecond per GiB of memory. */
	uint32_t churn;			/* page frees (and as many allocations) */
	uint32_t access;		/* page activations (per-CPU pagevec refs) */
	uint32_t hot_pct;		/* share of accesses that hit recently allocated pages */
	uint32_t bh_access;		/* buffer-head lookups (BH LRU installs) */
	uint32_t dirty;			/* file pages dirtied */
	uint32_t flush;			/* dirty pages put under writeback */
	uint32_t writeback_us;		/* writeback duration */
	uint32_t gup_refs;		/* transient get_user_pages references */
	uint32_t gup_ref_us;
	uint32_t short_pins;		/* FOLL_PIN (O_DIRECT-like) */
	uint32_t short_pin_us;
	uint32_t long_pins;		/* standing FOLL_LONGTERM pins, per GiB */
	uint32_t long_pins_inplace;	/* standing long FOLL_PIN without LONGTERM, per GiB */
	uint32_t tick_us;		/* granularity of vcma_model_step */
};

struct vcma_model_config {
	uint64_t mem_bytes;		/* 0: from the scenario (default 1 GiB) */
	uint32_t nr_cpus;		/* 0: from the scenario */
	uint64_t seed;			/* 0: from the scenario */
	int32_t movable_pct;		/* < 0: from the scenario */
	const char *preset;		/* workload preset name; NULL: "mixed" */
	const char *scenario;		/* scenario text applied over the preset; may be NULL */
};

/* Presets: "idle", "mixed", "launch", "fileserver", "pinned". */
int vcma_model_preset(const char *name, struct vcma_model_scenario *out);
const char *const *vcma_model_preset_names(void);
/*
 * Parse "key = value" lines (# comments) over *sc (start from a preset).
 * 0 on success; -1 with a message naming the line in err.
 */
int vcma_model_scenario_load(struct vcma_model_scenario *sc, const char *text,
			     char *err, size_t errlen);
int vcma_model_scenario_load_file(struct vcma_model_scenario *sc, const char *path,
				  char *err, size_t errlen);

/* NULL on bad config (vcma_model_create says why). */
struct vcma_model *vcma_model_new(const struct vcma_model_config *cfg);
int vcma_model_create(const struct vcma_model_config *cfg, struct vcma_model **out,
		      char *err, size_t errlen);
struct vcma_model *vcma_model_new_scenario(const struct vcma_model_scenario *sc,
					   char *err, size_t errlen);
void vcma_model_free(struct vcma_model *m);

void vcma_model_backend(struct vcma_model *m, const struct vcma_backend_ops **ops, void **ctx);
/* Advance the workload by n ticks of virtual time. */
void vcma_model_step(struct vcma_model *m, unsigned int n);
void vcma_model_meminfo(struct vcma_model *m, uint64_t *total_pages, uint64_t *free_pages,
			uint64_t *available_pages);
const struct vcma_model_scenario *vcma_model_get_scenario(const struct vcma_model *m);
uint64_t vcma_model_now_us(const struct vcma_model *m);
uint64_t vcma_model_nr_pages(const struct vcma_model *m);

/* --- Inspection and direct mechanisms, for tests and benchmarks ---------- */

enum vcma_model_page_type {
	VCMA_MPT_FREE = 0, VCMA_MPT_ANON, VCMA_MPT_FILE, VCMA_MPT_SHMEM, VCMA_MPT_BDEV,
	VCMA_MPT_SLAB, VCMA_MPT_SLAB_RECLAIMABLE, VCMA_MPT_KERNEL, VCMA_MPT_OWNED,
	VCMA_MPT_HOLE, VCMA_MPT_NR
};

/* Page flags as seen by tests. */
#define VCMA_MPF_LRU		0x01
#define VCMA_MPF_DIRTY		0x02
#define VCMA_MPF_WRITEBACK	0x04
#define VCMA_MPF_BUFFERS	0x08
#define VCMA_MPF_JOURNAL	0x10	/* mapping without migratepage: fallback path */
#define VCMA_MPF_PVEC		0x20	/* in a per-CPU lru_add pagevec, not on the LRU yet */
#define VCMA_MPF_HEAD		0x40	/* head of a free buddy block */
#define VCMA_MPF_ISOLATED	0x80	/* taken off the LRU for migration */

enum vcma_model_mt {
	VCMA_MT_UNMOVABLE = 0, VCMA_MT_MOVABLE, VCMA_MT_RECLAIMABLE, VCMA_MT_CMA,
	VCMA_MT_ISOLATE, VCMA_MT_NR
};

struct vcma_model_page {
	uint32_t ref, mapcount, bh_refs, type, flags, token, zone_type;
	uint32_t migratetype;		/* of its pageblock */
	uint32_t pins;			/* live FOLL_PIN pins (truth, not the bias guess) */
};

enum vcma_model_pin_kind {
	VCMA_PIN_GUP_REF = 0,		/* plain get_user_pages reference */
	VCMA_PIN_FOLL_PIN = 1,		/* pin_user_pages: +1024 */
	VCMA_PIN_LONGTERM = 2,		/* FOLL_PIN | FOLL_LONGTERM: migrate out of movable first */
};

struct vcma_model_stats {
	uint64_t migrations;		/* pages migrated, all causes */
	uint64_t migrate_fail_passes;	/* per-page failures in migrate_pages passes */
	uint64_t forced_retries;	/* pages failing every pass of a contig migrate_pages (dump_page) */
	uint64_t contig_ok, contig_fail;
	uint64_t drains;		/* lru_add_drain_all */
	uint64_t bh_invalidates;	/* invalidate_bh_lrus calls */
	uint64_t bh_ipis;		/* CPUs interrupted by them */
	uint64_t bh_installs_skipped;
	uint64_t longterm_migrations;
	uint64_t pin_fail;
	uint64_t steals;		/* fallback steals of a pageblock */
	uint64_t alloc_fail;
	uint64_t blocked_by_bdev;	/* contig failures where a block-device page stayed */
	uint64_t reclaimed;		/* clean page-cache pages dropped by direct reclaim */
};

int vcma_model_page_get(struct vcma_model *m, uint64_t pfn, struct vcma_model_page *out);
uint32_t vcma_model_pageblock_mt(struct vcma_model *m, uint64_t pfn);
void vcma_model_get_stats(struct vcma_model *m, struct vcma_model_stats *out);
void vcma_model_set_switches(struct vcma_model *m, int pagevec_disable, int bh_invalidate);
/* Stop (0) or restart (1) the background workload; direct calls still work. */
void vcma_model_set_workload(struct vcma_model *m, int on);

/* Allocate one page of a type on a CPU the way the kernel would; pfn or -1. */
int64_t vcma_model_alloc(struct vcma_model *m, uint32_t cpu, uint32_t type, uint32_t flags);
/* Drop the owner's reference (the page is freed once nothing else holds it). */
int vcma_model_put(struct vcma_model *m, uint64_t pfn);
/* Pins; return a pin id (> 0) or negative errno. FOLL_LONGTERM may move the page first. */
int64_t vcma_model_pin(struct vcma_model *m, uint64_t pfn, uint32_t kind, uint64_t lifetime_us);
int vcma_model_unpin(struct vcma_model *m, int64_t pin_id);
uint64_t vcma_model_pin_pfn(struct vcma_model *m, int64_t pin_id);
/* Extra plain references (e.g. to provoke page_maybe_dma_pinned false positives). */
int vcma_model_get_refs(struct vcma_model *m, uint64_t pfn, uint32_t n);
int vcma_model_put_refs(struct vcma_model *m, uint64_t pfn, uint32_t n);

void vcma_model_activate(struct vcma_model *m, uint32_t cpu, uint64_t pfn);
void vcma_model_bh_touch(struct vcma_model *m, uint32_t cpu, uint64_t pfn);
void vcma_model_set_dirty(struct vcma_model *m, uint64_t pfn, int writeback);
void vcma_model_lru_add_drain_all(struct vcma_model *m);
void vcma_model_lru_cache_disable(struct vcma_model *m);
void vcma_model_lru_cache_enable(struct vcma_model *m);
int vcma_model_lru_cache_disabled(const struct vcma_model *m);
void vcma_model_invalidate_bh_lrus(struct vcma_model *m);
uint32_t vcma_model_pagevec_count(const struct vcma_model *m, uint32_t cpu);
uint32_t vcma_model_bh_lru_count(const struct vcma_model *m, uint32_t cpu);

/* The kernel's alloc_contig_range / free_contig_range on the model. */
int vcma_model_alloc_contig_range(struct vcma_model *m, uint64_t start_pfn, uint64_t nr,
				  struct vcma_evac_result *res);
void vcma_model_free_contig_range(struct vcma_model *m, uint64_t start_pfn, uint64_t nr);
/* Try to migrate one page now (one migrate_pages pass); 0 when it moved. */
int vcma_model_migrate_page(struct vcma_model *m, uint64_t pfn, uint64_t *new_pfn);

/* Per-class counts over a range (the backend's summarize). */
void vcma_model_summarize(struct vcma_model *m, uint64_t pfn, uint64_t nr,
			  struct vcma_range_summary *out);
/*
 * Ground truth for oracles: could [pfn, pfn + nr) be evacuated right now
 * (no unmovable, hole, owned or pinned page)? Returns 1 and the number of
 * pages that would move, or 0.
 */
int vcma_model_window_truth(struct vcma_model *m, uint64_t pfn, uint64_t nr, uint64_t *to_move);

/* Check every invariant (free lists, counters, conservation); 0 or -1 with a message. */
int vcma_model_check(struct vcma_model *m, char *err, size_t errlen);

#endif /* VCMA_MODEL_H */
