/* SPDX-License-Identifier: MIT */
/*
 * The agent's backend: where reservations really happen. The interface is
 * shaped like the /dev/vcma ioctl ABI (guest-driver/kmod/vcma_uapi.h) so that
 * the "dev" backend is a thin ioctl wrapper and the "sim" backend (the mm core
 * on the userspace mm model) answers with exactly the structs the kernel
 * would fill. Every call returns 0 or a negative errno.
 *
 * Threading: a backend is not locked; the agent calls it from one thread at
 * a time (its worker thread), the unit tests from the test thread.
 */
#ifndef VCMA_AGENT_BACKEND_H
#define VCMA_AGENT_BACKEND_H

#include <stddef.h>
#include <stdint.h>

#include "vcma_codec.h"
#include "vcma_uapi.h"

/* struct vcma_ioc_grant.kind values (vcma_uapi.h names them only in a comment). */
#define AGENT_GRANT_RESERVE	1
#define AGENT_GRANT_BALLOON	2

/* What HELLO tells the host about this guest's memory. */
struct agent_meminfo {
	uint64_t mem_total, mem_free, mem_available, mem_movable;	/* bytes */
	uint32_t nr_ranges;
	struct vcma_mem_range_h ranges[VCMA_MAX_MEM_RANGES];
};

struct agent_backend_ops {
	const char *name;
	/* Page size, pageblock order, MAX_ORDER; -ENODEV when the module is absent. */
	int (*version)(void *priv, struct vcma_ioc_version *out);
	/* argsz and the inputs set by the caller; outputs (ev too) filled on failure as well. */
	int (*reserve)(void *priv, struct vcma_ioc_reserve *io);
	int (*release)(void *priv, uint64_t grant_id);
	/* Up to max grants in id order into out; *total = all outstanding. */
	int (*list)(void *priv, struct vcma_ioc_grant *out, uint32_t max, uint32_t *total);
	int (*stats)(void *priv, struct vcma_ioc_stats *out);
	int (*meminfo)(void *priv, struct agent_meminfo *out);
	int (*boot_id)(void *priv, uint8_t out[16]);
	/* Optional: let simulated time pass (the sim workload runs). */
	void (*tick)(void *priv);
	void (*free)(void *priv);
	/* Optional: one VCMA_IOC_BALLOON step (see balloon.h); NULL = no balloon. */
	int (*balloon)(void *priv, struct vcma_ioc_balloon *io);
	/*
	 * Optional: the exact evacuation evidence of the last reserve
	 * (VCMA_IOC_EVIDENCE); -ENODATA before one, -ENOTTY from an older module.
	 */
	int (*evidence)(void *priv, struct vcma_ioc_evac *out);
	/*
	 * Optional: a dma-buf fd of a grant (VCMA_IOC_EXPORT; io->flags and
	 * grant_id set by the caller, fd and size filled); NULL = none.
	 */
	int (*export_dmabuf)(void *priv, struct vcma_ioc_export *io);
	/*
	 * Optional: what keeps grant_id from release (VCMA_GRANT_F_* and the
	 * holder a RELEASE names, see agent_parse_holders); NULL = the backend
	 * knows no holders. 0, or -ENOENT for an unknown grant.
	 */
	int (*holders)(void *priv, uint64_t grant_id, uint32_t *flags, char *holder,
		       size_t len);
	/*
	 * Optional: VCMA_CAP_* beyond agent_backend.caps that the backend can
	 * serve now (the module may have come, gone or changed since); called
	 * after version(). NULL = none.
	 */
	uint64_t (*extra_caps)(void *priv);
	/*
	 * Optional: VCMA_IOC_PRESSURE (chunks the module gave back under memory
	 * pressure; -ENOTTY from an older module), and a new descriptor, closed
	 * by the caller, that polls readable while such chunks wait. NULL = the
	 * backend never deflates on its own.
	 */
	int (*pressure)(void *priv, struct vcma_ioc_pressure *io);
	int (*pressure_fd)(void *priv);
};

struct agent_backend {
	const struct agent_backend_ops *ops;
	void *priv;
	uint64_t caps;		/* VCMA_CAP_* this backend can serve */
	/* BALLOON_STATS sources (stats.h): the guest's procfs and vcma.ko's sysfs, NULL = none. */
	const char *procfs, *vcma_sysfs;
};

/*
 * All outstanding grants, in a buffer that grows as needed and is reused
 * between calls. At most AGENT_LIST_MAX: vcma.ko's LIST refuses larger buffers.
 */
#define AGENT_LIST_MAX	4096

struct agent_grant_list {
	struct vcma_ioc_grant *grants;
	uint32_t cap, nr;
};

/* 0 and l->nr set, or negative errno (-EOVERFLOW: more than AGENT_LIST_MAX). */
int agent_list_grants(struct agent_backend *be, struct agent_grant_list *l);
void agent_grant_list_free(struct agent_grant_list *l);

/* dev: /dev/vcma at path (NULL = VCMA_DEV_PATH); opened lazily, so the module may come later. */
int agent_backend_dev_new(const char *path, struct agent_backend *out);

struct agent_sim_opts {
	uint64_t mem_bytes;	/* simulated guest RAM */
	const char *workload;	/* model preset name, NULL = model default */
	uint64_t seed;
	uint64_t floor_bytes;	/* safety floor, 0 = 1/16 of memory */
	const uint8_t *boot_id;	/* 16 bytes, NULL = random per process */
};

/* sim: available only when the mm core and model were built; -ENOTSUP otherwise. */
int agent_backend_sim_new(const struct agent_sim_opts *opts, struct agent_backend *out);

/* Whether this build has the sim backend. */
int agent_backend_sim_available(void);

/* What this backend can serve now: what HELLO offers the host. */
static inline uint64_t agent_backend_caps(const struct agent_backend *be)
{
	return be->caps | (be->ops->extra_caps ? be->ops->extra_caps(be->priv) : 0);
}

static inline void agent_backend_free(struct agent_backend *be)
{
	if (be->ops && be->ops->free)
		be->ops->free(be->priv);
	be->ops = NULL;
	be->priv = NULL;
}

/* Shared by both backends: the guest's /proc/meminfo, /proc/zoneinfo and boot id. */
int agent_read_meminfo(const char *proc_root, struct agent_meminfo *out);
int agent_read_boot_id(const char *path, uint8_t out[16]);
int agent_parse_uuid(const char *s, uint8_t out[16]);

#endif /* VCMA_AGENT_BACKEND_H */
