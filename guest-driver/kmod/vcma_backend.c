// SPDX-License-Identifier: GPL-2.0-only
/*
 * The mm core's backend over the real kernel: zones from the node data,
 * page classification from page flags and reference counts, evacuation with
 * alloc_contig_range(), free balloon blocks with alloc_pages() and release
 * with free_contig_range().
 *
 * Classification reads struct page fields of pages we hold no reference to,
 * the way compaction's scanners do: the answer is a hint that may be stale
 * by the time it is used, never a pointer to follow. Nothing here
 * dereferences page->mapping.
 *
 * Locking: every callback runs under vcma_dev.lock (the core is only entered
 * with it held), which also protects the table of ranges the module owns.
 */
#include <linux/buffer_head.h>
#include <linux/delay.h>
#include <linux/gfp.h>
#include <linux/highmem.h>
#include <linux/ktime.h>
#include <linux/memory_hotplug.h>
#include <linux/migrate.h>
#include <linux/mm.h>
#include <linux/mmzone.h>
#include <linux/page-flags.h>
#include <linux/sched.h>
#include <linux/slab.h>
#include <linux/tracepoint.h>
#include <linux/vmstat.h>
#include <linux/workqueue.h>

#include "vcma_kmod.h"

/* Ranges taken by evacuate() and not yet released: classified as OWNED. */
struct vcma_owned {
	struct list_head node;
	u64 start_pfn;
	u64 nr;
	bool ballooned;		/* taken out of the managed pages (MemTotal) */
};

static LIST_HEAD(vcma_owned_ranges);

static bool vcma_pfn_owned(u64 pfn)
{
	struct vcma_owned *o;

	list_for_each_entry(o, &vcma_owned_ranges, node)
		if (pfn >= o->start_pfn && pfn < o->start_pfn + o->nr)
			return true;
	return false;
}

static u32 vcma_zone_type(enum zone_type zt)
{
	switch (zt) {
#ifdef CONFIG_ZONE_DMA
	case ZONE_DMA:
		return VCMA_ZT_DMA;
#endif
#ifdef CONFIG_ZONE_DMA32
	case ZONE_DMA32:
		return VCMA_ZT_DMA32;
#endif
	case ZONE_MOVABLE:
		return VCMA_ZT_MOVABLE;
	default:
		return VCMA_ZT_NORMAL;
	}
}

static int vcma_be_zones(void *ctx, struct vcma_zone_span *out, int max)
{
	int nid, n = 0;

	for_each_online_node(nid) {
		pg_data_t *pgdat = NODE_DATA(nid);
		int zi;

		for (zi = 0; zi < MAX_NR_ZONES && n < max; zi++) {
			struct zone *zone = &pgdat->node_zones[zi];

			if (!populated_zone(zone))
				continue;
			out[n].start_pfn = zone->zone_start_pfn;
			out[n].end_pfn = zone_end_pfn(zone);
			out[n].node = nid;
			out[n].type = vcma_zone_type(zi);
			n++;
		}
	}
	return n;
}

/*
 * The pageblock's migratetype, read the way get_pageblock_migratetype()
 * does (its helper is not exported): one 4-bit field per pageblock in the
 * section's usemap. Without SPARSEMEM assume the worst.
 */
static int vcma_pageblock_migratetype(u64 pfn)
{
#ifdef CONFIG_SPARSEMEM
	unsigned long *bitmap = section_to_usemap(__pfn_to_section(pfn));
	unsigned long bitidx = ((pfn & (PAGES_PER_SECTION - 1)) >> pageblock_order) *
			       NR_PAGEBLOCK_BITS;
	unsigned long word = READ_ONCE(bitmap[bitidx / BITS_PER_LONG]);

	return (word >> (bitidx % BITS_PER_LONG)) & MIGRATETYPE_MASK;
#else
	return MIGRATE_UNMOVABLE;
#endif
}

static enum vcma_page_class vcma_classify_page(u64 pfn)
{
	struct page *page = pfn_to_online_page(pfn);
	struct page *head;

