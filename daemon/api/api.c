/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * REST API server: evhttp on a unix socket (mode 0660, group = api_group or
 * the daemon's; 0666 when a read-only group is configured), every request
 * checked against the peer's credentials (SO_PEERCRED, SO_PEERGROUPS): root,
 * the daemon's own user and members of api_group (primary or supplementary
 * group) may do anything; members of api_read_group may GET (and /metrics);
 * anyone else gets 403. The
 * handlers translate HTTP to vm.c calls and back; nothing here blocks
 * except the one-time /dev/kvm probe in hostinfo.c, which is bounded.
 */
#include <errno.h>
#include <grp.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>
#include <event2/listener.h>

#include "api.h"
#include "balloon.h"
#include "daemon.h"
#include "log.h"
#include "stats.h"
#ifdef HAVE_LIBVIRT
#include "libvirt_meta.h"
#include "vm_registry.h"
#endif

#define MAX_BODY 65536
/*
 * How long a DELETE waits for the guest's answer: well inside vcmactl's
 * 30 s request timeout. A release queued behind a long RESERVE in the agent
 * is answered later; the DELETE then says 202 releasing.
 */
#define RELEASE_WAIT_MS 10000

/*
 * A POST with wait_ms: its reply waits until its reservations settled. A
 * DELETE (release) of a granted reservation: its reply waits for the
 * guest's answer, since only the guest knows whether the grant is held.
 * A GET of balloon statistics waits until the guest answered (stats: first
 * is the VM's bstats attempts count when it was asked).
 */
struct waiter {
	struct api *a;
	struct evhttp_request *req;
	struct evhttp_connection *con;
	char vm[VCMA_VM_NAME_MAX + 1];
	uint64_t first, last;
	int64_t expire_ms;
	bool release;
	bool stats;
	struct waiter *next;
};

#ifndef SO_PEERGROUPS
#define SO_PEERGROUPS 59	/* Linux >= 4.13 */
#endif

struct api {
	struct vcmad *d;
	struct evhttp *http;
	char *path;
	gid_t gid;
	gid_t ro_gid;
	bool has_ro;
	json_object *host_cache;
	struct waiter *waiters;
};

static void reply_json(struct evhttp_request *req, int code, json_object *o)
{
	struct evbuffer *buf = evbuffer_new();
	const char *text = json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN);

	evbuffer_add(buf, text, strlen(text));
	evbuffer_add(buf, "\n", 1);
	evhttp_add_header(evhttp_request_get_output_headers(req), "Content-Type",
			  "application/json");
	evhttp_send_reply(req, code, NULL, buf);
	evbuffer_free(buf);
	json_object_put(o);
}

static void reply_error(struct evhttp_request *req, int code, const char *error,
			const char *fmt, ...) __attribute__((format(printf, 4, 5)));
static void reply_error(struct evhttp_request *req, int code, const char *error,
			const char *fmt, ...)
{
	json_object *o = json_object_new_object();
	char detail[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(detail, sizeof(detail), fmt, ap);
	va_end(ap);
	json_object_object_add(o, "error", json_object_new_string(error));
	json_object_object_add(o, "detail", json_object_new_string(detail));
	reply_json(req, code, o);
}

enum access { ACCESS_NONE = 0, ACCESS_READ, ACCESS_FULL };

/* Is gid the peer's primary group or one of its supplementary groups (at connect time)? */
static bool peer_in_group(int fd, const struct ucred *cr, gid_t gid)
{
	gid_t small[64], *g = small;
	socklen_t len = sizeof(small);
	bool in = cr->gid == gid;

	if (in)
		return true;
	if (getsockopt(fd, SOL_SOCKET, SO_PEERGROUPS, g, &len) < 0) {
		if (errno != ERANGE || !(g = malloc(len)))
			return false;
		if (getsockopt(fd, SOL_SOCKET, SO_PEERGROUPS, g, &len) < 0)
			len = 0;
	}
	for (size_t i = 0; i < len / sizeof(gid_t) && !in; i++)
		in = g[i] == gid;
	if (g != small)
		free(g);
	return in;
}

static enum access peer_access(struct api *a, struct evhttp_request *req)
{
	struct evhttp_connection *c = evhttp_request_get_connection(req);
	struct bufferevent *bev = c ? evhttp_connection_get_bufferevent(c) : NULL;
	struct ucred cr;
	socklen_t len = sizeof(cr);
	int fd = bev ? bufferevent_getfd(bev) : -1;

	if (fd < 0 || getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cr, &len) < 0)
		return ACCESS_NONE;
	if (cr.uid == 0 || cr.uid == geteuid() || peer_in_group(fd, &cr, a->gid))
		return ACCESS_FULL;
	if (a->has_ro && peer_in_group(fd, &cr, a->ro_gid))
		return ACCESS_READ;
	return ACCESS_NONE;
}

