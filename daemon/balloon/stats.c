// SPDX-License-Identifier: GPL-2.0-only
/* Balloon statistics: polling the guest and the JSON view (see stats.h). */
#include "stats.h"

#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "balloon.h"
#include "log.h"

/* Retry after a failed poll no sooner than this, whatever the interval. */
#define BSTATS_RETRY_MS		1000
/* A guest may be busy with a RESERVE for its deadline: allow as much. */
#define BSTATS_TIMEOUT_MS(vm)	((vm)->lim->default_deadline_ms)

static struct balloon_stats *S(const struct vcma_vm *vm)
{
	return vm->bst;
}

int bstats_init(struct vcma_vm *vm)
{
	vm->bst = calloc(1, sizeof(*vm->bst));
	return vm->bst ? 0 : -ENOMEM;
}

void bstats_free(struct vcma_vm *vm)
{
	free(vm->bst);
	vm->bst = NULL;
}

uint32_t bstats_interval(const struct vcma_vm *vm)
{
	return S(vm)->interval_set ? S(vm)->interval_s : vm->lim->stats_interval_s;
}

int bstats_set_interval(struct vcma_vm *vm, uint32_t interval_s, int64_t now_ms)
{
	struct balloon_stats *s = S(vm);

	if (interval_s > BSTATS_MAX_INTERVAL_S)
		return -EINVAL;
	s->interval_s = interval_s;
	s->interval_set = true;
	/* a new interval starts now: the first sample at once, then every interval */
	s->next_poll_ms = now_ms;
	return 0;
}

int bstats_available(const struct vcma_vm *vm)
{
	if (vm->conn != VM_READY || vm->drop)
		return -ENOTCONN;
	if (!(vm->caps & VCMA_CAP_BALLOON_STATS))
		return -EOPNOTSUPP;
	return 0;
}

int bstats_request(struct vcma_vm *vm, int64_t now_ms, uint64_t *attempts_out)
{
	int rc = bstats_available(vm);

	if (rc)
		return rc;
	/* one in flight already answers this request too */
	if (!S(vm)->req_id)
		S(vm)->want = true;
	*attempts_out = S(vm)->attempts;
	bstats_pump(vm, now_ms);
	return 0;
}

void bstats_pump(struct vcma_vm *vm, int64_t now_ms)
{
	struct balloon_stats *s = S(vm);
	uint32_t interval = bstats_interval(vm);
	struct vcma_msg m;

	if (bstats_available(vm) || s->req_id)
		return;
	if (!s->want && (!interval || now_ms < s->next_poll_ms))
		return;
	vcma_msg_init(&m, VCMA_MSG_BALLOON_STATS, 0);
	if (vm_send_request(vm, &m, BSTATS_TIMEOUT_MS(vm), now_ms, &s->req_id) < 0)
		return;	/* no slot now: the next pump tries again */
	s->want = false;
	s->requests++;
	if (interval)
		s->next_poll_ms = now_ms + (int64_t)interval * 1000;
}

/* A failed request: say why, count it, and poll again not before the retry delay. */
static void failed(struct vcma_vm *vm, int64_t now_ms, const char *fmt, const char *what)
{
	struct balloon_stats *s = S(vm);

	s->req_id = 0;
	s->attempts++;
	snprintf(s->error, sizeof(s->error), fmt, what);
	if (bstats_interval(vm) && s->next_poll_ms < now_ms + BSTATS_RETRY_MS)
		s->next_poll_ms = now_ms + BSTATS_RETRY_MS;
}

void bstats_on_result(struct vcma_vm *vm, const struct vcma_msg *m, int64_t now_ms)
{
	struct balloon_stats *s = S(vm);

	if (m->id != s->req_id)
		return;	/* an answer to a request of a session that ended */
	s->req_id = 0;
	s->last = m->u.balloon_stats_result;
	s->have = true;
	s->last_ms = now_ms;
	s->last_unix = (int64_t)time(NULL);
	s->seq++;
	s->attempts++;
	s->error[0] = '\0';
}

void bstats_on_error(struct vcma_vm *vm, uint64_t req_id, uint32_t status, const char *msg,
		     int64_t now_ms)
{
	char why[sizeof(S(vm)->error)];

	if (req_id != S(vm)->req_id)
		return;
	S(vm)->errors++;
	snprintf(why, sizeof(why), "%s: %s", vcma_status_name(status), msg);
	vlog_warn("vm %s: BALLOON_STATS failed: %s", vm->name, why);
	failed(vm, now_ms, "guest error %s", why);
}

