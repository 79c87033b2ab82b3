/* SPDX-License-Identifier: GPL-2.0-only */
/* Host side of the balloon (see balloon.h). */
#include "balloon.h"

#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "log.h"

#define BALLOON_BACKOFF_MS	1000
#define QMP_TIMEOUT_MS		2000
#define QMP_RETRY_MS		30000

static struct vm_balloon *B(const struct vcma_vm *vm)
{
	return vm->bal;
}

/*
 * The QMP conversation and the backing inspection (reclaim_open: connect,
 * greeting, qmp_capabilities, "info mtree -f", query-memdev, qom-list, the
 * /proc/PID/fd scan) block for up to QMP_TIMEOUT_MS when a monitor is slow
 * or hung. They run on a thread of their own, one per VM at a time, never on
 * the event loop: the thread owns only the job (a copy of the QMP path) and
 * the struct reclaim it builds, and touches nothing of the VM. The loop
 * takes the result in balloon_pump (every tick); until then host reclaim is
 * "pending" and inflated chunks are recorded unpunched, punched by
 * punch_pending once the answer is in.
 */
enum { JOB_RUNNING, JOB_DONE, JOB_ABANDONED };

struct rc_job {
	_Atomic int state;
	char *qmp_path;
	int timeout_ms;
	struct reclaim *rc;
};

static void job_free(struct rc_job *j)
{
	reclaim_free(j->rc);
	free(j->qmp_path);
	free(j);
}

static void *job_run(void *arg)
{
	struct rc_job *j = arg;
	int expect = JOB_RUNNING;

	j->rc = reclaim_open(j->qmp_path, j->timeout_ms);
	/* the loop gave the job up meanwhile (new QEMU, VM gone): nobody else frees it */
	if (!atomic_compare_exchange_strong(&j->state, &expect, JOB_DONE))
		job_free(j);
	return NULL;
}

/* Start the inspection on its thread; -1 when no thread could be made. */
static int job_start(struct vm_balloon *b)
{
	struct rc_job *j = calloc(1, sizeof(*j));
	pthread_attr_t attr;
	pthread_t t;
	int e;

	if (!j || !(j->qmp_path = strdup(b->qmp_path))) {
		free(j);
		return -1;
	}
	atomic_init(&j->state, JOB_RUNNING);
	j->timeout_ms = QMP_TIMEOUT_MS;
	pthread_attr_init(&attr);
	pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
	e = pthread_create(&t, &attr, job_run, j);
	pthread_attr_destroy(&attr);
	if (e) {
		job_free(j);
		return -1;
	}
	b->job = j;
	return 0;
}

/* Forget a running inspection: its thread frees it when it ends. */
static void job_abandon(struct vm_balloon *b)
{
	struct rc_job *j = b->job;
	int expect = JOB_RUNNING;

	if (!j)
		return;
	b->job = NULL;
	if (!atomic_compare_exchange_strong(&j->state, &expect, JOB_ABANDONED))
		job_free(j);	/* it had finished: ours to free */
}

/* The finished inspection's result, or NULL while it runs. */
static struct reclaim *job_take(struct vm_balloon *b)
{
	struct rc_job *j = b->job;
	struct reclaim *rc;

	if (!j || atomic_load(&j->state) != JOB_DONE)
		return NULL;
	rc = j->rc;
	j->rc = NULL;
	b->job = NULL;
	job_free(j);
	return rc;
}

/* Drop what is known of QEMU's backing (and any inspection under way). */
static void forget_reclaim(struct vm_balloon *b)
{
	job_abandon(b);
	reclaim_free(b->rc);
	b->rc = NULL;
}

int balloon_init(struct vcma_vm *vm)
{
	vm->bal = calloc(1, sizeof(*vm->bal));
	if (!vm->bal)
		return -ENOMEM;
	vm->bal->chunk_order = BALLOON_CHUNK_ORDER;
	return 0;
}

void balloon_free(struct vcma_vm *vm)
{
	if (!vm->bal)
		return;
	forget_reclaim(vm->bal);
	free(vm->bal->chunks);
	free(vm->bal->unpunched);
	free(vm->bal->qmp_path);
	free(vm->bal->pin_reason);
	free(vm->bal->unshared_reason);
	free(vm->bal);
	vm->bal = NULL;
}

int balloon_set_qmp(struct vcma_vm *vm, const char *qmp_path)
{
	struct vm_balloon *b = B(vm);
	char *p = qmp_path ? strdup(qmp_path) : NULL;

	if (qmp_path && !p)
		return -ENOMEM;
	free(b->qmp_path);
	b->qmp_path = p;
	forget_reclaim(b);	/* learn the new QEMU's layout when next needed */
	return 0;
}

/* A reason from the VM's source why host reclaim must not or cannot punch. */
static int set_refusal(struct vm_balloon *b, char **slot, const char *reason)
{
	char *p = reason ? strdup(reason) : NULL;

	if (reason && !p)
		return -ENOMEM;
	if (!reason == !*slot && (!reason || !strcmp(reason, *slot))) {
		free(p);
		return 0;
	}
	free(*slot);
	*slot = p;
	forget_reclaim(b);	/* the reason is applied when QEMU is asked next */
	return 0;
}

int balloon_set_pinned(struct vcma_vm *vm, const char *reason)
{
	return set_refusal(B(vm), &B(vm)->pin_reason, reason);
}

int balloon_set_unshared(struct vcma_vm *vm, const char *reason)
{
	return set_refusal(B(vm), &B(vm)->unshared_reason, reason);
}

static const char *refusal(const struct vm_balloon *b)
{
	return b->pin_reason ? b->pin_reason : b->unshared_reason;
}

