// SPDX-License-Identifier: MIT
/*
 * The "sim" backend: a simulated guest. The mm core (guest-driver/core) runs
 * in-process on the userspace mm model (guest-driver/model) exactly as it
 * runs in vcma.ko on the real kernel, and its answers are translated into
 * the ioctl structs the module would fill, so the handler cannot tell the
 * difference. Used by the host daemon's integration tests and the demo when
 * no VM can boot.
 *
 * The model runs on virtual time; tick() advances it by the real time that
 * passed since the previous tick (capped), so the workload keeps changing
 * memory between requests the way a live guest would.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>

#include "agent_util.h"
#include "backend.h"
#include "balloon.h"

#if VCMA_HAVE_SIM

#include "vcma_model.h"
#include "vcma_ioc_core.h"

#define SIM_PAGE_SHIFT		12
#define SIM_PAGEBLOCK_ORDER	9
#define SIM_MAX_ORDER		11	/* Linux 6.1's MAX_ORDER */
#define SIM_MAX_GRANTS		4096
#define SIM_DEFAULT_DEADLINE_MS	1000
#define SIM_MAX_TICK_US		(1000u * 1000u)	/* never simulate more than 1 s per tick */

struct sim_backend {
	struct vcma_model *model;
	struct vcma_core *core;
	uint8_t boot_id[16];
	uint64_t floor_pages;
	uint64_t last_tick_us;		/* real monotonic time of the previous tick */
	struct vcma_ioc_evac evac;	/* of the last reserve */
	int have_evac;
};

static uint64_t real_now_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
}

static int sim_version(void *priv, struct vcma_ioc_version *out)
{
	(void)priv;
	out->abi_version = VCMA_ABI_VERSION;
	out->page_size = 1u << SIM_PAGE_SHIFT;
	out->pageblock_order = SIM_PAGEBLOCK_ORDER;
	out->max_order = SIM_MAX_ORDER;
	return 0;
}

static int sim_reserve(void *priv, struct vcma_ioc_reserve *io)
{
	struct sim_backend *s = priv;
	struct vcma_core_request req;
	struct vcma_core_evidence ev;
	struct vcma_grant g;
	int ret;

	vcma_ioc_to_core_request(io, &req);
	memset(&ev, 0, sizeof(ev));
	memset(&g, 0, sizeof(g));
	ret = vcma_ioc_reserve_errno(vcma_core_reserve(s->core, &req, &g, &ev), &ev);
	vcma_core_to_ioc_evidence(&ev, &io->ev);
	vcma_core_to_ioc_evac(&ev, (uint64_t)(req.deadline_ms ? req.deadline_ms :
					      SIM_DEFAULT_DEADLINE_MS) * 1000, &s->evac);
	s->have_evac = 1;
	if (ret)
		return ret;
	io->grant_id = g.id;
	io->phys_addr = g.start_pfn << SIM_PAGE_SHIFT;
	io->granted_size = g.nr_pages << SIM_PAGE_SHIFT;
	return 0;
}

static int sim_evidence(void *priv, struct vcma_ioc_evac *out)
{
	struct sim_backend *s = priv;

	if (!s->have_evac)
		return -ENODATA;
	*out = s->evac;
	return 0;
}

static int sim_release(void *priv, uint64_t grant_id)
{
	struct sim_backend *s = priv;
	struct vcma_grant g;

	/* Balloon chunks are not the host's to release one by one. */
	if (vcma_core_find(s->core, grant_id, &g) == 0 && g.kind != VCMA_GRANT_RESERVE)
		return -ENOENT;
	return vcma_core_release(s->core, grant_id);
}

