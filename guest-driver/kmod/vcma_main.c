// SPDX-License-Identifier: GPL-2.0-only
/*
 * vcma.ko: contiguous guest-physical memory on demand. This file owns the
 * module's lifetime, its parameters and /dev/vcma (ioctl ABI in vcma_uapi.h,
 * mmap of grants). The policy lives in the mm core (guest-driver/core), the
 * kernel mm binding in vcma_backend.c, the status files in vcma_sysfs.c.
 *
 * Grants belong to the module, not to an open file: the guest agent may
 * exit and reconnect without losing them. A grant that is mapped cannot be
 * released (its pages would be freed under the mapping); a mapping pins the
 * file and the file pins the module, so at unload no mapping exists and
 * every grant is given back.
 *
 * A grant may also be held by other kernel code (vcma_claim.c: drivers'
 * claims, dma-bufs); RELEASE is refused while any holder remains, and each
 * holder pins the module.
 *
 * Balloon chunks may also go back to the guest on its own under memory
 * pressure (vcma_pressure.c, off by default); the balloon ioctl then
 * inflates nothing until user space has read what went back.
 *
 * Locking: vcma_dev.lock serialises every call into the core and guards the
 * grant list; mappings counts and holder lists are changed under it too.
 */
#include <linux/fs.h>
#include <linux/ktime.h>
#include <linux/log2.h>
#include <linux/miscdevice.h>
#include <linux/mm.h>
#include <linux/mmzone.h>
#include <linux/module.h>
#include <linux/nodemask.h>
#include <linux/slab.h>
#include <linux/uaccess.h>

#include "vcma_kmod.h"

#define VCMA_MAX_CANDIDATES	64
#define VCMA_MAX_BACKOFF_MS	50
#define VCMA_MAX_DEADLINE_MS	(10 * 60 * 1000)

static unsigned int floor_mb = 64;
module_param(floor_mb, uint, 0444);
MODULE_PARM_DESC(floor_mb, "MiB of available memory that must remain after a grant (default 64)");

static char *strategy = "planner";
module_param(strategy, charp, 0444);
MODULE_PARM_DESC(strategy,
		 "planner (scan, score, evacuate best first) or naive (first fit, like alloc_contig_pages)");

static unsigned int default_deadline_ms = 5000;
module_param(default_deadline_ms, uint, 0444);
MODULE_PARM_DESC(default_deadline_ms, "Deadline of a request that gives none (default 5000)");

static unsigned int max_grants = 16384;
module_param(max_grants, uint, 0444);
MODULE_PARM_DESC(max_grants,
		 "Grants and balloon chunks held at once (default 16384: 32 GiB of 2 MiB chunks)");

static int group = -1;
module_param(group, int, 0444);
MODULE_PARM_DESC(group, "Group id that may use /dev/vcma (mode 0660); default: root only (0600)");

struct vcma_dev vcma_dev = {
	.lock = __MUTEX_INITIALIZER(vcma_dev.lock),
	.holders_lock = __SPIN_LOCK_UNLOCKED(vcma_dev.holders_lock),
	.grants = LIST_HEAD_INIT(vcma_dev.grants),
};

struct vcma_kgrant *vcma_find_kgrant(u64 id)
{
	struct vcma_kgrant *g;

	list_for_each_entry(g, &vcma_dev.grants, node)
		if (g->id == id)
			return g;
	return NULL;
}

/* The backend bounds its evacuations by this; the core checks it too. */
static void vcma_set_deadline(u32 deadline_ms)
{
	vcma_dev.deadline_len_ns =
		(u64)(deadline_ms ? deadline_ms : default_deadline_ms) * NSEC_PER_MSEC;
	vcma_dev.deadline_ns = ktime_get_ns() + vcma_dev.deadline_len_ns;
}

