// SPDX-License-Identifier: GPL-2.0-only OR MIT
/*
 * The mm core running on the model (suite 'model'), one behaviour per
 * invocation (test-core-model <case>): pins avoided and never migrated,
 * long-term pins routed around, the pin policy against virtual time,
 * deadlines, the safety floor, release, balloon chunks, re-planning and
 * the sliding scan on a guest that changes under the core, and the planner
 * against the naive first-fit strategy on the same workload.
 */
#include <string.h>

#include "model_test_util.h"

#define MIB (1ull << 20)

struct rig {
	struct vcma_model *m;
	struct vcma_core *c;
};

static struct rig rig(const char *preset, const char *text, uint32_t strategy,
		      uint64_t floor_pages, uint32_t max_backoff_ms)
{
	struct vcma_core_config cfg = { .strategy = strategy, .floor_pages = floor_pages,
					.max_grants = 4096, .max_backoff_ms = max_backoff_ms };
	const struct vcma_backend_ops *ops;
	struct rig r;
	void *ctx;

	r.m = test_model(preset, 256, text);
	vcma_model_backend(r.m, &ops, &ctx);
	r.c = vcma_core_new(ops, ctx, &cfg);
	if (!r.c)
		exit(1);
	return r;
}

static void rig_done(struct rig *r, const char *what)
{
	char err[160] = "";

	vcma_core_free(r->c);
	tap_ok(!vcma_model_check(r->m, err, sizeof(err)), "model invariants hold after %s %s", what, err);
	vcma_model_free(r->m);
}

static int reserve(struct rig *r, uint64_t size, uint32_t flags, uint32_t deadline_ms,
		   struct vcma_grant *g, struct vcma_core_evidence *ev)
{
	struct vcma_core_request q = { .size = size, .flags = flags, .deadline_ms = deadline_ms,
				       .node = VCMA_CORE_NODE_ANY };

	return vcma_core_reserve(r->c, &q, g, ev);
}

struct pinned_page {
	uint64_t pfn;
	uint32_t token;
};

/* Record every page with a live FOLL_PIN; returns how many (<= max). */
static size_t pinned_pages(struct vcma_model *m, struct pinned_page *out, size_t max)
{
	struct vcma_model_page p;
	uint64_t pfn;
	size_t n = 0;

	for (pfn = 0; pfn < vcma_model_nr_pages(m) && n < max; pfn++) {
		vcma_model_page_get(m, pfn, &p);
		if (p.pins) {
			out[n].pfn = pfn;
			out[n++].token = p.token;
		}
	}
	return n;
}

static size_t pins_moved(struct vcma_model *m, const struct pinned_page *pp, size_t n)
{
	struct vcma_model_page p;
	size_t i, moved = 0;

	for (i = 0; i < n; i++) {
		vcma_model_page_get(m, pp[i].pfn, &p);
		moved += !p.pins || p.token != pp[i].token;
	}
	return moved;
}

/* Long-lived pins only, so every recorded pin is still live at the end. */
static void test_pins(uint32_t strategy, const char *name)
{
	struct rig r = rig("pinned", "mem_mib = 512\nshort_pins = 0\ngup_refs = 0\nlong_pins = 100\n"
			   "long_pins_inplace = 100", strategy, 0, 0);
	static struct pinned_page pp[4096];
	struct vcma_core_evidence ev;
	struct vcma_core_stats st;
	struct vcma_grant g[8];
	size_t n, i, ok = 0, held = 0;

	vcma_model_step(r.m, 10);
	n = pinned_pages(r.m, pp, 4096);
	for (i = 0; i < 40; i++) {
		if (!reserve(&r, 2 * MIB, 0, 0, &g[held], &ev)) {
			ok++;
			held++;
		}
		if (held == 8)
			while (held)
				vcma_core_release(r.c, g[--held].id);
		vcma_model_step(r.m, 2);
	}
	vcma_core_get_stats(r.c, &st);
	tap_diag("%s: %zu pins, %zu/40 granted, %llu ranges tried, pinned met %llu, pages migrated %llu",
		 name, n, ok, (unsigned long long)st.ranges_tried, (unsigned long long)st.pinned_met,
		 (unsigned long long)st.pages_migrated);
	tap_ok(n > 80 && ok == 40, "%s: 40 of 40 reservations succeed among %zu pinned pages", name, n);
	tap_ok(!pins_moved(r.m, pp, n), "%s: no FOLL_PIN page moved or lost its data", name);
	if (strategy == VCMA_STRATEGY_PLANNER)
		tap_ok(st.ranges_tried == 40, "planner: no evacuation wasted on a pinned window");
	rig_done(&r, name);
}