static int sim_list(void *priv, struct vcma_ioc_grant *out, uint32_t max, uint32_t *total)
{
	struct sim_backend *s = priv;
	struct vcma_grant *g = NULL;
	uint32_t n, i;

	if (max) {
		g = calloc(max, sizeof(*g));
		if (!g)
			return -ENOMEM;
	}
	n = vcma_core_list(s->core, g, max);
	for (i = 0; i < n && i < max; i++) {
		memset(&out[i], 0, sizeof(out[i]));
		out[i].grant_id = g[i].id;
		out[i].phys_addr = g[i].start_pfn << SIM_PAGE_SHIFT;
		out[i].size = g[i].nr_pages << SIM_PAGE_SHIFT;
		out[i].tag = g[i].tag;
		out[i].kind = g[i].kind == VCMA_GRANT_BALLOON ? AGENT_GRANT_BALLOON
							     : AGENT_GRANT_RESERVE;
		memcpy(out[i].label, g[i].label, sizeof(out[i].label));
		out[i].label[sizeof(out[i].label) - 1] = '\0';
	}
	free(g);
	*total = n;
	return 0;
}

static int sim_stats(void *priv, struct vcma_ioc_stats *out)
{
	struct sim_backend *s = priv;
	uint64_t total, free_pages, avail;
	struct vcma_core_stats cs;
	unsigned int i;

	vcma_core_get_stats(s->core, &cs);
	vcma_model_meminfo(s->model, &total, &free_pages, &avail);
	memset(out, 0, sizeof(*out));
	out->argsz = sizeof(*out);
	out->reserve_ok = cs.reserve_ok;
	out->reserve_fail = cs.reserve_fail;
	for (i = 0; i < VCMA_CORE_NR_CAUSES && i < 16; i++)
		out->fail_by_cause[i] = cs.fail_by_cause[i];
	out->pages_migrated = cs.pages_migrated;
	out->pinned_met = cs.pinned_met;
	out->bh_invalidations = cs.bh_invalidations;
	out->retries = cs.retries;
	out->grants = cs.grants;
	out->bytes_held = (cs.pages_held - cs.balloon_pages) << SIM_PAGE_SHIFT;
	out->balloon_bytes = cs.balloon_pages << SIM_PAGE_SHIFT;
	out->floor_pages = s->floor_pages;
	/* Ballooned chunks leave MemTotal, as adjust_managed_page_count does in the kernel. */
	out->mem_total = (total - cs.balloon_pages) << SIM_PAGE_SHIFT;
	out->mem_free = free_pages << SIM_PAGE_SHIFT;
	out->mem_available = avail << SIM_PAGE_SHIFT;
	out->last_cause = cs.last_cause;
	out->last_error = cs.last_error;
	return 0;
}

static int sim_meminfo(void *priv, struct agent_meminfo *out)
{
	struct sim_backend *s = priv;
	struct vcma_zone_span spans[VCMA_MAX_MEM_RANGES];
	const struct vcma_backend_ops *ops;
	uint64_t total, free_pages, avail;
	struct vcma_core_stats cs;
	void *ctx;
	int n, i;

	memset(out, 0, sizeof(*out));
	vcma_model_meminfo(s->model, &total, &free_pages, &avail);
	vcma_core_get_stats(s->core, &cs);
	out->mem_total = (total - cs.balloon_pages) << SIM_PAGE_SHIFT;
	out->mem_free = free_pages << SIM_PAGE_SHIFT;
	out->mem_available = avail << SIM_PAGE_SHIFT;
	vcma_model_backend(s->model, &ops, &ctx);
	n = ops->zones(ctx, spans, VCMA_MAX_MEM_RANGES);
	for (i = 0; i < n && i < VCMA_MAX_MEM_RANGES; i++) {
		struct vcma_mem_range_h *r = &out->ranges[out->nr_ranges++];

		r->gpa = spans[i].start_pfn << SIM_PAGE_SHIFT;
		r->size = (spans[i].end_pfn - spans[i].start_pfn) << SIM_PAGE_SHIFT;
		r->node = spans[i].node;
		r->zone = spans[i].type <= VCMA_ZONE_MAX ? (uint8_t)spans[i].type
							 : VCMA_ZONE_NORMAL;
		if (spans[i].type == VCMA_ZT_MOVABLE)
			out->mem_movable += r->size;
	}
	return 0;
}

static int sim_boot_id(void *priv, uint8_t out[16])
{
	struct sim_backend *s = priv;

	memcpy(out, s->boot_id, 16);
	return 0;
}

