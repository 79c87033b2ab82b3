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
 *
 * Deflate under pressure (vcma.ko deflate_on_pressure): the module gives
 * chunks back on its own and queues their GPAs; the agent reports them to
 * the host unsolicited (BALLOON_REPORT id 0, direction deflated, then EVENT
 * PRESSURE_DEFLATE) as soon as /dev/vcma polls readable, and before every
 * step of a BALLOON_SET, so that the host always hears of a deflate before
 * it sees the chunks inflated after it. Receiving a BALLOON_SET tells the
 * module that the host has acted on every chunk reported before
 * (VCMA_PRESSURE_F_ACK): only those may go back under pressure.
 */
#ifndef VCMA_AGENT_BALLOON_H
#define VCMA_AGENT_BALLOON_H

#include <stdbool.h>
#include <stdint.h>

#include "backend.h"
#include "handler.h"

#define AGENT_BALLOON_BUDGET_MS	250
/* The module queues at most 1024 chunks; frames of 512: bounded with room. */
#define AGENT_PRESSURE_MAX_FRAMES	8

/*
 * Answer one BALLOON_SET: BALLOON_REPORT frames (MORE on all but the last),
 * then an EVENT FLOOR_HIT when the floor stopped it; ERROR when nothing could
 * be done. scratch is a caller-owned message buffer. 0 or negative errno.
 */
int agent_balloon_handle(struct agent_backend *be, const struct vcma_msg *in,
			 struct vcma_msg *scratch, struct agent_out *out);

/*
 * Report what the module gave back under pressure: BALLOON_REPORT frames
 * (id 0) and one EVENT PRESSURE_DEFLATE, nothing when nothing went back.
 * flags: VCMA_PRESSURE_F_ACK or 0. 0 or negative errno.
 */
int agent_balloon_pressure(struct agent_backend *be, uint32_t flags, struct vcma_msg *scratch,
			   struct agent_out *out);

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