	if (!page)
		return VCMA_PC_HOLE;
	if (PageBuddy(page))
		return VCMA_PC_FREE;
	if (PageReserved(page) || PageSlab(page) || PageTable(page) ||
	    PageOffline(page))
		return VCMA_PC_UNMOVABLE;
	head = compound_head(page);
	/* Tail pages of a free high-order buddy block have no reference. */
	if (page_ref_count(head) == 0)
		return VCMA_PC_FREE;
	if (page_maybe_dma_pinned(page))
		return VCMA_PC_PINNED;
	if (PageWriteback(head))
		return VCMA_PC_WRITEBACK;
	if (PageLRU(head)) {
		if (PageAnon(head))
			return VCMA_PC_LRU_ANON;
		if (PageSwapBacked(head))
			return VCMA_PC_LRU_SHMEM;
		if (page_has_private(head))
			return VCMA_PC_BUFFERS;
		if (PageDirty(head))
			return VCMA_PC_DIRTY;
		return VCMA_PC_LRU_FILE;
	}
	if (PageHuge(head) || __PageMovable(head))
		return VCMA_PC_OTHER_MOVABLE;
	if (vcma_pfn_owned(pfn))
		return VCMA_PC_OWNED;
	/*
	 * Referenced, mapped or in a mapping, yet not on an LRU list: a page on
	 * its way to the LRU sits in a per-CPU pagevec (or is isolated by
	 * someone else for a moment). Kernel allocations have no mapping.
	 */
	if (READ_ONCE(head->mapping) || page_mapcount(head) > 0) {
		if (page_has_private(head))
			return VCMA_PC_BUFFERS;
		return VCMA_PC_PAGEVEC;
	}
	/*
	 * Referenced, unmapped, off the LRU: a kernel allocation, or a user
	 * page in flight (just allocated, not yet mapped). Movable
	 * allocations come from movable pageblocks (and ZONE_MOVABLE holds
	 * nothing else), so there it is a page on its way, like one in a
	 * pagevec; anywhere else it stays put.
	 */
	if (page_zonenum(head) == ZONE_MOVABLE ||
	    vcma_pageblock_migratetype(pfn) == MIGRATE_MOVABLE)
		return VCMA_PC_PAGEVEC;
	return VCMA_PC_UNMOVABLE;
}

static enum vcma_page_class vcma_be_classify(void *ctx, vcma_u64 pfn)
{
	return vcma_classify_page(pfn);
}

static void vcma_be_summarize(void *ctx, vcma_u64 pfn, vcma_u64 nr,
			      struct vcma_range_summary *out)
{
	u64 i;

	memset(out, 0, sizeof(*out));
	for (i = 0; i < nr; i++) {
		out->count[vcma_classify_page(pfn + i)]++;
		if ((i & 4095) == 4095)
			cond_resched();
	}
}

void vcma_backend_scan_all(struct vcma_range_summary *sum)
{
	struct vcma_zone_span spans[MAX_NUMNODES * MAX_NR_ZONES > 64 ?
				    64 : MAX_NUMNODES * MAX_NR_ZONES];
	struct vcma_range_summary part;
	int i, n, c;

	memset(sum, 0, sizeof(*sum));
	n = vcma_be_zones(NULL, spans, ARRAY_SIZE(spans));
	for (i = 0; i < n; i++) {
		vcma_be_summarize(NULL, spans[i].start_pfn,
				  spans[i].end_pfn - spans[i].start_pfn, &part);
		for (c = 0; c < VCMA_NR_PAGE_CLASSES; c++)
			sum->count[c] += part.count[c];
	}
}

static void vcma_be_invalidate_bh_lrus(void *ctx)
{
	invalidate_bh_lrus();
}

