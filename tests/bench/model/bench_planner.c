// SPDX-License-Identifier: GPL-2.0-only OR MIT
/*
 * Planner benchmark on the mm model (suite 'bench'): at 4, 16 and 64 GiB,
 * with an aged mixed workload (page cache with and without buffer heads,
 * block-device cache, anon, shmem, slab, short and long pins), the same
 * request sequence is served by
 *   - the core's planner,
 *   - the naive first-fit strategy (what alloc_contig_pages does),
 * each on its own model built from the same seed, and before every request
 * an oracle searches every aligned window of the current state for the
 * cheapest feasible one (ground truth: no unmovable, hole, held or truly
 * pinned page). Reported: success relative to the oracle, pages migrated
 * relative to the oracle's minimum, CPU time per request (all of it, model
 * migration work included, and the planner's scan alone), and the model's
 * own performance (build + workload + 1,000 planner requests at 64 GiB).
 *
 *   bench-planner [--quick] [--png FILE] [--dat FILE]
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core_priv.h"
#include "vcma_model.h"

#define MIB (1ull << 20)

static const char bench_workload[] =
	"fill_pct = 85\n"
	"movable_pct = 25\n"
	"churn = 4\naccess = 20\nbh_access = 5\ndirty = 2\nflush = 2\n"
	"gup_refs = 2\nshort_pins = 1\nshort_pin_us = 3000\n"
	"long_pins = 16\nlong_pins_inplace = 8\n";

static const uint64_t sizes_mib[] = { 2, 8, 32, 2, 8, 128 };

struct tally {
	uint64_t requests, oracle_ok, ok, ok_of_oracle, migrated, oracle_min, cpu_ns;
	uint64_t oracle_cpu_ns, plan_cpu_ns;
};

static uint64_t cpu_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static double wall_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Exhaustive: every aligned window of every zone; the cheapest feasible one. */
static int oracle(struct vcma_model *m, uint64_t nr, uint64_t *best_cost)
{
	const struct vcma_backend_ops *ops;
	struct vcma_zone_span z[8];
	uint64_t pfn, cost;
	int nz, i, found = 0;
	void *ctx;

	vcma_model_backend(m, &ops, &ctx);
	nz = ops->zones(ctx, z, 8);
	*best_cost = UINT64_MAX;
	for (i = 0; i < nz; i++)
		for (pfn = (z[i].start_pfn + nr - 1) / nr * nr; pfn + nr <= z[i].end_pfn; pfn += nr)
			if (vcma_model_window_truth(m, pfn, nr, &cost) && cost < *best_cost) {
				*best_cost = cost;
				found = 1;
			}
	return found;
}

/* The planner's own share: scan, classify (summaries), score and rank, no evacuation. */
static uint64_t plan_only_ns(struct vcma_core *c, uint64_t nr)
{
	struct vcma_core_evidence ev = { 0 };
	struct vcma_req_state rs = { 0 };
	uint64_t t0 = cpu_ns();

	rs.nr = nr;
	rs.align = vcma_pow2_ceil(nr);
	rs.step = rs.align;
	rs.node = VCMA_CORE_NODE_ANY;
	rs.ev = &ev;
	rs.deadline_us = ~0ull;
	vcma_load_zones(c);
	vcma_plan(c, &rs);
	return cpu_ns() - t0;
}

struct side {
	struct vcma_model *m;
	struct vcma_core *c;
	struct vcma_grant held[32];
	unsigned int nheld;
	struct tally t;
};

static int side_init(struct side *s, uint64_t gib, uint32_t strategy)
{
	struct vcma_model_scenario sc;
	const struct vcma_backend_ops *ops;
	struct vcma_core_config cfg = { .strategy = strategy, .max_grants = 64,
					.default_deadline_ms = 500 };
	char err[160];
	void *ctx;

	memset(s, 0, sizeof(*s));
	vcma_model_preset("mixed", &sc);
	if (vcma_model_scenario_load(&sc, bench_workload, err, sizeof(err)))
		goto bad;
	sc.mem_mib = gib * 1024;
	s->m = vcma_model_new_scenario(&sc, err, sizeof(err));
	if (!s->m)
		goto bad;
	vcma_model_step(s->m, 20);
	vcma_model_backend(s->m, &ops, &ctx);
	s->c = vcma_core_new(ops, ctx, &cfg);
	return s->c ? 0 : -1;
bad:
	fprintf(stderr, "bench-planner: %s\n", err);
	return -1;
}

