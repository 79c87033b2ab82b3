// SPDX-License-Identifier: GPL-2.0-only OR MIT
/* Busy-guest scenario and benchmark: being written. */
#include <stdio.h>

#include "scenarios.h"

int scenario_busy(int argc, char **argv)
{
	(void)argc;
	(void)argv;
	printf("1..0 # SKIP busy scenario not written yet\n");
	return 0;
}

int scenario_bench(int argc, char **argv)
{
	(void)argc;
	(void)argv;
	printf("bench not written yet\n");
	return 1;
}
