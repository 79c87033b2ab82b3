// SPDX-License-Identifier: GPL-2.0-only OR MIT
/*
 * The kernel driver path: vcma_edu.ko claims a labelled grant through
 * vcma's claim API and has the edu devices DMA across all of it (scenario
 * "dma", idle or under the busy workload); and the fence path (scenario
 * "fence"): the driver imports the grant's dma-buf, fences the run on its
 * reservation object, and userspace's EXPORT_SYNC_FILE + poll() waits for
 * the device.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <linux/dma-buf.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "busy.h"
#include "edu_regs.h"
#include "edu_uapi.h"
#include "edutest.h"
#include "vmtest.h"

#define EDU_KO_PATH	"/lib/modules/vcma_edu.ko"

static int edu_load(unsigned int dma_bits)
{
	char params[32];
	int fd = open(EDU_KO_PATH, O_RDONLY | O_CLOEXEC), ret = 0;

	if (fd < 0)
		return -errno;
	snprintf(params, sizeof(params), "dma_bits=%u", dma_bits);
	if (syscall(SYS_finit_module, fd, params, 0))
		ret = -errno;
	close(fd);
	return ret;
}

static int edu_unload(void)
{
	return syscall(SYS_delete_module, "vcma_edu", O_NONBLOCK) ? -errno : 0;
}

static int edu_claim(int efd, const char *label, struct edu_ioc_claim *c)
{
	memset(c, 0, sizeof(*c));
	c->argsz = sizeof(*c);
	snprintf(c->label, sizeof(c->label), "%s", label);
	return ioctl(efd, EDU_IOC_CLAIM, c) ? -errno : 0;
}

static int edu_copy(int efd, uint32_t flags, uint64_t src, uint64_t dst, uint64_t len,
		    int dmabuf_fd)
{
	struct edu_ioc_copy c = {
		.argsz = sizeof(c), .flags = flags, .src = src, .dst = dst, .len = len,
		.dmabuf_fd = dmabuf_fd,
	};

	return ioctl(efd, EDU_IOC_COPY, &c) ? -errno : 0;
}

static int edu_status(int efd, bool wait, struct edu_ioc_status *s)
{
	memset(s, 0, sizeof(*s));
	s->argsz = sizeof(*s);
	return ioctl(efd, wait ? EDU_IOC_WAIT : EDU_IOC_STATUS, s) ? -errno : 0;
}

static int vcma_export(int fd, uint64_t grant_id, uint32_t flags, struct vcma_ioc_export *e)
{
	memset(e, 0, sizeof(*e));
	e->argsz = sizeof(*e);
	e->flags = flags;
	e->grant_id = grant_id;
	return ioctl(fd, VCMA_IOC_EXPORT, e) ? -errno : 0;
}

static uint8_t *map_grant(int fd, const struct vcma_ioc_reserve *r)
{
	void *p = mmap(NULL, r->granted_size, PROT_READ | PROT_WRITE, MAP_SHARED, fd,
		       (off_t)(r->grant_id * (uint64_t)getpagesize()));

	if (p == MAP_FAILED)
		tap_bail("mmap grant %" PRIu64 ": %s", (uint64_t)r->grant_id, strerror(errno));
	return p;
}

static void load_vcma(void)
{
	int ret = vcma_load(NULL);

	if (ret)
		tap_bail("insmod vcma.ko: %s", strerror(-ret));
}

static int open_edu(unsigned int dma_bits)
{
	int ret = edu_load(dma_bits), efd;

	if (ret)
		tap_bail("insmod vcma_edu.ko dma_bits=%u: %s", dma_bits, strerror(-ret));
	efd = open(VCMA_EDU_DEV_PATH, O_RDWR | O_CLOEXEC);
	if (efd < 0)
		tap_bail("open " VCMA_EDU_DEV_PATH ": %s", strerror(errno));
	return efd;
}

/*
 * Both directions over the whole grant: the devices read the first half
 * and write it into the second, then read the second (repatterned) half
 * and write it into the first. Every byte is read once and written once by
 * a device, and checked by the CPU.
 */
