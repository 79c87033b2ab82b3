// SPDX-License-Identifier: GPL-2.0-only OR MIT
/*
 * Guest side of the vcma.ko scenarios on an idle guest: reserve and release
 * of 2, 64 and 256 MiB with data through mmap, grant lifetime (survives
 * close, refused while mapped, freed by rmmod), bad ioctl inputs, and
 * requests that cannot be met. Each prints TAP.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <unistd.h>

#include "claims.h"
#include "scenarios.h"
#include "vmtest.h"

static void load_or_bail(const char *params)
{
	int ret = vcma_load(params);

	if (ret)
		tap_bail("insmod vcma.ko %s: %s", params, strerror(-ret));
}

/* vcma.ko loaded with params (or bail out) and /dev/vcma open. */
static int load_and_open(const char *params)
{
	load_or_bail(params);
	return vcma_open();
}

/* Within 1 MiB of where it was: what was granted came back. */
static bool free_is_back(uint64_t before, uint64_t after)
{
	return after + MiB >= before;
}

static void *map_grant(int fd, const struct vcma_ioc_reserve *r)
{
	void *p = mmap(NULL, r->granted_size, PROT_READ | PROT_WRITE, MAP_SHARED,
		       fd, (off_t)(r->grant_id * (uint64_t)getpagesize()));

	return p == MAP_FAILED ? NULL : p;
}

static bool all_zero(const void *buf, size_t len)
{
	const uint64_t *p = buf;
	size_t i;

	for (i = 0; i < len / 8; i++)
		if (p[i])
			return false;
	return true;
}

static void check_grant_sysfs(const struct vcma_ioc_reserve *r, const char *label)
{
	char path[128], buf[64];
	uint64_t phys = 0, size = 0;

	snprintf(path, sizeof(path), "/sys/kernel/vcma/grants/%" PRIu64 "/phys_addr",
		 (uint64_t)r->grant_id);
	if (!sysfs_str(path, buf, sizeof(buf)))
		phys = strtoull(buf, NULL, 0);
	snprintf(path, sizeof(path), "/sys/kernel/vcma/grants/%" PRIu64 "/size",
		 (uint64_t)r->grant_id);
	if (!sysfs_str(path, buf, sizeof(buf)))
		size = strtoull(buf, NULL, 0);
	tap_ok(phys == r->phys_addr && size == r->granted_size,
	       "%s: sysfs grants/%" PRIu64 " says %#" PRIx64 " +%" PRIu64,
	       label, (uint64_t)r->grant_id, phys, size);
	snprintf(path, sizeof(path), "/sys/kernel/vcma/grants/%" PRIu64 "/label",
		 (uint64_t)r->grant_id);
	tap_ok(!sysfs_str(path, buf, sizeof(buf)) && !strcmp(buf, label),
	       "%s: sysfs label reads back", label);
}

/* For the log: the lines of a /proc file from the first one holding marker on. */
static void diag_proc_from(const char *path, const char *marker)
{
	char line[256];
	bool on = false;
	FILE *f = fopen(path, "r");

	while (f && fgets(line, sizeof(line), f)) {
		on = on || strstr(line, marker);
		if (on)
			tap_diag("  %s: %.*s", path, (int)strcspn(line, "\n"), line);
	}
	if (f)
		fclose(f);
}

/*
 * Free memory of a freshly booted guest still moves by megabytes (deferred
 * frees, page cache settling), which would drown a 2 MiB grant: wait, within
 * bounds, until two readings a second apart agree within 256 KiB.
 */
static uint64_t settled_free_bytes(void)
{
	uint64_t a = free_bytes(), b = a;

	for (int i = 0; i < 10; i++) {
		sleep(1);
		b = free_bytes();
		if ((a > b ? a - b : b - a) < 256 * 1024)
			break;
		a = b;
	}
	return b;
}