static void test_longterm(void)
{
	struct rig r = rig("pinned", "movable_pct = 0\nlong_pins = 200\nlong_pins_inplace = 100\nfill_pct = 80",
			   VCMA_STRATEGY_PLANNER, 0, 0);
	struct vcma_core_evidence ev;
	struct vcma_grant g;
	static struct pinned_page pins[4096];
	int ok = 0, i, fails_pinned = 0;

	vcma_model_step(r.m, 20);
	tap_ok(pinned_pages(r.m, pins, 4096) > 60, "pins are in place");
	for (i = 0; i < 30; i++) {
		if (!reserve(&r, 2 * MIB, VCMA_CORE_FAIL_FAST, 0, &g, &ev)) {
			ok++;
			if (i % 2)
				vcma_core_release(r.c, g.id);
		} else {
			tap_diag("request %d: %s", i, vcma_core_cause_name(ev.cause));
			fails_pinned += ev.cause == VCMA_CORE_CAUSE_PINNED;
		}
	}
	tap_ok(ok == 30, "with long-term pins spread over memory, 30 of 30 reservations routed around them (%d)", ok);
	tap_ok(!fails_pinned, "none failed on a pin");
	rig_done(&r, "long-term pins");
}

/* Movable zone of 4 MiB: two 2 MiB windows, each given one pinned page. */
static struct rig pin_both_windows(uint64_t lifetime_us, int64_t *pins)
{
	struct rig r = rig("idle", "movable_pct = 2\nfill_pct = 60", VCMA_STRATEGY_PLANNER, 0, 10);
	struct vcma_model_page p;
	uint64_t pfn, n = vcma_model_nr_pages(r.m);
	int w = 0;

	vcma_model_set_workload(r.m, 0);
	vcma_model_lru_add_drain_all(r.m);
	for (pfn = n - 1024; pfn < n && w < 2; pfn++) {
		if (pfn < n - 1024 + (uint64_t)w * 512)
			continue;
		vcma_model_page_get(r.m, pfn, &p);
		if (p.type == VCMA_MPT_ANON && (p.flags & VCMA_MPF_LRU)) {
			pins[w] = vcma_model_pin(r.m, pfn, VCMA_PIN_FOLL_PIN, lifetime_us);
			w += pins[w] > 0;
		}
	}
	if (w != 2) {
		tap_diag("could not pin both movable windows");
		exit(1);
	}
	return r;
}

static void test_wait_pins(void)
{
	struct vcma_core_evidence ev;
	struct vcma_grant g;
	int64_t pins[2];
	struct rig r = pin_both_windows(5000, pins);
	uint64_t t0 = vcma_model_now_us(r.m);
	int err;

	err = reserve(&r, 2 * MIB, VCMA_CORE_FAIL_FAST | VCMA_CORE_MOVABLE_ONLY, 200, &g, &ev);
	tap_ok(err == -VCMA_EBUSY && ev.cause == VCMA_CORE_CAUSE_PINNED && ev.elapsed_us < 1000 &&
	       ev.pinned_met >= 1, "FAIL_FAST: short pins fail at once with cause pinned (%llu us)",
	       (unsigned long long)ev.elapsed_us);
	err = reserve(&r, 2 * MIB, VCMA_CORE_WAIT_PINS | VCMA_CORE_MOVABLE_ONLY, 200, &g, &ev);
	tap_ok(!err && ev.retries > 0 && vcma_model_now_us(r.m) - t0 >= 4000 && ev.elapsed_us <= 200000,
	       "WAIT_PINS: short pins are waited out with backoff (%u waits, %llu us)", ev.retries,
	       (unsigned long long)ev.elapsed_us);
	rig_done(&r, "waiting out short pins");

	r = pin_both_windows(0, pins);
	err = reserve(&r, 2 * MIB, VCMA_CORE_WAIT_PINS | VCMA_CORE_MOVABLE_ONLY, 300, &g, &ev);
	tap_ok(err == -VCMA_EBUSY && ev.cause == VCMA_CORE_CAUSE_PINNED && ev.elapsed_us <= 300000 &&
	       ev.elapsed_us >= 2 * 40000, "WAIT_PINS: a pin outliving the backoff counts as long-term (%llu us)",
	       (unsigned long long)ev.elapsed_us);
	err = reserve(&r, 2 * MIB, VCMA_CORE_WAIT_PINS | VCMA_CORE_MOVABLE_ONLY, 300, &g, &ev);
	tap_ok(err == -VCMA_EBUSY && ev.elapsed_us < 1000,
	       "known long-term pins are not waited on again (%llu us)", (unsigned long long)ev.elapsed_us);
	err = reserve(&r, 2 * MIB, VCMA_CORE_WAIT_PINS | VCMA_CORE_MOVABLE_ONLY, 30, &g, &ev);
	vcma_model_unpin(r.m, pins[0]);
	vcma_model_unpin(r.m, pins[1]);
	tap_ok(!reserve(&r, 2 * MIB, VCMA_CORE_MOVABLE_ONLY, 0, &g, &ev), "unpinned, the window is granted");
	rig_done(&r, "long-term pins in the only windows");
}

