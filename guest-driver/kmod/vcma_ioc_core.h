/* SPDX-License-Identifier: GPL-2.0-only OR MIT */
/*
 * Translation between the /dev/vcma ioctl structs (vcma_uapi.h) and the mm
 * core's (vcma_core.h). Shared by vcma.ko and the agent's simulated guest,
 * which serves the same ioctl structs from the core running on the model.
 * Include vcma_core.h and vcma_uapi.h (or their kernel equivalents) first.
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
	__builtin_memcpy(req->label, r->label, sizeof(req->label));
	req->label[sizeof(req->label) - 1] = '\0';
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

#endif /* VCMA_IOC_CORE_H */
