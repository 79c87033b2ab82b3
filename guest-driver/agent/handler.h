/* SPDX-License-Identifier: MIT */
/*
 * The agent's request handler: one decoded host frame in, encoded reply
 * frames out, against a backend. No I/O and no event loop here, so it is
 * unit-tested directly; agent.c decides on which thread it runs.
 *
 * Not thread-safe: one handler is used by one thread at a time.
 */
#ifndef VCMA_AGENT_HANDLER_H
#define VCMA_AGENT_HANDLER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "backend.h"
#include "vcma_codec.h"

/* Encoded frames waiting to be written. */
struct agent_out {
	uint8_t *buf;
	size_t len, cap;
};

void agent_out_free(struct agent_out *o);
/* Encode m and append it; 0 or negative errno (-EPROTO if the codec refuses m). */
int agent_out_append(struct agent_out *o, const struct vcma_msg *m);

struct agent_handler;

/* software: the HELLO software string, e.g. "vcma-agent 0.1.0". */
struct agent_handler *agent_handler_new(struct agent_backend *be, const char *software);
void agent_handler_free(struct agent_handler *h);

/* The guest's HELLO, sent on every (re)connect. */
int agent_handler_hello(struct agent_handler *h, uint64_t id, struct agent_out *out);

/*
 * Answer one valid frame from the host. Appends zero or more frames to out
 * (several only for STATUS_RESULT, chained with VCMA_HDR_F_MORE).
 * Returns 0, or negative errno if no answer could be produced (out of memory).
 */
int agent_handler_handle(struct agent_handler *h, const struct vcma_msg *in,
			 struct agent_out *out);

/*
 * Chunks the module gave back under memory pressure, reported unsolicited
 * (balloon.h); nothing when none went back. 0 or negative errno.
 */
int agent_handler_pressure(struct agent_handler *h, struct agent_out *out);

/*
 * True for frames answered without the handler (PING): the event loop answers
 * them itself while the handler may be busy with a long RESERVE.
 */
bool agent_handler_answers_inline(uint8_t type);

/* Frames that need no handler state; usable from any thread. */
int agent_reply_error(uint64_t id, uint8_t ref_type, uint32_t status, const char *msg,
		      struct agent_out *out);
int agent_reply_pong(uint64_t id, struct agent_out *out);

#endif /* VCMA_AGENT_HANDLER_H */
