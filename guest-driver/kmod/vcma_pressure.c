// SPDX-License-Identifier: GPL-2.0-only
/*
 * vcma.ko: deflate under guest memory pressure (module option
 * deflate_on_pressure, off by default, like virtio-balloon's deflate-on-oom).
 * This file owns the shrinker, the OOM notifier, the queue of chunks given
 * back that user space has not read yet (VCMA_IOC_PRESSURE, poll() on
 * /dev/vcma) and the counters in /sys/kernel/vcma/pressure/.
 *
 * Which chunks may go back: a chunk the host has not acted on yet may still
 * be punched by it, and a punch under memory the guest uses again loses that
 * memory's data. So only chunks the balloon held when user space last said
 * the host has acted on every report (VCMA_PRESSURE_F_ACK, sent by the agent
 * when a new BALLOON_SET arrives) are eligible: their grant ids are copied
 * then, and given back one by one through the core's release, newest first.
 * An id the core no longer has (a requested deflate took it) is skipped.
 *
 * When: the shrinker counts and gives back only while MemAvailable is below
 * the module's safety floor (the level at which inflation stops), so that
 * ordinary page-cache reclaim never deflates; each call gives back at most
 * pressure_chunk_mb and only what brings MemAvailable back to the floor. The
 * OOM notifier gives back up to pressure_chunk_mb per call. Both stop when
 * the queue is full: the host is never more than VCMA_PRESSURE_QUEUE chunks
 * behind.
 *
 * Locking: the eligible list and the counters change with vcma_dev.lock
 * held. Reclaim and the OOM path only try that lock (its holder may itself be
 * allocating) and give nothing back when it stays taken, so reading the queue
 * must not take it: the queue and the balloon size seen last (balloon_pages,
 * refreshed under vcma_dev.lock whenever the balloon changes) are guarded by
 * vp.lock, a spinlock nested inside vcma_dev.lock. poll() and the sysfs
 * files read single words without a lock.
 */
#include <linux/ktime.h>
#include <linux/mm.h>
#include <linux/module.h>
#include <linux/oom.h>
#include <linux/poll.h>
#include <linux/sched.h>
#include <linux/shrinker.h>
#include <linux/slab.h>
#include <linux/uaccess.h>
#include <linux/wait.h>

#include "vcma_kmod.h"

#define VCMA_PRESSURE_QUEUE	1024	/* chunks given back, not read yet */
/* Grant ids looked at per call at most: stale ids are skipped in bounded time. */
#define VCMA_PRESSURE_MAX_TRIES	1024
/* The OOM path tries the lock this often, a jiffy apart (another reclaimer may hold it). */
#define VCMA_PRESSURE_OOM_LOCK_TRIES	10

static bool deflate_on_pressure;
module_param(deflate_on_pressure, bool, 0444);
MODULE_PARM_DESC(deflate_on_pressure,
		 "Give balloon chunks back to the guest under memory pressure (default off)");

static unsigned int pressure_chunk_mb = 64;
module_param(pressure_chunk_mb, uint, 0444);
MODULE_PARM_DESC(pressure_chunk_mb,
		 "MiB given back at most per shrinker or OOM call (default 64)");

struct vcma_pressure_chunk {
	u64 id;			/* core grant id (eligible list only) */
	u64 pfn;
	u32 order;
};

static struct {
	struct vcma_pressure_chunk *eligible;	/* kvmalloc'd, newest last */
	u32 nr_eligible;
	spinlock_t lock;			/* queue, nr_queued, balloon_pages */
	struct vcma_pressure_chunk queue[VCMA_PRESSURE_QUEUE];
	u32 nr_queued;
	u64 balloon_pages;			/* the core's, when last changed */
	u64 deflated_bytes, events, oom_events, busy, last_ns;
	wait_queue_head_t wq;
	bool shrinker_on, oom_on;
} vp = {
	.lock = __SPIN_LOCK_UNLOCKED(vp.lock),
};

static struct shrinker vcma_shrinker;
static struct notifier_block vcma_oom_nb;

static unsigned long vcma_pressure_cap_pages(void)
{
	return (unsigned long)pressure_chunk_mb << (20 - PAGE_SHIFT);
}

/* Pages MemAvailable is short of the floor, 0 if not short. */
static unsigned long vcma_pressure_deficit(void)
{
	long avail = si_mem_available();

	if (avail < 0)
		avail = 0;
	if ((u64)avail >= vcma_dev.floor_pages)
		return 0;
	return vcma_dev.floor_pages - avail;
}