void balloon_set_pressure_backoff(struct vcma_vm *vm, uint32_t ms)
{
	B(vm)->pressure_backoff_ms = ms;
}

static uint32_t pressure_backoff(const struct vcma_vm *vm)
{
	return B(vm)->pressure_backoff_ms ? B(vm)->pressure_backoff_ms
					  : vm->lim->pressure_backoff_ms;
}

/* Still backing off from a pressure deflate, and a BALLOON_SET now would inflate. */
static bool pressure_holding(const struct vcma_vm *vm, int64_t now_ms)
{
	return now_ms < B(vm)->pressure_hold_until_ms &&
	       vm->balloon_target > vm->guest.balloon_bytes;
}

uint64_t balloon_chunk_bytes(const struct vcma_vm *vm)
{
	uint32_t page = vm->hello ? vm->hello->page_size : 4096;

	return (uint64_t)page << B(vm)->chunk_order;
}

void balloon_session_reset(struct vcma_vm *vm, bool rebooted)
{
	struct vm_balloon *b = B(vm);

	b->req_id = 0;
	b->settled = false;
	b->retry_at_ms = 0;
	b->checked = b->exact = b->resync = false;
	/* QEMU may be another process now: ask it again when needed. */
	forget_reclaim(b);
	if (rebooted) {
		/* The new boot has no balloon: its memory is the guest's again (refaulted as zeros). */
		b->nr_chunks = 0;
		b->nr_unpunched = 0;
		b->from_store = false;
		b->unpunched_acked = false;
		b->floor_hit = false;
		vm->dirty = true;
	}
}

static void punch_pending(struct vcma_vm *vm, int64_t now_ms);

/* The inspection's result is in: apply the VM's own refusals and take it. */
static void adopt_reclaim(struct vcma_vm *vm, struct reclaim *rc, int64_t now_ms)
{
	struct vm_balloon *b = B(vm);

	b->rc = rc;
	/* QEMU is still asked: its backing is measured, only never punched */
	if (refusal(b)) {
		b->rc->possible = false;
		snprintf(b->rc->why, sizeof(b->rc->why), "%s", refusal(b));
	}
	/* a punch frees whole huge pages only: never part of one */
	if (b->rc->possible && b->rc->align > balloon_chunk_bytes(vm)) {
		b->rc->possible = false;
		snprintf(b->rc->why, sizeof(b->rc->why), "host reclaim off: the %s backing's "
			 "huge pages are %" PRIu64 " MiB, larger than the balloon's %" PRIu64
			 " MiB chunk; a chunk cannot be punched without the rest of its huge "
			 "page (the guest still shrinks)", reclaim_kind_name(b->rc->kind),
			 b->rc->align >> 20, balloon_chunk_bytes(vm) >> 20);
	}
	/* a balloon started while QEMU was asked: nothing is punched yet, measure from here */
	if (b->started_ms && !b->base.valid)
		reclaim_measure(b->rc, &b->base);
	vlog_vm_info(vm->name, "host reclaim %s: %s", b->rc->possible ? "on" : "off", b->rc->why);
	/* chunks the guest gave up while QEMU was asked: punched now, as in balloon_pump */
	if (b->rc->possible && b->exact && b->nr_unpunched && !b->from_store && vm_connected(vm))
		punch_pending(vm, now_ms);
}

/*
 * What is known of QEMU's backing; NULL while the inspection runs on its
 * thread (reclaim "pending"). Without a QMP socket nothing is asked (no I/O),
 * so the answer is immediate.
 */
static struct reclaim *ensure_reclaim(struct vcma_vm *vm, int64_t now_ms)
{
	struct vm_balloon *b = B(vm);
	struct reclaim *rc;

	/* QMP unreachable (busy with another client, QEMU starting): ask again later */
	if (b->rc && b->rc->transient && now_ms - b->rc_at_ms >= QMP_RETRY_MS) {
		reclaim_free(b->rc);
		b->rc = NULL;
	}
	if (b->rc)
		return b->rc;
	if (!b->job) {
		b->rc_at_ms = now_ms;
		if (!b->qmp_path || job_start(b)) {
			/* no socket (nothing to wait for), or no thread: asked right here */
			rc = reclaim_open(b->qmp_path, QMP_TIMEOUT_MS);
			if (rc)
				adopt_reclaim(vm, rc, now_ms);
			return b->rc;
		}
	}
	rc = job_take(b);
	if (rc)
		adopt_reclaim(vm, rc, now_ms);
	return b->rc;
}

bool balloon_reclaim_pending(const struct vcma_vm *vm)
{
	return B(vm)->job != NULL;
}

int balloon_set_target(struct vcma_vm *vm, uint64_t target, int64_t now_ms)
{
	struct vm_balloon *b = B(vm);
	struct reclaim *rc;

	if (target % balloon_chunk_bytes(vm))
		return -EINVAL;
	if (vm->balloon_target != target) {
		vm->balloon_target = target;
		vm->dirty = true;
		vm->desired_changed = true;
	}
	b->settled = false;
	b->floor_hit = false;
	b->floor_short = 0;
	b->retry_at_ms = 0;
	b->detail[0] = 0;
	b->started_ms = now_ms;
	b->finished_ms = 0;
	b->base_balloon = vm->guest.balloon_bytes;
	rc = vm_connected(vm) ? ensure_reclaim(vm, now_ms) : NULL;
	reclaim_measure(rc, &b->base);
	return 0;
}

/* A counter of /sys/kernel/mm/hugepages/hugepages-<size>kB, or -1. */
static long long hugepage_count(uint64_t page, const char *name)
{
	char path[128];
	long long v = -1;
	FILE *f;

	snprintf(path, sizeof(path), "/sys/kernel/mm/hugepages/hugepages-%" PRIu64 "kB/%s",
		 page >> 10, name);
	f = fopen(path, "r");
	if (!f)
		return -1;
	if (fscanf(f, "%lld", &v) != 1)
		v = -1;
	fclose(f);
	return v;
}

