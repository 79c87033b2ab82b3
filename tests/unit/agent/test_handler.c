// SPDX-License-Identifier: MIT
/*
 * Unit tests of the agent's request handler against the sim backend (the
 * real mm core on the mm model): decoded frame in, encoded frames out,
 * decoded again here with the codec so the bytes are checked too.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "agent_util.h"
#include "backend.h"
#include "handler.h"

#define SIM_MEM		(256ull << 20)
#define MAX_FRAMES	8

struct fixture {
	struct agent_backend be;
	struct agent_handler *h;
	struct agent_out out;
	struct vcma_msg *req;
	struct vcma_msg *rep[MAX_FRAMES];
	unsigned int nrep;
	uint64_t next_id;
};

static const uint8_t boot_id[16] = { 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16 };

static int setup(void **state)
{
	struct agent_sim_opts o = { .mem_bytes = SIM_MEM, .seed = 7, .boot_id = boot_id };
	struct fixture *f = calloc(1, sizeof(*f));
	unsigned int i;

	if (!f || agent_backend_sim_new(&o, &f->be))
		return -1;
	f->h = agent_handler_new(&f->be, "vcma-agent test");
	f->req = malloc(sizeof(*f->req));
	for (i = 0; i < MAX_FRAMES; i++)
		f->rep[i] = malloc(sizeof(*f->rep[i]));
	f->next_id = 1;
	*state = f;
	return f->h && f->req ? 0 : -1;
}

static int teardown(void **state)
{
	struct fixture *f = *state;
	unsigned int i;

	agent_handler_free(f->h);
	agent_backend_free(&f->be);
	agent_out_free(&f->out);
	free(f->req);
	for (i = 0; i < MAX_FRAMES; i++)
		free(f->rep[i]);
	free(f);
	return 0;
}

/* Decode everything in f->out into f->rep[]; the handler must emit valid frames. */
static unsigned int decode_out(struct fixture *f)
{
	size_t off = 0;

	f->nrep = 0;
	while (off < f->out.len) {
		int n;

		assert_true(f->nrep < MAX_FRAMES);
		n = vcma_decode(f->out.buf + off, f->out.len - off, f->rep[f->nrep]);
		assert_true(n > 0);
		off += (size_t)n;
		f->nrep++;
	}
	f->out.len = 0;
	return f->nrep;
}

static unsigned int handle(struct fixture *f)
{
	assert_int_equal(agent_handler_handle(f->h, f->req, &f->out), 0);
	return decode_out(f);
}

static struct vcma_msg *new_req(struct fixture *f, uint8_t type)
{
	vcma_msg_init(f->req, type, f->next_id++);
	return f->req;
}

static struct vcma_msg *reserve(struct fixture *f, uint64_t size, uint64_t align, uint64_t tag,
				const char *label)
{
	struct vcma_msg *m = new_req(f, VCMA_MSG_RESERVE);

	m->u.reserve.size = size;
	m->u.reserve.align = align;
	m->u.reserve.tag = tag;
	m->u.reserve.node = VCMA_NODE_ANY;
	snprintf(m->u.reserve.label, sizeof(m->u.reserve.label), "%s", label);
	assert_int_equal(handle(f), 1);
	assert_true(f->rep[0]->id == m->id);
	return f->rep[0];
}

static uint64_t reserve_ok(struct fixture *f, uint64_t size, uint64_t tag, const char *label)
{
	struct vcma_msg *r = reserve(f, size, 0, tag, label);

	assert_int_equal(r->type, VCMA_MSG_RESERVE_RESULT);
	if (r->u.reserve_result.status != VCMA_OK)
		fail_msg("reserve %llu: %s, cause %s", (unsigned long long)size,
			 vcma_status_name(r->u.reserve_result.status),
			 vcma_cause_name(r->u.reserve_result.ev.cause));
	assert_true(r->u.reserve_result.grant_id != 0);
	assert_true(r->u.reserve_result.size == size);
	assert_true(r->u.reserve_result.tag == tag);
	return r->u.reserve_result.grant_id;
}

