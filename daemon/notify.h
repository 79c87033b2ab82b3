/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The service manager's notification protocol (systemd's sd_notify, for
 * Type=notify units): one datagram of "KEY=VALUE" lines to the unix socket
 * named by $NOTIFY_SOCKET (a path, or "@name" for the abstract namespace).
 * Implemented here rather than linking libsystemd for it: it is one
 * sendmsg() of a documented, stable datagram, and vcmad then runs the same
 * with or without systemd (nothing is sent when $NOTIFY_SOCKET is unset).
 *
 * The watchdog: with $WATCHDOG_USEC set (and $WATCHDOG_PID unset or ours),
 * notify_watchdog_usec() says how often systemd wants WATCHDOG=1; vcmad
 * sends it from its event loop, so a stuck loop stops the pings and systemd
 * restarts the daemon.
 */
#ifndef VCMA_DAEMON_NOTIFY_H
#define VCMA_DAEMON_NOTIFY_H

#include <stdint.h>

/* Send the lines in state (e.g. "READY=1\nSTATUS=serving 3 VMs"). 1 sent, 0 no socket, -errno. */
int notify_send(const char *state);
/* printf-style notify_send(). */
int notify_sendf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* The watchdog interval asked for, in microseconds; 0 = no watchdog. */
uint64_t notify_watchdog_usec(void);

#endif
