// SPDX-License-Identifier: GPL-2.0-only OR MIT
/*
 * Invariant tests of the mm model, one mechanism per invocation
 * (test-model-mechanisms <mechanism>): each sets up the state that exercises
 * one kernel behaviour from MM-NOTES.md and checks it, and every test ends
 * with the model's full invariant check (free lists, counters, references,
 * total pages conserved).
 */
#include <string.h>

#include "model_test_util.h"

static struct vcma_model *model(const char *preset, const char *text)
{
	return test_model(preset, 256, text);
}


static void check(struct vcma_model *m, const char *when)
{
	char err[160] = "";

	tap_ok(!vcma_model_check(m, err, sizeof(err)), "invariants hold %s %s", when, err);
}

static struct vcma_model_page page(struct vcma_model *m, uint64_t pfn)
{
	struct vcma_model_page p;

	vcma_model_page_get(m, pfn, &p);
	return p;
}

static enum vcma_page_class cls(struct vcma_model *m, uint64_t pfn)
{
	const struct vcma_backend_ops *ops;
	void *ctx;

	vcma_model_backend(m, &ops, &ctx);
	return ops->classify(ctx, pfn);
}

/* A page on the LRU with nothing else holding it (drains the allocating CPU). */
static uint64_t lru_page(struct vcma_model *m, uint32_t type, uint32_t flags)
{
	int64_t pfn = vcma_model_alloc(m, 0, type, flags);

	vcma_model_lru_add_drain_all(m);
	return (uint64_t)pfn;
}

static void test_pagevec(void)
{
	struct vcma_model *m = model("idle", NULL);
	uint64_t a, b, moved;
	uint32_t token;

	vcma_model_set_workload(m, 0);
	vcma_model_lru_add_drain_all(m);
	a = (uint64_t)vcma_model_alloc(m, 1, VCMA_MPT_ANON, 0);
	tap_ok(page(m, a).flags & VCMA_MPF_PVEC && page(m, a).ref == 3 &&
	       vcma_model_pagevec_count(m, 1) == 1 && cls(m, a) == VCMA_PC_PAGEVEC,
	       "a new page waits in its CPU's pagevec holding a reference");
	tap_ok(vcma_model_migrate_page(m, a, &moved) != 0, "a pagevec-held page cannot be isolated");
	b = lru_page(m, VCMA_MPT_FILE, 0);
	vcma_model_activate(m, 2, b);
	tap_ok(page(m, b).ref == 2 && vcma_model_migrate_page(m, b, &moved) == -11,
	       "an activated LRU page fails migration's refcount check (-EAGAIN)");
	vcma_model_lru_cache_disable(m);
	token = page(m, b).token;
	tap_ok(vcma_model_pagevec_count(m, 1) == 0 && vcma_model_pagevec_count(m, 2) == 0,
	       "lru_cache_disable drains every CPU");
	tap_ok(!vcma_model_migrate_page(m, a, &moved) && page(m, moved).type == VCMA_MPT_ANON,
	       "the formerly pagevec-held page migrates on the first pass");
	tap_ok(!vcma_model_migrate_page(m, b, &moved) && page(m, moved).token == token &&
	       page(m, b).type == VCMA_MPT_FREE, "so does the activated one, identity intact");
	vcma_model_activate(m, 3, moved);
	tap_ok(vcma_model_pagevec_count(m, 3) == 0 && page(m, moved).ref == 1,
	       "while disabled, activations bypass the pagevec");
	vcma_model_lru_cache_enable(m);
	check(m, "after pagevec traffic");
	vcma_model_free(m);
}