static void idle_one(int fd, uint64_t size)
{
	struct vcma_ioc_reserve r;
	char label[32];
	uint64_t before, held, after;
	void *p;
	int ret;

	snprintf(label, sizeof(label), "idle-%" PRIu64 "M", size / MiB);
	before = settled_free_bytes();
	ret = vcma_reserve(fd, size, 0, 0, 0, label, &r);
	if (!tap_ok(ret == 0, "%s: reserve (%s), cause %s, %" PRIu64 " us, %u ranges scanned, %u tried, %" PRIu64 " pages migrated, %u retries",
		    label, ret ? strerror(-ret) : "ok", cause_name(r.ev.cause),
		    (uint64_t)r.ev.elapsed_us, r.ev.ranges_scanned, r.ev.ranges_tried,
		    (uint64_t)r.ev.pages_migrated, r.ev.retries)) {
		/* Which pageblocks the kernel gave to unmovable allocations. */
		diag_proc_from("/proc/pagetypeinfo", "Number of blocks type");
		return;
	}
	tap_ok(r.granted_size == size, "%s: granted size %" PRIu64, label,
	       (uint64_t)r.granted_size);
	tap_ok(r.phys_addr % size == 0, "%s: address %#" PRIx64 " naturally aligned",
	       label, (uint64_t)r.phys_addr);
	held = free_bytes();
	tap_ok(held + size <= before + MiB,
	       "%s: free memory fell by the grant (%" PRIu64 " -> %" PRIu64 " KiB)",
	       label, before / 1024, held / 1024);
	tap_ok(sysfs_num("nr_grants") == 1 &&
	       sysfs_num("bytes_held") == (int64_t)size,
	       "%s: sysfs nr_grants 1, bytes_held %" PRId64, label,
	       sysfs_num("bytes_held"));
	check_grant_sysfs(&r, label);

	p = map_grant(fd, &r);
	if (tap_ok(p != NULL, "%s: mmap the grant", label)) {
		tap_ok(all_zero(p, size), "%s: handed out zeroed", label);
		fill_pattern(p, size, size);
		munmap(p, size);
		p = map_grant(fd, &r);
		tap_ok(p && check_pattern(p, size, size),
		       "%s: data written through mmap reads back", label);
		if (p)
			munmap(p, size);
	}
	ret = vcma_release(fd, r.grant_id);
	tap_ok(ret == 0, "%s: release (%s)", label, ret ? strerror(-ret) : "ok");
	after = free_bytes();
	tap_ok(free_is_back(before, after),
	       "%s: free memory back within 1 MiB (%" PRIu64 " -> %" PRIu64 " KiB)",
	       label, before / 1024, after / 1024);
	ret = vcma_release(fd, r.grant_id);
	tap_ok(ret == -ENOENT, "%s: second release is ENOENT (%s)", label,
	       strerror(-ret));
}

static void version_check(int fd)
{
	struct vcma_ioc_version v;

	memset(&v, 0, sizeof(v));
	tap_ok(!ioctl(fd, VCMA_IOC_VERSION, &v) && v.abi_version == VCMA_ABI_VERSION &&
	       v.page_size == (uint32_t)getpagesize() && v.pageblock_order > 0,
	       "VERSION: abi %u, page %u, pageblock order %u, max order %u",
	       v.abi_version, v.page_size, v.pageblock_order, v.max_order);
}

/* Grants belong to the module: they outlive the fd and appear in LIST. */
static void lifetime_checks(void)
{
	struct vcma_ioc_grant g[4];
	struct vcma_ioc_list l;
	struct vcma_ioc_reserve a, b;
	uint64_t before, after;
	int fd = vcma_open();
	void *p;
	int ret;

	before = free_bytes();
	ret = vcma_reserve(fd, 4 * MiB, 0, 0, 0, "life-a", &a);
	ret = ret ? ret : vcma_reserve(fd, 8 * MiB, 2 * MiB, 0, 0, "life-b", &b);
	if (!tap_ok(ret == 0, "two grants (%s)", strerror(-ret)))
		return;
	close(fd);
	fd = vcma_open();
	memset(&l, 0, sizeof(l));
	l.argsz = sizeof(l);
	l.max_grants = 4;
	l.grants_ptr = (uintptr_t)g;
	ret = ioctl(fd, VCMA_IOC_LIST, &l) ? -errno : 0;
	tap_ok(ret == 0 && l.nr_grants == 2 && g[0].grant_id == a.grant_id &&
	       g[1].grant_id == b.grant_id && g[1].phys_addr == b.phys_addr &&
	       g[1].size == 8 * MiB && !strcmp(g[1].label, "life-b"),
	       "grants survive close of the fd and LIST shows them (%u)", l.nr_grants);
	l.max_grants = 0;
	l.grants_ptr = 0;
	tap_ok(!ioctl(fd, VCMA_IOC_LIST, &l) && l.nr_grants == 2,
	       "LIST with no room counts them");

	p = map_grant(fd, &a);
	tap_ok(p && vcma_release(fd, a.grant_id) == -EBUSY,
	       "release of a mapped grant is EBUSY");
	if (p)
		munmap(p, a.granted_size);
	tap_ok(vcma_release(fd, a.grant_id) == 0, "release after munmap");
	tap_ok(vcma_unload() != 0, "rmmod refused while /dev/vcma is open");
	close(fd);
	/* b is still held: unloading must give it back. */
	ret = vcma_unload();
	after = free_bytes();
	tap_ok(ret == 0, "rmmod with a grant outstanding (%s)", strerror(-ret));
	tap_ok(free_is_back(before, after),
	       "rmmod gave the memory back (%" PRIu64 " -> %" PRIu64 " KiB)",
	       before / 1024, after / 1024);
	load_or_bail("");
}

