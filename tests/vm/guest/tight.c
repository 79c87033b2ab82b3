// SPDX-License-Identifier: GPL-2.0-only OR MIT
/*
 * The tight guest: the busy workload, then anonymous memory with patterns
 * until less than 15% of RAM is free, then naturally aligned requests of 2
 * MiB to 256 MiB that must evacuate. Each request is released before the
 * next, so every one meets the same pressure.
 *
 *   vcma-vmtest tight [ROUNDS [MAX_MIB [STEP [DEADLINE_MS]]]]
 *
 * Sizes are MAX_MIB, MAX_MIB / STEP, ... down to 2 MiB. Each round loads the
 * module once per strategy, the order alternating between rounds. Printed
 * per strategy from the module's exact evidence (VCMA_IOC_EVIDENCE):
 * success, attempts per grant, pages migrated per grant, p50/p99 latency,
 * evacuation MiB/s against the guest's memcpy bandwidth measured in the
 * same boot, where the time goes, and why attempts failed. Then one 256
 * MiB request per strategy with a short deadline: the module must report
 * at most one evacuation piece ending after it.
 *
 *   vcma-vmtest gig
 *
 * 1 GiB naturally aligned under the busy workload, against the kernel's
 * own 1 GiB hugetlb allocation in the same boot.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "scenarios.h"
#include "vmtest.h"
#include "workload.h"

#define FILL_CHUNK	(8 * MiB)
#define FILL_MAX	512		/* chunks: 4 GiB */
#define FILL_FREE_PCT	4		/* fill until free is below this share of RAM */
#define PUNCH_EVERY	16		/* then give back every 16th page of the filler */
#define CACHE_FILE	DISK_DIR "/cache"
#define CACHE_SIZE	(192 * MiB)	/* clean page cache: keeps MemAvailable up */
#define MAX_REQ		512
#define NR_CAUSES	16

/*
 * Anonymous memory with a pattern per page, filled until free memory is
 * almost gone, then every PUNCH_EVERY-th page given back: the free memory
 * left is scattered in single pages, so no request finds a free window and
 * every one must evacuate.
 */
struct filler {
	uint8_t *chunk[FILL_MAX];
	unsigned int nr;
};

static uint64_t page_seed(unsigned int chunk, size_t page)
{
	return 0xf1110000000ull + ((uint64_t)chunk << 16) + page;
}

/*
 * Free memory outside ZONE_MOVABLE: kernel allocations can only use that,
 * so the filler must leave some there or the guest OOMs.
 */
static uint64_t kernel_zone_free_bytes(void)
{
	char line[256];
	uint64_t pages = 0;
	bool movable = false;
	FILE *f = fopen("/proc/zoneinfo", "r");

	if (!f)
		tap_bail("/proc/zoneinfo: %s", strerror(errno));
	while (fgets(line, sizeof(line), f)) {
		const char *p = line + strspn(line, " ");

		if (!strncmp(line, "Node ", 5))
			movable = strstr(line, "Movable") != NULL;
		else if (!movable && !strncmp(p, "pages free", 10))
			pages += strtoull(p + 10, NULL, 10);
	}
	fclose(f);
	return pages * 4096;
}

