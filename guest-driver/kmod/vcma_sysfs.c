// SPDX-License-Identifier: GPL-2.0-only
/*
 * Status for guest admins: /sys/kernel/vcma/, one value per file, like
 * /sys/kernel/mm/cma/<area>/. Counters come from the core's statistics;
 * each grant has a directory grants/<id>/ with phys_addr, size, label
 * (what u-dma-buf users read), max_addr (the limit it was reserved under,
 * 0 for none), holders (who keeps it from release: one "claim <owner>" or
 * "export dma-buf:<comm>[<pid>]" line each, "mmap N") and exported (1
 * while a dma-buf of it lives). debugfs vcma/page_classes holds a full
 * scan of every online page by class, for tests and debugging only.
 *
 * Locking: show() takes vcma_dev.lock to read the core; grant directories
 * are added and removed under it. A grant's kobject owns the grant memory.
 */
#include <linux/debugfs.h>
#include <linux/kobject.h>
#include <linux/mm.h>
#include <linux/seq_file.h>
#include <linux/slab.h>
#include <linux/sysfs.h>

#include "vcma_kmod.h"

static struct dentry *vcma_debugfs;

static int vcma_read_stats(struct vcma_core_stats *cs)
{
	if (mutex_lock_interruptible(&vcma_dev.lock))
		return -EINTR;
	vcma_core_get_stats(vcma_dev.core, cs);
	mutex_unlock(&vcma_dev.lock);
	return 0;
}

/* One read-only attribute per statistic, each selecting a field. */
struct vcma_stat_attr {
	struct kobj_attribute attr;
	long long (*get)(const struct vcma_core_stats *cs);
};

static ssize_t vcma_stat_show(struct kobject *kobj, struct kobj_attribute *attr,
			      char *buf)
{
	struct vcma_stat_attr *sa = container_of(attr, struct vcma_stat_attr, attr);
	struct vcma_core_stats cs;
	int ret = vcma_read_stats(&cs);

	if (ret)
		return ret;
	return sysfs_emit(buf, "%lld\n", sa->get(&cs));
}

#define VCMA_STAT(_name, _expr)						\
	static long long vcma_get_##_name(const struct vcma_core_stats *cs) \
	{								\
		return (long long)(_expr);				\
	}								\
	static struct vcma_stat_attr vcma_attr_##_name = {		\
		.attr = __ATTR(_name, 0444, vcma_stat_show, NULL),	\
		.get = vcma_get_##_name,				\
	}

/* nr_grants: grants/ is the directory of the grants themselves. */
VCMA_STAT(nr_grants, cs->grants);
VCMA_STAT(bytes_held, cs->pages_held << PAGE_SHIFT);
VCMA_STAT(reserve_ok, cs->reserve_ok);
VCMA_STAT(reserve_fail, cs->reserve_fail);
VCMA_STAT(pages_migrated, cs->pages_migrated);
VCMA_STAT(pinned_met, cs->pinned_met);
VCMA_STAT(bh_invalidations, cs->bh_invalidations);
VCMA_STAT(retries, cs->retries);
VCMA_STAT(ranges_scanned, cs->ranges_scanned);
VCMA_STAT(ranges_tried, cs->ranges_tried);
VCMA_STAT(last_error, cs->last_error);
VCMA_STAT(fail_unmovable, cs->fail_by_cause[VCMA_CORE_CAUSE_UNMOVABLE]);
VCMA_STAT(fail_pinned, cs->fail_by_cause[VCMA_CORE_CAUSE_PINNED]);
VCMA_STAT(fail_pagevec, cs->fail_by_cause[VCMA_CORE_CAUSE_PAGEVEC]);
VCMA_STAT(fail_bh_lru, cs->fail_by_cause[VCMA_CORE_CAUSE_BH_LRU]);
VCMA_STAT(fail_writeback, cs->fail_by_cause[VCMA_CORE_CAUSE_WRITEBACK]);
VCMA_STAT(fail_no_range, cs->fail_by_cause[VCMA_CORE_CAUSE_NO_RANGE]);
VCMA_STAT(fail_floor, cs->fail_by_cause[VCMA_CORE_CAUSE_FLOOR]);
VCMA_STAT(fail_deadline, cs->fail_by_cause[VCMA_CORE_CAUSE_DEADLINE]);
VCMA_STAT(fail_migrate, cs->fail_by_cause[VCMA_CORE_CAUSE_MIGRATE]);
VCMA_STAT(fail_limit, cs->fail_by_cause[VCMA_CORE_CAUSE_LIMIT]);
VCMA_STAT(fail_addr_limit, cs->fail_by_cause[VCMA_CORE_CAUSE_ADDR_LIMIT]);
/* Balloon chunks taken in all, and of those the free blocks taken without evacuating. */
VCMA_STAT(balloon_inflated, cs->balloon_inflated);
VCMA_STAT(balloon_free_taken, cs->balloon_free_taken);
VCMA_STAT(balloon_deflated, cs->balloon_deflated);