int scenario_idle(int argc, char **argv)
{
	static const uint64_t sizes[] = { 2 * MiB, 64 * MiB, 256 * MiB };
	char strat[16];
	size_t i;
	int fd;

	(void)argc;
	(void)argv;
	fd = load_and_open("");
	version_check(fd);
	if (sysfs_str("strategy", strat, sizeof(strat)))
		strcpy(strat, "?");
	tap_diag("MemTotal %" PRIu64 " KiB, free %" PRIu64 " KiB, strategy %s, floor %" PRId64
		 " pages", meminfo_bytes("MemTotal") / 1024, free_bytes() / 1024, strat,
		 sysfs_num("floor_pages"));
	for (i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++)
		idle_one(fd, sizes[i]);
	close(fd);
	lifetime_checks();
	tap_ok(vcma_unload() == 0, "final rmmod");
	return tap_done();
}

/* An ioctl on a struct expected to fail with want. */
static void expect_err(int fd, unsigned long cmd, void *arg, int want, const char *what)
{
	int ret = ioctl(fd, cmd, arg) ? errno : 0;

	tap_ok(ret == want, "%s: %s (want %s)", what, ret ? strerror(ret) : "success",
	       strerror(want));
}

static void bad_reserve(int fd, void (*tweak)(struct vcma_ioc_reserve *), int want,
			const char *what)
{
	struct vcma_ioc_reserve r;

	memset(&r, 0, sizeof(r));
	r.argsz = sizeof(r);
	r.size = 2 * MiB;
	r.node = VCMA_IOC_NODE_ANY;
	strcpy(r.label, "bad");
	tweak(&r);
	expect_err(fd, VCMA_IOC_RESERVE, &r, want, what);
}

static void t_argsz0(struct vcma_ioc_reserve *r) { r->argsz = 0; }
static void t_argsz_small(struct vcma_ioc_reserve *r) { r->argsz -= 8; }
static void t_argsz_big(struct vcma_ioc_reserve *r) { r->argsz += 8; }
static void t_size0(struct vcma_ioc_reserve *r) { r->size = 0; }
static void t_size_odd(struct vcma_ioc_reserve *r) { r->size = 4097; }
static void t_size_small(struct vcma_ioc_reserve *r) { r->size = 100; }
static void t_size_huge(struct vcma_ioc_reserve *r) { r->size = 1ull << 62; }
static void t_size_max(struct vcma_ioc_reserve *r) { r->size = ~0ull & ~4095ull; }
static void t_align3(struct vcma_ioc_reserve *r) { r->align = 3 * 4096; }
static void t_align_small(struct vcma_ioc_reserve *r) { r->align = 2048; }
static void t_align_huge(struct vcma_ioc_reserve *r) { r->align = 1ull << 63; }
static void t_flags(struct vcma_ioc_reserve *r) { r->flags = 1u << 7; }
static void t_flags_top(struct vcma_ioc_reserve *r) { r->flags = 1u << 31; }
static void t_node(struct vcma_ioc_reserve *r) { r->node = 7; }
static void t_deadline(struct vcma_ioc_reserve *r) { r->deadline_ms = 0xffffffffu; }
static void t_label(struct vcma_ioc_reserve *r) { memset(r->label, 'x', sizeof(r->label)); }
static void t_limit_odd(struct vcma_ioc_reserve *r) { r->max_addr = 256 * MiB + 512; }
static void t_limit_small(struct vcma_ioc_reserve *r) { r->max_addr = 1 * MiB; }

