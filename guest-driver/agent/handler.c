// SPDX-License-Identifier: MIT
/*
 * Host request -> backend call -> reply frames (see handler.h).
 *
 * The host is trusted no more than any peer: every field the codec let
 * through is still checked against what the backend can do (page size,
 * alignment, label length) before the backend sees it, and a failure always
 * produces an answer carrying the request id, never silence.
 *
 * Idempotency: a RESERVE whose non-zero tag matches an outstanding grant
 * returns that grant again without touching memory, so a host retrying after
 * a reconnect never gets two grants for one reservation. The grant's tag is
 * stored by the backend (the kernel module, the core), not here, so it
 * survives an agent restart.
 */
#include "handler.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "agent_util.h"
#include "balloon.h"
#include "stats.h"

struct agent_handler {
	struct agent_backend *be;
	uint64_t host_caps;		/* from the host's last HELLO, 0 before one */
	char software[VCMA_NAME_LEN + 1];
	struct vcma_msg *reply;		/* scratch, too large for a stack */
	struct agent_grant_list list;	/* scratch for LIST */
};

void agent_out_free(struct agent_out *o)
{
	free(o->buf);
	memset(o, 0, sizeof(*o));
}

int agent_out_append(struct agent_out *o, const struct vcma_msg *m)
{
	int need = vcma_encoded_size(m);
	int n;

	if (need < 0)
		return -EPROTO;
	if (o->cap - o->len < (size_t)need) {
		size_t cap = o->cap ? o->cap : 4096;
		uint8_t *nb;

		while (cap - o->len < (size_t)need)
			cap *= 2;
		nb = realloc(o->buf, cap);
		if (!nb)
			return -ENOMEM;
		o->buf = nb;
		o->cap = cap;
	}
	n = vcma_encode(m, o->buf + o->len, o->cap - o->len);
	if (n < 0)
		return -EPROTO;
	o->len += (size_t)n;
	return 0;
}

static int reply_small(struct agent_out *out, void (*fill)(struct vcma_msg *, const void *),
		       uint8_t type, uint64_t id, const void *arg)
{
	struct vcma_msg *m = malloc(sizeof(*m));
	int ret;

	if (!m)
		return -ENOMEM;
	vcma_msg_init(m, type, id);
	if (fill)
		fill(m, arg);
	ret = agent_out_append(out, m);
	free(m);
	return ret;
}

struct error_arg {
	uint32_t status;
	uint8_t ref_type;
	const char *msg;
};

static void fill_error(struct vcma_msg *m, const void *p)
{
	const struct error_arg *a = p;

	m->u.error.status = a->status;
	m->u.error.ref_type = a->ref_type;
	snprintf(m->u.error.message, sizeof(m->u.error.message), "%s", a->msg);
}

int agent_reply_error(uint64_t id, uint8_t ref_type, uint32_t status, const char *msg,
		      struct agent_out *out)
{
	struct error_arg a = { status, ref_type, msg };

	return reply_small(out, fill_error, VCMA_MSG_ERROR, id, &a);
}

int agent_reply_pong(uint64_t id, struct agent_out *out)
{
	return reply_small(out, NULL, VCMA_MSG_PONG, id, NULL);
}

bool agent_handler_answers_inline(uint8_t type)
{
	return type == VCMA_MSG_PING;
}

struct agent_handler *agent_handler_new(struct agent_backend *be, const char *software)
{
	struct agent_handler *h = calloc(1, sizeof(*h));

	if (!h)
		return NULL;
	h->be = be;
	snprintf(h->software, sizeof(h->software), "%s", software);
	h->reply = malloc(sizeof(*h->reply));
	if (!h->reply) {
		free(h);
		return NULL;
	}
	return h;
}

void agent_handler_free(struct agent_handler *h)
{
	if (!h)
		return;
	free(h->reply);
	agent_grant_list_free(&h->list);
	free(h);
}

