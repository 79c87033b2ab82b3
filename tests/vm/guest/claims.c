// SPDX-License-Identifier: GPL-2.0-only OR MIT
/*
 * Guest side of the claim API scenario: a driver (vcma_claim_test.ko, in
 * tests/vm/kmod) claims grants by label and id through vcma_claim.h and
 * reports what the API hands it; this program checks that against what
 * RESERVE returned and sysfs shows, and that a claimed grant cannot be
 * released nor vcma.ko unloaded until the driver lets go.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "claims.h"
#include "scenarios.h"
#include "vmtest.h"

#define CLAIM_TEST_KO	"/lib/modules/vcma_claim_test.ko"
#define CLAIM_CTL	"/sys/kernel/debug/vcma_claim_test/ctl"

int claim_test_load(void)
{
	int fd = open(CLAIM_TEST_KO, O_RDONLY | O_CLOEXEC);
	int ret = 0;

	if (fd < 0)
		return -errno;
	if (syscall(SYS_finit_module, fd, "", 0))
		ret = -errno;
	close(fd);
	return ret;
}

int claim_test_unload(void)
{
	return syscall(SYS_delete_module, "vcma_claim_test", O_NONBLOCK) ? -errno : 0;
}

int claim_ctl(const char *fmt, ...)
{
	char cmd[128];
	va_list ap;
	ssize_t n;
	int fd, len, ret = 0;

	va_start(ap, fmt);
	len = vsnprintf(cmd, sizeof(cmd), fmt, ap);
	va_end(ap);
	if (len < 0 || (size_t)len >= sizeof(cmd))
		return -EINVAL;
	fd = open(CLAIM_CTL, O_WRONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	n = write(fd, cmd, (size_t)len);
	if (n < 0)
		ret = -errno;
	else if (n != len)
		ret = -EIO;
	close(fd);
	return ret;
}

int read_text(const char *path, char *buf, size_t len)
{
	size_t got = 0;
	ssize_t n;
	int fd = open(path, O_RDONLY | O_CLOEXEC);

	if (fd < 0)
		return -errno;
	while (got + 1 < len && (n = read(fd, buf + got, len - 1 - got)) > 0)
		got += (size_t)n;
	buf[got] = '\0';
	close(fd);
	return 0;
}

bool claim_slot(unsigned int slot, struct claim_view *v)
{
	char buf[4096], key[16], *line;
	unsigned int n;

	memset(v, 0, sizeof(*v));
	if (read_text(CLAIM_CTL, buf, sizeof(buf)))
		return false;
	snprintf(key, sizeof(key), "slot %u ", slot);
	line = strstr(buf, key);
	if (!line)
		return false;
	n = sscanf(line, "slot %*u id %" SCNu64 " size %" SCNu64 " phys %" SCNx64
		   " page_phys %" SCNx64 " label %31s sg_nents %u sg_phys %" SCNx64
		   " sg_len %" SCNu64, &v->id, &v->size, &v->phys, &v->page_phys,
		   v->label, &v->sg_nents, &v->sg_phys, &v->sg_len);
	return n == 8;
}

int claim_map(unsigned int slot, unsigned int bits, uint64_t *addr)
{
	char buf[4096], *line;
	int ret;

	ret = claim_ctl("map %u %u", slot, bits);
	if (ret)
		return ret;
	if (read_text(CLAIM_CTL, buf, sizeof(buf)) || !(line = strstr(buf, "map slot")))
		return -EIO;
	if (sscanf(line, "map slot %*d bits %*u ret %d addr %" SCNx64, &ret, addr) != 2)
		return -EIO;
	return ret;
}

int grant_holders(uint64_t id, char *buf, size_t len)
{
	char path[96];

	snprintf(path, sizeof(path), "/sys/kernel/vcma/grants/%" PRIu64 "/holders", id);
	return read_text(path, buf, len);
}

int64_t vcma_refcnt(void)
{
	return sysfs_num("/sys/module/vcma/refcnt");
}

/* What the API says about a claimed grant matches what RESERVE said. */
static void check_view(unsigned int slot, const struct vcma_ioc_reserve *r,
		       const char *label)
{
	struct claim_view v;

	if (!tap_ok(claim_slot(slot, &v), "slot %u: the driver reports its claim", slot))
		return;
	tap_ok(v.id == r->grant_id && v.phys == r->phys_addr && v.size == r->granted_size,
	       "slot %u: grant %" PRIu64 " at %#" PRIx64 " +%" PRIu64 " (reserved %" PRIu64
	       " at %#" PRIx64 ")", slot, v.id, v.phys, v.size,
	       (uint64_t)r->grant_id, (uint64_t)r->phys_addr);
	tap_ok(v.page_phys == v.phys && !strcmp(v.label, label),
	       "slot %u: first page at the grant's start, label %s", slot, v.label);
	tap_ok(v.sg_nents == 1 && v.sg_phys == v.phys && v.sg_len == v.size,
	       "slot %u: sg_table of %u segment at %#" PRIx64 " +%" PRIu64, slot,
	       v.sg_nents, v.sg_phys, v.sg_len);
}

