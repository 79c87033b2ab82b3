// SPDX-License-Identifier: MIT
/*
 * Integration test: the real vcma-agent binary in simulated-guest mode
 * (--sim --listen SOCK), driven over its real unix socket by a small host
 * written with the codec. argv[1] is the agent executable.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "vcma_codec.h"

#define BOOT_ID		"0123456789abcdef0123456789abcdef"
#define BOOT_ID_BYTES	"\x01\x23\x45\x67\x89\xab\xcd\xef\x01\x23\x45\x67\x89\xab\xcd\xef"
#define SIM_MEM		(512ull << 20)
#define TIMEOUT_MS	20000
#define ANY_FAILURE	UINT32_MAX

static const char *agent_path;
static char tmpdir[] = "/tmp/vcma-agent-it-XXXXXX";
static char sock_path[sizeof(((struct sockaddr_un *)0)->sun_path)], log_path[256];
static pid_t agent_pid = -1;
/* The connection of the running test, closed by the teardown if a check failed. */
static int open_fd = -1;

struct host {
	int fd;
	struct vcma_reasm *rx;
	struct vcma_msg *m;
	uint64_t next_id;
};

static int64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void dump_log(void)
{
	char cmd[512];

	snprintf(cmd, sizeof(cmd), "sed 's/^/# agent: /' '%s' | tail -40", log_path);
	if (system(cmd) != 0)
		fprintf(stderr, "# cannot show the agent log\n");
}

static int try_connect(void)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);

	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", sock_path);
	if (fd >= 0 && connect(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0)
		return fd;
	if (fd >= 0)
		close(fd);
	return -1;
}

static void host_open(struct host *h)
{
	int64_t end = now_ms() + TIMEOUT_MS;

	memset(h, 0, sizeof(*h));
	h->next_id = 1000;
	while ((h->fd = try_connect()) < 0) {
		assert_true(now_ms() < end);
		usleep(20000);
	}
	open_fd = h->fd;
	h->rx = vcma_reasm_new(1u << 20);
	h->m = malloc(sizeof(*h->m));
	assert_non_null(h->rx);
	assert_non_null(h->m);
}

static void host_close(struct host *h)
{
	close(h->fd);
	vcma_reasm_free(h->rx);
	free(h->m);
	h->fd = -1;
	open_fd = -1;
}

static void send_raw(struct host *h, const void *buf, size_t len)
{
	assert_int_equal(write(h->fd, buf, len), (ssize_t)len);
}

static void send_msg(struct host *h, const struct vcma_msg *m)
{
	uint8_t buf[VCMA_MAX_PAYLOAD + 64];
	int n = vcma_encode(m, buf, sizeof(buf));

	assert_true(n > 0);
	send_raw(h, buf, (size_t)n);
}

/* Next frame from the agent into h->m; fails the test after TIMEOUT_MS. */
static struct vcma_msg *recv_msg(struct host *h)
{
	int64_t end = now_ms() + TIMEOUT_MS;

	for (;;) {
		struct pollfd p = { .fd = h->fd, .events = POLLIN };
		uint8_t buf[8192];
		ssize_t n;
		int ret = vcma_reasm_next(h->rx, h->m);

		if (ret == 1)
			return h->m;
		assert_int_equal(ret, 0);	/* the agent never sends a bad frame */
		if (now_ms() >= end) {
			dump_log();
			fail_msg("no answer from the agent within %d ms", TIMEOUT_MS);
		}
		if (poll(&p, 1, 200) <= 0)
			continue;
		n = read(h->fd, buf, sizeof(buf));
		if (n <= 0) {
			dump_log();
			fail_msg("agent closed the connection (%zd)", n);
		}
		assert_int_equal(vcma_reasm_feed(h->rx, buf, (size_t)n), 0);
	}
}

static struct vcma_msg *expect(struct host *h, uint8_t type, uint64_t id)
{
	struct vcma_msg *m = recv_msg(h);

	if (m->type != type || m->id != id) {
		dump_log();
		fail_msg("expected %s id %llu, got %s id %llu (%s)", vcma_msg_type_name(type),
			 (unsigned long long)id, vcma_msg_type_name(m->type),
			 (unsigned long long)m->id,
			 m->type == VCMA_MSG_ERROR ? m->u.error.message : "");
	}
	return m;
}

