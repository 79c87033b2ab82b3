// SPDX-License-Identifier: GPL-2.0-only OR MIT
/* Helpers of the guest test programs; see vmtest.h. */
#include "vmtest.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

static int tap_count, tap_failed;

bool tap_ok(bool cond, const char *fmt, ...)
{
	va_list ap;

	tap_count++;
	if (!cond)
		tap_failed++;
	printf("%s %d - ", cond ? "ok" : "not ok", tap_count);
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	printf("\n");
	fflush(stdout);
	return cond;
}

void tap_diag(const char *fmt, ...)
{
	va_list ap;

	printf("# ");
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	printf("\n");
	fflush(stdout);
}

int tap_done(void)
{
	printf("1..%d\n", tap_count);
	if (tap_failed)
		printf("# %d of %d checks failed\n", tap_failed, tap_count);
	fflush(stdout);
	return tap_failed ? 1 : 0;
}

void tap_bail(const char *fmt, ...)
{
	va_list ap;

	printf("Bail out! ");
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	printf("\n");
	fflush(stdout);
	exit(1);
}

int vcma_load(const char *params)
{
	int fd = open(VCMA_KO_PATH, O_RDONLY | O_CLOEXEC);
	int ret = 0;

	if (fd < 0)
		return -errno;
	if (syscall(SYS_finit_module, fd, params ? params : "", 0))
		ret = -errno;
	close(fd);
	return ret;
}

int vcma_unload(void)
{
	return syscall(SYS_delete_module, "vcma", O_NONBLOCK) ? -errno : 0;
}

int vcma_open(void)
{
	int fd = open(VCMA_DEV_PATH, O_RDWR | O_CLOEXEC);

	if (fd < 0)
		tap_bail("open %s: %s", VCMA_DEV_PATH, strerror(errno));
	return fd;
}

int vcma_reserve(int fd, uint64_t size, uint64_t align, uint32_t flags,
		 uint32_t deadline_ms, const char *label,
		 struct vcma_ioc_reserve *r)
{
	memset(r, 0, sizeof(*r));
	r->argsz = sizeof(*r);
	r->size = size;
	r->align = align;
	r->flags = flags;
	r->node = VCMA_IOC_NODE_ANY;
	r->deadline_ms = deadline_ms;
	snprintf(r->label, sizeof(r->label), "%s", label ? label : "");
	return ioctl(fd, VCMA_IOC_RESERVE, r) ? -errno : 0;
}

int vcma_release(int fd, uint64_t grant_id)
{
	struct vcma_ioc_release r = { .argsz = sizeof(r), .grant_id = grant_id };

	return ioctl(fd, VCMA_IOC_RELEASE, &r) ? -errno : 0;
}

int vcma_evidence(int fd, struct vcma_ioc_evac *e)
{
	memset(e, 0, sizeof(*e));
	e->argsz = sizeof(*e);
	return ioctl(fd, VCMA_IOC_EVIDENCE, e) ? -errno : 0;
}

int vcma_stats(int fd, struct vcma_ioc_stats *s)
{
	memset(s, 0, sizeof(*s));
	s->argsz = sizeof(*s);
	return ioctl(fd, VCMA_IOC_STATS, s) ? -errno : 0;
}

/* Free pages parked in per-CPU lists: /proc/zoneinfo "count:" lines. */
static uint64_t pcp_free_bytes(void)
{
	char line[256];
	uint64_t pages = 0;
	FILE *f = fopen("/proc/zoneinfo", "r");

	if (!f)
		tap_bail("/proc/zoneinfo: %s", strerror(errno));
	while (fgets(line, sizeof(line), f)) {
		const char *p = line + strspn(line, " ");

		if (!strncmp(p, "count:", 6))
			pages += strtoull(p + 6, NULL, 10);
	}
	fclose(f);
	return pages * (uint64_t)sysconf(_SC_PAGESIZE);
}

uint64_t meminfo_bytes(const char *field)
{
	char line[256];
	size_t n = strlen(field);
	uint64_t kb = 0;
	FILE *f = fopen("/proc/meminfo", "r");

	if (!f)
		tap_bail("/proc/meminfo: %s", strerror(errno));
	while (fgets(line, sizeof(line), f))
		if (!strncmp(line, field, n) && line[n] == ':') {
			kb = strtoull(line + n + 1, NULL, 10);
			break;
		}
	fclose(f);
	return kb * 1024;
}

uint64_t free_bytes(void)
{
	return meminfo_bytes("MemFree") + pcp_free_bytes();
}

int sysfs_str(const char *path, char *buf, size_t len)
{
	char full[256];
	FILE *f;

	if (path[0] != '/') {
		snprintf(full, sizeof(full), "/sys/kernel/vcma/%s", path);
		path = full;
	}
	f = fopen(path, "r");
	if (!f)
		return -errno;
	if (!fgets(buf, (int)len, f)) {
		fclose(f);
		return -EIO;
	}
	fclose(f);
	buf[strcspn(buf, "\n")] = '\0';
	return 0;
}

int64_t sysfs_num(const char *name)
{
	char buf[64];

	if (sysfs_str(name, buf, sizeof(buf)))
		return -1;
	return strtoll(buf, NULL, 0);
}

uint64_t virt_to_pfn(const void *addr)
{
	uint64_t entry = 0;
	long page = sysconf(_SC_PAGESIZE);
	off_t off = (off_t)((uintptr_t)addr / (uintptr_t)page) * 8;
	int fd = open("/proc/self/pagemap", O_RDONLY);

	if (fd < 0)
		return 0;
	if (pread(fd, &entry, sizeof(entry), off) != sizeof(entry))
		entry = 0;
	close(fd);
	if (!(entry & (1ull << 63)))
		return 0;
	return entry & ((1ull << 55) - 1);
}

static uint64_t mix(uint64_t x)
{
	x ^= x >> 33;
	x *= 0xff51afd7ed558ccdull;
	x ^= x >> 33;
	return x;
}

void fill_pattern(void *buf, size_t len, uint64_t seed)
{
	uint64_t *p = buf;
	size_t i;

	for (i = 0; i < len / 8; i++)
		p[i] = mix(seed + i);
}

bool check_pattern(const void *buf, size_t len, uint64_t seed)
{
	const uint64_t *p = buf;
	size_t i;

	for (i = 0; i < len / 8; i++)
		if (p[i] != mix(seed + i))
			return false;
	return true;
}

uint64_t checksum(const void *buf, size_t len)
{
	const uint64_t *p = buf;
	uint64_t sum = 0;
	size_t i;

	for (i = 0; i < len / 8; i++)
		sum = mix(sum ^ p[i]);
	return sum;
}

const char *cause_name(uint32_t cause)
{
	static const char *const names[] = {
		"none", "unmovable", "pinned", "pagevec", "bh_lru", "writeback",
		"no_range", "floor", "deadline", "migrate", "limit",
	};

	return cause < sizeof(names) / sizeof(names[0]) ? names[cause] : "?";
}

uint64_t now_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000 + (uint64_t)ts.tv_nsec / 1000;
}