/*
 * Address-limited RESERVE: the module says it takes max_addr, honours it,
 * shows it in sysfs, fails an unmeetable limit at once with its own errno
 * and cause, and still takes ABI 1's RESERVE without the field.
 */
static void limit_checks(int fd)
{
	struct vcma_ioc_features f = { .argsz = sizeof(f) };
	struct vcma_ioc_reserve r;
	int64_t fails = sysfs_num("fail_addr_limit");
	char path[96], buf[64];
	int ret;

	ret = ioctl(fd, VCMA_IOC_FEATURES, &f) ? -errno : 0;
	tap_ok(!ret && (f.features & VCMA_FEAT_ADDR_LIMIT) && (f.features & VCMA_FEAT_CLAIMS),
	       "FEATURES: %#" PRIx64 " (addr limit, claims) (%s)", (uint64_t)f.features,
	       ret ? strerror(-ret) : "ok");
	f.reserved = 1;
	expect_err(fd, VCMA_IOC_FEATURES, &f, EINVAL, "FEATURES reserved non-zero");

	memset(&r, 0, sizeof(r));
	r.argsz = sizeof(r);
	r.size = 2 * MiB;
	r.node = VCMA_IOC_NODE_ANY;
	r.max_addr = 256 * MiB;
	strcpy(r.label, "below");
	ret = ioctl(fd, VCMA_IOC_RESERVE, &r) ? -errno : 0;
	if (tap_ok(!ret && r.phys_addr + r.granted_size <= 256 * MiB,
		   "2 MiB below 256 MiB: [%#" PRIx64 ", %#" PRIx64 ") (%s)", (uint64_t)r.phys_addr,
		   (uint64_t)(r.phys_addr + r.granted_size), ret ? strerror(-ret) : "ok")) {
		snprintf(path, sizeof(path), "grants/%" PRIu64 "/max_addr", (uint64_t)r.grant_id);
		tap_ok(!sysfs_str(path, buf, sizeof(buf)) && !strcmp(buf, "0x10000000"),
		       "sysfs %s: %s", path, buf);
		tap_ok(vcma_release(fd, r.grant_id) == 0, "release the limited grant");
	}

	/* [0, 16 MiB) is the only 16 MiB window below 16 MiB, and page 0 is never free. */
	memset(&r, 0, sizeof(r));
	r.argsz = sizeof(r);
	r.size = 16 * MiB;
	r.node = VCMA_IOC_NODE_ANY;
	r.max_addr = 16 * MiB;
	ret = ioctl(fd, VCMA_IOC_RESERVE, &r) ? errno : 0;
	tap_ok(ret == EADDRNOTAVAIL && r.ev.cause == 11 && r.ev.ranges_tried == 0 &&
	       !r.grant_id, "16 MiB below 16 MiB: %s, cause %u, %u ranges tried",
	       strerror(ret), r.ev.cause, r.ev.ranges_tried);
	tap_ok(sysfs_num("fail_addr_limit") == fails + 1, "fail_addr_limit counts it (%" PRId64 ")",
	       sysfs_num("fail_addr_limit"));

	/* ABI 1: the struct without max_addr, under its own ioctl number. */
	memset(&r, 0, sizeof(r));
	r.argsz = VCMA_IOC_RESERVE_V1_SIZE;
	r.size = 2 * MiB;
	r.node = VCMA_IOC_NODE_ANY;
	r.max_addr = 4096;	/* beyond argsz: must not be read */
	strcpy(r.label, "abi1");
	ret = ioctl(fd, VCMA_IOC_RESERVE_V1, &r) ? -errno : 0;
	if (tap_ok(!ret && r.grant_id && r.max_addr == 4096,
		   "ABI 1 RESERVE (%u bytes) still granted (%s)", VCMA_IOC_RESERVE_V1_SIZE,
		   ret ? strerror(-ret) : "ok"))
		tap_ok(vcma_release(fd, r.grant_id) == 0, "release the ABI 1 grant");
	r.argsz = sizeof(r);
	expect_err(fd, VCMA_IOC_RESERVE_V1, &r, EINVAL, "ABI 1 RESERVE with another argsz");
}

