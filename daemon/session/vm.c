/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The per-VM session state machine and broker (see vm.h for the states).
 * Everything the guest sends is untrusted: the codec has checked syntax and
 * ranges of single fields; here we check meaning (ids we asked for, grants
 * inside the memory map the guest announced, sizes we requested). Minor
 * violations are counted and the frame ignored; past the limit, or for
 * anything that makes the session meaningless (a bad HELLO), the session is
 * dropped with one clear log line and the IO layer reconnects with backoff.
 */
#include "vm.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "balloon.h"
#include "log.h"
#include "stats.h"
#include "vcma_size.h"

/*
 * Bit 6 (VCMA_CAP_ADDR_LIMIT): vcmad reads E_CLAIMED and the holders in STATUS_RESULT.
 * Bit 5 (VCMA_CAP_PRESSURE_DEFLATE): vcmad keeps the rules of PROTOCOL.md 5.7 (balloon.h).
 */
#define HOST_CAPS (VCMA_CAP_RESERVE | VCMA_CAP_STATUS | VCMA_CAP_EVENTS | VCMA_CAP_BALLOON | \
		   VCMA_CAP_ADDR_LIMIT | VCMA_CAP_BALLOON_STATS | \
		   VCMA_CAP_PRESSURE_DEFLATE)
#define AGAIN_BACKOFF_MS 1000
#define MAX_AGAIN_ATTEMPTS 8
#define EXPIRED_KEEP_MS 60000
#define MAX_ORPHANS 256

const double vm_lat_bounds_ms[VM_LAT_BUCKETS] = {
	1, 2, 5, 10, 25, 50, 100, 250, 500, 1000, 2500, 5000, 10000, 1e300,
};

/* One decode scratch for the whole (single-threaded) daemon: struct vcma_msg is ~30 KiB. */
static struct vcma_msg *scratch_msg(void)
{
	static struct vcma_msg *m;

	if (!m)
		m = malloc(sizeof(*m));
	return m;
}

void vm_limits_default(struct vm_limits *l)
{
	*l = (struct vm_limits){
		.max_inflight = 32,
		.max_reservations = 1024,
		.max_violations = 8,
		.keepalive_ms = 5000,
		.keepalive_timeout_ms = 15000,
		.frame_timeout_ms = 5000,
		.default_deadline_ms = 30000,
		.deadline_grace_ms = 2000,
		.max_frames_per_sec = 5000,
		.max_guest_mem = 1ull << 44,	/* 16 TiB */
		.max_status_grants = 4096,
		.max_reasm = 4 * (VCMA_MAX_PAYLOAD + sizeof(struct vcma_hdr)),
		.pressure_backoff_ms = 60000,
	};
}

bool vm_name_valid(const char *name)
{
	size_t n = 0;

	if (!name || !*name)
		return false;
	for (const char *p = name; *p; p++, n++) {
		char c = *p;

		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		      (c >= '0' && c <= '9') || c == '_' || c == '-' || c == '.'))
			return false;
	}
	return n <= VCMA_VM_NAME_MAX && name[0] != '.';
}

struct vcma_vm *vm_new(const char *name, const char *channel, const struct vm_limits *lim)
{
	struct vcma_vm *vm;

	if (!vm_name_valid(name) || !channel || !*channel)
		return NULL;
	vm = calloc(1, sizeof(*vm));
	if (!vm)
		return NULL;
	snprintf(vm->name, sizeof(vm->name), "%s", name);
	vm->channel = strdup(channel);
	vm->lim = lim;
	vm->next_id = 1;
	vm->next_req = 1;
	vm->infl = calloc(lim->max_inflight, sizeof(*vm->infl));
	vm->orphans = calloc(MAX_ORPHANS, sizeof(*vm->orphans));
	if (!vm->channel || !vm->infl || !vm->orphans || balloon_init(vm) || bstats_init(vm)) {
		vm_free(vm);
		return NULL;
	}
	return vm;
}

void vm_free(struct vcma_vm *vm)
{
	if (!vm)
		return;
	vcma_reasm_free(vm->reasm);
	free(vm->channel);
	free(vm->rsv);
	free(vm->hello);
	free(vm->foreign);
	free(vm->sync);
	free(vm->orphans);
	free(vm->infl);
	balloon_free(vm);
	bstats_free(vm);
	free(vm);
}

int vm_set_channel(struct vcma_vm *vm, const char *channel)
{
	char *c = strdup(channel);

	if (!c)
		return -ENOMEM;
	free(vm->channel);
	vm->channel = c;
	return 0;
}

const char *vm_conn_name(enum vm_conn c)
{
	static const char *const n[] = { "disconnected", "hello-wait", "syncing", "ready" };

	return c <= VM_READY ? n[c] : "?";
}

static const char *const rsv_state_names[RSV_STATE_MAX] = {
	"pending", "granted", "failed", "releasing",
};

const char *rsv_state_name(enum rsv_state s)
{
	return s < RSV_STATE_MAX ? rsv_state_names[s] : "?";
}

int rsv_state_parse(const char *s)
{
	for (int i = 0; i < RSV_STATE_MAX; i++)
		if (!strcmp(s, rsv_state_names[i]))
			return i;
	return -1;
}

void boot_id_hex(const uint8_t id[16], char out[33])
{
	for (int i = 0; i < 16; i++)
		snprintf(out + 2 * i, 3, "%02x", id[i]);
}

int boot_id_parse(const char *hex, uint8_t out[16])
{
	if (strlen(hex) != 32)
		return -EINVAL;
	for (int i = 0; i < 16; i++) {
		unsigned int v;

		if (sscanf(hex + 2 * i, "%2x", &v) != 1)
			return -EINVAL;
		out[i] = (uint8_t)v;
	}
	return 0;
}

bool vm_connected(const struct vcma_vm *vm)
{
	return vm->conn == VM_SYNCING || vm->conn == VM_READY;
}

/* ---- reservations ---------------------------------------------------- */

struct rsv *vm_find_rsv(struct vcma_vm *vm, uint64_t id)
{
	for (size_t i = 0; i < vm->nr_rsv; i++)
		if (vm->rsv[i].id == id)
			return &vm->rsv[i];
	return NULL;
}

static struct rsv *find_by_grant(struct vcma_vm *vm, uint64_t grant_id)
{
	for (size_t i = 0; i < vm->nr_rsv; i++)
		if (vm->rsv[i].grant_id == grant_id && vm->rsv[i].state != RSV_FAILED)
			return &vm->rsv[i];
	return NULL;
}

struct rsv *vm_add_rsv(struct vcma_vm *vm)
{
	if (vm->nr_rsv == vm->cap_rsv) {
		size_t cap = vm->cap_rsv ? 2 * vm->cap_rsv : 8;
		struct rsv *n = realloc(vm->rsv, cap * sizeof(*n));

		if (!n)
			return NULL;
		vm->rsv = n;
		vm->cap_rsv = cap;
	}
	memset(&vm->rsv[vm->nr_rsv], 0, sizeof(vm->rsv[0]));
	return &vm->rsv[vm->nr_rsv++];
}