/* A state write failed after a change: the caller learns it was not made durable. */
static bool reply_unsaved(struct api *a, struct evhttp_request *req, int rc)
{
	if (!rc)
		return false;
	reply_error(req, rc == -ENOSPC || rc == -EDQUOT ? 507 : HTTP_INTERNAL, "state_not_saved",
		    "%s; the change is applied but not durable (a vcmad restart would lose it); "
		    "vcmad retries the write every tick", vcmad_save_error(a->d));
	return true;
}

static char *read_body(struct evhttp_request *req, size_t *len)
{
	struct evbuffer *in = evhttp_request_get_input_buffer(req);
	size_t n = evbuffer_get_length(in);
	char *body;

	if (n > MAX_BODY)
		return NULL;
	body = malloc(n + 1);
	if (!body)
		return NULL;
	evbuffer_copyout(in, body, n);
	body[n] = 0;
	*len = n;
	return body;
}

static void handle_vms(struct api *a, struct evhttp_request *req)
{
	json_object *o = json_object_new_object();
	json_object *arr = json_object_new_array();

	for (size_t i = 0; i < a->d->nr_vms; i++)
		json_object_array_add(arr, api_vm_json(a->d->vms[i], 0));
	json_object_object_add(o, "vms", arr);
	reply_json(req, HTTP_OK, o);
}

static json_object *rsv_list(struct vcma_vm *vm, uint64_t first, uint64_t last)
{
	json_object *o = json_object_new_object();
	json_object *arr = json_object_new_array();

	for (size_t i = 0; i < vm->nr_rsv; i++)
		if (vm->rsv[i].id >= first && vm->rsv[i].id <= last)
			json_object_array_add(arr, api_rsv_json(vm, &vm->rsv[i]));
	json_object_object_add(o, "vm", json_object_new_string(vm->name));
	json_object_object_add(o, "reservations", arr);
	return o;
}

static void waiter_unlink(struct waiter *w)
{
	for (struct waiter **p = &w->a->waiters; *p; p = &(*p)->next) {
		if (*p == w) {
			*p = w->next;
			return;
		}
	}
}

static void waiter_closed(struct evhttp_connection *con, void *arg)
{
	struct waiter *w = arg;

	(void)con;
	waiter_unlink(w);
	free(w);
}

/*
 * Answer w if its reservations settled or its time is up: 201 all granted,
 * 504 a guest deadline passed or wait_ms ran out (they stay desired state),
 * 409 the guest refused. Returns true when answered.
 */
static json_object *released_json(const char *vm, uint64_t id)
{
	json_object *o = json_object_new_object();

	json_object_object_add(o, "id", json_object_new_uint64(id));
	json_object_object_add(o, "vm", json_object_new_string(vm));
	json_object_object_add(o, "state", json_object_new_string("released"));
	return o;
}

/*
 * Answer a release waiter once the guest answered: 200 released (the
 * reservation is gone), 409 the guest keeps the grant because something
 * there holds it (granted again, with claimed_by), 202 still releasing when
 * the guest went away or took too long (vcmad asks again when it is back).
 */
static bool release_waiter_try(struct waiter *w, int64_t now_ms)
{
	struct vcma_vm *vm = vcmad_vm_lookup(w->a->d, w->vm);
	struct rsv *r = vm ? vm_find_rsv(vm, w->first) : NULL;
	json_object *o;

	if (r && r->state == RSV_RELEASING && vm_connected(vm) && now_ms < w->expire_ms)
		return false;
	evhttp_connection_set_closecb(w->con, NULL, NULL);
	if (!r) {
		reply_json(w->req, HTTP_OK, released_json(w->vm, w->first));
		return true;
	}
	o = api_rsv_json(vm, r);
	if (r->state == RSV_RELEASING) {
		reply_json(w->req, 202, o);
		return true;
	}
	json_object_object_add(o, "error", json_object_new_string(
		r->status == VCMA_E_CLAIMED ? "claimed" : "busy"));
	json_object_object_add(o, "claimed_by", json_object_new_string(r->claimed_by));
	reply_json(w->req, 409, o);
	return true;
}
static bool stats_waiter_try(struct waiter *w, int64_t now_ms);