void bstats_on_timeout(struct vcma_vm *vm, uint64_t req_id, int64_t now_ms)
{
	if (req_id != S(vm)->req_id)
		return;
	S(vm)->timeouts++;
	vlog_warn("vm %s: BALLOON_STATS unanswered for %u ms", vm->name, BSTATS_TIMEOUT_MS(vm));
	failed(vm, now_ms, "%s", "no answer from the guest within its deadline");
}

void bstats_session_reset(struct vcma_vm *vm, bool rebooted)
{
	struct balloon_stats *s = S(vm);

	if (s->req_id) {
		s->req_id = 0;
		s->attempts++;
		snprintf(s->error, sizeof(s->error), "the guest session ended before it answered");
	}
	s->next_poll_ms = 0;	/* the next session starts with a sample */
	if (rebooted)
		s->have = false;
}

/* ---- views ------------------------------------------------------------ */

static void add_u64(json_object *o, const char *key, uint64_t v)
{
	json_object_object_add(o, key, json_object_new_uint64(v));
}

/* The guest's counters: a value where the guest gave one, null where it could not. */
static json_object *guest_json(const struct vcma_balloon_stats_result_h *st)
{
	json_object *g = json_object_new_object();
	/* amounts of memory get a _bytes name; the rest are counts */
	const uint32_t amounts = VCMA_BST_MEM_TOTAL | VCMA_BST_MEM_FREE | VCMA_BST_MEM_AVAILABLE |
				 VCMA_BST_DISK_CACHES | VCMA_BST_SWAP_IN | VCMA_BST_SWAP_OUT |
				 VCMA_BST_PRESSURE_DEFLATED;
	struct vcma_balloon_stats_result_h c = *st;

	for (unsigned int i = 0; i < VCMA_BST_NR_COUNTERS; i++) {
		char key[48];

		snprintf(key, sizeof(key), "%s%s", vcma_bst_counter_name(i),
			 (amounts & (1u << i)) ? "_bytes" : "");
		json_object_object_add(g, key, (st->valid & (1u << i)) ?
				       json_object_new_uint64(*vcma_bst_counter(&c, i)) : NULL);
	}
	return g;
}

static json_object *nodes_json(const struct vcma_balloon_stats_result_h *st)
{
	json_object *arr;

	if (!(st->valid & VCMA_BST_NODES))
		return NULL;
	arr = json_object_new_array();
	for (unsigned int i = 0; i < st->nr_nodes; i++) {
		json_object *n = json_object_new_object();
		uint64_t bytes = (uint64_t)st->chunks_by_node[i] << (12 + st->chunk_order);

		add_u64(n, "node", i);
		add_u64(n, "chunks", st->chunks_by_node[i]);
		add_u64(n, "bytes", bytes);
		json_object_array_add(arr, n);
	}
	return arr;
}

/* What vcmad itself did to the host's memory for this VM (its own counters). */
static json_object *host_json(const struct vcma_vm *vm)
{
	const struct vm_balloon *b = vm->bal;
	json_object *h = json_object_new_object();
	struct reclaim_usage u = { 0 };

	add_u64(h, "freed_bytes", b->punched_bytes);
	add_u64(h, "punch_errors", b->punch_errors);
	add_u64(h, "chunks_held", b->nr_chunks);
	json_object_object_add(h, "reclaim_possible",
			       json_object_new_boolean(b->rc && b->rc->possible));
	if (b->rc)
		reclaim_measure(b->rc, &u);
	if (u.valid)
		add_u64(h, "backing_allocated_bytes", u.backing_bytes);
	return h;
}

/*
 * The last deflate the guest made under memory pressure as vcmad recorded
 * it (EVENT PRESSURE_DEFLATE), null when there was none, and vcmad's totals
 * of such events. The guest's own lifetime counters are in "guest".
 */