/* The dominant reason a range did not evacuate, from what is still in it. */
static u32 vcma_blocking_cause(u64 start, u64 nr, u32 *failed)
{
	static const u32 cause_of[VCMA_NR_PAGE_CLASSES] = {
		[VCMA_PC_PINNED] = VCMA_CORE_CAUSE_PINNED,
		[VCMA_PC_UNMOVABLE] = VCMA_CORE_CAUSE_UNMOVABLE,
		[VCMA_PC_HOLE] = VCMA_CORE_CAUSE_UNMOVABLE,
		[VCMA_PC_OWNED] = VCMA_CORE_CAUSE_UNMOVABLE,
		[VCMA_PC_BUFFERS] = VCMA_CORE_CAUSE_BH_LRU,
		[VCMA_PC_PAGEVEC] = VCMA_CORE_CAUSE_PAGEVEC,
		[VCMA_PC_WRITEBACK] = VCMA_CORE_CAUSE_WRITEBACK,
		[VCMA_PC_DIRTY] = VCMA_CORE_CAUSE_WRITEBACK,
	};
	/* Most telling first: a pin or kernel page explains a failure. */
	static const u8 order[] = {
		VCMA_PC_PINNED, VCMA_PC_UNMOVABLE, VCMA_PC_HOLE, VCMA_PC_OWNED,
		VCMA_PC_WRITEBACK, VCMA_PC_BUFFERS, VCMA_PC_PAGEVEC,
		VCMA_PC_DIRTY,
	};
	struct vcma_range_summary s;
	u64 moving = 0;
	int i;

	vcma_be_summarize(NULL, start, nr, &s);
	for (i = 0; i < VCMA_NR_PAGE_CLASSES; i++)
		if (i != VCMA_PC_FREE)
			moving += s.count[i];
	*failed = min_t(u64, moving, U32_MAX);
	for (i = 0; i < ARRAY_SIZE(order); i++)
		if (s.count[order[i]])
			return cause_of[order[i]];
	return VCMA_CORE_CAUSE_MIGRATE;
}

static void vcma_zero_range(u64 start, u64 nr)
{
	u64 i;

	for (i = 0; i < nr; i++) {
		clear_highpage(pfn_to_page(start + i));
		if ((i & 1023) == 1023)
			cond_resched();
	}
}

/*
 * Exact migration counts for our own alloc_contig_range() calls. They
 * migrate synchronously in the calling task, so the migrate_pages
 * tracepoints, filtered to that task and MR_CONTIG_RANGE, count exactly
 * the pages this request moved and time the migration itself; the rest of
 * a call is isolating (before and between migrations) and verifying
 * (after the last one). The tracepoints are not exported symbols: they are
 * found by name. Without them the kernel-wide counter is used and the
 * evidence says it is not exact.
 */
struct vcma_migtrace {
	struct task_struct *task;	/* the evacuating task, NULL: not counting */
	u64 succeeded;
	u64 failed;
	u64 migrate_ns;
	u64 start_ns;			/* of the migrate_pages call in progress */
	u64 last_end_ns;		/* of the last one */
};

static struct vcma_migtrace vcma_mt;
static struct tracepoint *vcma_tp_start, *vcma_tp_end;
static bool vcma_tp_on;

static void vcma_tp_probe_start(void *data, enum migrate_mode mode, int reason)
{
	if (READ_ONCE(vcma_mt.task) != current || reason != MR_CONTIG_RANGE)
		return;
	vcma_mt.start_ns = ktime_get_ns();
}

static void vcma_tp_probe_end(void *data, unsigned long succeeded, unsigned long failed,
			      unsigned long thp_succeeded, unsigned long thp_failed,
			      unsigned long thp_split, enum migrate_mode mode, int reason)
{
	u64 now;

	if (READ_ONCE(vcma_mt.task) != current || reason != MR_CONTIG_RANGE)
		return;
	now = ktime_get_ns();
	vcma_mt.succeeded += succeeded;
	vcma_mt.failed += failed;
	if (vcma_mt.start_ns)
		vcma_mt.migrate_ns += now - vcma_mt.start_ns;
	vcma_mt.start_ns = 0;
	vcma_mt.last_end_ns = now;
}

static void vcma_tp_find(struct tracepoint *tp, void *priv)
{
	if (!strcmp(tp->name, "mm_migrate_pages"))
		vcma_tp_end = tp;
	else if (!strcmp(tp->name, "mm_migrate_pages_start"))
		vcma_tp_start = tp;
}

void vcma_backend_init(void)
{
	for_each_kernel_tracepoint(vcma_tp_find, NULL);
	if (!vcma_tp_start || !vcma_tp_end)
		goto none;
	if (tracepoint_probe_register(vcma_tp_start, vcma_tp_probe_start, NULL))
		goto none;
	if (tracepoint_probe_register(vcma_tp_end, vcma_tp_probe_end, NULL)) {
		tracepoint_probe_unregister(vcma_tp_start, vcma_tp_probe_start, NULL);
		goto none;
	}
	vcma_tp_on = true;
	return;
none:
	pr_info("vcma: migrate_pages tracepoints unavailable, pages migrated is the kernel-wide count\n");
}