/* Connect and take the unsolicited HELLO every (re)connect starts with. */
static void host_connect(struct host *h)
{
	struct vcma_msg *m;

	host_open(h);
	m = expect(h, VCMA_MSG_HELLO, 0);
	assert_int_equal(m->u.hello.role, VCMA_ROLE_GUEST);
	assert_int_equal(m->u.hello.page_size, 4096);
	assert_true(m->u.hello.caps & VCMA_CAP_RESERVE);
	assert_true(m->u.hello.mem_total > 0 && m->u.hello.mem_total <= SIM_MEM);
	assert_true(m->u.hello.nr_ranges > 0);
	assert_memory_equal(m->u.hello.software, "vcma-agent", 10);
	assert_memory_equal(m->u.hello.boot_id, BOOT_ID_BYTES, 16);
}

static uint64_t reserve(struct host *h, uint64_t size, uint64_t tag, const char *label,
			uint32_t want_status, struct vcma_reserve_result_h *out)
{
	struct vcma_msg req;
	struct vcma_msg *m;
	uint64_t id = h->next_id++;

	vcma_msg_init(&req, VCMA_MSG_RESERVE, id);
	req.u.reserve.size = size;
	req.u.reserve.tag = tag;
	req.u.reserve.node = VCMA_NODE_ANY;
	req.u.reserve.deadline_ms = 5000;
	snprintf(req.u.reserve.label, sizeof(req.u.reserve.label), "%s", label);
	send_msg(h, &req);
	m = expect(h, VCMA_MSG_RESERVE_RESULT, id);
	if (want_status == ANY_FAILURE ? m->u.reserve_result.status == VCMA_OK
				       : m->u.reserve_result.status != want_status) {
		dump_log();
		fail_msg("RESERVE %llu: %s, want %s (cause %s)", (unsigned long long)size,
			 vcma_status_name(m->u.reserve_result.status),
			 vcma_status_name(want_status),
			 vcma_cause_name(m->u.reserve_result.ev.cause));
	}
	assert_true(m->u.reserve_result.tag == tag);
	if (out)
		*out = m->u.reserve_result;
	return m->u.reserve_result.grant_id;
}

static uint32_t release(struct host *h, uint64_t grant)
{
	struct vcma_msg req;
	struct vcma_msg *m;
	uint64_t id = h->next_id++;

	vcma_msg_init(&req, VCMA_MSG_RELEASE, id);
	req.u.release.grant_id = grant;
	send_msg(h, &req);
	m = expect(h, VCMA_MSG_RELEASE_RESULT, id);
	assert_true(m->u.release_result.grant_id == grant);
	return m->u.release_result.status;
}

/* STATUS; returns the number of grants, copying up to max of them. */
static uint32_t status(struct host *h, struct vcma_grant_info_h *out, uint32_t max)
{
	struct vcma_msg req;
	uint64_t id = h->next_id++;
	uint32_t n = 0, i;
	struct vcma_msg *m;

	vcma_msg_init(&req, VCMA_MSG_STATUS, id);
	send_msg(h, &req);
	do {
		m = expect(h, VCMA_MSG_STATUS_RESULT, id);
		assert_memory_equal(m->u.status_result.boot_id, BOOT_ID_BYTES, 16);
		for (i = 0; i < m->u.status_result.nr_grants; i++, n++)
			if (n < max)
				out[n] = m->u.status_result.grants[i];
	} while (m->flags & VCMA_HDR_F_MORE);
	return n;
}

static void ping(struct host *h)
{
	struct vcma_msg req;
	uint64_t id = h->next_id++;

	vcma_msg_init(&req, VCMA_MSG_PING, id);
	send_msg(h, &req);
	expect(h, VCMA_MSG_PONG, id);
}

static void test_hello(void **state)
{
	struct host h;
	struct vcma_msg req;
	struct vcma_msg *m;

	(void)state;
	host_connect(&h);
	vcma_msg_init(&req, VCMA_MSG_HELLO, 1);
	req.u.hello.proto_min = 1;
	req.u.hello.proto_max = 1;
	req.u.hello.role = VCMA_ROLE_HOST;
	req.u.hello.caps = VCMA_CAP_RESERVE | VCMA_CAP_STATUS;
	snprintf(req.u.hello.software, sizeof(req.u.hello.software), "test-host");
	send_msg(&h, &req);
	m = expect(&h, VCMA_MSG_HELLO, 1);
	assert_int_equal(m->u.hello.role, VCMA_ROLE_GUEST);
	assert_int_equal(m->u.hello.proto_min, 1);
	assert_memory_equal(m->u.hello.boot_id, BOOT_ID_BYTES, 16);
	ping(&h);
	host_close(&h);
}

