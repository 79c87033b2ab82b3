/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * One served VM: its desired state (the operator's reservations), what its
 * guest told us, and the session state machine that reconciles the two over
 * the channel. No libevent in here: bytes come in through vm_feed(), time
 * through the now_ms arguments, frames leave through vm->write; so every
 * rule below is unit-tested without a loop or a socket.
 *
 * Session states:
 *   DISCONNECTED -> (IO layer connected) HELLO_WAIT: host HELLO sent
 *   HELLO_WAIT -> (valid guest HELLO) SYNCING: STATUS sent
 *   SYNCING -> (last STATUS_RESULT frame) READY: grants matched to
 *              reservations by tag, missing ones re-requested, stale ones
 *              released, unknown ones shown as the guest's own
 *   any -> (fatal violation, keepalive timeout, EOF) DISCONNECTED
 * A HELLO in SYNCING/READY means the agent restarted: back to SYNCING.
 *
 * Reservation states: PENDING (wanted, RESERVE not yet answered), GRANTED,
 * FAILED (terminal, with status/cause/detail; the operator deletes it),
 * RELEASING (operator deleted it; RELEASE not yet answered). The RESERVE tag
 * is the reservation id, so re-sending after a reconnect is idempotent.
 * A RELEASE the guest refuses because something there holds the grant
 * (E_CLAIMED "busy, claimed by X", or E_BUSY from a guest without bit 6)
 * puts the reservation back to GRANTED with claimed_by set: the grant is
 * kept, never forgotten, and a later release asks again.
 */
#ifndef VCMA_DAEMON_VM_H
#define VCMA_DAEMON_VM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "vcma_codec.h"
#include "vm_registry.h"

enum rsv_state { RSV_PENDING = 0, RSV_GRANTED, RSV_FAILED, RSV_RELEASING, RSV_STATE_MAX };

struct rsv {
	uint64_t id;			/* = RESERVE tag */
	uint64_t size, align;
	uint64_t max_addr;		/* the grant ends at or below this GPA; 0 = anywhere */
	uint32_t deadline_ms;		/* 0 = the daemon default */
	char label[VCMA_LABEL_MAX + 1];
	enum rsv_state state;
	uint32_t status;		/* enum vcma_status of the last answer */
	uint32_t cause;			/* enum vcma_cause */
	char detail[128];		/* why it failed, for people */
	uint64_t grant_id, gpa, granted_size;
	/* What the guest last said holds the grant (STATUS sync, refused RELEASE). */
	uint32_t holder_flags;		/* VCMA_GRANT_F_* */
	char claimed_by[VCMA_HOLDER_LEN + 1];	/* "" = nothing known to hold it */
	struct vcma_evidence_h ev;
	int64_t created;		/* unix seconds */
	uint32_t attempts;		/* RESERVE frames sent */
	uint64_t inflight_req;		/* request id in flight, 0 = none */
	int64_t retry_at_ms;		/* E_AGAIN backoff */
};

enum vm_conn { VM_DISCONNECTED = 0, VM_HELLO_WAIT, VM_SYNCING, VM_READY };

struct vm_limits {
	uint32_t max_inflight;		/* requests outstanding to one guest */
	uint32_t max_reservations;	/* desired reservations per VM */
	uint32_t max_violations;	/* protocol violations tolerated per session */
	uint32_t keepalive_ms;		/* PING after this much silence */
	uint32_t keepalive_timeout_ms;	/* dead peer after this much silence */
	uint32_t frame_timeout_ms;	/* partial frame may sit this long */
	uint32_t default_deadline_ms;	/* RESERVE deadline when none given */
	uint32_t deadline_grace_ms;	/* host waits deadline + grace */
	uint32_t max_frames_per_sec;	/* flood bound */
	uint64_t max_guest_mem;		/* HELLO plausibility bound, bytes */
	uint32_t max_status_grants;	/* grants accepted in one STATUS sync */
	size_t max_reasm;		/* reassembly buffer bound, bytes */
	uint32_t stats_interval_s;	/* balloon statistics polling, 0 = off (stats.h) */
	uint32_t pressure_backoff_ms;	/* no re-inflating after a guest's pressure deflate */
};

void vm_limits_default(struct vm_limits *l);

enum vm_req_kind { VM_REQ_RESERVE = 0, VM_REQ_RELEASE, VM_REQ_STATUS, VM_REQ_KINDS };
enum vm_req_result { VM_RES_OK = 0, VM_RES_FAILED, VM_RES_TIMEOUT, VM_RES_ERROR, VM_RES_KINDS };

#define VM_LAT_BUCKETS 14
extern const double vm_lat_bounds_ms[VM_LAT_BUCKETS];	/* last is +Inf */

struct vm_stats {
	uint64_t sessions, disconnects, protocol_errors, reboots;
	uint64_t frames_rx, frames_tx, bytes_rx, bytes_tx;
	uint64_t req[VM_REQ_KINDS][VM_RES_KINDS];
	uint64_t lat_bucket[VM_LAT_BUCKETS];	/* RESERVE round trip, cumulative */
	uint64_t lat_count;
	double lat_sum_ms;
	uint64_t stale_released, ignored_frames;
};

struct inflight {
	uint64_t req_id;
	uint8_t type;			/* VCMA_MSG_RESERVE, _RELEASE or _STATUS */
	uint64_t rsv_id;		/* 0 for releases of stale grants, STATUS */
	uint64_t grant_id;		/* RELEASE */
	int64_t sent_ms, deadline_ms;	/* deadline: absolute, host clock */
	bool expired;			/* past its deadline, answer still handled */
};

/* Output: 0, or -ENOBUFS when the per-VM output queue is full. */
typedef int (*vm_write_fn)(void *io, const void *buf, size_t len);

struct vcma_vm {
	char name[VCMA_VM_NAME_MAX + 1];
	char uuid[VCMA_VM_UUID_LEN + 1];	/* libvirt's, "" for config VMs: the store key */
	char *channel;
	enum vcma_vm_source source;
	const struct vcma_vm_hooks *hooks;
	void *hook_opaque;
	const struct vm_limits *lim;

	/* desired state */
	struct rsv *rsv;
	size_t nr_rsv, cap_rsv;
	uint64_t next_id;
	uint64_t balloon_target;
	bool dirty;			/* persist me */
	/*
	 * The last save of this VM's state failed: no RESERVE goes out until one
	 * succeeds, or a crash in between would forget a reservation whose grant
	 * the guest holds (and hand its id to the next one).
	 */
	bool unsaved;
	/* why vcmad does not manage it (its state file was unusable), "" = managed */
	char unmanaged[256];
	bool desired_changed;		/* tell the source (hooks) */

	/* what the guest said */
	struct vcma_hello_h *hello;	/* last valid guest HELLO, NULL if none */
	uint8_t boot_id[16];		/* last known, persisted */
	uint64_t caps;			/* negotiated */
	uint16_t version;
	struct {
		uint64_t mem_total, mem_free, mem_available, balloon_bytes;
		uint32_t floor_pages;
		bool valid;
	} guest;
	struct vcma_grant_info_h *foreign;	/* grants that are not ours */
	size_t nr_foreign;
	struct vcma_grant_info_h *sync;		/* STATUS_RESULT being collected */
	size_t nr_sync;
	uint64_t *orphans;			/* stale grant ids to release */
	size_t nr_orphans;

	/* session */
	enum vm_conn conn;
	struct vcma_reasm *reasm;
	struct inflight *infl;
	size_t nr_infl;
	uint64_t next_req;
	uint64_t ping_id;		/* PING outstanding, 0 = none */
	uint64_t hello_id;		/* id of the HELLO we opened the session with */
	bool hello_answered;		/* a guest HELLO under hello_id was seen */
	uint64_t hello_reply_id;	/* id of our last HELLO answering the guest's */
	bool hello_reply_answered;	/* a guest HELLO under hello_reply_id was seen */
	int64_t last_rx_ms, last_ping_ms, last_hello_tx_ms, partial_since_ms;
	int64_t window_start_ms;
	uint32_t window_frames;
	uint32_t violations;
	uint64_t discarded_seen;
	bool drop;			/* the IO layer must disconnect */
	bool suspended;			/* the domain is paused: no timer runs (vm_set_suspended) */
	int64_t suspended_at_ms;
	char drop_reason[192];

	vm_write_fn write;
	void *io;
	struct vm_stats st;

	struct vm_balloon *bal;		/* balloon.h */
	struct balloon_stats *bst;	/* balloon/stats.h */
};

struct vcma_vm *vm_new(const char *name, const char *channel, const struct vm_limits *lim);
void vm_free(struct vcma_vm *vm);
bool vm_name_valid(const char *name);
int vm_set_channel(struct vcma_vm *vm, const char *channel);

/* The IO layer connected / lost the channel. */
void vm_session_start(struct vcma_vm *vm, int64_t now_ms);
void vm_session_end(struct vcma_vm *vm, const char *why);

/* Bytes from the guest. Afterwards check vm->drop. */
void vm_feed(struct vcma_vm *vm, const void *data, size_t len, int64_t now_ms);
/* One validated frame from the guest (vm_feed calls this). */
void vm_handle_frame(struct vcma_vm *vm, const struct vcma_msg *m, int64_t now_ms);
/*
 * The domain was paused (true) or resumed (false), as its VM source says: a
 * paused guest cannot answer, so while it is paused no keepalive, deadline
 * or partial-frame timer runs, and on resume each is moved on by the pause.
 */
void vm_set_suspended(struct vcma_vm *vm, bool suspended, int64_t now_ms);
/* Timers: keepalive, deadlines, stalled partial frames, E_AGAIN retries. */
void vm_tick(struct vcma_vm *vm, int64_t now_ms);
/* Send what is queued (pending reservations, releases) as far as bounds allow. */
void vm_pump(struct vcma_vm *vm, int64_t now_ms);

struct rsv_spec {
	uint64_t size, align;
	uint64_t max_addr;	/* 0 = no limit; else page aligned and >= size */
	uint32_t count, deadline_ms;
	uint32_t wait_ms;	/* REST only: hold the reply until settled (0 = 202 at once) */
	char label[VCMA_LABEL_MAX + 1];
};

/*
 * Add count desired reservations; their ids are *first_id .. +count-1.
 * -EINVAL bad spec, -ENOSPC over max_reservations. A limit (max_addr) goes
 * only to a guest with VCMA_CAP_ADDR_LIMIT; for any other the reservation
 * fails (E_UNSUPPORTED) rather than be granted without it.
 */
int vm_reserve(struct vcma_vm *vm, const struct rsv_spec *s, int64_t now_ms, uint64_t *first_id);
/*
 * Operator releases reservation id: failed ones are forgotten at once (0),
 * granted ones go RELEASING (1), a pending one is released once its answer
 * arrives (1). -ENOENT unknown id, -EALREADY already releasing.
 */
int vm_release(struct vcma_vm *vm, uint64_t id, int64_t now_ms);
struct rsv *vm_find_rsv(struct vcma_vm *vm, uint64_t id);
struct rsv *vm_add_rsv(struct vcma_vm *vm);	/* zeroed slot, or NULL */
void vm_remove_rsv(struct vcma_vm *vm, struct rsv *r);

bool vm_connected(const struct vcma_vm *vm);	/* SYNCING or READY */
/* A limit that a reservation of size may carry: 0, or page aligned and >= size. */
bool vm_limit_valid(uint64_t size, uint64_t max_addr);
const char *vm_conn_name(enum vm_conn c);
const char *rsv_state_name(enum rsv_state s);
int rsv_state_parse(const char *s);		/* -1 if unknown */
void boot_id_hex(const uint8_t id[16], char out[33]);
int boot_id_parse(const char *hex, uint8_t out[16]);

/*
 * Send request m (its id is chosen here) and track it like RESERVEs; the
 * answer goes to the handler of its type. 0, or -ENOBUFS (no slot, queue full).
 */
int vm_send_request(struct vcma_vm *vm, struct vcma_msg *m, uint32_t timeout_ms, int64_t now_ms,
		    uint64_t *req_id);

/* Mark a violation; after lim->max_violations the session is dropped. */
void vm_violation(struct vcma_vm *vm, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Drop the session now (fatal violation, dead peer, ...). */
void vm_fatal(struct vcma_vm *vm, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#endif