int balloon_deflate_check(struct vcma_vm *vm, uint64_t target, char *why, size_t whylen)
{
	struct vm_balloon *b = B(vm);
	uint64_t len = balloon_chunk_bytes(vm), held = (uint64_t)b->nr_chunks * len;
	uint64_t back, need;
	long long nfree, resv;

	if (!b->rc || !b->rc->possible || b->rc->kind != RECLAIM_HUGETLBFS || target >= held)
		return 0;
	back = held - target;		/* punched chunks the guest gets back */
	need = (back + b->rc->align - 1) / b->rc->align;
	nfree = hugepage_count(b->rc->align, "free_hugepages");
	resv = hugepage_count(b->rc->align, "resv_hugepages");
	if (nfree < 0 || resv < 0) {
		snprintf(why, whylen, "deflating by %" PRIu64 " MiB needs %" PRIu64 " huge pages of "
			 "%" PRIu64 " KiB and the host's pool of that size cannot be read",
			 back >> 20, need, b->rc->align >> 10);
		return -ENOSPC;
	}
	if ((uint64_t)(nfree - resv) < need) {
		snprintf(why, whylen, "deflating by %" PRIu64 " MiB needs %" PRIu64 " free huge pages "
			 "of %" PRIu64 " KiB; the host's pool has %lld free and unreserved (raise "
			 "/proc/sys/vm/nr_hugepages or deflate less)", back >> 20, need,
			 b->rc->align >> 10, nfree - resv < 0 ? 0 : nfree - resv);
		return -ENOSPC;
	}
	return 0;
}

bool balloon_idle(const struct vcma_vm *vm)
{
	const struct vm_balloon *b = B(vm);

	return !b->req_id && (b->settled || (vm->guest.valid && !b->nr_chunks &&
					     vm->guest.balloon_bytes == vm->balloon_target));
}

static void check_chunk_set(struct vcma_vm *vm);
static void punch_pending(struct vcma_vm *vm, int64_t now_ms);
static void resync_pump(struct vcma_vm *vm, int64_t now_ms);

void balloon_pump(struct vcma_vm *vm, int64_t now_ms)
{
	struct vm_balloon *b = B(vm);
	struct vcma_msg m;
	uint32_t timeout;

	if (b->job)	/* the QMP inspection may have answered: take it on the loop */
		ensure_reclaim(vm, now_ms);
	if (vm->conn != VM_READY || vm->drop || !(vm->caps & VCMA_CAP_BALLOON) || b->req_id)
		return;
	if (!b->checked)
		check_chunk_set(vm);
	if (b->exact && b->nr_unpunched)
		punch_pending(vm, now_ms);
	if (b->resync) {
		resync_pump(vm, now_ms);
		return;
	}
	if (b->settled && b->settled_target == vm->balloon_target && !b->confirm)
		return;
	if (now_ms < b->retry_at_ms || pressure_holding(vm, now_ms))
		return;
	/*
	 * A BALLOON_SET lets the guest give back every chunk reported so far: not
	 * while some may still be punched once QEMU's inspection answers.
	 */
	if ((vm->caps & VCMA_CAP_PRESSURE_DEFLATE) && b->nr_unpunched && balloon_reclaim_pending(vm))
		return;
	if (vm->balloon_target % balloon_chunk_bytes(vm)) {
		snprintf(b->detail, sizeof(b->detail), "target is not a multiple of the guest's "
			 "%" PRIu64 " KiB chunk", balloon_chunk_bytes(vm) >> 10);
		b->settled = true;
		b->settled_target = vm->balloon_target;
		return;
	}
	if (!b->started_ms)
		balloon_set_target(vm, vm->balloon_target, now_ms);
	vcma_msg_init(&m, VCMA_MSG_BALLOON_SET, 0);
	m.u.balloon_set.target_bytes = vm->balloon_target;
	m.u.balloon_set.chunk_order = b->chunk_order;
	/* The agent's worker may first finish RESERVEs queued before this one. */
	timeout = 2 * vm->lim->default_deadline_ms + 5000;
	if (vm_send_request(vm, &m, timeout, now_ms, &b->req_id) < 0)
		return;
	b->req_target = vm->balloon_target;
	/* The guest may now give back every chunk reported so far (PROTOCOL.md 5.7). */
	if ((vm->caps & VCMA_CAP_PRESSURE_DEFLATE) && b->nr_unpunched)
		b->unpunched_acked = true;
	b->req_inflated = 0;
	b->confirm = false;
	b->sets_sent++;
}

/* ---- the host's chunk set ------------------------------------------------- */

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