int agent_handler_hello(struct agent_handler *h, uint64_t id, struct agent_out *out)
{
	struct vcma_msg *m = h->reply;
	struct vcma_hello_h *he = &m->u.hello;
	struct vcma_ioc_version ver;
	struct agent_meminfo *mi;
	int ret;

	mi = malloc(sizeof(*mi));
	if (!mi)
		return -ENOMEM;
	vcma_msg_init(m, VCMA_MSG_HELLO, id);
	he->proto_min = VCMA_PROTO_MIN;
	he->proto_max = VCMA_PROTO_MAX;
	he->role = VCMA_ROLE_GUEST;
	/* Without the module the agent still says hello: the host then learns
	 * VCMA_E_NODEV per request instead of waiting for a guest that never talks. */
	if (h->be->ops->version(h->be->priv, &ver)) {
		ver.page_size = 4096;
		ver.pageblock_order = 9;
		ver.max_order = 11;
	}
	he->caps = agent_backend_caps(h->be);
	he->page_size = ver.page_size;
	he->pageblock_order = (uint8_t)ver.pageblock_order;
	he->max_order = (uint8_t)ver.max_order;
	if (h->be->ops->boot_id(h->be->priv, he->boot_id))
		memset(he->boot_id, 0, sizeof(he->boot_id));
	if (!h->be->ops->meminfo(h->be->priv, mi)) {
		he->mem_total = mi->mem_total;
		he->mem_free = mi->mem_free;
		he->mem_movable = mi->mem_movable;
		he->nr_ranges = mi->nr_ranges;
		memcpy(he->ranges, mi->ranges, mi->nr_ranges * sizeof(mi->ranges[0]));
	}
	snprintf(he->software, sizeof(he->software), "%s", h->software);
	free(mi);
	ret = agent_out_append(out, m);
	if (ret)
		log_err("cannot encode HELLO: %s", strerror(-ret));
	return ret;
}

static void evidence_from_ioc(struct vcma_evidence_h *e, const struct vcma_ioc_evidence *k)
{
	e->ranges_scanned = k->ranges_scanned;
	e->ranges_tried = k->ranges_tried;
	e->pages_migrated = k->pages_migrated > UINT32_MAX ? UINT32_MAX
							   : (uint32_t)k->pages_migrated;
	e->pinned_met = k->pinned_met;
	e->bh_invalidations = k->bh_invalidations;
	e->retries = k->retries;
	e->elapsed_us = k->elapsed_us;
	e->cause = k->cause <= VCMA_CAUSE_MAX ? k->cause : VCMA_CAUSE_MIGRATE;
}

/* Why a RESERVE is malformed for this guest, or NULL if it is fine. */
static const char *reserve_invalid(const struct vcma_reserve_h *r, uint32_t page_size)
{
	if (!r->size || r->size % page_size)
		return "size must be a non-zero multiple of the page size";
	if (r->align && (r->align & (r->align - 1)))
		return "align must be a power of two";
	if (r->align && r->align < page_size)
		return "align must be at least the page size";
	if (r->flags & ~VCMA_RSV_KNOWN)
		return "unknown reserve flags";
	if (strlen(r->label) >= VCMA_LABEL_LEN)
		return "label longer than 31 bytes";
	if (r->max_addr && (r->max_addr % page_size || r->max_addr < r->size))
		return "max_addr must be a multiple of the page size and at least the size";
	return NULL;
}

static int handle_reserve(struct agent_handler *h, const struct vcma_msg *in,
			  struct agent_out *out)
{
	const struct vcma_reserve_h *r = &in->u.reserve;
	struct vcma_reserve_result_h *res;
	struct vcma_ioc_reserve io;
	struct vcma_ioc_version ver;
	const char *why;
	uint32_t i;
	int ret;

	ret = h->be->ops->version(h->be->priv, &ver);
	if (ret)
		return agent_reply_error(in->id, in->type, vcma_status_from_errno(ret, 0),
					 "guest module not available", out);
	why = reserve_invalid(r, ver.page_size);
	if (why)
		return agent_reply_error(in->id, in->type, VCMA_E_INVAL, why, out);
	/* A limit is refused, never dropped, when the module cannot honour it. */
	if (r->max_addr && !(agent_backend_caps(h->be) & VCMA_CAP_ADDR_LIMIT))
		return agent_reply_error(in->id, in->type, VCMA_E_UNSUPPORTED,
					 "the guest's vcma module takes no address limit", out);

	vcma_msg_init(h->reply, VCMA_MSG_RESERVE_RESULT, in->id);
	res = &h->reply->u.reserve_result;
	res->tag = r->tag;

	if (r->tag) {
		ret = agent_list_grants(h->be, &h->list);
		if (ret)
			return agent_reply_error(in->id, in->type,
						 vcma_status_from_errno(ret, 0),
						 "cannot list grants", out);
		for (i = 0; i < h->list.nr; i++) {
			const struct vcma_ioc_grant *g = &h->list.grants[i];

			if (g->kind != AGENT_GRANT_RESERVE || g->tag != r->tag)
				continue;
			if (g->size < r->size)
				return agent_reply_error(in->id, in->type, VCMA_E_INVAL,
							 "tag already holds a smaller grant",
							 out);
			if (r->max_addr && (g->phys_addr > r->max_addr ||
					    g->size > r->max_addr - g->phys_addr))
				return agent_reply_error(in->id, in->type, VCMA_E_INVAL,
							 "tag already holds a grant above max_addr",
							 out);
			log_debug("RESERVE tag %llu: already granted as %llu",
				  (unsigned long long)r->tag, (unsigned long long)g->grant_id);
			res->status = VCMA_OK;
			res->grant_id = g->grant_id;
			res->gpa = g->phys_addr;
			res->size = g->size;
			return agent_out_append(out, h->reply);
		}
	}

