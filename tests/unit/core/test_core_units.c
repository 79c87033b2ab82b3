// SPDX-License-Identifier: GPL-2.0-only OR MIT
/*
 * Unit tests of the mm core's pieces: names, config and request validation,
 * alignment, window scoring, the grant table (ids, list, find, release,
 * limits, tags) and statistics. The backend is the real model (idle, no
 * background workload), not a fake.
 */
#include <string.h>

#include "core_priv.h"
#include "model_test_util.h"

#define MIB (1ull << 20)

static struct vcma_model *idle_model(uint64_t mem_mib)
{
	struct vcma_model *m = test_model("idle", mem_mib, NULL);

	vcma_model_set_workload(m, 0);
	return m;
}

static struct vcma_core *core_on(struct vcma_model *m, uint32_t max_grants)
{
	const struct vcma_backend_ops *ops;
	struct vcma_core_config cfg = { .max_grants = max_grants };
	void *ctx;

	vcma_model_backend(m, &ops, &ctx);
	return vcma_core_new(ops, ctx, &cfg);
}

static int reserve(struct vcma_core *c, uint64_t size, uint64_t align, uint64_t tag,
		   struct vcma_grant *g, struct vcma_core_evidence *ev)
{
	struct vcma_core_request r = { .size = size, .align = align, .tag = tag,
				       .node = VCMA_CORE_NODE_ANY };

	return vcma_core_reserve(c, &r, g, ev);
}

static void test_names(void)
{
	int i, j, distinct = 1;

	for (i = 0; i < VCMA_CORE_NR_CAUSES; i++)
		for (j = 0; j < i; j++)
			if (!strcmp(vcma_core_cause_name((vcma_u32)i), vcma_core_cause_name((vcma_u32)j)))
				distinct = 0;
	tap_ok(distinct, "cause names are distinct");
	tap_ok(!strcmp(vcma_core_cause_name(VCMA_CORE_CAUSE_PINNED), "pinned") &&
	       !strcmp(vcma_core_cause_name(VCMA_CORE_NR_CAUSES), "unknown"),
	       "cause names: pinned, out of range is unknown");
	tap_ok(!strcmp(vcma_page_class_name(VCMA_PC_BUFFERS), "buffers") &&
	       !strcmp(vcma_page_class_name(VCMA_NR_PAGE_CLASSES), "unknown"),
	       "page class names");
}

static void test_math(void)
{
	tap_ok(vcma_pow2_ceil(1) == 1 && vcma_pow2_ceil(3) == 4 && vcma_pow2_ceil(512) == 512 &&
	       vcma_pow2_ceil(513) == 1024 && vcma_pow2_ceil((1ull << 63) + 1) == 0,
	       "pow2_ceil");
	tap_ok(vcma_is_pow2(4096) && !vcma_is_pow2(0) && !vcma_is_pow2(3 * 4096),
	       "is_pow2");
	tap_ok(vcma_align_up(1, 512) == 512 && vcma_align_up(512, 512) == 512 &&
	       vcma_align_up(0, 8) == 0, "align_up");
}

static void test_scoring(void)
{
	struct vcma_range_summary clean = { { 0 } }, dirty, pinned, unmov;
	int p1, p2, p3, p4;
	vcma_u64 c1, c2, c3;

	clean.count[VCMA_PC_FREE] = 400;
	clean.count[VCMA_PC_LRU_ANON] = 112;
	dirty = clean;
	dirty.count[VCMA_PC_LRU_ANON] = 100;
	dirty.count[VCMA_PC_DIRTY] = 12;
	pinned = clean;
	pinned.count[VCMA_PC_FREE] = 511;
	pinned.count[VCMA_PC_LRU_ANON] = 0;
	pinned.count[VCMA_PC_PINNED] = 1;
	unmov = clean;
	unmov.count[VCMA_PC_UNMOVABLE] = 1;
	c1 = vcma_window_cost(&clean, &p1);
	c2 = vcma_window_cost(&dirty, &p2);
	c3 = vcma_window_cost(&pinned, &p3);
	vcma_window_cost(&unmov, &p4);
	tap_ok(p1 && p2 && p3 && !p4, "a window with an unmovable page is impossible");
	tap_ok(c1 == 112, "cost counts the pages to migrate (%llu)", (unsigned long long)c1);
	tap_ok(c2 > c1, "dirty pages cost extra");
	tap_ok(c3 > 512 * c2, "one pinned page outweighs any pin-free window");
}