static void vcma_tp_exit(void)
{
	if (!vcma_tp_on)
		return;
	tracepoint_probe_unregister(vcma_tp_end, vcma_tp_probe_end, NULL);
	tracepoint_probe_unregister(vcma_tp_start, vcma_tp_probe_start, NULL);
	tracepoint_synchronize_unregister();
	vcma_tp_on = false;
}

/* Pages of [start, start + nr) not free: what an evacuation must move. */
static u64 vcma_pages_in_use(u64 start, u64 nr)
{
	struct vcma_range_summary s;

	vcma_be_summarize(NULL, start, nr, &s);
	return nr - s.count[VCMA_PC_FREE];
}

/* The pages still in use in a piece that failed, by why they stayed. */
static void vcma_count_left(u64 start, u64 nr, struct vcma_evac_detail *d)
{
	struct vcma_range_summary s;
	const vcma_u64 *c = s.count;
	u64 in_use;

	vcma_be_summarize(NULL, start, nr, &s);
	in_use = nr - c[VCMA_PC_FREE];
	d->left[VCMA_LEFT_PINNED] += c[VCMA_PC_PINNED];
	d->left[VCMA_LEFT_WRITEBACK] += c[VCMA_PC_DIRTY] + c[VCMA_PC_WRITEBACK];
	d->left[VCMA_LEFT_BH] += c[VCMA_PC_BUFFERS];
	d->left[VCMA_LEFT_UNMOVABLE] += c[VCMA_PC_UNMOVABLE] + c[VCMA_PC_HOLE] +
					c[VCMA_PC_OWNED];
	d->left[VCMA_LEFT_REFCOUNT] += in_use - c[VCMA_PC_PINNED] - c[VCMA_PC_DIRTY] -
				       c[VCMA_PC_WRITEBACK] - c[VCMA_PC_BUFFERS] -
				       c[VCMA_PC_UNMOVABLE] - c[VCMA_PC_HOLE] - c[VCMA_PC_OWNED];
}

/*
 * One alloc_contig_range() call cannot be interrupted, and with pages under
 * writeback it waits for the I/O. Ranges are therefore taken in pieces of
 * whole pageblocks with the request's deadline checked before each, so a
 * request overruns its deadline by one piece at most. The piece adapts:
 * it is sized from the time per page the last pieces took so that one
 * piece lasts about VCMA_PIECE_SHARE of the request's deadline, starting
 * from one pageblock and at most doubling from one piece to the next.
 */
#define VCMA_PIECE_SHARE	20	/* a piece targets 1/20 of the deadline */
#define VCMA_PIECE_MAX_BLOCKS	64	/* 128 MiB with 2 MiB pageblocks */

static u64 vcma_ns_per_page;		/* learned, kept across requests */

static u64 vcma_piece_pages(u64 prev)
{
	u64 target_ns = vcma_dev.deadline_len_ns / VCMA_PIECE_SHARE;
	u64 pages = pageblock_nr_pages, max = VCMA_PIECE_MAX_BLOCKS * pageblock_nr_pages;

	if (vcma_ns_per_page && target_ns)
		pages = target_ns / vcma_ns_per_page;
	if (prev)
		pages = min(pages, 2 * prev);
	pages = rounddown(pages, pageblock_nr_pages);
	return clamp(pages, (u64)pageblock_nr_pages, max);
}

static void vcma_learn_rate(u64 pages, u64 ns)
{
	u64 rate = div64_u64(ns, pages) + 1;

	/* Slow to forget a slow piece: an overrun costs more than a small piece. */
	vcma_ns_per_page = vcma_ns_per_page ?
		max(rate, (3 * vcma_ns_per_page + rate) / 4) : rate;
}