/* Keeps the array ordered by id (ids only grow), so listings stay stable. */
void vm_remove_rsv(struct vcma_vm *vm, struct rsv *r)
{
	size_t i = (size_t)(r - vm->rsv);

	memmove(&vm->rsv[i], &vm->rsv[i + 1], (vm->nr_rsv - i - 1) * sizeof(*r));
	vm->nr_rsv--;
	vm->dirty = true;
}

bool vm_limit_valid(uint64_t size, uint64_t max_addr)
{
	return !max_addr || (max_addr % 4096 == 0 && max_addr >= size);
}

/* Whether [gpa, gpa + size) ends at or below r's limit. */
static bool below_limit(const struct rsv *r, uint64_t gpa, uint64_t size)
{
	return !r->max_addr || (gpa <= r->max_addr && size <= r->max_addr - gpa);
}

int vm_reserve(struct vcma_vm *vm, const struct rsv_spec *s, int64_t now_ms, uint64_t *first_id)
{
	(void)now_ms;
	if (!s->size || s->size % 4096 || (s->align && !vcma_size_is_pow2(s->align)) ||
	    s->count == 0 || !vm_limit_valid(s->size, s->max_addr))
		return -EINVAL;
	if (vm->nr_rsv + s->count > vm->lim->max_reservations)
		return -ENOSPC;
	*first_id = vm->next_id;
	for (uint32_t i = 0; i < s->count; i++) {
		struct rsv *r = vm_add_rsv(vm);

		if (!r)
			return -ENOMEM;
		r->id = vm->next_id++;
		r->size = s->size;
		r->align = s->align;
		r->max_addr = s->max_addr;
		r->deadline_ms = s->deadline_ms;
		snprintf(r->label, sizeof(r->label), "%s", s->label);
		r->state = RSV_PENDING;
		r->created = (int64_t)time(NULL);
	}
	vm->dirty = vm->desired_changed = true;
	return 0;
}

int vm_release(struct vcma_vm *vm, uint64_t id, int64_t now_ms)
{
	struct rsv *r = vm_find_rsv(vm, id);

	(void)now_ms;
	if (!r)
		return -ENOENT;
	vm->desired_changed = true;
	switch (r->state) {
	case RSV_FAILED:
		vm_remove_rsv(vm, r);
		return 0;
	case RSV_RELEASING:
		return -EALREADY;
	case RSV_PENDING:
		if (!r->inflight_req) {
			vm_remove_rsv(vm, r);
			return 0;
		}
		/* the answer in flight may carry a grant to give back */
		__attribute__((fallthrough));
	case RSV_GRANTED:
	default:
		r->state = RSV_RELEASING;
		vm->dirty = true;
		return 1;
	}
}

/* ---- output ------------------------------------------------------------ */

static int send_msg(struct vcma_vm *vm, const struct vcma_msg *m)
{
	uint8_t buf[512];	/* host frames are small: the largest is HELLO, 120 bytes */
	int n = vcma_encode(m, buf, sizeof(buf));

	if (n < 0) {
		vlog_vm_err(vm->name, "cannot encode %s: %s",
			 vcma_msg_type_name(m->type), vcma_codec_strerror(n));
		return -EINVAL;
	}
	if (!vm->write || vm->write(vm->io, buf, (size_t)n) < 0) {
		vm_fatal(vm, "guest does not read its channel (output queue full)");
		return -ENOBUFS;
	}
	vm->st.frames_tx++;
	vm->st.bytes_tx += (uint64_t)n;
	return 0;
}

static void send_simple(struct vcma_vm *vm, uint8_t type, uint64_t id)
{
	struct vcma_msg m;

	/* PING/PONG/STATUS carry no payload, so only the head of the union matters. */
	vcma_msg_init(&m, type, id);
	send_msg(vm, &m);
}

/*
 * The guest answers every HELLO we send, the one opening the session and
 * those answering its own, so each id is remembered until its answer comes.
 */
static void send_hello(struct vcma_vm *vm, uint64_t id, bool reply, int64_t now_ms)
{
	struct vcma_msg *m = calloc(1, sizeof(*m));

	if (!m)
		return;
	vcma_msg_init(m, VCMA_MSG_HELLO, id);
	m->u.hello.proto_min = VCMA_PROTO_MIN;
	m->u.hello.proto_max = VCMA_PROTO_MAX;
	m->u.hello.role = VCMA_ROLE_HOST;
	m->u.hello.caps = HOST_CAPS;
	snprintf(m->u.hello.software, sizeof(m->u.hello.software), "vcmad %s", VCMA_VERSION);
	send_msg(vm, m);
	if (reply) {
		vm->hello_reply_id = id;
		vm->hello_reply_answered = false;
	} else {
		vm->hello_id = id;
		vm->hello_answered = false;
	}
	vm->last_hello_tx_ms = now_ms;
	free(m);
}

static struct inflight *infl_add(struct vcma_vm *vm, uint8_t type, int64_t now_ms,
				 uint32_t timeout_ms)
{
	struct inflight *f;

	if (vm->nr_infl >= vm->lim->max_inflight)
		return NULL;
	f = &vm->infl[vm->nr_infl++];
	*f = (struct inflight){
		.req_id = vm->next_req++,
		.type = type,
		.sent_ms = now_ms,
		.deadline_ms = now_ms + timeout_ms + vm->lim->deadline_grace_ms,
	};
	return f;
}

static void infl_drop(struct vcma_vm *vm, struct inflight *f)
{
	*f = vm->infl[--vm->nr_infl];
}

static struct inflight *infl_find(struct vcma_vm *vm, uint64_t req_id)
{
	for (size_t i = 0; i < vm->nr_infl; i++)
		if (vm->infl[i].req_id == req_id)
			return &vm->infl[i];
	return NULL;
}

static int send_reserve(struct vcma_vm *vm, struct rsv *r, int64_t now_ms)
{
	uint32_t deadline = r->deadline_ms ? r->deadline_ms : vm->lim->default_deadline_ms;
	struct inflight *f = infl_add(vm, VCMA_MSG_RESERVE, now_ms, deadline);
	struct vcma_msg m;

	if (!f)
		return -ENOBUFS;
	vcma_msg_init(&m, VCMA_MSG_RESERVE, f->req_id);
	m.u.reserve.size = r->size;
	m.u.reserve.align = r->align;
	m.u.reserve.tag = r->id;
	m.u.reserve.node = VCMA_NODE_ANY;
	m.u.reserve.deadline_ms = deadline;
	m.u.reserve.max_addr = r->max_addr;	/* vm_pump sends none to a guest without bit 6 */
	snprintf(m.u.reserve.label, sizeof(m.u.reserve.label), "%s", r->label);
	if (send_msg(vm, &m) < 0) {
		infl_drop(vm, f);
		return -ENOBUFS;
	}
	f->rsv_id = r->id;
	r->inflight_req = f->req_id;
	r->attempts++;
	return 0;
}

