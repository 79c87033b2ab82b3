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
	struct event *tick, *sig_int, *sig_term;
	struct api *api;
	struct vcma_libvirt *lv;
	int64_t started_ms;
};

int64_t vcmad_now_ms(void);

/*
 * After anything touched vm (frame, tick, REST): persist it if dirty, tell
 * its source about desired-state changes, disconnect it if it must drop.
 * save_now: an operator's change is durable before it is acknowledged; what
 * the guest reports is saved by the next tick (the guest stays the source of
 * truth for grants, so a crash in between loses nothing).
 */
void vcmad_commit(struct vcmad *d, struct vcma_vm *vm, bool save_now);

#endif