static int vcma_take_range(u64 start, u64 nr, u32 *cause, struct vcma_evac_detail *d)
{
	bool pieces = IS_ALIGNED(start, pageblock_nr_pages) &&
		      IS_ALIGNED(nr, pageblock_nr_pages);
	u64 pfn = start, end = start + nr, next, len = 0, t0, t1, mig0;
	int ret = 0;

	while (pfn < end) {
		if (vcma_dev.deadline_ns && ktime_get_ns() > vcma_dev.deadline_ns) {
			*cause = VCMA_CORE_CAUSE_DEADLINE;
			ret = -ETIMEDOUT;
			break;
		}
		len = pieces ? min(vcma_piece_pages(len), end - pfn) : end - pfn;
		next = pfn + len;
		d->pages_in_use += vcma_pages_in_use(pfn, len);
		d->pieces++;
		d->piece_pages_max = max_t(u32, d->piece_pages_max, len);
		mig0 = vcma_mt.migrate_ns;
		vcma_mt.last_end_ns = 0;
		t0 = ktime_get_ns();
		/*
		 * Fail fast rather than wait on locks: the core tries another
		 * range instead. alloc_contig_range() disables the LRU caches
		 * (and with them BH LRU installs) while it migrates.
		 */
		ret = alloc_contig_range(pfn, next, MIGRATE_MOVABLE,
					 GFP_KERNEL | __GFP_NORETRY | __GFP_NOWARN);
		t1 = ktime_get_ns();
		if (vcma_dev.deadline_ns && t1 > vcma_dev.deadline_ns)
			d->pieces_late++;
		if (vcma_mt.last_end_ns) {
			d->verify_us += (t1 - vcma_mt.last_end_ns) / NSEC_PER_USEC;
			d->isolate_us += (vcma_mt.last_end_ns - t0 -
					  (vcma_mt.migrate_ns - mig0)) / NSEC_PER_USEC;
		} else {
			/* Nothing to migrate: all of it isolating and verifying. */
			d->verify_us += (t1 - t0) / NSEC_PER_USEC;
		}
		if (ret) {
			vcma_count_left(pfn, len, d);
			break;
		}
		vcma_learn_rate(len, t1 - t0);
		pfn = next;
	}
	if (ret && pfn > start)
		free_contig_range(start, pfn - start);
	return ret;
}

/* Record a range as the module's (classified OWNED until released). */
static void vcma_own(struct vcma_owned *o, u64 start_pfn, u64 nr)
{
	o->start_pfn = start_pfn;
	o->nr = nr;
	o->ballooned = false;
	list_add(&o->node, &vcma_owned_ranges);
}

static int vcma_be_evacuate(void *ctx, vcma_u64 start_pfn, vcma_u64 nr, vcma_u32 flags,
			    struct vcma_evac_result *res)
{
	/* Static: too big for the stack, and callers are serialised. */
	static unsigned long ev[NR_VM_EVENT_ITEMS];
	unsigned long migrated_before = 0;
	struct vcma_owned *o;
	u32 cause = 0;
	u64 t;
	int ret;

	memset(res, 0, sizeof(*res));
	o = kmalloc(sizeof(*o), GFP_KERNEL);
	if (!o)
		return -ENOMEM;

	if (vcma_tp_on) {
		vcma_mt.succeeded = vcma_mt.failed = vcma_mt.migrate_ns = 0;
		WRITE_ONCE(vcma_mt.task, current);
	} else {
		all_vm_events(ev);
		migrated_before = ev[PGMIGRATE_SUCCESS];
	}
	ret = vcma_take_range(start_pfn, nr, &cause, &res->d);
	if (vcma_tp_on) {
		WRITE_ONCE(vcma_mt.task, NULL);
		res->pages_migrated = vcma_mt.succeeded;
		res->d.migrate_failed = vcma_mt.failed;
		res->d.migrate_us = vcma_mt.migrate_ns / NSEC_PER_USEC;
		res->d.exact = 1;
	} else {
		all_vm_events(ev);
		/* A global counter: other migrations in the window count too. */
		res->pages_migrated = min_t(u64, ev[PGMIGRATE_SUCCESS] - migrated_before, nr);
	}

