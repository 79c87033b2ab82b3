// SPDX-License-Identifier: GPL-2.0-only
/*
 * dma-buf export of a grant (VCMA_IOC_EXPORT): any importer in the guest
 * (a device driver, or userspace through the fd) gets the grant as one
 * contiguous buffer, and the dma-buf core's fences and sync-file ioctls
 * (DMA_BUF_IOCTL_EXPORT_SYNC_FILE / IMPORT_SYNC_FILE) work on it.
 *
 * One dma-buf per grant at a time: a second export while the first is
 * alive fails with -EBUSY (share the fd instead: dup, fork, SCM_RIGHTS).
 * A live dma-buf is a holder of its grant ("dma-buf:<comm>[<pid>]"), so the
 * grant cannot be released until the last reference to the buffer is gone
 * (fd closed, mappings unmapped, importers detached); the holder also pins
 * vcma.ko.
 *
 * Device mappings are never bounced: map_dma_buf refuses with -ERANGE an
 * importer whose DMA mask or bus limit does not reach every byte
 * (vcma_range_dma_map). The memory is ordinary cacheable RAM in the direct
 * map, so vmap is page_address() and CPU access brackets sync the device
 * mappings that exist.
 *
 * Locking: vcma_dev.lock guards the export list and the grant lookup;
 * each buffer's attachment list has its own mutex (taken inside nothing
 * else). Callbacks from the dma-buf core run in process context.
 */
#include <linux/dma-buf.h>
#include <linux/dma-mapping.h>
#include <linux/err.h>
#include <linux/fcntl.h>
#include <linux/file.h>
#include <linux/iosys-map.h>
#include <linux/mm.h>
#include <linux/module.h>
#include <linux/scatterlist.h>
#include <linux/sched.h>
#include <linux/slab.h>
#include <linux/uaccess.h>

#include "vcma_kmod.h"

MODULE_IMPORT_NS(DMA_BUF);

struct vcma_dmabuf {
	struct list_head node;		/* in vcma_exports, under vcma_dev.lock */
	u64 grant_id;
	u64 start_pfn;
	u64 nr_pages;
	struct vcma_holder *holder;
	struct mutex lock;		/* attachments */
	struct list_head attachments;	/* struct vcma_dmabuf_attach */
};

/* One importer device; mapped while sgt is set. */
struct vcma_dmabuf_attach {
	struct list_head node;
	struct device *dev;
	struct sg_table *sgt;
	enum dma_data_direction dir;
};

static LIST_HEAD(vcma_exports);

static struct vcma_dmabuf *vcma_find_export(u64 grant_id)
{
	struct vcma_dmabuf *b;

	lockdep_assert_held(&vcma_dev.lock);
	list_for_each_entry(b, &vcma_exports, node)
		if (b->grant_id == grant_id)
			return b;
	return NULL;
}

static int vcma_dmabuf_attach(struct dma_buf *dmabuf,
			      struct dma_buf_attachment *attach)
{
	struct vcma_dmabuf *b = dmabuf->priv;
	struct vcma_dmabuf_attach *a;

	a = kzalloc(sizeof(*a), GFP_KERNEL);
	if (!a)
		return -ENOMEM;
	a->dev = attach->dev;
	a->dir = DMA_NONE;
	attach->priv = a;
	mutex_lock(&b->lock);
	list_add_tail(&a->node, &b->attachments);
	mutex_unlock(&b->lock);
	return 0;
}

static void vcma_dmabuf_detach(struct dma_buf *dmabuf,
			       struct dma_buf_attachment *attach)
{
	struct vcma_dmabuf *b = dmabuf->priv;
	struct vcma_dmabuf_attach *a = attach->priv;

	mutex_lock(&b->lock);
	list_del(&a->node);
	mutex_unlock(&b->lock);
	kfree(a);
}

/* One segment covering the grant, mapped for attach->dev or refused. */
static struct sg_table *vcma_dmabuf_map(struct dma_buf_attachment *attach,
					enum dma_data_direction dir)
{
	struct vcma_dmabuf *b = attach->dmabuf->priv;
	struct vcma_dmabuf_attach *a = attach->priv;
	size_t size = b->nr_pages << PAGE_SHIFT;
	struct sg_table *sgt;
	dma_addr_t addr;
	int ret;