static void test_lru_disable_nesting(void)
{
	struct vcma_model *m = model("idle", NULL);
	int64_t pfn;

	vcma_model_set_workload(m, 0);
	vcma_model_lru_cache_disable(m);
	vcma_model_lru_cache_disable(m);
	vcma_model_lru_cache_enable(m);
	pfn = vcma_model_alloc(m, 1, VCMA_MPT_ANON, 0);
	tap_ok(vcma_model_lru_cache_disabled(m) && !(page(m, (uint64_t)pfn).flags & VCMA_MPF_PVEC) &&
	       vcma_model_pagevec_count(m, 1) == 0,
	       "two disables and one enable: still disabled, new pages go straight to the LRU");
	vcma_model_lru_cache_enable(m);
	pfn = vcma_model_alloc(m, 1, VCMA_MPT_ANON, 0);
	tap_ok(!vcma_model_lru_cache_disabled(m) && (page(m, (uint64_t)pfn).flags & VCMA_MPF_PVEC),
	       "the second enable re-enables the pagevecs");
	vcma_model_lru_cache_enable(m);
	tap_ok(!vcma_model_lru_cache_disabled(m), "an extra enable does not underflow");
	check(m, "after nesting");
	vcma_model_free(m);
}

static void test_bh_lru(void)
{
	struct vcma_model *m = model("idle", NULL);
	struct vcma_model_stats s0, s1;
	uint64_t j, bd, pfns[9], moved;
	int i;

	vcma_model_set_workload(m, 0);
	j = lru_page(m, VCMA_MPT_FILE, VCMA_MPF_JOURNAL);
	bd = lru_page(m, VCMA_MPT_BDEV, 0);
	vcma_model_bh_touch(m, 1, j);
	vcma_model_bh_touch(m, 2, bd);
	vcma_model_bh_touch(m, 2, j);
	tap_ok(page(m, j).bh_refs == 2 && page(m, bd).bh_refs == 1,
	       "BH LRU slots hold buffer-head references");
	tap_ok(vcma_model_migrate_page(m, j, &moved) == -11 &&
	       vcma_model_migrate_page(m, bd, &moved) == -11,
	       "fallback-path and block-device pages with a referenced bh do not migrate");
	/* The failed tries put the pages back via a pagevec; since 5.13 the drain also invalidates. */
	vcma_model_get_stats(m, &s0);
	vcma_model_lru_add_drain_all(m);
	vcma_model_get_stats(m, &s1);
	tap_ok(s1.bh_ipis - s0.bh_ipis == 2, "the drain's invalidate_bh_lrus interrupts only the 2 CPUs with entries (of 4)");
	vcma_model_invalidate_bh_lrus(m);
	vcma_model_get_stats(m, &s0);
	tap_ok(s0.bh_ipis == s1.bh_ipis, "with every BH LRU empty, invalidating interrupts nobody");
	tap_ok(vcma_model_bh_lru_count(m, 1) == 0 && vcma_model_bh_lru_count(m, 2) == 0 &&
	       page(m, j).bh_refs == 0, "and empties them");
	tap_ok(!vcma_model_migrate_page(m, j, &moved) && !(page(m, moved).flags & VCMA_MPF_BUFFERS),
	       "the fallback page migrates on the first pass, its buffers dropped");
	tap_ok(!vcma_model_migrate_page(m, bd, &moved), "the block-device page migrates");
	for (i = 0; i < 9; i++)
		pfns[i] = (uint64_t)vcma_model_alloc(m, 0, VCMA_MPT_BDEV, 0);
	vcma_model_lru_add_drain_all(m);
	for (i = 0; i < 9; i++)
		vcma_model_bh_touch(m, 3, pfns[i]);
	tap_ok(vcma_model_bh_lru_count(m, 3) == 8 && page(m, pfns[0]).bh_refs == 0 &&
	       page(m, pfns[8]).bh_refs == 1, "8 slots per CPU: the oldest is evicted and released");
	vcma_model_lru_cache_disable(m);
	vcma_model_bh_touch(m, 1, pfns[0]);
	tap_ok(vcma_model_bh_lru_count(m, 1) == 0, "no bh is installed while the LRU cache is disabled");
	vcma_model_lru_cache_enable(m);
	vcma_model_set_switches(m, 1, 0);
	vcma_model_lru_cache_disable(m);
	vcma_model_bh_touch(m, 1, pfns[0]);
	tap_ok(vcma_model_bh_lru_count(m, 1) == 1, "with the fix switched off, installs continue (pre-5.13)");
	vcma_model_lru_cache_enable(m);
	check(m, "after BH LRU traffic");
	vcma_model_free(m);
}

