// SPDX-License-Identifier: MIT
/*
 * Unit tests of the agent's BALLOON_STATS (guest-driver/agent/stats.c): the
 * procfs parsers on recorded files, and the handler on the sim backend (the
 * real mm core on the mm model) before and after a balloon inflate, with and
 * without a procfs, decoded again with the codec so the bytes are checked.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "backend.h"
#include "handler.h"
#include "stats.h"

#define MIB		(1ull << 20)
#define SIM_MEM		(256 * MIB)

/* Lines as Debian 12's 6.1 kernel writes them (abridged, order kept). */
static const char meminfo_txt[] =
	"MemTotal:        1514388 kB\n"
	"MemFree:          950012 kB\n"
	"MemAvailable:    1201776 kB\n"
	"Buffers:           10240 kB\n"
	"Cached:           290100 kB\n"
	"SwapCached:            0 kB\n"
	"Active:           120000 kB\n"
	"HugePages_Total:       0\n"
	"Hugepagesize:       2048 kB\n";

static const char vmstat_txt[] =
	"nr_free_pages 237503\n"
	"pswpin 3\n"
	"pswpout 17\n"
	"pgfault 912345\n"
	"pgmajfault 345\n"
	"pgsteal_kswapd 0\n"
	"htlb_buddy_alloc_success 4\n"
	"htlb_buddy_alloc_fail 1\n"
	"oom_kill 2\n"
	"unevictable_pgs_culled 0\n";

struct fixture {
	char dir[64];
	struct agent_backend be;
	struct agent_handler *h;
	struct agent_out out;
	struct agent_grant_list list;
	struct vcma_msg *req, *rep;
	uint64_t next_id;
};

static void write_file(const char *dir, const char *name, const char *text)
{
	char path[128];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	f = fopen(path, "w");
	assert_non_null(f);
	assert_int_equal(fputs(text, f) >= 0, 1);
	assert_int_equal(fclose(f), 0);
}

static void remove_file(const char *dir, const char *name)
{
	char path[128];

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	unlink(path);
}

static int setup(void **state)
{
	struct agent_sim_opts o = { .mem_bytes = SIM_MEM, .seed = 11 };
	struct fixture *f = calloc(1, sizeof(*f));
	char sub[96];

	if (!f)
		return -1;
	snprintf(f->dir, sizeof(f->dir), "/tmp/vcma-stats-XXXXXX");
	if (!mkdtemp(f->dir) || agent_backend_sim_new(&o, &f->be))
		return -1;
	snprintf(sub, sizeof(sub), "%s/pressure", f->dir);
	if (mkdir(sub, 0700))
		return -1;
	f->h = agent_handler_new(&f->be, "vcma-agent test");
	f->req = malloc(sizeof(*f->req));
	f->rep = malloc(sizeof(*f->rep));
	f->next_id = 1;
	*state = f;
	return f->h && f->req && f->rep ? 0 : -1;
}

static int teardown(void **state)
{
	struct fixture *f = *state;
	char sub[96];

	remove_file(f->dir, "meminfo");
	remove_file(f->dir, "vmstat");
	remove_file(f->dir, "pressure/deflated_bytes");
	remove_file(f->dir, "pressure/events");
	snprintf(sub, sizeof(sub), "%s/pressure", f->dir);
	rmdir(sub);
	rmdir(f->dir);
	agent_handler_free(f->h);
	agent_backend_free(&f->be);
	agent_out_free(&f->out);
	agent_grant_list_free(&f->list);
	free(f->req);
	free(f->rep);
	free(f);
	return 0;
}

/* Handle f->req; decode the answers, keep the last in f->rep; return how many. */
static unsigned int handle(struct fixture *f)
{
	unsigned int n = 0;
	size_t off = 0;

	f->out.len = 0;
	assert_int_equal(agent_handler_handle(f->h, f->req, &f->out), 0);
	while (off < f->out.len) {
		int len = vcma_decode(f->out.buf + off, f->out.len - off, f->rep);

		assert_true(len > 0);
		assert_true(f->rep->id == f->req->id);
		off += (size_t)len;
		n++;
	}
	return n;
}