/* Index of the first chunk >= gpa. */
static size_t lower_bound(const struct vm_balloon *b, uint64_t gpa)
{
	size_t lo = 0, hi = b->nr_chunks;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (b->chunks[mid] < gpa)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

static bool overlaps(uint64_t a, uint64_t alen, uint64_t b, uint64_t blen)
{
	return a < b + blen && b < a + alen;
}

/* Why the guest may not give us [gpa, gpa + len), or NULL. */
static const char *chunk_invalid(struct vcma_vm *vm, uint64_t gpa, uint64_t len,
				 const struct reclaim *rc)
{
	const struct vm_balloon *b = B(vm);
	const struct vcma_hello_h *h = vm->hello;
	size_t i;

	if (gpa % len || gpa + len < gpa)
		return "not aligned to the chunk size";
	if (h && h->nr_ranges) {
		bool in = false;

		for (i = 0; i < h->nr_ranges && !in; i++)
			in = gpa >= h->ranges[i].gpa &&
			     gpa + len <= h->ranges[i].gpa + h->ranges[i].size;
		if (!in)
			return "outside the guest's memory map";
	} else if (gpa + len > vm->lim->max_guest_mem) {
		return "beyond any plausible guest memory";
	}
	if (rc && rc->layout.nr) {
		const char *region;
		uint64_t off;

		if (reclaim_map(&rc->layout, gpa, len, &region, &off))
			return "not inside one RAM section of QEMU's layout";
	}
	for (i = 0; i < vm->nr_rsv; i++) {
		const struct rsv *r = &vm->rsv[i];

		if (r->grant_id && r->granted_size && overlaps(gpa, len, r->gpa, r->granted_size))
			return "overlaps a reservation's grant";
	}
	for (i = 0; i < vm->nr_foreign; i++)
		if (overlaps(gpa, len, vm->foreign[i].gpa, vm->foreign[i].size))
			return "overlaps a grant the guest holds";
	i = lower_bound(b, gpa);
	if (i < b->nr_chunks && b->chunks[i] == gpa)
		return "already in the balloon";
	return NULL;
}

static int chunks_add(struct vm_balloon *b, const uint64_t *add, size_t n)
{
	if (b->nr_chunks + n > b->cap_chunks) {
		size_t cap = b->cap_chunks ? b->cap_chunks : 512;
		uint64_t *c;

		while (cap < b->nr_chunks + n)
			cap *= 2;
		c = realloc(b->chunks, cap * sizeof(*c));
		if (!c)
			return -ENOMEM;
		b->chunks = c;
		b->cap_chunks = cap;
	}
	memcpy(b->chunks + b->nr_chunks, add, n * sizeof(*add));
	b->nr_chunks += n;
	qsort(b->chunks, b->nr_chunks, sizeof(*b->chunks), cmp_u64);
	return 0;
}

/* Remove gpa from the sorted list v of *n; true if it was there. */
static bool list_remove(uint64_t *v, size_t *n, uint64_t gpa)
{
	size_t lo = 0, hi = *n;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (v[mid] < gpa)
			lo = mid + 1;
		else
			hi = mid;
	}
	if (lo == *n || v[lo] != gpa)
		return false;
	memmove(v + lo, v + lo + 1, (*n - lo - 1) * sizeof(*v));
	(*n)--;
	return true;
}

bool balloon_holds_range(const struct vcma_vm *vm, uint64_t gpa, uint64_t len)
{
	const struct vm_balloon *b = B(vm);
	uint64_t clen = balloon_chunk_bytes(vm);
	/* the first chunk that could reach into the range starts after gpa - clen */
	size_t i = lower_bound(b, gpa >= clen ? gpa - clen + 1 : 0);

	return i < b->nr_chunks && overlaps(gpa, len, b->chunks[i], clen);
}

static void chunk_remove(struct vm_balloon *b, uint64_t gpa)
{
	list_remove(b->chunks, &b->nr_chunks, gpa);
	list_remove(b->unpunched, &b->nr_unpunched, gpa);
}

/* gpa (larger than every listed one: callers go in ascending order) is not punched yet. */
static int unpunched_add(struct vm_balloon *b, uint64_t gpa)
{
	if (b->nr_unpunched == b->cap_unpunched) {
		size_t cap = b->cap_unpunched ? 2 * b->cap_unpunched : 64;
		uint64_t *n = realloc(b->unpunched, cap * sizeof(*n));

		if (!n)
			return -ENOMEM;
		b->unpunched = n;
		b->cap_unpunched = cap;
	}
	b->unpunched[b->nr_unpunched++] = gpa;
	if (b->nr_unpunched > 1 && gpa < b->unpunched[b->nr_unpunched - 2])
		qsort(b->unpunched, b->nr_unpunched, sizeof(*b->unpunched), cmp_u64);
	return 0;
}

/*
 * Punch one chunk the guest gave up; false when it stays in the backing and
 * is worth punching later. A chunk of a backend this QEMU can never punch
 * (a share=off node of a NUMA guest) is done with: reclaim counts it skipped.
 */
static bool punch_chunk(struct vcma_vm *vm, struct reclaim *rc, uint64_t gpa, uint64_t len)
{
	struct vm_balloon *b = B(vm);
	int e;

	if (!rc || !rc->possible)
		return false;
	e = reclaim_punch(rc, gpa, len);
	if (e == 1)
		return true;
	if (e) {
		b->punch_errors++;
		vlog_vm_warn(vm->name, "cannot punch chunk 0x%" PRIx64 ": %s", gpa, strerror(-e));
		return false;
	}
	b->punched_bytes += len;
	return true;
}

/*
 * The chunk set against the guest's own count (STATUS after HELLO): equal,
 * it is exact; not, some reports were lost (vcmad stopped between a report
 * and its save, or a report came from a session vcmad no longer knew).
 */
static void check_chunk_set(struct vcma_vm *vm)
{
	struct vm_balloon *b = B(vm);
	uint64_t known = (uint64_t)b->nr_chunks * balloon_chunk_bytes(vm);

	b->checked = true;
	if (!vm->guest.valid) {
		/* no STATUS: the guest's count is unknown; nothing old is punched */
		b->exact = !b->nr_chunks;
		return;
	}
	if (vm->guest.balloon_bytes == known) {
		b->exact = true;
		if (b->nr_chunks)
			vlog_vm_info(vm->name, "the guest's balloon matches the %zu chunks known (%zu not "
				  "punched yet)", b->nr_chunks, b->nr_unpunched);
		return;
	}
	b->exact = false;
	b->resync = true;
	vlog_vm_warn(vm->name, "the guest's balloon holds %" PRIu64 " MiB, the host knows %zu chunks "
		  "(%" PRIu64 " MiB): deflating it to 0 to learn every chunk, then inflating to "
		  "the target again; nothing is punched until then",
		  vm->guest.balloon_bytes >> 20, b->nr_chunks, known >> 20);
}