/* argsz: the size the ioctl number carries (this ABI's or ABI 1's). */
static int vcma_check_reserve(const struct vcma_ioc_reserve *r, u32 argsz)
{
	u64 total = (u64)totalram_pages() << PAGE_SHIFT;

	if (r->argsz != argsz || r->flags & ~VCMA_IOC_F_KNOWN)
		return -EINVAL;
	if (!r->size || !PAGE_ALIGNED(r->size) || r->size > total)
		return -EINVAL;
	/* A limit is where the grant may end at most: page aligned, not below the size. */
	if (r->max_addr && (!PAGE_ALIGNED(r->max_addr) || r->max_addr < r->size))
		return -EINVAL;
	if (r->align && (!is_power_of_2(r->align) || r->align < PAGE_SIZE ||
			 r->align > total))
		return -EINVAL;
	if (r->node != VCMA_IOC_NODE_ANY &&
	    (r->node >= MAX_NUMNODES || !node_online(r->node)))
		return -EINVAL;
	if (r->deadline_ms > VCMA_MAX_DEADLINE_MS)
		return -EINVAL;
	if (strnlen(r->label, sizeof(r->label)) == sizeof(r->label))
		return -EINVAL;
	return 0;
}

/* Record a fresh grant beside the core; an idempotent repeat is already there. */
static int vcma_track_grant(const struct vcma_grant *cg)
{
	struct vcma_kgrant *g;
	int ret;

	if (vcma_find_kgrant(cg->id))
		return 0;
	g = kzalloc(sizeof(*g), GFP_KERNEL);
	if (!g)
		return -ENOMEM;
	g->id = cg->id;
	g->start_pfn = cg->start_pfn;
	g->nr_pages = cg->nr_pages;
	g->max_addr = cg->max_addr;
	INIT_LIST_HEAD(&g->holders);
	memcpy(g->label, cg->label, sizeof(g->label));
	g->label[sizeof(g->label) - 1] = '\0';
	ret = vcma_sysfs_add_grant(g);
	if (ret)
		return ret;
	list_add_tail(&g->node, &vcma_dev.grants);
	return 0;
}

static void vcma_untrack_grant(struct vcma_kgrant *g)
{
	list_del(&g->node);
	vcma_sysfs_del_grant(g);	/* frees g */
}

/* Per open file: the evidence of its last RESERVE (VCMA_IOC_EVIDENCE). */
struct vcma_file {
	bool have_evac;
	struct vcma_ioc_evac evac;
};

/*
 * argsz is sizeof(struct vcma_ioc_reserve) or VCMA_IOC_RESERVE_V1_SIZE (no
 * max_addr, read as 0); only that many bytes are read and written back.
 */
static long vcma_ioc_reserve(struct vcma_file *vf, void __user *arg, u32 argsz)
{
	struct vcma_core_evidence ev = {};
	struct vcma_core_request req = {};
	struct vcma_ioc_reserve r = {};
	struct vcma_grant grant;
	int ret;

	BUILD_BUG_ON(offsetof(struct vcma_ioc_reserve, max_addr) !=
		     VCMA_IOC_RESERVE_V1_SIZE);
	if (copy_from_user(&r, arg, argsz))
		return -EFAULT;
	ret = vcma_check_reserve(&r, argsz);
	if (ret)
		return ret;

	vcma_ioc_to_core_request(&r, &req);

	if (mutex_lock_interruptible(&vcma_dev.lock))
		return -EINTR;
	vcma_set_deadline(r.deadline_ms);
	ret = vcma_core_reserve(vcma_dev.core, &req, &grant, &ev);
	vcma_dev.deadline_ns = 0;
	if (!ret) {
		ret = vcma_track_grant(&grant);
		if (ret)
			vcma_core_release(vcma_dev.core, grant.id);
	}
	mutex_unlock(&vcma_dev.lock);
	ret = vcma_ioc_reserve_errno(ret, &ev);

	vcma_core_to_ioc_evidence(&ev, &r.ev);
	vcma_core_to_ioc_evac(&ev, (u64)(r.deadline_ms ? r.deadline_ms :
					 default_deadline_ms) * USEC_PER_MSEC, &vf->evac);
	vf->have_evac = true;
	if (!ret) {
		r.grant_id = grant.id;
		r.phys_addr = PFN_PHYS(grant.start_pfn);
		r.granted_size = grant.nr_pages << PAGE_SHIFT;
	} else {
		r.grant_id = 0;
		r.phys_addr = 0;
		r.granted_size = 0;
	}
	if (copy_to_user(arg, &r, argsz))
		return ret ? ret : -EFAULT;
	return ret;
}

