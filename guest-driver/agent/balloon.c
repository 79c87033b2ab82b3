// SPDX-License-Identifier: MIT
/* BALLOON_SET in bounded steps and deflate under pressure (see balloon.h). */
#include "balloon.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "agent_util.h"

#if VCMA_HAVE_SIM
#include "vcma_core.h"
#include "vcma_ioc_core.h"
#endif

static uint64_t mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

/* Why a BALLOON_SET cannot be served by this guest, or NULL. */
static const char *balloon_invalid(const struct vcma_balloon_set_h *s,
				   const struct vcma_ioc_version *ver)
{
	uint64_t chunk;

	if (s->chunk_order < ver->pageblock_order)
		return "chunk smaller than a pageblock";
	if (s->chunk_order > 18)
		return "chunk larger than 1 GiB";
	chunk = (uint64_t)ver->page_size << s->chunk_order;
	if (s->target_bytes % chunk)
		return "target is not a multiple of the chunk size";
	return NULL;
}

static int send_floor_event(uint64_t short_by, uint64_t target, struct vcma_msg *m,
			    struct agent_out *out)
{
	vcma_msg_init(m, VCMA_MSG_EVENT, 0);
	m->u.event.kind = VCMA_EV_FLOOR_HIT;
	m->u.event.arg0 = short_by;
	m->u.event.arg1 = target;
	return agent_out_append(out, m);
}

int agent_balloon_pressure(struct agent_backend *be, uint32_t flags, struct vcma_msg *m,
			   struct agent_out *out)
{
	struct vcma_balloon_report_h *r = &m->u.balloon_report;
	uint64_t chunks[VCMA_MAX_CHUNKS_FRAME], total = 0;
	struct vcma_ioc_pressure io;
	struct vcma_ioc_version ver;
	unsigned int frames;
	int ret;

	if (!be->ops->pressure)
		return 0;
	for (frames = 0; frames < AGENT_PRESSURE_MAX_FRAMES; frames++) {
		memset(&io, 0, sizeof(io));
		io.flags = frames ? 0 : flags;
		io.max_chunks = VCMA_MAX_CHUNKS_FRAME;
		io.chunks_ptr = (uintptr_t)chunks;
		ret = be->ops->pressure(be->priv, &io);
		if (ret == -ENOTTY || ret == -ENODEV)
			return 0;	/* an older module, or none: nothing can have gone back */
		if (ret)
			return ret;
		if (!io.nr_chunks)
			break;
		if (!total && be->ops->version(be->priv, &ver))
			ver.page_size = 4096;
		if (io.nr_chunks > VCMA_MAX_CHUNKS_FRAME)
			io.nr_chunks = VCMA_MAX_CHUNKS_FRAME;
		/* Unsolicited (id 0): the balloon as it is now is its own target. */
		vcma_msg_init(m, VCMA_MSG_BALLOON_REPORT, 0);
		r->target_bytes = io.balloon_bytes;
		r->actual_bytes = io.balloon_bytes;
		r->status = VCMA_OK;
		r->chunk_order = (uint8_t)io.chunk_order;
		r->direction = VCMA_BALLOON_DEFLATED;
		r->nr_chunks = (uint16_t)io.nr_chunks;
		memcpy(r->chunks, chunks, io.nr_chunks * sizeof(chunks[0]));
		ret = agent_out_append(out, m);
		if (ret)
			return ret;
		total += (uint64_t)io.nr_chunks * ((uint64_t)ver.page_size << io.chunk_order);
		if (!io.pending)
			break;
	}
	if (!total)
		return 0;
	log_info("gave %llu MiB of the balloon back under memory pressure; balloon %llu MiB "
		 "(%llu MiB in %llu events since the module loaded)",
		 (unsigned long long)(total >> 20), (unsigned long long)(io.balloon_bytes >> 20),
		 (unsigned long long)(io.deflated_bytes >> 20), (unsigned long long)io.events);
	vcma_msg_init(m, VCMA_MSG_EVENT, 0);
	m->u.event.kind = VCMA_EV_PRESSURE_DEFLATE;
	m->u.event.arg0 = total;
	m->u.event.arg1 = io.balloon_bytes;
	return agent_out_append(out, m);
}

int agent_balloon_handle(struct agent_backend *be, const struct vcma_msg *in,
			 struct vcma_msg *m, struct agent_out *out)
{
	const struct vcma_balloon_set_h *s = &in->u.balloon_set;
	uint64_t start = mono_ms(), chunks[VCMA_MAX_CHUNKS_FRAME];
	struct vcma_ioc_balloon io;
	struct vcma_ioc_version ver;
	const char *why;
	unsigned int frames = 0;
	int ret;