static void test_reserve_status_release(void **state)
{
	struct vcma_grant_info_h g[4];
	struct vcma_reserve_result_h r;
	uint64_t grant;
	struct host h;

	(void)state;
	host_connect(&h);
	assert_int_equal(status(&h, g, 4), 0);
	grant = reserve(&h, 16ull << 20, 100, "dma0", VCMA_OK, &r);
	assert_true(grant != 0);
	assert_true(r.size == 16ull << 20);
	assert_true(r.gpa % (16ull << 20) == 0);	/* natural alignment */
	assert_int_equal(status(&h, g, 4), 1);
	assert_true(g[0].grant_id == grant && g[0].tag == 100 && g[0].gpa == r.gpa);
	assert_string_equal(g[0].label, "dma0");
	assert_int_equal(release(&h, grant), VCMA_OK);
	assert_int_equal(status(&h, g, 4), 0);
	assert_int_equal(release(&h, grant), VCMA_E_NOENT);
	/* More than the simulated guest has cannot be granted. */
	reserve(&h, SIM_MEM * 2, 101, "huge", ANY_FAILURE, &r);
	assert_true(r.grant_id == 0);
	host_close(&h);
}

static void test_idempotent_retry(void **state)
{
	struct vcma_grant_info_h g[4];
	uint64_t a, b;
	struct host h;

	(void)state;
	host_connect(&h);
	a = reserve(&h, 4ull << 20, 200, "retry", VCMA_OK, NULL);
	b = reserve(&h, 4ull << 20, 200, "retry", VCMA_OK, NULL);
	assert_true(a == b);
	assert_int_equal(status(&h, g, 4), 1);
	assert_int_equal(release(&h, a), VCMA_OK);
	host_close(&h);
}

static void test_reconnect_keeps_grants(void **state)
{
	struct vcma_grant_info_h g[4];
	uint64_t a, b;
	struct host h;

	(void)state;
	host_connect(&h);
	a = reserve(&h, 8ull << 20, 300, "keep", VCMA_OK, NULL);
	host_close(&h);

	host_connect(&h);	/* HELLO again */
	assert_int_equal(status(&h, g, 4), 1);
	assert_true(g[0].grant_id == a && g[0].tag == 300);
	b = reserve(&h, 8ull << 20, 300, "keep", VCMA_OK, NULL);
	assert_true(a == b);
	assert_int_equal(release(&h, a), VCMA_OK);
	host_close(&h);
}

static void expect_proto_error(struct host *h)
{
	struct vcma_msg *m = expect(h, VCMA_MSG_ERROR, 0);

	assert_int_equal(m->u.error.status, VCMA_E_PROTO);
}

static void test_garbage_then_serving(void **state)
{
	static const char junk[] = "GET / HTTP/1.1\r\nHost: vcma\r\n\r\n";
	struct vcma_grant_info_h g[4];
	struct vcma_msg bogus;
	uint8_t frame[24];
	struct vcma_msg *m;
	struct host h;

	(void)state;
	host_connect(&h);
	send_raw(&h, junk, sizeof(junk) - 1);
	expect_proto_error(&h);
	ping(&h);

	/* A header announcing a payload over the limit. */
	memset(frame, 0, sizeof(frame));
	memcpy(frame, "VCMA", 4);
	frame[4] = 1;
	frame[5] = VCMA_MSG_STATUS;
	frame[8] = 0xff, frame[9] = 0xff, frame[10] = 0xff, frame[11] = 0x7f;
	send_raw(&h, frame, sizeof(frame));
	expect_proto_error(&h);
	ping(&h);

	/* A frame type only a guest may send. */
	vcma_msg_init(&bogus, VCMA_MSG_RELEASE_RESULT, 77);
	send_msg(&h, &bogus);
	m = expect(&h, VCMA_MSG_ERROR, 77);
	assert_int_equal(m->u.error.status, VCMA_E_PROTO);

	/* Junk and a valid request in one write: ERROR first, then the answer. */
	{
		uint8_t buf[256];
		struct vcma_msg req;
		int n;

		memcpy(buf, "junkjunk", 8);
		vcma_msg_init(&req, VCMA_MSG_PING, 4242);
		n = vcma_encode(&req, buf + 8, sizeof(buf) - 8);
		assert_true(n > 0);
		send_raw(&h, buf, 8 + (size_t)n);
		expect_proto_error(&h);
		expect(&h, VCMA_MSG_PONG, 4242);
	}
	assert_int_equal(status(&h, g, 4), 0);
	host_close(&h);
}

/* A partial frame then a disconnect must not leave the agent stuck. */
static void test_partial_frame_disconnect(void **state)
{
	struct vcma_msg req;
	uint8_t buf[128];
	struct host h;
	int n;

	(void)state;
	host_connect(&h);
	vcma_msg_init(&req, VCMA_MSG_RESERVE, 9);
	req.u.reserve.size = 4096;
	n = vcma_encode(&req, buf, sizeof(buf));
	assert_true(n > 30);
	send_raw(&h, buf, 30);
	host_close(&h);
	host_connect(&h);
	ping(&h);
	host_close(&h);
}