static long vcma_ioc_features(void __user *arg)
{
	struct vcma_ioc_features f;

	if (copy_from_user(&f, arg, sizeof(f)))
		return -EFAULT;
	if (f.argsz != sizeof(f) || f.reserved)
		return -EINVAL;
	f.features = VCMA_FEAT_ADDR_LIMIT | VCMA_FEAT_CLAIMS | VCMA_FEAT_EXPORT;
	return copy_to_user(arg, &f, sizeof(f)) ? -EFAULT : 0;
}

static long vcma_ioc_release(void __user *arg)
{
	struct vcma_ioc_release r;
	struct vcma_kgrant *g;
	int ret;

	if (copy_from_user(&r, arg, sizeof(r)))
		return -EFAULT;
	if (r.argsz != sizeof(r) || r.reserved)
		return -EINVAL;
	if (!r.grant_id)
		return -ENOENT;

	if (mutex_lock_interruptible(&vcma_dev.lock))
		return -EINTR;
	g = vcma_find_kgrant(r.grant_id);
	if (!g) {
		ret = -ENOENT;
	} else if (vcma_kgrant_busy(g)) {
		ret = -EBUSY;
	} else {
		ret = vcma_core_release(vcma_dev.core, r.grant_id);
		if (!ret)
			vcma_untrack_grant(g);
	}
	mutex_unlock(&vcma_dev.lock);
	return ret;
}

#define VCMA_LIST_MAX	4096

static long vcma_ioc_list(void __user *arg)
{
	struct vcma_ioc_grant __user *ugrants;
	struct vcma_grant *cg = NULL;
	struct vcma_ioc_list l;
	u32 total, n, i;
	int ret = 0;

	if (copy_from_user(&l, arg, sizeof(l)))
		return -EFAULT;
	if (l.argsz != sizeof(l) || l.reserved || l.max_grants > VCMA_LIST_MAX)
		return -EINVAL;
	if (l.max_grants && !l.grants_ptr)
		return -EINVAL;
	ugrants = u64_to_user_ptr(l.grants_ptr);

	if (l.max_grants) {
		cg = kvcalloc(l.max_grants, sizeof(*cg), GFP_KERNEL);
		if (!cg)
			return -ENOMEM;
	}
	if (mutex_lock_interruptible(&vcma_dev.lock)) {
		kvfree(cg);
		return -EINTR;
	}
	total = vcma_core_list(vcma_dev.core, cg, l.max_grants);
	mutex_unlock(&vcma_dev.lock);

	n = min(total, l.max_grants);
	for (i = 0; i < n; i++) {
		struct vcma_ioc_grant ug = {
			.grant_id = cg[i].id,
			.phys_addr = PFN_PHYS(cg[i].start_pfn),
			.size = cg[i].nr_pages << PAGE_SHIFT,
			.tag = cg[i].tag,
			.kind = cg[i].kind,
		};

		memcpy(ug.label, cg[i].label, sizeof(ug.label));
		ug.label[sizeof(ug.label) - 1] = '\0';
		if (copy_to_user(&ugrants[i], &ug, sizeof(ug))) {
			ret = -EFAULT;
			goto out;
		}
	}
	l.nr_grants = total;
	if (copy_to_user(arg, &l, sizeof(l)))
		ret = -EFAULT;
out:
	kvfree(cg);
	return ret;
}

static long vcma_ioc_stats(void __user *arg)
{
	struct vcma_core_stats cs;
	struct vcma_ioc_stats s;
	struct sysinfo si;
	int i;

	if (copy_from_user(&s, arg, sizeof(s)))
		return -EFAULT;
	if (s.argsz != sizeof(s) || s.reserved)
		return -EINVAL;

	if (mutex_lock_interruptible(&vcma_dev.lock))
		return -EINTR;
	vcma_core_get_stats(vcma_dev.core, &cs);
	mutex_unlock(&vcma_dev.lock);

	memset(&s, 0, sizeof(s));
	s.argsz = sizeof(s);
	s.reserve_ok = cs.reserve_ok;
	s.reserve_fail = cs.reserve_fail;
	for (i = 0; i < VCMA_CORE_NR_CAUSES && i < ARRAY_SIZE(s.fail_by_cause); i++)
		s.fail_by_cause[i] = cs.fail_by_cause[i];
	s.pages_migrated = cs.pages_migrated;
	s.pinned_met = cs.pinned_met;
	s.bh_invalidations = cs.bh_invalidations;
	s.retries = cs.retries;
	s.grants = cs.grants;
	s.bytes_held = cs.pages_held << PAGE_SHIFT;
	s.balloon_bytes = cs.balloon_pages << PAGE_SHIFT;
	s.floor_pages = vcma_dev.floor_pages;
	si_meminfo(&si);
	s.mem_total = (u64)si.totalram * si.mem_unit;
	s.mem_free = (u64)si.freeram * si.mem_unit;
	s.mem_available = (u64)si_mem_available() << PAGE_SHIFT;
	s.last_cause = cs.last_cause;
	s.last_error = cs.last_error;
	if (copy_to_user(arg, &s, sizeof(s)))
		return -EFAULT;
	return 0;
}