/* Chunks the guest gave up while no backing could be punched: punch them now. */
static void punch_pending(struct vcma_vm *vm, int64_t now_ms)
{
	struct vm_balloon *b = B(vm);
	struct reclaim *rc = ensure_reclaim(vm, now_ms);
	uint64_t len = balloon_chunk_bytes(vm);
	size_t kept = 0, n = b->nr_unpunched;

	if (!rc || !rc->possible)
		return;
	if (b->from_store || b->unpunched_acked) {
		/* never punch from a list that may be stale: learn the chunks from the guest */
		b->from_store = false;
		b->unpunched_acked = false;
		b->exact = false;
		b->resync = true;
		vlog_vm_info(vm->name, "%zu chunks (from the state store, or reported before a "
			     "BALLOON_SET the guest may take chunks back after) were never punched and the guest "
			  "may have taken some back since: deflating its balloon to 0 and inflating "
			  "again, punching what it gives up", n);
		return;
	}
	for (size_t i = 0; i < n; i++)
		if (!punch_chunk(vm, rc, b->unpunched[i], len))
			b->unpunched[kept++] = b->unpunched[i];
	b->nr_unpunched = kept;
	if (kept != n) {
		vm->dirty = true;
		vlog_vm_info(vm->name, "punched %zu chunks the guest had given up before host reclaim "
			  "was possible", n - kept);
	}
}

/* Resync: one BALLOON_SET of target 0 at a time until the guest's balloon is empty. */
static void resync_pump(struct vcma_vm *vm, int64_t now_ms)
{
	struct vm_balloon *b = B(vm);
	struct vcma_msg m;

	if (now_ms < b->retry_at_ms)
		return;
	vcma_msg_init(&m, VCMA_MSG_BALLOON_SET, 0);
	m.u.balloon_set.target_bytes = 0;
	m.u.balloon_set.chunk_order = b->chunk_order;
	if (vm_send_request(vm, &m, 2 * vm->lim->default_deadline_ms + 5000, now_ms,
			    &b->req_id) < 0)
		return;
	b->req_target = 0;
	b->sets_sent++;
}

/* The guest's balloon is empty: every chunk it held came back, the set is exact (empty). */
static void resync_done(struct vcma_vm *vm)
{
	struct vm_balloon *b = B(vm);

	b->resync = false;
	b->exact = true;
	b->from_store = false;
	b->unpunched_acked = false;
	b->nr_chunks = 0;
	b->nr_unpunched = 0;
	b->settled = false;
	b->retry_at_ms = 0;
	vm->dirty = true;
	vlog_vm_info(vm->name, "balloon resynchronised (deflated to 0); inflating to the target again");
}

static void take_inflated(struct vcma_vm *vm, const struct vcma_balloon_report_h *r,
			  uint64_t bound, int64_t now_ms)
{
	struct vm_balloon *b = B(vm);
	uint64_t len = balloon_chunk_bytes(vm), *sorted;
	struct reclaim *rc = ensure_reclaim(vm, now_ms);
	const char *why = NULL;
	size_t i;

	if ((uint64_t)b->nr_chunks * len + (uint64_t)r->nr_chunks * len > bound) {
		b->chunks_refused += r->nr_chunks;
		vm_violation(vm, "BALLOON_REPORT: %u inflated chunks take the balloon past the "
			     "%" PRIu64 " MiB asked for; refused", r->nr_chunks, bound >> 20);
		return;
	}
	sorted = malloc(r->nr_chunks * sizeof(*sorted));
	if (!sorted) {
		vm_fatal(vm, "out of memory");
		return;
	}
	memcpy(sorted, r->chunks, r->nr_chunks * sizeof(*sorted));
	qsort(sorted, r->nr_chunks, sizeof(*sorted), cmp_u64);
	for (i = 0; i < r->nr_chunks && !why; i++) {
		why = chunk_invalid(vm, sorted[i], len, rc);
		if (!why && i && sorted[i] == sorted[i - 1])
			why = "listed twice";
	}
	if (why) {
		b->chunks_refused += r->nr_chunks;
		vm_violation(vm, "BALLOON_REPORT chunk 0x%" PRIx64 ": %s; the frame's %u chunks "
			     "are refused, nothing punched", sorted[i - 1], why, r->nr_chunks);
		free(sorted);
		return;
	}
	if (chunks_add(b, sorted, r->nr_chunks)) {
		free(sorted);
		vm_fatal(vm, "out of memory");
		return;
	}
	b->chunks_inflated += r->nr_chunks;
	b->req_inflated += r->nr_chunks;
	vm->dirty = true;
	for (i = 0; i < r->nr_chunks; i++)
		if (!punch_chunk(vm, rc, sorted[i], len) && unpunched_add(b, sorted[i]))
			vm_fatal(vm, "out of memory");
	free(sorted);
}