static void test_pins(void)
{
	struct vcma_model *m = model("idle", NULL);
	struct vcma_evac_result res;
	uint64_t a, b, moved, block;
	uint32_t mt_before, token;
	int64_t pin;

	vcma_model_set_workload(m, 0);
	a = lru_page(m, VCMA_MPT_ANON, 0);
	token = page(m, a).token;
	pin = vcma_model_pin(m, a, VCMA_PIN_FOLL_PIN, 0);
	tap_ok(pin > 0 && page(m, a).ref == 2 + 1024 && cls(m, a) == VCMA_PC_PINNED,
	       "FOLL_PIN adds the 1024 bias and the page reads as maybe-DMA-pinned");
	tap_ok(vcma_model_migrate_page(m, a, &moved) == -11, "a pinned page is not migrated");
	block = a & ~511ull;
	mt_before = vcma_model_pageblock_mt(m, block);
	tap_ok(vcma_model_alloc_contig_range(m, block, 512, &res) != 0 &&
	       res.cause == VCMA_CORE_CAUSE_PINNED, "alloc_contig_range over it fails, cause pinned");
	tap_ok(page(m, a).token == token && page(m, a).type == VCMA_MPT_ANON && page(m, a).pins == 1,
	       "the pinned page kept its frame and its data");
	tap_ok(vcma_model_pageblock_mt(m, block) == mt_before, "and the pageblock its migratetype");
	vcma_model_unpin(m, pin);
	tap_ok(cls(m, a) == VCMA_PC_LRU_ANON, "unpinned, it is an ordinary LRU page again");
	b = lru_page(m, VCMA_MPT_FILE, 0);
	vcma_model_get_refs(m, b, 1100);
	tap_ok(cls(m, b) == VCMA_PC_PINNED && page(m, b).pins == 0,
	       "1100 plain references are a page_maybe_dma_pinned false positive");
	vcma_model_put_refs(m, b, 1100);
	pin = vcma_model_pin(m, b, VCMA_PIN_GUP_REF, 0);
	tap_ok(cls(m, b) != VCMA_PC_PINNED && vcma_model_migrate_page(m, b, &moved) == -11,
	       "a GUP reference is no pin, but still blocks migration");
	vcma_model_unpin(m, pin);
	check(m, "after pins");
	vcma_model_free(m);
}

static void test_no_pin_missed(void)
{
	struct vcma_model *m = model("pinned", NULL);
	uint64_t pfn, n = vcma_model_nr_pages(m), missed = 0, pinned = 0;

	vcma_model_step(m, 200);
	for (pfn = 0; pfn < n; pfn++) {
		struct vcma_model_page p = page(m, pfn);

		if (!p.pins)
			continue;
		pinned++;
		missed += cls(m, pfn) != VCMA_PC_PINNED;
	}
	tap_ok(pinned > 30 && !missed, "every one of %llu pinned pages reads as pinned",
	       (unsigned long long)pinned);
	check(m, "under a pinning workload");
	vcma_model_free(m);
}

static int movable_area(struct vcma_model *m, uint64_t pfn)
{
	struct vcma_model_page p = page(m, pfn);

	return p.zone_type == VCMA_ZT_MOVABLE || p.zone_type == VCMA_ZT_CMA ||
	       p.migratetype == VCMA_MT_CMA;
}