	memset(&io, 0, sizeof(io));
	io.argsz = sizeof(io);
	io.flags = r->flags;
	io.size = r->size;
	io.align = r->align;
	io.tag = r->tag;
	io.node = r->node;
	io.deadline_ms = r->deadline_ms;
	io.max_addr = r->max_addr;
	memcpy(io.label, r->label, sizeof(io.label));
	io.label[sizeof(io.label) - 1] = '\0';
	ret = h->be->ops->reserve(h->be->priv, &io);
	evidence_from_ioc(&res->ev, &io.ev);
	res->status = vcma_status_from_errno(ret, io.ev.cause);
	if (!ret) {
		res->grant_id = io.grant_id;
		res->gpa = io.phys_addr;
		res->size = io.granted_size;
		res->ev.cause = VCMA_CAUSE_NONE;
	} else if (res->ev.cause == VCMA_CAUSE_NONE && res->status != VCMA_E_INVAL) {
		/* A refused attempt always names a cause; the backend did not. */
		res->ev.cause = ret == -ETIMEDOUT ? VCMA_CAUSE_DEADLINE : VCMA_CAUSE_MIGRATE;
	}
	log_info("RESERVE id %llu size %llu below %#llx tag %llu: %s (grant %llu, cause %s)",
		 (unsigned long long)in->id, (unsigned long long)r->size,
		 (unsigned long long)r->max_addr,
		 (unsigned long long)r->tag, vcma_status_name(res->status),
		 (unsigned long long)res->grant_id, vcma_cause_name(res->ev.cause));
	return agent_out_append(out, h->reply);
}

/* Claims travel to the host only when it reads them (bit 6 common). */
static bool host_reads_holders(const struct agent_handler *h)
{
	return vcma_caps_common(agent_backend_caps(h->be), h->host_caps) & VCMA_CAP_ADDR_LIMIT;
}

/* Who holds grant_id, into flags and holder; false if the backend cannot tell. */
static bool grant_holders(struct agent_handler *h, uint64_t grant_id, uint32_t *flags,
			  char *holder, size_t len)
{
	*flags = 0;
	holder[0] = '\0';
	if (!h->be->ops->holders ||
	    h->be->ops->holders(h->be->priv, grant_id, flags, holder, len))
		return false;
	/* The wire pairs them: no holder without a flag, no flag without a holder. */
	if (*flags && !holder[0])
		snprintf(holder, len, "unknown");
	else if (!*flags)
		holder[0] = '\0';
	return true;
}

static int handle_release(struct agent_handler *h, const struct vcma_msg *in,
			  struct agent_out *out)
{
	struct vcma_release_result_h *res;
	uint32_t flags;
	int ret;

	ret = h->be->ops->release(h->be->priv, in->u.release.grant_id);
	vcma_msg_init(h->reply, VCMA_MSG_RELEASE_RESULT, in->id);
	res = &h->reply->u.release_result;
	res->grant_id = in->u.release.grant_id;
	res->status = vcma_status_from_errno(ret, 0);
	/* The module refuses to release a held grant: say who holds it. */
	if (ret == -EBUSY && host_reads_holders(h)) {
		res->status = VCMA_E_CLAIMED;
		if (!grant_holders(h, res->grant_id, &flags, res->holder, sizeof(res->holder)) ||
		    !res->holder[0])
			snprintf(res->holder, sizeof(res->holder), "unknown");
	}
	log_info("RELEASE id %llu grant %llu: %s%s%s", (unsigned long long)in->id,
		 (unsigned long long)res->grant_id, vcma_status_name(res->status),
		 res->holder[0] ? ", held by " : "", res->holder);
	return agent_out_append(out, h->reply);
}

static int handle_status(struct agent_handler *h, const struct vcma_msg *in,
			 struct agent_out *out)
{
	struct vcma_status_result_h *sr = &h->reply->u.status_result;
	struct vcma_ioc_stats st;
	uint64_t grant_bytes = 0;
	uint8_t boot_id[16];
	struct vcma_ioc_grant *grants;
	uint32_t i, nres = 0, sent = 0;
	bool holders = host_reads_holders(h);
	int ret;