static uint32_t release(struct fixture *f, uint64_t grant)
{
	struct vcma_msg *m = new_req(f, VCMA_MSG_RELEASE);

	m->u.release.grant_id = grant;
	assert_int_equal(handle(f), 1);
	assert_int_equal(f->rep[0]->type, VCMA_MSG_RELEASE_RESULT);
	assert_true(f->rep[0]->id == m->id);
	assert_true(f->rep[0]->u.release_result.grant_id == grant);
	return f->rep[0]->u.release_result.status;
}

static void expect_error(struct fixture *f, uint32_t status)
{
	uint64_t id = f->req->id;

	assert_int_equal(handle(f), 1);
	assert_int_equal(f->rep[0]->type, VCMA_MSG_ERROR);
	assert_true(f->rep[0]->id == id);
	assert_int_equal(f->rep[0]->u.error.ref_type, f->req->type);
	if (f->rep[0]->u.error.status != status)
		fail_msg("got %s (%s), want %s", vcma_status_name(f->rep[0]->u.error.status),
			 f->rep[0]->u.error.message, vcma_status_name(status));
	assert_true(f->rep[0]->u.error.message[0] != '\0');
}

static void test_hello(void **state)
{
	struct fixture *f = *state;
	struct vcma_hello_h *he;
	struct vcma_msg *m;
	uint32_t i;

	assert_int_equal(agent_handler_hello(f->h, 0, &f->out), 0);
	assert_int_equal(decode_out(f), 1);
	assert_int_equal(f->rep[0]->type, VCMA_MSG_HELLO);
	he = &f->rep[0]->u.hello;
	assert_int_equal(he->role, VCMA_ROLE_GUEST);
	assert_int_equal(he->page_size, 4096);
	assert_int_equal(he->pageblock_order, 9);
	assert_true(he->caps & VCMA_CAP_RESERVE);
	assert_true(he->caps & VCMA_CAP_STATUS);
	assert_memory_equal(he->boot_id, boot_id, 16);
	assert_true(he->mem_total > 0 && he->mem_total <= SIM_MEM);
	assert_true(he->mem_free <= he->mem_total);
	assert_true(he->nr_ranges > 0);
	for (i = 0; i < he->nr_ranges; i++)
		assert_true(he->ranges[i].size > 0 && he->ranges[i].zone <= VCMA_ZONE_MAX);
	assert_string_equal(he->software, "vcma-agent test");

	/* A host HELLO is answered with the guest HELLO under the host's id. */
	m = new_req(f, VCMA_MSG_HELLO);
	m->u.hello.role = VCMA_ROLE_HOST;
	m->u.hello.proto_min = 1;
	m->u.hello.proto_max = 3;
	assert_int_equal(handle(f), 1);
	assert_int_equal(f->rep[0]->type, VCMA_MSG_HELLO);
	assert_true(f->rep[0]->id == m->id);

	m = new_req(f, VCMA_MSG_HELLO);
	m->u.hello.role = VCMA_ROLE_HOST;
	m->u.hello.proto_min = 2;
	m->u.hello.proto_max = 5;
	expect_error(f, VCMA_E_UNSUPPORTED);

	m = new_req(f, VCMA_MSG_HELLO);
	m->u.hello.role = VCMA_ROLE_GUEST;
	m->u.hello.proto_min = 1;
	m->u.hello.proto_max = 1;
	expect_error(f, VCMA_E_PROTO);
}