static void side_free(struct side *s)
{
	vcma_core_free(s->c);
	vcma_model_free(s->m);
}

static void side_request(struct side *s, uint64_t size)
{
	struct vcma_core_request q = { .size = size, .node = VCMA_CORE_NODE_ANY };
	struct vcma_core_evidence ev;
	struct vcma_grant g;
	uint64_t cost = 0, t0;
	int feasible, err;

	t0 = cpu_ns();
	feasible = oracle(s->m, size / 4096, &cost);
	s->t.oracle_cpu_ns += cpu_ns() - t0;
	s->t.plan_cpu_ns += plan_only_ns(s->c, size / 4096);
	t0 = cpu_ns();
	err = vcma_core_reserve(s->c, &q, &g, &ev);
	s->t.cpu_ns += cpu_ns() - t0;
	s->t.requests++;
	s->t.oracle_ok += feasible;
	if (!err) {
		s->t.ok++;
		if (feasible) {
			s->t.ok_of_oracle++;
			s->t.migrated += ev.pages_migrated;
			s->t.oracle_min += cost;
		}
		if (s->nheld == 32) {
			vcma_core_release(s->c, s->held[0].id);
			memmove(s->held, s->held + 1, 31 * sizeof(s->held[0]));
			s->nheld--;
		}
		s->held[s->nheld++] = g;
	}
	vcma_model_step(s->m, 1);
}

static void print_row(FILE *dat, uint64_t gib, const char *name, const struct tally *t)
{
	double succ = t->oracle_ok ? 100.0 * (double)t->ok_of_oracle / (double)t->oracle_ok : 100.0;
	double mig = t->oracle_min ? (double)t->migrated / (double)t->oracle_min : 0.0;
	double cpu_ms = t->requests ? (double)t->cpu_ns / 1e6 / (double)t->requests : 0;
	double plan_ms = t->requests ? (double)t->plan_cpu_ns / 1e6 / (double)t->requests : 0;

	printf("%4llu GiB  %-8s %8llu %10llu %8llu %9.1f%% %10llu %10llu ",
	       (unsigned long long)gib, name, (unsigned long long)t->requests,
	       (unsigned long long)t->oracle_ok, (unsigned long long)t->ok, succ,
	       (unsigned long long)t->migrated, (unsigned long long)t->oracle_min);
	if (t->oracle_min)
		printf("%8.2fx", mig);
	else
		printf("%9s", t->migrated ? "inf" : "1.00x");
	printf(" %10.3f %9.3f\n", cpu_ms, plan_ms);
	if (dat)
		fprintf(dat, "\"%llu GiB %s\" %.2f %.3f %.4f\n", (unsigned long long)gib, name, succ,
			t->oracle_min ? mig : (t->migrated ? 99.0 : 1.0), cpu_ms);
}

static int run_size(uint64_t gib, unsigned int requests, unsigned int naive_requests, FILE *dat,
		    double *gap_succ, double *gap_mig)
{
	struct side p, n;
	double w0 = wall_s(), w_all, c_build, c_run;
	uint64_t c0 = cpu_ns();
	unsigned int i;

	/* CPU time of this one thread: the machine may be shared, wall time is noise. */
	if (side_init(&p, gib, VCMA_STRATEGY_PLANNER))
		return -1;
	c_build = (double)(cpu_ns() - c0) / 1e9;
	c0 = cpu_ns();
	for (i = 0; i < requests; i++)
		side_request(&p, sizes_mib[i % 6] * MIB);
	c_run = (double)(cpu_ns() - c0 - p.t.oracle_cpu_ns - p.t.plan_cpu_ns) / 1e9;
	w_all = wall_s() - w0;
	if (side_init(&n, gib, VCMA_STRATEGY_NAIVE)) {
		side_free(&p);
		return -1;
	}
	for (i = 0; i < naive_requests; i++)
		side_request(&n, sizes_mib[i % 6] * MIB);
	print_row(dat, gib, "planner", &p.t);
	print_row(dat, gib, "naive", &n.t);
	printf("%4llu GiB  model built and aged in %.2f s CPU; %u planner requests with workload in "
	       "%.2f s CPU (the oracle and the extra scan excluded; oracle %.3f ms/request); %.1f s wall\n",
	       (unsigned long long)gib, c_build, requests, c_run,
	       (double)p.t.oracle_cpu_ns / 1e6 / requests, w_all);
	if (gib == 64)
		printf("model performance: 64 GiB model + workload + %u requests: %.2f s CPU on one core\n",
		       requests, c_build + c_run);
	if (p.t.oracle_ok)
		*gap_succ = 100.0 * (double)p.t.ok_of_oracle / (double)p.t.oracle_ok;
	*gap_mig = p.t.oracle_min ? (double)p.t.migrated / (double)p.t.oracle_min : 1.0;
	side_free(&p);
	side_free(&n);
	return 0;
}

