// SPDX-License-Identifier: MIT
/*
 * The "sim" backend: placeholder until the mm model lands.
 */
#include <errno.h>

#include "backend.h"

int agent_backend_sim_available(void)
{
	return 0;
}

int agent_backend_sim_new(const struct agent_sim_opts *opts, struct agent_backend *out)
{
	(void)opts;
	(void)out;
	return -ENOTSUP;
}