static void dma_both_ways(int efd, uint8_t *grant, uint64_t size, const char *what)
{
	uint64_t half = size / 2, t0;
	struct edu_ioc_status s;
	int ret;

	fill_pattern(grant, half, 0xa000);
	fill_pattern(grant + half, half, 0xb000);
	t0 = now_us();
	ret = edu_copy(efd, 0, 0, half, half, -1);
	edu_status(efd, false, &s);
	tap_ok(ret == 0 && s.chunks_done == s.chunks && s.chunks == (half + EDU_XFER_MAX - 1) / EDU_XFER_MAX,
	       "%s: devices copied the first half into the second (%s, %" PRIu64 " chunks, %" PRIu64
	       " transfers, %.1f s)", what, ret ? strerror(-ret) : "ok", (uint64_t)s.chunks_done,
	       (uint64_t)s.transfers, (now_us() - t0) / 1e6);
	tap_ok(check_pattern(grant + half, half, 0xa000) && check_pattern(grant, half, 0xa000),
	       "%s: second half holds the first half's pattern byte for byte", what);
	fill_pattern(grant + half, half, 0xc000);
	t0 = now_us();
	ret = edu_copy(efd, 0, half, 0, half, -1);
	edu_status(efd, false, &s);
	tap_ok(ret == 0 && s.chunks_done == s.chunks,
	       "%s: devices copied the second half into the first (%s, %.1f s, %.0f KiB/s)", what,
	       ret ? strerror(-ret) : "ok", (now_us() - t0) / 1e6,
	       half / 1024.0 / ((now_us() - t0) / 1e6));
	tap_ok(check_pattern(grant, half, 0xc000) && check_pattern(grant + half, half, 0xc000),
	       "%s: first half holds the second half's pattern byte for byte", what);
	grant[half + 4097] ^= 0x40;
	tap_ok(!check_pattern(grant + half, half, 0xc000), "%s: one changed byte fails the check", what);
	grant[half + 4097] ^= 0x40;
}

/*
 *   dma MiB idle|busy [BITS]   grant of MiB MiB labelled "edu0", reserved
 *                              in the guest below 2^BITS, devices with a
 *                              BITS-bit mask (default 28)
 */
int scenario_dma(int argc, char **argv)
{
	uint64_t size = (argc > 1 ? strtoull(argv[1], NULL, 0) : 16) * MiB;
	bool busy = argc > 2 && !strcmp(argv[2], "busy");
	unsigned int bits = argc > 3 ? (unsigned int)atoi(argv[3]) : EDU_DEFAULT_DMA_BITS;
	uint64_t limit = bits >= 64 ? UINT64_MAX : 1ull << bits;
	struct workload *w = NULL;
	struct vcma_ioc_reserve r;
	struct edu_ioc_claim c;
	char owner[256], path[128];
	uint8_t *grant;
	int fd, efd, ret;

	load_vcma();
	if (busy)
		w = busy_workload_start(320 * MiB);
	fd = vcma_open();
	/* In the guest, as vcma-guest reserve --below does: the device's limit goes along. */
	memset(&r, 0, sizeof(r));
	r.argsz = sizeof(r);
	r.size = size;
	r.node = VCMA_IOC_NODE_ANY;
	r.deadline_ms = 30000;
	r.max_addr = limit;
	strcpy(r.label, "edu0");
	ret = ioctl(fd, VCMA_IOC_RESERVE, &r) ? -errno : 0;
	if (!tap_ok(ret == 0, "reserve %" PRIu64 " MiB labelled edu0 below %#" PRIx64 " (%s) at %#"
		    PRIx64, size / MiB, limit, ret ? strerror(-ret) : "ok", (uint64_t)r.phys_addr))
		return tap_done();
	if (!tap_ok(r.phys_addr + size <= limit, "grant [%#" PRIx64 ", %#" PRIx64 ") lies below the %u-bit limit",
		    (uint64_t)r.phys_addr, (uint64_t)(r.phys_addr + size), bits))
		return tap_done();
	grant = map_grant(fd, &r);

	efd = open_edu(bits);
	ret = edu_claim(efd, "edu0", &c);
	if (!tap_ok(ret == 0, "vcma_edu claims edu0 for %u devices (%s)", c.nr_devices,
		    ret ? strerror(-ret) : "ok"))
		return tap_done();
	tap_ok(c.grant_id == r.grant_id && c.phys_addr == r.phys_addr && c.size == size &&
	       c.bus_addr == r.phys_addr && c.dma_mask == limit - 1,
	       "claim is grant %" PRIu64 " at bus address %#" PRIx64 " (= guest-physical), mask %#" PRIx64,
	       (uint64_t)c.grant_id, (uint64_t)c.bus_addr, (uint64_t)c.dma_mask);
	snprintf(path, sizeof(path), "/sys/kernel/vcma/grants/%" PRIu64 "/holders", (uint64_t)r.grant_id);
	tap_ok(!sysfs_str(path, owner, sizeof(owner)) && strstr(owner, "vcma_edu"),
	       "sysfs holders names the driver: %s", owner);
	ret = vcma_release(fd, r.grant_id);
	tap_ok(ret == -EBUSY, "RELEASE of the claimed grant: %s", strerror(-ret));
	ret = edu_claim(efd, "edu0", &c);
	tap_ok(ret == -EBUSY, "a second claim by the driver: %s", strerror(-ret));

	dma_both_ways(efd, grant, size, busy ? "busy" : "idle");

	tap_ok(ioctl(efd, EDU_IOC_UNCLAIM) == 0, "driver drops its claim");
	close(efd);
	tap_ok(edu_unload() == 0, "rmmod vcma_edu");

	/* A driver whose device reaches less refuses the same grant itself. */
	if (r.phys_addr + size > (1ull << 24)) {
		efd = open_edu(24);
		ret = edu_claim(efd, "edu0", &c);
		tap_ok(ret == -ERANGE, "with a 24-bit mask the grant at %#" PRIx64 " is refused: %s",
		       (uint64_t)r.phys_addr, strerror(-ret));
		close(efd);
		tap_ok(edu_unload() == 0, "rmmod vcma_edu");
	}

	munmap(grant, size);
	ret = vcma_release(fd, r.grant_id);
	tap_ok(ret == 0, "grant released after the driver let go (%s)", ret ? strerror(-ret) : "ok");
	if (w)
		busy_workload_stop(w, "after the DMA");
	close(fd);
	return tap_done();
}