int vm_send_request(struct vcma_vm *vm, struct vcma_msg *m, uint32_t timeout_ms, int64_t now_ms,
		    uint64_t *req_id)
{
	struct inflight *f = infl_add(vm, m->type, now_ms, timeout_ms);

	if (!f)
		return -ENOBUFS;
	m->id = f->req_id;
	if (send_msg(vm, m) < 0) {
		infl_drop(vm, f);
		return -ENOBUFS;
	}
	*req_id = m->id;
	return 0;
}

static int send_release(struct vcma_vm *vm, uint64_t rsv_id, uint64_t grant_id, int64_t now_ms)
{
	struct inflight *f = infl_add(vm, VCMA_MSG_RELEASE, now_ms, vm->lim->default_deadline_ms);
	struct vcma_msg m;

	if (!f)
		return -ENOBUFS;
	vcma_msg_init(&m, VCMA_MSG_RELEASE, f->req_id);
	m.u.release.grant_id = grant_id;
	if (send_msg(vm, &m) < 0) {
		infl_drop(vm, f);
		return -ENOBUFS;
	}
	f->rsv_id = rsv_id;
	f->grant_id = grant_id;
	return 0;
}

static void queue_orphan(struct vcma_vm *vm, uint64_t grant_id, const char *why)
{
	for (size_t i = 0; i < vm->nr_orphans; i++)
		if (vm->orphans[i] == grant_id)
			return;
	for (size_t i = 0; i < vm->nr_infl; i++)
		if (vm->infl[i].type == VCMA_MSG_RELEASE && vm->infl[i].grant_id == grant_id)
			return;
	if (vm->nr_orphans == MAX_ORPHANS) {
		vm_violation(vm, "too many stale grants to release");
		return;
	}
	vlog_vm_info(vm->name, "releasing grant %llu: %s",
		  (unsigned long long)grant_id, why);
	vm->orphans[vm->nr_orphans++] = grant_id;
	vm->st.stale_released++;
}

static void fail_rsv(struct vcma_vm *vm, struct rsv *r, uint32_t status, uint32_t cause,
		     const char *detail);

void vm_pump(struct vcma_vm *vm, int64_t now_ms)
{
	if (vm->conn != VM_READY || vm->drop)
		return;
	balloon_pump(vm, now_ms);
	bstats_pump(vm, now_ms);
	while (vm->nr_orphans && vm->nr_infl < vm->lim->max_inflight) {
		if (send_release(vm, 0, vm->orphans[vm->nr_orphans - 1], now_ms) < 0)
			return;
		vm->nr_orphans--;
	}
	for (size_t i = 0; i < vm->nr_rsv && vm->nr_infl < vm->lim->max_inflight; i++) {
		struct rsv *r = &vm->rsv[i];

		if (r->inflight_req)
			continue;
		/* A limit is never dropped: a guest that cannot take one gets no request. */
		if (r->state == RSV_PENDING && r->max_addr && !(vm->caps & VCMA_CAP_ADDR_LIMIT)) {
			fail_rsv(vm, r, VCMA_E_UNSUPPORTED, VCMA_CAUSE_NONE,
				 "the guest agent takes no address limit (capability bit 6)");
			continue;
		}
		if (r->state == RSV_PENDING && (vm->caps & VCMA_CAP_RESERVE) &&
		    !vm->unsaved && now_ms >= r->retry_at_ms) {
			if (send_reserve(vm, r, now_ms) < 0)
				return;
		} else if (r->state == RSV_RELEASING) {
			if (!r->grant_id) {
				vm_remove_rsv(vm, r);
				i--;
				continue;
			}
			if (now_ms < r->retry_at_ms)
				continue;
			if (send_release(vm, r->id, r->grant_id, now_ms) < 0)
				return;
			r->inflight_req = vm->infl[vm->nr_infl - 1].req_id;
		}
	}
}

/* ---- violations ----------------------------------------------------------- */

static void drop_session(struct vcma_vm *vm, const char *reason)
{
	if (vm->drop)
		return;
	vm->drop = true;
	snprintf(vm->drop_reason, sizeof(vm->drop_reason), "%s", reason);
}

void vm_violation(struct vcma_vm *vm, const char *fmt, ...)
{
	char msg[160];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	vm->st.protocol_errors++;
	vm->violations++;
	vlog_vm_warn(vm->name, "protocol violation %u/%u: %s", vm->violations,
		  vm->lim->max_violations, msg);
	if (vm->violations >= vm->lim->max_violations) {
		char why[192];

		snprintf(why, sizeof(why), "%u protocol violations (last: %s)",
			 vm->violations, msg);
		drop_session(vm, why);
	}
}

void vm_fatal(struct vcma_vm *vm, const char *fmt, ...)
{
	char msg[192];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	vm->st.protocol_errors++;
	drop_session(vm, msg);
}

/* ---- session ------------------------------------------------------------------ */

void vm_session_start(struct vcma_vm *vm, int64_t now_ms)
{
	vcma_reasm_free(vm->reasm);
	vm->reasm = vcma_reasm_new(vm->lim->max_reasm);
	vm->conn = VM_HELLO_WAIT;
	vm->drop = false;
	vm->drop_reason[0] = 0;
	vm->violations = 0;
	vm->discarded_seen = 0;
	vm->nr_infl = 0;
	vm->ping_id = 0;
	vm->last_rx_ms = vm->last_ping_ms = now_ms;
	vm->partial_since_ms = 0;
	vm->window_start_ms = now_ms;
	vm->window_frames = 0;
	if (!vm->reasm) {
		drop_session(vm, "out of memory");
		return;
	}
	vm->hello_reply_answered = true;	/* nothing sent under hello_reply_id yet */
	send_hello(vm, vm->next_req++, false, now_ms);
}

/* Requests in flight are forgotten; the next sync re-learns their outcome by tag. */
static void forget_inflight(struct vcma_vm *vm)
{
	for (size_t i = 0; i < vm->nr_rsv; i++)
		vm->rsv[i].inflight_req = 0;
	vm->nr_infl = 0;
	vm->nr_orphans = 0;
	vm->nr_sync = 0;
	vm->ping_id = 0;
	balloon_session_reset(vm, false);
	bstats_session_reset(vm, false);
}

void vm_session_end(struct vcma_vm *vm, const char *why)
{
	if (vm->conn != VM_DISCONNECTED) {
		size_t partial = vm->reasm ? vcma_reasm_buffered(vm->reasm) : 0;

		vm->st.disconnects++;
		if (partial)
			vlog_vm_warn(vm->name, "session ended mid-frame (%zu bytes of an incomplete frame discarded): %s",
				     partial, why);
		else
			vlog_vm_info(vm->name, "session ended: %s", why);
	}
	forget_inflight(vm);
	vm->conn = VM_DISCONNECTED;
	vcma_reasm_free(vm->reasm);
	vm->reasm = NULL;
}