static bool waiter_try(struct waiter *w, int64_t now_ms)
{
	struct vcma_vm *vm = vcmad_vm_lookup(w->a->d, w->vm);
	size_t n = 0, granted = 0, deadline = 0, failed = 0;
	int code;

	if (w->release)
		return release_waiter_try(w, now_ms);
	if (w->stats)
		return stats_waiter_try(w, now_ms);
	for (size_t i = 0; vm && i < vm->nr_rsv; i++) {
		const struct rsv *r = &vm->rsv[i];

		if (r->id < w->first || r->id > w->last)
			continue;
		n++;
		granted += r->state == RSV_GRANTED;
		if (r->state == RSV_FAILED) {
			failed++;
			deadline += r->cause == VCMA_CAUSE_DEADLINE;
		}
	}
	if (!vm || n < w->last - w->first + 1) {
		code = 409;	/* released or detached while we waited */
	} else if (granted == n) {
		code = 201;
	} else if (granted + failed == n) {
		code = deadline ? 504 : 409;
	} else if (now_ms >= w->expire_ms) {
		code = 504;
	} else {
		return false;
	}
	evhttp_connection_set_closecb(w->con, NULL, NULL);
	if (code == 201) {
		reply_json(w->req, 201, rsv_list(vm, w->first, w->last));
	} else {
		json_object *o = vm ? rsv_list(vm, w->first, w->last) : json_object_new_object();
		char detail[160];

		snprintf(detail, sizeof(detail), "%zu of %llu granted, %zu failed%s", granted,
			 (unsigned long long)(w->last - w->first + 1), failed,
			 code == 504 ? (deadline ? " (guest deadline)" : " (wait_ms ran out)") : "");
		json_object_object_add(o, "error", json_object_new_string(
			code == 504 ? "deadline" : "reservation_failed"));
		json_object_object_add(o, "detail", json_object_new_string(detail));
		reply_json(w->req, code, o);
	}
	return true;
}

/* How long a GET of balloon statistics waits for the guest's answer. */
#define STATS_WAIT_MS	5000

/*
 * 200 with the sample once the guest answered, 502 when it answered with an
 * error or the session ended, 504 when STATS_WAIT_MS ran out; the body is
 * the statistics either way (with the last good sample, if any).
 */
static bool stats_waiter_try(struct waiter *w, int64_t now_ms)
{
	struct vcma_vm *vm = vcmad_vm_lookup(w->a->d, w->vm);
	json_object *o;
	int code;

	if (!vm) {
		evhttp_connection_set_closecb(w->con, NULL, NULL);
		reply_error(w->req, 409, "vm_detached", "vm %s was detached while it was asked",
			    w->vm);
		return true;
	}
	if (vm->bst->attempts > w->first)
		code = vm->bst->error[0] ? 502 : 200;
	else if (now_ms >= w->expire_ms)
		code = 504;
	else
		return false;
	evhttp_connection_set_closecb(w->con, NULL, NULL);
	o = bstats_json(vm, now_ms);
	if (code != 200) {
		json_object_object_add(o, "error", json_object_new_string(
			code == 504 ? "stats_timeout" : "stats_failed"));
		json_object_object_add(o, "detail", json_object_new_string(
			code == 504 ? "the guest did not answer BALLOON_STATS in time" : vm->bst->error));
	}
	reply_json(w->req, code, o);
	return true;
}

static void reply_stats_unsupported(struct evhttp_request *req, const struct vcma_vm *vm)
{
	reply_error(req, 409, "stats_unsupported",
		    "vm %s: the guest agent does not offer balloon statistics (protocol capability "
		    "bit 7, BALLOON_STATS); update vcma-agent in the guest", vm->name);
}

/*
 * GET /v1/vms/{vm}/balloon/statistics: the sample polling keeps fresh, or a
 * new one asked for now (no polling, or its sample is overdue).
 */
static void handle_bstats_get(struct api *a, struct vcma_vm *vm, struct evhttp_request *req)
{
	int64_t now = vcmad_now_ms();
	uint64_t interval_ms = (uint64_t)bstats_interval(vm) * 1000;
	struct waiter *w;
	uint64_t attempts;
	int rc;

	if (vm->bst->have && interval_ms && now - vm->bst->last_ms <= (int64_t)interval_ms + 1000 &&
	    !bstats_available(vm)) {
		reply_json(req, HTTP_OK, bstats_json(vm, now));
		return;
	}
	rc = bstats_request(vm, now, &attempts);
	if (rc == -EOPNOTSUPP) {
		reply_stats_unsupported(req, vm);
		return;
	}
	if (rc) {
		/* not connected: the last sample, if there is one, with its age */
		if (vm->bst->have)
			reply_json(req, HTTP_OK, bstats_json(vm, now));
		else
			reply_error(req, HTTP_SERVUNAVAIL, "guest_not_connected",
				    "vm %s: no guest agent on channel %s (state %s) and no earlier "
				    "sample", vm->name, vm->channel, vm_conn_name(vm->conn));
		return;
	}
	w = calloc(1, sizeof(*w));
	if (!w) {
		reply_error(req, HTTP_INTERNAL, "internal", "out of memory");
		return;
	}
	*w = (struct waiter){ .a = a, .req = req, .con = evhttp_request_get_connection(req),
			      .stats = true, .first = attempts, .expire_ms = now + STATS_WAIT_MS,
			      .next = a->waiters };
	snprintf(w->vm, sizeof(w->vm), "%s", vm->name);
	evhttp_connection_set_closecb(w->con, waiter_closed, w);
	a->waiters = w;
}