static void test_reserve_status_release(void **state)
{
	struct fixture *f = *state;
	struct vcma_status_result_h *sr;
	struct vcma_msg *r;
	uint64_t a, b;

	a = reserve_ok(f, 16ull << 20, 11, "nic0");
	r = reserve(f, 2ull << 20, 4ull << 20, 12, "aligned");
	assert_int_equal(r->u.reserve_result.status, VCMA_OK);
	assert_true(r->u.reserve_result.gpa % (4ull << 20) == 0);
	b = r->u.reserve_result.grant_id;
	assert_true(a != b);

	new_req(f, VCMA_MSG_STATUS);
	assert_int_equal(handle(f), 1);
	assert_int_equal(f->rep[0]->type, VCMA_MSG_STATUS_RESULT);
	assert_false(f->rep[0]->flags & VCMA_HDR_F_MORE);
	sr = &f->rep[0]->u.status_result;
	assert_int_equal(sr->nr_grants, 2);
	assert_true(sr->grant_bytes == (18ull << 20));
	assert_true(sr->reserve_ok >= 2);
	assert_true(sr->mem_total > 0);
	assert_true(sr->floor_pages == (SIM_MEM >> 12) / 16);
	assert_memory_equal(sr->boot_id, boot_id, 16);
	assert_true(sr->grants[0].grant_id == a && sr->grants[0].tag == 11);
	assert_string_equal(sr->grants[0].label, "nic0");
	assert_true(sr->grants[1].grant_id == b && sr->grants[1].size == (2ull << 20));

	assert_int_equal(release(f, a), VCMA_OK);
	assert_int_equal(release(f, a), VCMA_E_NOENT);
	assert_int_equal(release(f, b), VCMA_OK);
	assert_int_equal(release(f, 999999), VCMA_E_NOENT);

	new_req(f, VCMA_MSG_STATUS);
	assert_int_equal(handle(f), 1);
	assert_int_equal(f->rep[0]->u.status_result.nr_grants, 0);
	assert_true(f->rep[0]->u.status_result.grant_bytes == 0);

	/* Larger than the guest: a failure with a cause, not a crash. */
	r = reserve(f, SIM_MEM * 4, 0, 13, "too big");
	assert_int_equal(r->type, VCMA_MSG_RESERVE_RESULT);
	assert_int_not_equal(r->u.reserve_result.status, VCMA_OK);
	assert_true(r->u.reserve_result.grant_id == 0);
	assert_true(r->u.reserve_result.status == VCMA_E_INVAL ||
		    r->u.reserve_result.ev.cause != VCMA_CAUSE_NONE);
}

static struct vcma_msg *reserve_below(struct fixture *f, uint64_t size, uint64_t max_addr,
				      uint64_t tag)
{
	struct vcma_msg *m = new_req(f, VCMA_MSG_RESERVE);

	m->u.reserve.size = size;
	m->u.reserve.tag = tag;
	m->u.reserve.node = VCMA_NODE_ANY;
	m->u.reserve.max_addr = max_addr;
	snprintf(m->u.reserve.label, sizeof(m->u.reserve.label), "edu0");
	assert_int_equal(handle(f), 1);
	assert_true(f->rep[0]->id == m->id);
	return f->rep[0];
}

/* A RESERVE's max_addr reaches the core; what it cannot meet fails with cause addr_limit. */
static void test_reserve_below(void **state)
{
	struct fixture *f = *state;
	struct vcma_reserve_result_h *rr;
	struct vcma_msg *r;
	uint64_t gpa, id;

	assert_int_equal(agent_handler_hello(f->h, 1, &f->out), 0);
	assert_int_equal(decode_out(f), 1);
	assert_true(f->rep[0]->u.hello.caps & VCMA_CAP_ADDR_LIMIT);

	/* Without a limit the planner prefers ZONE_MOVABLE, high up. */
	r = reserve_below(f, 8ull << 20, 64ull << 20, 21);
	rr = &r->u.reserve_result;
	assert_int_equal(r->type, VCMA_MSG_RESERVE_RESULT);
	assert_int_equal(rr->status, VCMA_OK);
	assert_true(rr->gpa + rr->size <= (64ull << 20));
	gpa = rr->gpa;
	id = rr->grant_id;

	/* The tag's grant again, as long as it lies below the limit asked for. */
	r = reserve_below(f, 8ull << 20, 64ull << 20, 21);
	assert_int_equal(r->u.reserve_result.status, VCMA_OK);
	assert_true(r->u.reserve_result.grant_id == id && r->u.reserve_result.gpa == gpa);
	r = reserve_below(f, 8ull << 20, (gpa + (8ull << 20)) - 4096, 21);
	assert_int_equal(r->type, VCMA_MSG_ERROR);
	assert_int_equal(r->u.error.status, VCMA_E_INVAL);

	/* [0, 16 MiB) is the only 16 MiB window below 16 MiB and page 0 is never free. */
	r = reserve_below(f, 16ull << 20, 16ull << 20, 22);
	rr = &r->u.reserve_result;
	assert_int_equal(r->type, VCMA_MSG_RESERVE_RESULT);
	if (rr->status != VCMA_E_NOSPC || rr->ev.cause != VCMA_CAUSE_ADDR_LIMIT)
		fail_msg("16M below 16M: %s, cause %s", vcma_status_name(rr->status),
			 vcma_cause_name(rr->ev.cause));
	assert_true(rr->grant_id == 0);
	assert_int_equal(rr->ev.ranges_tried, 0);

	/* Below the size or not page aligned: refused before the backend sees it. */
	r = reserve_below(f, 16ull << 20, 8ull << 20, 23);
	assert_int_equal(r->type, VCMA_MSG_ERROR);
	assert_int_equal(r->u.error.status, VCMA_E_INVAL);
	r = reserve_below(f, 16ull << 20, (64ull << 20) + 512, 24);
	assert_int_equal(r->type, VCMA_MSG_ERROR);
	assert_int_equal(r->u.error.status, VCMA_E_INVAL);
	assert_int_equal(release(f, id), VCMA_OK);
}