static void test_longterm(void)
{
	struct vcma_model *m = model("mixed", "movable_pct = 40\ncma_mode = migratetype\ncma_pct = 10");
	uint64_t n = vcma_model_nr_pages(m), pfn, from_movable = 0, inside = 0, kept = 0;
	int64_t pins[200];
	int made = 0, i;

	vcma_model_set_workload(m, 0);
	for (pfn = 256; pfn < n && made < 200; pfn += 97) {
		struct vcma_model_page p = page(m, pfn);
		int64_t id;

		if (p.type != VCMA_MPT_ANON || !(p.flags & VCMA_MPF_LRU) || p.ref != 2)
			continue;
		from_movable += movable_area(m, pfn);
		id = vcma_model_pin(m, pfn, VCMA_PIN_LONGTERM, 0);
		if (id <= 0)
			continue;
		pins[made++] = id;
		kept += movable_area(m, pfn) ? 0 : vcma_model_pin_pfn(m, id) == pfn;
	}
	for (i = 0; i < made; i++)
		inside += movable_area(m, vcma_model_pin_pfn(m, pins[i]));
	tap_ok(made > 100 && from_movable > 20, "%d long-term pins, %llu asked inside movable areas",
	       made, (unsigned long long)from_movable);
	tap_ok(!inside, "FOLL_LONGTERM never leaves a pin inside ZONE_MOVABLE or CMA");
	tap_ok(kept == (uint64_t)made - from_movable, "pages outside movable areas are pinned in place");
	check(m, "after long-term pins");
	vcma_model_free(m);
}

static void test_contig_undo(void)
{
	struct vcma_model *m = model("mixed", NULL);
	uint64_t nb = vcma_model_nr_pages(m) / 512, b, start, fails = 0, oks = 0, changed = 0;
	uint32_t *mt = calloc(nb, sizeof(*mt));
	struct vcma_evac_result res;

	vcma_model_step(m, 20);
	for (start = 1024; start + 2048 <= vcma_model_nr_pages(m); start += 2048 * 7) {
		for (b = 0; b < nb; b++)
			mt[b] = vcma_model_pageblock_mt(m, b * 512);
		if (vcma_model_alloc_contig_range(m, start, 2048, &res)) {
			fails++;
			for (b = 0; b < nb; b++)
				changed += mt[b] != vcma_model_pageblock_mt(m, b * 512) &&
					   b >= start / 512 && b < (start + 2048) / 512;
		} else {
			oks++;
			for (b = start / 512; b < (start + 2048) / 512; b++)
				changed += vcma_model_pageblock_mt(m, b * 512) == VCMA_MT_ISOLATE;
			vcma_model_free_contig_range(m, start, 2048);
		}
	}
	tap_ok(fails > 0 && oks > 0, "%llu ranges failed and %llu succeeded", (unsigned long long)fails,
	       (unsigned long long)oks);
	tap_ok(!changed, "every pageblock of a failed range got its migratetype back; none stays isolated");
	check(m, "after contiguous allocations");
	free(mt);
	vcma_model_free(m);
}

static void test_buddy(void)
{
	struct vcma_model *m = model("mixed", NULL);
	struct vcma_model_stats st;
	struct vcma_evac_result res;
	uint64_t free0, free1, total0, total1, start;

	vcma_model_get_stats(m, &st);
	tap_ok(st.steals > 0, "filling memory made unmovable allocations steal pageblocks (%llu)",
	       (unsigned long long)st.steals);
	check(m, "after fill");
	vcma_model_set_workload(m, 0);
	vcma_model_lru_add_drain_all(m);
	vcma_model_meminfo(m, &total0, &free0, NULL);
	for (start = vcma_model_nr_pages(m) - 4096; start > 4096; start -= 4096)
		if (!vcma_model_alloc_contig_range(m, start, 1024, &res))
			break;
	vcma_model_meminfo(m, &total1, &free1, NULL);
	tap_ok(total1 == total0 && free1 == free0 - 1024, "a claimed range leaves the free pages, migration conserves the rest");
	vcma_model_free_contig_range(m, start, 1024);
	vcma_model_meminfo(m, NULL, &free1, NULL);
	tap_ok(free1 == free0, "freeing it gives every page back");
	check(m, "after claim and free");
	vcma_model_free(m);
}

