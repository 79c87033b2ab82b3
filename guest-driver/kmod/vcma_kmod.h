/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * vcma.ko internals shared by its files: the one device instance, the mutex
 * that serialises every call into the mm core, and the per-grant state the
 * module keeps beside the core (mappings, sysfs directory).
 *
 * Locking: vcma_dev.lock (a mutex) protects the core, the grant list and
 * the owned-range table. Backend callbacks run with it held (the core only
 * calls them from inside vcma_core_*), so they never take it.
 * vcma_dev.holders_lock (a spinlock, nested inside vcma_dev.lock) guards
 * every grant's holder list beside it: changes take both, so code holding
 * either may read the list. The grant's sysfs files read holders under the
 * spinlock alone because grant directories are removed with the mutex held.
 */
#ifndef VCMA_KMOD_H
#define VCMA_KMOD_H

#include <linux/kobject.h>
#include <linux/list.h>
#include <linux/mutex.h>
#include <linux/spinlock.h>
#include <linux/types.h>

/*
 * The kernel's pageblock_order macro would rewrite the fields of that name
 * in the core's, the ABI's and the wire protocol's structs: the headers are
 * read with it hidden, and those fields are written only through the
 * setters below.
 */
#pragma push_macro("pageblock_order")
#undef pageblock_order
#include "vcma_core.h"
#include "vcma_proto.h"
#include "vcma_uapi.h"
#include "vcma_ioc_core.h"

static inline void vcma_cfg_set_pageblock_order(struct vcma_core_config *cfg,
						u32 order)
{
	cfg->pageblock_order = order;
}

static inline void vcma_version_set_pageblock_order(struct vcma_ioc_version *v,
						    u32 order)
{
	v->pageblock_order = order;
}
#pragma pop_macro("pageblock_order")

#include "vcma_claim.h"

/*
 * Who keeps a grant from being released: a driver's claim (vcma_claim.h, at
 * most one per grant) or a live dma-buf of the grant (VCMA_IOC_EXPORT, at
 * most one too). User mappings are counted apart (mappings).
 */
enum vcma_holder_kind {
	VCMA_HOLDER_CLAIM,
	VCMA_HOLDER_EXPORT,
};

/* Holders per grant, so that listing them stays bounded. */
#define VCMA_MAX_HOLDERS	64

struct vcma_kgrant;

struct vcma_holder {
	struct list_head node;		/* in vcma_kgrant.holders */
	struct vcma_kgrant *g;
	enum vcma_holder_kind kind;
	char owner[VCMA_CLAIM_OWNER_LEN];
};

struct vcma_kgrant {
	struct list_head node;
	u64 id;
	u64 start_pfn;
	u64 nr_pages;
	u64 max_addr;			/* the request's limit, 0 = none */
	unsigned int mappings;		/* live VMAs; release refused while > 0 */
	struct list_head holders;	/* struct vcma_holder; release refused while any */
	unsigned int nr_holders;
	unsigned int nr_claims;		/* 0 or 1 */
	char label[VCMA_CORE_LABEL_LEN];
	struct kobject kobj;		/* /sys/kernel/vcma/grants/<id>/, owns this */
};

struct vcma_dev {
	struct mutex lock;
	spinlock_t holders_lock;	/* see the top of this file */
	struct vcma_core *core;
	struct list_head grants;	/* struct vcma_kgrant, by id */
	struct kobject *kobj;		/* /sys/kernel/vcma */
	struct kobject *grants_kobj;	/* /sys/kernel/vcma/grants */
	u64 floor_pages;
	u32 strategy;
	u64 deadline_ns;		/* of the request in progress, 0: none */
	u64 deadline_len_ns;		/* its length: sizes evacuation pieces */
	int group;			/* gid for /dev/vcma, -1: root only */
};

extern struct vcma_dev vcma_dev;