/* PUT /v1/vms/{vm}/balloon/statistics {"interval_s": N}: this VM's polling interval. */
static void handle_bstats_put(struct vcma_vm *vm, struct evhttp_request *req)
{
	int64_t now = vcmad_now_ms();
	uint32_t interval;
	char err[256];
	size_t len = 0;
	char *body = read_body(req, &len);
	int rc;

	if (!body) {
		reply_error(req, 413, "body_too_large", "request body over %d bytes", MAX_BODY);
		return;
	}
	rc = api_parse_stats_interval(body, len, &interval, err, sizeof(err));
	free(body);
	if (rc) {
		reply_error(req, HTTP_BADREQUEST, "bad_request", "%s", err);
		return;
	}
	if (bstats_available(vm) == -EOPNOTSUPP) {
		reply_stats_unsupported(req, vm);
		return;
	}
	bstats_set_interval(vm, interval, now);
	vlog_info("vm %s: balloon statistics every %u s%s", vm->name, interval,
		  interval ? "" : " (polling off)");
	vm_pump(vm, now);
	reply_json(req, HTTP_OK, bstats_json(vm, now));
}

void api_tick(struct api *a, int64_t now_ms)
{
	struct waiter **p = &a->waiters;

	while (*p) {
		struct waiter *w = *p;

		if (waiter_try(w, now_ms)) {
			*p = w->next;
			free(w);
		} else {
			p = &w->next;
		}
	}
}

/* Hold req's reply in a waiter; false (answer now) if there is no memory for one. */
static bool add_waiter(struct api *a, struct vcma_vm *vm, struct evhttp_request *req,
		       uint64_t first, uint64_t last, uint32_t wait_ms, bool release)
{
	struct waiter *w = calloc(1, sizeof(*w));

	if (!w)
		return false;
	*w = (struct waiter){ .a = a, .req = req, .con = evhttp_request_get_connection(req),
			      .first = first, .last = last,
			      .expire_ms = vcmad_now_ms() + wait_ms, .release = release,
			      .next = a->waiters };
	snprintf(w->vm, sizeof(w->vm), "%s", vm->name);
	/* the client may hang up first: then evhttp frees req, we only forget it */
	evhttp_connection_set_closecb(w->con, waiter_closed, w);
	a->waiters = w;
	return true;
}

static void handle_reserve(struct api *a, struct vcma_vm *vm, struct evhttp_request *req)
{
	struct rsv_spec s;
	char err[256];
	size_t len = 0;
	char *body = read_body(req, &len);
	uint64_t first;
	int rc;

	if (!body) {
		reply_error(req, 413, "body_too_large", "request body over %d bytes", MAX_BODY);
		return;
	}
	rc = api_parse_reserve(body, len, &s, err, sizeof(err));
	free(body);
	if (rc) {
		reply_error(req, HTTP_BADREQUEST, "bad_request", "%s", err);
		return;
	}
	if (!vm_connected(vm)) {
		reply_error(req, HTTP_SERVUNAVAIL, "guest_not_connected",
			    "vm %s: no guest agent on channel %s (state %s)%s%s", vm->name,
			    vm->channel, vm_conn_name(vm->conn), vm->drop_reason[0] ? "; last error: " : "",
			    vm->drop_reason);
		return;
	}
	if (!(vm->caps & VCMA_CAP_RESERVE)) {
		reply_error(req, 409, "unsupported", "vm %s: the guest agent does not offer reservations",
			    vm->name);
		return;
	}
	if (s.max_addr && !(vm->caps & VCMA_CAP_ADDR_LIMIT)) {
		reply_error(req, 409, "unsupported",
			    "vm %s: the guest agent takes no address limit (capability bit 6: "
			    "an older vcma-agent or vcma.ko); max_addr is refused, not dropped",
			    vm->name);
		return;
	}
	rc = vm_reserve(vm, &s, vcmad_now_ms(), &first);
	if (rc == -ENOSPC) {
		reply_error(req, 409, "too_many_reservations",
			    "vm %s: %zu reservations exist, the limit is %u", vm->name, vm->nr_rsv,
			    vm->lim->max_reservations);
		return;
	}
	if (rc) {
		reply_error(req, HTTP_INTERNAL, "internal", "%s", strerror(-rc));
		return;
	}
	/* saved first: a reservation that is not durable is not sent (vm->unsaved) */
	rc = vcmad_commit(a->d, vm, true);
	vm_pump(vm, vcmad_now_ms());
	if (reply_unsaved(a, req, rc))
		return;
	if (s.wait_ms && add_waiter(a, vm, req, first, first + s.count - 1, s.wait_ms, false))
		return;
	reply_json(req, 202, rsv_list(vm, first, first + s.count - 1));
}