static void finish(struct vcma_vm *vm, uint32_t status, int64_t now_ms)
{
	struct vm_balloon *b = B(vm);
	uint64_t target = b->req_target, actual = vm->guest.balloon_bytes;

	b->last_status = status;
	switch (status) {
	case VCMA_OK:
	case VCMA_E_FLOOR:
	case VCMA_E_NOSPC:
	case VCMA_E_INVAL:
	case VCMA_E_NODEV:
	case VCMA_E_UNSUPPORTED:
		if (target != vm->balloon_target)
			return;	/* superseded: the pump sends the new target */
		b->settled = true;
		b->settled_target = target;
		b->finished_ms = now_ms;
		/* let the guest know its new chunks were acted on (see balloon.h) */
		b->confirm = (vm->caps & VCMA_CAP_PRESSURE_DEFLATE) && b->req_inflated;
		b->floor_hit = status == VCMA_E_FLOOR;
		b->floor_short = b->floor_hit && target > actual ? target - actual : 0;
		if (status == VCMA_OK)
			snprintf(b->detail, sizeof(b->detail), "target reached");
		else if (status == VCMA_E_FLOOR)
			snprintf(b->detail, sizeof(b->detail),
				 "stopped at the guest's safety floor: balloon %" PRIu64 " MiB of "
				 "%" PRIu64 " MiB asked (the guest keeps the rest to live)",
				 actual >> 20, target >> 20);
		else if (status == VCMA_E_NOSPC)
			snprintf(b->detail, sizeof(b->detail),
				 "the guest has no more free chunks: balloon %" PRIu64 " MiB of "
				 "%" PRIu64 " MiB asked", actual >> 20, target >> 20);
		vlog_vm_info(vm->name, "balloon %s: %" PRIu64 " MiB (target %" PRIu64 " MiB)%s%s",
			  vcma_status_name(status), actual >> 20, target >> 20,
			  b->detail[0] ? ": " : "", b->detail);
		break;
	default:	/* E_AGAIN, E_BUSY, E_TIMEOUT...: keep going */
		break;
	}
}

/*
 * The guest took chunks back under memory pressure: record it and hold off
 * re-inflating for the backoff; then the pump drives towards the target again.
 */
static void on_pressure_deflate(struct vcma_vm *vm, const struct vcma_balloon_report_h *r,
				int64_t now_ms)
{
	struct vm_balloon *b = B(vm);
	uint64_t bytes = (uint64_t)r->nr_chunks * balloon_chunk_bytes(vm);
	uint32_t backoff = pressure_backoff(vm);

	b->pressure_reports++;
	b->pressure_chunks += r->nr_chunks;
	b->pressure_bytes += bytes;
	b->pressure_last_ms = now_ms;
	b->pressure_last_unix = (int64_t)time(NULL);
	b->pressure_hold_until_ms = now_ms + backoff;
	b->settled = false;
	b->confirm = false;
	b->floor_hit = false;
	snprintf(b->detail, sizeof(b->detail),
		 "the guest took %" PRIu64 " MiB back under memory pressure; re-inflating towards "
		 "%" PRIu64 " MiB in %u s", b->pressure_bytes >> 20, vm->balloon_target >> 20,
		 (backoff + 999) / 1000);
}

void balloon_on_report(struct vcma_vm *vm, const struct vcma_msg *m, bool solicited,
		       int64_t now_ms)
{
	struct vm_balloon *b = B(vm);
	const struct vcma_balloon_report_h *r = &m->u.balloon_report;
	bool current = solicited && m->id == b->req_id;
	bool last = !(m->flags & VCMA_HDR_F_MORE);

	b->reports++;
	if (r->nr_chunks && r->chunk_order != b->chunk_order) {
		b->chunks_refused += r->nr_chunks;
		vm_violation(vm, "BALLOON_REPORT with chunk order %u, asked for %u", r->chunk_order,
			     b->chunk_order);
	} else if (r->direction == VCMA_BALLOON_INFLATED) {
		if (!solicited) {
			b->chunks_refused += r->nr_chunks;
			vm_violation(vm, "unsolicited BALLOON_REPORT inflating %u chunks", r->nr_chunks);
		} else {
			take_inflated(vm, r, current ? b->req_target : vm->balloon_target, now_ms);
		}
	} else if (r->direction == VCMA_BALLOON_DEFLATED) {
		/* Nothing to check: giving memory back to the guest costs the host nothing. */
		for (uint16_t i = 0; i < r->nr_chunks; i++)
			chunk_remove(b, r->chunks[i]);
		b->chunks_deflated += r->nr_chunks;
		vm->dirty = vm->dirty || r->nr_chunks;
		if (!solicited)
			on_pressure_deflate(vm, r, now_ms);
	}
	/* MemTotal shrinks by what the balloon takes (adjust_managed_page_count): keep the
	 * guest's whole memory, mem_total + balloon, right between two STATUS answers. */
	if (vm->guest.mem_total + vm->guest.balloon_bytes >= r->actual_bytes)
		vm->guest.mem_total = vm->guest.mem_total + vm->guest.balloon_bytes - r->actual_bytes;
	vm->guest.balloon_bytes = r->actual_bytes;
	if (!current || !last)
		return;
	b->req_id = 0;
	if (b->resync && !b->req_target) {
		if (!r->actual_bytes && r->status == VCMA_OK)
			resync_done(vm);
		else
			b->retry_at_ms = now_ms + BALLOON_BACKOFF_MS;
		return;
	}
	if (r->status == VCMA_E_AGAIN && !r->nr_chunks)
		b->retry_at_ms = now_ms + BALLOON_BACKOFF_MS;	/* no progress: do not spin */
	else if (r->status != VCMA_E_AGAIN && r->status != VCMA_OK &&
		 r->status != VCMA_E_FLOOR && r->status != VCMA_E_NOSPC)
		b->retry_at_ms = now_ms + BALLOON_BACKOFF_MS;
	finish(vm, r->status, now_ms);
}

void balloon_on_error(struct vcma_vm *vm, uint32_t status, const char *msg, int64_t now_ms)
{
	struct vm_balloon *b = B(vm);

	b->req_id = 0;
	snprintf(b->detail, sizeof(b->detail), "guest error %s: %s", vcma_status_name(status), msg);
	vlog_vm_warn(vm->name, "BALLOON_SET failed: %s", b->detail);
	b->retry_at_ms = now_ms + BALLOON_BACKOFF_MS;
	finish(vm, status, now_ms);
	if (!b->settled)
		return;
	/* finish() wrote its own text for known outcomes; keep the guest's words for errors */
	snprintf(b->detail, sizeof(b->detail), "guest error %s: %s", vcma_status_name(status), msg);
}