static void check_holders(uint64_t id, const char *want, const char *what)
{
	char buf[512] = "";

	tap_ok(!grant_holders(id, buf, sizeof(buf)) && !strcmp(buf, want),
	       "%s: grants/%" PRIu64 "/holders reads \"%.*s\"", what, id,
	       (int)strcspn(buf, "\n"), buf);
}

/* The bits of a DMA mask one short of reaching the grant's last byte. */
static unsigned int bits_below(uint64_t last)
{
	unsigned int bits = 0;

	while (bits < 64 && (last >> bits) > 1)
		bits++;
	return bits;	/* 2^bits <= last: a mask of 2^bits - 1 misses it */
}

static void dma_checks(const struct vcma_ioc_reserve *r)
{
	uint64_t last = r->phys_addr + r->granted_size - 1, addr = 0;
	unsigned int low = bits_below(last);
	int ret;

	ret = claim_map(0, 32, &addr);
	tap_ok(ret == 0 && addr == r->phys_addr,
	       "dma_map with a 32-bit mask: %s, bus address %#" PRIx64 " (phys %#" PRIx64 ")",
	       ret ? strerror(-ret) : "mapped", addr, (uint64_t)r->phys_addr);
	if (low < 24) {
		tap_diag("grant ends at %#" PRIx64 ", below any settable mask; no -ERANGE check",
			 last);
		return;
	}
	ret = claim_map(0, low, &addr);
	tap_ok(ret == -ERANGE,
	       "dma_map with a %u-bit mask, grant ending at %#" PRIx64 ": %s (want ERANGE)",
	       low, last, ret ? strerror(-ret) : "mapped");
}

int scenario_claims(int argc, char **argv)
{
	struct vcma_ioc_reserve a, b, other;
	struct vcma_ioc_stats s;
	int64_t base;
	int fd, ret;

	(void)argc;
	(void)argv;
	ret = vcma_load("");
	if (ret)
		tap_bail("insmod vcma.ko: %s", strerror(-ret));
	fd = vcma_open();
	if (vcma_reserve(fd, 4 * MiB, 0, 0, 0, "nic0", &a) ||
	    vcma_reserve(fd, 4 * MiB, 0, 0, 0, "nic0", &b) ||
	    vcma_reserve(fd, 2 * MiB, 0, 0, 0, "other", &other))
		tap_bail("three grants to claim: %s", strerror(errno));
	ret = claim_test_load();
	if (ret)
		tap_bail("insmod vcma_claim_test.ko: %s", strerror(-ret));
	base = vcma_refcnt();

	tap_ok(claim_ctl("label 0 nic0 claimtest:a") == 0, "claim by label nic0");
	check_view(0, &a, "nic0");
	tap_ok(vcma_refcnt() == base + 1, "the claim holds a reference on vcma.ko (%" PRId64
	       " -> %" PRId64 ")", base, vcma_refcnt());
	check_holders(a.grant_id, "claim claimtest:a\n", "claimed grant");
	check_holders(other.grant_id, "", "unclaimed grant");

	ret = vcma_release(fd, a.grant_id);
	tap_ok(ret == -EBUSY, "RELEASE of the claimed grant: %s (want EBUSY)",
	       ret ? strerror(-ret) : "released");
	ret = vcma_unload();
	tap_ok(ret == -EWOULDBLOCK || ret == -EBUSY, "rmmod vcma while claimed: %s",
	       ret ? strerror(-ret) : "unloaded");
	tap_ok(vcma_stats(fd, &s) == 0 && s.grants == 3, "all three grants still there");

	tap_ok(claim_ctl("label 1 nic0 claimtest:b") == 0,
	       "a second claim of nic0 takes the other grant");
	check_view(1, &b, "nic0");
	ret = claim_ctl("label 2 nic0 claimtest:c");
	tap_ok(ret == -EBUSY, "a third claim of nic0: %s (want EBUSY)", strerror(-ret));
	ret = claim_ctl("id 2 %" PRIu64 " claimtest:c", (uint64_t)a.grant_id);
	tap_ok(ret == -EBUSY, "claim of a claimed grant by id: %s (want EBUSY)", strerror(-ret));
	ret = claim_ctl("label 2 nosuch claimtest:c");
	tap_ok(ret == -ENOENT, "claim of an unknown label: %s (want ENOENT)", strerror(-ret));
	tap_ok(claim_ctl("id 2 %" PRIu64 " claimtest:o", (uint64_t)other.grant_id) == 0,
	       "claim by id");
	check_view(2, &other, "other");
	tap_ok(vcma_refcnt() == base + 3, "three claims, three references");

	dma_checks(&a);

	tap_ok(claim_ctl("put 0") == 0, "put the first claim");
	check_holders(a.grant_id, "", "put grant");
	tap_ok(vcma_release(fd, a.grant_id) == 0, "RELEASE once the driver let go");
	ret = claim_ctl("id 0 %" PRIu64 " claimtest:a", (uint64_t)a.grant_id);
	tap_ok(ret == -ENOENT, "claim of the released grant: %s (want ENOENT)", strerror(-ret));
	tap_ok(claim_ctl("put 1") == 0 && vcma_release(fd, b.grant_id) == 0,
	       "put and release the second");
	tap_ok(claim_ctl("put 2") == 0 && vcma_refcnt() == base,
	       "every put dropped its reference (%" PRId64 ")", vcma_refcnt());
	tap_ok(vcma_release(fd, other.grant_id) == 0, "release the third");
	tap_ok(claim_test_unload() == 0, "rmmod vcma_claim_test");
	close(fd);
	tap_ok(vcma_unload() == 0, "rmmod vcma");
	return tap_done();
}

