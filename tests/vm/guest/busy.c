// SPDX-License-Identifier: GPL-2.0-only OR MIT
/*
 * The busy guest: a real workload that puts every obstacle of contiguous
 * allocation into memory at once, then reservations on top of it.
 *
 *   - ext4 with 1 KiB blocks on the scratch disk: thousands of small
 *     written files (page cache with buffer heads) and a metadata walk;
 *   - tmpfs files and anonymous memory, all carrying known patterns;
 *   - O_DIRECT reads in flight (short-lived page references);
 *   - io_uring registered buffers (FOLL_LONGTERM pins), spread out;
 *   - churn threads creating files and faulting fresh anonymous pages, so
 *     per-CPU LRU caches always hold some pages.
 *
 * "busy" checks that the obstacles are really there (page class counts from
 * the module's debugfs scan), that reservations succeed around them, and
 * that afterwards every pattern verifies and every pinned page kept its
 * physical frame and data. "bench" runs the same workload and compares the
 * planner with the naive first-fit strategy in the same boot.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <linux/io_uring.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <unistd.h>

#include "busy.h"
#include "scenarios.h"
#include "vmtest.h"
#include "workload.h"

#define TMPFS_DIR	"/mnt/tmpfs"
#define ANON_CHUNK	(64 * 1024)
#define NR_DIRS		24
#define FILES_PER_DIR	100
#define BIG_FILE_SIZE	(48 * MiB)
#define TMPFS_FILES	4
#define TMPFS_FILE_SIZE	(16 * MiB)
#define DIO_SIZE	(256 * 1024)

/* Page classes in enum vcma_page_class order (guest-driver/core). */
enum { PC_BUFFERS = 5, PC_PAGEVEC = 4, PC_PINNED = 8, NR_PC = 13 };

static uint64_t file_seed(int dir, int file)
{
	return ((uint64_t)dir << 32) | (uint64_t)file;
}

static size_t small_file_size(int dir, int file)
{
	return 1024 + (size_t)((dir * 7 + file * 13) % 12) * 1024;
}

static int write_file(const char *path, size_t size, uint64_t seed)
{
	void *buf = malloc(size);
	int fd, ret = 0;

	if (!buf)
		return -ENOMEM;
	fill_pattern(buf, size, seed);
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
	if (fd < 0 || write(fd, buf, size) != (ssize_t)size)
		ret = -errno;
	if (fd >= 0)
		close(fd);
	free(buf);
	return ret;
}

static bool file_matches(const char *path, size_t size, uint64_t seed)
{
	void *buf = malloc(size);
	bool ok = false;
	int fd = open(path, O_RDONLY);

	if (buf && fd >= 0 && read(fd, buf, size) == (ssize_t)size)
		ok = check_pattern(buf, size, seed);
	if (fd >= 0)
		close(fd);
	free(buf);
	return ok;
}

static int setup_disk(struct workload *w)
{
	char path[128];
	int d, f, ret;

	for (d = 0; d < NR_DIRS; d++) {
		snprintf(path, sizeof(path), DISK_DIR "/d%02d", d);
		if (mkdir(path, 0755) && errno != EEXIST)
			return -errno;
		for (f = 0; f < FILES_PER_DIR; f++) {
			snprintf(path, sizeof(path), DISK_DIR "/d%02d/f%03d", d, f);
			ret = write_file(path, small_file_size(d, f), file_seed(d, f));
			if (ret)
				return ret;
		}
	}
	ret = write_file(DISK_DIR "/big", BIG_FILE_SIZE, 0xb16);
	if (ret)
		return ret;
	sync();
	w->disk = true;
	return 0;
}

static int setup_tmpfs(void)
{
	char path[64];
	int i, ret;

	mkdir(TMPFS_DIR, 0755);
	if (mount("tmpfs", TMPFS_DIR, "tmpfs", 0, "size=128m") && errno != EBUSY)
		return -errno;
	for (i = 0; i < TMPFS_FILES; i++) {
		snprintf(path, sizeof(path), TMPFS_DIR "/t%d", i);
		ret = write_file(path, TMPFS_FILE_SIZE, 0x7e00 + (uint64_t)i);
		if (ret)
			return ret;
	}
	return 0;
}