void balloon_on_timeout(struct vcma_vm *vm, uint64_t req_id, int64_t now_ms)
{
	struct vm_balloon *b = B(vm);

	if (req_id != b->req_id)
		return;
	b->req_id = 0;
	b->retry_at_ms = now_ms + BALLOON_BACKOFF_MS;
	snprintf(b->detail, sizeof(b->detail), "the guest did not answer BALLOON_SET in time; retrying");
	vlog_vm_warn(vm->name, "%s", b->detail);
}

void balloon_on_event(struct vcma_vm *vm, uint32_t kind, uint64_t arg0)
{
	struct vm_balloon *b = B(vm);

	if (kind == VCMA_EV_FLOOR_HIT) {
		b->floor_hit = true;
		b->floor_short = arg0;
		vlog_vm_info(vm->name, "guest reports FLOOR_HIT: balloon %" PRIu64 " MiB short of its "
			  "target, the guest keeps that memory", arg0 >> 20);
	} else {
		b->pressure_events++;
		b->pressure_last_bytes = arg0;
		vlog_vm_warn(vm->name, "guest deflated %" PRIu64 " MiB under memory pressure "
			     "(PRESSURE_DEFLATE); re-inflating after %u ms", arg0 >> 20,
			     pressure_backoff(vm));
	}
}

/* ---- reporting ------------------------------------------------------------- */

static const char *backend_kind(const struct vm_balloon *b)
{
	if (!b->rc)
		return b->job ? "pending" : "unknown";
	return b->rc->kind == RECLAIM_NONE ? "none" : reclaim_kind_name(b->rc->kind);
}

static json_object *pressure_json(const struct vcma_vm *vm, int64_t now_ms)
{
	const struct vm_balloon *b = B(vm);
	json_object *p = json_object_new_object();

	json_object_object_add(p, "enabled", json_object_new_boolean(
		(vm->caps & VCMA_CAP_PRESSURE_DEFLATE) != 0));
	json_object_object_add(p, "events", json_object_new_uint64(b->pressure_events));
	json_object_object_add(p, "deflated_bytes", json_object_new_uint64(b->pressure_bytes));
	json_object_object_add(p, "chunks", json_object_new_uint64(b->pressure_chunks));
	json_object_object_add(p, "backoff_ms", json_object_new_int64(pressure_backoff(vm)));
	json_object_object_add(p, "holding", json_object_new_boolean(pressure_holding(vm, now_ms)));
	if (b->pressure_last_ms) {
		json_object_object_add(p, "last_bytes", json_object_new_uint64(b->pressure_last_bytes));
		json_object_object_add(p, "last_unix", json_object_new_int64(b->pressure_last_unix));
		json_object_object_add(p, "last_ago_ms",
				       json_object_new_int64(now_ms - b->pressure_last_ms));
	}
	if (pressure_holding(vm, now_ms))
		json_object_object_add(p, "reinflate_in_ms",
				       json_object_new_int64(b->pressure_hold_until_ms - now_ms));
	return p;
}

json_object *balloon_json(struct vcma_vm *vm, int64_t now_ms)
{
	struct vm_balloon *b = B(vm);
	json_object *o = json_object_new_object(), *h = json_object_new_object();
	struct reclaim *rc = vm_connected(vm) ? ensure_reclaim(vm, now_ms) : b->rc;
	struct reclaim_usage now;
	uint64_t moved, actual = vm->guest.balloon_bytes;
	const char *state;

	if (!vm_connected(vm))
		state = "disconnected";
	else if (!(vm->caps & VCMA_CAP_BALLOON))
		state = "unsupported";
	else if (b->req_id || !b->settled)
		state = balloon_idle(vm) ? "done" : "running";
	else
		state = b->last_status == VCMA_OK ? "done" : b->last_status == VCMA_E_FLOOR
			? "floor" : "stopped";
	json_object_object_add(o, "vm", json_object_new_string(vm->name));
	json_object_object_add(o, "state", json_object_new_string(state));
	json_object_object_add(o, "target_bytes", json_object_new_uint64(vm->balloon_target));
	json_object_object_add(o, "actual_bytes", json_object_new_uint64(actual));
	json_object_object_add(o, "guest_mem_total_bytes", json_object_new_uint64(vm->guest.mem_total));
	json_object_object_add(o, "chunk_bytes", json_object_new_uint64(balloon_chunk_bytes(vm)));
	json_object_object_add(o, "chunks", json_object_new_uint64(b->nr_chunks));
	json_object_object_add(o, "chunks_unpunched", json_object_new_uint64(b->nr_unpunched));
	json_object_object_add(o, "chunk_set", json_object_new_string(
		b->resync ? "resyncing" : b->exact ? "exact" : "unchecked"));
	json_object_object_add(o, "floor_hit", json_object_new_boolean(b->floor_hit));
	json_object_object_add(o, "floor_short_bytes", json_object_new_uint64(b->floor_short));
	json_object_object_add(o, "last_status",
			       json_object_new_string(vcma_status_name(b->last_status)));
	json_object_object_add(o, "detail", json_object_new_string(b->detail));
	json_object_object_add(o, "chunks_inflated", json_object_new_uint64(b->chunks_inflated));
	json_object_object_add(o, "chunks_deflated", json_object_new_uint64(b->chunks_deflated));
	json_object_object_add(o, "chunks_refused", json_object_new_uint64(b->chunks_refused));
	json_object_object_add(o, "pressure", pressure_json(vm, now_ms));
	if (b->started_ms)
		json_object_object_add(o, "elapsed_ms", json_object_new_int64(
			(b->finished_ms ? b->finished_ms : now_ms) - b->started_ms));

	json_object_object_add(h, "backend", json_object_new_string(backend_kind(b)));
	json_object_object_add(h, "reclaim_possible",
			       json_object_new_boolean(rc && rc->possible));
	json_object_object_add(h, "reclaim_pending", json_object_new_boolean(!rc && b->job));
	json_object_object_add(h, "reason", json_object_new_string(
		rc ? rc->why : refusal(b) ? refusal(b) : b->job ?
		"pending: QEMU's memory layout is being inspected over QMP (inflated chunks are "
		"recorded and punched once it answers)" :
		"guest not connected; QEMU not asked yet"));
	json_object_object_add(h, "punched_bytes", json_object_new_uint64(b->punched_bytes));
	/* a state, unlike the counter above: survives vcmad restarts through the store */
	json_object_object_add(h, "chunks_punched",
			       json_object_new_uint64(b->nr_chunks - b->nr_unpunched));
	json_object_object_add(h, "punch_errors", json_object_new_uint64(b->punch_errors));
	json_object_object_add(h, "backends", reclaim_backends_json(rc));
	reclaim_measure(rc, &now);
	if (now.valid) {
		moved = actual > b->base_balloon ? actual - b->base_balloon : b->base_balloon - actual;
		json_object_object_add(h, "backing_allocated_bytes",
				       json_object_new_uint64(now.backing_bytes));
		json_object_object_add(h, "qemu_rss_anon_bytes", json_object_new_uint64(now.rss_anon));
		json_object_object_add(h, "qemu_rss_shmem_bytes", json_object_new_uint64(now.rss_shmem));
		if (b->base.valid) {
			int64_t freed = (int64_t)b->base.backing_bytes - (int64_t)now.backing_bytes;

			json_object_object_add(h, "backing_freed_bytes", json_object_new_int64(freed));
			json_object_object_add(h, "rss_shmem_freed_bytes", json_object_new_int64(
				(int64_t)b->base.rss_shmem - (int64_t)now.rss_shmem));
			if (moved)
				json_object_object_add(h, "freed_per_mib_ballooned",
						       json_object_new_double((double)freed / (double)moved));
		}
	}
	json_object_object_add(o, "host", h);
	return o;
}