	/* A scatterlist entry's length is 32 bits. */
	if (size > UINT_MAX)
		return ERR_PTR(-E2BIG);
	sgt = kzalloc(sizeof(*sgt), GFP_KERNEL);
	if (!sgt)
		return ERR_PTR(-ENOMEM);
	ret = sg_alloc_table(sgt, 1, GFP_KERNEL);
	if (ret)
		goto out_free;
	sg_set_page(sgt->sgl, pfn_to_page(b->start_pfn), size, 0);
	ret = vcma_range_dma_map(attach->dev, pfn_to_page(b->start_pfn), size,
				 dir, &addr);
	if (ret)
		goto out_table;
	sg_dma_address(sgt->sgl) = addr;
	sg_dma_len(sgt->sgl) = size;
	sgt->nents = 1;

	mutex_lock(&b->lock);
	a->sgt = sgt;
	a->dir = dir;
	mutex_unlock(&b->lock);
	return sgt;

out_table:
	sg_free_table(sgt);
out_free:
	kfree(sgt);
	return ERR_PTR(ret);
}

static void vcma_dmabuf_unmap(struct dma_buf_attachment *attach,
			      struct sg_table *sgt, enum dma_data_direction dir)
{
	struct vcma_dmabuf *b = attach->dmabuf->priv;
	struct vcma_dmabuf_attach *a = attach->priv;

	mutex_lock(&b->lock);
	if (a->sgt == sgt) {
		a->sgt = NULL;
		a->dir = DMA_NONE;
	}
	mutex_unlock(&b->lock);
	vcma_range_dma_unmap(attach->dev, sg_dma_address(sgt->sgl),
			     sg_dma_len(sgt->sgl), dir);
	sg_free_table(sgt);
	kfree(sgt);
}

/* Make the CPU's view current (begin) or the devices' (end). */
static int vcma_dmabuf_sync(struct dma_buf *dmabuf, bool for_cpu)
{
	struct vcma_dmabuf *b = dmabuf->priv;
	struct vcma_dmabuf_attach *a;

	mutex_lock(&b->lock);
	list_for_each_entry(a, &b->attachments, node) {
		if (!a->sgt)
			continue;
		if (for_cpu)
			dma_sync_single_for_cpu(a->dev, sg_dma_address(a->sgt->sgl),
						sg_dma_len(a->sgt->sgl), a->dir);
		else
			dma_sync_single_for_device(a->dev, sg_dma_address(a->sgt->sgl),
						   sg_dma_len(a->sgt->sgl), a->dir);
	}
	mutex_unlock(&b->lock);
	return 0;
}

static int vcma_dmabuf_begin_cpu(struct dma_buf *dmabuf,
				 enum dma_data_direction dir)
{
	return vcma_dmabuf_sync(dmabuf, true);
}

static int vcma_dmabuf_end_cpu(struct dma_buf *dmabuf,
			       enum dma_data_direction dir)
{
	return vcma_dmabuf_sync(dmabuf, false);
}

/* The dma-buf core has checked that the VMA fits in the buffer. */
static int vcma_dmabuf_mmap(struct dma_buf *dmabuf, struct vm_area_struct *vma)
{
	struct vcma_dmabuf *b = dmabuf->priv;

	if (!(vma->vm_flags & VM_MAYSHARE))
		return -EINVAL;
	vma->vm_flags |= VM_DONTEXPAND | VM_DONTDUMP;
	return remap_pfn_range(vma, vma->vm_start, b->start_pfn + vma->vm_pgoff,
			       vma->vm_end - vma->vm_start, vma->vm_page_prot);
}

/* Grants are RAM in the kernel's direct map. */
static int vcma_dmabuf_vmap(struct dma_buf *dmabuf, struct iosys_map *map)
{
	struct vcma_dmabuf *b = dmabuf->priv;

	iosys_map_set_vaddr(map, page_address(pfn_to_page(b->start_pfn)));
	return 0;
}

static void vcma_dmabuf_vunmap(struct dma_buf *dmabuf, struct iosys_map *map)
{
}

/* Last reference gone: the grant may be released again. */
static void vcma_dmabuf_release(struct dma_buf *dmabuf)
{
	struct vcma_dmabuf *b = dmabuf->priv;

	mutex_lock(&vcma_dev.lock);
	list_del(&b->node);
	vcma_kgrant_unhold_locked(b->holder);
	mutex_unlock(&vcma_dev.lock);
	WARN_ON(!list_empty(&b->attachments));
	mutex_destroy(&b->lock);
	kfree(b);
}