static void handle_release(struct api *a, struct vcma_vm *vm, uint64_t id,
			   struct evhttp_request *req)
{
	int rc = vm_release(vm, id, vcmad_now_ms());
	struct rsv *r;

	if (rc == -ENOENT) {
		reply_error(req, HTTP_NOTFOUND, "unknown_reservation",
			    "vm %s has no reservation %llu", vm->name, (unsigned long long)id);
		return;
	}
	vm_pump(vm, vcmad_now_ms());
	if (reply_unsaved(a, req, vcmad_commit(a->d, vm, true)))
		return;
	r = vm_find_rsv(vm, id);
	if (!r) {
		reply_json(req, HTTP_OK, released_json(vm->name, id));
		return;
	}
	/*
	 * Releasing, and the guest is there to answer: wait for it, the guest
	 * may refuse (claimed). Without a guest: 202, released once it is back.
	 */
	if (vm_connected(vm) && add_waiter(a, vm, req, id, id, RELEASE_WAIT_MS, true))
		return;
	reply_json(req, 202, api_rsv_json(vm, r));
}

/*
 * PUT /v1/vms/{vm}/balloon: the target is desired state, stored at once and
 * applied whenever the guest is there (202); progress is read with GET.
 */
/* The balloon request's body into br; on a bad one the error is answered and -1 returned. */
static int read_balloon_req(struct evhttp_request *req, struct api_balloon_req *br)
{
	char err[256];
	size_t len = 0;
	char *body = read_body(req, &len);

	if (!body) {
		reply_error(req, 413, "body_too_large", "request body over %d bytes", MAX_BODY);
		return -1;
	}
	if (api_parse_balloon(body, len, br, err, sizeof(err))) {
		free(body);
		reply_error(req, HTTP_BADREQUEST, "bad_request", "%s", err);
		return -1;
	}
	free(body);
	return 0;
}

static void handle_balloon(struct api *a, struct vcma_vm *vm, struct evhttp_request *req)
{
	struct api_balloon_req br;
	uint64_t chunk = balloon_chunk_bytes(vm), full, target;

	if (read_balloon_req(req, &br))
		return;
	/* The guest's whole memory: what it manages now plus what the balloon holds. */
	full = vm->guest.mem_total + vm->guest.balloon_bytes;
	if (br.has_size) {
		if (!vm_connected(vm) || !vm->guest.mem_total) {
			reply_error(req, HTTP_SERVUNAVAIL, "guest_not_connected",
				    "vm %s: a size needs the guest's memory size; no guest agent is "
				    "connected (give a balloon target instead)", vm->name);
			return;
		}
		if (br.size > full) {
			reply_error(req, 409, "too_large",
				    "vm %s: size %llu MiB is more than the guest's %llu MiB",
				    vm->name, (unsigned long long)(br.size >> 20),
				    (unsigned long long)(full >> 20));
			return;
		}
		/* round the balloon up: the guest ends at or just below the size asked */
		target = (full - br.size + chunk - 1) / chunk * chunk;
	} else {
		target = br.target;
		if (target % chunk) {
			reply_error(req, HTTP_BADREQUEST, "bad_request",
				    "target must be a multiple of the %llu KiB balloon chunk",
				    (unsigned long long)(chunk >> 10));
			return;
		}
	}
	if (vm_connected(vm) && vm->guest.mem_total && target > full) {
		reply_error(req, 409, "too_large",
			    "vm %s: balloon target %llu MiB is more than the guest's %llu MiB",
			    vm->name, (unsigned long long)(target >> 20),
			    (unsigned long long)(full >> 20));
		return;
	}
	{
		char why[320];

		if (balloon_deflate_check(vm, target, why, sizeof(why))) {
			reply_error(req, 409, "hugepage_pool", "vm %s: %s", vm->name, why);
			return;
		}
	}
	if (vm_connected(vm) && !(vm->caps & VCMA_CAP_BALLOON))
		vlog_vm_warn(vm->name, "balloon target stored, but the guest agent offers no balloon");
	balloon_set_target(vm, target, vcmad_now_ms());
	vm_pump(vm, vcmad_now_ms());
	if (reply_unsaved(a, req, vcmad_commit(a->d, vm, true)))
		return;
	reply_json(req, 202, balloon_json(vm, vcmad_now_ms()));
}