static void test_deadline(void)
{
	struct rig r = rig("pinned", "mem_mib = 512\nfill_pct = 90\nshort_pins = 200\nshort_pin_us = 20000",
			   VCMA_STRATEGY_PLANNER, 0, 0);
	struct vcma_core_evidence ev;
	struct vcma_grant g;
	uint64_t worst = 0;
	int i, late = 0;

	for (i = 0; i < 40; i++) {
		reserve(&r, 8 * MIB, VCMA_CORE_WAIT_PINS, 5, &g, &ev);
		if (ev.elapsed_us > worst)
			worst = ev.elapsed_us;
		/* A step already running (one alloc_contig_range) may finish late. */
		late += ev.elapsed_us > 5000 + 50000;
		vcma_model_step(r.m, 1);
	}
	tap_ok(!late, "40 requests with a 5 ms deadline returned in virtual time (worst %llu us)",
	       (unsigned long long)worst);
	rig_done(&r, "deadlines");
}

static void test_floor(void)
{
	uint64_t avail;
	struct rig r = rig("mixed", NULL, VCMA_STRATEGY_PLANNER, 0, 0);
	struct vcma_core_evidence ev;
	struct vcma_core_stats st;
	struct vcma_grant g;
	int err;

	vcma_core_free(r.c);
	vcma_model_set_workload(r.m, 0);
	vcma_model_meminfo(r.m, NULL, NULL, &avail);
	{
		const struct vcma_backend_ops *ops;
		struct vcma_core_config cfg = { .floor_pages = avail - 1000 };
		void *ctx;

		vcma_model_backend(r.m, &ops, &ctx);
		r.c = vcma_core_new(ops, ctx, &cfg);
	}
	err = reserve(&r, 8 * MIB, 0, 0, &g, &ev);
	vcma_core_get_stats(r.c, &st);
	tap_ok(err == -VCMA_ENOSPC && ev.cause == VCMA_CORE_CAUSE_FLOOR && !ev.pages_migrated &&
	       st.fail_by_cause[VCMA_CORE_CAUSE_FLOOR] == 1 && !st.grants,
	       "a request crossing the floor is refused with cause floor, nothing moved");
	tap_ok(!reserve(&r, 2 * MIB, 0, 0, &g, &ev), "a request that fits above the floor is granted");
	rig_done(&r, "the floor");
}

static void test_release(void)
{
	struct rig r = rig("mixed", NULL, VCMA_STRATEGY_PLANNER, 0, 0);
	uint64_t free0, free1, free2, total0, total2;
	struct vcma_core_evidence ev;
	struct vcma_grant g[4];
	int i, ok = 1;

	vcma_model_set_workload(r.m, 0);
	vcma_model_meminfo(r.m, &total0, &free0, NULL);
	for (i = 0; i < 4; i++)
		ok &= !reserve(&r, 16 * MIB, 0, 0, &g[i], &ev);
	vcma_model_meminfo(r.m, NULL, &free1, NULL);
	tap_ok(ok && free1 == free0 - 4 * 4096, "4 x 16 MiB granted: free pages drop by exactly 16384");
	for (i = 0; i < 4; i++)
		ok &= !vcma_core_release(r.c, g[i].id);
	vcma_model_meminfo(r.m, &total2, &free2, NULL);
	tap_ok(ok && free2 == free0 && total2 == total0, "released: every page is back (%llu = %llu)",
	       (unsigned long long)free2, (unsigned long long)free0);
	rig_done(&r, "release");
}

static void test_balloon(void)
{
	struct rig r = rig("idle", NULL, VCMA_STRATEGY_PLANNER, 20000, 0);
	static vcma_u64 pfns[256], back[256];
	struct vcma_core_stats st;
	uint64_t avail, free0, free1;
	vcma_u32 cause;
	int n, d, i, aligned = 1;

	vcma_model_set_workload(r.m, 0);
	vcma_model_meminfo(r.m, NULL, &free0, NULL);
	n = vcma_core_balloon_inflate(r.c, 9, 256, pfns, &cause);
	vcma_model_meminfo(r.m, NULL, NULL, &avail);
	vcma_core_get_stats(r.c, &st);
	for (i = 0; i < n; i++)
		aligned &= !(pfns[i] % 512);
	tap_ok(n > 10 && n < 256 && cause == VCMA_CORE_CAUSE_FLOOR && avail >= 20000,
	       "inflate took %d aligned 2 MiB chunks and stopped at the floor", n);
	tap_ok(aligned && st.balloon_pages == (uint64_t)n * 512 && st.grants == (uint64_t)n,
	       "each chunk is an aligned balloon grant");
	d = vcma_core_balloon_deflate(r.c, 9, 256, back);
	vcma_core_get_stats(r.c, &st);
	vcma_model_meminfo(r.m, NULL, &free1, NULL);
	tap_ok(d == n && !st.grants && !st.balloon_pages && free1 == free0,
	       "deflate gave all %d chunks back", d);
	rig_done(&r, "balloon");
}

/*
 * Free blocks first: on a fragmented guest, inflating one chunk at a time
 * takes every free pageblock (but what the zones' watermarks keep) before
 * the first evacuation, with no alloc_contig_range call and nothing
 * migrated, and never a free block after evacuating began. A core whose
 * backend has no take_free evacuates the same chunks instead, and one
 * inflate call of the same size does what the single steps did.
 */
