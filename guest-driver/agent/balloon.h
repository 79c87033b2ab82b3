/* SPDX-License-Identifier: MIT */
/*
 * The agent's side of the balloon (PROTOCOL.md 5.6/5.7): BALLOON_SET moves
 * the guest's balloon towards the target in steps of at most
 * VCMA_MAX_CHUNKS_FRAME chunks, one BALLOON_REPORT per step.
 *
 * One BALLOON_SET works for a bounded time only (AGENT_BALLOON_BUDGET_MS) and
 * then ends its report sequence with status E_AGAIN: the host sends the same
 * target again to continue. So the worker thread is never held by one long
 * resize (RESERVE requests queued behind it wait at most one budget), a newer
 * target supersedes an older one at the next step by construction, and the
 * host sees progress after every budget.
 */
#ifndef VCMA_AGENT_BALLOON_H
#define VCMA_AGENT_BALLOON_H

#include <stdint.h>

#include "backend.h"
#include "handler.h"

#define AGENT_BALLOON_BUDGET_MS	250

/*
 * Answer one BALLOON_SET: BALLOON_REPORT frames (MORE on all but the last),
 * then an EVENT FLOOR_HIT when the floor stopped it; ERROR when nothing could
 * be done. scratch is a caller-owned message buffer. 0 or negative errno.
 */
int agent_balloon_handle(struct agent_backend *be, const struct vcma_msg *in,
			 struct vcma_msg *scratch, struct agent_out *out);

#if VCMA_HAVE_SIM
struct vcma_core;
/*
 * VCMA_IOC_BALLOON's semantics (vcma_uapi.h) on the mm core, for the sim
 * backend: one step of at most io->max_chunks chunks towards io->target_bytes.
 */
int agent_balloon_core_step(struct vcma_core *core, unsigned int page_shift,
			    struct vcma_ioc_balloon *io);
#endif

#endif /* VCMA_AGENT_BALLOON_H */