static void plot(const char *dat, const char *png)
{
	char cmd[2048];
	FILE *gp;

	if (system("command -v gnuplot >/dev/null 2>&1")) {
		printf("gnuplot not found: no plot\n");
		return;
	}
	snprintf(cmd, sizeof(cmd), "gnuplot");
	gp = popen(cmd, "w");
	if (!gp)
		return;
	fprintf(gp,
		"set terminal png size 1000,420\nset output '%s'\n"
		"set multiplot layout 1,2 title 'vcma planner vs naive first-fit, relative to the oracle'\n"
		"set style data histogram\nset style fill solid 0.8\nset xtics rotate by -30\n"
		"set key off\nset ylabel 'success / oracle-feasible (%%)'\nset yrange [0:105]\n"
		"plot '%s' using 2:xtic(1) lc rgb '#3b7dd8'\n"
		"set ylabel 'pages migrated / oracle minimum'\nset logscale y\nset yrange [0.5:*]\n"
		"plot '%s' using 3:xtic(1) lc rgb '#d8733b'\nunset multiplot\n", png, dat, dat);
	if (pclose(gp) == 0)
		printf("plot: %s\n", png);
	else
		printf("gnuplot failed: no plot\n");
}

int main(int argc, char **argv)
{
	const char *png = "planner-bench.png", *datpath = "planner-bench.dat";
	static const uint64_t gibs[] = { 4, 16, 64 };
	double succ[3] = { 100, 100, 100 }, mig[3] = { 1, 1, 1 };
	int quick = 0, i, rc = 0;
	FILE *dat;

	for (i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--quick"))
			quick = 1;
		else if (!strcmp(argv[i], "--png") && i + 1 < argc)
			png = argv[++i];
		else if (!strcmp(argv[i], "--dat") && i + 1 < argc)
			datpath = argv[++i];
		else {
			fprintf(stderr, "usage: %s [--quick] [--png FILE] [--dat FILE]\n", argv[0]);
			return 2;
		}
	}
	dat = fopen(datpath, "w");
	if (!dat) {
		perror(datpath);
		return 1;
	}
	printf("%-9s %-8s %8s %10s %8s %10s %10s %10s %9s %10s %9s\n", "memory", "strategy",
	       "requests", "oracle-ok", "granted", "ok/oracle", "migrated", "oracle-min",
	       "mig/min", "cpu ms/req", "scan ms");
	for (i = 0; i < 3 && !rc; i++)
		rc = run_size(gibs[i], quick ? 60 : (gibs[i] == 64 ? 1000 : 300),
			      quick ? 30 : (gibs[i] == 64 ? 60 : 150), dat, &succ[i], &mig[i]);
	fclose(dat);
	if (rc)
		return 1;
	for (i = 0; i < 3; i++)
		printf("target %llu GiB: planner at %.1f%% of oracle-feasible requests (target 100%%), "
		       "%.2fx the oracle's migrated pages (target <= 1.2x): %s\n",
		       (unsigned long long)gibs[i], succ[i], mig[i],
		       succ[i] >= 100.0 && mig[i] <= 1.2 ? "met" : "GAP");
	plot(datpath, png);
	return 0;
}