/* A backend that cannot carry a limit refuses it: never a grant that ignores it. */
static void test_reserve_below_unsupported(void **state)
{
	struct fixture *f = *state;
	struct vcma_msg *r;

	f->be.caps &= ~VCMA_CAP_ADDR_LIMIT;
	assert_int_equal(agent_handler_hello(f->h, 1, &f->out), 0);
	assert_int_equal(decode_out(f), 1);
	assert_false(f->rep[0]->u.hello.caps & VCMA_CAP_ADDR_LIMIT);
	r = reserve_below(f, 8ull << 20, 64ull << 20, 31);
	assert_int_equal(r->type, VCMA_MSG_ERROR);
	assert_int_equal(r->u.error.status, VCMA_E_UNSUPPORTED);
	new_req(f, VCMA_MSG_STATUS);
	assert_int_equal(handle(f), 1);
	assert_int_equal(f->rep[0]->u.status_result.nr_grants, 0);
	/* Without a limit the same backend still reserves. */
	reserve_ok(f, 8ull << 20, 32, "plain");
}

static void test_idempotent_tag(void **state)
{
	struct fixture *f = *state;
	struct vcma_msg *r;
	uint64_t a, b, c, d;

	a = reserve_ok(f, 4ull << 20, 77, "once");
	b = reserve_ok(f, 4ull << 20, 77, "once");
	assert_true(a == b);
	/* The retry did not touch memory: zero evidence. */
	assert_int_equal(f->rep[0]->u.reserve_result.ev.pages_migrated, 0);
	assert_int_equal(f->rep[0]->u.reserve_result.ev.ranges_tried, 0);
	/* Same tag, larger size: refused, the grant stays. */
	r = reserve(f, 8ull << 20, 0, 77, "once");
	assert_int_equal(r->type, VCMA_MSG_ERROR);
	assert_int_equal(r->u.error.status, VCMA_E_INVAL);
	/* Tag 0 means "no idempotency": two grants. */
	c = reserve_ok(f, 4ull << 20, 0, "anon");
	d = reserve_ok(f, 4ull << 20, 0, "anon");
	assert_true(c != d);
	assert_int_equal(release(f, a), VCMA_OK);
	assert_int_equal(release(f, c), VCMA_OK);
	assert_int_equal(release(f, d), VCMA_OK);
	/* After release the tag is free again: a new grant. */
	b = reserve_ok(f, 4ull << 20, 77, "again");
	assert_true(b != a);
	assert_int_equal(release(f, b), VCMA_OK);
}

/* More grants than one STATUS_RESULT frame holds: split, chained with MORE. */
static void test_status_split(void **state)
{
	struct fixture *f = *state;
	const uint32_t n = VCMA_MAX_GRANTS_FRAME + 44;
	uint64_t *ids = calloc(n, sizeof(*ids));
	uint32_t i, seen = 0, frame;
	uint64_t status_id;

	assert_non_null(ids);
	for (i = 0; i < n; i++)
		ids[i] = reserve_ok(f, 4096, 5000 + i, "small");

	status_id = new_req(f, VCMA_MSG_STATUS)->id;
	assert_int_equal(handle(f), 2);
	for (frame = 0; frame < 2; frame++) {
		struct vcma_msg *m = f->rep[frame];

		assert_int_equal(m->type, VCMA_MSG_STATUS_RESULT);
		assert_true(m->id == status_id);
		assert_int_equal(!!(m->flags & VCMA_HDR_F_MORE), frame == 0);
		assert_int_equal(m->u.status_result.nr_grants,
				 frame == 0 ? VCMA_MAX_GRANTS_FRAME : 44);
		assert_true(m->u.status_result.grant_bytes == (uint64_t)n * 4096);
		for (i = 0; i < m->u.status_result.nr_grants; i++, seen++) {
			assert_true(m->u.status_result.grants[i].grant_id == ids[seen]);
			assert_true(m->u.status_result.grants[i].tag == 5000 + seen);
		}
	}
	assert_int_equal(seen, n);
	for (i = 0; i < n; i++)
		assert_int_equal(release(f, ids[i]), VCMA_OK);
	free(ids);
}