static int io_uring_setup(unsigned int entries, struct io_uring_params *p)
{
	return (int)syscall(__NR_io_uring_setup, entries, p);
}

static int io_uring_register(int fd, unsigned int op, void *arg, unsigned int nr)
{
	return (int)syscall(__NR_io_uring_register, fd, op, arg, nr);
}

/*
 * Long-term pins spread over memory: each pinned buffer is allocated after
 * a slice of the anonymous area, so the buffers land far apart.
 */
static int setup_anon_and_pins(struct workload *w, size_t anon_size)
{
	struct iovec iov[NR_PINS];
	struct io_uring_params p;
	size_t slice = anon_size / NR_PINS, off;
	int i, j;

	w->anon_size = anon_size;
	w->anon = mmap(NULL, anon_size, PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (w->anon == MAP_FAILED)
		return -errno;
	madvise(w->anon, anon_size, MADV_NOHUGEPAGE);
	for (i = 0; i < NR_PINS; i++) {
		for (off = (size_t)i * slice; off < (size_t)(i + 1) * slice; off += ANON_CHUNK)
			fill_pattern(w->anon + off, ANON_CHUNK, off);
		w->pins[i] = mmap(NULL, PIN_SIZE, PROT_READ | PROT_WRITE,
				  MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
		if (w->pins[i] == MAP_FAILED)
			return -errno;
		fill_pattern(w->pins[i], PIN_SIZE, 0x919 + (uint64_t)i);
		iov[i].iov_base = w->pins[i];
		iov[i].iov_len = PIN_SIZE;
	}
	memset(&p, 0, sizeof(p));
	w->ring_fd = io_uring_setup(4, &p);
	if (w->ring_fd < 0)
		return -errno;
	if (io_uring_register(w->ring_fd, IORING_REGISTER_BUFFERS, iov, NR_PINS))
		return -errno;
	/* Pinning may have moved them (out of ZONE_MOVABLE): record after. */
	for (i = 0; i < NR_PINS; i++)
		for (j = 0; j < PIN_SIZE / 4096; j++)
			w->pin_pfns[i][j] = virt_to_pfn((uint8_t *)w->pins[i] + j * 4096);
	return 0;
}

static void *dio_thread(void *arg)
{
	struct workload *w = arg;
	void *buf = NULL;
	off_t off = 0;
	int fd = open(DISK_DIR "/big", O_RDONLY | O_DIRECT);

	if (fd < 0 || posix_memalign(&buf, 4096, DIO_SIZE)) {
		atomic_fetch_add(&w->thread_errors, 1);
		goto out;
	}
	while (!atomic_load(&w->stop)) {
		if (pread(fd, buf, DIO_SIZE, off) != DIO_SIZE ||
		    !check_pattern(buf, DIO_SIZE, 0xb16 + (uint64_t)off / 8)) {
			atomic_fetch_add(&w->thread_errors, 1);
			break;
		}
		off = (off + DIO_SIZE) % BIG_FILE_SIZE;
		atomic_fetch_add(&w->dio_reads, 1);
	}
out:
	free(buf);
	if (fd >= 0)
		close(fd);
	return NULL;
}

/* Metadata walk plus reads of the small files: buffer heads in use. */
static void *walk_thread(void *arg)
{
	struct workload *w = arg;
	char path[300], buf[16384];
	struct dirent *de;
	struct stat st;
	int d = 0, fd;
	DIR *dir;

	while (!atomic_load(&w->stop)) {
		snprintf(path, sizeof(path), DISK_DIR "/d%02d", d);
		dir = opendir(path);
		while (dir && (de = readdir(dir))) {
			snprintf(path, sizeof(path), DISK_DIR "/d%02d/%s", d, de->d_name);
			if (stat(path, &st) || !S_ISREG(st.st_mode))
				continue;
			fd = open(path, O_RDONLY);
			if (fd >= 0) {
				if (read(fd, buf, sizeof(buf)) < 0)
					atomic_fetch_add(&w->thread_errors, 1);
				close(fd);
			}
		}
		if (dir)
			closedir(dir);
		d = (d + 1) % NR_DIRS;
		atomic_fetch_add(&w->walks, 1);
	}
	return NULL;
}

/* New page-cache and anonymous pages all the time: the LRU caches are never empty. */
static void *churn_thread(void *arg)
{
	struct workload *w = arg;
	const char *dirs[] = { DISK_DIR, TMPFS_DIR };
	char path[64];
	unsigned long n = 0;
	uint8_t *p;
	size_t i;

	while (!atomic_load(&w->stop)) {
		snprintf(path, sizeof(path), "%s/churn%lu", dirs[n % 2], n % 8);
		if (write_file(path, 32 * 1024, n))
			atomic_fetch_add(&w->thread_errors, 1);
		p = mmap(NULL, 2 * MiB, PROT_READ | PROT_WRITE,
			 MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
		if (p != MAP_FAILED) {
			for (i = 0; i < 2 * MiB; i += 4096)
				p[i] = (uint8_t)i;
			munmap(p, 2 * MiB);
		}
		n++;
		atomic_fetch_add(&w->churns, 1);
	}
	return NULL;
}

static bool grep_mounted(const char *dir)
{
	char line[256], pat[80];
	bool found = false;
	FILE *f = fopen("/proc/mounts", "r");

	snprintf(pat, sizeof(pat), " %s ", dir);
	while (f && !found && fgets(line, sizeof(line), f))
		found = strstr(line, pat) != NULL;
	if (f)
		fclose(f);
	return found;
}

int workload_start(struct workload *w, size_t anon_size)
{
	void *(*fn[])(void *) = { dio_thread, walk_thread, churn_thread };
	int ret, i;

	memset(w, 0, sizeof(*w));
	w->ring_fd = -1;
	if (!grep_mounted(DISK_DIR))
		tap_bail("no scratch disk at " DISK_DIR " (vm-run --disk)");
	ret = setup_disk(w);
	if (ret)
		tap_bail("ext4 workload setup: %s", strerror(-ret));
	ret = setup_tmpfs();
	if (ret)
		tap_bail("tmpfs workload setup: %s", strerror(-ret));
	ret = setup_anon_and_pins(w, anon_size);
	if (ret)
		tap_bail("anon/io_uring setup: %s", strerror(-ret));
	for (i = 0; i < 3; i++) {
		if (pthread_create(&w->threads[i], NULL, fn[i], w))
			tap_bail("pthread_create failed");
		w->nr_threads++;
	}
	usleep(500 * 1000);
	return 0;
}

void workload_stop(struct workload *w)
{
	int i;

	atomic_store(&w->stop, true);
	for (i = 0; i < w->nr_threads; i++)
		pthread_join(w->threads[i], NULL);
	w->nr_threads = 0;
}

/* Every pinned page kept its frame and its data. */
static bool pins_intact(const struct workload *w, int *moved, int *corrupt)
{
	int i, j;

	*moved = *corrupt = 0;
	for (i = 0; i < NR_PINS; i++) {
		for (j = 0; j < PIN_SIZE / 4096; j++)
			if (virt_to_pfn((uint8_t *)w->pins[i] + j * 4096) != w->pin_pfns[i][j])
				(*moved)++;
		if (!check_pattern(w->pins[i], PIN_SIZE, 0x919 + (uint64_t)i))
			(*corrupt)++;
	}
	return !*moved && !*corrupt;
}

void verify_workload(const struct workload *w, const char *when)
{
	char path[128];
	int bad = 0, d, f, i, moved, corrupt;
	bool intact;
	size_t off;

	for (off = 0; off + ANON_CHUNK <= w->anon_size; off += ANON_CHUNK)
		if (!check_pattern(w->anon + off, ANON_CHUNK, off))
			bad++;
	tap_ok(!bad, "%s: anonymous memory checksums verify (%zu MiB, %d bad chunks)",
	       when, w->anon_size / MiB, bad);
	for (bad = 0, i = 0; i < TMPFS_FILES; i++) {
		snprintf(path, sizeof(path), TMPFS_DIR "/t%d", i);
		bad += !file_matches(path, TMPFS_FILE_SIZE, 0x7e00 + (uint64_t)i);
	}
	tap_ok(!bad, "%s: tmpfs files verify (%d bad)", when, bad);
	for (bad = 0, d = 0; d < NR_DIRS; d++)
		for (f = 0; f < FILES_PER_DIR; f++) {
			snprintf(path, sizeof(path), DISK_DIR "/d%02d/f%03d", d, f);
			bad += !file_matches(path, small_file_size(d, f), file_seed(d, f));
		}
	bad += !file_matches(DISK_DIR "/big", BIG_FILE_SIZE, 0xb16);
	tap_ok(!bad, "%s: ext4 files verify (%d bad of %d)", when, bad,
	       NR_DIRS * FILES_PER_DIR + 1);
	intact = pins_intact(w, &moved, &corrupt);
	tap_ok(intact, "%s: io_uring-pinned buffers kept their frames and data (%d pages moved, %d buffers corrupt)",
	       when, moved, corrupt);
}

/* Per-class counts from the module's full scan (debugfs). */
static int read_page_classes(uint64_t counts[NR_PC])
{
	char line[128];
	int i = 0;
	FILE *f = fopen("/sys/kernel/debug/vcma/page_classes", "r");

	if (!f)
		return -errno;
	while (i < NR_PC && fgets(line, sizeof(line), f)) {
		char *sp = strrchr(line, ' ');

		counts[i++] = sp ? strtoull(sp + 1, NULL, 10) : 0;
	}
	fclose(f);
	return i == NR_PC ? 0 : -EIO;
}

void show_obstacles(void)
{
	uint64_t c[NR_PC], max_bh = 0, max_pv = 0, max_pin = 0;
	int i;

	for (i = 0; i < 5; i++) {
		if (read_page_classes(c)) {
			tap_ok(false, "debugfs vcma/page_classes readable");
			return;
		}
		max_bh = c[PC_BUFFERS] > max_bh ? c[PC_BUFFERS] : max_bh;
		max_pv = c[PC_PAGEVEC] > max_pv ? c[PC_PAGEVEC] : max_pv;
		max_pin = c[PC_PINNED] > max_pin ? c[PC_PINNED] : max_pin;
		usleep(100 * 1000);
	}
	tap_diag("before the requests (max of 5 scans): %" PRIu64 " buffer-head pages, %"
		 PRIu64 " pagevec-held pages, %" PRIu64 " pinned pages",
		 max_bh, max_pv, max_pin);
	tap_ok(max_bh > 0, "buffer-head pages in play: %" PRIu64, max_bh);
	tap_ok(max_pv > 0, "pagevec-held pages in play: %" PRIu64, max_pv);
	tap_ok(max_pin >= NR_PINS * PIN_SIZE / 4096,
	       "pinned pages in play: %" PRIu64 " (io_uring registered %d)",
	       max_pin, NR_PINS * PIN_SIZE / 4096);
}

/* After a failed request: what a full scan sees right now, for the log. */
void diag_page_classes(void)
{
	static const char *const names[NR_PC] = {
		"free", "lru_anon", "lru_file", "lru_shmem", "pagevec", "buffers", "dirty",
		"writeback", "pinned", "unmovable", "hole", "owned", "other_movable",
	};
	uint64_t c[NR_PC];
	int i;

	if (read_page_classes(c))
		return;
	for (i = 0; i < NR_PC; i++)
		tap_diag("  after the failure: %" PRIu64 " %s pages", c[i], names[i]);
}

/* How many of the aligned windows of that size hold a pinned page. */
static unsigned int windows_with_pins(const struct workload *w, uint64_t window)
{
	uint64_t seen[NR_PINS * PIN_SIZE / 4096];
	unsigned int n = 0, i, j, k;

	for (i = 0; i < NR_PINS; i++)
		for (j = 0; j < PIN_SIZE / 4096; j++) {
			uint64_t win = w->pin_pfns[i][j] * 4096 / window;

			for (k = 0; k < n && seen[k] != win; k++)
				;
			if (k == n)
				seen[n++] = win;
		}
	return n;
}

/* A grant never covers a pinned frame: the planner went around them. */
static bool grant_avoids_pins(const struct workload *w, const struct vcma_ioc_reserve *r)
{
	int i, j;

	for (i = 0; i < NR_PINS; i++)
		for (j = 0; j < PIN_SIZE / 4096; j++) {
			uint64_t pa = w->pin_pfns[i][j] * 4096;

			if (pa >= r->phys_addr && pa < r->phys_addr + r->granted_size)
				return false;
		}
	return true;
}

struct workload *busy_workload_start(size_t anon_size)
{
	struct workload *w = malloc(sizeof(*w));

	if (!w)
		tap_bail("out of memory");
	workload_start(w, anon_size);
	tap_diag("busy workload: %zu MiB anon, %d tmpfs x %" PRIu64 " MiB, %d ext4 files + %" PRIu64
		 " MiB, %d io_uring buffers x %d KiB, O_DIRECT, walk and churn threads",
		 w->anon_size / MiB, TMPFS_FILES, TMPFS_FILE_SIZE / MiB, NR_DIRS * FILES_PER_DIR,
		 BIG_FILE_SIZE / MiB, NR_PINS, PIN_SIZE / 1024);
	return w;
}

void busy_workload_stop(struct workload *w, const char *when)
{
	workload_stop(w);
	tap_ok(!atomic_load(&w->thread_errors) && atomic_load(&w->dio_reads) > 0 &&
	       atomic_load(&w->churns) > 0,
	       "%s: workload threads ran without errors (%lu O_DIRECT reads, %lu walks, %lu churns)",
	       when, atomic_load(&w->dio_reads), atomic_load(&w->walks), atomic_load(&w->churns));
	verify_workload(w, when);
	free(w);
}

int scenario_busy(int argc, char **argv)
{
	static const uint64_t sizes[] = { 32 * MiB, 32 * MiB, 32 * MiB, 32 * MiB, 64 * MiB };
	struct vcma_ioc_reserve r[sizeof(sizes) / sizeof(sizes[0])];
	uint64_t migrated = 0;
	unsigned int pinned_met = 0;
	struct workload w;
	size_t i;
	int fd, ret, moved, corrupt;
	bool intact;

	(void)argc;
	(void)argv;
	ret = vcma_load("");
	if (ret)
		tap_bail("insmod vcma.ko: %s", strerror(-ret));
	workload_start(&w, 320 * MiB);
	tap_diag("workload: %zu MiB anon, %d tmpfs x %" PRIu64 " MiB, %d ext4 files + %" PRIu64
		 " MiB, %d io_uring buffers x %d KiB", w.anon_size / MiB, TMPFS_FILES,
		 TMPFS_FILE_SIZE / MiB, NR_DIRS * FILES_PER_DIR, BIG_FILE_SIZE / MiB,
		 NR_PINS, PIN_SIZE / 1024);
	show_obstacles();
	tap_diag("the pinned pages sit in %u of the %" PRIu64 " aligned 32 MiB windows of RAM",
		 windows_with_pins(&w, 32 * MiB), meminfo_bytes("MemTotal") / (32 * MiB));

	fd = vcma_open();
	for (i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
		ret = vcma_reserve(fd, sizes[i], 2 * MiB, 0, 30000, "busy", &r[i]);
		tap_ok(ret == 0,
		       "busy reserve %" PRIu64 " MiB: %s at %#" PRIx64 ", cause %s, %" PRIu64
		       " ms, %u scanned, %u tried, %" PRIu64 " migrated, %u pinned met, %u bh inval, %u retries",
		       sizes[i] / MiB, ret ? strerror(-ret) : "ok", (uint64_t)r[i].phys_addr,
		       cause_name(r[i].ev.cause), (uint64_t)r[i].ev.elapsed_us / 1000,
		       r[i].ev.ranges_scanned, r[i].ev.ranges_tried,
		       (uint64_t)r[i].ev.pages_migrated, r[i].ev.pinned_met,
		       r[i].ev.bh_invalidations, r[i].ev.retries);
		if (ret) {
			r[i].grant_id = 0;
			diag_page_classes();
		} else {
			tap_ok(grant_avoids_pins(&w, &r[i]), "grant %" PRIu64 " covers no pinned frame",
			       (uint64_t)r[i].grant_id);
		}
		migrated += r[i].ev.pages_migrated;
		pinned_met += r[i].ev.pinned_met;
	}
	tap_diag("evidence: %" PRIu64 " pages migrated in total, %u pinned pages met",
		 migrated, pinned_met);
	intact = pins_intact(&w, &moved, &corrupt);
	tap_ok(intact, "while granted: pinned buffers kept frames and data (%d moved, %d corrupt)",
	       moved, corrupt);
	workload_stop(&w);
	tap_ok(!atomic_load(&w.thread_errors),
	       "workload threads saw no errors (%lu O_DIRECT reads, %lu walks, %lu churns)",
	       atomic_load(&w.dio_reads), atomic_load(&w.walks), atomic_load(&w.churns));
	tap_ok(atomic_load(&w.dio_reads) > 0 && atomic_load(&w.walks) > 0,
	       "O_DIRECT reads and the metadata walk ran during the requests");
	for (i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++)
		if (r[i].grant_id)
			tap_ok(vcma_release(fd, r[i].grant_id) == 0, "release grant %" PRIu64,
			       (uint64_t)r[i].grant_id);
	verify_workload(&w, "after release");
	close(fd);
	tap_ok(vcma_unload() == 0, "rmmod");
	return tap_done();
}

struct bench_stats {
	const char *name;
	unsigned int requests, ok, tried, pinned_met;
	uint64_t migrated;
	uint64_t lat_us[256];
};

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

/* Nearest-rank percentile of the latencies of successful requests. */
static double pct_ms(struct bench_stats *b, unsigned int pct)
{
	unsigned int rank;

	if (!b->ok)
		return 0;
	qsort(b->lat_us, b->ok, sizeof(b->lat_us[0]), cmp_u64);
	rank = (pct * b->ok + 99) / 100;
	return (double)b->lat_us[rank ? rank - 1 : 0] / 1000.0;
}

static void bench_round(struct bench_stats *b, const char *params, unsigned int nreq,
			uint64_t size)
{
	struct vcma_ioc_reserve r;
	uint64_t ids[64];
	unsigned int i, held = 0;
	int fd, ret;

	ret = vcma_load(params);
	if (ret)
		tap_bail("insmod vcma.ko %s: %s", params, strerror(-ret));
	fd = vcma_open();
	for (i = 0; i < nreq && i < 64; i++) {
		ret = vcma_reserve(fd, size, 2 * MiB, 0, 10000, b->name, &r);
		b->requests++;
		b->tried += r.ev.ranges_tried;
		b->pinned_met += r.ev.pinned_met;
		tap_diag("%-7s #%u: %-5s at %#10" PRIx64 " cause %-9s %6" PRIu64 " ms, %3u tried, %6"
			 PRIu64 " migrated, %4u pinned met, %u retries", b->name, i,
			 ret ? "FAIL" : "ok", (uint64_t)r.phys_addr, cause_name(r.ev.cause),
			 (uint64_t)r.ev.elapsed_us / 1000, r.ev.ranges_tried,
			 (uint64_t)r.ev.pages_migrated, r.ev.pinned_met, r.ev.retries);
		if (ret)
			continue;
		ids[held++] = r.grant_id;
		if (b->ok < sizeof(b->lat_us) / sizeof(b->lat_us[0]))
			b->lat_us[b->ok] = r.ev.elapsed_us;
		b->ok++;
		b->migrated += r.ev.pages_migrated;
	}
	for (i = 0; i < held; i++)
		if (vcma_release(fd, ids[i]))
			tap_bail("release of grant %" PRIu64 " failed", ids[i]);
	close(fd);
	ret = vcma_unload();
	if (ret)
		tap_bail("rmmod: %s", strerror(-ret));
}

static double ratio(double naive, double planner)
{
	return planner > 0 ? naive / planner : 0;
}

/*
 *   vcma-vmtest bench [ROUNDS [REQUESTS [SIZE_MIB]]]
 * Each round loads the module once per strategy (alternating, so both see
 * the same workload drift), holds REQUESTS grants of SIZE_MIB, releases.
 */
int scenario_bench(int argc, char **argv)
{
	struct bench_stats st[2] = { { .name = "planner" }, { .name = "naive" } };
	static const char *const params[2] = { "strategy=planner", "strategy=naive" };
	unsigned int rounds = argc > 1 ? (unsigned int)atoi(argv[1]) : 3;
	unsigned int nreq = argc > 2 ? (unsigned int)atoi(argv[2]) : 6;
	uint64_t size = (argc > 3 ? (uint64_t)atoi(argv[3]) : 32) * MiB;
	double mig[2], p50[2], p99[2], succ[2], tried[2];
	struct workload w;
	unsigned int round, k;

	if (!rounds || rounds > 20 || !nreq || nreq > 64 || !size || size > 512 * MiB)
		tap_bail("bench: ROUNDS 1..20, REQUESTS 1..64, SIZE_MIB 1..512");
	workload_start(&w, 320 * MiB);
	if (vcma_load(""))
		tap_bail("insmod vcma.ko failed");
	show_obstacles();
	if (vcma_unload())
		tap_bail("rmmod vcma failed");
	for (round = 0; round < rounds; round++)
		for (k = 0; k < 2; k++)
			bench_round(&st[(round + k) % 2], params[(round + k) % 2], nreq, size);
	workload_stop(&w);
	verify_workload(&w, "after the benchmark");

	for (k = 0; k < 2; k++) {
		succ[k] = st[k].requests ? 100.0 * st[k].ok / st[k].requests : 0;
		mig[k] = st[k].ok ? (double)st[k].migrated / st[k].ok : 0;
		tried[k] = st[k].requests ? (double)st[k].tried / st[k].requests : 0;
		p50[k] = pct_ms(&st[k], 50);
		p99[k] = pct_ms(&st[k], 99);
	}
	printf("\nvcma.ko planner vs naive, busy guest, %u rounds x %u requests of %" PRIu64
	       " MiB (2 MiB aligned), same boot\n\n", rounds, nreq, size / MiB);
	printf("%-14s %9s %9s %15s %10s %10s %13s %12s\n", "strategy", "requests",
	       "success%", "migrated/grant", "p50 ms", "p99 ms", "tried/request", "pinned met");
	for (k = 0; k < 2; k++)
		printf("%-14s %9u %9.1f %15.1f %10.1f %10.1f %13.2f %12u\n", st[k].name,
		       st[k].requests, succ[k], mig[k], p50[k], p99[k], tried[k],
		       st[k].pinned_met);
	printf("%-14s %9s %9.2f %15.2f %10.2f %10.2f %13.2f %12s\n", "naive/planner", "",
	       ratio(succ[1], succ[0]), ratio(mig[1], mig[0]), ratio(p50[1], p50[0]),
	       ratio(p99[1], p99[0]), ratio(tried[1], tried[0]), "");
	printf("\n(latency: the module's own elapsed time per successful request; pages "
	       "migrated: the kernel's pgmigrate_success during each evacuation)\n");
	tap_ok(st[0].ok > 0, "the planner granted something");
	return tap_done();
}