static bool range_in_map(const struct vcma_vm *vm, uint64_t gpa, uint64_t size)
{
	const struct vcma_hello_h *h = vm->hello;

	if (!size || gpa + size < gpa)
		return false;
	if (gpa % h->page_size || size % h->page_size)
		return false;
	if (!h->nr_ranges)	/* no map announced: only the total bounds it */
		return gpa + size <= vm->lim->max_guest_mem && size <= h->mem_total;
	for (uint32_t i = 0; i < h->nr_ranges; i++) {
		const struct vcma_mem_range_h *mr = &h->ranges[i];

		if (gpa >= mr->gpa && gpa + size <= mr->gpa + mr->size)
			return true;
	}
	return false;
}

/* Why a guest HELLO is not believable, or NULL. */
static const char *hello_implausible(const struct vcma_vm *vm, const struct vcma_hello_h *h)
{
	uint64_t sum = 0;

	if (h->role != VCMA_ROLE_GUEST)
		return "HELLO role is not guest";
	if (h->page_size < 4096 || (h->page_size & (h->page_size - 1)))
		return "HELLO page size invalid";
	if (!h->mem_total || h->mem_total > vm->lim->max_guest_mem)
		return "HELLO mem_total absurd";
	if (h->mem_free > h->mem_total || h->mem_movable > h->mem_total)
		return "HELLO mem_free/mem_movable above mem_total";
	for (uint32_t i = 0; i < h->nr_ranges; i++) {
		const struct vcma_mem_range_h *a = &h->ranges[i];

		if (!a->size || a->gpa + a->size < a->gpa ||
		    a->gpa + a->size > vm->lim->max_guest_mem)
			return "HELLO memory range outside plausible guest memory";
		if (a->gpa % h->page_size || a->size % h->page_size)
			return "HELLO memory range not page aligned";
		for (uint32_t j = 0; j < i; j++) {
			const struct vcma_mem_range_h *b = &h->ranges[j];

			if (a->gpa < b->gpa + b->size && b->gpa < a->gpa + a->size)
				return "HELLO memory ranges overlap";
		}
		sum += a->size;
	}
	if (sum > vm->lim->max_guest_mem)
		return "HELLO memory map larger than plausible";
	return NULL;
}

static void send_status(struct vcma_vm *vm, int64_t now_ms)
{
	struct inflight *f = infl_add(vm, VCMA_MSG_STATUS, now_ms, vm->lim->default_deadline_ms);

	if (!f) {
		vm_fatal(vm, "no room for STATUS request");
		return;
	}
	send_simple(vm, VCMA_MSG_STATUS, f->req_id);
}

static void finish_sync(struct vcma_vm *vm, int64_t now_ms);

static void handle_hello(struct vcma_vm *vm, const struct vcma_msg *m, int64_t now_ms)
{
	const struct vcma_hello_h *h = &m->u.hello;
	const char *bad = hello_implausible(vm, h);
	int ver = vcma_negotiate(VCMA_PROTO_MIN, VCMA_PROTO_MAX, h->proto_min, h->proto_max);
	static const uint8_t zero_id[16];
	char hex[33];
	bool again = vm->conn != VM_HELLO_WAIT;

	if (bad) {
		vm_fatal(vm, "%s (mem_total %llu, %u ranges)", bad,
			 (unsigned long long)h->mem_total, h->nr_ranges);
		return;
	}
	if (ver < 0) {
		vm_fatal(vm, "no common protocol version (guest speaks %u..%u, we %u..%u)",
			 h->proto_min, h->proto_max, VCMA_PROTO_MIN, VCMA_PROTO_MAX);
		return;
	}
	/*
	 * The agent says HELLO when the channel comes up and again in answer to
	 * each of ours: an answer to one of ours from the same boot is no news.
	 */
	bool answer = false;

	if (m->id == vm->hello_id && !vm->hello_answered) {
		vm->hello_answered = true;
		answer = true;
	} else if (m->id == vm->hello_reply_id && !vm->hello_reply_answered) {
		vm->hello_reply_answered = true;
		answer = true;
	}
	if (again && answer && !memcmp(vm->hello->boot_id, h->boot_id, 16)) {
		*vm->hello = *h;
		vm->guest.mem_total = h->mem_total;
		vm->guest.mem_free = h->mem_free;
		return;
	}
	if (!vm->hello) {
		vm->hello = malloc(sizeof(*vm->hello));
		if (!vm->hello) {
			vm_fatal(vm, "out of memory");
			return;
		}
	}
	*vm->hello = *h;
	vm->version = (uint16_t)ver;
	vm->caps = vcma_caps_common(HOST_CAPS, h->caps);
	vm->guest.mem_total = h->mem_total;
	vm->guest.mem_free = h->mem_free;
	boot_id_hex(h->boot_id, hex);
	if (memcmp(vm->boot_id, zero_id, 16) && memcmp(vm->boot_id, h->boot_id, 16)) {
		vlog_vm_info(vm->name, "guest rebooted (boot id %s): its grants are gone, re-requesting",
			     hex);
		vm->st.reboots++;
		balloon_session_reset(vm, true);
		bstats_session_reset(vm, true);
	}
	if (memcmp(vm->boot_id, h->boot_id, 16)) {
		memcpy(vm->boot_id, h->boot_id, 16);
		vm->dirty = true;
	}
	vlog_vm_info(vm->name, "guest %s: \"%s\" v%d, %llu MiB, page %u, boot %s%s",
		  again ? "said HELLO again (agent restart)" : "connected", h->software, ver,
		  (unsigned long long)(h->mem_total >> 20), h->page_size, hex,
		  (vm->caps & VCMA_CAP_RESERVE) ? "" : ", no RESERVE capability");
	/*
	 * Answer a HELLO unless it answers ours, and at most once a second,
	 * so that two peers that both answer HELLOs cannot ping-pong forever.
	 */
	if (!answer && now_ms - vm->last_hello_tx_ms >= 1000)
		send_hello(vm, m->id, true, now_ms);
	if (!again)
		vm->st.sessions++;
	forget_inflight(vm);
	vm->conn = VM_SYNCING;
	if (vm->caps & VCMA_CAP_STATUS)
		send_status(vm, now_ms);
	else
		finish_sync(vm, now_ms);
}

static bool grant_plausible(struct vcma_vm *vm, const struct vcma_grant_info_h *g,
			    const char **why)
{
	if (!range_in_map(vm, g->gpa, g->size)) {
		*why = "grant outside the guest's memory map";
		return false;
	}
	return true;
}

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

/*
 * The grant list as a whole must make sense before any of it is believed:
 * unique grant ids, and no more granted memory than the guest has.
 */
static bool sync_plausible(struct vcma_vm *vm)
{
	uint64_t *ids = malloc((vm->nr_sync + 1) * sizeof(*ids));
	uint64_t bytes = 0;
	bool dup = false;

	if (!ids) {
		vm_fatal(vm, "out of memory");
		return false;
	}
	for (size_t i = 0; i < vm->nr_sync; i++) {
		ids[i] = vm->sync[i].grant_id;
		/* saturate instead of wrapping: any size may come from the guest */
		if (vm->sync[i].size > UINT64_MAX - bytes)
			bytes = UINT64_MAX;
		else
			bytes += vm->sync[i].size;
	}
	qsort(ids, vm->nr_sync, sizeof(*ids), cmp_u64);
	for (size_t i = 1; i < vm->nr_sync && !dup; i++)
		dup = ids[i] == ids[i - 1];
	free(ids);
	if (dup) {
		vm_fatal(vm, "STATUS_RESULT lists a grant id twice");
		return false;
	}
	if (bytes > vm->hello->mem_total) {
		vm_fatal(vm, "STATUS_RESULT grants %llu bytes, more than the guest's %llu",
			 (unsigned long long)bytes, (unsigned long long)vm->hello->mem_total);
		return false;
	}
	return true;
}