/* A line for the host side of the test, on the console (see lib-vcmad.sh). */
static void console_mark(const char *fmt, const char *arg)
{
	FILE *f = fopen("/dev/console", "w");

	if (!f)
		return;
	fprintf(f, "| ");
	fprintf(f, fmt, arg);
	fprintf(f, "\n");
	fclose(f);
}

/* The reservation grant labelled label, waiting up to wait_s seconds for it. */
static int find_grant(int fd, const char *label, int wait_s, struct vcma_ioc_reserve *r)
{
	struct vcma_ioc_grant g[64];
	struct vcma_ioc_list l;
	uint32_t i;
	int t;

	for (t = 0; t <= wait_s; t++) {
		memset(&l, 0, sizeof(l));
		l.argsz = sizeof(l);
		l.max_grants = 64;
		l.grants_ptr = (uintptr_t)g;
		if (ioctl(fd, VCMA_IOC_LIST, &l))
			return -errno;
		for (i = 0; i < l.nr_grants && i < 64; i++) {
			if (g[i].kind != 1 || strcmp(g[i].label, label))
				continue;
			memset(r, 0, sizeof(*r));
			r->grant_id = g[i].grant_id;
			r->phys_addr = g[i].phys_addr;
			r->granted_size = g[i].size;
			return 0;
		}
		sleep(1);
	}
	return -ENOENT;
}

/*
 *   dma-host LABEL idle|busy [BITS] [ABOVE]
 *       the grant the host reserved through vcmad (vcmactl reserve ...
 *       --below 2^BITS --label LABEL) is claimed by vcma_edu.ko and DMA'd
 *       over whole, both ways; a grant labelled ABOVE, reserved without the
 *       limit, is refused by the driver's own mask check. vcma.ko is
 *       loaded and the agent serves the host; nothing is released here.
 */