static void test_writeback(void)
{
	struct vcma_model *m = model("idle", NULL);
	uint64_t j, moved, t0;

	vcma_model_set_workload(m, 0);
	j = lru_page(m, VCMA_MPT_FILE, VCMA_MPF_JOURNAL | VCMA_MPF_DIRTY);
	tap_ok(cls(m, j) == VCMA_PC_DIRTY, "a dirty page reads as dirty");
	t0 = vcma_model_now_us(m);
	tap_ok(vcma_model_migrate_page(m, j, &moved) == -11 && cls(m, j) == VCMA_PC_WRITEBACK,
	       "a dirty fallback-path page is written out first (-EAGAIN)");
	vcma_model_lru_add_drain_all(m);
	tap_ok(!vcma_model_migrate_page(m, j, &moved) && page(m, moved).type == VCMA_MPT_FILE &&
	       !(page(m, moved).flags & VCMA_MPF_DIRTY) &&
	       vcma_model_now_us(m) - t0 >= vcma_model_get_scenario(m)->writeback_us,
	       "the next pass waits for the writeback, then migrates it");
	j = lru_page(m, VCMA_MPT_SHMEM, VCMA_MPF_DIRTY);
	tap_ok(!vcma_model_migrate_page(m, j, &moved) && (page(m, moved).flags & VCMA_MPF_DIRTY),
	       "a dirty page with a migratepage callback moves dirty");
	j = lru_page(m, VCMA_MPT_FILE, 0);
	vcma_model_set_dirty(m, j, 1);
	tap_ok(cls(m, j) == VCMA_PC_WRITEBACK, "a page under writeback reads as writeback");
	vcma_model_step(m, 5);
	tap_ok(cls(m, j) == VCMA_PC_LRU_FILE, "writeback ends after its time");
	check(m, "after writeback");
	vcma_model_free(m);
}

static void test_zone_cma(void)
{
	struct vcma_model *z = model("fileserver", "movable_pct = 0\ncma_mode = zone\ncma_pct = 15\nfill_pct = 90");
	struct vcma_model *t = model("fileserver", "movable_pct = 0\ncma_mode = migratetype\ncma_pct = 15\nfill_pct = 90");
	uint64_t pfn, bdev_zone = 0, user_zone = 0, bdev_mt = 0;

	vcma_model_step(z, 100);
	vcma_model_step(t, 100);
	for (pfn = 0; pfn < vcma_model_nr_pages(z); pfn++) {
		struct vcma_model_page p = page(z, pfn), q = page(t, pfn);

		if (p.zone_type == VCMA_ZT_CMA) {
			bdev_zone += p.type == VCMA_MPT_BDEV;
			user_zone += p.type == VCMA_MPT_ANON || p.type == VCMA_MPT_FILE;
		}
		bdev_mt += q.migratetype == VCMA_MT_CMA && q.type == VCMA_MPT_BDEV;
	}
	tap_ok(user_zone > 1000 && !bdev_zone, "ZONE_CMA holds %llu user pages and no block-device cache",
	       (unsigned long long)user_zone);
	tap_ok(bdev_mt > 0, "MIGRATE_CMA pageblocks do take block-device cache (%llu pages)",
	       (unsigned long long)bdev_mt);
	check(z, "with ZONE_CMA");
	check(t, "with MIGRATE_CMA");
	vcma_model_free(z);
	vcma_model_free(t);
}

static uint64_t state_hash(struct vcma_model *m)
{
	uint64_t h = 1469598103934665603ull, pfn;

	for (pfn = 0; pfn < vcma_model_nr_pages(m); pfn++) {
		struct vcma_model_page p = page(m, pfn);

		h = (h ^ (p.type | (uint64_t)p.token << 8 | (uint64_t)p.ref << 40)) * 1099511628211ull;
	}
	return h;
}

static void test_determinism(void)
{
	struct vcma_model *a = model("mixed", NULL), *b = model("mixed", NULL);
	struct vcma_model *c = model("mixed", "seed = 2");

	vcma_model_step(a, 50);
	vcma_model_step(b, 50);
	vcma_model_step(c, 50);
	tap_ok(state_hash(a) == state_hash(b), "same seed, same state after 50 ticks");
	tap_ok(state_hash(a) != state_hash(c), "another seed, another state");
	vcma_model_free(a);
	vcma_model_free(b);
	vcma_model_free(c);
}