struct ff_rig {
	struct vcma_model *m;
	struct vcma_core *c;
	struct vcma_backend_ops ops;
};

#define FF_HOLES	24

static void ff_rig(struct ff_rig *r, int with_take_free)
{
	struct vcma_core_config cfg = { .floor_pages = 2048, .max_grants = 4096 };
	const struct vcma_backend_ops *ops;
	void *ctx;

	struct vcma_core_request q = { .size = 2 * MIB, .node = VCMA_CORE_NODE_ANY };
	struct vcma_grant g[FF_HOLES];
	int i, n = 0;

	/* An aged guest (free pages scattered, no free pageblock) that ran on. */
	r->m = test_model("mixed", 256, "fill_pct = 50\nseed = 7\n");
	vcma_model_step(r->m, 1000);
	vcma_model_set_workload(r->m, 0);
	vcma_model_backend(r->m, &ops, &ctx);
	r->ops = *ops;
	if (!with_take_free)
		r->ops.take_free = NULL;
	r->c = vcma_core_new(&r->ops, ctx, &cfg);
	if (!r->c)
		exit(1);
	/* Free pageblocks among the used ones: evacuate some windows and free them. */
	for (i = 0; i < FF_HOLES; i++)
		if (!vcma_core_reserve(r->c, &q, &g[n], NULL))
			n++;
	while (n--)
		vcma_core_release(r->c, g[n].id);
}

/* Fully free pageblocks, and how many the zones' low watermarks may keep back. */
static uint64_t ff_free_blocks(struct ff_rig *r, uint64_t *kept)
{
	struct vcma_zone_span z[8];
	struct vcma_range_summary s;
	uint64_t pfn, n = 0;
	int i, nz = r->ops.zones(r->m, z, 8);

	*kept = 0;
	for (i = 0; i < nz; i++) {
		/* The model's low watermark is 1/128 of the zone; one block more may not fit. */
		*kept += (z[i].end_pfn - z[i].start_pfn) / 128 / 512 + 1;
		pfn = (z[i].start_pfn + 511) & ~511ull;
		for (; pfn + 512 <= z[i].end_pfn; pfn += 512) {
			vcma_model_summarize(r->m, pfn, 512, &s);
			n += s.count[VCMA_PC_FREE] == 512;
		}
	}
	return n;
}

static void ff_done(struct ff_rig *r, const char *what)
{
	struct rig plain = { r->m, r->c };

	rig_done(&plain, what);
}

static void test_balloon_free_first(void)
{
	struct ff_rig r, ctl, one;
	struct vcma_core_stats st0, st1;
	struct vcma_model_stats ms0, ms1;
	static vcma_u64 pfns[512], back[512];
	uint64_t blocks, kept, left_at_evac = 0, free0, free1;
	int i, n, k = -1, steps = 0, free_clean = 1, none_after = 1, migrated_after = 0;
	vcma_u32 cause;

	ff_rig(&r, 1);
	blocks = ff_free_blocks(&r, &kept);
	vcma_model_meminfo(r.m, NULL, &free0, NULL);
	tap_diag("%llu fully free pageblocks, up to %llu kept by watermarks",
		 (unsigned long long)blocks, (unsigned long long)kept);
	for (i = 0; i < (int)blocks + 16; i++) {
		vcma_core_get_stats(r.c, &st0);
		vcma_model_get_stats(r.m, &ms0);
		if (k < 0)
			left_at_evac = ff_free_blocks(&r, &kept);
		n = vcma_core_balloon_inflate(r.c, 9, 1, &pfns[i], &cause);
		if (n != 1)
			break;
		steps++;
		vcma_core_get_stats(r.c, &st1);
		vcma_model_get_stats(r.m, &ms1);
		if (st1.balloon_free_taken == st0.balloon_free_taken + 1) {
			free_clean &= ms1.contig_ok == ms0.contig_ok &&
				      st1.pages_migrated == st0.pages_migrated;
			none_after &= k < 0;
		} else if (k < 0) {
			k = i;
		}
		if (k >= 0)
			migrated_after |= st1.pages_migrated > st0.pages_migrated;
	}
	tap_diag("%d chunks: the first %d free, then evacuated; %llu free blocks left then",
		 steps, k, (unsigned long long)left_at_evac);
	tap_ok(k > 0 && (uint64_t)k + kept >= blocks && free_clean,
	       "the first %d chunks were free blocks (of %llu): no contig range, nothing migrated",
	       k, (unsigned long long)blocks);
	tap_ok(k > 0 && left_at_evac <= kept && none_after && steps > k,
	       "evacuation began with no free block left but the watermarks' (%llu <= %llu), "
	       "and took no free block after",
	       (unsigned long long)left_at_evac, (unsigned long long)kept);
	tap_ok(migrated_after, "the chunks after that were evacuated (pages migrated)");

	ff_rig(&ctl, 0);
	vcma_model_get_stats(ctl.m, &ms0);
	n = vcma_core_balloon_inflate(ctl.c, 9, k > 0 ? (vcma_u32)k : 1, pfns, &cause);
	vcma_core_get_stats(ctl.c, &st1);
	vcma_model_get_stats(ctl.m, &ms1);
	tap_ok(n == k && !st1.balloon_free_taken && ms1.contig_ok - ms0.contig_ok >= (uint64_t)n,
	       "without take_free the same %d chunks each cost an alloc_contig_range (%llu calls)",
	       n, (unsigned long long)(ms1.contig_ok - ms0.contig_ok));
	ff_done(&ctl, "balloon without take_free");

	ff_rig(&one, 1);
	n = vcma_core_balloon_inflate(one.c, 9, (vcma_u32)steps, pfns, &cause);
	vcma_core_get_stats(one.c, &st1);
	tap_ok(n == steps && st1.balloon_free_taken == (uint64_t)k &&
	       st1.balloon_inflated == (uint64_t)n,
	       "one inflate of %d chunks (free blocks in batches, then evacuation) took %llu free too",
	       n, (unsigned long long)st1.balloon_free_taken);
	ff_done(&one, "one-call inflate");

	n = vcma_core_balloon_deflate(r.c, 9, 512, back);
	vcma_core_get_stats(r.c, &st1);
	vcma_model_meminfo(r.m, NULL, &free1, NULL);
	tap_ok(n == steps && !st1.balloon_pages && free1 >= free0,
	       "deflate gave every chunk back (%d), free pages %llu -> %llu",
	       n, (unsigned long long)free0, (unsigned long long)free1);
	ff_done(&r, "balloon free-first");
}