static void test_validation(struct vcma_model *m)
{
	const struct vcma_backend_ops *ops;
	struct vcma_backend_ops broken;
	struct vcma_core_config cfg = { 0 }, bad = { .page_shift = 40 };
	struct vcma_core_evidence ev;
	struct vcma_core_request r = { .size = 2 * MIB, .node = VCMA_CORE_NODE_ANY };
	struct vcma_grant g;
	struct vcma_core *c;
	void *ctx;

	vcma_model_backend(m, &ops, &ctx);
	broken = *ops;
	broken.evacuate = NULL;
	tap_ok(!vcma_core_new(NULL, ctx, &cfg) && !vcma_core_new(&broken, ctx, &cfg) &&
	       !vcma_core_new(ops, ctx, &bad) && !vcma_core_new(ops, ctx, NULL),
	       "core_new refuses missing ops and bad configs");
	c = vcma_core_new(ops, ctx, &cfg);
	tap_ok(c != NULL, "core_new with defaults");
	tap_ok(reserve(c, 0, 0, 0, &g, &ev) == -VCMA_EINVAL, "size 0 is EINVAL");
	tap_ok(reserve(c, 4097, 0, 0, &g, &ev) == -VCMA_EINVAL, "size not a page multiple is EINVAL");
	tap_ok(reserve(c, 2 * MIB, 3 * 4096, 0, &g, &ev) == -VCMA_EINVAL, "alignment not a power of two");
	tap_ok(reserve(c, 2 * MIB, 2048, 0, &g, &ev) == -VCMA_EINVAL, "alignment below a page");
	tap_ok(reserve(c, 1ull << 50, 0, 0, &g, &ev) == -VCMA_EINVAL, "absurd size is EINVAL");
	r.flags = 1u << 7;
	tap_ok(vcma_core_reserve(c, &r, &g, &ev) == -VCMA_EINVAL, "unknown flags are EINVAL");
	tap_ok(vcma_core_reserve(c, NULL, &g, &ev) == -VCMA_EINVAL, "NULL request is EINVAL");
	tap_ok(vcma_core_release(c, 0) == -VCMA_ENOENT && vcma_core_release(c, 77) == -VCMA_ENOENT &&
	       vcma_core_find(c, 77, &g) == -VCMA_ENOENT, "unknown grant ids are ENOENT");
	tap_ok(vcma_core_balloon_inflate(c, 9, 1, NULL, NULL) == -VCMA_EINVAL &&
	       vcma_core_balloon_inflate(c, 40, 1, &g.start_pfn, NULL) == -VCMA_EINVAL,
	       "bad balloon arguments are EINVAL");
	vcma_core_free(c);
}

static void test_alignment(struct vcma_model *m)
{
	struct vcma_core *c = core_on(m, 0);
	struct vcma_core_evidence ev;
	struct vcma_grant g;
	int ok = 1;

	ok &= !reserve(c, 2 * MIB, 4 * MIB, 0, &g, &ev) && !(g.start_pfn % 1024);
	ok &= !reserve(c, 3 * MIB, 0, 0, &g, &ev) && !(g.start_pfn % 1024) && g.nr_pages == 768;
	ok &= !reserve(c, 64 * 1024, 4096, 0, &g, &ev) && g.nr_pages == 16;
	ok &= !reserve(c, 8 * MIB, 0, 0, &g, &ev) && !(g.start_pfn % 2048);
	tap_ok(ok, "grants honour explicit and natural alignment");
	vcma_core_free(c);
}

static int no_overlap(struct vcma_grant *g, vcma_u32 n)
{
	vcma_u32 i, j;

	for (i = 0; i < n; i++)
		for (j = 0; j < i; j++)
			if (g[i].start_pfn < g[j].start_pfn + g[j].nr_pages &&
			    g[j].start_pfn < g[i].start_pfn + g[i].nr_pages)
				return 0;
	return 1;
}