static const struct vcma_balloon_stats_result_h *ask(struct fixture *f)
{
	vcma_msg_init(f->req, VCMA_MSG_BALLOON_STATS, f->next_id++);
	assert_int_equal(handle(f), 1);
	if (f->rep->type != VCMA_MSG_BALLOON_STATS_RESULT)
		fail_msg("BALLOON_STATS answered with %s: %s", vcma_msg_type_name(f->rep->type),
			 f->rep->type == VCMA_MSG_ERROR ? f->rep->u.error.message : "");
	return &f->rep->u.balloon_stats_result;
}

static void inflate(struct fixture *f, uint64_t target)
{
	vcma_msg_init(f->req, VCMA_MSG_BALLOON_SET, f->next_id++);
	f->req->u.balloon_set.target_bytes = target;
	f->req->u.balloon_set.chunk_order = 9;
	for (int i = 0; i < 50; i++) {
		handle(f);
		assert_int_equal(f->rep->type, VCMA_MSG_BALLOON_REPORT);
		if (f->rep->u.balloon_report.status != VCMA_E_AGAIN)
			break;
	}
	assert_int_equal(f->rep->u.balloon_report.status, VCMA_OK);
	assert_true(f->rep->u.balloon_report.actual_bytes == target);
}

static uint64_t node_sum(const struct vcma_balloon_stats_result_h *s)
{
	uint64_t n = 0;

	for (unsigned int i = 0; i < s->nr_nodes; i++)
		n += s->chunks_by_node[i];
	return n << (12 + s->chunk_order);
}

static void test_parsers(void **state)
{
	struct fixture *f = *state;
	struct vcma_balloon_stats_result_h s;
	char path[128];

	write_file(f->dir, "meminfo", meminfo_txt);
	write_file(f->dir, "vmstat", vmstat_txt);
	memset(&s, 0, sizeof(s));
	snprintf(path, sizeof(path), "%s/meminfo", f->dir);
	assert_int_equal(agent_stats_read_meminfo(path, &s), 0);
	assert_int_equal(s.valid, VCMA_BST_MEM_TOTAL | VCMA_BST_MEM_FREE |
			 VCMA_BST_MEM_AVAILABLE | VCMA_BST_DISK_CACHES);
	assert_true(s.mem_total == 1514388ull << 10);
	assert_true(s.mem_free == 950012ull << 10);
	assert_true(s.mem_available == 1201776ull << 10);
	assert_true(s.disk_caches == 290100ull << 10);	/* Cached, not SwapCached */

	snprintf(path, sizeof(path), "%s/vmstat", f->dir);
	assert_int_equal(agent_stats_read_vmstat(path, 4096, &s), 0);
	assert_true(s.swap_in == 3 * 4096 && s.swap_out == 17 * 4096);
	assert_true(s.major_faults == 345 && s.minor_faults == 912345 - 345);
	assert_true(s.oom_kills == 2);
	assert_true(s.hugetlb_allocs == 4 && s.hugetlb_failures == 1);
	assert_int_equal(s.valid, (1u << VCMA_BST_NR_COUNTERS) - 1 &
			 ~(VCMA_BST_PRESSURE_DEFLATED | VCMA_BST_PRESSURE_EVENTS));

	/* A kernel without oom_kill (before 4.13) and without pgfault: not known, not 0. */
	write_file(f->dir, "vmstat", "pswpin 0\npswpout 0\npgmajfault 9\n");
	memset(&s, 0, sizeof(s));
	assert_int_equal(agent_stats_read_vmstat(path, 4096, &s), 0);
	assert_int_equal(s.valid, VCMA_BST_SWAP_IN | VCMA_BST_SWAP_OUT | VCMA_BST_MAJOR_FAULTS);
	assert_true(s.major_faults == 9 && s.minor_faults == 0);

	remove_file(f->dir, "vmstat");
	assert_int_equal(agent_stats_read_vmstat(path, 4096, &s), -ENOENT);
}