static ssize_t last_cause_show(struct kobject *kobj, struct kobj_attribute *attr,
			       char *buf)
{
	struct vcma_core_stats cs;
	int ret = vcma_read_stats(&cs);

	if (ret)
		return ret;
	return sysfs_emit(buf, "%s\n", vcma_core_cause_name(cs.last_cause));
}

static ssize_t floor_pages_show(struct kobject *kobj, struct kobj_attribute *attr,
				char *buf)
{
	return sysfs_emit(buf, "%llu\n", vcma_dev.floor_pages);
}

static ssize_t strategy_show(struct kobject *kobj, struct kobj_attribute *attr,
			     char *buf)
{
	return sysfs_emit(buf, "%s\n", vcma_dev.strategy == VCMA_STRATEGY_NAIVE ?
			  "naive" : "planner");
}

static ssize_t group_show(struct kobject *kobj, struct kobj_attribute *attr,
			  char *buf)
{
	return sysfs_emit(buf, "%d\n", vcma_dev.group);
}

static struct kobj_attribute vcma_attr_last_cause = __ATTR_RO(last_cause);
static struct kobj_attribute vcma_attr_floor_pages = __ATTR_RO(floor_pages);
static struct kobj_attribute vcma_attr_strategy = __ATTR_RO(strategy);
static struct kobj_attribute vcma_gid_attr = __ATTR_RO(group);

static struct attribute *vcma_attrs[] = {
	&vcma_attr_nr_grants.attr.attr,
	&vcma_attr_bytes_held.attr.attr,
	&vcma_attr_reserve_ok.attr.attr,
	&vcma_attr_reserve_fail.attr.attr,
	&vcma_attr_pages_migrated.attr.attr,
	&vcma_attr_pinned_met.attr.attr,
	&vcma_attr_bh_invalidations.attr.attr,
	&vcma_attr_retries.attr.attr,
	&vcma_attr_ranges_scanned.attr.attr,
	&vcma_attr_ranges_tried.attr.attr,
	&vcma_attr_last_error.attr.attr,
	&vcma_attr_fail_unmovable.attr.attr,
	&vcma_attr_fail_pinned.attr.attr,
	&vcma_attr_fail_pagevec.attr.attr,
	&vcma_attr_fail_bh_lru.attr.attr,
	&vcma_attr_fail_writeback.attr.attr,
	&vcma_attr_fail_no_range.attr.attr,
	&vcma_attr_fail_floor.attr.attr,
	&vcma_attr_fail_deadline.attr.attr,
	&vcma_attr_fail_migrate.attr.attr,
	&vcma_attr_fail_limit.attr.attr,
	&vcma_attr_fail_addr_limit.attr.attr,
	&vcma_attr_balloon_inflated.attr.attr,
	&vcma_attr_balloon_free_taken.attr.attr,
	&vcma_attr_balloon_deflated.attr.attr,
	&vcma_attr_last_cause.attr,
	&vcma_attr_floor_pages.attr,
	&vcma_attr_strategy.attr,
	&vcma_gid_attr.attr,
	NULL,
};

static const struct attribute_group vcma_stats_group = {
	.attrs = vcma_attrs,
};

/* Per-grant directory. */
#define to_kgrant(k) container_of(k, struct vcma_kgrant, kobj)

static ssize_t phys_addr_show(struct kobject *kobj, struct kobj_attribute *attr,
			      char *buf)
{
	return sysfs_emit(buf, "%#llx\n", PFN_PHYS(to_kgrant(kobj)->start_pfn));
}

static ssize_t size_show(struct kobject *kobj, struct kobj_attribute *attr,
			 char *buf)
{
	return sysfs_emit(buf, "%llu\n", to_kgrant(kobj)->nr_pages << PAGE_SHIFT);
}