/* Match the guest's grants (the source of truth) against the desired state. */
static void finish_sync(struct vcma_vm *vm, int64_t now_ms)
{
	bool *matched = calloc(vm->nr_rsv + 1, sizeof(*matched));

	if (!matched) {
		vm_fatal(vm, "out of memory");
		return;
	}
	vm->nr_foreign = 0;
	if (!sync_plausible(vm)) {
		free(matched);
		return;
	}
	for (size_t i = 0; i < vm->nr_sync; i++) {
		const struct vcma_grant_info_h *g = &vm->sync[i];
		struct rsv *r = g->tag ? vm_find_rsv(vm, g->tag) : NULL;
		const char *why = NULL;

		if (!grant_plausible(vm, g, &why)) {
			vm_violation(vm, "STATUS grant %llu: %s", (unsigned long long)g->grant_id, why);
			continue;
		}
		if (r && !matched[r - vm->rsv] && g->size >= r->size &&
		    below_limit(r, g->gpa, g->size)) {
			matched[r - vm->rsv] = true;
			if (r->state == RSV_FAILED) {
				queue_orphan(vm, g->grant_id, "late grant for a failed reservation");
				continue;
			}
			if (r->state == RSV_PENDING)
				r->state = RSV_GRANTED;
			if (r->grant_id != g->grant_id || r->gpa != g->gpa)
				vm->dirty = true;
			r->grant_id = g->grant_id;
			r->gpa = g->gpa;
			r->granted_size = g->size;
			r->holder_flags = g->flags;
			snprintf(r->claimed_by, sizeof(r->claimed_by), "%s", g->holder);
			continue;
		}
		if (r || (g->tag && g->tag < vm->next_id)) {
			queue_orphan(vm, g->grant_id,
				     r ? "duplicate, undersized or over-limit grant for a reservation"
				       : "its reservation was deleted");
			continue;
		}
		/* tag 0 (guest-local) or a tag we never issued: the guest's own */
		if (!vm->foreign || vm->nr_foreign % 64 == 0) {
			void *n = realloc(vm->foreign, (vm->nr_foreign + 64) * sizeof(*g));

			if (!n)
				continue;
			vm->foreign = n;
		}
		vm->foreign[vm->nr_foreign++] = *g;
	}
	for (size_t i = 0; i < vm->nr_rsv; i++) {
		struct rsv *r = &vm->rsv[i];

		if (matched[i])
			continue;
		if (r->state == RSV_GRANTED) {
			vlog_vm_info(vm->name, "reservation %llu: grant %llu is gone from the guest, re-requesting",
				     (unsigned long long)r->id, (unsigned long long)r->grant_id);
			r->state = RSV_PENDING;
			r->grant_id = r->gpa = r->granted_size = 0;
			vm->dirty = true;
		} else if (r->state == RSV_RELEASING) {
			/* Keep the array walk simple: RELEASING without grant is removed by vm_pump. */
			r->grant_id = 0;
		}
	}
	free(matched);
	vm->nr_sync = 0;
	vm->conn = VM_READY;
	vm_pump(vm, now_ms);
}

static void handle_status_result(struct vcma_vm *vm, const struct vcma_msg *m,
				 int64_t now_ms)
{
	const struct vcma_status_result_h *s = &m->u.status_result;

	if (s->holders && !(vm->caps & VCMA_CAP_ADDR_LIMIT))
		vm_violation(vm, "STATUS_RESULT with holders without capability bit 6");
	if (vm->nr_sync + s->nr_grants > vm->lim->max_status_grants) {
		vm_fatal(vm, "STATUS_RESULT lists more than %u grants", vm->lim->max_status_grants);
		return;
	}
	if (s->nr_grants) {
		void *n = realloc(vm->sync, (vm->nr_sync + s->nr_grants) * sizeof(*vm->sync));

		if (!n) {
			vm_fatal(vm, "out of memory");
			return;
		}
		vm->sync = n;
		memcpy(vm->sync + vm->nr_sync, s->grants, s->nr_grants * sizeof(*vm->sync));
		vm->nr_sync += s->nr_grants;
	}
	vm->guest.mem_total = s->mem_total;
	vm->guest.mem_free = s->mem_free;
	vm->guest.mem_available = s->mem_available;
	vm->guest.balloon_bytes = s->balloon_bytes;
	vm->guest.floor_pages = s->floor_pages;
	vm->guest.valid = true;
	if (m->flags & VCMA_HDR_F_MORE)
		return;
	vm->st.req[VM_REQ_STATUS][VM_RES_OK]++;
	if (vm->conn == VM_SYNCING)
		finish_sync(vm, now_ms);
	else
		vm->nr_sync = 0;
}

static void record_latency(struct vcma_vm *vm, double ms)
{
	for (int i = 0; i < VM_LAT_BUCKETS; i++)
		if (ms <= vm_lat_bounds_ms[i])
			vm->st.lat_bucket[i]++;
	vm->st.lat_count++;
	vm->st.lat_sum_ms += ms;
}

static void fail_rsv(struct vcma_vm *vm, struct rsv *r, uint32_t status, uint32_t cause,
		     const char *detail)
{
	r->status = status;
	r->cause = cause;
	snprintf(r->detail, sizeof(r->detail), "%s", detail);
	if (r->state == RSV_RELEASING) {
		/* the operator already gave it up and nothing was granted */
		vm_remove_rsv(vm, r);
		return;
	}
	r->state = RSV_FAILED;
	vm->dirty = true;
	vlog_vm_info(vm->name, "reservation %llu failed: %s", (unsigned long long)r->id, detail);
}

/*
 * What a new grant [gpa, gpa + size) of reservation r overlaps, or NULL: a
 * range the guest hands out once is never in two grants, nor in the balloon
 * whose chunks the host may have punched.
 */
static const char *grant_overlap(const struct vcma_vm *vm, const struct rsv *r, uint64_t grant_id,
				 uint64_t gpa, uint64_t size)
{
	for (size_t i = 0; i < vm->nr_rsv; i++) {
		const struct rsv *o = &vm->rsv[i];

		if (o != r && o->grant_id && o->granted_size && gpa < o->gpa + o->granted_size &&
		    o->gpa < gpa + size)
			return "another reservation's grant";
	}
	for (size_t i = 0; i < vm->nr_foreign; i++) {
		const struct vcma_grant_info_h *f = &vm->foreign[i];

		if (f->grant_id != grant_id && gpa < f->gpa + f->size && f->gpa < gpa + size)
			return "a grant the guest already holds";
	}
	if (balloon_holds_range(vm, gpa, size))
		return "balloon chunks";
	return NULL;
}

