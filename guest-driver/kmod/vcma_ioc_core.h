/* SPDX-License-Identifier: GPL-2.0-only OR MIT */
/*
 * Translation between the /dev/vcma ioctl structs (vcma_uapi.h) and the mm
 * core's (vcma_core.h). Shared by vcma.ko and the agent's simulated guest,
 * which serves the same ioctl structs from the core running on the model.
 * Include vcma_core.h, vcma_proto.h and vcma_uapi.h (or their kernel
 * equivalents) first.
 */
#ifndef VCMA_IOC_CORE_H
#define VCMA_IOC_CORE_H

/* The caller has validated r (size, alignment, flags, NUL-terminated label). */
static inline void vcma_ioc_to_core_request(const struct vcma_ioc_reserve *r,
					    struct vcma_core_request *req)
{
	__builtin_memset(req, 0, sizeof(*req));
	req->size = r->size;
	req->align = r->align;
	req->tag = r->tag;
	req->node = r->node;
	req->flags = r->flags;
	req->deadline_ms = r->deadline_ms;
	req->max_addr = r->max_addr;
	__builtin_memcpy(req->label, r->label, sizeof(req->label));
	req->label[sizeof(req->label) - 1] = '\0';
}

/*
 * The errno a RESERVE answers for the core's ret: a limit no window can
 * meet has its own (EADDRNOTAVAIL), so callers need not read the evidence
 * to tell it from a guest that is merely full.
 */
static inline int vcma_ioc_reserve_errno(int ret, const struct vcma_core_evidence *ev)
{
	if (ret == -VCMA_ENOSPC && ev->cause == VCMA_CORE_CAUSE_ADDR_LIMIT)
		return -EADDRNOTAVAIL;
	return ret;
}

static inline void vcma_core_to_ioc_evidence(const struct vcma_core_evidence *ev,
					     struct vcma_ioc_evidence *out)
{
	__builtin_memset(out, 0, sizeof(*out));
	out->ranges_scanned = ev->ranges_scanned;
	out->ranges_tried = ev->ranges_tried;
	out->pages_migrated = ev->pages_migrated;
	out->pinned_met = ev->pinned_met;
	out->bh_invalidations = ev->bh_invalidations;
	out->retries = ev->retries;
	out->cause = ev->cause;
	out->elapsed_us = ev->elapsed_us;
}

static inline void vcma_core_to_ioc_evac(const struct vcma_core_evidence *ev,
					 vcma_u64 deadline_us, struct vcma_ioc_evac *out)
{
	const struct vcma_evac_detail *d = &ev->evac;
	int i;

	__builtin_memset(out, 0, sizeof(*out));
	out->argsz = sizeof(*out);
	out->exact = d->exact;
	out->pages_in_use = d->pages_in_use;
	out->pages_migrated = ev->pages_migrated;
	out->migrate_failed = d->migrate_failed;
	out->left_pinned = d->left[VCMA_LEFT_PINNED];
	out->left_writeback = d->left[VCMA_LEFT_WRITEBACK];
	out->left_bh = d->left[VCMA_LEFT_BH];
	out->left_refcount = d->left[VCMA_LEFT_REFCOUNT];
	out->left_unmovable = d->left[VCMA_LEFT_UNMOVABLE];
	out->scan_us = ev->scan_us;
	out->isolate_us = d->isolate_us;
	out->migrate_us = d->migrate_us;
	out->verify_us = d->verify_us;
	out->zero_us = d->zero_us;
	out->elapsed_us = ev->elapsed_us;
	out->deadline_us = deadline_us;
	out->pieces = d->pieces;
	out->pieces_late = d->pieces_late;
	out->piece_pages_max = d->piece_pages_max;
	out->attempts_failed = ev->attempts_failed;
	for (i = 0; i < VCMA_CORE_NR_CAUSES && i < 16; i++)
		out->attempt_cause[i] = ev->attempt_cause[i];
}

static inline vcma_u32 vcma_ioc_balloon_status(vcma_u32 cause)
{
	switch (cause) {
	case VCMA_CORE_CAUSE_FLOOR:
		return VCMA_E_FLOOR;
	case VCMA_CORE_CAUSE_LIMIT:
	case VCMA_CORE_CAUSE_NO_RANGE:
		return VCMA_E_NOSPC;
	default:
		return VCMA_E_AGAIN;
	}
}

/*
 * One VCMA_IOC_BALLOON step on the core: move the balloon towards
 * b->target_bytes by at most b->max_chunks chunks, writing each chunk's
 * first pfn to pfns[] (room for b->max_chunks) and filling b's direction,
 * status and actual_bytes (not nr_chunks: the caller turns pfns into GPAs
 * its own way). Returns the number of chunks moved or the core's negative
 * errno. The caller has validated b and holds whatever serialises calls
 * into the core.
 */
static inline int vcma_ioc_balloon_step(struct vcma_core *core,
					unsigned int page_shift,
					struct vcma_ioc_balloon *b,
					vcma_u64 *pfns)
{
	struct vcma_core_stats cs;
	unsigned int chunk_shift = page_shift + b->chunk_order;
	vcma_u64 cur, gap;
	vcma_u32 want, cause = VCMA_CORE_CAUSE_NONE;
	int n = 0;

	vcma_core_get_stats(core, &cs);
	cur = cs.balloon_pages << page_shift;
	b->direction = 0;
	b->status = VCMA_OK;
	if (cur < b->target_bytes) {
		gap = (b->target_bytes - cur) >> chunk_shift;
		want = gap < b->max_chunks ? (vcma_u32)gap : b->max_chunks;
		/* The core refuses a step of 0 chunks; less than one chunk short is AGAIN. */
		n = want ? vcma_core_balloon_inflate(core, b->chunk_order, want,
						     pfns, &cause) : 0;
		b->direction = VCMA_BALLOON_INFLATED;
		/* Stopped for a cause (floor, no range...): a status, not an error. */
		if (n < 0 && cause != VCMA_CORE_CAUSE_NONE)
			n = 0;
		if (n >= 0 && (vcma_u32)n < want)
			b->status = vcma_ioc_balloon_status(cause);
	} else if (cur > b->target_bytes) {
		gap = (cur - b->target_bytes) >> chunk_shift;
		want = gap < b->max_chunks ? (vcma_u32)gap : b->max_chunks;
		n = vcma_core_balloon_deflate(core, b->chunk_order, want, pfns);
		b->direction = VCMA_BALLOON_DEFLATED;
	}
	vcma_core_get_stats(core, &cs);
	b->actual_bytes = cs.balloon_pages << page_shift;
	if (b->status == VCMA_OK && b->actual_bytes != b->target_bytes)
		b->status = VCMA_E_AGAIN;
	return n;
}

#endif /* VCMA_IOC_CORE_H */
