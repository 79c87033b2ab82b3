/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The vcmad process: the event loop, the served VMs and their channel
 * connections, the API server. vcmad.c owns the loop and the per-VM IO
 * (connect, reconnect with backoff, bounded buffers); the rules live in vm.c.
 */
#ifndef VCMA_DAEMON_H
#define VCMA_DAEMON_H

#include <stdbool.h>
#include <stdint.h>

#include "config.h"
#include "vm.h"

struct api;
struct vcma_libvirt;

struct vcmad {
	struct event_base *base;
	struct vcmad_config *cfg;
	struct vcma_vm **vms;
	size_t nr_vms, cap_vms;
	struct event *tick, *sig_int, *sig_term, *sig_hup, *watchdog;
	struct api *api;
	struct vcma_libvirt *lv;
	int64_t started_ms;
	int lock_fd;			/* flock on the state directory */
	int argc;			/* argv, re-read on SIGHUP */
	char **argv;
	uint64_t save_errors;		/* failed state writes */
	uint64_t reloads, reload_errors;
	bool save_failing;		/* the last write failed (logged once until it works) */
	char notify_status[160];	/* last STATUS= sent */
};

/* Exit status of a vcmad that found another one holding its state directory. */
#define VCMAD_EXIT_RUNNING	3

int64_t vcmad_now_ms(void);

/*
 * After anything touched vm (frame, tick, REST): persist it if dirty, tell
 * its source about desired-state changes, disconnect it if it must drop.
 * save_now: an operator's change is durable before it is acknowledged; what
 * the guest reports is saved by the next tick (the guest stays the source of
 * truth for grants, so a crash in between loses nothing; a balloon chunk set
 * that lost reports is resynchronised, see balloon.h).
 * Returns 0, or -errno when vm's state could not be written (it stays dirty
 * and the next tick tries again; REST answers such a change with a 5xx).
 */
int vcmad_commit(struct vcmad *d, struct vcma_vm *vm, bool save_now);
/* Why vm's state was not saved (after vcmad_commit failed), for the REST caller. */
const char *vcmad_save_error(const struct vcmad *d);

#endif