	if (ret) {
		kfree(o);
		res->cause = vcma_blocking_cause(start_pfn, nr, &res->failed_pfns);
		if (cause)
			res->cause = cause;
		return ret;
	}
	if (!(flags & VCMA_EVAC_KEEP_CONTENTS)) {
		t = ktime_get_ns();
		vcma_zero_range(start_pfn, nr);
		res->d.zero_us = (ktime_get_ns() - t) / NSEC_PER_USEC;
	}
	vcma_own(o, start_pfn, nr);
	return 0;
}

/*
 * Balloon chunks straight from the buddy allocator: movable allocations (a
 * free pageblock of another type taken this way becomes movable, so giving
 * it back later does not spread kernel allocations), without reclaim,
 * compaction, kswapd or reserves, one zone class at a time from the
 * highest. A block that leaves its zone at or below the high watermark
 * goes straight back and ends that class: the balloon never wakes kswapd.
 *
 * With init_on_alloc (Debian's default) the allocator clears every page it
 * hands out, and that is nearly all the time a free chunk costs; so a batch
 * is shared out among up to VCMA_TAKE_WORKERS threads (the caller and
 * unbound workers), each allocating its share. The workers only allocate:
 * the caller, holding vcma_dev.lock, waits for all of them and then does
 * the bookkeeping. split_page() gives every page its own reference, as
 * alloc_contig_range() does, so both kinds of range are classified and
 * released alike.
 */
static const gfp_t vcma_take_zones[] = {
	__GFP_MOVABLE | __GFP_HIGHMEM,	/* ZONE_MOVABLE downwards */
	__GFP_MOVABLE,			/* ZONE_NORMAL downwards */
	__GFP_MOVABLE | __GFP_DMA32,	/* ZONE_DMA32 downwards */
};

#define VCMA_TAKE_GFP		(__GFP_HARDWALL | __GFP_NOWARN | __GFP_NORETRY | \
				 __GFP_NOMEMALLOC)
#define VCMA_TAKE_WORKERS	8
#define VCMA_TAKE_SHARE_MAX	64	/* blocks per thread and call */

struct vcma_take_share {
	struct work_struct work;
	unsigned int order;
	u32 want, got;
	struct page *pages[VCMA_TAKE_SHARE_MAX];
};

static bool vcma_zone_above_high(struct zone *zone)
{
	return zone_page_state_snapshot(zone, NR_FREE_PAGES) > high_wmark_pages(zone);
}

static void vcma_take_share_run(struct vcma_take_share *sh)
{
	struct page *page;
	unsigned int cls;

	for (cls = 0; cls < ARRAY_SIZE(vcma_take_zones) && sh->got < sh->want; cls++) {
		while (sh->got < sh->want) {
			page = alloc_pages(vcma_take_zones[cls] | VCMA_TAKE_GFP, sh->order);
			if (!page)
				break;
			if (!vcma_zone_above_high(page_zone(page))) {
				__free_pages(page, sh->order);
				break;
			}
			sh->pages[sh->got++] = page;
			cond_resched();
		}
	}
}

static void vcma_take_share_work(struct work_struct *work)
{
	vcma_take_share_run(container_of(work, struct vcma_take_share, work));
}

static int vcma_be_take_free(void *ctx, vcma_u32 order, vcma_u32 max, vcma_u64 *pfns)
{
	struct vcma_take_share *sh;
	struct vcma_owned *o;
	unsigned int nr_sh, i, j;
	u32 n = 0, left;

	if (order < pageblock_order || order >= MAX_ORDER || !max)
		return 0;
	max = min_t(u32, max, VCMA_TAKE_WORKERS * VCMA_TAKE_SHARE_MAX);
	/* One share per CPU, none empty, none above VCMA_TAKE_SHARE_MAX. */
	nr_sh = clamp_t(unsigned int, num_online_cpus(), 1, VCMA_TAKE_WORKERS);
	nr_sh = min_t(unsigned int, nr_sh, max);
	nr_sh = max_t(unsigned int, nr_sh, DIV_ROUND_UP(max, VCMA_TAKE_SHARE_MAX));
	sh = kcalloc(nr_sh, sizeof(*sh), GFP_KERNEL);
	if (!sh)
		return 0;
	for (i = 0, left = max; i < nr_sh; i++) {
		sh[i].order = order;
		sh[i].want = DIV_ROUND_UP(left, nr_sh - i);
		left -= sh[i].want;
		INIT_WORK(&sh[i].work, vcma_take_share_work);
		if (i)
			queue_work(system_unbound_wq, &sh[i].work);
	}
	vcma_take_share_run(&sh[0]);
	for (i = 1; i < nr_sh; i++)
		flush_work(&sh[i].work);

	for (i = 0; i < nr_sh; i++) {
		for (j = 0; j < sh[i].got; j++) {
			struct page *page = sh[i].pages[j];

			o = kmalloc(sizeof(*o), GFP_KERNEL);
			if (!o) {
				__free_pages(page, order);
				continue;
			}
			split_page(page, order);
			vcma_own(o, page_to_pfn(page), 1ull << order);
			pfns[n++] = page_to_pfn(page);
		}
	}
	kfree(sh);
	return n;
}

