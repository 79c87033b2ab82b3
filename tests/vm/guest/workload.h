/* SPDX-License-Identifier: GPL-2.0-only OR MIT */
/*
 * The busy guest's workload (busy.c), shared by the scenarios that put
 * reservations on top of it: ext4 with buffer heads, tmpfs, anonymous
 * memory with patterns, O_DIRECT in flight, io_uring long-term pins and
 * churn threads.
 */
#ifndef VCMA_VMTEST_WORKLOAD_H
#define VCMA_VMTEST_WORKLOAD_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define DISK_DIR	"/mnt/disk"
#define NR_PINS		32
#define PIN_SIZE	(64 * 1024)

struct workload {
	uint8_t *anon;
	size_t anon_size;
	void *pins[NR_PINS];
	uint64_t pin_pfns[NR_PINS][PIN_SIZE / 4096];
	void *spacers[NR_PINS];
	int ring_fd;
	bool disk;
	atomic_bool stop;
	pthread_t threads[3];
	int nr_threads;
	atomic_ulong dio_reads, walks, churns;
	atomic_int thread_errors;
};

/* Sets everything up and starts the threads; bails when it cannot. */
int workload_start(struct workload *w, size_t anon_size);
void workload_stop(struct workload *w);
/* TAP checks: every pattern, file and pinned frame is intact. */
void verify_workload(const struct workload *w, const char *when);
/* TAP checks that buffer-head, pagevec and pinned pages are in play. */
void show_obstacles(void);
/* The module's full page-class scan, as diagnostics. */
void diag_page_classes(void);

#endif /* VCMA_VMTEST_WORKLOAD_H */