static void test_conservation(void)
{
	struct vcma_model *m = model("pinned", "mix_file_journal = 10\nbh_access = 100");
	const struct vcma_backend_ops *ops;
	struct vcma_evac_result res;
	uint64_t total0, total, start;
	int i, bad = 0;
	char err[160];
	void *ctx;

	vcma_model_backend(m, &ops, &ctx);
	vcma_model_meminfo(m, &total0, NULL, NULL);
	for (i = 0; i < 20; i++) {
		start = 1024 + (uint64_t)i * 2048 * 3;
		if (!ops->evacuate(ctx, start, 1024, 0, &res))
			ops->release(ctx, start, 1024);
		ops->invalidate_bh_lrus(ctx);
		vcma_model_step(m, 3);
		vcma_model_meminfo(m, &total, NULL, NULL);
		if (total != total0 || vcma_model_check(m, err, sizeof(err))) {
			tap_diag("round %d: %s", i, err);
			bad++;
		}
	}
	tap_ok(!bad, "total pages and every invariant conserved over 20 rounds of mixed operations");
	vcma_model_free(m);
}

static void test_scenarios(const char *dir)
{
	static const char *const files[] = { "launch.scn", "fileserver.scn", "zone-cma.scn", "pinned.scn" };
	struct vcma_model_scenario sc;
	char path[512], err[160];
	unsigned int i;
	int ok = 1;

	for (i = 0; i < sizeof(files) / sizeof(files[0]); i++) {
		snprintf(path, sizeof(path), "%s/%s", dir, files[i]);
		vcma_model_preset(NULL, &sc);
		if (vcma_model_scenario_load_file(&sc, path, err, sizeof(err))) {
			tap_diag("%s", err);
			ok = 0;
		}
	}
	tap_ok(ok, "the shipped scenario files parse");
	vcma_model_preset(NULL, &sc);
	tap_ok(vcma_model_scenario_load(&sc, "mem_mib = 12x", err, sizeof(err)) && strstr(err, "line 1"),
	       "a bad value is refused with its line (%s)", err);
	tap_ok(vcma_model_scenario_load(&sc, "\n# c\nfrobnicate = 1", err, sizeof(err)) && strstr(err, "line 3"),
	       "an unknown key is refused (%s)", err);
	tap_ok(vcma_model_scenario_load(&sc, "cpus = 2\npreset = idle", err, sizeof(err)) != 0,
	       "preset must come first");
	tap_ok(!vcma_model_scenario_load(&sc, "preset = launch\ncma_mode = zone\npagevec_disable = off", err, sizeof(err)) &&
	       sc.cma_mode == VCMA_MODEL_CMA_ZONE && !sc.pagevec_disable && sc.cpus == 8,
	       "preset, names and switches apply");
	sc.cpus = 0;
	tap_ok(!vcma_model_new_scenario(&sc, err, sizeof(err)) && strstr(err, "cpus"),
	       "an invalid scenario is refused (%s)", err);
}

int main(int argc, char **argv)
{
	static const struct { const char *name; void (*fn)(void); } tests[] = {
		{ "pagevec", test_pagevec }, { "lru-disable", test_lru_disable_nesting },
		{ "bh-lru", test_bh_lru }, { "pins", test_pins }, { "no-pin-missed", test_no_pin_missed },
		{ "longterm", test_longterm }, { "contig-undo", test_contig_undo },
		{ "buddy", test_buddy }, { "writeback", test_writeback }, { "zone-cma", test_zone_cma },
		{ "determinism", test_determinism }, { "conservation", test_conservation },
	};
	unsigned int i;

	if (argc == 3 && !strcmp(argv[1], "scenarios")) {
		test_scenarios(argv[2]);
		return tap_done();
	}
	for (i = 0; i < sizeof(tests) / sizeof(tests[0]); i++)
		if (argc == 2 && !strcmp(argv[1], tests[i].name)) {
			tests[i].fn();
			return tap_done();
		}
	fprintf(stderr, "usage: %s <mechanism> | scenarios <dir>\n", argv[0]);
	return 2;
}