#define VCMA_BALLOON_MAX_CHUNKS	4096
#define VCMA_BALLOON_MAX_ORDER	18	/* 1 GiB chunks */

static int vcma_check_balloon(const struct vcma_ioc_balloon *b)
{
	/* Present pages: MemTotal itself shrinks while the balloon grows. */
	u64 chunk, total = (u64)get_num_physpages() << PAGE_SHIFT;

	if (b->argsz != sizeof(*b) || b->max_chunks > VCMA_BALLOON_MAX_CHUNKS)
		return -EINVAL;
	if (b->chunk_order < pageblock_order ||
	    b->chunk_order > VCMA_BALLOON_MAX_ORDER)
		return -EINVAL;
	chunk = PAGE_SIZE << b->chunk_order;
	if (b->target_bytes % chunk || b->target_bytes > total)
		return -EINVAL;
	if (!b->max_chunks || !b->chunks_ptr)
		return -EINVAL;
	return 0;
}

/* Below the target: the step would inflate. Fills b's outputs for "not now". */
static bool vcma_balloon_would_inflate(struct vcma_ioc_balloon *b)
{
	struct vcma_core_stats cs;

	vcma_core_get_stats(vcma_dev.core, &cs);
	b->actual_bytes = cs.balloon_pages << PAGE_SHIFT;
	b->direction = 0;
	b->status = VCMA_E_AGAIN;
	return b->actual_bytes < b->target_bytes;
}

/*
 * Move the balloon towards target_bytes by at most max_chunks chunks of
 * one size, reporting each chunk's GPA. status VCMA_E_AGAIN: call again;
 * VCMA_E_FLOOR: the safety floor stopped inflation; VCMA_E_NOSPC: no
 * free chunk-sized range or the grant table is full. The step itself is
 * vcma_ioc_balloon_step() (shared with the agent's simulated guest); the
 * module adds taking the chunks out of the managed page count.
 */
static long vcma_ioc_balloon(void __user *arg)
{
	struct vcma_ioc_balloon b;
	u64 __user *uchunks;
	vcma_u64 *pfns;
	u32 i;
	int ret, n;

	if (copy_from_user(&b, arg, sizeof(b)))
		return -EFAULT;
	ret = vcma_check_balloon(&b);
	if (ret)
		return ret;
	uchunks = u64_to_user_ptr(b.chunks_ptr);
	pfns = kvcalloc(b.max_chunks, sizeof(*pfns), GFP_KERNEL);
	if (!pfns)
		return -ENOMEM;

	if (mutex_lock_interruptible(&vcma_dev.lock)) {
		kvfree(pfns);
		return -EINTR;
	}
	vcma_set_deadline(0);
	if (vcma_pressure_hold_inflate() && vcma_balloon_would_inflate(&b))
		n = 0;	/* b says E_AGAIN: the host first hears of the deflate */
	else
		n = vcma_ioc_balloon_step(vcma_dev.core, PAGE_SHIFT, &b, pfns);
	vcma_pressure_balloon_changed();
	if (b.direction == VCMA_BALLOON_INFLATED)
		for (i = 0; n > 0 && i < n; i++)
			vcma_backend_mark_ballooned(pfns[i]);
	vcma_dev.deadline_ns = 0;
	mutex_unlock(&vcma_dev.lock);

	if (n < 0) {
		ret = n;
		n = 0;
	}
	b.nr_chunks = n;
	for (i = 0; i < n; i++)
		if (put_user(PFN_PHYS(pfns[i]), &uchunks[i]))
			ret = -EFAULT;
	kvfree(pfns);
	if (!ret && copy_to_user(arg, &b, sizeof(b)))
		ret = -EFAULT;
	return ret;
}

