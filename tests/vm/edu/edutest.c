// SPDX-License-Identifier: GPL-2.0-only OR MIT
/* vcma-edutest: runs one edu DMA scenario inside the test guest, as TAP. */
#include <stdio.h>
#include <string.h>

#include "edutest.h"

static const struct {
	const char *name;
	int (*run)(int argc, char **argv);
	const char *help;
} scenarios[] = {
	{ "uio", scenario_uio, "[MiB] uio_pci_generic + grant mmap: userspace programs the DMA" },
	{ "dma", scenario_dma, "[MiB] [idle|busy] [BITS] vcma_edu.ko claims edu0, devices DMA all of it" },
	{ "dma-host", scenario_dma_host, "LABEL [idle|busy] [BITS] [ABOVE] the host's grant LABEL, claimed and DMA'd whole; ABOVE refused" },
	{ "fence", scenario_fence, "[MiB] dma-buf export, a device fence, EXPORT/IMPORT_SYNC_FILE + poll" },
};

int main(int argc, char **argv)
{
	size_t i;

	for (i = 0; argc > 1 && i < sizeof(scenarios) / sizeof(scenarios[0]); i++)
		if (!strcmp(argv[1], scenarios[i].name))
			return scenarios[i].run(argc - 1, argv + 1);
	fprintf(stderr, "usage: vcma-edutest SCENARIO [ARGS]\n");
	for (i = 0; i < sizeof(scenarios) / sizeof(scenarios[0]); i++)
		fprintf(stderr, "  %-8s %s\n", scenarios[i].name, scenarios[i].help);
	return argc > 1 && strcmp(argv[1], "--help") ? 2 : 0;
}
