/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The host side of the balloon for one VM: drives the guest towards the
 * desired target (vm->balloon_target, bytes the balloon should hold) with
 * BALLOON_SET, checks every chunk the guest reports and, when the VM's RAM is
 * a shared backing QEMU told us about, punches the inflated chunks out of it
 * (reclaim.h).
 *
 * Driving: one BALLOON_SET at a time. The agent works a bounded time per
 * request and ends with E_AGAIN while the target is not reached; vcmad then
 * sends the same target again (at once after progress, after a backoff
 * without). OK, E_FLOOR (the guest's safety floor) and E_NOSPC settle the
 * target until it changes or the session restarts. A restarted vcmad or
 * agent and a rebooted guest re-apply the stored target.
 *
 * Trust: a chunk GPA from the guest is punched only if it is aligned to the
 * chunk size, lies inside the guest's announced memory map and inside one RAM
 * section of QEMU's layout, overlaps no grant and no chunk already held, and
 * the frame does not take the balloon past the target asked for. A frame with
 * one bad chunk is refused whole (protocol violation) and nothing is punched.
 *
 * Deflate under guest memory pressure (VCMA_CAP_PRESSURE_DEFLATE common): the
 * guest gives chunks back on its own and says so (unsolicited BALLOON_REPORT,
 * EVENT PRESSURE_DEFLATE). vcmad records it and does not fight the guest:
 * it sends no BALLOON_SET that would inflate for pressure_backoff_ms, then
 * re-inflates towards the target (the guest's floor still bounds that). The
 * guest may give back only chunks reported before the last BALLOON_SET it
 * received, so chunks are punched only while vcmad handles the reports of
 * its current BALLOON_SET, and after a sequence that inflated chunks vcmad
 * sends the same target once more: the guest takes that as the sign that
 * those chunks were acted on (PROTOCOL.md 5.7).
 */
#ifndef VCMA_DAEMON_BALLOON_H
#define VCMA_DAEMON_BALLOON_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include <json-c/json.h>

#include "reclaim.h"
#include "vm.h"

#define BALLOON_CHUNK_ORDER	9	/* 2 MiB with 4 KiB pages */

struct vm_balloon {
	uint8_t chunk_order;
	uint64_t req_id;		/* BALLOON_SET in flight, 0 = none */
	uint64_t req_target;
	bool settled;			/* the guest gave a final answer for settled_target */
	uint64_t settled_target;
	uint32_t last_status;		/* enum vcma_status of the last final answer */
	int64_t retry_at_ms;
	bool floor_hit;
	uint64_t floor_short;		/* bytes short of the target at the floor */
	char detail[192];		/* last outcome, for people */

	uint64_t *chunks;		/* inflated chunk GPAs the host knows, sorted */
	size_t nr_chunks, cap_chunks;
	uint64_t *unpunched;		/* of those, not punched yet (no backing known), sorted */
	size_t nr_unpunched, cap_unpunched;
	/*
	 * After a (re)connect the chunk set (from the state store after a vcmad
	 * restart) is compared with the guest's balloon once: checked. exact: it
	 * matched, so unpunched chunks may be punched. resync: it did not, so
	 * the guest is deflated to 0 (it reports every chunk it gives back) and
	 * inflated again before anything is punched.
	 */
	bool checked, exact, resync;
	/*
	 * The set came from the state store (vcmad restarted): its reports may
	 * have been lost in any order, so equal counts do not prove that an
	 * unpunched chunk is still the guest's; with unpunched chunks it is
	 * resynchronised rather than punched from the list.
	 */
	bool from_store;
	/*
	 * Unpunched chunks were reported before a BALLOON_SET sent with
	 * VCMA_CAP_PRESSURE_DEFLATE common: the guest may give them back at any
	 * time now, so they too are resynchronised, never punched from the list.
	 */
	bool unpunched_acked;

	char *qmp_path;			/* QEMU's QMP socket, NULL = unknown */
	char *pin_reason;		/* memory pinned on the host: never punch; NULL = not known to be */
	char *unshared_reason;		/* RAM not a shared backend (from libvirt), NULL = maybe shared */
	struct reclaim *rc;		/* NULL until first needed in a session */
	int64_t rc_at_ms;		/* when QEMU was last asked */
	struct rc_job *job;		/* the QMP inspection running on its thread, or NULL */
	struct reclaim_usage base;	/* measured when the current resize began */
	uint64_t base_balloon;		/* guest balloon bytes then */
	int64_t started_ms, finished_ms;

	uint64_t sets_sent, reports, chunks_inflated, chunks_deflated, chunks_refused;
	uint64_t punched_bytes, punch_errors;

	uint64_t req_inflated;		/* chunks inflated by the BALLOON_SET in flight */
	bool confirm;			/* send the settled target once more (see above) */
	uint32_t pressure_backoff_ms;	/* this VM's, 0 = vm->lim's */
	int64_t pressure_hold_until_ms;	/* no inflating BALLOON_SET before this */
	uint64_t pressure_events, pressure_reports, pressure_chunks, pressure_bytes;
	uint64_t pressure_last_bytes;	/* of the last event */
	int64_t pressure_last_ms;	/* monotonic, 0 = never */
	int64_t pressure_last_unix;	/* wall clock seconds of the same */
};

int balloon_init(struct vcma_vm *vm);
void balloon_free(struct vcma_vm *vm);
/* The guest session restarted; rebooted = its balloon is gone. */
void balloon_session_reset(struct vcma_vm *vm, bool rebooted);
/* Set the QMP socket of the VM (NULL = none). 0 or -ENOMEM. */
int balloon_set_qmp(struct vcma_vm *vm, const char *qmp_path);

/*
 * The VM's memory is pinned on the host (the VM's source saw a <hostdev> or
 * locked memory): host reclaim is refused with reason, QMP or not; NULL
 * clears it. 0 or -ENOMEM.
 */
int balloon_set_pinned(struct vcma_vm *vm, const char *reason);
/* Same for RAM that is not a shared backend (pinned wins when both). */
int balloon_set_unshared(struct vcma_vm *vm, const char *reason);

/* Backoff after a pressure deflate for this VM, 0 = the global one. */
void balloon_set_pressure_backoff(struct vcma_vm *vm, uint32_t ms);

/* Operator: new target in bytes. -EINVAL when not a multiple of the chunk size. */
int balloon_set_target(struct vcma_vm *vm, uint64_t target, int64_t now_ms);
uint64_t balloon_chunk_bytes(const struct vcma_vm *vm);
/* Whether any chunk of the host's balloon chunk set lies in [gpa, gpa + len). */
bool balloon_holds_range(const struct vcma_vm *vm, uint64_t gpa, uint64_t len);
/*
 * Whether the host can back what lowering the balloon to target hands back
 * to the guest: on a hugetlbfs backing each punched huge page must come from
 * the host's pool again when the guest touches it (an empty pool is SIGBUS
 * in QEMU). 0 when it can (or nothing is punched), -ENOSPC with the reason
 * in why when the pool's free, unreserved pages are too few.
 */
int balloon_deflate_check(struct vcma_vm *vm, uint64_t target, char *why, size_t whylen);

/* vm.c hooks */
void balloon_pump(struct vcma_vm *vm, int64_t now_ms);
void balloon_on_report(struct vcma_vm *vm, const struct vcma_msg *m, bool solicited,
		       int64_t now_ms);
void balloon_on_error(struct vcma_vm *vm, uint32_t status, const char *msg, int64_t now_ms);
void balloon_on_timeout(struct vcma_vm *vm, uint64_t req_id, int64_t now_ms);
/* EVENT FLOOR_HIT or PRESSURE_DEFLATE (arg0: bytes short of the target / deflated). */
void balloon_on_event(struct vcma_vm *vm, uint32_t kind, uint64_t arg0);

/* Is the resize finished (settled, or nothing to do)? */
bool balloon_idle(const struct vcma_vm *vm);
/* Is the QMP inspection of the VM's QEMU still running (host reclaim "pending")? */
bool balloon_reclaim_pending(const struct vcma_vm *vm);
json_object *balloon_json(struct vcma_vm *vm, int64_t now_ms);
void balloon_metrics(FILE *f, struct vcma_vm *const *vms, size_t nr);

#endif
