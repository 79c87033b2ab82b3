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

#define vlog_err(...)	vlog(VLOG_ERR, __VA_ARGS__)
#define vlog_warn(...)	vlog(VLOG_WARN, __VA_ARGS__)
#define vlog_info(...)	vlog(VLOG_INFO, __VA_ARGS__)
#define vlog_debug(...)	vlog(VLOG_DEBUG, __VA_ARGS__)

#endif