static void test_invalid_requests(void **state)
{
	struct fixture *f = *state;
	static const uint8_t guest_only[] = {
		VCMA_MSG_RESERVE_RESULT, VCMA_MSG_RELEASE_RESULT, VCMA_MSG_STATUS_RESULT,
		VCMA_MSG_BALLOON_REPORT, VCMA_MSG_EVENT,
	};
	struct vcma_msg *m;
	unsigned int i;

	m = new_req(f, VCMA_MSG_RESERVE);
	m->u.reserve.size = 0;
	expect_error(f, VCMA_E_INVAL);
	m = new_req(f, VCMA_MSG_RESERVE);
	m->u.reserve.size = 4097;
	expect_error(f, VCMA_E_INVAL);
	m = new_req(f, VCMA_MSG_RESERVE);
	m->u.reserve.size = 8192;
	m->u.reserve.align = 12288;
	expect_error(f, VCMA_E_INVAL);
	m = new_req(f, VCMA_MSG_RESERVE);
	m->u.reserve.size = 8192;
	m->u.reserve.align = 1024;
	expect_error(f, VCMA_E_INVAL);
	m = new_req(f, VCMA_MSG_RESERVE);
	m->u.reserve.size = 8192;
	memset(m->u.reserve.label, 'x', VCMA_NAME_LEN);
	expect_error(f, VCMA_E_INVAL);

	for (i = 0; i < sizeof(guest_only); i++) {
		new_req(f, guest_only[i]);
		expect_error(f, VCMA_E_PROTO);
	}
	/* An ERROR from the host is never answered (no error ping-pong). */
	m = new_req(f, VCMA_MSG_ERROR);
	m->u.error.status = VCMA_E_PROTO;
	snprintf(m->u.error.message, sizeof(m->u.error.message), "test");
	assert_int_equal(handle(f), 0);

	m = new_req(f, VCMA_MSG_PING);
	assert_int_equal(handle(f), 1);
	assert_int_equal(f->rep[0]->type, VCMA_MSG_PONG);
	assert_true(f->rep[0]->id == m->id);
	assert_true(agent_handler_answers_inline(VCMA_MSG_PING));
	assert_false(agent_handler_answers_inline(VCMA_MSG_RESERVE));

	/* Nothing above created a grant. */
	new_req(f, VCMA_MSG_STATUS);
	assert_int_equal(handle(f), 1);
	assert_int_equal(f->rep[0]->u.status_result.nr_grants, 0);
}

/* The simulated workload runs between requests; grants survive it. */
static void test_tick_keeps_grants(void **state)
{
	struct fixture *f = *state;
	uint64_t a;
	int i;

	a = reserve_ok(f, 8ull << 20, 900, "tick");
	for (i = 0; i < 5; i++)
		f->be.ops->tick(f->be.priv);
	new_req(f, VCMA_MSG_STATUS);
	assert_int_equal(handle(f), 1);
	assert_int_equal(f->rep[0]->u.status_result.nr_grants, 1);
	assert_true(f->rep[0]->u.status_result.grants[0].grant_id == a);
	assert_int_equal(release(f, a), VCMA_OK);
}

/*
 * A backend whose one grant a "driver" holds: the sim backend underneath,
 * with release refusing that grant (EBUSY, as vcma.ko does) and holders
 * reporting it the way the dev backend reads grants/<id>/holders.
 */
static uint64_t held_grant;
static const struct agent_backend_ops *sim_ops;

static int held_release(void *priv, uint64_t grant_id)
{
	return grant_id == held_grant ? -EBUSY : sim_ops->release(priv, grant_id);
}

