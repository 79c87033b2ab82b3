// SPDX-License-Identifier: MIT
/* BALLOON_STATS: one sample of the guest's memory and balloon (see stats.h). */
#include "stats.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "agent_util.h"

/* Lines of the form "Key: N kB" (meminfo) or "key N" (vmstat). */
struct stat_key {
	const char *key;
	uint32_t bit;		/* VCMA_BST_* of the counter it fills */
	uint64_t *dst;
};

static int read_keyed(const char *path, const char *fmt, struct stat_key *keys, size_t nr,
		      uint32_t *found)
{
	char line[256];
	FILE *f;

	f = fopen(path, "re");
	if (!f)
		return -errno;
	while (fgets(line, sizeof(line), f)) {
		unsigned long long v;
		char key[64];

		if (sscanf(line, fmt, key, &v) != 2)
			continue;
		for (size_t i = 0; i < nr; i++) {
			if (!strcmp(key, keys[i].key)) {
				*keys[i].dst = v;
				*found |= keys[i].bit;
				break;
			}
		}
	}
	fclose(f);
	return 0;
}

int agent_stats_read_meminfo(const char *path, struct vcma_balloon_stats_result_h *out)
{
	uint64_t total = 0, free_kib = 0, avail = 0, cached = 0;
	struct stat_key keys[] = {
		{ "MemTotal", VCMA_BST_MEM_TOTAL, &total },
		{ "MemFree", VCMA_BST_MEM_FREE, &free_kib },
		{ "MemAvailable", VCMA_BST_MEM_AVAILABLE, &avail },
		{ "Cached", VCMA_BST_DISK_CACHES, &cached },
	};
	uint32_t found = 0;
	int ret;

	ret = read_keyed(path, "%63[^:]: %llu", keys, sizeof(keys) / sizeof(keys[0]), &found);
	if (ret)
		return ret;
	/* kB in the file; a value that would overflow in bytes is not believed. */
	for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++) {
		if (*keys[i].dst > (UINT64_MAX >> 10))
			found &= ~keys[i].bit;
	}
	if (found & VCMA_BST_MEM_TOTAL)
		out->mem_total = total << 10;
	if (found & VCMA_BST_MEM_FREE)
		out->mem_free = free_kib << 10;
	if (found & VCMA_BST_MEM_AVAILABLE)
		out->mem_available = avail << 10;
	if (found & VCMA_BST_DISK_CACHES)
		out->disk_caches = cached << 10;
	out->valid |= found;
	return 0;
}

int agent_stats_read_vmstat(const char *path, uint64_t page_size,
			    struct vcma_balloon_stats_result_h *out)
{
	uint64_t pswpin = 0, pswpout = 0, pgfault = 0, pgmajfault = 0, oom = 0;
	uint64_t htlb_ok = 0, htlb_fail = 0;
	/* pgfault is only an ingredient: bit 31 marks it, it is never sent. */
	const uint32_t pgfault_bit = 1u << 31;
	struct stat_key keys[] = {
		{ "pswpin", VCMA_BST_SWAP_IN, &pswpin },
		{ "pswpout", VCMA_BST_SWAP_OUT, &pswpout },
		{ "pgfault", pgfault_bit, &pgfault },
		{ "pgmajfault", VCMA_BST_MAJOR_FAULTS, &pgmajfault },
		{ "oom_kill", VCMA_BST_OOM_KILLS, &oom },
		{ "htlb_buddy_alloc_success", VCMA_BST_HUGETLB_ALLOCS, &htlb_ok },
		{ "htlb_buddy_alloc_fail", VCMA_BST_HUGETLB_FAILURES, &htlb_fail },
	};
	uint32_t found = 0;
	int ret;

	ret = read_keyed(path, "%63s %llu", keys, sizeof(keys) / sizeof(keys[0]), &found);
	if (ret)
		return ret;
	/* Swap is counted in pages; bytes is what virtio-balloon reports too. */
	if ((found & VCMA_BST_SWAP_IN) && pswpin <= UINT64_MAX / page_size)
		out->swap_in = pswpin * page_size, out->valid |= VCMA_BST_SWAP_IN;
	if ((found & VCMA_BST_SWAP_OUT) && pswpout <= UINT64_MAX / page_size)
		out->swap_out = pswpout * page_size, out->valid |= VCMA_BST_SWAP_OUT;
	if (found & VCMA_BST_MAJOR_FAULTS) {
		out->major_faults = pgmajfault;
		out->valid |= VCMA_BST_MAJOR_FAULTS;
		/* pgfault counts every fault, major ones included */
		if ((found & pgfault_bit) && pgfault >= pgmajfault) {
			out->minor_faults = pgfault - pgmajfault;
			out->valid |= VCMA_BST_MINOR_FAULTS;
		}
	}
	if (found & VCMA_BST_OOM_KILLS)
		out->oom_kills = oom, out->valid |= VCMA_BST_OOM_KILLS;
	if (found & VCMA_BST_HUGETLB_ALLOCS)
		out->hugetlb_allocs = htlb_ok, out->valid |= VCMA_BST_HUGETLB_ALLOCS;
	if (found & VCMA_BST_HUGETLB_FAILURES)
		out->hugetlb_failures = htlb_fail, out->valid |= VCMA_BST_HUGETLB_FAILURES;
	return 0;
}

/* One number in a sysfs file; 0 or negative errno. */
static int read_sysfs_u64(const char *dir, const char *name, uint64_t *out)
{
	char path[512];
	unsigned long long v;
	FILE *f;
	int n;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	f = fopen(path, "re");
	if (!f)
		return -errno;
	n = fscanf(f, "%llu", &v);
	fclose(f);
	if (n != 1)
		return -EINVAL;
	*out = v;
	return 0;
}

