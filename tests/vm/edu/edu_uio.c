// SPDX-License-Identifier: GPL-2.0-only OR MIT
/*
 * The userspace driver path (DPDK's IOVA-as-PA case): uio_pci_generic binds
 * the edu devices, this program maps a vcma grant through /dev/vcma, reads
 * its bus address (= guest-physical without a vIOMMU) from sysfs, and
 * programs the devices' DMA engines through their BAR (resource0) itself.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "edu_regs.h"
#include "edutest.h"
#include "vmtest.h"

#define PCI_DEVICES	"/sys/bus/pci/devices"
#define UIO_DRIVER	"/sys/bus/pci/drivers/uio_pci_generic"
#define PCI_COMMAND	0x04
#define PCI_COMMAND_MASTER 0x4

static uint64_t sysfs_hex(const char *dir, const char *name)
{
	char path[300], buf[64];

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	if (sysfs_str(path, buf, sizeof(buf)))
		return UINT64_MAX;
	return strtoull(buf, NULL, 0);
}

int edu_find_devices(char names[][16], int max)
{
	struct dirent *de;
	DIR *d = opendir(PCI_DEVICES);
	char dir[300];
	int n = 0;

	while (d && n < max && (de = readdir(d))) {
		if (de->d_name[0] == '.' || strlen(de->d_name) >= 16)
			continue;
		snprintf(dir, sizeof(dir), PCI_DEVICES "/%s", de->d_name);
		if (sysfs_hex(dir, "vendor") == EDU_VENDOR_ID &&
		    sysfs_hex(dir, "device") == EDU_DEVICE_ID)
			strcpy(names[n++], de->d_name);
	}
	if (d)
		closedir(d);
	return n;
}

static int write_str(const char *path, const char *s)
{
	int fd = open(path, O_WRONLY | O_CLOEXEC), ret = 0;

	if (fd < 0)
		return -errno;
	if (write(fd, s, strlen(s)) < 0)
		ret = -errno;
	close(fd);
	return ret;
}

static bool bound_to(const char *dev, const char *driver)
{
	char path[300], link[300];
	ssize_t n;

	snprintf(path, sizeof(path), PCI_DEVICES "/%s/driver", dev);
	n = readlink(path, link, sizeof(link) - 1);
	if (n < 0)
		return false;
	link[n] = '\0';
	return !strcmp(strrchr(link, '/') ? strrchr(link, '/') + 1 : link, driver);
}

/* uio_pci_generic enables memory decoding but leaves bus mastering to the user. */
static int enable_bus_master(const char *dev)
{
	char path[300];
	uint16_t cmd;
	int fd, ret = 0;

	snprintf(path, sizeof(path), PCI_DEVICES "/%s/config", dev);
	fd = open(path, O_RDWR | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	if (pread(fd, &cmd, 2, PCI_COMMAND) != 2)
		ret = -EIO;
	cmd |= PCI_COMMAND_MASTER;
	if (!ret && pwrite(fd, &cmd, 2, PCI_COMMAND) != 2)
		ret = -EIO;
	close(fd);
	return ret;
}

static volatile uint8_t *map_bar0(const char *dev)
{
	char path[300];
	void *p;
	int fd;

	snprintf(path, sizeof(path), PCI_DEVICES "/%s/resource0", dev);
	fd = open(path, O_RDWR | O_SYNC | O_CLOEXEC);
	if (fd < 0)
		return NULL;
	p = mmap(NULL, EDU_BAR_SIZE, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	close(fd);
	return p == MAP_FAILED ? NULL : p;
}

static inline uint32_t rd32(volatile uint8_t *bar, unsigned int reg)
{
	return *(volatile uint32_t *)(bar + reg);
}

static inline void wr32(volatile uint8_t *bar, unsigned int reg, uint32_t v)
{
	*(volatile uint32_t *)(bar + reg) = v;
}

static inline void wr64(volatile uint8_t *bar, unsigned int reg, uint64_t v)
{
	*(volatile uint64_t *)(bar + reg) = v;
}

/* One chunk moved by one device: grant -> device buffer -> grant. */
struct uio_engine {
	volatile uint8_t *bar;
	uint64_t next;		/* next chunk index of this device's stripe */
	int step;		/* 0: idle, 1: reading into the buffer, 2: writing out */
};

static void start(struct uio_engine *e, uint64_t src, uint64_t dst, uint64_t cnt,
		  uint32_t cmd)
{
	wr64(e->bar, EDU_REG_DMA_SRC, src);
	wr64(e->bar, EDU_REG_DMA_DST, dst);
	wr64(e->bar, EDU_REG_DMA_COUNT, cnt);
	wr32(e->bar, EDU_REG_DMA_CMD, cmd | EDU_CMD_RUN);
}

/*
 * Copies len bytes from bus address src to dst, chunk c by device c % n,
 * polling the command register for completion. Returns the transfers
 * made, or -ETIMEDOUT if a device stopped answering.
 */
static long uio_copy(struct uio_engine *e, int n, uint64_t src, uint64_t dst,
		     uint64_t len, unsigned int timeout_s)
{
	uint64_t chunks = (len + EDU_XFER_MAX - 1) / EDU_XFER_MAX, deadline = now_us() + timeout_s * 1000000ull;
	long transfers = 0;
	int i, busy;

	for (i = 0; i < n; i++) {
		e[i].next = (uint64_t)i;
		e[i].step = 0;
	}
	do {
		busy = 0;
		for (i = 0; i < n; i++) {
			struct uio_engine *d = &e[i];
			uint64_t off = d->next * EDU_XFER_MAX;
			uint64_t cnt = len - off < EDU_XFER_MAX ? len - off : EDU_XFER_MAX;

			if (d->step && (rd32(d->bar, EDU_REG_DMA_CMD) & EDU_CMD_RUN)) {
				busy++;
				continue;
			}
			if (d->step == 1) {
				start(d, EDU_DMA_BUF, dst + off, cnt, EDU_CMD_TO_RAM);
				d->step = 2;
			} else {
				if (d->step == 2)
					d->next += (uint64_t)n;
				d->step = 0;
				if (d->next >= chunks)
					continue;
				off = d->next * EDU_XFER_MAX;
				cnt = len - off < EDU_XFER_MAX ? len - off : EDU_XFER_MAX;
				start(d, src + off, EDU_DMA_BUF, cnt, 0);
				d->step = 1;
			}
			transfers++;
			busy++;
		}
		if (busy)
			usleep(2000);
	} while (busy && now_us() < deadline);
	return busy ? -ETIMEDOUT : transfers;
}

int scenario_uio(int argc, char **argv)
{
	uint64_t size = (argc > 1 ? strtoull(argv[1], NULL, 0) : 4) * MiB;
	uint64_t limit = 1ull << EDU_DEFAULT_DMA_BITS, phys, half;
	struct uio_engine eng[EDU_MAX_DEVICES];
	char devs[EDU_MAX_DEVICES][16], path[128], buf[64];
	struct vcma_ioc_reserve r;
	uint8_t *grant;
	uint64_t t0;
	long moved;
	int fd, n, i, ret;

	n = edu_find_devices(devs, EDU_MAX_DEVICES);
	if (!n)
		tap_bail("no edu PCI device (vm-run --edu N)");
	tap_diag("%d edu devices, grant of %" PRIu64 " MiB", n, size / MiB);
	if (access(UIO_DRIVER, F_OK))
		tap_bail("uio_pci_generic is not loaded");
	ret = write_str(UIO_DRIVER "/new_id", "1234 11e8");
	tap_ok(ret == 0 || ret == -EEXIST, "uio_pci_generic new_id 1234 11e8 (%s)",
	       ret ? strerror(-ret) : "ok");
	for (i = 0; i < n; i++) {
		if (!bound_to(devs[i], "uio_pci_generic"))
			tap_bail("%s is not bound to uio_pci_generic", devs[i]);
		if (enable_bus_master(devs[i]))
			tap_bail("%s: cannot enable bus mastering", devs[i]);
		eng[i].bar = map_bar0(devs[i]);
		if (!eng[i].bar)
			tap_bail("%s: mmap resource0: %s", devs[i], strerror(errno));
		if ((rd32(eng[i].bar, EDU_REG_ID) & 0xff) != EDU_ID_MAGIC)
			tap_bail("%s: id register reads %#x", devs[i], rd32(eng[i].bar, EDU_REG_ID));
		wr32(eng[i].bar, EDU_REG_LIVENESS, 0x5a5a0000u + i);
		if (rd32(eng[i].bar, EDU_REG_LIVENESS) != ~(0x5a5a0000u + i))
			tap_bail("%s: liveness register does not answer", devs[i]);
	}
	tap_ok(true, "%d devices bound to uio_pci_generic, BAR0 mapped, bus master on", n);

	ret = vcma_load(NULL);
	if (ret)
		tap_bail("insmod vcma.ko: %s", strerror(-ret));
	fd = vcma_open();
	ret = vcma_reserve(fd, size, 0, 0, 0, "uio0", &r);
	if (ret)
		tap_bail("reserve %" PRIu64 " MiB: %s", size / MiB, strerror(-ret));
	snprintf(path, sizeof(path), "/sys/kernel/vcma/grants/%" PRIu64 "/phys_addr",
		 (uint64_t)r.grant_id);
	phys = sysfs_str(path, buf, sizeof(buf)) ? 0 : strtoull(buf, NULL, 0);
	tap_ok(phys && phys == r.phys_addr, "bus address from sysfs %#" PRIx64, phys);
	/* A userspace driver must do the device's mask check itself. */
	if (!tap_ok(phys + size <= limit, "grant [%#" PRIx64 ", %#" PRIx64 ") below the 28-bit DMA limit",
		    phys, phys + size))
		return tap_done();
	grant = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED, fd,
		     (off_t)(r.grant_id * (uint64_t)getpagesize()));
	if (grant == MAP_FAILED)
		tap_bail("mmap grant: %s", strerror(errno));

	/* Each half is read by the devices once and written once. */
	half = size / 2;
	fill_pattern(grant, half, 0x1000);
	fill_pattern(grant + half, half, 0x2000);
	t0 = now_us();
	moved = uio_copy(eng, n, phys, phys + half, half, 600);
	tap_ok(moved == (long)((half + EDU_XFER_MAX - 1) / EDU_XFER_MAX * 2),
	       "first half -> second half: %ld transfers in %.1f s", moved, (now_us() - t0) / 1e6);
	tap_ok(check_pattern(grant + half, half, 0x1000) && check_pattern(grant, half, 0x1000),
	       "second half now holds the first half's pattern byte for byte");
	fill_pattern(grant + half, half, 0x3000);
	moved = uio_copy(eng, n, phys + half, phys, half, 600);
	tap_ok(moved == (long)((half + EDU_XFER_MAX - 1) / EDU_XFER_MAX * 2), "second half -> first half: %ld transfers", moved);
	tap_ok(check_pattern(grant, half, 0x3000), "first half now holds the second half's new pattern");
	/* The check itself notices a single changed byte. */
	grant[half / 3] ^= 1;
	tap_ok(!check_pattern(grant, half, 0x3000), "one flipped byte fails the pattern check");
	grant[half / 3] ^= 1;

	munmap(grant, size);
	tap_ok(vcma_release(fd, r.grant_id) == 0, "grant released after the devices are done");
	close(fd);
	return tap_done();
}
