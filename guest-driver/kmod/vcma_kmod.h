/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * vcma.ko internals shared by its files: the one device instance, the mutex
 * that serialises every call into the mm core, and the per-grant state the
 * module keeps beside the core (mappings, sysfs directory).
 *
 * Locking: vcma_dev.lock (a mutex) protects the core, the grant list and
 * the owned-range table. Backend callbacks run with it held (the core only
 * calls them from inside vcma_core_*), so they never take it.
 */
#ifndef VCMA_KMOD_H
#define VCMA_KMOD_H

#include <linux/kobject.h>
#include <linux/list.h>
#include <linux/mutex.h>
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

struct vcma_kgrant {
	struct list_head node;
	u64 id;
	u64 start_pfn;
	u64 nr_pages;
	unsigned int mappings;		/* live VMAs; release refused while > 0 */
	char label[VCMA_CORE_LABEL_LEN];
	struct kobject kobj;		/* /sys/kernel/vcma/grants/<id>/, owns this */
};

struct vcma_dev {
	struct mutex lock;
	struct vcma_core *core;
	struct list_head grants;	/* struct vcma_kgrant, by id */
	struct kobject *kobj;		/* /sys/kernel/vcma */
	struct kobject *grants_kobj;	/* /sys/kernel/vcma/grants */
	u64 floor_pages;
	u32 strategy;
	u64 deadline_ns;		/* of the request in progress, 0: none */
	int group;			/* gid for /dev/vcma, -1: root only */
};

extern struct vcma_dev vcma_dev;

/* vcma_backend.c */
extern const struct vcma_backend_ops vcma_kernel_backend;
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

#endif /* VCMA_KMOD_H */