static long vcma_ioc_evidence(struct vcma_file *vf, void __user *arg)
{
	u32 argsz;

	if (get_user(argsz, (u32 __user *)arg))
		return -EFAULT;
	if (argsz != sizeof(vf->evac))
		return -EINVAL;
	if (!vf->have_evac)
		return -ENODATA;
	return copy_to_user(arg, &vf->evac, sizeof(vf->evac)) ? -EFAULT : 0;
}

static long vcma_ioctl(struct file *file, unsigned int cmd, unsigned long arg)
{
	void __user *uarg = (void __user *)arg;
	struct vcma_file *vf = file->private_data;

	switch (cmd) {
	case VCMA_IOC_VERSION: {
		struct vcma_ioc_version v = {
			.abi_version = VCMA_ABI_VERSION,
			.page_size = PAGE_SIZE,
			.max_order = MAX_ORDER,
		};

		vcma_version_set_pageblock_order(&v, pageblock_order);
		return copy_to_user(uarg, &v, sizeof(v)) ? -EFAULT : 0;
	}
	case VCMA_IOC_RESERVE:
	case VCMA_IOC_RESERVE_V1:
		return vcma_ioc_reserve(vf, uarg, _IOC_SIZE(cmd));
	case VCMA_IOC_FEATURES:
		return vcma_ioc_features(uarg);
	case VCMA_IOC_EVIDENCE:
		return vcma_ioc_evidence(vf, uarg);
	case VCMA_IOC_RELEASE:
		return vcma_ioc_release(uarg);
	case VCMA_IOC_LIST:
		return vcma_ioc_list(uarg);
	case VCMA_IOC_STATS:
		return vcma_ioc_stats(uarg);
	case VCMA_IOC_BALLOON:
		return vcma_ioc_balloon(uarg);
	case VCMA_IOC_EXPORT:
		return vcma_ioc_export(uarg);
	case VCMA_IOC_PRESSURE:
		return vcma_ioc_pressure(uarg);
	default:
		return -ENOTTY;
	}
}

static void vcma_vm_open(struct vm_area_struct *vma)
{
	struct vcma_kgrant *g = vma->vm_private_data;

	mutex_lock(&vcma_dev.lock);
	g->mappings++;
	mutex_unlock(&vcma_dev.lock);
}

static void vcma_vm_close(struct vm_area_struct *vma)
{
	struct vcma_kgrant *g = vma->vm_private_data;

	mutex_lock(&vcma_dev.lock);
	g->mappings--;
	mutex_unlock(&vcma_dev.lock);
}

static const struct vm_operations_struct vcma_vm_ops = {
	.open = vcma_vm_open,
	.close = vcma_vm_close,
};

static int vcma_mmap(struct file *file, struct vm_area_struct *vma)
{
	unsigned long len = vma->vm_end - vma->vm_start;
	struct vcma_kgrant *g;
	int ret;

	/* A private (COW) mapping of someone else's frames makes no sense. */
	if (!(vma->vm_flags & VM_MAYSHARE))
		return -EINVAL;
	mutex_lock(&vcma_dev.lock);
	g = vcma_find_kgrant(vma->vm_pgoff);
	if (!g) {
		ret = -ENOENT;
		goto out;
	}
	if (len > g->nr_pages << PAGE_SHIFT) {
		ret = -EINVAL;
		goto out;
	}
	/* Splitting or growing the mapping would break the grant bounds. */
	vma->vm_flags |= VM_DONTEXPAND | VM_DONTDUMP;
	ret = remap_pfn_range(vma, vma->vm_start, g->start_pfn, len,
			      vma->vm_page_prot);
	if (ret)
		goto out;
	vma->vm_private_data = g;
	vma->vm_ops = &vcma_vm_ops;
	g->mappings++;
out:
	mutex_unlock(&vcma_dev.lock);
	return ret;
}

static int vcma_open(struct inode *inode, struct file *file)
{
	struct vcma_file *vf = kzalloc(sizeof(*vf), GFP_KERNEL);

	if (!vf)
		return -ENOMEM;
	file->private_data = vf;
	return 0;
}

static int vcma_release_file(struct inode *inode, struct file *file)
{
	kfree(file->private_data);
	return 0;
}