static void handle_reserve_result(struct vcma_vm *vm, const struct vcma_msg *m,
				  const struct inflight *f, int64_t now_ms)
{
	const struct vcma_reserve_result_h *res = &m->u.reserve_result;
	struct rsv *r = vm_find_rsv(vm, f->rsv_id);
	bool expired = f->expired;
	char detail[128];

	if (r && r->inflight_req == m->id)
		r->inflight_req = 0;
	if (res->status != VCMA_OK) {
		vm->st.req[VM_REQ_RESERVE][VM_RES_FAILED]++;
		if (!r || expired)
			return;
		r->ev = res->ev;
		if (res->status == VCMA_E_AGAIN && r->attempts < MAX_AGAIN_ATTEMPTS) {
			r->retry_at_ms = now_ms + AGAIN_BACKOFF_MS;
			return;
		}
		snprintf(detail, sizeof(detail), "guest: %s (cause %s)",
			 vcma_status_name(res->status), vcma_cause_name(res->ev.cause));
		fail_rsv(vm, r, res->status, res->ev.cause, detail);
		return;
	}
	/* A grant: check it before believing it. */
	if (res->tag != f->rsv_id) {
		vm_violation(vm, "RESERVE_RESULT tag %llu for request with tag %llu",
			     (unsigned long long)res->tag, (unsigned long long)f->rsv_id);
		if (r)
			fail_rsv(vm, r, VCMA_E_PROTO, VCMA_CAUSE_NONE, "guest answered with a wrong tag");
		return;
	}
	if (!r || expired) {
		vm->st.req[VM_REQ_RESERVE][VM_RES_TIMEOUT]++;
		if (!find_by_grant(vm, res->grant_id))
			queue_orphan(vm, res->grant_id, "grant arrived after its deadline");
		vm_pump(vm, now_ms);
		return;
	}
	if (res->size < r->size || res->size - r->size >= vm->hello->page_size ||
	    !range_in_map(vm, res->gpa, res->size) ||
	    (r->align && res->gpa % r->align) || !below_limit(r, res->gpa, res->size)) {
		vm_violation(vm, "RESERVE_RESULT grant %llu at 0x%llx size %llu implausible for %llu bytes",
			     (unsigned long long)res->grant_id, (unsigned long long)res->gpa,
			     (unsigned long long)res->size, (unsigned long long)r->size);
		fail_rsv(vm, r, VCMA_E_PROTO, VCMA_CAUSE_NONE, "guest sent an implausible grant");
		if (!find_by_grant(vm, res->grant_id))
			queue_orphan(vm, res->grant_id, "implausible grant");
		return;
	}
	struct rsv *other = find_by_grant(vm, res->grant_id);

	if (other && other != r) {
		vm_violation(vm, "RESERVE_RESULT grant id %llu already belongs to reservation %llu",
			     (unsigned long long)res->grant_id, (unsigned long long)other->id);
		fail_rsv(vm, r, VCMA_E_PROTO, VCMA_CAUSE_NONE, "guest reused a grant id");
		return;
	}
	const char *clash = grant_overlap(vm, r, res->grant_id, res->gpa, res->size);

	if (clash) {
		vm_violation(vm, "RESERVE_RESULT grant %llu at 0x%llx size %llu overlaps %s",
			     (unsigned long long)res->grant_id, (unsigned long long)res->gpa,
			     (unsigned long long)res->size, clash);
		fail_rsv(vm, r, VCMA_E_PROTO, VCMA_CAUSE_NONE,
			 "guest granted a range that overlaps another grant or the balloon");
		queue_orphan(vm, res->grant_id, "overlapping grant");
		return;
	}
	vm->st.req[VM_REQ_RESERVE][VM_RES_OK]++;
	record_latency(vm, (double)(now_ms - f->sent_ms));
	r->grant_id = res->grant_id;
	r->gpa = res->gpa;
	r->granted_size = res->size;
	r->ev = res->ev;
	r->status = VCMA_OK;
	r->cause = VCMA_CAUSE_NONE;
	r->detail[0] = 0;
	if (r->state == RSV_PENDING)
		r->state = RSV_GRANTED;
	vm->dirty = true;
}

/*
 * The guest keeps a grant something there holds: so do we. The reservation
 * is granted again (the operator's release was refused, not queued), its
 * holder recorded for GET and vcmactl, and the desired state says so again.
 */
static void release_refused_held(struct vcma_vm *vm, struct rsv *r, const char *holder)
{
	r->state = RSV_GRANTED;
	r->inflight_req = 0;
	r->retry_at_ms = 0;
	r->status = holder[0] ? VCMA_E_CLAIMED : VCMA_E_BUSY;
	r->cause = VCMA_CAUSE_NONE;
	if (holder[0])
		snprintf(r->claimed_by, sizeof(r->claimed_by), "%s", holder);
	snprintf(r->detail, sizeof(r->detail), "release refused: busy, claimed by %s",
		 r->claimed_by[0] ? r->claimed_by : "a guest user (the guest did not say who)");
	vm->dirty = vm->desired_changed = true;
}

static void handle_release_result(struct vcma_vm *vm, const struct vcma_msg *m,
				  const struct inflight *f, int64_t now_ms)
{
	const struct vcma_release_result_h *res = &m->u.release_result;
	struct rsv *r = f->rsv_id ? vm_find_rsv(vm, f->rsv_id) : NULL;
	uint64_t grant_id = f->grant_id;

	if (res->grant_id != grant_id) {
		vm_violation(vm, "RELEASE_RESULT for grant %llu, asked for %llu",
			     (unsigned long long)res->grant_id, (unsigned long long)grant_id);
		if (r)
			r->inflight_req = 0;	/* ask again */
		return;
	}
	if (res->status == VCMA_E_CLAIMED && !(vm->caps & VCMA_CAP_ADDR_LIMIT))
		vm_violation(vm, "RELEASE_RESULT E_CLAIMED without capability bit 6");
	/* E_NOENT: already gone (guest rebooted or released it), which is what we want. */
	if (res->status == VCMA_OK || res->status == VCMA_E_NOENT) {
		vm->st.req[VM_REQ_RELEASE][VM_RES_OK]++;
		if (r) {
			r->holder_flags = 0;
			r->claimed_by[0] = '\0';
		}
		if (r && r->state == RSV_RELEASING) {
			vlog_vm_info(vm->name, "reservation %llu released (grant %llu)",
				  (unsigned long long)r->id, (unsigned long long)grant_id);
			vm_remove_rsv(vm, r);
		}
		return;
	}
	vm->st.req[VM_REQ_RELEASE][VM_RES_FAILED]++;
	vlog_vm_warn(vm->name, "guest refused to release grant %llu: %s%s%s",
		  (unsigned long long)grant_id, vcma_status_name(res->status),
		  res->holder[0] ? ", claimed by " : "", res->holder);
	if (!r)
		return;	/* a stale grant: the next sync queues it again */
	if (res->status == VCMA_E_CLAIMED || res->status == VCMA_E_BUSY) {
		if (r->state == RSV_RELEASING)
			release_refused_held(vm, r, res->holder);
		return;
	}
	/* Anything else may pass: ask again, but not at once. */
	r->inflight_req = 0;
	r->retry_at_ms = now_ms + AGAIN_BACKOFF_MS;
	snprintf(r->detail, sizeof(r->detail), "release refused: %s",
		 vcma_status_name(res->status));
}