static int export_raw(int fd, struct vcma_ioc_export *e)
{
	return ioctl(fd, VCMA_IOC_EXPORT, e) ? -errno : 0;
}

static int export_grant(int fd, uint64_t id, uint32_t flags, int *dfd)
{
	struct vcma_ioc_export e = { .argsz = sizeof(e), .flags = flags, .grant_id = id };
	int ret = export_raw(fd, &e);

	*dfd = ret ? -1 : e.fd;
	return ret;
}

static int64_t grant_exported(uint64_t id)
{
	char path[96];

	snprintf(path, sizeof(path), "/sys/kernel/vcma/grants/%" PRIu64 "/exported", id);
	return sysfs_num(path);
}

/* The device address of the driver's import in slot, 0 if it has none. */
static uint64_t import_addr(unsigned int slot)
{
	char buf[4096], key[24], *line;
	uint64_t addr = 0;
	unsigned int nents = 0;

	snprintf(key, sizeof(key), "import %u ", slot);
	if (read_text(CLAIM_CTL, buf, sizeof(buf)) || !(line = strstr(buf, key)))
		return 0;
	if (sscanf(line, "import %*u nents %u addr %" SCNx64, &nents, &addr) != 2 || nents != 1)
		return 0;
	return addr;
}

static void expect_export(int fd, void (*tweak)(struct vcma_ioc_export *), uint64_t id,
			  int want, const char *what)
{
	/* A non-zero tail past the struct, for argsz values that reach it. */
	struct {
		struct vcma_ioc_export e;
		uint64_t tail;
	} x = { .e = { .argsz = sizeof(x.e), .flags = O_RDWR, .grant_id = id }, .tail = ~0ull };
	int ret;

	tweak(&x.e);
	ret = export_raw(fd, &x.e);
	if (!ret)
		close(x.e.fd);
	tap_ok(ret == -want, "EXPORT %s: %s (want %s)", what, ret ? strerror(-ret) : "success",
	       strerror(want));
}

static void x_argsz0(struct vcma_ioc_export *e) { e->argsz = 0; }
static void x_argsz_small(struct vcma_ioc_export *e) { e->argsz = 16; }
static void x_argsz_tail(struct vcma_ioc_export *e) { e->argsz += 8; }
static void x_flags(struct vcma_ioc_export *e) { e->flags |= 1u << 30; }
static void x_wronly(struct vcma_ioc_export *e) { e->flags = O_WRONLY; }
static void x_reserved(struct vcma_ioc_export *e) { e->reserved = 1; }
static void x_id0(struct vcma_ioc_export *e) { e->grant_id = 0; }
static void x_id_unknown(struct vcma_ioc_export *e) { e->grant_id = 12345; }
static void x_id_max(struct vcma_ioc_export *e) { e->grant_id = ~0ull; }