int scenario_dma_host(int argc, char **argv)
{
	const char *label = argc > 1 ? argv[1] : "edu0";
	bool busy = argc > 2 && !strcmp(argv[2], "busy");
	unsigned int bits = argc > 3 ? (unsigned int)atoi(argv[3]) : EDU_DEFAULT_DMA_BITS;
	const char *above = argc > 4 ? argv[4] : NULL;
	uint64_t limit = bits >= 64 ? UINT64_MAX : 1ull << bits;
	struct workload *w = NULL;
	struct vcma_ioc_reserve r, hi;
	struct edu_ioc_claim c;
	char path[128], buf[64], want[32];
	uint8_t *grant;
	int fd, efd, ret;

	if (busy)
		w = busy_workload_start(256 * MiB);
	fd = vcma_open();
	/* The host reserves once it sees this line: in the busy guest, under load. */
	console_mark("GUEST-WAITING: %s", label);
	ret = find_grant(fd, label, 600, &r);
	if (!tap_ok(ret == 0, "the host's grant labelled %s appeared: grant %" PRIu64 " at %#" PRIx64
		    ", %" PRIu64 " MiB (%s)", label, (uint64_t)r.grant_id, (uint64_t)r.phys_addr,
		    (uint64_t)r.granted_size / MiB, ret ? strerror(-ret) : "ok"))
		return tap_done();
	tap_ok(r.granted_size >= 16 * MiB, "at least 16 MiB (%" PRIu64 " MiB)",
	       (uint64_t)r.granted_size / MiB);
	tap_ok(r.phys_addr + r.granted_size <= limit, "grant [%#" PRIx64 ", %#" PRIx64
	       ") lies below the %u-bit limit", (uint64_t)r.phys_addr,
	       (uint64_t)(r.phys_addr + r.granted_size), bits);
	snprintf(path, sizeof(path), "/sys/kernel/vcma/grants/%" PRIu64 "/max_addr",
		 (uint64_t)r.grant_id);
	snprintf(want, sizeof(want), "%#" PRIx64, limit);
	tap_ok(!sysfs_str(path, buf, sizeof(buf)) && !strcmp(buf, want),
	       "the host's limit reached vcma.ko: max_addr %s (want %s)", buf, want);
	grant = map_grant(fd, &r);

	efd = open_edu(bits);
	ret = edu_claim(efd, label, &c);
	if (!tap_ok(ret == 0, "vcma_edu claims %s for %u devices (%s)", label, c.nr_devices,
		    ret ? strerror(-ret) : "ok"))
		return tap_done();
	tap_ok(c.grant_id == r.grant_id && c.phys_addr == r.phys_addr &&
	       c.size == r.granted_size && c.bus_addr == r.phys_addr && c.dma_mask == limit - 1,
	       "claim is grant %" PRIu64 " at bus address %#" PRIx64 " (= guest-physical), mask %#"
	       PRIx64, (uint64_t)c.grant_id, (uint64_t)c.bus_addr, (uint64_t)c.dma_mask);

	dma_both_ways(efd, grant, r.granted_size, busy ? "busy" : "idle");

	tap_ok(ioctl(efd, EDU_IOC_UNCLAIM) == 0, "driver drops its claim");
	/* Reserved without the limit, the other grant lies where the device cannot reach. */
	if (above) {
		ret = find_grant(fd, above, 600, &hi);
		if (tap_ok(ret == 0 && hi.phys_addr + hi.granted_size > limit,
			   "the host's grant %s (no limit) lies above the %u-bit limit: [%#" PRIx64
			   ", %#" PRIx64 ")", above, bits, (uint64_t)hi.phys_addr,
			   (uint64_t)(hi.phys_addr + hi.granted_size))) {
			ret = edu_claim(efd, above, &c);
			tap_ok(ret == -ERANGE, "the driver's own mask check refuses it: %s",
			       strerror(-ret));
			ioctl(efd, EDU_IOC_UNCLAIM);
		}
	}
	close(efd);
	tap_ok(edu_unload() == 0, "rmmod vcma_edu");
	munmap(grant, r.granted_size);
	if (w)
		busy_workload_stop(w, "after the DMA");
	close(fd);
	return tap_done();
}

static int sync_file_of(int dfd, uint32_t flags)
{
	struct dma_buf_export_sync_file x = { .flags = flags, .fd = -1 };

	return ioctl(dfd, DMA_BUF_IOCTL_EXPORT_SYNC_FILE, &x) ? -errno : x.fd;
}

static bool ready(int sfd, int timeout_ms)
{
	struct pollfd p = { .fd = sfd, .events = POLLIN };

	return poll(&p, 1, timeout_ms) == 1 && (p.revents & POLLIN);
}

static void cpu_access(int dfd, uint64_t flags)
{
	struct dma_buf_sync s = { .flags = flags };

	if (ioctl(dfd, DMA_BUF_IOCTL_SYNC, &s))
		tap_bail("DMA_BUF_IOCTL_SYNC %#" PRIx64 ": %s", flags, strerror(errno));
}