/* vcma_backend.c */
extern const struct vcma_backend_ops vcma_kernel_backend;
/* Hooks the migration tracepoints that make the evidence exact. */
void vcma_backend_init(void);
void vcma_backend_exit(void);
/* Take an evacuated range out of the managed pages (balloon chunk). */
void vcma_backend_mark_ballooned(u64 start_pfn);
/* Per-class counts over every online zone (debugfs page_classes). */
void vcma_backend_scan_all(struct vcma_range_summary *sum);

/* vcma_sysfs.c */
int vcma_sysfs_init(void);
void vcma_sysfs_exit(void);
/* On failure g has been freed. */
int vcma_sysfs_add_grant(struct vcma_kgrant *g);
void vcma_sysfs_del_grant(struct vcma_kgrant *g);

/* vcma_main.c */
struct vcma_kgrant *vcma_find_kgrant(u64 id);

/*
 * vcma_claim.c: holders. vcma_kgrant_hold() takes the export holder
 * reference on g (a live dma-buf) that blocks its release exactly as a claim
 * does and shows owner (copied, sanitised, "dma-buf:<comm>[<pid>]") in the
 * grant's holders as "export <owner>"; it also
 * holds a reference on the module. Called with vcma_dev.lock held; returns
 * the holder or ERR_PTR(-EINVAL / -ENOMEM / -ENOSPC (VCMA_MAX_HOLDERS) /
 * -ENODEV (module going)). vcma_kgrant_unhold() drops it and takes
 * vcma_dev.lock itself (may sleep; the caller must keep the module alive
 * across the call, e.g. as the dma-buf core does with its own reference);
 * vcma_kgrant_unhold_locked() is the same for a caller holding the lock.
 */
struct vcma_holder *vcma_kgrant_hold(struct vcma_kgrant *g, const char *owner);
void vcma_kgrant_unhold(struct vcma_holder *h);
void vcma_kgrant_unhold_locked(struct vcma_holder *h);
/* Any holder or mapping (release must be refused). vcma_dev.lock held. */
bool vcma_kgrant_busy(const struct vcma_kgrant *g);
/*
 * Copy the name of who keeps g busy into buf (the claim's owner first, then
 * other holders', "mmap" for a user mapping) and return true, or return
 * false with buf "" if nobody does. vcma_dev.lock held.
 */
bool vcma_kgrant_owner(const struct vcma_kgrant *g, char *buf, size_t len);
/* sysfs grants/<id>/holders: one "<kind> <owner>" line per holder. */
ssize_t vcma_kgrant_show_holders(struct vcma_kgrant *g, char *buf);
/* sysfs grants/<id>/exported: 1 while a dma-buf of g is alive, else 0. */
ssize_t vcma_kgrant_show_exported(struct vcma_kgrant *g, char *buf);
/*
 * Map [page, page + size) for DMA by dev without bouncing (the check of
 * vcma_claim_dma_map, which is built on it): -ERANGE if dev cannot reach
 * every byte, -EINVAL for bad arguments, -ENOMEM if mapping failed.
 */
int vcma_range_dma_map(struct device *dev, struct page *page, size_t size,
		       enum dma_data_direction dir, dma_addr_t *addr);
void vcma_range_dma_unmap(struct device *dev, dma_addr_t addr, size_t size,
			  enum dma_data_direction dir);

/* vcma_dmabuf.c: VCMA_IOC_EXPORT. */
long vcma_ioc_export(void __user *arg);

/*
 * vcma_pressure.c: deflate under memory pressure. init after the core and
 * /sys/kernel/vcma, exit before either goes. hold_inflate: chunks given back
 * are queued that user space has not read (no inflation then);
 * balloon_changed: call after every change of the balloon. Both with
 * vcma_dev.lock held.
 */
struct poll_table_struct;
int vcma_pressure_init(void);
void vcma_pressure_exit(void);
bool vcma_pressure_hold_inflate(void);
void vcma_pressure_balloon_changed(void);
long vcma_ioc_pressure(void __user *arg);
__poll_t vcma_pressure_poll(struct file *file, struct poll_table_struct *wait);

#endif /* VCMA_KMOD_H */