/*
 * Give back eligible chunks until want pages went back or the cap, the
 * queue or the tries run out. vcma_dev.lock held. Returns pages given back.
 */
static unsigned long vcma_pressure_give_back(unsigned long want)
{
	unsigned long freed = 0;
	unsigned int tries = 0;

	want = min(want, vcma_pressure_cap_pages());
	while (freed < want && vp.nr_eligible && READ_ONCE(vp.nr_queued) < VCMA_PRESSURE_QUEUE &&
	       tries++ < VCMA_PRESSURE_MAX_TRIES) {
		struct vcma_pressure_chunk c = vp.eligible[--vp.nr_eligible];

		if (vcma_core_release(vcma_dev.core, c.id))
			continue;	/* already deflated on request */
		spin_lock(&vp.lock);
		vp.queue[vp.nr_queued++] = c;
		spin_unlock(&vp.lock);
		freed += 1ul << c.order;
	}
	if (freed) {
		vcma_pressure_balloon_changed();
		vp.deflated_bytes += (u64)freed << PAGE_SHIFT;
		vp.events++;
		vp.last_ns = ktime_get_ns();
		wake_up_interruptible(&vp.wq);
	}
	return freed;
}

/*
 * Never waits on vcma_dev.lock (its holder may be allocating, and so be
 * waiting for us); the OOM path, which may sleep, tries a few more times.
 */
static bool vcma_pressure_trylock(bool oom)
{
	unsigned int i;

	for (i = 0; i < (oom ? VCMA_PRESSURE_OOM_LOCK_TRIES : 1); i++) {
		if (i)
			schedule_timeout_uninterruptible(1);
		if (mutex_trylock(&vcma_dev.lock))
			return true;
	}
	WRITE_ONCE(vp.busy, vp.busy + 1);
	return false;
}

static unsigned long vcma_pressure_try(unsigned long want, bool oom)
{
	unsigned long freed;

	if (!vcma_pressure_trylock(oom))
		return 0;
	freed = vcma_pressure_give_back(want);
	if (freed && oom)
		vp.oom_events++;
	mutex_unlock(&vcma_dev.lock);
	if (freed)
		pr_info_ratelimited("vcma: gave %lu MiB of the balloon back under memory pressure (%s)\n",
			freed >> (20 - PAGE_SHIFT), oom ? "oom" : "reclaim");
	return freed;
}

static unsigned long vcma_shrink_count(struct shrinker *s, struct shrink_control *sc)
{
	u32 n = READ_ONCE(vp.nr_eligible);

	if (!n || READ_ONCE(vp.nr_queued) >= VCMA_PRESSURE_QUEUE || !vcma_pressure_deficit())
		return 0;
	/* Chunks of the common size; the exact page count is not worth the lock. */
	return (unsigned long)n << pageblock_order;
}

static unsigned long vcma_shrink_scan(struct shrinker *s, struct shrink_control *sc)
{
	unsigned long deficit = vcma_pressure_deficit(), freed;

	if (!deficit)
		return SHRINK_STOP;
	freed = vcma_pressure_try(deficit, false);
	sc->nr_scanned = freed;
	return freed ? freed : SHRINK_STOP;
}

static int vcma_oom_notify(struct notifier_block *nb, unsigned long action, void *parm)
{
	unsigned long *freed = parm;

	*freed += vcma_pressure_try(vcma_pressure_cap_pages(), true);
	return NOTIFY_OK;
}

/* VCMA_IOC_BALLOON: no inflation while the host has not heard of a deflate. */
bool vcma_pressure_hold_inflate(void)
{
	lockdep_assert_held(&vcma_dev.lock);
	return READ_ONCE(vp.nr_queued) != 0;
}

/* The balloon changed (vcma_dev.lock held): what VCMA_IOC_PRESSURE reports. */
void vcma_pressure_balloon_changed(void)
{
	struct vcma_core_stats cs;

	lockdep_assert_held(&vcma_dev.lock);
	vcma_core_get_stats(vcma_dev.core, &cs);
	spin_lock(&vp.lock);
	vp.balloon_pages = cs.balloon_pages;
	spin_unlock(&vp.lock);
}

