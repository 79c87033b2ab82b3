// SPDX-License-Identifier: MIT
/*
 * Helpers over any backend, shared by the agent's handler and vcma-guest.
 */
#include <errno.h>
#include <stdlib.h>

#include "backend.h"

int agent_list_grants(struct agent_backend *be, struct agent_grant_list *l)
{
	int attempt;

	/* Another process may reserve between the calls: retry a few times. */
	for (attempt = 0; attempt < 4; attempt++) {
		uint32_t total = 0;
		int ret = be->ops->list(be->priv, l->grants, l->cap, &total);

		if (ret)
			return ret;
		if (total <= l->cap) {
			l->nr = total;
			return 0;
		}
		if (l->cap == AGENT_LIST_MAX)
			return -EOVERFLOW;
		free(l->grants);
		l->cap = total + 16 > AGENT_LIST_MAX ? AGENT_LIST_MAX : total + 16;
		l->grants = calloc(l->cap, sizeof(*l->grants));
		if (!l->grants) {
			l->cap = 0;
			return -ENOMEM;
		}
	}
	return -EAGAIN;
}

void agent_grant_list_free(struct agent_grant_list *l)
{
	free(l->grants);
	l->grants = NULL;
	l->cap = l->nr = 0;
}
