/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * fakeguest: scripted guest peers for vcmad's integration tests and
 * benchmark. One process serves any number of VM channels (unix sockets it
 * listens on, as QEMU's chardev does), speaks the real protocol through the
 * codec, keeps grants per VM across reconnects like a real guest, and can
 * misbehave on command (--evil MODE) to exercise vcmad's defences.
 *
 * Signals: SIGUSR1 = guest reboot (grants gone, new boot id, channel
 * reconnects), SIGUSR2 = agent restart (channel drops, grants kept),
 * SIGHUP = every guest driver lets go of its claims (--claimed).
 *
 * --claimed OWNER: grants whose label starts with "claim" are held by a
 * guest driver named OWNER, as vcma.ko's claim API holds them: RELEASE is
 * refused (E_CLAIMED naming OWNER with capability bit 6 common, E_BUSY
 * without) and STATUS_RESULT reports them claimed, until SIGHUP.
 *
 * --addr-limit: offers capability bit 6 (as --claimed does) and, whenever it
 * offers it, honours a RESERVE's max_addr: its RAM is [4 GiB, 4 GiB + mem),
 * so a limit at or below 4 GiB fails with cause addr_limit. A max_addr from
 * a host it did not offer bit 6 is answered E_PROTO. --evil ignore-limit
 * grants wherever it likes instead.
 */
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>
#include <event2/listener.h>

#include "vcma_codec.h"

#define BASE_GPA (1ull << 32)
#define MAX_GRANTS 4096

enum evil {
	EVIL_NONE, EVIL_OVERSIZED, EVIL_COUNT, EVIL_UNKNOWN_TYPE, EVIL_BOGUS_GRANT, EVIL_FLOOD,
	EVIL_PARTIAL, EVIL_MIDFRAME, EVIL_ABSURD_HELLO, EVIL_GARBAGE, EVIL_SILENT_RESERVE,
	EVIL_DEAD, EVIL_BAD_GPA, EVIL_IGNORE_LIMIT, EVIL_PONG_FLOOD,
};
static const char *const evil_names[] = {
	"none", "oversized", "count", "unknown-type", "bogus-grant", "flood", "partial",
	"midframe", "absurd-hello", "garbage", "silent-reserve", "dead", "bad-gpa",
	"ignore-limit", "pong-flood",
};

struct grant {
	uint64_t id, gpa, size, tag;
	char label[VCMA_NAME_LEN + 1];
	bool claimed;
};

struct guest {
	char path[108];
	struct evconnlistener *lis;
	struct bufferevent *bev;
	struct vcma_reasm *reasm;
	struct grant *grants;
	size_t nr_grants;
	uint64_t next_grant;
	uint8_t boot_id[16];
	bool synced;		/* answered a STATUS in this session */
	bool evil_done;
	bool dead;
	uint64_t session;	/* counts accepted connections */
	uint64_t host_caps;	/* from the host's HELLO in this session */
	uint64_t reserves, releases;
	uint64_t stats_answered;	/* BALLOON_STATS, lifetime */
};

static struct {
	struct event_base *base;
	struct guest *g;
	size_t n;
	uint64_t mem;
	unsigned int delay_ms, release_delay_ms;
	enum evil evil;
	unsigned int foreign;
	bool no_status;
	bool stats;
	const char *claimed_by;	/* --claimed OWNER, NULL = no claims */
	bool addr_limit;	/* --addr-limit */
	struct vcma_msg *msg;
} G;

static uint64_t our_caps(void)
{
	return VCMA_CAP_RESERVE | VCMA_CAP_EVENTS | (G.no_status ? 0 : VCMA_CAP_STATUS) |
	       (G.claimed_by || G.addr_limit ? VCMA_CAP_ADDR_LIMIT : 0) |
	       (G.stats ? VCMA_CAP_BALLOON_STATS : 0);
}

/* Claims reach the host only in the forms of bit 6, when it is common. */
static bool host_reads_claims(const struct guest *g)
{
	return vcma_caps_common(our_caps(), g->host_caps) & VCMA_CAP_ADDR_LIMIT;
}

static void new_boot_id(struct guest *g)
{
	for (int i = 0; i < 16; i++)
		g->boot_id[i] = (uint8_t)(random() & 0xff);
}

static void send_msg(struct guest *g, const struct vcma_msg *m)
{
	uint8_t buf[VCMA_MAX_PAYLOAD + 64];
	int n = vcma_encode(m, buf, sizeof(buf));

	if (n < 0) {
		fprintf(stderr, "fakeguest: encode %s: %s\n", vcma_msg_type_name(m->type),
			vcma_codec_strerror(n));
		return;
	}
	if (g->bev)
		bufferevent_write(g->bev, buf, (size_t)n);
}

static void send_raw(struct guest *g, const void *p, size_t n)
{
	if (g->bev)
		bufferevent_write(g->bev, p, n);
}

static void send_hello(struct guest *g, uint64_t id, bool absurd)
{
	struct vcma_msg *m = calloc(1, sizeof(*m));

	vcma_msg_init(m, VCMA_MSG_HELLO, id);
	m->u.hello.proto_min = 1;
	m->u.hello.proto_max = 1;
	m->u.hello.role = VCMA_ROLE_GUEST;
	m->u.hello.pageblock_order = 9;
	m->u.hello.max_order = 10;
	m->u.hello.caps = our_caps();
	m->u.hello.page_size = 4096;
	memcpy(m->u.hello.boot_id, g->boot_id, 16);
	m->u.hello.mem_total = absurd ? (1ull << 62) : G.mem;
	m->u.hello.mem_free = absurd ? (1ull << 61) : G.mem / 2;
	m->u.hello.mem_movable = 0;
	snprintf(m->u.hello.software, sizeof(m->u.hello.software), "fakeguest");
	m->u.hello.nr_ranges = 1;
	m->u.hello.ranges[0].gpa = BASE_GPA;
	m->u.hello.ranges[0].size = absurd ? (1ull << 62) : G.mem;
	m->u.hello.ranges[0].node = 0;
	m->u.hello.ranges[0].zone = VCMA_ZONE_NORMAL;
	send_msg(g, m);
	free(m);
}

/* First fit of an aligned range among the grants, ending at or below limit (0 = anywhere). */
static bool place(struct guest *g, uint64_t size, uint64_t align, uint64_t limit, uint64_t *gpa)
{
	uint64_t a = align ? align : 4096, pos = (BASE_GPA + a - 1) & ~(a - 1);
	bool moved = true;

	while (moved) {
		moved = false;
		for (size_t i = 0; i < g->nr_grants; i++) {
			struct grant *x = &g->grants[i];

			if (pos < x->gpa + x->size && x->gpa < pos + size) {
				pos = (x->gpa + x->size + a - 1) & ~(a - 1);
				moved = true;
			}
		}
	}
	if (pos + size > BASE_GPA + G.mem || (limit && pos + size > limit))
		return false;
	*gpa = pos;
	return true;
}

static struct grant *add_grant(struct guest *g, uint64_t gpa, uint64_t size, uint64_t tag,
			       const char *label)
{
	struct grant *x = &g->grants[g->nr_grants++];

	*x = (struct grant){ .id = g->next_grant++, .gpa = gpa, .size = size, .tag = tag,
			     .claimed = G.claimed_by && !strncmp(label, "claim", 5) };
	snprintf(x->label, sizeof(x->label), "%s", label);
	return x;
}

/* The grant is made at once; the answer may be delayed (or lost with the channel). */
static struct grant *make_grant(struct guest *g, const struct vcma_reserve_h *r)
{
	struct grant *x = NULL;
	uint64_t gpa;

	g->reserves++;
	/* idempotency: a known tag returns the grant it already has */
	for (size_t i = 0; r->tag && i < g->nr_grants && !x; i++)
		if (g->grants[i].tag == r->tag)
			x = &g->grants[i];
	if (!x && g->nr_grants < MAX_GRANTS &&
	    place(g, r->size, r->align, G.evil == EVIL_IGNORE_LIMIT ? 0 : r->max_addr, &gpa))
		x = add_grant(g, gpa, r->size, r->tag, r->label);
	return x;
}

static void answer_reserve(struct guest *g, uint64_t req_id, const struct vcma_reserve_h *r)
{
	struct vcma_msg m;
	struct grant *x = NULL;

	for (size_t i = 0; r->tag && i < g->nr_grants && !x; i++)
		if (g->grants[i].tag == r->tag)
			x = &g->grants[i];
	vcma_msg_init(&m, VCMA_MSG_RESERVE_RESULT, req_id);
	m.u.reserve_result.tag = r->tag;
	if (!x) {
		uint64_t gpa;

		m.u.reserve_result.status = VCMA_E_NOSPC;
		m.u.reserve_result.ev.cause = r->max_addr && place(g, r->size, r->align, 0, &gpa)
					      ? VCMA_CAUSE_ADDR_LIMIT : VCMA_CAUSE_NO_RANGE;
	} else {
		m.u.reserve_result.grant_id = x->id;
		m.u.reserve_result.gpa = G.evil == EVIL_BAD_GPA ? x->gpa + BASE_GPA * 64 : x->gpa;
		m.u.reserve_result.size = x->size;
		m.u.reserve_result.ev.ranges_scanned = 1;
		m.u.reserve_result.ev.ranges_tried = 1;
		m.u.reserve_result.ev.elapsed_us = 10;
	}
	send_msg(g, &m);
}

static void answer_release(struct guest *g, uint64_t req_id, uint64_t grant_id)
{
	struct vcma_msg m;

	g->releases++;
	vcma_msg_init(&m, VCMA_MSG_RELEASE_RESULT, req_id);
	m.u.release_result.grant_id = grant_id;
	m.u.release_result.status = VCMA_E_NOENT;
	for (size_t i = 0; i < g->nr_grants; i++) {
		if (g->grants[i].id != grant_id)
			continue;
		if (g->grants[i].claimed && host_reads_claims(g)) {
			m.u.release_result.status = VCMA_E_CLAIMED;
			snprintf(m.u.release_result.holder, sizeof(m.u.release_result.holder), "%s",
				 G.claimed_by);
		} else if (g->grants[i].claimed) {
			m.u.release_result.status = VCMA_E_BUSY;
		} else {
			g->grants[i] = g->grants[--g->nr_grants];
			m.u.release_result.status = VCMA_OK;
		}
		break;
	}
	send_msg(g, &m);
}

static void answer_status(struct guest *g, uint64_t req_id)
{
	struct vcma_msg *m = calloc(1, sizeof(*m));
	size_t sent = 0;

	do {
		size_t chunk = g->nr_grants - sent;

		if (chunk > VCMA_MAX_GRANTS_FRAME)
			chunk = VCMA_MAX_GRANTS_FRAME;
		vcma_msg_init(m, VCMA_MSG_STATUS_RESULT, req_id);
		m->u.status_result.mem_total = G.mem;
		m->u.status_result.mem_free = G.mem / 2;
		m->u.status_result.mem_available = G.mem / 2;
		memcpy(m->u.status_result.boot_id, g->boot_id, 16);
		m->u.status_result.holders = host_reads_claims(g);
		m->u.status_result.nr_grants = (uint32_t)chunk;
		for (size_t i = 0; i < chunk; i++) {
			const struct grant *x = &g->grants[sent + i];
			struct vcma_grant_info_h *gi = &m->u.status_result.grants[i];

			gi->grant_id = x->id;
			gi->gpa = x->gpa;
			gi->size = x->size;
			gi->tag = x->tag;
			snprintf(gi->label, sizeof(gi->label), "%s", x->label);
			if (x->claimed && m->u.status_result.holders) {
				gi->flags = VCMA_GRANT_F_CLAIMED;
				snprintf(gi->holder, sizeof(gi->holder), "%s", G.claimed_by);
			}
			m->u.status_result.grant_bytes += x->size;
		}
		sent += chunk;
		if (sent < g->nr_grants)
			m->flags |= VCMA_HDR_F_MORE;
		send_msg(g, m);
	} while (sent < g->nr_grants);
	free(m);
}

/*
 * A sample whose counters a test can predict: memory from --mem, the fault
 * counters count the samples answered (so polling shows), hugetlb unknown.
 * Without --stats the answer is what an agent without bit 7 says.
 */
static void answer_bstats(struct guest *g, uint64_t req_id)
{
	struct vcma_msg m;
	struct vcma_balloon_stats_result_h *s = &m.u.balloon_stats_result;

	if (!G.stats) {
		vcma_msg_init(&m, VCMA_MSG_ERROR, req_id);
		m.u.error.status = VCMA_E_UNSUPPORTED;
		m.u.error.ref_type = VCMA_MSG_BALLOON_STATS;
		snprintf(m.u.error.message, sizeof(m.u.error.message), "no balloon statistics");
		send_msg(g, &m);
		return;
	}
	g->stats_answered++;
	vcma_msg_init(&m, VCMA_MSG_BALLOON_STATS_RESULT, req_id);
	s->valid = VCMA_BST_KNOWN & ~(VCMA_BST_HUGETLB_ALLOCS | VCMA_BST_HUGETLB_FAILURES);
	s->mem_total = G.mem;
	s->mem_free = G.mem / 2;
	s->mem_available = G.mem / 4 * 3;
	s->disk_caches = G.mem / 8;
	s->swap_in = 4096;
	s->swap_out = 8192;
	s->major_faults = g->stats_answered;
	s->minor_faults = 1000 + g->stats_answered;
	s->oom_kills = 1;
	s->pressure_deflated = 0;
	s->pressure_events = 0;
	s->chunk_order = 9;
	s->nr_nodes = 2;
	send_msg(g, &m);
}

static void drop_conn(struct guest *g)
{
	if (g->bev) {
		bufferevent_free(g->bev);
		g->bev = NULL;
	}
	vcma_reasm_free(g->reasm);
	g->reasm = NULL;
}

/* Misbehave once per session, after the session is established. */
static void do_evil(struct guest *g)
{
	uint8_t buf[4096];
	struct vcma_msg m;
	int n;

	g->evil_done = true;
	switch (G.evil) {
	case EVIL_OVERSIZED:
		vcma_msg_init(&m, VCMA_MSG_PING, 77);
		n = vcma_encode(&m, buf, sizeof(buf));
		buf[8] = 0; buf[9] = 0; buf[10] = 0x10; buf[11] = 0;	/* payload_len = 1 MiB */
		for (int k = 0; k < 16; k++) {
			send_raw(g, buf, (size_t)n);
			memset(buf + n, 0xab, sizeof(buf) - (size_t)n);
			send_raw(g, buf + n, sizeof(buf) - (size_t)n);
		}
		break;
	case EVIL_COUNT: {
		struct vcma_msg *s = calloc(1, sizeof(*s));

		vcma_msg_init(s, VCMA_MSG_STATUS_RESULT, 99);
		s->u.status_result.nr_grants = 1;
		s->u.status_result.grants[0] = (struct vcma_grant_info_h){ 1, BASE_GPA, 4096, 0, "", 0, "" };
		n = vcma_encode(s, buf, sizeof(buf));
		free(s);
		/* nr_grants (fixed part offset 60) claims 200 entries, the payload holds one */
		buf[24 + 60] = 200;
		for (int k = 0; k < 20; k++)
			send_raw(g, buf, (size_t)n);
		break;
	}
	case EVIL_UNKNOWN_TYPE:
		vcma_msg_init(&m, VCMA_MSG_PING, 5);
		n = vcma_encode(&m, buf, sizeof(buf));
		buf[5] = 99;
		for (int k = 0; k < 20; k++)
			send_raw(g, buf, (size_t)n);
		break;
	case EVIL_BOGUS_GRANT:
		for (int k = 0; k < 20; k++) {
			vcma_msg_init(&m, VCMA_MSG_RESERVE_RESULT, 1000000 + (uint64_t)k);
			m.u.reserve_result.grant_id = 4242 + (uint64_t)k;
			m.u.reserve_result.gpa = BASE_GPA;
			m.u.reserve_result.size = 1 << 21;
			m.u.reserve_result.tag = 1;
			send_msg(g, &m);
		}
		break;
	case EVIL_FLOOD:
		vcma_msg_init(&m, VCMA_MSG_EVENT, 0);
		m.u.event.kind = VCMA_EV_FLOOR_HIT;
		n = vcma_encode(&m, buf, sizeof(buf));
		for (int k = 0; k < 200000; k++)
			send_raw(g, buf, (size_t)n);
		break;
	case EVIL_PARTIAL:
		vcma_msg_init(&m, VCMA_MSG_PING, 5);
		n = vcma_encode(&m, buf, sizeof(buf));
		send_raw(g, buf, 10);
		g->dead = true;	/* silence: not even a PONG may follow */
		break;
	case EVIL_MIDFRAME:
		vcma_msg_init(&m, VCMA_MSG_PING, 5);
		n = vcma_encode(&m, buf, sizeof(buf));
		send_raw(g, buf, 10);
		/* push everything into the socket before the close, as a dying peer would */
		{
			/* the output buffer's front is frozen for users: copy it out */
			struct evbuffer *out = bufferevent_get_output(g->bev);
			size_t len = evbuffer_get_length(out);
			const uint8_t *p = evbuffer_pullup(out, -1);

			if (write(bufferevent_getfd(g->bev), p, len) != (ssize_t)len)
				fprintf(stderr, "fakeguest: short write before close\n");
		}
		drop_conn(g);
		break;
	case EVIL_GARBAGE:
		for (size_t k = 0; k < sizeof(buf); k++)
			buf[k] = (uint8_t)random();
		for (int k = 0; k < 32; k++)
			send_raw(g, buf, sizeof(buf));
		break;
	case EVIL_DEAD:
		g->dead = true;
		break;
	case EVIL_PONG_FLOOD:
		/* well-formed frames, each a violation (a PONG answering no PING): a log flood */
		for (int k = 0; k < 20000; k++) {
			vcma_msg_init(&m, VCMA_MSG_PONG, 0xdead0000ull + (uint64_t)k);
			send_msg(g, &m);
		}
		break;
	default:
		break;
	}
}

struct delayed {
	struct guest *g;
	uint64_t id;
	bool release;		/* a RELEASE of grant_id, else the RESERVE r */
	uint64_t grant_id;
	struct vcma_reserve_h r;
	struct event *ev;
	uint64_t session;
};

static void delayed_cb(evutil_socket_t fd, short what, void *arg)
{
	struct delayed *d = arg;

	(void)fd;
	(void)what;
	/* an answer for a channel that dropped meanwhile is lost, as on a real port */
	if (d->g->bev && d->g->session == d->session && d->release)
		answer_release(d->g, d->id, d->grant_id);
	else if (d->g->bev && d->g->session == d->session)
		answer_reserve(d->g, d->id, &d->r);
	event_free(d->ev);
	free(d);
}

static void handle(struct guest *g, const struct vcma_msg *m)
{
	if (g->dead)
		return;
	switch (m->type) {
	case VCMA_MSG_HELLO:
		/* we said HELLO on connect; the agent answers a host HELLO under its id */
		g->host_caps = m->u.hello.caps;
		send_hello(g, m->id, G.evil == EVIL_ABSURD_HELLO);
		break;
	case VCMA_MSG_PING:
		vcma_msg_init(G.msg, VCMA_MSG_PONG, m->id);
		send_msg(g, G.msg);
		break;
	case VCMA_MSG_BALLOON_STATS:
		answer_bstats(g, m->id);
		break;
	case VCMA_MSG_STATUS:
		answer_status(g, m->id);
		g->synced = true;
		if (G.evil != EVIL_NONE && !g->evil_done)
			do_evil(g);
		break;
	case VCMA_MSG_RESERVE:
		if (G.evil == EVIL_SILENT_RESERVE)
			break;
		/* A host must not send a limit to a guest that did not offer bit 6. */
		if (m->u.reserve.max_addr && !(our_caps() & VCMA_CAP_ADDR_LIMIT)) {
			vcma_msg_init(G.msg, VCMA_MSG_ERROR, m->id);
			G.msg->u.error.status = VCMA_E_PROTO;
			G.msg->u.error.ref_type = VCMA_MSG_RESERVE;
			snprintf(G.msg->u.error.message, sizeof(G.msg->u.error.message),
				 "max_addr without capability bit 6");
			send_msg(g, G.msg);
			break;
		}
		make_grant(g, &m->u.reserve);
		if (G.delay_ms) {
			struct delayed *d = calloc(1, sizeof(*d));
			struct timeval tv = { G.delay_ms / 1000, (G.delay_ms % 1000) * 1000 };

			d->g = g;
			d->id = m->id;
			d->r = m->u.reserve;
			d->session = g->session;
			d->ev = evtimer_new(G.base, delayed_cb, d);
			evtimer_add(d->ev, &tv);
			break;
		}
		answer_reserve(g, m->id, &m->u.reserve);
		break;
	case VCMA_MSG_RELEASE:
		if (G.release_delay_ms) {
			struct delayed *d = calloc(1, sizeof(*d));
			struct timeval tv = { G.release_delay_ms / 1000,
					      (G.release_delay_ms % 1000) * 1000 };

			*d = (struct delayed){ .g = g, .id = m->id, .release = true,
					       .grant_id = m->u.release.grant_id,
					       .session = g->session };
			d->ev = evtimer_new(G.base, delayed_cb, d);
			evtimer_add(d->ev, &tv);
			break;
		}
		answer_release(g, m->id, m->u.release.grant_id);
		break;
	default:
		break;
	}
}

static void on_read(struct bufferevent *bev, void *arg)
{
	struct guest *g = arg;
	struct evbuffer *in = bufferevent_get_input(bev);
	uint8_t buf[8192];
	int n, rc;

	while (g->bev && (n = evbuffer_remove(in, buf, sizeof(buf))) > 0) {
		if (vcma_reasm_feed(g->reasm, buf, (size_t)n)) {
			fprintf(stderr, "fakeguest: %s: reassembly overflow\n", g->path);
			drop_conn(g);
			return;
		}
		while (g->bev && (rc = vcma_reasm_next(g->reasm, G.msg)) != 0) {
			if (rc > 0)
				handle(g, G.msg);
		}
	}
}

static void on_event(struct bufferevent *bev, short what, void *arg)
{
	(void)bev;
	if (what & (BEV_EVENT_EOF | BEV_EVENT_ERROR))
		drop_conn(arg);
}

static void on_accept(struct evconnlistener *l, evutil_socket_t fd, struct sockaddr *sa,
		      int len, void *arg)
{
	struct guest *g = arg;

	(void)l;
	(void)sa;
	(void)len;
	if (g->bev) {	/* one host at a time, like a chardev */
		close(fd);
		return;
	}
	g->bev = bufferevent_socket_new(G.base, fd, BEV_OPT_CLOSE_ON_FREE);
	g->reasm = vcma_reasm_new(4 * (VCMA_MAX_PAYLOAD + 24));
	g->synced = g->evil_done = g->dead = false;
	g->host_caps = 0;
	g->session++;
	bufferevent_setcb(g->bev, on_read, NULL, on_event, g);
	bufferevent_enable(g->bev, EV_READ | EV_WRITE);
	send_hello(g, 0, G.evil == EVIL_ABSURD_HELLO);
}

static void on_signal(evutil_socket_t sig, short what, void *arg)
{
	(void)what;
	(void)arg;
	if (sig == SIGTERM || sig == SIGINT) {
		event_base_loopexit(G.base, NULL);
		return;
	}
	for (size_t i = 0; i < G.n; i++) {
		struct guest *g = &G.g[i];

		if (sig == SIGHUP) {
			for (size_t k = 0; k < g->nr_grants; k++)
				g->grants[k].claimed = false;
			continue;
		}
		if (sig == SIGUSR1) {
			g->nr_grants = 0;
			new_boot_id(g);
		}
		drop_conn(g);
	}
}

static int listen_on(struct guest *g)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };

	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", g->path);
	unlink(g->path);
	g->lis = evconnlistener_new_bind(G.base, on_accept, g,
					 LEV_OPT_CLOSE_ON_FREE | LEV_OPT_CLOSE_ON_EXEC, 16,
					 (struct sockaddr *)&sa, sizeof(sa));
	if (!g->lis) {
		fprintf(stderr, "fakeguest: cannot listen on %s: %s\n", g->path, strerror(errno));
		return -1;
	}
	return 0;
}

