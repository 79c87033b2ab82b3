/* SPDX-License-Identifier: GPL-2.0-only OR MIT */
/*
 * The busy guest's workload (busy.c) for other scenarios that want their
 * work done under the same load: ext4 with buffer heads, tmpfs, anonymous
 * memory with patterns, O_DIRECT in flight, io_uring long-term pins, churn.
 * Needs the scratch disk (vm-run --disk) and about 450 MiB of memory.
 */
#ifndef VCMA_BUSY_H
#define VCMA_BUSY_H

#include <stddef.h>

struct workload;

/* Sets it up and starts its threads; bails out on failure. */
struct workload *busy_workload_start(size_t anon_size);
/* Stops it; checks (TAP) that its threads saw no errors and all data verifies. */
void busy_workload_stop(struct workload *w, const char *when);

#endif /* VCMA_BUSY_H */