static void run_strategy(uint32_t strategy, uint64_t *ok, uint64_t *migrated, uint64_t *tried)
{
	struct rig r = rig("mixed", "fill_pct = 85\nlong_pins_inplace = 60\nshort_pins = 10",
			   strategy, 0, 0);
	struct vcma_core_evidence ev;
	struct vcma_core_stats st;
	struct vcma_grant g[64];
	int i, n = 0;

	for (i = 0; i < 60; i++) {
		if (!reserve(&r, 4 * MIB, VCMA_CORE_FAIL_FAST, 0, &g[n], &ev))
			n++;
		if (n > 4)
			vcma_core_release(r.c, g[--n].id);
		vcma_model_step(r.m, 2);
	}
	vcma_core_get_stats(r.c, &st);
	*ok = st.reserve_ok;
	*migrated = st.pages_migrated;
	*tried = st.ranges_tried;
	rig_done(&r, strategy ? "naive" : "planner");
}

/* Ground truth: does any aligned window of nr pages ending at or below limit_pfn have nothing in the way? */
static int oracle_below(struct rig *r, uint64_t nr, uint64_t limit_pfn)
{
	const struct vcma_backend_ops *ops;
	struct vcma_zone_span zs[8];
	uint64_t pfn, end, cost;
	void *ctx;
	int i, n;

	vcma_model_backend(r->m, &ops, &ctx);
	n = ops->zones(ctx, zs, 8);
	for (i = 0; i < n; i++) {
		end = zs[i].end_pfn < limit_pfn ? zs[i].end_pfn : limit_pfn;
		for (pfn = (zs[i].start_pfn + nr - 1) & ~(nr - 1); pfn + nr <= end; pfn += nr)
			if (vcma_model_window_truth(r->m, pfn, nr, &cost))
				return 1;
	}
	return 0;
}

/*
 * Address limits on a busy, pinned, 85% full guest: every grant ends at or
 * below its limit under both strategies, no pinned page moves, and the
 * planner gets a grant exactly when a feasible window exists below the
 * limit (the oracle looks at the state the request meets).
 */
static void run_addr_limits(uint32_t strategy, const char *name)
{
	static const uint64_t limits[] = { 32 * MIB, 64 * MIB, 128 * MIB, 160 * MIB, 256 * MIB };
	static const uint64_t sizes[] = { 2 * MIB, 4 * MIB, 8 * MIB, 16 * MIB };
	struct rig r = rig("mixed", "fill_pct = 92\nlong_pins_inplace = 400\nshort_pins = 0",
			   strategy, 0, 0);
	static struct pinned_page pp[4096];
	struct vcma_core_request q = { .node = VCMA_CORE_NODE_ANY };
	struct vcma_core_evidence ev;
	struct vcma_grant g;
	unsigned int i, reqs = 0, ok = 0, feasible = 0, agree = 0, below = 1;
	size_t n;

	vcma_model_step(r.m, 10);
	n = pinned_pages(r.m, pp, 4096);
	for (i = 0; i < 60; i++) {
		int f, granted;

		q.size = sizes[i % 4];
		q.max_addr = limits[(i / 4) % 5];
		f = oracle_below(&r, q.size / 4096, q.max_addr / 4096);
		granted = !vcma_core_reserve(r.c, &q, &g, &ev);
		feasible += f;
		ok += granted;
		agree += granted == f;
		if (granted) {
			below &= (g.start_pfn + g.nr_pages) * 4096 <= q.max_addr;
			vcma_core_release(r.c, g.id);
		}
		reqs++;
		vcma_model_step(r.m, 1);
	}
	tap_diag("%s: %u requests, %u granted, %u feasible below the limit by the oracle",
		 name, reqs, ok, feasible);
	tap_ok(ok > 0 && below, "%s: every one of %u grants ends at or below its limit", name, ok);
	tap_ok(!pins_moved(r.m, pp, n), "%s: no FOLL_PIN page among %zu moved", name, n);
	if (strategy == VCMA_STRATEGY_PLANNER)
		tap_ok(agree == reqs,
		       "planner: granted exactly when the oracle finds a window below the limit (%u/%u)",
		       agree, reqs);
	rig_done(&r, name);
}