/* Every chunk the balloon holds becomes eligible. vcma_dev.lock held. */
static int vcma_pressure_ack(void)
{
	struct vcma_pressure_chunk *el = NULL;
	struct vcma_core_stats cs;
	struct vcma_grant *all;
	u32 n, i, nr = 0;

	vcma_core_get_stats(vcma_dev.core, &cs);
	n = cs.grants;
	if (n) {
		all = kvcalloc(n, sizeof(*all), GFP_KERNEL);
		el = kvcalloc(n, sizeof(*el), GFP_KERNEL);
		if (!all || !el) {
			kvfree(all);
			kvfree(el);
			return -ENOMEM;
		}
		n = min(n, vcma_core_list(vcma_dev.core, all, n));
		for (i = 0; i < n; i++) {
			if (all[i].kind != VCMA_GRANT_BALLOON)
				continue;
			el[nr].id = all[i].id;
			el[nr].pfn = all[i].start_pfn;
			el[nr].order = ilog2(all[i].nr_pages);
			nr++;
		}
		kvfree(all);
	}
	kvfree(vp.eligible);
	vp.eligible = el;
	WRITE_ONCE(vp.nr_eligible, nr);
	vcma_pressure_balloon_changed();
	return 0;
}

/*
 * Move up to max leading queue entries of one order into gpas and drop them
 * from the queue; the order in *order, the balloon once they are out in
 * *balloon_bytes. Takes vp.lock only: never waits for vcma_dev.lock.
 */
static u32 vcma_pressure_take(u64 *gpas, u32 max, u32 *order, u64 *balloon_bytes)
{
	u64 pages;
	u32 n = 0, i;

	spin_lock(&vp.lock);
	*order = vp.nr_queued ? vp.queue[0].order : 0;
	while (n < max && n < vp.nr_queued && vp.queue[n].order == *order) {
		gpas[n] = PFN_PHYS(vp.queue[n].pfn);
		n++;
	}
	WRITE_ONCE(vp.nr_queued, vp.nr_queued - n);
	memmove(vp.queue, vp.queue + n, vp.nr_queued * sizeof(vp.queue[0]));
	pages = vp.balloon_pages;
	for (i = 0; i < vp.nr_queued; i++)
		pages += 1ull << vp.queue[i].order;
	spin_unlock(&vp.lock);
	*balloon_bytes = pages << PAGE_SHIFT;
	return n;
}

long vcma_ioc_pressure(void __user *arg)
{
	struct vcma_ioc_pressure p;
	u64 *gpas = NULL, balloon_bytes;
	u32 n = 0, order;
	int ret = 0;

	if (copy_from_user(&p, arg, sizeof(p)))
		return -EFAULT;
	if (p.argsz != sizeof(p) || p.flags & ~VCMA_PRESSURE_F_KNOWN ||
	    p.max_chunks > VCMA_PRESSURE_MAX_CHUNKS || (p.max_chunks && !p.chunks_ptr))
		return -EINVAL;

	if (p.flags & VCMA_PRESSURE_F_ACK) {
		if (mutex_lock_interruptible(&vcma_dev.lock))
			return -EINTR;
		ret = vcma_pressure_ack();
		mutex_unlock(&vcma_dev.lock);
		if (ret)
			return ret;
	}
	if (p.max_chunks) {
		gpas = kmalloc_array(p.max_chunks, sizeof(*gpas), GFP_KERNEL);
		if (!gpas)
			return -ENOMEM;
	}
	n = vcma_pressure_take(gpas, p.max_chunks, &order, &balloon_bytes);
	/* Taken from the queue: if user space cannot have them, say so loudly. */
	if (n && copy_to_user(u64_to_user_ptr(p.chunks_ptr), gpas, n * sizeof(*gpas))) {
		pr_warn("vcma: %u chunks given back under pressure could not be reported\n", n);
		ret = -EFAULT;
	}
	kfree(gpas);
	if (ret)
		return ret;

	memset(&p, 0, sizeof(p));
	p.argsz = sizeof(p);
	p.nr_chunks = n;
	p.chunk_order = order;
	p.enabled = deflate_on_pressure;
	p.pending = READ_ONCE(vp.nr_queued);
	p.balloon_bytes = balloon_bytes;
	p.eligible = READ_ONCE(vp.nr_eligible);
	p.deflated_bytes = READ_ONCE(vp.deflated_bytes);
	p.events = READ_ONCE(vp.events);
	p.oom_events = READ_ONCE(vp.oom_events);
	p.busy = READ_ONCE(vp.busy);
	p.last_ns = READ_ONCE(vp.last_ns);
	return copy_to_user(arg, &p, sizeof(p)) ? -EFAULT : 0;
}