/*
 * A flood of requests in one write: the agent's queue is bounded, so some are
 * refused with ERROR E_AGAIN, but every request gets exactly one answer and
 * the agent keeps serving.
 */
static void test_flood(void **state)
{
	enum { N = 2000 };
	static uint8_t buf[N * 32];
	unsigned int answered = 0, refused = 0, i;
	struct vcma_msg req;
	uint8_t *seen = calloc(N, 1);
	size_t len = 0;
	struct host h;

	(void)state;
	assert_non_null(seen);
	host_connect(&h);
	for (i = 0; i < N; i++) {
		int n;

		vcma_msg_init(&req, VCMA_MSG_STATUS, 10000 + i);
		n = vcma_encode(&req, buf + len, sizeof(buf) - len);
		assert_true(n > 0);
		len += (size_t)n;
	}
	send_raw(&h, buf, len);
	while (answered < N) {
		struct vcma_msg *m = recv_msg(&h);

		assert_true(m->id >= 10000 && m->id < 10000 + N);
		if (m->type == VCMA_MSG_ERROR) {
			assert_int_equal(m->u.error.status, VCMA_E_AGAIN);
			refused++;
		} else {
			assert_int_equal(m->type, VCMA_MSG_STATUS_RESULT);
			if (m->flags & VCMA_HDR_F_MORE)
				continue;
		}
		assert_int_equal(seen[m->id - 10000], 0);
		seen[m->id - 10000] = 1;
		answered++;
	}
	printf("# %u requests: %u answered, %u refused as busy\n", N, N - refused, refused);
	assert_true(refused < N);
	ping(&h);
	free(seen);
	host_close(&h);
}

/*
 * A failed check leaves its connection open, and the agent serves one host
 * at a time: close it so the next test is not queued behind it.
 */
static int close_leftover(void **state)
{
	(void)state;
	if (open_fd >= 0)
		close(open_fd);
	open_fd = -1;
	return 0;
}

static int start_agent(void **state)
{
	(void)state;
	assert_non_null(mkdtemp(tmpdir));
	snprintf(sock_path, sizeof(sock_path), "%s/agent.sock", tmpdir);
	snprintf(log_path, sizeof(log_path), "%s/agent.log", tmpdir);
	agent_pid = fork();
	if (agent_pid == 0) {
		int fd = open(log_path, O_WRONLY | O_CREAT | O_TRUNC, 0644);

		if (fd >= 0) {
			dup2(fd, 2);
			dup2(fd, 1);
		}
		execl(agent_path, agent_path, "--sim", "--sim-mem", "512M", "--listen", sock_path,
		      "--boot-id", BOOT_ID, "--tick-ms", "50", "--verbose", (char *)NULL);
		_exit(127);
	}
	return agent_pid > 0 ? 0 : -1;
}

static int stop_agent(void **state)
{
	char cmd[512];
	int st = 0;

	(void)state;
	if (agent_pid > 0) {
		kill(agent_pid, SIGTERM);
		waitpid(agent_pid, &st, 0);
	}
	if (!WIFEXITED(st) || WEXITSTATUS(st) != 0) {
		fprintf(stderr, "# agent did not exit cleanly (status 0x%x)\n", st);
		dump_log();
	}
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tmpdir);
	if (system(cmd) != 0)
		return -1;
	/* A leak or crash at shutdown (sanitizer build) fails the suite. */
	return WIFEXITED(st) && WEXITSTATUS(st) == 0 ? 0 : -1;
}

int main(int argc, char **argv)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_teardown(test_hello, close_leftover),
		cmocka_unit_test_teardown(test_reserve_status_release, close_leftover),
		cmocka_unit_test_teardown(test_idempotent_retry, close_leftover),
		cmocka_unit_test_teardown(test_reconnect_keeps_grants, close_leftover),
		cmocka_unit_test_teardown(test_garbage_then_serving, close_leftover),
		cmocka_unit_test_teardown(test_partial_frame_disconnect, close_leftover),
		cmocka_unit_test_teardown(test_flood, close_leftover),
	};

	if (argc != 2) {
		fprintf(stderr, "usage: %s PATH-TO-vcma-agent\n", argv[0]);
		return 2;
	}
	agent_path = argv[1];
	signal(SIGPIPE, SIG_IGN);
	cmocka_set_message_output(CM_OUTPUT_TAP);
	return cmocka_run_group_tests_name("agent_socket", tests, start_agent, stop_agent);
}