int scenario_badinput(int argc, char **argv)
{
	static const struct {
		void (*tweak)(struct vcma_ioc_reserve *);
		const char *what;
	} bad[] = {
		{ t_argsz0, "RESERVE argsz 0" },
		{ t_argsz_small, "RESERVE argsz too small" },
		{ t_argsz_big, "RESERVE argsz unknown (larger)" },
		{ t_size0, "RESERVE size 0" },
		{ t_size_odd, "RESERVE size not a page multiple" },
		{ t_size_small, "RESERVE size below a page" },
		{ t_size_huge, "RESERVE size 2^62" },
		{ t_size_max, "RESERVE size ~0" },
		{ t_align3, "RESERVE align not a power of two" },
		{ t_align_small, "RESERVE align below a page" },
		{ t_align_huge, "RESERVE align 2^63" },
		{ t_flags, "RESERVE unknown flag" },
		{ t_flags_top, "RESERVE top flag bit" },
		{ t_node, "RESERVE offline node" },
		{ t_deadline, "RESERVE absurd deadline" },
		{ t_label, "RESERVE label without NUL" },
		{ t_limit_odd, "RESERVE max_addr not page aligned" },
		{ t_limit_small, "RESERVE max_addr below the size" },
	};
	struct vcma_ioc_release rel;
	struct vcma_ioc_list l;
	struct vcma_ioc_stats s;
	struct vcma_ioc_reserve r;
	size_t i;
	void *p;
	int fd;

	(void)argc;
	(void)argv;
	tap_ok(vcma_load("strategy=bogus") == -EINVAL, "insmod strategy=bogus refused");
	tap_ok(vcma_load("default_deadline_ms=0") == -EINVAL,
	       "insmod default_deadline_ms=0 refused");
	fd = load_and_open("");
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		bad_reserve(fd, bad[i].tweak, EINVAL, bad[i].what);
	expect_err(fd, VCMA_IOC_RESERVE, NULL, EFAULT, "RESERVE NULL pointer");
	expect_err(fd, VCMA_IOC_RESERVE, (void *)16, EFAULT, "RESERVE wild pointer");

	memset(&rel, 0, sizeof(rel));
	rel.argsz = sizeof(rel) + 4;
	rel.grant_id = 1;
	expect_err(fd, VCMA_IOC_RELEASE, &rel, EINVAL, "RELEASE argsz wrong");
	rel.argsz = sizeof(rel);
	rel.reserved = 1;
	expect_err(fd, VCMA_IOC_RELEASE, &rel, EINVAL, "RELEASE reserved non-zero");
	rel.reserved = 0;
	rel.grant_id = 0;
	expect_err(fd, VCMA_IOC_RELEASE, &rel, ENOENT, "RELEASE id 0");
	rel.grant_id = 12345;
	expect_err(fd, VCMA_IOC_RELEASE, &rel, ENOENT, "RELEASE unknown id");
	rel.grant_id = ~0ull;
	expect_err(fd, VCMA_IOC_RELEASE, &rel, ENOENT, "RELEASE id ~0");

	memset(&l, 0, sizeof(l));
	l.argsz = 3;
	expect_err(fd, VCMA_IOC_LIST, &l, EINVAL, "LIST argsz wrong");
	l.argsz = sizeof(l);
	l.reserved = 9;
	expect_err(fd, VCMA_IOC_LIST, &l, EINVAL, "LIST reserved non-zero");
	l.reserved = 0;
	l.max_grants = 1u << 30;
	l.grants_ptr = 4096;
	expect_err(fd, VCMA_IOC_LIST, &l, EINVAL, "LIST absurd max_grants");
	l.max_grants = 4;
	l.grants_ptr = 0;
	expect_err(fd, VCMA_IOC_LIST, &l, EINVAL, "LIST room but no pointer");

	memset(&s, 0, sizeof(s));
	s.argsz = sizeof(s) - 8;
	expect_err(fd, VCMA_IOC_STATS, &s, EINVAL, "STATS argsz wrong");
	expect_err(fd, _IO(VCMA_IOC_MAGIC, 99), NULL, ENOTTY, "unknown ioctl");
	expect_err(fd, VCMA_IOC_BALLOON, &s, EINVAL, "BALLOON with another struct");

	/* A real grant for the list-pointer and mmap bounds checks. */
	if (tap_ok(vcma_reserve(fd, 2 * MiB, 0, 0, 0, "bounds", &r) == 0,
		   "a 2 MiB grant for the bounds checks")) {
		l.max_grants = 1;
		l.grants_ptr = 16;
		expect_err(fd, VCMA_IOC_LIST, &l, EFAULT, "LIST wild grants pointer");
		p = mmap(NULL, 4 * MiB, PROT_READ, MAP_SHARED, fd,
			 (off_t)(r.grant_id * 4096));
		tap_ok(p == MAP_FAILED && errno == EINVAL, "mmap beyond the grant refused");
		p = mmap(NULL, 2 * MiB, PROT_READ | PROT_WRITE, MAP_PRIVATE, fd,
			 (off_t)(r.grant_id * 4096));
		tap_ok(p == MAP_FAILED && errno == EINVAL, "MAP_PRIVATE refused");
		p = mmap(NULL, 2 * MiB, PROT_READ, MAP_SHARED, fd, (off_t)(999 * 4096));
		tap_ok(p == MAP_FAILED, "mmap of an unknown grant refused");
		tap_ok(vcma_release(fd, r.grant_id) == 0, "release the bounds grant");
	}
	limit_checks(fd);
	tap_ok(sysfs_num("nr_grants") == 0 && sysfs_num("reserve_ok") == 3,
	       "no bad input reached the core (nr_grants %" PRId64 ", reserve_ok %" PRId64 ")",
	       sysfs_num("nr_grants"), sysfs_num("reserve_ok"));
	close(fd);
	badinput_holders();
	tap_ok(sysfs_num("nr_grants") == 0, "no grant left behind");
	tap_ok(vcma_unload() == 0, "rmmod");
	return tap_done();
}