static void usage(FILE *f)
{
	fprintf(f, "Usage: fakeguest (--listen PATH ... | --dir DIR --count N [--prefix P])\n"
		   "                 [--mem SIZE_MB] [--delay-ms N] [--foreign N] [--no-status]\n"
		   "                 [--claimed OWNER] [--release-delay-ms N] [--stats]\n"
		   "                 [--evil MODE]\n"
		   "  MODE: ");
	for (size_t i = 0; i < sizeof(evil_names) / sizeof(evil_names[0]); i++)
		fprintf(f, "%s%s", i ? ", " : "", evil_names[i]);
	fprintf(f, "\n--claimed OWNER: grants labelled claim* are held by OWNER until SIGHUP.\n"
		   "--addr-limit: offer capability bit 6 and honour RESERVE max_addr.\n"
		   "--stats: offer balloon statistics (capability bit 7).\n"
		   "SIGUSR1 reboots every guest, SIGUSR2 restarts their agents.\n");
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "listen", required_argument, NULL, 'l' },
		{ "dir", required_argument, NULL, 'd' },
		{ "count", required_argument, NULL, 'n' },
		{ "prefix", required_argument, NULL, 'p' },
		{ "mem", required_argument, NULL, 'm' },
		{ "delay-ms", required_argument, NULL, 'D' },
		{ "foreign", required_argument, NULL, 'f' },
		{ "evil", required_argument, NULL, 'e' },
		{ "no-status", no_argument, NULL, 'S' },
		{ "claimed", required_argument, NULL, 'c' },
		{ "release-delay-ms", required_argument, NULL, 'R' },
		{ "addr-limit", no_argument, NULL, 'A' },
		{ "stats", no_argument, NULL, 's' },
		{ "help", no_argument, NULL, 'h' },
		{ 0 },
	};
	const char *dir = NULL, *prefix = "vm";
	char **paths = calloc((size_t)argc, sizeof(char *));
	size_t npaths = 0, count = 0;
	int o, status = 1;
	struct event *sigs[5];
	const int signums[5] = { SIGTERM, SIGINT, SIGUSR1, SIGUSR2, SIGHUP };

	G.mem = 1ull << 30;
	srandom((unsigned int)getpid());
	while ((o = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		switch (o) {
		case 'l': paths[npaths++] = optarg; break;
		case 'd': dir = optarg; break;
		case 'n': count = strtoul(optarg, NULL, 10); break;
		case 'p': prefix = optarg; break;
		case 'm': G.mem = strtoull(optarg, NULL, 10) << 20; break;
		case 'D': G.delay_ms = (unsigned int)strtoul(optarg, NULL, 10); break;
		case 'f': G.foreign = (unsigned int)strtoul(optarg, NULL, 10); break;
		case 'e':
			G.evil = EVIL_NONE;
			for (size_t i = 0; i < sizeof(evil_names) / sizeof(evil_names[0]); i++)
				if (!strcmp(optarg, evil_names[i]))
					G.evil = (enum evil)i;
			if (G.evil == EVIL_NONE && strcmp(optarg, "none")) {
				usage(stderr);
				return 2;
			}
			break;
		case 'S': G.no_status = true; break;
		case 'c': G.claimed_by = optarg; break;
		case 'R': G.release_delay_ms = (unsigned int)strtoul(optarg, NULL, 10); break;
		case 'A': G.addr_limit = true; break;
		case 's': G.stats = true; break;
		case 'h': usage(stdout); return 0;
		default: usage(stderr); return 2;
		}
	}
	G.n = npaths + (dir ? count : 0);
	if (!G.n || !G.mem) {
		usage(stderr);
		return 2;
	}
	signal(SIGPIPE, SIG_IGN);
	G.base = event_base_new();
	G.g = calloc(G.n, sizeof(*G.g));
	G.msg = malloc(sizeof(*G.msg));
	for (size_t i = 0; i < G.n; i++) {
		struct guest *g = &G.g[i];

		if (i < npaths)
			snprintf(g->path, sizeof(g->path), "%s", paths[i]);
		else
			snprintf(g->path, sizeof(g->path), "%s/%s%zu.sock", dir, prefix, i - npaths);
		g->grants = calloc(MAX_GRANTS, sizeof(*g->grants));
		g->next_grant = 1;
		new_boot_id(g);
		for (unsigned int k = 0; k < G.foreign; k++) {
			uint64_t gpa;

			if (place(g, 1 << 21, 1 << 21, 0, &gpa))
				add_grant(g, gpa, 1 << 21, 0, "guest-own");
		}
		if (listen_on(g))
			goto out;
	}
	for (int i = 0; i < 5; i++) {
		sigs[i] = evsignal_new(G.base, signums[i], on_signal, NULL);
		event_add(sigs[i], NULL);
	}
	printf("fakeguest: serving %zu channels\n", G.n);
	fflush(stdout);
	event_base_dispatch(G.base);
	for (int i = 0; i < 5; i++)
		event_free(sigs[i]);
	status = 0;
out:
	for (size_t i = 0; i < G.n; i++) {
		drop_conn(&G.g[i]);
		if (G.g[i].lis) {
			evconnlistener_free(G.g[i].lis);
			unlink(G.g[i].path);
		}
		free(G.g[i].grants);
	}
	free(G.g);
	free(G.msg);
	free(paths);
	event_base_free(G.base);
	return status;
}