__poll_t vcma_pressure_poll(struct file *file, poll_table *wait)
{
	poll_wait(file, &vp.wq, wait);
	return READ_ONCE(vp.nr_queued) ? EPOLLIN | EPOLLRDNORM : 0;
}

/* ---- /sys/kernel/vcma/pressure/ ------------------------------------------ */

static struct kobject *vcma_pressure_kobj;

#define VCMA_PRESSURE_ATTR(name, expr)						\
static ssize_t name##_show(struct kobject *kobj, struct kobj_attribute *attr,	\
			   char *buf)						\
{										\
	return sysfs_emit(buf, "%llu\n", (unsigned long long)(expr));		\
}										\
static struct kobj_attribute name##_attr = __ATTR_RO(name)

VCMA_PRESSURE_ATTR(enabled, deflate_on_pressure);
VCMA_PRESSURE_ATTR(chunk_mb, pressure_chunk_mb);
VCMA_PRESSURE_ATTR(deflated_bytes, READ_ONCE(vp.deflated_bytes));
VCMA_PRESSURE_ATTR(events, READ_ONCE(vp.events));
VCMA_PRESSURE_ATTR(oom_events, READ_ONCE(vp.oom_events));
VCMA_PRESSURE_ATTR(busy, READ_ONCE(vp.busy));
VCMA_PRESSURE_ATTR(queued_chunks, READ_ONCE(vp.nr_queued));
VCMA_PRESSURE_ATTR(eligible_chunks, READ_ONCE(vp.nr_eligible));

static struct attribute *vcma_pressure_attrs[] = {
	&enabled_attr.attr,
	&chunk_mb_attr.attr,
	&deflated_bytes_attr.attr,
	&events_attr.attr,
	&oom_events_attr.attr,
	&busy_attr.attr,
	&queued_chunks_attr.attr,
	&eligible_chunks_attr.attr,
	NULL,
};

static const struct attribute_group vcma_pressure_group = {
	.attrs = vcma_pressure_attrs,
};

/* After the core and /sys/kernel/vcma exist. */
int vcma_pressure_init(void)
{
	int ret;

	init_waitqueue_head(&vp.wq);
	mutex_lock(&vcma_dev.lock);
	vcma_pressure_balloon_changed();
	mutex_unlock(&vcma_dev.lock);
	if (!pressure_chunk_mb || pressure_chunk_mb > 65536) {
		pr_err("vcma: pressure_chunk_mb=%u: expected 1..65536\n", pressure_chunk_mb);
		return -EINVAL;
	}
	vcma_pressure_kobj = kobject_create_and_add("pressure", vcma_dev.kobj);
	if (!vcma_pressure_kobj)
		return -ENOMEM;
	ret = sysfs_create_group(vcma_pressure_kobj, &vcma_pressure_group);
	if (ret)
		goto out_kobj;
	if (!deflate_on_pressure)
		return 0;

	vcma_shrinker.count_objects = vcma_shrink_count;
	vcma_shrinker.scan_objects = vcma_shrink_scan;
	vcma_shrinker.seeks = DEFAULT_SEEKS;
	ret = register_shrinker(&vcma_shrinker, "vcma-balloon");
	if (ret)
		goto out_kobj;
	vp.shrinker_on = true;
	vcma_oom_nb.notifier_call = vcma_oom_notify;
	ret = register_oom_notifier(&vcma_oom_nb);
	if (ret)
		goto out_shrinker;
	vp.oom_on = true;
	pr_info("vcma: deflate on pressure on, at most %u MiB per call\n", pressure_chunk_mb);
	return 0;

out_shrinker:
	unregister_shrinker(&vcma_shrinker);
	vp.shrinker_on = false;
out_kobj:
	kobject_put(vcma_pressure_kobj);	/* removes the group too */
	vcma_pressure_kobj = NULL;
	return ret;
}

/* Before the core goes: no reclaim or OOM call may reach it afterwards. */
void vcma_pressure_exit(void)
{
	if (vp.oom_on)
		unregister_oom_notifier(&vcma_oom_nb);
	if (vp.shrinker_on)
		unregister_shrinker(&vcma_shrinker);
	vp.oom_on = false;
	vp.shrinker_on = false;
	kobject_put(vcma_pressure_kobj);
	vcma_pressure_kobj = NULL;
	kvfree(vp.eligible);
	vp.eligible = NULL;
	vp.nr_eligible = 0;
}