/* Requests no range can satisfy fail fast, with the cause. */
int scenario_impossible(int argc, char **argv)
{
	struct vcma_ioc_reserve r;
	uint64_t total, t0, took;
	char cause[32] = "";
	int fd, ret;

	(void)argc;
	(void)argv;
	fd = load_and_open("");
	total = meminfo_bytes("MemTotal");
	/* Nearly all of RAM, 2 MiB multiple: more than any free range holds. */
	t0 = now_us();
	ret = vcma_reserve(fd, (total - 32 * MiB) & ~(2 * MiB - 1), 0, 0, 5000,
			   "too-big", &r);
	took = now_us() - t0;
	tap_ok(ret != 0, "reserving %" PRIu64 " MiB of %" PRIu64 " MiB fails (%s)",
	       ((total - 32 * MiB) & ~(2 * MiB - 1)) / MiB, total / MiB,
	       strerror(-ret));
	tap_ok(r.ev.cause != 0, "with a cause: %s (%u ranges scanned, %u tried)",
	       cause_name(r.ev.cause), r.ev.ranges_scanned, r.ev.ranges_tried);
	tap_ok(took < 5000 * 1000, "within its deadline: %" PRIu64 " ms", took / 1000);
	tap_ok(sysfs_num("reserve_fail") == 1, "sysfs reserve_fail counts it");
	tap_ok(!sysfs_str("last_cause", cause, sizeof(cause)) &&
	       !strcmp(cause, cause_name(r.ev.cause)),
	       "sysfs last_cause is %s", cause);
	tap_ok(sysfs_num("nr_grants") == 0, "nothing held after the failure");
	close(fd);
	tap_ok(vcma_unload() == 0, "rmmod");

	/* The safety floor: a grant that would leave too little is refused. */
	fd = load_and_open("floor_mb=100000");
	ret = vcma_reserve(fd, 64 * MiB, 0, 0, 5000, "floor", &r);
	tap_ok(ret != 0 && r.ev.cause == 7,
	       "a grant below the safety floor is refused (%s, cause %s)",
	       strerror(-ret), cause_name(r.ev.cause));
	tap_ok(sysfs_num("fail_floor") == 1, "sysfs fail_floor counts it");
	close(fd);
	tap_ok(vcma_unload() == 0, "rmmod");
	return tap_done();
}

/* Balloon status values: enum vcma_status in proto/vcma_proto.h. */
#define BALLOON_FLOOR	5
#define BALLOON_AGAIN	10

/* One BALLOON call; returns 0 or -errno, *b filled. */
static int balloon_call(int fd, uint64_t target, uint32_t order, uint64_t *chunks,
			uint32_t max, struct vcma_ioc_balloon *b)
{
	memset(b, 0, sizeof(*b));
	b->argsz = sizeof(*b);
	b->chunk_order = order;
	b->target_bytes = target;
	b->max_chunks = max;
	b->chunks_ptr = (uintptr_t)chunks;
	return ioctl(fd, VCMA_IOC_BALLOON, b) ? -errno : 0;
}

