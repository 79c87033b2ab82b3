// SPDX-License-Identifier: MIT
/*
 * What the guest kernel says about its memory, read from procfs: totals from
 * /proc/meminfo, the zone map from /proc/zoneinfo (one range per populated
 * zone: spans may include holes, which is all a summary needs), and the boot
 * id. procfs is the one source that exists in every guest, including a
 * minimal initramfs without sysfs memory blocks (CONFIG_MEMORY_HOTPLUG off).
 */
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "backend.h"

static int read_meminfo_totals(const char *path, struct agent_meminfo *out)
{
	char line[256];
	int found = 0;
	FILE *f;

	f = fopen(path, "re");
	if (!f)
		return -errno;
	while (fgets(line, sizeof(line), f)) {
		unsigned long long kib;
		char key[64];

		if (sscanf(line, "%63[^:]: %llu", key, &kib) != 2)
			continue;
		if (!strcmp(key, "MemTotal"))
			out->mem_total = kib << 10, found |= 1;
		else if (!strcmp(key, "MemFree"))
			out->mem_free = kib << 10, found |= 2;
		else if (!strcmp(key, "MemAvailable"))
			out->mem_available = kib << 10, found |= 4;
	}
	fclose(f);
	return (found & 3) == 3 ? 0 : -EINVAL;
}

static int zone_type(const char *name)
{
	if (!strcmp(name, "DMA"))
		return VCMA_ZONE_DMA;
	if (!strcmp(name, "DMA32"))
		return VCMA_ZONE_DMA32;
	if (!strcmp(name, "Normal"))
		return VCMA_ZONE_NORMAL;
	if (!strcmp(name, "Movable"))
		return VCMA_ZONE_MOVABLE;
	return -1;	/* Device, HighMem...: not RAM vcma can use */
}

struct zone_acc {
	int type;
	unsigned int node;
	unsigned long long spanned, present, start_pfn;
	int have_start;
};

static void zone_flush(struct zone_acc *z, uint64_t page, struct agent_meminfo *out)
{
	struct vcma_mem_range_h *r;

	if (z->type < 0 || !z->present || !z->have_start)
		return;
	if (z->type == VCMA_ZONE_MOVABLE)
		out->mem_movable += z->present * page;
	if (out->nr_ranges >= VCMA_MAX_MEM_RANGES)
		return;
	r = &out->ranges[out->nr_ranges++];
	r->gpa = z->start_pfn * page;
	r->size = z->spanned * page;
	r->node = z->node;
	r->zone = (uint8_t)z->type;
}

static int read_zoneinfo(const char *path, struct agent_meminfo *out)
{
	uint64_t page = (uint64_t)sysconf(_SC_PAGESIZE);
	struct zone_acc z = { .type = -1 };
	char line[256];
	FILE *f;

	f = fopen(path, "re");
	if (!f)
		return -errno;
	while (fgets(line, sizeof(line), f)) {
		char name[32];
		unsigned int node;
		const char *p = line;

		if (sscanf(line, "Node %u, zone %31s", &node, name) == 2) {
			zone_flush(&z, page, out);
			memset(&z, 0, sizeof(z));
			z.type = zone_type(name);
			z.node = node;
			continue;
		}
		while (isspace((unsigned char)*p))
			p++;
		if (sscanf(p, "spanned %llu", &z.spanned) == 1 ||
		    sscanf(p, "present %llu", &z.present) == 1)
			continue;
		if (sscanf(p, "start_pfn: %llu", &z.start_pfn) == 1)
			z.have_start = 1;
	}
	zone_flush(&z, page, out);
	fclose(f);
	return out->nr_ranges ? 0 : -EINVAL;
}

int agent_read_meminfo(const char *proc_root, struct agent_meminfo *out)
{
	char path[256];
	int ret;

	memset(out, 0, sizeof(*out));
	if (!proc_root)
		proc_root = "/proc";
	snprintf(path, sizeof(path), "%s/meminfo", proc_root);
	ret = read_meminfo_totals(path, out);
	if (ret)
		return ret;
	snprintf(path, sizeof(path), "%s/zoneinfo", proc_root);
	/* The map is a courtesy to the host; totals alone still make a valid HELLO. */
	if (read_zoneinfo(path, out))
		out->nr_ranges = 0;
	return 0;
}

int agent_parse_uuid(const char *s, uint8_t out[16])
{
	unsigned int i = 0;

	while (*s && i < 32) {
		int c = tolower((unsigned char)*s++);
		int v;

		if (c == '-')
			continue;
		if (c >= '0' && c <= '9')
			v = c - '0';
		else if (c >= 'a' && c <= 'f')
			v = c - 'a' + 10;
		else
			return -EINVAL;
		if (i % 2 == 0)
			out[i / 2] = (uint8_t)(v << 4);
		else
			out[i / 2] |= (uint8_t)v;
		i++;
	}
	while (*s == '\n')
		s++;
	return i == 32 && !*s ? 0 : -EINVAL;
}

int agent_read_boot_id(const char *path, uint8_t out[16])
{
	char buf[64];
	FILE *f;
	int ret;

	f = fopen(path ? path : "/proc/sys/kernel/random/boot_id", "re");
	if (!f)
		return -errno;
	ret = fgets(buf, sizeof(buf), f) ? agent_parse_uuid(buf, out) : -EINVAL;
	fclose(f);
	return ret;
}