static void test_grants(struct vcma_model *m)
{
	struct vcma_core *c = core_on(m, 8);
	struct vcma_core_evidence ev;
	struct vcma_core_stats st;
	struct vcma_grant g[10], list[10], again;
	vcma_u64 ids_ok = 1, i, first_id;
	vcma_u32 n;
	int r;

	for (i = 0; i < 8; i++) {
		r = reserve(c, 2 * MIB, 0, 0, &g[i], &ev);
		ids_ok &= !r && g[i].id == i + 1 && g[i].kind == VCMA_GRANT_RESERVE;
	}
	tap_ok(ids_ok, "ids start at 1 and count up");
	r = reserve(c, 2 * MIB, 0, 0, &g[8], &ev);
	tap_ok(r == -VCMA_ENOSPC && ev.cause == VCMA_CORE_CAUSE_LIMIT, "a full grant table fails with cause limit");
	n = vcma_core_list(c, list, 10);
	tap_ok(n == 8 && no_overlap(list, n), "list returns 8 disjoint grants");
	tap_ok(!vcma_core_release(c, g[3].id) && vcma_core_release(c, g[3].id) == -VCMA_ENOENT,
	       "release works once");
	first_id = g[3].id;
	tap_ok(!reserve(c, 2 * MIB, 0, 0, &g[9], &ev) && g[9].id == 9 && g[9].id != first_id,
	       "ids are never reused");
	n = vcma_core_list(c, list, 10);
	ids_ok = n == 8;
	for (i = 1; i < n; i++)
		ids_ok &= list[i].id > list[i - 1].id;
	tap_ok(ids_ok, "list is in id order");
	tap_ok(!vcma_core_find(c, 9, &again) && again.start_pfn == g[9].start_pfn, "find by id");
	vcma_core_get_stats(c, &st);
	tap_ok(st.reserve_ok == 9 && st.reserve_fail == 1 && st.fail_by_cause[VCMA_CORE_CAUSE_LIMIT] == 1 &&
	       st.grants == 8 && st.pages_held == 8 * 512 && st.last_cause == VCMA_CORE_CAUSE_LIMIT,
	       "stats count successes, failures by cause and what is held");
	vcma_core_free(c);
}

static void test_tags(struct vcma_model *m)
{
	struct vcma_core *c = core_on(m, 0);
	struct vcma_core_evidence ev;
	struct vcma_grant a, b;

	tap_ok(!reserve(c, 4 * MIB, 0, 42, &a, &ev) && !reserve(c, 4 * MIB, 0, 42, &b, &ev) &&
	       a.id == b.id && a.start_pfn == b.start_pfn && vcma_core_list(c, NULL, 0) == 1,
	       "same tag returns the same grant");
	tap_ok(reserve(c, 8 * MIB, 0, 42, &b, &ev) == -VCMA_EEXIST, "same tag, other size is EEXIST");
	tap_ok(!reserve(c, 4 * MIB, 0, 43, &b, &ev) && b.id != a.id, "another tag gets another grant");
	vcma_core_free(c);
}

static int reserve_below(struct vcma_core *c, uint64_t size, uint64_t max_addr, uint32_t flags,
			 uint64_t tag, struct vcma_grant *g, struct vcma_core_evidence *ev)
{
	struct vcma_core_request r = { .size = size, .tag = tag, .flags = flags,
				       .node = VCMA_CORE_NODE_ANY, .max_addr = max_addr };

	return vcma_core_reserve(c, &r, g, ev);
}

/*
 * Address limits on the idle 256 MiB model (ZONE_NORMAL 1-192 MiB, then
 * ZONE_MOVABLE): a limit moves the grant below it, a limit no zone can meet
 * fails at once with its own cause, malformed limits are EINVAL.
 */