static const struct dma_buf_ops vcma_dmabuf_ops = {
	.cache_sgt_mapping = true,
	.attach = vcma_dmabuf_attach,
	.detach = vcma_dmabuf_detach,
	.map_dma_buf = vcma_dmabuf_map,
	.unmap_dma_buf = vcma_dmabuf_unmap,
	.release = vcma_dmabuf_release,
	.begin_cpu_access = vcma_dmabuf_begin_cpu,
	.end_cpu_access = vcma_dmabuf_end_cpu,
	.mmap = vcma_dmabuf_mmap,
	.vmap = vcma_dmabuf_vmap,
	.vunmap = vcma_dmabuf_vunmap,
};

#define VCMA_EXPORT_FLAGS	(O_CLOEXEC | O_ACCMODE)

long vcma_ioc_export(void __user *arg)
{
	DEFINE_DMA_BUF_EXPORT_INFO(exp);
	struct vcma_ioc_export e;
	struct vcma_kgrant *g;
	struct vcma_dmabuf *b;
	struct dma_buf *buf;
	char owner[VCMA_CLAIM_OWNER_LEN];
	u32 usize;
	int ret, fd;

	if (get_user(usize, (u32 __user *)arg))
		return -EFAULT;
	ret = copy_struct_from_user(&e, sizeof(e), arg, usize);
	if (ret)
		return ret == -E2BIG ? -EINVAL : ret;
	if (usize < offsetofend(struct vcma_ioc_export, size) ||
	    e.flags & ~VCMA_EXPORT_FLAGS || e.reserved)
		return -EINVAL;
	if ((e.flags & O_ACCMODE) != O_RDONLY && (e.flags & O_ACCMODE) != O_RDWR)
		return -EINVAL;
	if (!e.grant_id)
		return -ENOENT;

	b = kzalloc(sizeof(*b), GFP_KERNEL);
	if (!b)
		return -ENOMEM;
	mutex_init(&b->lock);
	INIT_LIST_HEAD(&b->attachments);
	snprintf(owner, sizeof(owner), "dma-buf:%s[%d]", current->comm,
		 task_pid_nr(current));

	if (mutex_lock_interruptible(&vcma_dev.lock)) {
		ret = -EINTR;
		goto out_free;
	}
	g = vcma_find_kgrant(e.grant_id);
	if (!g) {
		ret = -ENOENT;
		goto out_unlock;
	}
	if (vcma_find_export(e.grant_id)) {
		ret = -EBUSY;
		goto out_unlock;
	}
	b->holder = vcma_kgrant_hold(g, owner);
	if (IS_ERR(b->holder)) {
		ret = PTR_ERR(b->holder);
		goto out_unlock;
	}
	b->grant_id = g->id;
	b->start_pfn = g->start_pfn;
	b->nr_pages = g->nr_pages;

	exp.ops = &vcma_dmabuf_ops;
	exp.size = g->nr_pages << PAGE_SHIFT;
	exp.flags = e.flags & O_ACCMODE;
	exp.priv = b;
	buf = dma_buf_export(&exp);
	if (IS_ERR(buf)) {
		ret = PTR_ERR(buf);
		goto out_unhold;
	}
	list_add_tail(&b->node, &vcma_exports);
	mutex_unlock(&vcma_dev.lock);

	/* From here on the buffer owns b: dma_buf_put() releases it all. */
	fd = get_unused_fd_flags(e.flags & O_CLOEXEC);
	if (fd < 0) {
		dma_buf_put(buf);
		return fd;
	}
	e.fd = fd;
	e.size = exp.size;
	if (copy_to_user(arg, &e, min_t(size_t, usize, sizeof(e)))) {
		put_unused_fd(fd);
		dma_buf_put(buf);
		return -EFAULT;
	}
	fd_install(fd, buf->file);
	return 0;

out_unhold:
	vcma_kgrant_unhold_locked(b->holder);
out_unlock:
	mutex_unlock(&vcma_dev.lock);
out_free:
	mutex_destroy(&b->lock);
	kfree(b);
	return ret;
}