static void vcma_be_release(void *ctx, vcma_u64 start_pfn, vcma_u64 nr)
{
	struct vcma_owned *o, *tmp;

	list_for_each_entry_safe(o, tmp, &vcma_owned_ranges, node) {
		if (o->start_pfn == start_pfn && o->nr == nr) {
			if (o->ballooned)
				adjust_managed_page_count(pfn_to_page(start_pfn), nr);
			list_del(&o->node);
			kfree(o);
			free_contig_range(start_pfn, nr);
			return;
		}
	}
	/* Never free what we do not hold: a core bug, not a kernel crash. */
	pr_err("vcma: release of unowned range [%#llx, +%llu) ignored\n",
	       (unsigned long long)start_pfn, (unsigned long long)nr);
}

/*
 * A balloon chunk leaves the guest's managed memory (MemTotal shrinks, as
 * with virtio-balloon's deflate-on-OOM off); release() puts it back.
 */
void vcma_backend_mark_ballooned(u64 start_pfn)
{
	struct vcma_owned *o;

	list_for_each_entry(o, &vcma_owned_ranges, node) {
		if (o->start_pfn == start_pfn && !o->ballooned) {
			o->ballooned = true;
			adjust_managed_page_count(pfn_to_page(start_pfn), -(long)o->nr);
			return;
		}
	}
}

static vcma_u64 vcma_be_available_pages(void *ctx)
{
	return si_mem_available();
}

static vcma_u64 vcma_be_now_us(void *ctx)
{
	return ktime_get_ns() / NSEC_PER_USEC;
}

static int vcma_be_sleep_us(void *ctx, vcma_u64 us)
{
	unsigned int ms = DIV_ROUND_UP_ULL(us, USEC_PER_MSEC);

	if (us < USEC_PER_MSEC) {
		usleep_range(us, us + us / 4 + 1);
		return signal_pending(current);
	}
	return msleep_interruptible(ms) != 0;
}

static void *vcma_be_zalloc(void *ctx, vcma_size_t bytes)
{
	return kvzalloc(bytes, GFP_KERNEL);
}

static void vcma_be_free(void *ctx, void *p)
{
	kvfree(p);
}

const struct vcma_backend_ops vcma_kernel_backend = {
	.zones = vcma_be_zones,
	.classify = vcma_be_classify,
	.summarize = vcma_be_summarize,
	.invalidate_bh_lrus = vcma_be_invalidate_bh_lrus,
	.evacuate = vcma_be_evacuate,
	.take_free = vcma_be_take_free,
	.release = vcma_be_release,
	.available_pages = vcma_be_available_pages,
	.now_us = vcma_be_now_us,
	.sleep_us = vcma_be_sleep_us,
	.zalloc = vcma_be_zalloc,
	.free = vcma_be_free,
};

/* After vcma_core_free(): anything still listed was leaked by the core. */
void vcma_backend_exit(void)
{
	struct vcma_owned *o, *tmp;

	vcma_tp_exit();
	list_for_each_entry_safe(o, tmp, &vcma_owned_ranges, node) {
		pr_warn("vcma: freeing range [%#llx, +%llu) the core kept\n",
			o->start_pfn, o->nr);
		if (o->ballooned)
			adjust_managed_page_count(pfn_to_page(o->start_pfn), o->nr);
		free_contig_range(o->start_pfn, o->nr);
		list_del(&o->node);
		kfree(o);
	}
}