static void read_pressure(const char *vcma_sysfs, struct vcma_balloon_stats_result_h *out)
{
	char dir[384];

	snprintf(dir, sizeof(dir), "%s/pressure", vcma_sysfs);
	if (!read_sysfs_u64(dir, "deflated_bytes", &out->pressure_deflated))
		out->valid |= VCMA_BST_PRESSURE_DEFLATED;
	else
		out->pressure_deflated = 0;
	if (!read_sysfs_u64(dir, "events", &out->pressure_events))
		out->valid |= VCMA_BST_PRESSURE_EVENTS;
	else
		out->pressure_events = 0;
}

/* The node of the zone range holding gpa, or -1. */
static int node_of(const struct agent_meminfo *mi, uint64_t gpa)
{
	for (uint32_t i = 0; i < mi->nr_ranges; i++) {
		const struct vcma_mem_range_h *r = &mi->ranges[i];

		if (gpa >= r->gpa && gpa - r->gpa < r->size)
			return (int)r->node;
	}
	return -1;
}

/*
 * Balloon chunks per node. All chunks must have one size and lie on a known
 * node below VCMA_STATS_MAX_NODES; otherwise the split is not known (the
 * bit stays clear) rather than wrong.
 */
static void count_nodes(struct agent_backend *be, struct agent_grant_list *list,
			uint32_t page_size, struct vcma_balloon_stats_result_h *out)
{
	struct agent_meminfo *mi = malloc(sizeof(*mi));
	uint32_t counts[VCMA_STATS_MAX_NODES] = { 0 };
	uint64_t chunk = 0;
	unsigned int nodes = 0, order = 0;

	if (!mi)
		return;
	if (be->ops->meminfo(be->priv, mi) || agent_list_grants(be, list))
		goto out;
	for (uint32_t i = 0; i < mi->nr_ranges; i++) {
		if (mi->ranges[i].node < VCMA_STATS_MAX_NODES && mi->ranges[i].node >= nodes)
			nodes = mi->ranges[i].node + 1;
	}
	for (uint32_t i = 0; i < list->nr; i++) {
		const struct vcma_ioc_grant *g = &list->grants[i];
		int node;

		if (g->kind != AGENT_GRANT_BALLOON)
			continue;
		if (chunk && g->size != chunk)
			goto out;
		chunk = g->size;
		node = node_of(mi, g->phys_addr);
		if (node < 0 || node >= (int)nodes)
			goto out;
		counts[node]++;
	}
	if (chunk) {
		while (((uint64_t)page_size << order) < chunk && order < VCMA_ORDER_MAX)
			order++;
		if (((uint64_t)page_size << order) != chunk)
			goto out;
	}
	out->valid |= VCMA_BST_NODES;
	out->chunk_order = (uint8_t)order;
	out->nr_nodes = (uint8_t)nodes;
	memcpy(out->chunks_by_node, counts, sizeof(counts));
out:
	free(mi);
}

int agent_stats_sample(struct agent_backend *be, struct agent_grant_list *list,
		       struct vcma_balloon_stats_result_h *out)
{
	struct vcma_ioc_version ver;
	struct vcma_ioc_stats st;
	int ret;

	memset(out, 0, sizeof(*out));
	ret = be->ops->version(be->priv, &ver);
	if (!ret)
		ret = be->ops->stats(be->priv, &st);
	if (ret)
		return ret;
	out->actual_bytes = st.balloon_bytes;
	if (be->procfs) {
		char path[384];

		snprintf(path, sizeof(path), "%s/meminfo", be->procfs);
		if (agent_stats_read_meminfo(path, out))
			log_debug("BALLOON_STATS: %s unreadable", path);
		snprintf(path, sizeof(path), "%s/vmstat", be->procfs);
		if (agent_stats_read_vmstat(path, ver.page_size, out))
			log_debug("BALLOON_STATS: %s unreadable", path);
	} else {
		/* the simulated guest: what its model says; it keeps no event counters */
		out->mem_total = st.mem_total;
		out->mem_free = st.mem_free;
		out->mem_available = st.mem_available;
		out->valid |= VCMA_BST_MEM_TOTAL | VCMA_BST_MEM_FREE | VCMA_BST_MEM_AVAILABLE;
	}
	if ((out->valid & VCMA_BST_MEM_FREE) && (out->valid & VCMA_BST_MEM_TOTAL) &&
	    out->mem_free > out->mem_total) {
		/* a torn read across the two; say "not known" rather than send nonsense */
		out->valid &= ~VCMA_BST_MEM_FREE;
		out->mem_free = 0;
	}
	if (be->vcma_sysfs)
		read_pressure(be->vcma_sysfs, out);
	count_nodes(be, list, ver.page_size, out);
	return 0;
}

int agent_stats_handle(struct agent_backend *be, struct agent_grant_list *list,
		       const struct vcma_msg *in, struct vcma_msg *m, struct agent_out *out)
{
	int ret;

	if (!(be->caps & VCMA_CAP_BALLOON_STATS))
		return agent_reply_error(in->id, in->type, VCMA_E_UNSUPPORTED,
					 "this backend has no balloon statistics", out);
	vcma_msg_init(m, VCMA_MSG_BALLOON_STATS_RESULT, in->id);
	ret = agent_stats_sample(be, list, &m->u.balloon_stats_result);
	if (ret)
		return agent_reply_error(in->id, in->type, vcma_status_from_errno(ret, 0),
					 ret == -ENODEV ? "guest module not available"
							: "cannot read the balloon", out);
	log_debug("BALLOON_STATS id %" PRIu64 ": balloon %" PRIu64 " MiB, valid %#x", in->id,
		  m->u.balloon_stats_result.actual_bytes >> 20, m->u.balloon_stats_result.valid);
	return agent_out_append(out, m);
}
