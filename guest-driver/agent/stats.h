/* SPDX-License-Identifier: MIT */
/*
 * The agent's side of BALLOON_STATS (PROTOCOL.md 5.13/5.14): one sample of
 * the guest's memory counters and of its balloon, read when the host asks.
 *
 * Sources: with a procfs (backend->procfs, "/proc" for the real guest)
 * MemTotal, MemFree, MemAvailable and Cached from meminfo and the swap, fault,
 * OOM and hugetlb counters from vmstat; vcma.ko's pressure counters from
 * backend->vcma_sysfs ("/sys/kernel/vcma") pressure/{deflated_bytes,events};
 * without a procfs (the simulated guest) the backend's own meminfo. The
 * balloon comes from the backend: its size from stats, its chunks from the
 * grant list, each placed on a NUMA node by the guest's zone map. A counter
 * that cannot be read is sent as "not known" (its valid bit clear), never
 * as zero.
 */
#ifndef VCMA_AGENT_STATS_H
#define VCMA_AGENT_STATS_H

#include "backend.h"
#include "handler.h"

/*
 * Fill *out from the sources above. list is caller-owned scratch for the
 * grant list. 0, or negative errno when not even the balloon's size could
 * be read (-ENODEV: no module).
 */
int agent_stats_sample(struct agent_backend *be, struct agent_grant_list *list,
		       struct vcma_balloon_stats_result_h *out);

/*
 * Answer one BALLOON_STATS with a BALLOON_STATS_RESULT, or an ERROR when
 * the backend cannot say anything. scratch is a caller-owned message buffer.
 * 0 or negative errno.
 */
int agent_stats_handle(struct agent_backend *be, struct agent_grant_list *list,
		       const struct vcma_msg *in, struct vcma_msg *scratch,
		       struct agent_out *out);

/* Parsers, exposed for the unit tests: 0, or negative errno if the file cannot be read. */
int agent_stats_read_meminfo(const char *path, struct vcma_balloon_stats_result_h *out);
int agent_stats_read_vmstat(const char *path, uint64_t page_size,
			    struct vcma_balloon_stats_result_h *out);

#endif /* VCMA_AGENT_STATS_H */