#ifdef HAVE_LIBVIRT
/*
 * PUT /v1/vms/{vm}/balloon for a libvirt domain vcmad does not serve (no
 * vcma channel), or with [balloon] libvirt_fallback for one whose RAM the
 * host cannot take back (unshared = why): libvirt's own balloon, applied at
 * once (200), not desired state: nothing to reconcile or poll afterwards.
 */
static void handle_lv_balloon(struct api *a, const char *name, const char *unshared,
			      struct evhttp_request *req)
{
	struct vcma_lv_conn *c = vcma_libvirt_conn(a->d->lv);
	struct api_balloon_req br;
	uint64_t target, max, mem = 0;
	char msg[512] = "";
	json_object *o;
	int r = 0;

	if (read_balloon_req(req, &br))
		return;
	target = br.target;
	if (br.has_size) {
		r = vcma_lv_domain_max_mem(c, name, &max, msg, sizeof(msg));
		if (!r && br.size > max) {
			snprintf(msg, sizeof(msg), "size %llu MiB is more than domain '%s''s %llu MiB",
				 (unsigned long long)(br.size >> 20), name,
				 (unsigned long long)(max >> 20));
			r = -EINVAL;
		}
		if (!r)
			target = max - br.size;
	}
	if (!r)
		r = vcma_lv_balloon_fallback(c, name, target, &mem, msg, sizeof(msg));
	if (r == -ENOENT) {
		reply_error(req, HTTP_NOTFOUND, "unknown_vm",
			    "vcmad serves no VM named '%s' and libvirt has none to balloon: %s",
			    name, msg);
		return;
	}
	if (r) {
		reply_error(req, r == -EINVAL ? 409 : 502,
			    r == -EINVAL ? "balloon_refused" : "libvirt_failed", "%s", msg);
		return;
	}
	if (unshared)
		snprintf(msg, sizeof(msg), "%s; resized by libvirt's balloon instead "
			 "([balloon] libvirt_fallback): guest memory set to %llu MiB", unshared,
			 (unsigned long long)(mem >> 20));
	vlog_vm_info(name, "%s", msg);
	o = json_object_new_object();
	json_object_object_add(o, "vm", json_object_new_string(name));
	json_object_object_add(o, "via", json_object_new_string("libvirt-balloon"));
	json_object_object_add(o, "reason", json_object_new_string(
		unshared ? "host reclaim impossible" : "no vcma agent"));
	json_object_object_add(o, "target_bytes", json_object_new_uint64(target));
	json_object_object_add(o, "guest_mem_bytes", json_object_new_uint64(mem));
	json_object_object_add(o, "detail", json_object_new_string(msg));
	reply_json(req, HTTP_OK, o);
}
#endif

static void handle_metrics(struct api *a, struct evhttp_request *req)
{
	char *text = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&text, &len);
	struct evbuffer *buf;

	if (!f) {
		reply_error(req, HTTP_INTERNAL, "internal", "out of memory");
		return;
	}
	metrics_render(a->d, f);
	fclose(f);
	buf = evbuffer_new();
	evbuffer_add(buf, text, len);
	evhttp_add_header(evhttp_request_get_output_headers(req), "Content-Type",
			  "text/plain; version=0.0.4");
	evhttp_send_reply(req, HTTP_OK, NULL, buf);
	evbuffer_free(buf);
	free(text);
}