static void sim_tick(void *priv)
{
	struct sim_backend *s = priv;
	const struct vcma_model_scenario *sc = vcma_model_get_scenario(s->model);
	uint64_t now = real_now_us();
	uint64_t elapsed = now - s->last_tick_us;
	uint32_t tick_us = sc && sc->tick_us ? sc->tick_us : 1000;

	s->last_tick_us = now;
	if (elapsed > SIM_MAX_TICK_US)
		elapsed = SIM_MAX_TICK_US;
	if (elapsed >= tick_us)
		vcma_model_step(s->model, (unsigned int)(elapsed / tick_us));
}

static int sim_balloon(void *priv, struct vcma_ioc_balloon *io)
{
	struct sim_backend *s = priv;

	return agent_balloon_core_step(s->core, SIM_PAGE_SHIFT, io);
}

static void sim_free(void *priv)
{
	struct sim_backend *s = priv;

	if (s->core)
		vcma_core_free(s->core);
	if (s->model)
		vcma_model_free(s->model);
	free(s);
}

static const struct agent_backend_ops sim_ops = {
	.name = "sim",
	.version = sim_version,
	.reserve = sim_reserve,
	.evidence = sim_evidence,
	.release = sim_release,
	.list = sim_list,
	.stats = sim_stats,
	.meminfo = sim_meminfo,
	.boot_id = sim_boot_id,
	.tick = sim_tick,
	.free = sim_free,
	.balloon = sim_balloon,
};

int agent_backend_sim_available(void)
{
	return 1;
}

int agent_backend_sim_new(const struct agent_sim_opts *opts, struct agent_backend *out)
{
	struct vcma_model_config mc = {
		.mem_bytes = opts->mem_bytes,
		.seed = opts->seed,
		.movable_pct = -1,
		.preset = opts->workload,
	};
	struct vcma_core_config cc = {
		.page_shift = SIM_PAGE_SHIFT,
		.pageblock_order = SIM_PAGEBLOCK_ORDER,
		.max_grants = SIM_MAX_GRANTS,
		.default_deadline_ms = SIM_DEFAULT_DEADLINE_MS,
	};
	const struct vcma_backend_ops *ops;
	struct sim_backend *s;
	char err[256] = "";
	void *ctx;

	s = calloc(1, sizeof(*s));
	if (!s)
		return -ENOMEM;
	if (vcma_model_create(&mc, &s->model, err, sizeof(err))) {
		log_err("simulated guest: %s", err[0] ? err : "bad model configuration");
		sim_free(s);
		return -EINVAL;
	}
	/* Default floor: 1/16 of memory, the guest must keep room to live. */
	s->floor_pages = (opts->floor_bytes ? opts->floor_bytes
					    : vcma_model_nr_pages(s->model) << SIM_PAGE_SHIFT >> 4)
			 >> SIM_PAGE_SHIFT;
	cc.floor_pages = s->floor_pages;
	vcma_model_backend(s->model, &ops, &ctx);
	s->core = vcma_core_new(ops, ctx, &cc);
	if (!s->core) {
		log_err("simulated guest: cannot start the mm core");
		sim_free(s);
		return -ENOMEM;
	}
	if (opts->boot_id)
		memcpy(s->boot_id, opts->boot_id, 16);
	else if (getrandom(s->boot_id, sizeof(s->boot_id), 0) != sizeof(s->boot_id))
		memset(s->boot_id, 0x5a, sizeof(s->boot_id));
	s->last_tick_us = real_now_us();
	out->ops = &sim_ops;
	out->priv = s;
	out->caps = VCMA_CAP_RESERVE | VCMA_CAP_STATUS | VCMA_CAP_BALLOON | VCMA_CAP_EVENTS |
		    VCMA_CAP_ADDR_LIMIT | VCMA_CAP_BALLOON_STATS;
	out->procfs = out->vcma_sysfs = NULL;	/* counters come from the model */
	return 0;
}

#else /* !VCMA_HAVE_SIM */

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

#endif