/* Calls BALLOON until the target is reached or it stops moving. */
static int balloon_to(int fd, uint64_t target, struct vcma_ioc_balloon *b,
		      unsigned int *bad_chunks)
{
	uint64_t chunks[16];
	unsigned int i, calls;
	int ret = 0;

	*bad_chunks = 0;
	for (calls = 0; calls < 64; calls++) {
		ret = balloon_call(fd, target, 9, chunks, 16, b);
		if (ret)
			return ret;
		for (i = 0; i < b->nr_chunks; i++)
			if (chunks[i] % (2 * MiB))
				(*bad_chunks)++;
		if (b->status != BALLOON_AGAIN || !b->nr_chunks)
			break;
	}
	return 0;
}

/* Balloon: MemTotal shrinks by what is inflated and comes back on deflate. */
int scenario_balloon(int argc, char **argv)
{
	struct vcma_ioc_balloon b;
	struct vcma_ioc_stats st;
	uint64_t total0, total, chunks[4];
	unsigned int bad;
	int fd, ret;

	(void)argc;
	(void)argv;
	fd = load_and_open("");
	total0 = meminfo_bytes("MemTotal");
	ret = balloon_to(fd, 64 * MiB, &b, &bad);
	total = meminfo_bytes("MemTotal");
	tap_ok(ret == 0 && b.status == 0 && b.actual_bytes == 64 * MiB,
	       "inflate to 64 MiB: %s, status %u, actual %" PRIu64 " MiB", strerror(-ret),
	       b.status, (uint64_t)b.actual_bytes / MiB);
	tap_ok(!bad, "every chunk GPA is 2 MiB aligned (%u bad)", bad);
	tap_ok(total0 - total == 64 * MiB, "MemTotal fell by 64 MiB (%" PRIu64 " -> %" PRIu64
	       " KiB)", total0 / 1024, total / 1024);
	tap_ok(!vcma_stats(fd, &st) && st.balloon_bytes == 64 * MiB,
	       "STATS balloon_bytes %" PRIu64 " MiB", (uint64_t)st.balloon_bytes / MiB);
	ret = balloon_to(fd, 0, &b, &bad);
	total = meminfo_bytes("MemTotal");
	tap_ok(ret == 0 && b.actual_bytes == 0 && b.direction == 2,
	       "deflate to 0: %s, actual %" PRIu64, strerror(-ret), (uint64_t)b.actual_bytes);
	tap_ok(total == total0, "MemTotal back (%" PRIu64 " KiB)", total / 1024);

	/* Asking for nearly everything stops at the safety floor. */
	ret = balloon_to(fd, (total0 - 16 * MiB) & ~(2 * MiB - 1), &b, &bad);
	tap_ok(ret == 0 && b.status == BALLOON_FLOOR,
	       "inflating towards all of RAM stops at the floor (%s, status %u, %" PRIu64
	       " MiB ballooned, MemAvailable %" PRIu64 " MiB)", strerror(-ret), b.status,
	       (uint64_t)b.actual_bytes / MiB, meminfo_bytes("MemAvailable") / MiB);
	tap_ok(balloon_call(fd, 3 * MiB, 9, chunks, 4, &b) == -EINVAL,
	       "target not a chunk multiple is EINVAL");
	tap_ok(balloon_call(fd, 4 * MiB, 3, chunks, 4, &b) == -EINVAL,
	       "chunk below a pageblock is EINVAL");
	tap_ok(balloon_call(fd, 4 * MiB, 9, chunks, 0, &b) == -EINVAL,
	       "no room for chunks is EINVAL");
	tap_ok(balloon_call(fd, 4 * MiB, 9, NULL, 4, &b) == -EINVAL,
	       "NULL chunk pointer is EINVAL");
	close(fd);
	/* Still inflated: unloading gives everything back. */
	ret = vcma_unload();
	total = meminfo_bytes("MemTotal");
	tap_ok(ret == 0 && total == total0, "rmmod while inflated restores MemTotal (%" PRIu64
	       " -> %" PRIu64 " KiB)", total0 / 1024, total / 1024);
	return tap_done();
}