static ssize_t label_show(struct kobject *kobj, struct kobj_attribute *attr,
			  char *buf)
{
	return sysfs_emit(buf, "%s\n", to_kgrant(kobj)->label);
}

/* The limit the grant was reserved under (0: none): it ends at or below it. */
static ssize_t max_addr_show(struct kobject *kobj, struct kobj_attribute *attr,
			     char *buf)
{
	return sysfs_emit(buf, "%#llx\n", to_kgrant(kobj)->max_addr);
}

static ssize_t holders_show(struct kobject *kobj, struct kobj_attribute *attr,
			    char *buf)
{
	return vcma_kgrant_show_holders(to_kgrant(kobj), buf);
}

static ssize_t exported_show(struct kobject *kobj, struct kobj_attribute *attr,
			     char *buf)
{
	return vcma_kgrant_show_exported(to_kgrant(kobj), buf);
}

static struct kobj_attribute vcma_grant_phys_addr = __ATTR_RO(phys_addr);
static struct kobj_attribute vcma_grant_size = __ATTR_RO(size);
static struct kobj_attribute vcma_grant_label = __ATTR_RO(label);
static struct kobj_attribute vcma_grant_holders = __ATTR_RO(holders);
static struct kobj_attribute vcma_grant_exported = __ATTR_RO(exported);
static struct kobj_attribute vcma_grant_max_addr = __ATTR_RO(max_addr);

static struct attribute *vcma_grant_attrs[] = {
	&vcma_grant_phys_addr.attr,
	&vcma_grant_size.attr,
	&vcma_grant_label.attr,
	&vcma_grant_holders.attr,
	&vcma_grant_exported.attr,
	&vcma_grant_max_addr.attr,
	NULL,
};
ATTRIBUTE_GROUPS(vcma_grant);

static void vcma_grant_kobj_release(struct kobject *kobj)
{
	kfree(to_kgrant(kobj));
}

static struct kobj_type vcma_grant_ktype = {
	.release = vcma_grant_kobj_release,
	.sysfs_ops = &kobj_sysfs_ops,
	.default_groups = vcma_grant_groups,
};

int vcma_sysfs_add_grant(struct vcma_kgrant *g)
{
	int ret;

	ret = kobject_init_and_add(&g->kobj, &vcma_grant_ktype,
				   vcma_dev.grants_kobj, "%llu", g->id);
	if (ret) {
		/* The kobject owns g from init on; the caller must not free it. */
		kobject_put(&g->kobj);
		return ret;
	}
	return 0;
}

void vcma_sysfs_del_grant(struct vcma_kgrant *g)
{
	kobject_put(&g->kobj);
}

static int page_classes_show(struct seq_file *m, void *v)
{
	struct vcma_range_summary sum;
	int c;

	if (mutex_lock_interruptible(&vcma_dev.lock))
		return -EINTR;
	vcma_backend_scan_all(&sum);
	mutex_unlock(&vcma_dev.lock);
	for (c = 0; c < VCMA_NR_PAGE_CLASSES; c++)
		seq_printf(m, "%s %llu\n", vcma_page_class_name(c),
			   (unsigned long long)sum.count[c]);
	return 0;
}
DEFINE_SHOW_ATTRIBUTE(page_classes);

int vcma_sysfs_init(void)
{
	int ret;

	vcma_dev.kobj = kobject_create_and_add("vcma", kernel_kobj);
	if (!vcma_dev.kobj)
		return -ENOMEM;
	ret = sysfs_create_group(vcma_dev.kobj, &vcma_stats_group);
	if (ret)
		goto out_put;
	vcma_dev.grants_kobj = kobject_create_and_add("grants", vcma_dev.kobj);
	if (!vcma_dev.grants_kobj) {
		ret = -ENOMEM;
		goto out_group;
	}
	/* debugfs is optional: failures leave it out, never the module. */
	vcma_debugfs = debugfs_create_dir("vcma", NULL);
	debugfs_create_file("page_classes", 0400, vcma_debugfs, NULL,
			    &page_classes_fops);
	return 0;

out_group:
	sysfs_remove_group(vcma_dev.kobj, &vcma_stats_group);
out_put:
	kobject_put(vcma_dev.kobj);
	return ret;
}

void vcma_sysfs_exit(void)
{
	debugfs_remove_recursive(vcma_debugfs);
	kobject_put(vcma_dev.grants_kobj);
	sysfs_remove_group(vcma_dev.kobj, &vcma_stats_group);
	kobject_put(vcma_dev.kobj);
}