static void test_addr_limit(void)
{
	run_addr_limits(VCMA_STRATEGY_PLANNER, "planner");
	run_addr_limits(VCMA_STRATEGY_NAIVE, "naive");
}

static void test_naive_vs_planner(void)
{
	uint64_t pok, pmig, ptry, nok, nmig, ntry;

	run_strategy(VCMA_STRATEGY_PLANNER, &pok, &pmig, &ptry);
	run_strategy(VCMA_STRATEGY_NAIVE, &nok, &nmig, &ntry);
	tap_diag("planner: %llu ok, %llu migrated, %llu tries; naive: %llu ok, %llu migrated, %llu tries",
		 (unsigned long long)pok, (unsigned long long)pmig, (unsigned long long)ptry,
		 (unsigned long long)nok, (unsigned long long)nmig, (unsigned long long)ntry);
	tap_ok(pok >= nok, "the planner succeeds at least as often as first-fit");
	tap_ok(pmig < nmig, "the planner migrates fewer pages");
	tap_ok(ptry <= ntry, "and tries fewer ranges");
}

/*
 * A live guest around the core: the model's backend with hooks that change
 * the model while a request is under way. Blockers are single pages taken
 * with the model's alloc_contig_range (someone else's contiguous
 * allocation, classified owned): while one sits in a window, the window is
 * impossible.
 */
static struct live {
	const struct vcma_backend_ops *ops;	/* the model's own */
	struct vcma_model *m;
	uint64_t blockers[64];
	unsigned int nr_blockers;
	uint64_t free_at_us;	/* drop the blockers at this virtual time; 0: never */
	/*
	 * Flip flip_pfn (taken <-> free) once the scan has read the first
	 * window (ending at flip_after): on the first summarize call that
	 * reads a page again or reads past it.
	 */
	uint64_t flip_pfn, flip_after, seen_end;
	int flip_held, flipped;
} live;

static struct vcma_backend_ops live_ops;

static int take_page(uint64_t pfn)
{
	struct vcma_evac_result res;

	return vcma_model_alloc_contig_range(live.m, pfn, 1, &res);
}

static void drop_blockers(void)
{
	while (live.nr_blockers)
		vcma_model_free_contig_range(live.m, live.blockers[--live.nr_blockers], 1);
}

static int live_sleep(void *ctx, vcma_u64 us)
{
	int ret = live.ops->sleep_us(ctx, us);

	if (live.free_at_us && live.ops->now_us(ctx) >= live.free_at_us) {
		drop_blockers();
		live.free_at_us = 0;
	}
	return ret;
}

static void live_summarize(void *ctx, vcma_u64 pfn, vcma_u64 nr, struct vcma_range_summary *out)
{
	if (live.flip_after && !live.flipped &&
	    (pfn < live.seen_end || pfn >= live.flip_after)) {
		live.flipped = 1;
		if (live.flip_held)
			vcma_model_free_contig_range(live.m, live.flip_pfn, 1);
		else if (take_page(live.flip_pfn))
			tap_diag("could not take pfn %llu mid-scan", (unsigned long long)live.flip_pfn);
		live.flip_held = !live.flip_held;
	}
	if (pfn + nr > live.seen_end)
		live.seen_end = pfn + nr;
	live.ops->summarize(ctx, pfn, nr, out);
}

/* A quiet model with a ZONE_MOVABLE of movable_pct, the core on live_ops; *zone: that zone. */
static struct rig live_rig(const char *text, struct vcma_zone_span *zone)
{
	struct vcma_core_config cfg = { .max_grants = 64 };
	struct vcma_zone_span zs[8];
	struct rig r = rig("idle", text, VCMA_STRATEGY_PLANNER, 0, 0);
	void *ctx;
	int i, n;

	vcma_core_free(r.c);
	vcma_model_set_workload(r.m, 0);
	vcma_model_lru_add_drain_all(r.m);
	memset(&live, 0, sizeof(live));
	live.m = r.m;
	vcma_model_backend(r.m, &live.ops, &ctx);
	live_ops = *live.ops;
	live_ops.sleep_us = live_sleep;
	live_ops.summarize = live_summarize;
	r.c = vcma_core_new(&live_ops, ctx, &cfg);
	n = live.ops->zones(ctx, zs, 8);
	for (i = 0; i < n && zs[i].type != VCMA_ZT_MOVABLE; i++)
		;
	if (!r.c || i == n) {
		tap_diag("no core or no movable zone");
		exit(1);
	}
	*zone = zs[i];
	return r;
}