	ret = h->be->ops->stats(h->be->priv, &st);
	if (!ret)
		ret = agent_list_grants(h->be, &h->list);
	if (ret)
		return agent_reply_error(in->id, in->type, vcma_status_from_errno(ret, 0),
					 "cannot read guest status", out);
	/* Balloon chunks are reported by BALLOON_REPORT, not as grants: compact them out. */
	grants = h->list.grants;
	for (i = 0; i < h->list.nr; i++) {
		if (grants[i].kind != AGENT_GRANT_RESERVE)
			continue;
		grant_bytes += grants[i].size;
		grants[nres++] = grants[i];
	}
	if (h->be->ops->boot_id(h->be->priv, boot_id))
		memset(boot_id, 0, sizeof(boot_id));

	do {
		uint32_t chunk = nres - sent;

		if (chunk > VCMA_MAX_GRANTS_FRAME)
			chunk = VCMA_MAX_GRANTS_FRAME;
		vcma_msg_init(h->reply, VCMA_MSG_STATUS_RESULT, in->id);
		sr->mem_total = st.mem_total;
		sr->mem_free = st.mem_free;
		sr->mem_available = st.mem_available;
		sr->balloon_bytes = st.balloon_bytes;
		sr->grant_bytes = grant_bytes;
		sr->reserve_ok = st.reserve_ok;
		sr->reserve_fail = st.reserve_fail;
		sr->floor_pages = st.floor_pages > UINT32_MAX ? UINT32_MAX
							      : (uint32_t)st.floor_pages;
		memcpy(sr->boot_id, boot_id, sizeof(boot_id));
		sr->holders = holders;
		sr->nr_grants = chunk;
		for (i = 0; i < chunk; i++) {
			const struct vcma_ioc_grant *g = &grants[sent + i];
			struct vcma_grant_info_h *gi = &sr->grants[i];

			gi->grant_id = g->grant_id;
			gi->gpa = g->phys_addr;
			gi->size = g->size;
			gi->tag = g->tag;
			memcpy(gi->label, g->label, VCMA_LABEL_LEN);
			gi->label[VCMA_LABEL_LEN - 1] = '\0';
			if (holders)
				grant_holders(h, g->grant_id, &gi->flags, gi->holder,
					      sizeof(gi->holder));
		}
		sent += chunk;
		if (sent < nres)
			h->reply->flags |= VCMA_HDR_F_MORE;
		ret = agent_out_append(out, h->reply);
		if (ret)
			return ret;
	} while (sent < nres);
	return 0;
}

/*
 * A host HELLO is answered with the guest HELLO under the host's id. The
 * agent also sends one unsolicited (id 0) whenever the channel comes up, so
 * the host must take a guest HELLO at any time; the latest one wins.
 */
static int handle_hello(struct agent_handler *h, const struct vcma_msg *in,
			struct agent_out *out)
{
	const struct vcma_hello_h *he = &in->u.hello;
	int version;

	if (he->role != VCMA_ROLE_HOST)
		return agent_reply_error(in->id, in->type, VCMA_E_PROTO,
					 "HELLO role must be host", out);
	version = vcma_negotiate(VCMA_PROTO_MIN, VCMA_PROTO_MAX, he->proto_min,
				 he->proto_max);
	if (version < 0)
		return agent_reply_error(in->id, in->type, VCMA_E_UNSUPPORTED,
					 "no common protocol version", out);
	log_info("host says hello: %s, protocol %u..%u, using %d", he->software,
		 he->proto_min, he->proto_max, version);
	h->host_caps = he->caps;
	return agent_handler_hello(h, in->id, out);
}

int agent_handler_pressure(struct agent_handler *h, struct agent_out *out)
{
	return agent_balloon_pressure(h->be, 0, h->reply, out);
}

int agent_handler_handle(struct agent_handler *h, const struct vcma_msg *in,
			 struct agent_out *out)
{
	switch (in->type) {
	case VCMA_MSG_HELLO:
		return handle_hello(h, in, out);
	case VCMA_MSG_RESERVE:
		return handle_reserve(h, in, out);
	case VCMA_MSG_RELEASE:
		return handle_release(h, in, out);
	case VCMA_MSG_STATUS:
		return handle_status(h, in, out);
	case VCMA_MSG_PING:
		return agent_reply_pong(in->id, out);
	case VCMA_MSG_PONG:
		return 0;
	case VCMA_MSG_BALLOON_SET:
		return agent_balloon_handle(h->be, in, h->reply, out);
	case VCMA_MSG_BALLOON_STATS:
		return agent_stats_handle(h->be, &h->list, in, h->reply, out);
	case VCMA_MSG_ERROR:
		/* Never answer an error with an error: two peers could loop forever. */
		log_warn("host reports error %s for %s: %s",
			 vcma_status_name(in->u.error.status),
			 vcma_msg_type_name(in->u.error.ref_type), in->u.error.message);
		return 0;
	default:
		return agent_reply_error(in->id, in->type, VCMA_E_PROTO,
					 "message type not valid from the host", out);
	}
}