static void fill_memory(struct filler *f, uint64_t target_free)
{
	uint64_t floor = 256 * MiB;	/* never below this MemAvailable: no OOM */
	uint64_t kernel_floor = 128 * MiB;
	size_t pg;

	while (f->nr < FILL_MAX && free_bytes() > target_free &&
	       meminfo_bytes("MemAvailable") > floor + FILL_CHUNK &&
	       kernel_zone_free_bytes() > kernel_floor + FILL_CHUNK) {
		uint8_t *p = mmap(NULL, FILL_CHUNK, PROT_READ | PROT_WRITE,
				  MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

		if (p == MAP_FAILED)
			break;
		madvise(p, FILL_CHUNK, MADV_NOHUGEPAGE);
		for (pg = 0; pg < FILL_CHUNK / 4096; pg++)
			fill_pattern(p + pg * 4096, 4096, page_seed(f->nr, pg));
		f->chunk[f->nr++] = p;
	}
	for (unsigned int c = 0; c < f->nr; c++)
		for (pg = 0; pg < FILL_CHUNK / 4096; pg += PUNCH_EVERY)
			madvise(f->chunk[c] + pg * 4096, 4096, MADV_DONTNEED);
}

static void verify_filler(const struct filler *f)
{
	unsigned int c, bad = 0;
	size_t pg;

	for (c = 0; c < f->nr; c++)
		for (pg = 0; pg < FILL_CHUNK / 4096; pg++)
			if (pg % PUNCH_EVERY)
				bad += !check_pattern(f->chunk[c] + pg * 4096, 4096,
						      page_seed(c, pg));
	tap_ok(!bad, "filler memory verifies (%u MiB, %u bad pages)",
	       (unsigned int)(f->nr * FILL_CHUNK / MiB), bad);
}

/* A clean file in the page cache: reclaimable, so available stays above free. */
static void fill_cache(void)
{
	size_t len = MiB, off;
	uint8_t *buf = malloc(len);
	FILE *fp = fopen(CACHE_FILE, "w");

	if (!buf || !fp)
		tap_bail("page cache file %s: %s", CACHE_FILE, strerror(errno));
	for (off = 0; off < CACHE_SIZE; off += len) {
		fill_pattern(buf, len, 0xcace + off);
		if (fwrite(buf, 1, len, fp) != len)
			tap_bail("writing %s: %s", CACHE_FILE, strerror(errno));
	}
	if (fclose(fp))
		tap_bail("writing %s: %s", CACHE_FILE, strerror(errno));
	sync();
	free(buf);
}

/* Guest memcpy bandwidth in MiB/s: the best of a few 32 MiB copies. */
static double memcpy_mib_s(void)
{
	size_t len = 32 * MiB;
	uint8_t *a = malloc(len), *b = malloc(len);
	volatile uint8_t sink = 0;
	double best = 0, bw;
	int i;

	if (!a || !b)
		tap_bail("memcpy buffers: out of memory");
	memset(a, 1, len);
	memset(b, 2, len);
	for (i = 0; i < 5; i++) {
		uint8_t *dst = i % 2 ? a : b, *src = i % 2 ? b : a;
		uint64_t t0 = now_us(), dt;

		src[i] = (uint8_t)i;
		memcpy(dst, src, len);
		sink = sink + dst[i] + dst[len - 1];
		dt = now_us() - t0;
		bw = dt ? (double)len / MiB * 1e6 / (double)dt : 0;
		if (bw > best)
			best = bw;
	}
	free(a);
	free(b);
	(void)sink;
	return best;
}

struct tight_stats {
	const char *name;
	unsigned int requests, ok, tried, inexact, late_max, failed_attempts;
	uint64_t migrated, in_use, evac_us, elapsed_us;
	uint64_t migrated_all;	/* granted or not */
	uint64_t scan_us, isolate_us, migrate_us, verify_us, zero_us;
	uint64_t left[5];
	unsigned int cause[NR_CAUSES];
	uint64_t lat_us[MAX_REQ];
	bool over_in_use;	/* a request moved more than its range held */
};

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

static double pct_ms(struct tight_stats *b, unsigned int pct)
{
	unsigned int rank;

	if (!b->ok)
		return 0;
	qsort(b->lat_us, b->ok, sizeof(b->lat_us[0]), cmp_u64);
	rank = (pct * b->ok + 99) / 100;
	return (double)b->lat_us[rank ? rank - 1 : 0] / 1000.0;
}

static void account(struct tight_stats *b, int ret, const struct vcma_ioc_reserve *r,
		    const struct vcma_ioc_evac *e)
{
	unsigned int i;

	b->requests++;
	b->tried += r->ev.ranges_tried;
	b->failed_attempts += e->attempts_failed;
	for (i = 0; i < NR_CAUSES; i++)
		b->cause[i] += e->attempt_cause[i];
	b->left[0] += e->left_pinned;
	b->left[1] += e->left_writeback;
	b->left[2] += e->left_bh;
	b->left[3] += e->left_refcount;
	b->left[4] += e->left_unmovable;
	b->late_max = e->pieces_late > b->late_max ? e->pieces_late : b->late_max;
	b->inexact += !e->exact;
	b->migrated_all += e->pages_migrated;
	if (e->pages_migrated > e->pages_in_use)
		b->over_in_use = true;
	if (ret)
		return;
	if (b->ok < MAX_REQ)
		b->lat_us[b->ok] = e->elapsed_us;
	b->ok++;
	b->migrated += e->pages_migrated;
	b->in_use += e->pages_in_use;
	b->elapsed_us += e->elapsed_us;
	b->evac_us += e->isolate_us + e->migrate_us + e->verify_us;
	b->scan_us += e->scan_us;
	b->isolate_us += e->isolate_us;
	b->migrate_us += e->migrate_us;
	b->verify_us += e->verify_us;
	b->zero_us += e->zero_us;
}

static void one_request(int fd, struct tight_stats *b, uint64_t size, uint32_t deadline_ms,
			struct vcma_ioc_evac *e)
{
	struct vcma_ioc_reserve r;
	int ret = vcma_reserve(fd, size, size, 0, deadline_ms, b->name, &r);

	if (vcma_evidence(fd, e))
		tap_bail("VCMA_IOC_EVIDENCE after a reserve: %s", strerror(errno));
	account(b, ret, &r, e);
	tap_diag("%-7s %4" PRIu64 " MiB: %-4s at %#11" PRIx64 " %-9s %7" PRIu64 " ms, %2u tried, "
		 "%6" PRIu64 " in use, %6" PRIu64 " migrated, %" PRIu64 " failed; ms scan %" PRIu64
		 " isolate %" PRIu64 " migrate %" PRIu64 " verify %" PRIu64 " zero %" PRIu64
		 "; %u pieces (max %u pages, %u late)", b->name, size / MiB, ret ? "FAIL" : "ok",
		 (uint64_t)r.phys_addr, cause_name(r.ev.cause), (uint64_t)e->elapsed_us / 1000,
		 r.ev.ranges_tried, (uint64_t)e->pages_in_use, (uint64_t)e->pages_migrated,
		 (uint64_t)e->migrate_failed, (uint64_t)e->scan_us / 1000,
		 (uint64_t)e->isolate_us / 1000, (uint64_t)e->migrate_us / 1000,
		 (uint64_t)e->verify_us / 1000, (uint64_t)e->zero_us / 1000, e->pieces,
		 e->piece_pages_max, e->pieces_late);
	if (!ret && vcma_release(fd, r.grant_id))
		tap_bail("release of grant %" PRIu64 " failed", (uint64_t)r.grant_id);
}

static void tight_round(struct tight_stats *b, const char *params, const uint64_t *sizes,
			unsigned int nsizes, uint32_t deadline_ms)
{
	struct vcma_ioc_evac e;
	unsigned int i;
	int fd, ret;

	ret = vcma_load(params);
	if (ret)
		tap_bail("insmod vcma.ko %s: %s", params, strerror(-ret));
	fd = vcma_open();
	for (i = 0; i < nsizes; i++)
		one_request(fd, b, sizes[i], deadline_ms, &e);
	close(fd);
	ret = vcma_unload();
	if (ret)
		tap_bail("rmmod: %s", strerror(-ret));
}

static double div0(double a, double b)
{
	return b > 0 ? a / b : 0;
}

static void print_table(struct tight_stats *st, double memcpy_bw, unsigned int rounds,
			unsigned int nsizes)
{
	double succ[2], att[2], mig[2], p50[2], p99[2], bw[2];
	static const char *const left_names[5] = {
		"pinned", "writeback", "bh", "refcount", "unmovable"
	};
	unsigned int k, c;

	for (k = 0; k < 2; k++) {
		succ[k] = div0(100.0 * st[k].ok, st[k].requests);
		att[k] = div0(st[k].tried, st[k].ok);
		mig[k] = div0((double)st[k].migrated, st[k].ok);
		p50[k] = pct_ms(&st[k], 50);
		p99[k] = pct_ms(&st[k], 99);
		bw[k] = div0((double)st[k].migrated * 4096 / MiB * 1e6, (double)st[k].evac_us);
	}
	printf("\nvcma.ko planner vs naive, tight guest (free < 15%% of RAM), %u rounds x %u "
	       "sizes (naturally aligned), same boot, order alternating\n\n", rounds, nsizes);
	printf("%-15s %8s %8s %13s %15s %9s %9s %11s\n", "strategy", "requests", "success%",
	       "attempts/grant", "migrated/grant", "p50 ms", "p99 ms", "evac MiB/s");
	for (k = 0; k < 2; k++)
		printf("%-15s %8u %8.1f %13.2f %15.1f %9.1f %9.1f %11.1f\n", st[k].name,
		       st[k].requests, succ[k], att[k], mig[k], p50[k], p99[k], bw[k]);
	printf("%-15s %8s %8.2f %13.2f %15.2f %9.2f %9.2f %11.2f\n", "planner/naive", "",
	       div0(succ[0], succ[1]), div0(att[0], att[1]), div0(mig[0], mig[1]),
	       div0(p50[0], p50[1]), div0(p99[0], p99[1]), div0(bw[0], bw[1]));
	printf("\nguest memcpy: %.1f MiB/s; evacuation/memcpy: planner %.2f, naive %.2f "
	       "(evacuation: pages migrated over isolate+migrate+verify time)\n",
	       memcpy_bw, div0(bw[0], memcpy_bw), div0(bw[1], memcpy_bw));
	for (k = 0; k < 2; k++) {
		double all = (double)st[k].elapsed_us;

		printf("%-7s time of granted requests: scan %.0f%%, isolate %.0f%%, migrate %.0f%%,"
		       " verify %.0f%%, zero %.0f%%, other %.0f%%; migrate_pages alone %.1f MiB/s\n",
		       st[k].name, div0(100.0 * st[k].scan_us, all),
		       div0(100.0 * st[k].isolate_us, all), div0(100.0 * st[k].migrate_us, all),
		       div0(100.0 * st[k].verify_us, all), div0(100.0 * st[k].zero_us, all),
		       div0(100.0 * (all - st[k].scan_us - st[k].isolate_us - st[k].migrate_us -
				     st[k].verify_us - st[k].zero_us), all),
		       div0((double)st[k].migrated * 4096 / MiB * 1e6, (double)st[k].migrate_us));
		printf("%-7s %u failed attempts, causes:", st[k].name, st[k].failed_attempts);
		for (c = 1; c < NR_CAUSES; c++)
			if (st[k].cause[c])
				printf(" %s %u", cause_name(c), st[k].cause[c]);
		printf("; pages left where pieces failed:");
		for (c = 0; c < 5; c++)
			printf(" %s %" PRIu64, left_names[c], st[k].left[c]);
		printf("\n");
	}
	printf("\n");
}

/* A short deadline under pressure: at most one piece may end after it. */
static void deadline_check(const char *params, const char *name, uint32_t deadline_ms)
{
	struct tight_stats b = { .name = name };
	struct vcma_ioc_evac e;
	int fd;

	if (vcma_load(params))
		tap_bail("insmod vcma.ko %s failed", params);
	fd = vcma_open();
	one_request(fd, &b, 256 * MiB, deadline_ms, &e);
	close(fd);
	if (vcma_unload())
		tap_bail("rmmod failed");
	tap_ok(e.pieces_late <= 1,
	       "%s, 256 MiB with a %u ms deadline: %u of %u pieces ended after it (at most 1), "
	       "overrun %" PRId64 " ms (%.0f%% of the deadline), largest piece %u pages",
	       name, deadline_ms, e.pieces_late, e.pieces,
	       ((int64_t)e.elapsed_us - (int64_t)e.deadline_us) / 1000,
	       div0(100.0 * ((double)e.elapsed_us - (double)e.deadline_us), (double)e.deadline_us),
	       e.piece_pages_max);
}

int scenario_tight(int argc, char **argv)
{
	struct tight_stats st[2] = { { .name = "planner" }, { .name = "naive" } };
	static const char *const params[2] = { "strategy=planner", "strategy=naive" };
	unsigned int rounds = argc > 1 ? (unsigned int)atoi(argv[1]) : 1;
	uint64_t max = (argc > 2 ? (uint64_t)atoi(argv[2]) : 256) * MiB;
	unsigned int step = argc > 3 ? (unsigned int)atoi(argv[3]) : 2;
	uint32_t deadline_ms = argc > 4 ? (uint32_t)atoi(argv[4]) : 20000;
	uint64_t sizes[16], total, free_now;
	unsigned int nsizes = 0, round, k;
	struct filler *f = calloc(1, sizeof(*f));
	struct workload w;
	double bw;

	if (!f || !rounds || rounds > 10 || max < 2 * MiB || max > 512 * MiB || step < 2 ||
	    !deadline_ms)
		tap_bail("tight: ROUNDS 1..10, MAX_MIB 2..512, STEP >= 2, DEADLINE_MS > 0");
	for (total = max; total >= 2 * MiB && nsizes < 16; total /= step)
		sizes[nsizes++] = total;
	bw = memcpy_mib_s();
	workload_start(&w, 320 * MiB);
	fill_cache();
	total = meminfo_bytes("MemTotal");
	fill_memory(f, total * FILL_FREE_PCT / 100);
	free_now = free_bytes();
	tap_diag("filled %u MiB, every %dth page given back: free %" PRIu64 " MiB of %" PRIu64 " MiB (%.1f%%), available %"
		 PRIu64 " MiB", (unsigned int)(f->nr * FILL_CHUNK / MiB), PUNCH_EVERY, free_now / MiB,
		 total / MiB, 100.0 * (double)free_now / (double)total,
		 meminfo_bytes("MemAvailable") / MiB);
	tap_ok(free_now * 100 < total * 15, "free memory below 15%% of RAM before the requests");
	if (vcma_load(""))
		tap_bail("insmod vcma.ko failed");
	show_obstacles();
	if (vcma_unload())
		tap_bail("rmmod vcma failed");

	for (round = 0; round < rounds; round++)
		for (k = 0; k < 2; k++)
			tight_round(&st[(round + k) % 2], params[(round + k) % 2], sizes, nsizes,
				    deadline_ms);
	deadline_check("strategy=naive", "naive", 500);
	deadline_check("strategy=planner", "planner", 500);
	workload_stop(&w);
	print_table(st, bw, rounds, nsizes);
	for (k = 0; k < 2; k++) {
		tap_ok(st[k].ok > 0, "%s granted %u of %u", st[k].name, st[k].ok, st[k].requests);
		tap_ok(!st[k].inexact, "%s: evidence exact for every request (%u not)",
		       st[k].name, st[k].inexact);
		tap_ok(!st[k].over_in_use,
		       "%s: no request migrated more pages than its ranges held in use", st[k].name);
		tap_ok(st[k].late_max <= 1, "%s: at most one piece after the deadline (%u)",
		       st[k].name, st[k].late_max);
	}
	tap_ok(st[0].migrated_all + st[1].migrated_all > 0, "the requests had to evacuate: %"
	       PRIu64 " pages migrated over all requests", st[0].migrated_all + st[1].migrated_all);
	verify_workload(&w, "after the tight requests");
	verify_filler(f);
	return tap_done();
}

/* nr_hugepages of the 1 GiB pool, or -1 when there is none. */
static long gig_pool(long set)
{
	const char *path = "/sys/kernel/mm/hugepages/hugepages-1048576kB/nr_hugepages";
	char buf[32];
	FILE *fp;

	if (set >= 0) {
		fp = fopen(path, "w");
		if (!fp)
			return -1;
		fprintf(fp, "%ld\n", set);
		if (fclose(fp))
			return -1;
	}
	if (sysfs_str(path, buf, sizeof(buf)))
		return -1;
	return atol(buf);
}

static void gig_vcma(int fd, const char *when)
{
	struct vcma_ioc_reserve r;
	struct vcma_ioc_evac e;
	int ret = vcma_reserve(fd, 1024 * MiB, 1024 * MiB, 0, 120000, "gig", &r);

	vcma_evidence(fd, &e);
	tap_diag("vcma 1 GiB (%s): %s at %#" PRIx64 ", cause %s, %" PRIu64 " ms, %u tried, %"
		 PRIu64 " migrated, left pinned %" PRIu64 " writeback %" PRIu64 " bh %" PRIu64
		 " refcount %" PRIu64 " unmovable %" PRIu64, when, ret ? strerror(-ret) : "ok",
		 (uint64_t)r.phys_addr, cause_name(r.ev.cause), (uint64_t)e.elapsed_us / 1000,
		 r.ev.ranges_tried, (uint64_t)e.pages_migrated, (uint64_t)e.left_pinned,
		 (uint64_t)e.left_writeback, (uint64_t)e.left_bh, (uint64_t)e.left_refcount,
		 (uint64_t)e.left_unmovable);
	printf("RESULT vcma-1G %s: %s, cause %s, %.1f s, %" PRIu64 " pages migrated\n", when,
	       ret ? "FAIL" : "ok", cause_name(r.ev.cause), (double)e.elapsed_us / 1e6,
	       (uint64_t)e.pages_migrated);
	if (!ret)
		vcma_release(fd, r.grant_id);
	tap_ok(ret == 0 || r.ev.cause != 0, "1 GiB (%s): granted, or failed with a cause", when);
}

int scenario_gig(int argc, char **argv)
{
	struct workload w;
	uint64_t t0;
	long got;
	int fd;

	(void)argc;
	(void)argv;
	workload_start(&w, 320 * MiB);
	if (vcma_load(""))
		tap_bail("insmod vcma.ko failed");
	fd = vcma_open();
	gig_vcma(fd, "first");
	t0 = now_us();
	got = gig_pool(1);
	printf("RESULT hugetlb-1G: %ld page(s) after echo 1 > nr_hugepages, %.1f s\n", got,
	       (double)(now_us() - t0) / 1e6);
	tap_ok(got >= 0, "the kernel's 1 GiB hugetlb pool is there (%ld pages)", got);
	if (got > 0)
		gig_pool(0);
	gig_vcma(fd, "after hugetlb");
	close(fd);
	tap_ok(vcma_unload() == 0, "rmmod");
	workload_stop(&w);
	verify_workload(&w, "after the 1 GiB requests");
	return tap_done();
}