static int reserve_aligned(struct rig *r, uint64_t size, uint64_t align, uint32_t flags,
			   uint32_t deadline_ms, struct vcma_grant *g, struct vcma_core_evidence *ev)
{
	struct vcma_core_request q = { .size = size, .align = align, .flags = flags,
				       .deadline_ms = deadline_ms, .node = VCMA_CORE_NODE_ANY };

	return vcma_core_reserve(r->c, &q, g, ev);
}

/* One blocker in every 2 MiB window of the zone; nonzero when all were placed. */
static int block_every_window(const struct vcma_zone_span *z)
{
	uint64_t w;

	for (w = (z->start_pfn + 511) & ~511ull; w + 512 <= z->end_pfn; w += 512) {
		if (live.nr_blockers == 64 || take_page(w + 100))
			return 0;
		live.blockers[live.nr_blockers++] = w + 100;
	}
	return live.nr_blockers > 0;
}

/*
 * Re-planning: every 2 MiB window of ZONE_MOVABLE is blocked for 15 ms of
 * virtual time, less than the re-plan backoff (10 + 20 + 40 ms).
 */
static void test_replan(void)
{
	const uint32_t mo = VCMA_CORE_MOVABLE_ONLY;
	struct vcma_core_evidence ev;
	struct vcma_zone_span z;
	struct rig r = live_rig("movable_pct = 2\nfill_pct = 60", &z);
	struct vcma_grant g;
	uint64_t t0;
	int err;

	tap_ok(block_every_window(&z), "%u windows of ZONE_MOVABLE blocked", live.nr_blockers);
	err = reserve(&r, 2 * MIB, mo | VCMA_CORE_FAIL_FAST, 1000, &g, &ev);
	tap_ok(err == -VCMA_ENOMEM && ev.cause == VCMA_CORE_CAUSE_NO_RANGE && !ev.retries &&
	       !ev.elapsed_us, "FAIL_FAST: no feasible window is no_range at once (%u retries, %llu us)",
	       ev.retries, (unsigned long long)ev.elapsed_us);

	t0 = vcma_model_now_us(r.m);
	live.free_at_us = t0 + 15000;
	err = reserve(&r, 2 * MIB, mo, 1000, &g, &ev);
	tap_ok(!err && ev.retries >= 1 && ev.elapsed_us >= 15000 && ev.elapsed_us <= 70000,
	       "without FAIL_FAST the plan is made again and the window granted once the blockers left (%s, %u retries, %llu us)",
	       vcma_core_cause_name(ev.cause), ev.retries, (unsigned long long)ev.elapsed_us);
	if (!err)
		vcma_core_release(r.c, g.id);

	tap_ok(block_every_window(&z), "blocked again, for good");
	err = reserve(&r, 2 * MIB, mo, 1000, &g, &ev);
	tap_ok(err == -VCMA_ENOMEM && ev.cause == VCMA_CORE_CAUSE_NO_RANGE &&
	       ev.retries == 3 && ev.elapsed_us == 70000,
	       "a blockage that persists is no_range after 3 bounded re-plans (%u retries, %llu us)",
	       ev.retries, (unsigned long long)ev.elapsed_us);
	err = reserve(&r, 2 * MIB, mo, 25, &g, &ev);
	tap_ok(err == -VCMA_ENOMEM && ev.cause == VCMA_CORE_CAUSE_NO_RANGE && ev.elapsed_us <= 25000,
	       "the re-plan backoff keeps the deadline (%llu us of 25000)",
	       (unsigned long long)ev.elapsed_us);
	drop_blockers();
	err = reserve(&r, ((z.end_pfn - z.start_pfn) << 12) + 2 * MIB, mo, 1000, &g, &ev);
	tap_ok(err == -VCMA_ENOMEM && ev.cause == VCMA_CORE_CAUSE_NO_RANGE && !ev.retries &&
	       !ev.elapsed_us, "a request larger than the zone fails at once (%u retries, %llu us)",
	       ev.retries, (unsigned long long)ev.elapsed_us);
	rig_done(&r, "re-planning");
}

/*
 * The sliding scan over a live guest: a page of the zone's first pageblock
 * changes between the scan reading it (first window) and that pageblock
 * leaving the window. Every later window is free of it either way.
 */