/*
 *   fence MiB   two grants "fence0"/"fence1" of MiB MiB each, exported as
 *               dma-bufs; the devices copy inside fence0 under a fence
 */
int scenario_fence(int argc, char **argv)
{
	uint64_t size = (argc > 1 ? strtoull(argv[1], NULL, 0) : 1) * MiB, half = size / 2, t0;
	struct vcma_ioc_reserve r, r1;
	struct vcma_ioc_export e, e1, e2;
	struct edu_ioc_status s, s_ready;
	struct edu_ioc_claim c;
	struct dma_buf_import_sync_file imp;
	bool early, was_running;
	uint8_t *buf;
	int fd, efd, dfd, dfd1, sfd, sfd1, ret;

	load_vcma();
	fd = vcma_open();
	if (vcma_reserve(fd, size, 0, 0, 30000, "fence0", &r) ||
	    vcma_reserve(fd, size, 0, 0, 30000, "fence1", &r1))
		tap_bail("reserve 2 x %" PRIu64 " MiB", size / MiB);
	if (r.phys_addr + size > 1ull << EDU_DEFAULT_DMA_BITS)
		tap_bail("grant at %#" PRIx64 " is above the devices' reach", (uint64_t)r.phys_addr);

	ret = vcma_export(fd, r.grant_id, O_RDWR | O_CLOEXEC, &e);
	if (!tap_ok(ret == 0 && e.fd >= 0 && e.size == size, "EXPORT grant %" PRIu64 ": dma-buf fd %d, %" PRIu64 " bytes (%s)",
		    (uint64_t)r.grant_id, e.fd, (uint64_t)e.size, ret ? strerror(-ret) : "ok"))
		return tap_done();
	dfd = e.fd;
	tap_ok((fcntl(dfd, F_GETFD) & FD_CLOEXEC) && (fcntl(dfd, F_GETFL) & O_ACCMODE) == O_RDWR,
	       "the fd is O_CLOEXEC and O_RDWR");
	ret = vcma_export(fd, r.grant_id, O_RDWR, &e2);
	tap_ok(ret == -EBUSY, "a second EXPORT of the grant while the first lives: %s", strerror(-ret));
	ret = vcma_release(fd, r.grant_id);
	tap_ok(ret == -EBUSY, "RELEASE while its dma-buf lives: %s", strerror(-ret));
	ret = vcma_export(fd, r1.grant_id, O_RDWR | O_CLOEXEC, &e1);
	if (ret)
		tap_bail("EXPORT grant %" PRIu64 ": %s", (uint64_t)r1.grant_id, strerror(-ret));
	dfd1 = e1.fd;

	/* CPU access through the dma-buf itself. */
	buf = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED, dfd, 0);
	if (buf == MAP_FAILED)
		tap_bail("mmap dma-buf: %s", strerror(errno));
	cpu_access(dfd, DMA_BUF_SYNC_START | DMA_BUF_SYNC_WRITE);
	fill_pattern(buf, half, 0xf0);
	fill_pattern(buf + half, half, 0xf1);
	cpu_access(dfd, DMA_BUF_SYNC_END | DMA_BUF_SYNC_WRITE);

	efd = open_edu(EDU_DEFAULT_DMA_BITS);
	if (edu_claim(efd, "fence0", &c))
		tap_bail("vcma_edu cannot claim fence0: %s", strerror(errno));

	/*
	 * Control: the same run with the buffer imported but no fence. The
	 * sync file is ready at once while the devices still work, which is
	 * exactly what the fenced check below must never see.
	 */
	ret = edu_copy(efd, EDU_COPY_IMPORT | EDU_COPY_ASYNC, 0, half, half, dfd);
	sfd = sync_file_of(dfd, DMA_BUF_SYNC_READ);
	early = sfd >= 0 && ready(sfd, 0);
	edu_status(efd, false, &s);
	tap_ok(ret == 0 && early && s.running && s.chunks_done < s.chunks,
	       "control run without a fence: sync file ready while %" PRIu64 " of %" PRIu64 " chunks are done",
	       (uint64_t)s.chunks_done, (uint64_t)s.chunks);
	if (sfd >= 0)
		close(sfd);
	edu_status(efd, true, &s);

	/* The fenced run. */
	cpu_access(dfd, DMA_BUF_SYNC_START | DMA_BUF_SYNC_WRITE);
	fill_pattern(buf + half, half, 0xf2);
	cpu_access(dfd, DMA_BUF_SYNC_END | DMA_BUF_SYNC_WRITE);
	ret = edu_copy(efd, EDU_COPY_FENCE, 0, half, half, dfd);
	if (!tap_ok(ret == 0, "fenced run started (%s)", ret ? strerror(-ret) : "ok"))
		return tap_done();
	sfd = sync_file_of(dfd, DMA_BUF_SYNC_READ);
	tap_ok(sfd >= 0, "DMA_BUF_IOCTL_EXPORT_SYNC_FILE (read): fd %d", sfd);
	early = ready(sfd, 0);
	edu_status(efd, false, &s);
	tap_ok(!early && s.running && s.chunks_done < s.chunks,
	       "poll(timeout 0) says not ready while the devices run (%" PRIu64 " of %" PRIu64 " chunks done)",
	       (uint64_t)s.chunks_done, (uint64_t)s.chunks);

	/* The device's fence travels into the other buffer (IMPORT_SYNC_FILE). */
	imp.flags = DMA_BUF_SYNC_WRITE;
	imp.fd = sfd;
	ret = ioctl(dfd1, DMA_BUF_IOCTL_IMPORT_SYNC_FILE, &imp) ? -errno : 0;
	sfd1 = sync_file_of(dfd1, DMA_BUF_SYNC_READ);
	tap_ok(ret == 0 && sfd1 >= 0 && !ready(sfd1, 0),
	       "IMPORT_SYNC_FILE into the second grant's dma-buf: its own sync file waits too (%s)",
	       ret ? strerror(-ret) : "ok");

	/* Closing our fd while the device still has the buffer mapped. */
	munmap(buf, size);
	close(dfd);
	ret = vcma_release(fd, r.grant_id);
	tap_ok(ret == -EBUSY, "dma-buf fd closed mid-DMA: the grant is still held (%s)", strerror(-ret));

	t0 = now_us();
	was_running = s.running;
	tap_ok(ready(sfd, 60000), "poll() returned once the fence signalled (%.2f s later)",
	       (now_us() - t0) / 1e6);
	edu_status(efd, false, &s_ready);
	tap_ok(was_running && s_ready.chunks_done == s_ready.chunks && !s_ready.error,
	       "at that moment the completion counter had reached the end (%" PRIu64 "/%" PRIu64 " chunks, %" PRIu64 " transfers)",
	       (uint64_t)s_ready.chunks_done, (uint64_t)s_ready.chunks, (uint64_t)s_ready.transfers);
	tap_ok(ready(sfd1, 0), "the imported fence in the second dma-buf signalled with it");
	close(sfd);
	close(sfd1);
	edu_status(efd, true, &s);

	/* The data, read back through /dev/vcma's mapping of the grant. */
	buf = map_grant(fd, &r);
	tap_ok(check_pattern(buf + half, half, 0xf0) && check_pattern(buf, half, 0xf0),
	       "the fenced run copied the pattern byte for byte");
	munmap(buf, size);

	tap_ok(ioctl(efd, EDU_IOC_UNCLAIM) == 0, "driver drops its claim and the import");
	close(efd);
	ret = edu_unload();
	tap_ok(ret == -EBUSY || ret == -EAGAIN || ret == -EWOULDBLOCK,
	       "rmmod vcma_edu refused while its fence lives in the second dma-buf (%s)", strerror(-ret));
	ret = vcma_release(fd, r.grant_id);
	tap_ok(ret == 0, "grant released once the last dma-buf reference went (%s)",
	       ret ? strerror(-ret) : "ok");
	ret = vcma_export(fd, r.grant_id, O_RDWR, &e2);
	tap_ok(ret == -ENOENT, "EXPORT of the released grant: %s", strerror(-ret));
	close(dfd1);
	tap_ok(vcma_release(fd, r1.grant_id) == 0, "second grant released after its fd closed");
	tap_ok(edu_unload() == 0, "rmmod vcma_edu once no fence of it is left");
	close(fd);
	tap_ok(vcma_unload() == 0, "rmmod vcma");
	return tap_done();
}