/*
 * Bad and hostile uses of dma-buf exports and claims (vm-kmod-badinput):
 * each gets its errno and leaves the other grants as they were. Needs
 * /dev/vcma closed by the caller (an open file pins the module too).
 */
void badinput_holders(void)
{
	static const struct {
		void (*tweak)(struct vcma_ioc_export *);
		int want;
		const char *what;
	} bad[] = {
		{ x_argsz0, EINVAL, "argsz 0" },
		{ x_argsz_small, EINVAL, "argsz without the size field" },
		{ x_argsz_tail, EINVAL, "argsz larger, unknown tail" },
		{ x_flags, EINVAL, "unknown flag" },
		{ x_wronly, EINVAL, "O_WRONLY" },
		{ x_reserved, EINVAL, "reserved non-zero" },
		{ x_id0, ENOENT, "of id 0" },
		{ x_id_unknown, ENOENT, "of an unknown id" },
		{ x_id_max, ENOENT, "of id ~0" },
	};
	struct vcma_ioc_reserve by, ex;
	struct vcma_ioc_grant g[4];
	struct vcma_ioc_list l = {
		.argsz = sizeof(l), .max_grants = 4, .grants_ptr = (uintptr_t)g,
	};
	char holders[256], want[96];
	uint64_t last, addr;
	unsigned int low;
	uint8_t *p;
	size_t i;
	int fd, dfd, dfd2, ret;

	fd = vcma_open();
	if (vcma_reserve(fd, 2 * MiB, 0, 0, 0, "bystander", &by) ||
	    vcma_reserve(fd, 16 * MiB, 0, 0, 0, "ex", &ex))
		tap_bail("grants for the export checks: %s", strerror(errno));
	p = mmap(NULL, by.granted_size, PROT_READ | PROT_WRITE, MAP_SHARED, fd,
		 (off_t)(by.grant_id * (uint64_t)getpagesize()));
	if (p == MAP_FAILED)
		tap_bail("mmap the bystander: %s", strerror(errno));
	fill_pattern(p, by.granted_size, 0xb7);
	munmap(p, by.granted_size);

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		expect_export(fd, bad[i].tweak, ex.grant_id, bad[i].want, bad[i].what);
	ret = ioctl(fd, VCMA_IOC_EXPORT, NULL) ? -errno : 0;
	tap_ok(ret == -EFAULT, "EXPORT NULL pointer: %s", strerror(-ret));
	tap_ok(grant_exported(ex.grant_id) == 0, "no bad EXPORT left a dma-buf");

	ret = export_grant(fd, ex.grant_id, O_RDWR | O_CLOEXEC, &dfd);
	if (!tap_ok(ret == 0, "EXPORT the 16 MiB grant (%s)", ret ? strerror(-ret) : "ok"))
		tap_bail("no dma-buf to test with");
	ret = export_grant(fd, ex.grant_id, O_RDWR, &dfd2);
	tap_ok(ret == -EBUSY, "EXPORT twice: %s (want EBUSY)", strerror(-ret));
	ret = export_grant(fd, ex.grant_id, O_RDONLY, &dfd2);
	tap_ok(ret == -EBUSY, "EXPORT twice, read-only: %s (want EBUSY)", strerror(-ret));
	ret = vcma_release(fd, ex.grant_id);
	tap_ok(ret == -EBUSY, "RELEASE while exported: %s (want EBUSY)", strerror(-ret));

	ret = claim_test_load();
	if (ret)
		tap_bail("insmod vcma_claim_test.ko: %s", strerror(-ret));
	ret = claim_ctl("import 0 %d 32", dfd);
	addr = import_addr(0);
	tap_ok(ret == 0 && addr == ex.phys_addr,
	       "a device with a 32-bit mask imports the dma-buf: bus address %#" PRIx64
	       " (phys %#" PRIx64 ", %s)", addr, (uint64_t)ex.phys_addr,
	       ret ? strerror(-ret) : "mapped");
	/* 16 MiB naturally aligned ends at or above 32 MiB - 1: 24 bits miss it. */
	last = ex.phys_addr + ex.granted_size - 1;
	low = 0;
	while (low < 64 && (last >> low) > 1)
		low++;
	ret = claim_ctl("import 1 %d %u", dfd, low);
	tap_ok(low >= 24 && ret == -ERANGE && !import_addr(1),
	       "a device with a %u-bit mask, grant ending at %#" PRIx64 ": mapping refused, %s "
	       "(want ERANGE)", low, last, ret ? strerror(-ret) : "mapped");
	ret = claim_ctl("import 1 -1 32");
	tap_ok(ret == -EBADF, "import of a bad fd: %s (want EBADF)", strerror(-ret));

	close(dfd);
	tap_ok(grant_exported(ex.grant_id) == 1 && import_addr(0) == ex.phys_addr,
	       "fd closed while the device has the buffer mapped: still exported, still mapped");
	ret = vcma_release(fd, ex.grant_id);
	tap_ok(ret == -EBUSY, "RELEASE after close, device still mapped: %s (want EBUSY)",
	       strerror(-ret));
	ret = export_grant(fd, ex.grant_id, O_RDWR, &dfd2);
	tap_ok(ret == -EBUSY, "EXPORT while the device keeps the old one: %s (want EBUSY)",
	       strerror(-ret));
	snprintf(want, sizeof(want), "export dma-buf:vcma-vmtest[%d]\n", (int)getpid());
	tap_ok(!grant_holders(ex.grant_id, holders, sizeof(holders)) && !strcmp(holders, want),
	       "holders still names the exporter: %.*s", (int)strcspn(holders, "\n"), holders);

	close(fd);
	ret = vcma_unload();
	tap_ok(ret == -EBUSY || ret == -EWOULDBLOCK,
	       "rmmod vcma with an export outstanding: %s", ret ? strerror(-ret) : "unloaded");
	tap_ok(claim_ctl("unimport 0") == 0 && grant_exported(ex.grant_id) == 0,
	       "the device lets go: the export ends");
	tap_ok(claim_ctl("unimport 0") == -ENOENT, "a second unimport is ENOENT");

	tap_ok(claim_ctl("id 0 %" PRIu64 " badinput", (uint64_t)ex.grant_id) == 0,
	       "claim the grant");
	ret = claim_ctl("id 1 %" PRIu64 " badinput2", (uint64_t)ex.grant_id);
	tap_ok(ret == -EBUSY, "claim it twice: %s (want EBUSY)", strerror(-ret));
	ret = vcma_unload();
	tap_ok(ret == -EBUSY || ret == -EWOULDBLOCK,
	       "rmmod vcma with a claim outstanding: %s", ret ? strerror(-ret) : "unloaded");
	fd = vcma_open();
	ret = export_grant(fd, ex.grant_id, O_RDWR | O_CLOEXEC, &dfd);
	tap_ok(ret == 0, "a claimed grant can still be exported (%s)", ret ? strerror(-ret) : "ok");
	if (!ret)
		close(dfd);
	tap_ok(vcma_release(fd, ex.grant_id) == -EBUSY, "RELEASE while claimed: EBUSY");
	tap_ok(claim_ctl("put 0") == 0 && vcma_release(fd, ex.grant_id) == 0,
	       "put the claim, then RELEASE");
	ret = export_grant(fd, ex.grant_id, O_RDWR, &dfd);
	tap_ok(ret == -ENOENT, "EXPORT of the released grant: %s (want ENOENT)", strerror(-ret));
	ret = claim_ctl("id 0 %" PRIu64 " badinput", (uint64_t)ex.grant_id);
	tap_ok(ret == -ENOENT, "claim of the released grant: %s (want ENOENT)", strerror(-ret));

	/* The bystander saw none of it. */
	ret = ioctl(fd, VCMA_IOC_LIST, &l) ? -errno : 0;
	tap_ok(ret == 0 && l.nr_grants == 1 && g[0].grant_id == by.grant_id &&
	       g[0].phys_addr == by.phys_addr && g[0].size == by.granted_size &&
	       grant_exported(by.grant_id) == 0 &&
	       !grant_holders(by.grant_id, holders, sizeof(holders)) && !holders[0],
	       "the bystander grant is still there, where it was, with no holder");
	p = mmap(NULL, by.granted_size, PROT_READ, MAP_SHARED, fd,
		 (off_t)(by.grant_id * (uint64_t)getpagesize()));
	tap_ok(p != MAP_FAILED && check_pattern(p, by.granted_size, 0xb7),
	       "and its data is untouched");
	if (p != MAP_FAILED)
		munmap(p, by.granted_size);
	tap_ok(vcma_release(fd, by.grant_id) == 0, "release the bystander");
	tap_ok(claim_test_unload() == 0, "rmmod vcma_claim_test");
	close(fd);
}