static void handle_error(struct vcma_vm *vm, const struct vcma_msg *m,
			 const struct inflight *f, int64_t now_ms)
{
	const struct vcma_error_h *e = &m->u.error;
	struct rsv *r = f->rsv_id ? vm_find_rsv(vm, f->rsv_id) : NULL;
	char detail[128];
	uint8_t type = f->type;

	snprintf(detail, sizeof(detail), "guest error %s: %s", vcma_status_name(e->status),
		 e->message);
	switch (type) {
	case VCMA_MSG_RESERVE:
		vm->st.req[VM_REQ_RESERVE][VM_RES_ERROR]++;
		if (r) {
			r->inflight_req = 0;
			if (r->state == RSV_PENDING || r->state == RSV_RELEASING)
				fail_rsv(vm, r, e->status, VCMA_CAUSE_NONE, detail);
		}
		break;
	case VCMA_MSG_RELEASE:
		vm->st.req[VM_REQ_RELEASE][VM_RES_ERROR]++;
		if (r) {
			r->inflight_req = 0;
			snprintf(r->detail, sizeof(r->detail), "%s", detail);
		}
		vlog_vm_warn(vm->name, "RELEASE failed: %s", detail);
		break;
	case VCMA_MSG_STATUS:
		vm->st.req[VM_REQ_STATUS][VM_RES_ERROR]++;
		vlog_vm_warn(vm->name, "STATUS failed: %s; assuming no grants are known", detail);
		vm->nr_sync = 0;
		if (vm->conn == VM_SYNCING)
			finish_sync(vm, now_ms);
		break;
	case VCMA_MSG_BALLOON_SET:
		if (f->req_id == vm->bal->req_id)
			balloon_on_error(vm, e->status, e->message, now_ms);
		break;
	case VCMA_MSG_BALLOON_STATS:
		bstats_on_error(vm, f->req_id, e->status, e->message, now_ms);
		break;
	}
}

static void handle_event(struct vcma_vm *vm, const struct vcma_msg *m)
{
	const struct vcma_event_h *ev = &m->u.event;

	if (ev->kind == VCMA_EV_GRANT_LOST) {
		struct rsv *r = find_by_grant(vm, ev->arg0);

		if (!r) {
			for (size_t i = 0; i < vm->nr_foreign; i++) {
				if (vm->foreign[i].grant_id == ev->arg0) {
					vm->foreign[i] = vm->foreign[--vm->nr_foreign];
					return;
				}
			}
			vlog_vm_info(vm->name, "guest reports unknown grant %llu lost; ignored",
				  (unsigned long long)ev->arg0);
			vm->st.ignored_frames++;
			return;
		}
		vlog_vm_warn(vm->name, "guest lost grant %llu of reservation %llu",
			  (unsigned long long)ev->arg0, (unsigned long long)r->id);
		if (r->state == RSV_RELEASING) {
			r->grant_id = 0;	/* vm_pump removes it */
		} else {
			r->state = RSV_PENDING;
			r->grant_id = r->gpa = r->granted_size = 0;
		}
		vm->dirty = true;
		return;
	}
	if (ev->kind == VCMA_EV_FLOOR_HIT || ev->kind == VCMA_EV_PRESSURE_DEFLATE) {
		balloon_on_event(vm, ev->kind, ev->arg0);
		return;
	}
	vlog_vm_debug(vm->name, "guest event %u (arg0 %llu, arg1 %llu)", ev->kind,
		  (unsigned long long)ev->arg0, (unsigned long long)ev->arg1);
}

void vm_handle_frame(struct vcma_vm *vm, const struct vcma_msg *m, int64_t now_ms)
{
	struct inflight *f;

	vm->st.frames_rx++;
	vm->last_rx_ms = now_ms;
	if (m->type == VCMA_MSG_HELLO) {
		handle_hello(vm, m, now_ms);
		return;
	}
	if (m->type == VCMA_MSG_ERROR && m->u.error.ref_type == VCMA_MSG_HELLO) {
		/* no common version: say so, keep quiet until the guest's next HELLO */
		vlog_vm_warn(vm->name, "guest refused our HELLO: %s: %s (we speak %u..%u)",
			  vcma_status_name(m->u.error.status), m->u.error.message,
			  VCMA_PROTO_MIN, VCMA_PROTO_MAX);
		return;
	}
	if (m->type == VCMA_MSG_ERROR && m->id == 0 && m->u.error.ref_type == 0) {
		/* PROTOCOL.md: the peer's report of bad input; informational only. */
		vlog_vm_warn(vm->name, "guest reports bad input from us: %s: %s",
			  vcma_status_name(m->u.error.status), m->u.error.message);
		return;
	}
	if (vm->conn == VM_HELLO_WAIT) {
		vm_violation(vm, "%s before HELLO", vcma_msg_type_name(m->type));
		return;
	}
	if (m->version != vm->version) {
		vm_violation(vm, "%s with version %u, negotiated %u", vcma_msg_type_name(m->type),
			     m->version, vm->version);
		return;
	}
	switch (m->type) {
	case VCMA_MSG_PING:
		send_simple(vm, VCMA_MSG_PONG, m->id);
		return;
	case VCMA_MSG_PONG:
		if (m->id != vm->ping_id)
			vm_violation(vm, "PONG %llu answers no PING", (unsigned long long)m->id);
		else
			vm->ping_id = 0;
		return;
	case VCMA_MSG_EVENT:
		handle_event(vm, m);
		vm_pump(vm, now_ms);
		return;
	case VCMA_MSG_BALLOON_REPORT:
		if (m->id)
			break;
		/* the guest's own change (deflate under pressure) */
		balloon_on_report(vm, m, false, now_ms);
		vm_pump(vm, now_ms);
		return;
	case VCMA_MSG_RESERVE_RESULT:
	case VCMA_MSG_RELEASE_RESULT:
	case VCMA_MSG_STATUS_RESULT:
	case VCMA_MSG_BALLOON_STATS_RESULT:
	case VCMA_MSG_ERROR:
		break;
	default:
		vm_violation(vm, "guest sent %s, a host-to-guest message",
			     vcma_msg_type_name(m->type));
		return;
	}
	f = infl_find(vm, m->id);
	if (!f) {
		vm->st.ignored_frames++;
		vm_violation(vm, "%s for request id %llu we never sent (or already answered)",
			     vcma_msg_type_name(m->type), (unsigned long long)m->id);
		return;
	}
	if (m->type != VCMA_MSG_ERROR && m->type != f->type + 1) {
		vm_violation(vm, "%s answers a %s request", vcma_msg_type_name(m->type),
			     vcma_msg_type_name(f->type));
		return;
	}
	/* Answered: the slot is free again (a STATUS_RESULT with MORE continues). */
	struct inflight req = *f;

	if (!((m->type == VCMA_MSG_STATUS_RESULT || m->type == VCMA_MSG_BALLOON_REPORT) &&
	      (m->flags & VCMA_HDR_F_MORE)))
		infl_drop(vm, f);
	if (m->type == VCMA_MSG_ERROR)
		handle_error(vm, m, &req, now_ms);
	else if (m->type == VCMA_MSG_RESERVE_RESULT)
		handle_reserve_result(vm, m, &req, now_ms);
	else if (m->type == VCMA_MSG_RELEASE_RESULT)
		handle_release_result(vm, m, &req, now_ms);
	else if (m->type == VCMA_MSG_BALLOON_REPORT)
		balloon_on_report(vm, m, true, now_ms);
	else if (m->type == VCMA_MSG_BALLOON_STATS_RESULT)
		bstats_on_result(vm, m, now_ms);
	else
		handle_status_result(vm, m, now_ms);
	vm_pump(vm, now_ms);
}

