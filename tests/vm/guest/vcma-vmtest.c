// SPDX-License-Identifier: GPL-2.0-only OR MIT
/* vcma-vmtest: runs one vcma.ko scenario inside the test guest, as TAP. */
#include <stdio.h>
#include <string.h>

#include "scenarios.h"

static const struct {
	const char *name;
	int (*run)(int argc, char **argv);
	const char *help;
} scenarios[] = {
	{ "idle", scenario_idle, "reserve/release 2, 64, 256 MiB; mmap; lifetime" },
	{ "badinput", scenario_badinput, "malformed ioctls are refused" },
	{ "impossible", scenario_impossible, "unsatisfiable requests fail fast with a cause" },
	{ "balloon", scenario_balloon, "BALLOON ioctl: MemTotal shrinks and comes back" },
	{ "busy", scenario_busy, "reserve under ext4/tmpfs/anon/O_DIRECT/io_uring load" },
	{ "bench", scenario_bench, "planner vs naive under the busy workload" },
	{ "claims", scenario_claims, "a driver claims grants through vcma_claim.h" },
	{ "tight", scenario_tight, "planner vs naive with free memory under 15%, exact evidence" },
	{ "export", scenario_export, "vcma-guest export: a dma-buf to a program (--exec, --socket)" },
	{ "export-peer", scenario_export_peer, "SEED NEWSEED|ro: the program export --exec runs" },
	{ "gig", scenario_gig, "1 GiB naturally aligned vs the kernel's 1 GiB hugetlb page" },
};

int main(int argc, char **argv)
{
	size_t i;

	for (i = 0; argc > 1 && i < sizeof(scenarios) / sizeof(scenarios[0]); i++)
		if (!strcmp(argv[1], scenarios[i].name))
			return scenarios[i].run(argc - 1, argv + 1);
	fprintf(stderr, "usage: vcma-vmtest SCENARIO [ARGS]\n");
	for (i = 0; i < sizeof(scenarios) / sizeof(scenarios[0]); i++)
		fprintf(stderr, "  %-11s %s\n", scenarios[i].name, scenarios[i].help);
	return argc > 1 && strcmp(argv[1], "--help") ? 2 : 0;
}