static int held_holders(void *priv, uint64_t grant_id, uint32_t *flags, char *holder,
			size_t len)
{
	(void)priv;
	agent_parse_holders(grant_id == held_grant ? "claim edu-0000:00:03.0\nmmap 1\n" : "",
			    flags, holder, len);
	return 0;
}

static void host_hello(struct fixture *f, uint64_t caps)
{
	struct vcma_msg *m = new_req(f, VCMA_MSG_HELLO);

	m->u.hello.role = VCMA_ROLE_HOST;
	m->u.hello.proto_min = 1;
	m->u.hello.proto_max = 1;
	m->u.hello.caps = caps;
	assert_int_equal(handle(f), 1);
	assert_int_equal(f->rep[0]->type, VCMA_MSG_HELLO);
}

static void test_claimed_release(void **state)
{
	struct fixture *f = *state;
	static struct agent_backend_ops ops;
	const struct vcma_status_result_h *sr;
	uint64_t a, b;

	sim_ops = f->be.ops;
	ops = *sim_ops;
	ops.release = held_release;
	ops.holders = held_holders;
	f->be.ops = &ops;
	f->be.caps |= VCMA_CAP_ADDR_LIMIT;
	a = reserve_ok(f, 4ull << 20, 21, "edu0");
	b = reserve_ok(f, 2ull << 20, 22, "free");
	held_grant = a;

	/* A host without bit 6 gets the old answer and the old entries. */
	host_hello(f, VCMA_CAP_RESERVE | VCMA_CAP_STATUS);
	assert_int_equal(release(f, a), VCMA_E_BUSY);
	assert_string_equal(f->rep[0]->u.release_result.holder, "");
	new_req(f, VCMA_MSG_STATUS);
	assert_int_equal(handle(f), 1);
	assert_int_equal(f->rep[0]->u.status_result.holders, 0);
	assert_int_equal(f->rep[0]->u.status_result.grants[0].flags, 0);

	/* With bit 6: E_CLAIMED naming the claim's owner, and flags per grant. */
	host_hello(f, VCMA_CAP_RESERVE | VCMA_CAP_STATUS | VCMA_CAP_ADDR_LIMIT);
	assert_int_equal(release(f, a), VCMA_E_CLAIMED);
	assert_string_equal(f->rep[0]->u.release_result.holder, "edu-0000:00:03.0");
	new_req(f, VCMA_MSG_STATUS);
	assert_int_equal(handle(f), 1);
	sr = &f->rep[0]->u.status_result;
	assert_int_equal(sr->holders, 1);
	assert_int_equal(sr->nr_grants, 2);
	assert_true(sr->grants[0].grant_id == a);
	assert_int_equal(sr->grants[0].flags, VCMA_GRANT_F_CLAIMED | VCMA_GRANT_F_MAPPED);
	assert_string_equal(sr->grants[0].holder, "edu-0000:00:03.0");
	assert_true(sr->grants[1].grant_id == b);
	assert_int_equal(sr->grants[1].flags, 0);
	assert_string_equal(sr->grants[1].holder, "");

	/* The holder let go: the same release now succeeds. */
	held_grant = 0;
	assert_int_equal(release(f, a), VCMA_OK);
	assert_int_equal(release(f, b), VCMA_OK);
	f->be.ops = sim_ops;
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_hello, setup, teardown),
		cmocka_unit_test_setup_teardown(test_reserve_status_release, setup, teardown),
		cmocka_unit_test_setup_teardown(test_reserve_below, setup, teardown),
		cmocka_unit_test_setup_teardown(test_reserve_below_unsupported, setup, teardown),
		cmocka_unit_test_setup_teardown(test_idempotent_tag, setup, teardown),
		cmocka_unit_test_setup_teardown(test_status_split, setup, teardown),
		cmocka_unit_test_setup_teardown(test_invalid_requests, setup, teardown),
		cmocka_unit_test_setup_teardown(test_tick_keeps_grants, setup, teardown),
		cmocka_unit_test_setup_teardown(test_claimed_release, setup, teardown),
	};

	cmocka_set_message_output(CM_OUTPUT_TAP);
	return cmocka_run_group_tests_name("agent_handler", tests, NULL, NULL);
}
