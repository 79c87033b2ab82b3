// SPDX-License-Identifier: GPL-2.0-only OR MIT
/*
 * The findings vcma was built on (MM-NOTES.md), reproduced on the model with
 * thresholds (test-seed-findings <finding>):
 *  pagevec   - with lru_cache_disable during migration, pages that fail
 *              every migration pass (Linux dump_page()d them) drop >= 5x
 *              over ~500 CMA allocations under launch-like churn
 *              (Linux: 400 -> 30);
 *  bh-lru    - without BH LRU invalidation, buffer-head pages block
 *              allocations that succeed with it;
 *  zone-cma  - with ZONE_CMA, block-device cache never blocks a CMA
 *              allocation; with MIGRATE_CMA pageblocks it does.
 * Each side runs the same seed and the same allocation sequence.
 */
#include <string.h>

#include "model_test_util.h"

struct outcome {
	uint64_t ok, fail, fail_bh;
	struct vcma_model_stats st;
};


/* The pfn span of the CMA area: MIGRATE_CMA pageblocks or ZONE_CMA. */
static void cma_area(struct vcma_model *m, uint64_t *lo, uint64_t *hi)
{
	struct vcma_model_page p;
	uint64_t pfn;

	*lo = *hi = 0;
	for (pfn = 0; pfn < vcma_model_nr_pages(m); pfn += 512) {
		vcma_model_page_get(m, pfn, &p);
		if (p.migratetype == VCMA_MT_CMA || p.zone_type == VCMA_ZT_CMA) {
			if (!*hi)
				*lo = pfn;
			*hi = pfn + 512;
		}
	}
}

/*
 * n allocations of nr pages over [lo, hi), each freed again, with ticks of
 * workload in between: what cma_alloc() users do.
 */
static struct outcome allocate(struct vcma_model *m, uint64_t lo, uint64_t hi, uint64_t nr,
			       int n, unsigned int gap)
{
	struct vcma_evac_result res;
	struct outcome o = { 0 };
	uint64_t windows = (hi - lo) / nr, start;
	int i;

	for (i = 0; i < n; i++) {
		start = lo + ((uint64_t)i * 7 % windows) * nr;
		if (!vcma_model_alloc_contig_range(m, start, nr, &res)) {
			o.ok++;
			vcma_model_free_contig_range(m, start, nr);
		} else {
			o.fail++;
			o.fail_bh += res.cause == VCMA_CORE_CAUSE_BH_LRU;
		}
		vcma_model_step(m, gap);
	}
	vcma_model_get_stats(m, &o.st);
	return o;
}

static struct outcome launch(int pagevec_disable)
{
	struct vcma_model *m = test_model("launch", 0, pagevec_disable ? "pagevec_disable = on" :
							     "pagevec_disable = off");
	struct outcome o;
	uint64_t lo, hi;
	char err[160] = "";

	vcma_model_step(m, 50);
	cma_area(m, &lo, &hi);
	o = allocate(m, lo, hi, 1024, 500, 10);
	tap_ok(!vcma_model_check(m, err, sizeof(err)), "invariants hold after the launch run %s", err);
	vcma_model_free(m);
	return o;
}

static void test_pagevec(void)
{
	struct outcome off = launch(0), on = launch(1);

	tap_diag("500 CMA allocations of 4 MiB under launch churn:");
	tap_diag("  pagevec disable off: %llu dumped pages, %llu failed allocations",
		 (unsigned long long)off.st.forced_retries, (unsigned long long)off.fail);
	tap_diag("  pagevec disable on:  %llu dumped pages, %llu failed allocations",
		 (unsigned long long)on.st.forced_retries, (unsigned long long)on.fail);
	tap_ok(off.st.forced_retries >= 20, "without lru_cache_disable, pagevec refs make pages fail every pass (%llu)",
	       (unsigned long long)off.st.forced_retries);
	tap_ok(off.st.forced_retries >= 5 * (on.st.forced_retries ? on.st.forced_retries : 1),
	       "with it, such failures drop at least 5x (%llu -> %llu)",
	       (unsigned long long)off.st.forced_retries, (unsigned long long)on.st.forced_retries);
	tap_ok(on.fail <= off.fail, "and allocations fail no more often (%llu -> %llu)",
	       (unsigned long long)off.fail, (unsigned long long)on.fail);
}

static struct outcome fileserver(int bh_invalidate)
{
	struct vcma_model *m = test_model("fileserver", 0, bh_invalidate ? "mem_mib = 512\nbh_invalidate = on" :
							       "mem_mib = 512\nbh_invalidate = off");
	uint64_t n = vcma_model_nr_pages(m);
	struct outcome o;

	vcma_model_step(m, 50);
	/* ZONE_NORMAL above the kernel image: where block-device cache lives. */
	o = allocate(m, 16384, n - n / 4, 512, 200, 5);
	vcma_model_free(m);
	return o;
}

static void test_bh_lru(void)
{
	struct outcome off = fileserver(0), on = fileserver(1);

	tap_diag("200 allocations of 2 MiB on a buffer-head heavy guest:");
	tap_diag("  BH LRU invalidation off: %llu ok, %llu failed (%llu on a bh)", (unsigned long long)off.ok,
		 (unsigned long long)off.fail, (unsigned long long)off.fail_bh);
	tap_diag("  BH LRU invalidation on:  %llu ok, %llu failed (%llu on a bh)", (unsigned long long)on.ok,
		 (unsigned long long)on.fail, (unsigned long long)on.fail_bh);
	tap_ok(off.fail_bh > 0, "without invalidation, buffer heads in BH LRUs block allocations");
	tap_ok(on.fail_bh == 0 && on.ok > off.ok, "with it, none is blocked by a bh and more succeed");
}

static struct outcome cma_kind(const char *mode)
{
	char text[128];
	struct vcma_model *m;
	struct outcome o;
	uint64_t lo, hi;

	snprintf(text, sizeof(text), "preset = fileserver\nmovable_pct = 0\ncma_pct = 15\n"
		 "cma_mode = %s\nbh_invalidate = off\nfill_pct = 90", mode);
	m = test_model("fileserver", 0, text);
	vcma_model_step(m, 50);
	cma_area(m, &lo, &hi);
	o = allocate(m, lo, hi, 512, 200, 5);
	vcma_model_free(m);
	return o;
}

static void test_zone_cma(void)
{
	struct outcome zone = cma_kind("zone"), mt = cma_kind("migratetype");

	tap_diag("200 CMA allocations of 2 MiB, BH LRU invalidation off:");
	tap_diag("  ZONE_CMA:    %llu ok, %llu blocked by block-device cache",
		 (unsigned long long)zone.ok, (unsigned long long)zone.st.blocked_by_bdev);
	tap_diag("  MIGRATE_CMA: %llu ok, %llu blocked by block-device cache",
		 (unsigned long long)mt.ok, (unsigned long long)mt.st.blocked_by_bdev);
	tap_ok(zone.st.blocked_by_bdev == 0, "under ZONE_CMA block-device cache never blocks a CMA allocation");
	tap_ok(mt.st.blocked_by_bdev > 0, "with MIGRATE_CMA pageblocks it does");
}

int main(int argc, char **argv)
{
	const char *t = argc == 2 ? argv[1] : "";

	if (!strcmp(t, "pagevec"))
		test_pagevec();
	else if (!strcmp(t, "bh-lru"))
		test_bh_lru();
	else if (!strcmp(t, "zone-cma"))
		test_zone_cma();
	else {
		fprintf(stderr, "usage: %s pagevec|bh-lru|zone-cma\n", argv[0]);
		return 2;
	}
	return tap_done();
}