	if (!be->ops->balloon)
		return agent_reply_error(in->id, in->type, VCMA_E_UNSUPPORTED,
					 "this backend has no balloon", out);
	/*
	 * The host sends a BALLOON_SET only once it has acted on every report
	 * of the one before: every chunk reported so far may now go back under
	 * pressure. What already went back is reported first.
	 */
	ret = agent_balloon_pressure(be, VCMA_PRESSURE_F_ACK, m, out);
	if (ret)
		return ret;
	ret = be->ops->version(be->priv, &ver);
	if (ret)
		return agent_reply_error(in->id, in->type, vcma_status_from_errno(ret, 0),
					 "guest module not available", out);
	why = balloon_invalid(s, &ver);
	if (why)
		return agent_reply_error(in->id, in->type, VCMA_E_INVAL, why, out);

	for (;;) {
		struct vcma_balloon_report_h *r = &m->u.balloon_report;
		bool last;

		/* The module inflates nothing while the host has not heard of a deflate. */
		if (frames) {
			ret = agent_balloon_pressure(be, 0, m, out);
			if (ret)
				return ret;
		}
		memset(&io, 0, sizeof(io));
		io.argsz = sizeof(io);
		io.chunk_order = s->chunk_order;
		io.target_bytes = s->target_bytes;
		io.max_chunks = VCMA_MAX_CHUNKS_FRAME;
		io.chunks_ptr = (uintptr_t)chunks;
		ret = be->ops->balloon(be->priv, &io);
		if (ret && !frames)
			return agent_reply_error(in->id, in->type, vcma_status_from_errno(ret, 0),
						 ret == -EINVAL ? "target beyond the guest's memory"
								: "balloon step failed", out);
		if (ret) {
			/* Chunks already reported stay valid: end the sequence with the failure. */
			io.nr_chunks = 0;
			io.status = vcma_status_from_errno(ret, 0);
		}
		if (io.nr_chunks > VCMA_MAX_CHUNKS_FRAME)
			io.nr_chunks = VCMA_MAX_CHUNKS_FRAME;
		last = io.status != VCMA_E_AGAIN || !io.nr_chunks ||
		       mono_ms() - start >= AGENT_BALLOON_BUDGET_MS;

		vcma_msg_init(m, VCMA_MSG_BALLOON_REPORT, in->id);
		r->target_bytes = s->target_bytes;
		r->actual_bytes = io.actual_bytes;
		r->status = io.status;
		r->chunk_order = s->chunk_order;
		r->nr_chunks = (uint16_t)io.nr_chunks;
		r->direction = io.nr_chunks ? (uint8_t)io.direction : 0;
		memcpy(r->chunks, chunks, io.nr_chunks * sizeof(chunks[0]));
		if (!last)
			m->flags |= VCMA_HDR_F_MORE;
		ret = agent_out_append(out, m);
		if (ret)
			return ret;
		frames++;
		if (last)
			break;
	}
	log_info("BALLOON_SET id %llu target %llu MiB: %s, balloon %llu MiB", (unsigned long long)in->id,
		 (unsigned long long)(s->target_bytes >> 20), vcma_status_name(io.status),
		 (unsigned long long)(io.actual_bytes >> 20));
	if (io.status == VCMA_E_FLOOR && io.actual_bytes < s->target_bytes)
		return send_floor_event(s->target_bytes - io.actual_bytes, s->target_bytes, m, out);
	return 0;
}

#if VCMA_HAVE_SIM
/*
 * vcma_ioc_balloon() in kmod/vcma_main.c on the simulated guest: the same
 * step (vcma_ioc_balloon_step), without the locking and with the chunks'
 * GPAs written to plain memory.
 */
int agent_balloon_core_step(struct vcma_core *core, unsigned int page_shift,
			    struct vcma_ioc_balloon *io)
{
	uint64_t *out = (uint64_t *)(uintptr_t)io->chunks_ptr;
	vcma_u64 *pfns;
	uint64_t chunk_bytes;
	uint32_t i;
	int n;

	if (io->argsz != sizeof(*io) || !io->max_chunks || !out || io->chunk_order > 18)
		return -EINVAL;
	chunk_bytes = 1ull << (page_shift + io->chunk_order);
	if (io->target_bytes % chunk_bytes)
		return -EINVAL;
	pfns = calloc(io->max_chunks, sizeof(*pfns));
	if (!pfns)
		return -ENOMEM;
	n = vcma_ioc_balloon_step(core, page_shift, io, pfns);
	if (n < 0) {
		free(pfns);
		return n;
	}
	io->nr_chunks = (uint32_t)n;
	for (i = 0; i < (uint32_t)n; i++)
		out[i] = pfns[i] << page_shift;
	free(pfns);
	return 0;
}
#endif