static void test_addr_limit(struct vcma_model *m, uint32_t strategy, const char *name)
{
	const struct vcma_backend_ops *ops;
	struct vcma_core_config cfg = { .strategy = strategy };
	struct vcma_core_evidence ev;
	struct vcma_core_stats st;
	struct vcma_grant g, h;
	struct vcma_core *c;
	void *ctx;
	int err;

	vcma_model_backend(m, &ops, &ctx);
	c = vcma_core_new(ops, ctx, &cfg);
	err = reserve_below(c, 16 * MIB, 128 * MIB, 0, 0, &g, &ev);
	tap_ok(!err && (g.start_pfn + g.nr_pages) * 4096 <= 128 * MIB && g.max_addr == 128 * MIB,
	       "%s: 16 MiB below 128 MiB ends at 0x%llx", name,
	       (unsigned long long)((g.start_pfn + g.nr_pages) * 4096));
	err = reserve_below(c, 16 * MIB, 0, 0, 0, &h, &ev);
	tap_ok(!err && h.max_addr == 0, "%s: the same request without a limit is granted (at 0x%llx)",
	       name, (unsigned long long)(h.start_pfn * 4096));
	vcma_core_release(c, h.id);
	err = reserve_below(c, 16 * MIB, 256 * MIB, 0, 0, &h, &ev);
	tap_ok(!err && (h.start_pfn + h.nr_pages) * 4096 <= 256 * MIB,
	       "%s: a limit at the end of memory is met", name);
	vcma_core_release(c, h.id);

	/* [0, 16 MiB) is the only 16 MiB-aligned window below 16 MiB, and the zone starts at 1 MiB. */
	err = reserve_below(c, 16 * MIB, 16 * MIB, 0, 0, &h, &ev);
	tap_ok(err == -VCMA_ENOSPC && ev.cause == VCMA_CORE_CAUSE_ADDR_LIMIT &&
	       ev.ranges_scanned == 0 && ev.ranges_tried == 0 && ev.pages_migrated == 0,
	       "%s: a limit no window meets fails fast with cause addr_limit, nothing scanned (%d, %s)",
	       name, err, vcma_core_cause_name(ev.cause));
	err = reserve_below(c, 16 * MIB, 160 * MIB, VCMA_CORE_MOVABLE_ONLY, 0, &h, &ev);
	tap_ok(err == -VCMA_ENOSPC && ev.cause == VCMA_CORE_CAUSE_ADDR_LIMIT && ev.ranges_tried == 0,
	       "%s: MOVABLE_ONLY below ZONE_MOVABLE's start is addr_limit", name);
	vcma_core_get_stats(c, &st);
	tap_ok(st.fail_by_cause[VCMA_CORE_CAUSE_ADDR_LIMIT] == 2, "%s: addr_limit failures are counted",
	       name);

	tap_ok(reserve_below(c, 16 * MIB, 8 * MIB, 0, 0, &h, &ev) == -VCMA_EINVAL,
	       "%s: a limit below the size is EINVAL", name);
	tap_ok(reserve_below(c, 16 * MIB, 128 * MIB + 512, 0, 0, &h, &ev) == -VCMA_EINVAL,
	       "%s: a limit not page aligned is EINVAL", name);

	/* Idempotency: a repeat with a tag must not hand back a grant above its limit. */
	err = reserve_below(c, 4 * MIB, 0, 0, 77, &h, &ev);
	tap_ok(!err && reserve_below(c, 4 * MIB, (h.start_pfn + h.nr_pages) * 4096, 0, 77, &g, &ev) == 0 &&
	       g.id == h.id,
	       "%s: a tag repeat whose grant meets the limit returns it", name);
	tap_ok(reserve_below(c, 4 * MIB, h.start_pfn * 4096, 0, 77, &g, &ev) == -VCMA_EEXIST,
	       "%s: a tag repeat whose grant ends above the limit is EEXIST", name);
	vcma_core_free(c);
}

/* The sliding-window scan must find exactly what summarising every window finds. */
static void test_plan_matches_brute_force(void)
{
	struct vcma_model *m = test_model("mixed", 256, "fill_pct = 90");
	struct vcma_core *c = core_on(m, 0);
	struct vcma_core_evidence ev;
	struct vcma_req_state rs;
	struct vcma_range_summary sum;
	vcma_u64 nr, pfn, cost, best, windows;
	int z, possible, same = 1;

	for (nr = 512; nr <= 8192; nr *= 4) {
		memset(&rs, 0, sizeof(rs));
		memset(&ev, 0, sizeof(ev));
		rs.nr = nr;
		rs.align = rs.step = 512;
		rs.node = VCMA_CORE_NODE_ANY;
		rs.ev = &ev;
		rs.deadline_us = ~0ull;
		vcma_load_zones(c);
		vcma_plan(c, &rs);
		best = ~0ull;
		windows = 0;
		for (z = 0; z < c->nr_zones; z++)
			for (pfn = vcma_align_up(c->zones[z].start_pfn, 512);
			     pfn + nr <= c->zones[z].end_pfn; pfn += 512) {
				windows++;
				vcma_model_summarize(m, pfn, nr, &sum);
				cost = vcma_window_cost(&sum, &possible);
				if (possible && cost < best)
					best = cost;
			}
		same &= c->nr_cand > 0 && c->cand[0].cost == best && ev.ranges_scanned == windows;
		for (z = 1; z < (int)c->nr_cand; z++)
			same &= c->cand[z - 1].cost <= c->cand[z].cost;
	}
	tap_ok(same, "the sliding scan ranks the cheapest window first, sorted, every window seen");
	vcma_core_free(c);
	vcma_model_free(m);
}

int main(void)
{
	struct vcma_model *m = idle_model(256);

	test_names();
	test_math();
	test_scoring();
	test_validation(m);
	test_alignment(m);
	test_grants(m);
	test_tags(m);
	test_addr_limit(m, VCMA_STRATEGY_PLANNER, "planner");
	test_addr_limit(m, VCMA_STRATEGY_NAIVE, "naive");
	vcma_model_free(m);
	test_plan_matches_brute_force();
	return tap_done();
}