void vm_feed(struct vcma_vm *vm, const void *data, size_t len, int64_t now_ms)
{
	const uint8_t *p = data;
	struct vcma_msg *m = scratch_msg();
	struct vcma_reasm_stats rs;
	unsigned int frames = 0;

	if (!vm->reasm || vm->drop)
		return;
	if (!m) {
		vm_fatal(vm, "out of memory");
		return;
	}
	vm->st.bytes_rx += len;
	while (!vm->drop) {
		size_t n = vcma_reasm_space(vm->reasm);
		int rc;

		if (n > len)
			n = len;
		if (n && vcma_reasm_feed(vm->reasm, p, n) == 0) {
			p += n;
			len -= n;
		}
		while (!vm->drop && (rc = vcma_reasm_next(vm->reasm, m)) != 0) {
			if (rc < 0) {
				vm_violation(vm, "bad frame: %s", vcma_codec_strerror(rc));
				continue;
			}
			if (now_ms - vm->window_start_ms >= 1000) {
				vm->window_start_ms = now_ms;
				vm->window_frames = 0;
			}
			if (++vm->window_frames > vm->lim->max_frames_per_sec) {
				vm_fatal(vm, "flood: more than %u frames in one second",
					 vm->lim->max_frames_per_sec);
				break;
			}
			vm_handle_frame(vm, m, now_ms);
			frames++;
		}
		if (!len)
			break;
		if (!vcma_reasm_space(vm->reasm)) {
			vm_fatal(vm, "reassembly buffer full without a complete frame");
			break;
		}
	}
	vcma_reasm_stats(vm->reasm, &rs);
	if (rs.bytes_discarded > vm->discarded_seen) {
		vm_violation(vm, "%llu bytes of garbage between frames",
			     (unsigned long long)(rs.bytes_discarded - vm->discarded_seen));
		vm->discarded_seen = rs.bytes_discarded;
	}
	/* a stall is a partial frame that has not moved on, not a steady trickle */
	if (!vcma_reasm_buffered(vm->reasm))
		vm->partial_since_ms = 0;
	else if (!vm->partial_since_ms || frames)
		vm->partial_since_ms = now_ms;
}

void vm_set_suspended(struct vcma_vm *vm, bool suspended, int64_t now_ms)
{
	int64_t d;

	if (suspended == vm->suspended)
		return;
	vm->suspended = suspended;
	if (suspended) {
		vm->suspended_at_ms = now_ms;
		vlog_vm_info(vm->name, "domain paused: its timers stop until it resumes");
		return;
	}
	d = now_ms - vm->suspended_at_ms;
	vm->last_rx_ms += d;
	vm->last_ping_ms += d;
	if (vm->partial_since_ms)
		vm->partial_since_ms += d;
	for (size_t i = 0; i < vm->nr_infl; i++) {
		vm->infl[i].sent_ms += d;
		vm->infl[i].deadline_ms += d;
	}
	vlog_vm_info(vm->name, "domain resumed after %lld ms: keepalive and deadlines moved on by that",
		     (long long)d);
}

void vm_tick(struct vcma_vm *vm, int64_t now_ms)
{
	if (vm->conn == VM_DISCONNECTED || vm->drop || vm->suspended)
		return;
	if (vm->partial_since_ms && now_ms - vm->partial_since_ms >= vm->lim->frame_timeout_ms) {
		vm_fatal(vm, "partial frame (%zu bytes) stalled for %u ms",
			 vcma_reasm_buffered(vm->reasm), vm->lim->frame_timeout_ms);
		return;
	}
	if (!vm_connected(vm))
		return;	/* before HELLO the agent may simply not run yet */
	if (now_ms - vm->last_rx_ms >= vm->lim->keepalive_timeout_ms) {
		vm_fatal(vm, "guest silent for %lld ms (keepalive timeout)",
			 (long long)(now_ms - vm->last_rx_ms));
		return;
	}
	if (!vm->ping_id && now_ms - vm->last_rx_ms >= vm->lim->keepalive_ms &&
	    now_ms - vm->last_ping_ms >= vm->lim->keepalive_ms) {
		vm->ping_id = vm->next_req++;
		vm->last_ping_ms = now_ms;
		send_simple(vm, VCMA_MSG_PING, vm->ping_id);
	}
	for (size_t i = 0; i < vm->nr_infl; i++) {
		struct inflight *f = &vm->infl[i];
		struct rsv *r;

		if (f->expired) {
			if (now_ms - f->deadline_ms >= EXPIRED_KEEP_MS) {
				infl_drop(vm, f);
				i--;
			}
			continue;
		}
		if (now_ms < f->deadline_ms)
			continue;
		f->expired = true;
		if (f->type == VCMA_MSG_STATUS) {
			vm_fatal(vm, "STATUS unanswered for %lld ms", (long long)(now_ms - f->sent_ms));
			return;
		}
		if (f->type == VCMA_MSG_BALLOON_SET) {
			balloon_on_timeout(vm, f->req_id, now_ms);
			continue;
		}
		if (f->type == VCMA_MSG_BALLOON_STATS) {
			bstats_on_timeout(vm, f->req_id, now_ms);
			continue;
		}
		r = f->rsv_id ? vm_find_rsv(vm, f->rsv_id) : NULL;
		if (f->type == VCMA_MSG_RESERVE) {
			vm->st.req[VM_REQ_RESERVE][VM_RES_TIMEOUT]++;
			if (r && r->inflight_req == f->req_id) {
				char detail[128];

				r->inflight_req = 0;
				snprintf(detail, sizeof(detail),
					 "deadline: no answer from the guest within %lld ms",
					 (long long)(now_ms - f->sent_ms));
				fail_rsv(vm, r, VCMA_E_TIMEOUT, VCMA_CAUSE_DEADLINE, detail);
			}
		} else {
			vm->st.req[VM_REQ_RELEASE][VM_RES_TIMEOUT]++;
			if (r && r->inflight_req == f->req_id)
				r->inflight_req = 0;	/* the pump asks again */
		}
	}
	vm_pump(vm, now_ms);
}