/* The simulated guest: memory from the model, no event counters, chunks by node. */
static void test_sim_sample(void **state)
{
	struct fixture *f = *state;
	const struct vcma_balloon_stats_result_h *s = ask(f);
	uint64_t total0;

	assert_int_equal(s->valid, VCMA_BST_MEM_TOTAL | VCMA_BST_MEM_FREE |
			 VCMA_BST_MEM_AVAILABLE | VCMA_BST_NODES);
	assert_true(s->actual_bytes == 0);
	assert_true(s->mem_total > 0 && s->mem_total <= SIM_MEM);
	assert_true(s->mem_free <= s->mem_total);
	assert_true(s->nr_nodes >= 1 && node_sum(s) == 0);
	total0 = s->mem_total;

	inflate(f, 32 * MIB);
	s = ask(f);
	assert_true(s->actual_bytes == 32 * MIB);
	assert_int_equal(s->chunk_order, 9);
	assert_true(node_sum(s) == 32 * MIB);
	assert_true(s->mem_total == total0 - 32 * MIB);	/* MemTotal shrinks by the balloon */
	assert_true(s->major_faults == 0 && s->swap_in == 0);	/* not known: zero on the wire */
}

/* With a procfs and vcma.ko's pressure files, every counter is read from them. */
static void test_procfs_sample(void **state)
{
	struct fixture *f = *state;
	const struct vcma_balloon_stats_result_h *s;

	write_file(f->dir, "meminfo", meminfo_txt);
	write_file(f->dir, "vmstat", vmstat_txt);
	write_file(f->dir, "pressure/deflated_bytes", "67108864\n");
	write_file(f->dir, "pressure/events", "3\n");
	f->be.procfs = f->dir;
	f->be.vcma_sysfs = f->dir;
	inflate(f, 8 * MIB);
	s = ask(f);
	assert_int_equal(s->valid, VCMA_BST_KNOWN);
	assert_true(s->mem_total == 1514388ull << 10);
	assert_true(s->disk_caches == 290100ull << 10);
	assert_true(s->oom_kills == 2 && s->minor_faults == 912000);
	assert_true(s->pressure_deflated == 64 * MIB && s->pressure_events == 3);
	assert_true(s->actual_bytes == 8 * MIB && node_sum(s) == 8 * MIB);

	/* Files gone (no module, a kernel without vmstat): those bits clear, the rest stays. */
	remove_file(f->dir, "vmstat");
	remove_file(f->dir, "pressure/events");
	write_file(f->dir, "pressure/deflated_bytes", "garbage\n");
	s = ask(f);
	assert_int_equal(s->valid, VCMA_BST_MEM_TOTAL | VCMA_BST_MEM_FREE |
			 VCMA_BST_MEM_AVAILABLE | VCMA_BST_DISK_CACHES | VCMA_BST_NODES);
	assert_true(s->pressure_deflated == 0 && s->oom_kills == 0);
}

/* A backend without the capability says so instead of sending zeros. */
static void test_unsupported(void **state)
{
	struct fixture *f = *state;

	f->be.caps &= ~VCMA_CAP_BALLOON_STATS;
	vcma_msg_init(f->req, VCMA_MSG_BALLOON_STATS, f->next_id++);
	assert_int_equal(handle(f), 1);
	assert_int_equal(f->rep->type, VCMA_MSG_ERROR);
	assert_int_equal(f->rep->u.error.status, VCMA_E_UNSUPPORTED);
	assert_int_equal(f->rep->u.error.ref_type, VCMA_MSG_BALLOON_STATS);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_parsers, setup, teardown),
		cmocka_unit_test_setup_teardown(test_sim_sample, setup, teardown),
		cmocka_unit_test_setup_teardown(test_procfs_sample, setup, teardown),
		cmocka_unit_test_setup_teardown(test_unsupported, setup, teardown),
	};

	cmocka_set_message_output(CM_OUTPUT_TAP);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
