/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * vcmad logging: one line per event on stderr ("vcmad[pid]: level: msg"),
 * which journald or the test harness captures. When stderr is the journal
 * ($JOURNAL_STREAM names it) lines are "<N>level: msg" instead, N the syslog
 * priority (3 error, 4 warn, 6 info, 7 debug), so journalctl -p works.
 * Also for the libvirt connector. Not thread-safe beyond what stdio
 * guarantees per call.
 */
#ifndef VCMA_DAEMON_LOG_H
#define VCMA_DAEMON_LOG_H

#include <stdbool.h>

enum vlog_level { VLOG_ERR = 0, VLOG_WARN = 1, VLOG_INFO = 2, VLOG_DEBUG = 3 };

void vlog_set_level(enum vlog_level l);
enum vlog_level vlog_get_level(void);
/* "error", "warn", "info", "debug" -> level; -1 if unknown. */
int vlog_parse_level(const char *s);
/* Is stderr the journal ($JOURNAL_STREAM matches it)? Looked up once. */
bool vlog_to_journal(void);
void vlog(enum vlog_level l, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/*
 * A line about one VM ("vm NAME: msg"), rate-limited per VM name by a token
 * bucket (vlog_set_vm_rate): a guest that drives log lines faster than the
 * rate (a flood of bad frames, say) has the excess dropped and counted, and
 * one "N lines suppressed" line is written when its bucket lets lines
 * through again (or at the next vlog_vm_flush once it has refilled).
 */
void vlog_vm(enum vlog_level l, const char *vm, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
/*
 * A line about a VM that is never dropped, for events bounded by other means
 * (a disconnect, at most once per reconnect): the VM's pending summary first.
 */
void vlog_vm_always(enum vlog_level l, const char *vm, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
/* rate lines per second, burst lines at once; rate 0 = no limit. */
void vlog_set_vm_rate(unsigned int rate, unsigned int burst);
/* Write the pending "suppressed" lines of refilled buckets (from the tick). */
void vlog_vm_flush(void);
/* Lines of that VM dropped by the limit since vcmad started. */
unsigned long long vlog_vm_suppressed(const char *vm);

#define vlog_vm_err(vm, ...)	vlog_vm(VLOG_ERR, vm, __VA_ARGS__)
#define vlog_vm_warn(vm, ...)	vlog_vm(VLOG_WARN, vm, __VA_ARGS__)
#define vlog_vm_info(vm, ...)	vlog_vm(VLOG_INFO, vm, __VA_ARGS__)
#define vlog_vm_debug(vm, ...)	vlog_vm(VLOG_DEBUG, vm, __VA_ARGS__)

#define vlog_err(...)	vlog(VLOG_ERR, __VA_ARGS__)
#define vlog_warn(...)	vlog(VLOG_WARN, __VA_ARGS__)
#define vlog_info(...)	vlog(VLOG_INFO, __VA_ARGS__)
#define vlog_debug(...)	vlog(VLOG_DEBUG, __VA_ARGS__)

#endif
