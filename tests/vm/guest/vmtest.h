/* SPDX-License-Identifier: GPL-2.0-only OR MIT */
/*
 * Helpers shared by the guest-side test programs of the vcma VM tests:
 * TAP output, /dev/vcma calls, loading and unloading vcma.ko, reading
 * /proc/meminfo and /sys/kernel/vcma. Programs are linked statically and
 * run as PID 1's child in the busybox guest (tests/vm/harness).
 */
#ifndef VCMA_VMTEST_H
#define VCMA_VMTEST_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "vcma_uapi.h"

#define MiB ((uint64_t)1024 * 1024)
#define VCMA_KO_PATH "/lib/modules/vcma.ko"

/* TAP: one line per check, the plan at the end. */
bool tap_ok(bool cond, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void tap_diag(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* Prints the plan; returns the exit status (0 when every check passed). */
int tap_done(void);
/* Stops the program: a failed precondition makes later checks meaningless. */
void tap_bail(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));

int vcma_load(const char *params);	/* 0 or -errno */
int vcma_unload(void);			/* 0 or -errno */
int vcma_open(void);			/* fd, bails on failure */

/* Fills *r from the arguments; returns 0 or -errno from the ioctl. */
int vcma_reserve(int fd, uint64_t size, uint64_t align, uint32_t flags,
		 uint32_t deadline_ms, const char *label,
		 struct vcma_ioc_reserve *r);
int vcma_release(int fd, uint64_t grant_id);
int vcma_stats(int fd, struct vcma_ioc_stats *s);
/* The exact evacuation evidence of the last RESERVE on fd. */
int vcma_evidence(int fd, struct vcma_ioc_evac *e);

/* /proc/meminfo field in bytes. */
uint64_t meminfo_bytes(const char *field);
/* Free memory including the per-CPU free lists MemFree leaves out. */
uint64_t free_bytes(void);
/* /sys/kernel/vcma/<name> (or any path if name starts with '/') as a number. */
int64_t sysfs_num(const char *name);
/* Copies the first line of a sysfs file into buf; returns 0 or -errno. */
int sysfs_str(const char *path, char *buf, size_t len);

/* Physical frame number of a virtual address (/proc/self/pagemap), 0 if none. */
uint64_t virt_to_pfn(const void *addr);

/* A deterministic pattern, and a check that a buffer holds it. */
void fill_pattern(void *buf, size_t len, uint64_t seed);
bool check_pattern(const void *buf, size_t len, uint64_t seed);
uint64_t checksum(const void *buf, size_t len);

const char *cause_name(uint32_t cause);
uint64_t now_us(void);

#endif /* VCMA_VMTEST_H */
