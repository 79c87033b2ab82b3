/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Balloon statistics for one VM (PROTOCOL.md 5.13/5.14, capability bit 7):
 * the guest's memory counters and its balloon chunks per NUMA node, asked
 * for with BALLOON_STATS, together with what the host knows itself (target,
 * host memory freed, the last pressure deflate).
 *
 * Polling: with an interval (interval_s > 0: the VM's own, set by REST or
 * [vm.NAME] balloon_stats_interval_s, else [balloon] stats_interval_s) vcmad
 * asks the guest every interval while the session is READY; at most one
 * BALLOON_STATS is in flight. A one-shot request (bstats_request, REST GET
 * when no polling keeps the sample fresh) is sent at the next pump. The last
 * sample is kept across sessions with its time, so its age says how old it
 * is; a guest reboot forgets it.
 *
 * The guest's counters are shown, never acted on: vcmad's decisions stay on
 * its own accounting (balloon.h).
 */
#ifndef VCMA_DAEMON_BSTATS_H
#define VCMA_DAEMON_BSTATS_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include <json-c/json.h>

#include "vm.h"

#define BSTATS_MAX_INTERVAL_S	86400

struct balloon_stats {
	uint32_t interval_s;		/* this VM's polling interval */
	bool interval_set;		/* false: the global default applies */
	bool want;			/* a one-shot request waits for the pump */
	uint64_t req_id;		/* BALLOON_STATS in flight, 0 = none */
	int64_t next_poll_ms;		/* monotonic */

	struct vcma_balloon_stats_result_h last;
	bool have;			/* last holds a sample */
	int64_t last_ms;		/* monotonic, when it arrived */
	int64_t last_unix;		/* wall clock seconds of the same */
	uint64_t seq;			/* samples received, lifetime */
	uint64_t attempts;		/* answers or failures, lifetime */

	uint64_t requests, errors, timeouts;
	char error[128];		/* why the last request failed, "" after a sample */
};

int bstats_init(struct vcma_vm *vm);
void bstats_free(struct vcma_vm *vm);

/* The interval in force (seconds, 0 = no polling). */
uint32_t bstats_interval(const struct vcma_vm *vm);
/* This VM's interval: 0..BSTATS_MAX_INTERVAL_S, 0 = off. -EINVAL beyond. */
int bstats_set_interval(struct vcma_vm *vm, uint32_t interval_s, int64_t now_ms);

/* Whether the session can answer BALLOON_STATS now: 0, -ENOTCONN, -EOPNOTSUPP. */
int bstats_available(const struct vcma_vm *vm);
/*
 * Ask the guest for a sample (at once, or with the next pump when no slot
 * is free; a request already in flight serves too). *attempts_out is the
 * attempts count the answer, or the failure, will exceed. 0 or
 * bstats_available()'s error.
 */
int bstats_request(struct vcma_vm *vm, int64_t now_ms, uint64_t *attempts_out);

/* vm.c hooks */
void bstats_pump(struct vcma_vm *vm, int64_t now_ms);
void bstats_on_result(struct vcma_vm *vm, const struct vcma_msg *m, int64_t now_ms);
void bstats_on_error(struct vcma_vm *vm, uint64_t req_id, uint32_t status, const char *msg,
		     int64_t now_ms);
void bstats_on_timeout(struct vcma_vm *vm, uint64_t req_id, int64_t now_ms);
/* The session ended (the request in flight is lost); rebooted: the sample is stale. */
void bstats_session_reset(struct vcma_vm *vm, bool rebooted);

/* GET /v1/vms/{vm}/balloon/statistics */
json_object *bstats_json(struct vcma_vm *vm, int64_t now_ms);
void bstats_metrics(FILE *f, struct vcma_vm *const *vms, size_t nr);

#endif