static void test_slide(void)
{
	static const char *const what[2] = { "freed", "taken" };
	const uint32_t flags = VCMA_CORE_MOVABLE_ONLY | VCMA_CORE_FAIL_FAST;
	struct vcma_core_evidence ev;
	struct vcma_zone_span z;
	struct vcma_grant g;
	struct rig r;
	uint64_t first;
	int held, err;

	for (held = 1; held >= 0; held--) {
		r = live_rig("movable_pct = 25\nfill_pct = 60", &z);
		first = (z.start_pfn + 511) & ~511ull;
		live.flip_pfn = first + 7;
		live.flip_held = held;
		if (held && take_page(live.flip_pfn))
			tap_diag("could not take the first pageblock's page");
		/* 16 MiB windows that slide by 2 MiB. */
		live.flip_after = first + 16 * MIB / 4096;
		err = reserve_aligned(&r, 16 * MIB, 2 * MIB, flags, 1000, &g, &ev);
		tap_ok(!err && live.flipped &&
		       (live.flip_pfn < g.start_pfn || live.flip_pfn >= g.start_pfn + g.nr_pages),
		       "a page %s in a pageblock while the scan slides over it does not spoil the windows after it (%s, %u scanned, %u tried)",
		       what[held], vcma_core_cause_name(ev.cause), ev.ranges_scanned, ev.ranges_tried);
		if (!err)
			vcma_core_release(r.c, g.id);
		if (live.flip_held)
			vcma_model_free_contig_range(r.m, live.flip_pfn, 1);
		rig_done(&r, what[held]);
	}
}

/*
 * Exact evidence: the model moves every page a granted range held, so a
 * grant's pages migrated equal its pages in use before; a first-fit try on
 * a pinned window fails, counts as a failed attempt with its cause, and
 * leaves the pinned pages behind, counted as such.
 */
static void test_evidence(void)
{
	struct rig r = rig("pinned", "mem_mib = 512\nshort_pins = 0\ngup_refs = 0\nlong_pins = 100\n"
			   "long_pins_inplace = 100", VCMA_STRATEGY_NAIVE, 0, 0);
	struct vcma_core_evidence ev;
	struct vcma_grant g;
	uint32_t i, causes, fails = 0, moved_all = 1, exact = 1, pinned_left = 0, grants = 0;
	uint64_t migrated = 0;
	int k;

	vcma_model_step(r.m, 10);
	for (i = 0; i < 20; i++) {
		int err = reserve(&r, 2 * MIB, 0, 0, &g, &ev);

		exact &= ev.evac.exact && ev.evac.pieces >= ev.ranges_tried;
		for (causes = 0, k = 0; k < VCMA_CORE_NR_CAUSES; k++)
			causes += ev.attempt_cause[k];
		fails += ev.attempts_failed;
		exact &= causes == ev.attempts_failed &&
			 ev.attempts_failed == ev.ranges_tried - !err;
		pinned_left += ev.attempt_cause[VCMA_CORE_CAUSE_PINNED] ?
			       ev.evac.left[VCMA_LEFT_PINNED] > 0 : 0;
		if (err)
			continue;
		grants++;
		migrated += ev.pages_migrated;
		/* Failed attempts migrated some pages too: the sum covers them. */
		moved_all &= ev.pages_migrated <= ev.evac.pages_in_use;
		vcma_core_release(r.c, g.id);
		vcma_model_step(r.m, 2);
	}
	tap_diag("%u grants, %llu pages migrated, %u failed attempts", grants,
		 (unsigned long long)migrated, fails);
	tap_ok(grants == 20 && migrated > 0, "first-fit: 20 grants that had to migrate (%llu pages)",
	       (unsigned long long)migrated);
	tap_ok(exact, "every request's evidence is exact, pieces cover its tries, and each failed attempt has one cause");
	tap_ok(moved_all, "no request migrated more than its ranges held in use");
	tap_ok(fails > 0 && pinned_left > 0,
	       "first-fit met pinned windows: %u failed attempts, %u with pinned pages left counted",
	       fails, pinned_left);
	rig_done(&r, "evidence");
}

int main(int argc, char **argv)
{
	const char *t = argc == 2 ? argv[1] : "";

	if (!strcmp(t, "pins-planner"))
		test_pins(VCMA_STRATEGY_PLANNER, "planner");
	else if (!strcmp(t, "pins-naive"))
		test_pins(VCMA_STRATEGY_NAIVE, "naive");
	else if (!strcmp(t, "longterm"))
		test_longterm();
	else if (!strcmp(t, "wait-pins"))
		test_wait_pins();
	else if (!strcmp(t, "deadline"))
		test_deadline();
	else if (!strcmp(t, "floor"))
		test_floor();
	else if (!strcmp(t, "release"))
		test_release();
	else if (!strcmp(t, "balloon"))
		test_balloon();
	else if (!strcmp(t, "balloon-free-first"))
		test_balloon_free_first();
	else if (!strcmp(t, "replan"))
		test_replan();
	else if (!strcmp(t, "slide"))
		test_slide();
	else if (!strcmp(t, "addr-limit"))
		test_addr_limit();
	else if (!strcmp(t, "naive-vs-planner"))
		test_naive_vs_planner();
	else if (!strcmp(t, "evidence"))
		test_evidence();
	else {
		fprintf(stderr, "usage: %s <case>\n", argv[0]);
		return 2;
	}
	return tap_done();
}