static const struct file_operations vcma_fops = {
	.owner = THIS_MODULE,
	.open = vcma_open,
	.release = vcma_release_file,
	.unlocked_ioctl = vcma_ioctl,
	.compat_ioctl = compat_ptr_ioctl,
	.mmap = vcma_mmap,
	.poll = vcma_pressure_poll,
	.llseek = noop_llseek,
};

static struct miscdevice vcma_misc = {
	.minor = MISC_DYNAMIC_MINOR,
	.name = "vcma",
	.fops = &vcma_fops,
	.mode = 0600,
};

static int vcma_parse_strategy(const char *s, u32 *out)
{
	if (sysfs_streq(s, "planner"))
		*out = VCMA_STRATEGY_PLANNER;
	else if (sysfs_streq(s, "naive"))
		*out = VCMA_STRATEGY_NAIVE;
	else
		return -EINVAL;
	return 0;
}

static int __init vcma_init(void)
{
	struct vcma_core_config cfg = {};
	int ret;

	ret = vcma_parse_strategy(strategy, &vcma_dev.strategy);
	if (ret) {
		pr_err("vcma: strategy=%s: expected planner or naive\n", strategy);
		return ret;
	}
	if (!max_grants || max_grants > 1u << 20) {
		pr_err("vcma: max_grants=%u: expected 1..%u\n", max_grants, 1u << 20);
		return -EINVAL;
	}
	if (!default_deadline_ms || default_deadline_ms > VCMA_MAX_DEADLINE_MS) {
		pr_err("vcma: default_deadline_ms=%u: expected 1..%u\n",
		       default_deadline_ms, VCMA_MAX_DEADLINE_MS);
		return -EINVAL;
	}
	/*
	 * devtmpfs creates misc nodes owned by root; the gid itself is applied
	 * by the udev rule (configs/) or the guest's init, which read it from
	 * /sys/kernel/vcma/group.
	 */
	if (group >= 0)
		vcma_misc.mode = 0660;
	vcma_dev.group = group;
	vcma_dev.floor_pages = (u64)floor_mb << (20 - PAGE_SHIFT);

	cfg.page_shift = PAGE_SHIFT;
	vcma_cfg_set_pageblock_order(&cfg, pageblock_order);
	cfg.floor_pages = vcma_dev.floor_pages;
	cfg.max_grants = max_grants;
	cfg.max_candidates = VCMA_MAX_CANDIDATES;
	cfg.default_deadline_ms = default_deadline_ms;
	cfg.max_backoff_ms = VCMA_MAX_BACKOFF_MS;
	cfg.strategy = vcma_dev.strategy;
	vcma_backend_init();
	vcma_dev.core = vcma_core_new(&vcma_kernel_backend, NULL, &cfg);
	if (!vcma_dev.core) {
		vcma_backend_exit();
		return -ENOMEM;
	}

	ret = vcma_sysfs_init();
	if (ret)
		goto out_core;
	ret = vcma_pressure_init();
	if (ret)
		goto out_sysfs;
	ret = misc_register(&vcma_misc);
	if (ret)
		goto out_pressure;
	pr_info("vcma: ready, strategy %s, floor %u MiB\n",
		vcma_dev.strategy == VCMA_STRATEGY_NAIVE ? "naive" : "planner",
		floor_mb);
	return 0;

out_pressure:
	vcma_pressure_exit();
out_sysfs:
	vcma_sysfs_exit();
out_core:
	vcma_core_free(vcma_dev.core);
	vcma_backend_exit();
	return ret;
}

/*
 * No file is open and no holder exists (each pins the module), so no ioctl,
 * mapping or claim exists; sysfs readers are drained by removing the files before the core goes.
 */
static void __exit vcma_exit(void)
{
	struct vcma_kgrant *g, *tmp;

	misc_deregister(&vcma_misc);
	mutex_lock(&vcma_dev.lock);
	list_for_each_entry_safe(g, tmp, &vcma_dev.grants, node)
		vcma_untrack_grant(g);
	mutex_unlock(&vcma_dev.lock);
	vcma_pressure_exit();
	vcma_sysfs_exit();
	vcma_core_free(vcma_dev.core);	/* gives every grant back */
	vcma_dev.core = NULL;
	vcma_backend_exit();
}

module_init(vcma_init);
module_exit(vcma_exit);
MODULE_LICENSE("GPL");
MODULE_DESCRIPTION("vcma: contiguous guest-physical memory on demand");
MODULE_VERSION("0.1.0");