static void dispatch(struct evhttp_request *req, void *arg)
{
	struct api *a = arg;
	const struct evhttp_uri *uri = evhttp_request_get_evhttp_uri(req);
	const char *path = uri ? evhttp_uri_get_path(uri) : NULL;
	enum evhttp_cmd_type m = evhttp_request_get_command(req);
	struct api_route rt;
	struct vcma_vm *vm = NULL;
	enum access acc = peer_access(a, req);

	if (acc == ACCESS_NONE) {
		reply_error(req, 403, "forbidden",
			    "only root, the daemon's user and the API groups may use vcmad");
		return;
	}
	if (acc == ACCESS_READ && m != EVHTTP_REQ_GET) {
		reply_error(req, 403, "read_only",
			    "the read-only API group may only GET (and read /metrics)");
		return;
	}
	api_route(path ? path : "", &rt);
	if (rt.kind == API_NOT_FOUND) {
		reply_error(req, HTTP_NOTFOUND, "not_found", "no such resource: %s",
			    path ? path : "?");
		return;
	}
	if (rt.vm[0]) {
		vm = vcmad_vm_lookup(a->d, rt.vm);
#ifdef HAVE_LIBVIRT
		if (!vm && a->d->lv && rt.kind == API_BALLOON && m == EVHTTP_REQ_PUT) {
			handle_lv_balloon(a, rt.vm, NULL, req);
			return;
		}
#endif
		if (!vm) {
			reply_error(req, HTTP_NOTFOUND, "unknown_vm", "vcmad serves no VM named '%s'",
				    rt.vm);
			return;
		}
		if (vm->unmanaged[0] && m != EVHTTP_REQ_GET) {
			reply_error(req, 409, "unmanaged", "vm %s is not managed: %s", vm->name,
				    vm->unmanaged);
			return;
		}
	}
	switch (rt.kind) {
	case API_VMS:
		if (m != EVHTTP_REQ_GET)
			break;
		handle_vms(a, req);
		return;
	case API_VM:
		if (m != EVHTTP_REQ_GET)
			break;
		reply_json(req, HTTP_OK, api_vm_json(vm, 1));
		return;
	case API_RSVS:
		if (m == EVHTTP_REQ_GET) {
			reply_json(req, HTTP_OK, rsv_list(vm, 0, UINT64_MAX));
			return;
		}
		if (m == EVHTTP_REQ_POST) {
			handle_reserve(a, vm, req);
			return;
		}
		break;
	case API_RSV:
		if (m == EVHTTP_REQ_GET) {
			struct rsv *r = vm_find_rsv(vm, rt.id);

			if (!r)
				reply_error(req, HTTP_NOTFOUND, "unknown_reservation",
					    "vm %s has no reservation %llu", vm->name,
					    (unsigned long long)rt.id);
			else
				reply_json(req, HTTP_OK, api_rsv_json(vm, r));
			return;
		}
		if (m == EVHTTP_REQ_DELETE) {
			handle_release(a, vm, rt.id, req);
			return;
		}
		break;
	case API_BALLOON:
		if (m == EVHTTP_REQ_GET) {
			reply_json(req, HTTP_OK, balloon_json(vm, vcmad_now_ms()));
			return;
		}
		if (m == EVHTTP_REQ_PUT) {
#ifdef HAVE_LIBVIRT
			/* RAM the host cannot take back: libvirt's balloon, if configured */
			if (a->d->lv && a->d->cfg->balloon_libvirt_fallback &&
			    vm->source == VCMA_VM_SRC_LIBVIRT && vm->bal->unshared_reason) {
				handle_lv_balloon(a, vm->name, vm->bal->unshared_reason, req);
				return;
			}
#endif
			handle_balloon(a, vm, req);
			return;
		}
		break;
	case API_BALLOON_STATS:
		if (m == EVHTTP_REQ_GET) {
			handle_bstats_get(a, vm, req);
			return;
		}
		if (m == EVHTTP_REQ_PUT) {
			handle_bstats_put(vm, req);
			return;
		}
		break;
	case API_HOST:
		if (m != EVHTTP_REQ_GET)
			break;
		if (!a->host_cache)
			a->host_cache = hostinfo_json("", "/dev/kvm");
		reply_json(req, HTTP_OK, json_object_get(a->host_cache));
		return;
	case API_METRICS:
		if (m != EVHTTP_REQ_GET)
			break;
		handle_metrics(a, req);
		return;
	default:
		break;
	}
	evhttp_add_header(evhttp_request_get_output_headers(req), "Allow",
			  rt.kind == API_RSVS ? "GET, POST" : rt.kind == API_RSV ? "GET, DELETE" :
			  rt.kind == API_BALLOON || rt.kind == API_BALLOON_STATS ? "GET, PUT" : "GET");
	reply_error(req, 405, "method_not_allowed", "method not allowed on %s", path);
}

/* A group by name, or by number (a gid with no name in the group database). */
static int resolve_group(const char *name, gid_t *out, char *err, size_t errlen)
{
	struct group *g = getgrnam(name);
	unsigned long v;
	char *end;

	if (g) {
		*out = g->gr_gid;
		return 0;
	}
	errno = 0;
	v = strtoul(name, &end, 10);
	if (*name >= '0' && *name <= '9' && !*end && !errno && v < (gid_t)-1) {
		*out = (gid_t)v;
		return 0;
	}
	snprintf(err, errlen, "unknown group '%s'", name);
	return -1;
}