void balloon_metrics(FILE *f, struct vcma_vm *const *vms, size_t nr)
{
	static const struct {
		const char *name, *kind, *help;
	} m[] = {
		{ "vcmad_balloon_target_bytes", "gauge", "Bytes the balloon should hold." },
		{ "vcmad_balloon_actual_bytes", "gauge", "Bytes the guest's balloon holds." },
		{ "vcmad_balloon_chunks", "gauge", "Inflated chunks the host knows." },
		{ "vcmad_balloon_chunks_unpunched", "gauge", "Known chunks not punched from the backing yet." },
		{ "vcmad_balloon_floor_hit", "gauge", "1 when the guest's safety floor stopped the balloon." },
		{ "vcmad_balloon_reclaim_possible", "gauge", "1 when inflated chunks are punched from the host backing." },
		{ "vcmad_balloon_punched_bytes_total", "counter", "Bytes punched out of the VM's RAM backing." },
		{ "vcmad_balloon_punch_errors_total", "counter", "Failed hole punches." },
		{ "vcmad_balloon_chunks_inflated_total", "counter", "Chunks the guest gave up." },
		{ "vcmad_balloon_chunks_deflated_total", "counter", "Chunks handed back to the guest." },
		{ "vcmad_balloon_chunks_refused_total", "counter", "Chunks refused as invalid (never punched)." },
		{ "vcmad_balloon_backing_bytes", "gauge", "Allocated bytes of the VM's RAM backing (measured)." },
		{ "vcmad_balloon_pressure_deflates_total", "counter", "Deflates the guest made on its own under memory pressure (PRESSURE_DEFLATE events)." },
		{ "vcmad_balloon_pressure_deflated_bytes_total", "counter", "Bytes the guest took back under memory pressure." },
		{ "vcmad_balloon_pressure_last_timestamp_seconds", "gauge", "Unix time of the last pressure deflate (0: never)." },
	};

	for (size_t k = 0; k < sizeof(m) / sizeof(m[0]); k++) {
		fprintf(f, "# HELP %s %s\n# TYPE %s %s\n", m[k].name, m[k].help, m[k].name, m[k].kind);
		for (size_t i = 0; i < nr; i++) {
			const struct vcma_vm *vm = vms[i];
			const struct vm_balloon *b = vm->bal;
			struct reclaim_usage u;
			uint64_t v = 0;

			switch (k) {
			case 0: v = vm->balloon_target; break;
			case 1: v = vm->guest.balloon_bytes; break;
			case 2: v = b->nr_chunks; break;
			case 3: v = b->nr_unpunched; break;
			case 4: v = b->floor_hit; break;
			case 5: v = b->rc && b->rc->possible; break;
			case 6: v = b->punched_bytes; break;
			case 7: v = b->punch_errors; break;
			case 8: v = b->chunks_inflated; break;
			case 9: v = b->chunks_deflated; break;
			case 10: v = b->chunks_refused; break;
			case 11:
				reclaim_measure(b->rc, &u);
				if (!u.valid)
					continue;
				v = u.backing_bytes;
				break;
			case 12: v = b->pressure_events; break;
			case 13: v = b->pressure_bytes; break;
			case 14: v = (uint64_t)b->pressure_last_unix; break;
			}
			fprintf(f, "%s{vm=\"%s\"} %llu\n", m[k].name, vm->name, (unsigned long long)v);
		}
	}
}