static json_object *pressure_json(const struct vcma_vm *vm, int64_t now_ms)
{
	const struct vm_balloon *b = vm->bal;
	json_object *p = json_object_new_object(), *last;

	add_u64(p, "events", b->pressure_events);
	add_u64(p, "bytes", b->pressure_bytes);
	if (!b->pressure_last_ms) {
		json_object_object_add(p, "last", NULL);
		return p;
	}
	last = json_object_new_object();
	add_u64(last, "bytes", b->pressure_last_bytes);
	json_object_object_add(last, "unix", json_object_new_int64(b->pressure_last_unix));
	json_object_object_add(last, "age_ms", json_object_new_int64(now_ms - b->pressure_last_ms));
	json_object_object_add(p, "last", last);
	return p;
}

json_object *bstats_json(struct vcma_vm *vm, int64_t now_ms)
{
	struct balloon_stats *s = S(vm);
	json_object *o = json_object_new_object();
	uint64_t chunk = balloon_chunk_bytes(vm);
	uint64_t actual = s->have ? s->last.actual_bytes : vm->guest.balloon_bytes;
	int avail = bstats_available(vm);

	json_object_object_add(o, "vm", json_object_new_string(vm->name));
	json_object_object_add(o, "available", json_object_new_boolean(avail == 0));
	json_object_object_add(o, "interval_s", json_object_new_int64(bstats_interval(vm)));
	add_u64(o, "target_bytes", vm->balloon_target);
	add_u64(o, "actual_bytes", actual);
	add_u64(o, "target_pages", vm->balloon_target / 4096);
	add_u64(o, "actual_pages", actual / 4096);
	add_u64(o, "chunk_bytes", chunk);
	if (s->have) {
		json_object_object_add(o, "sample_age_ms", json_object_new_int64(now_ms - s->last_ms));
		json_object_object_add(o, "sample_unix", json_object_new_int64(s->last_unix));
		json_object_object_add(o, "guest", guest_json(&s->last));
		json_object_object_add(o, "nodes", nodes_json(&s->last));
	} else {
		json_object_object_add(o, "sample_age_ms", NULL);
		json_object_object_add(o, "guest", NULL);
		json_object_object_add(o, "nodes", NULL);
	}
	json_object_object_add(o, "host", host_json(vm));
	json_object_object_add(o, "pressure", pressure_json(vm, now_ms));
	add_u64(o, "samples", s->seq);
	add_u64(o, "requests", s->requests);
	add_u64(o, "errors", s->errors);
	add_u64(o, "timeouts", s->timeouts);
	if (s->error[0])
		json_object_object_add(o, "last_error", json_object_new_string(s->error));
	return o;
}

void bstats_metrics(FILE *f, struct vcma_vm *const *vms, size_t nr)
{
	static const struct {
		unsigned int bit;
		const char *name, *help;
	} m[] = {
		{ 0, "vcmad_guest_mem_total_bytes", "MemTotal of the guest (balloon statistics)." },
		{ 1, "vcmad_guest_mem_free_bytes", "MemFree of the guest." },
		{ 2, "vcmad_guest_mem_available_bytes", "MemAvailable of the guest." },
		{ 3, "vcmad_guest_disk_caches_bytes", "Page cache (Cached) of the guest." },
		{ 4, "vcmad_guest_swap_in_bytes_total", "Bytes the guest swapped in." },
		{ 5, "vcmad_guest_swap_out_bytes_total", "Bytes the guest swapped out." },
		{ 6, "vcmad_guest_major_faults_total", "Major page faults in the guest." },
		{ 7, "vcmad_guest_minor_faults_total", "Minor page faults in the guest." },
		{ 8, "vcmad_guest_oom_kills_total", "Processes the guest's OOM killer killed." },
	};

	for (size_t k = 0; k < sizeof(m) / sizeof(m[0]); k++) {
		bool head = false;

		for (size_t i = 0; i < nr; i++) {
			struct balloon_stats *s = S(vms[i]);

			if (!s->have || !(s->last.valid & (1u << m[k].bit)))
				continue;
			if (!head) {
				fprintf(f, "# HELP %s %s\n# TYPE %s %s\n", m[k].name, m[k].help,
					m[k].name, m[k].bit >= 4 ? "counter" : "gauge");
				head = true;
			}
			fprintf(f, "%s{vm=\"%s\"} %" PRIu64 "\n", m[k].name, vms[i]->name,
				*vcma_bst_counter(&s->last, m[k].bit));
		}
	}
}