int api_set_groups(struct api *a, const char *group, const char *read_group, char *err,
		   size_t errlen)
{
	gid_t gid = getegid(), ro = 0;

	if ((group && resolve_group(group, &gid, err, errlen)) ||
	    (read_group && resolve_group(read_group, &ro, err, errlen)))
		return -1;
	if (a->path && (chown(a->path, (uid_t)-1, gid) < 0 ||
			chmod(a->path, read_group ? 0666 : 0660) < 0)) {
		snprintf(err, errlen, "%s: %s", a->path, strerror(errno));
		return -1;
	}
	a->gid = gid;
	a->ro_gid = ro;
	a->has_ro = read_group != NULL;
	return 0;
}

static int listen_unix(const char *path, gid_t gid, bool ro, char *err, size_t errlen)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	struct stat st;
	int fd;

	if (strlen(path) >= sizeof(sa.sun_path)) {
		snprintf(err, errlen, "path longer than %zu bytes", sizeof(sa.sun_path) - 1);
		return -1;
	}
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", path);
	{
		/* /run/vcma does not survive a reboot; without systemd nobody else makes it */
		char dir[sizeof(sa.sun_path)];
		char *slash;

		snprintf(dir, sizeof(dir), "%s", path);
		slash = strrchr(dir, '/');
		if (slash && slash != dir) {
			*slash = 0;
			/* the read-only group is in no group of the directory: it must traverse */
			if (mkdir(dir, ro ? 0755 : 0750) == 0)
				(void)chown(dir, (uid_t)-1, gid);
		}
	}
	if (lstat(path, &st) == 0) {
		int probe = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);

		if (!S_ISSOCK(st.st_mode)) {
			snprintf(err, errlen, "exists and is not a socket");
			close(probe);
			return -1;
		}
		/* a live daemon answers; a stale socket file from a crash does not */
		if (probe >= 0 && connect(probe, (struct sockaddr *)&sa, sizeof(sa)) == 0) {
			snprintf(err, errlen, "another vcmad is listening there");
			close(probe);
			return -1;
		}
		close(probe);
		unlink(path);
	}
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0 || bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 ||
	    chmod(path, 0660) < 0 || chown(path, (uid_t)-1, gid) < 0 || listen(fd, 64) < 0) {
		snprintf(err, errlen, "%s", strerror(errno));
		if (fd >= 0)
			close(fd);
		return -1;
	}
	return fd;
}

int api_new(struct vcmad *d, struct api **out, char *err, size_t errlen)
{
	struct api *a = calloc(1, sizeof(*a));
	struct evconnlistener *l;
	int fd;

	if (!a) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	a->d = d;
	if (api_set_groups(a, d->cfg->api_group, d->cfg->api_read_group, err, errlen)) {
		free(a);
		return -1;
	}
	fd = listen_unix(d->cfg->api_socket, a->gid, a->has_ro, err, errlen);
	if (fd < 0) {
		free(a);
		return -1;
	}
	a->path = strdup(d->cfg->api_socket);
	if (a->has_ro && a->path && chmod(a->path, 0666) < 0) {
		snprintf(err, errlen, "%s: %s", a->path, strerror(errno));
		close(fd);
		free(a->path);
		free(a);
		return -1;
	}
	a->http = evhttp_new(d->base);
	l = evconnlistener_new(d->base, NULL, NULL, LEV_OPT_CLOSE_ON_FREE | LEV_OPT_CLOSE_ON_EXEC,
			       -1, fd);
	if (!a->path || !a->http || !l || !evhttp_bind_listener(a->http, l)) {
		snprintf(err, errlen, "cannot set up the HTTP server");
		if (l)
			evconnlistener_free(l);
		else
			close(fd);
		api_free(a);
		return -1;
	}
	evhttp_set_allowed_methods(a->http, EVHTTP_REQ_GET | EVHTTP_REQ_POST | EVHTTP_REQ_DELETE |
				   EVHTTP_REQ_PUT);
	evhttp_set_max_body_size(a->http, MAX_BODY);
	evhttp_set_max_headers_size(a->http, 16384);
	evhttp_set_timeout(a->http, 30);
	evhttp_set_gencb(a->http, dispatch, a);
	*out = a;
	return 0;
}

void api_free(struct api *a)
{
	if (!a)
		return;
	while (a->waiters) {
		struct waiter *w = a->waiters;

		/* evhttp_free below frees the connections and their requests */
		evhttp_connection_set_closecb(w->con, NULL, NULL);
		a->waiters = w->next;
		free(w);
	}
	if (a->http)
		evhttp_free(a->http);
	if (a->path) {
		unlink(a->path);
		free(a->path);
	}
	json_object_put(a->host_cache);
	free(a);
}
