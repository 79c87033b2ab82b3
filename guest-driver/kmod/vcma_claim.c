// SPDX-License-Identifier: GPL-2.0-only
/*
 * Holders of grants and the exported claim API (include/vcma_claim.h).
 *
 * A holder is a named reference on a grant: a driver's claim, or another
 * holder inside the module (a live dma-buf). While a grant has any holder,
 * or a user mapping, RELEASE is refused with -EBUSY and the host is told who
 * holds it. Each holder also holds a reference on this module, so rmmod
 * reports it in use; that is what keeps the grant list (and so every
 * holder's grant) alive for as long as a holder exists: grants leave the
 * list only through RELEASE, which is refused, or module exit, which cannot
 * start.
 *
 * Locking: holders are added and removed under vcma_dev.lock (the module
 * mutex, which also orders them against RELEASE) and, nested inside it,
 * vcma_dev.holders_lock, which is all the sysfs reader takes. Claims come
 * from other drivers' probe and remove paths: they sleep on the mutex and
 * must not be taken in atomic context. A claim's grant fields (id, pfn,
 * size, label) never change while it is held, so the accessors take no lock.
 */
#include <linux/dma-direct.h>
#include <linux/dma-map-ops.h>
#include <linux/dma-mapping.h>
#include <linux/err.h>
#include <linux/export.h>
#include <linux/mm.h>
#include <linux/module.h>
#include <linux/scatterlist.h>
#include <linux/slab.h>
#include <linux/string.h>

#include "vcma_kmod.h"

/* The public handle is the holder itself; the type stays opaque outside. */
struct vcma_claim {
	struct vcma_holder h;
};

static const char *const vcma_holder_kind_names[] = {
	[VCMA_HOLDER_CLAIM] = "claim",
	[VCMA_HOLDER_EXPORT] = "export",
};

/*
 * Owner names travel to the host and into sysfs lines of "<kind> <owner>":
 * keep them one printable word.
 */
static int vcma_copy_owner(char *dst, const char *owner)
{
	size_t i;

	if (!owner || !owner[0])
		return -EINVAL;
	for (i = 0; i < VCMA_CLAIM_OWNER_LEN - 1 && owner[i]; i++)
		dst[i] = owner[i] > ' ' && owner[i] < 0x7f ? owner[i] : '_';
	dst[i] = '\0';
	return 0;
}

static struct vcma_holder *vcma_holder_new(struct vcma_kgrant *g,
					   enum vcma_holder_kind kind,
					   const char *owner, size_t alloc)
{
	struct vcma_holder *h;
	int ret;

	lockdep_assert_held(&vcma_dev.lock);
	if (g->nr_holders >= VCMA_MAX_HOLDERS)
		return ERR_PTR(-ENOSPC);
	h = kzalloc(alloc, GFP_KERNEL);
	if (!h)
		return ERR_PTR(-ENOMEM);
	ret = vcma_copy_owner(h->owner, owner);
	if (ret) {
		kfree(h);
		return ERR_PTR(ret);
	}
	if (!try_module_get(THIS_MODULE)) {
		kfree(h);
		return ERR_PTR(-ENODEV);
	}
	h->g = g;
	h->kind = kind;
	spin_lock(&vcma_dev.holders_lock);
	list_add_tail(&h->node, &g->holders);
	g->nr_holders++;
	if (kind == VCMA_HOLDER_CLAIM)
		g->nr_claims++;
	spin_unlock(&vcma_dev.holders_lock);
	return h;
}

/* Unlinks h; the caller frees it and then drops the module reference. */
static void vcma_holder_unlink(struct vcma_holder *h)
{
	struct vcma_kgrant *g = h->g;

	lockdep_assert_held(&vcma_dev.lock);
	spin_lock(&vcma_dev.holders_lock);
	list_del(&h->node);
	g->nr_holders--;
	if (h->kind == VCMA_HOLDER_CLAIM)
		g->nr_claims--;
	spin_unlock(&vcma_dev.holders_lock);
}

struct vcma_holder *vcma_kgrant_hold(struct vcma_kgrant *g, const char *owner)
{
	return vcma_holder_new(g, VCMA_HOLDER_EXPORT, owner, sizeof(struct vcma_holder));
}

void vcma_kgrant_unhold_locked(struct vcma_holder *h)
{
	vcma_holder_unlink(h);
	kfree(h);
	module_put(THIS_MODULE);
}

void vcma_kgrant_unhold(struct vcma_holder *h)
{
	mutex_lock(&vcma_dev.lock);
	vcma_holder_unlink(h);
	mutex_unlock(&vcma_dev.lock);
	kfree(h);
	/* Last: the caller's own reference keeps this text alive past it. */
	module_put(THIS_MODULE);
}

bool vcma_kgrant_busy(const struct vcma_kgrant *g)
{
	lockdep_assert_held(&vcma_dev.lock);
	return g->nr_holders || g->mappings;
}

bool vcma_kgrant_owner(const struct vcma_kgrant *g, char *buf, size_t len)
{
	const struct vcma_holder *h, *pick = NULL;

	lockdep_assert_held(&vcma_dev.lock);
	list_for_each_entry(h, &g->holders, node) {
		if (h->kind == VCMA_HOLDER_CLAIM) {
			pick = h;
			break;
		}
		if (!pick)
			pick = h;
	}
	if (pick)
		strscpy(buf, pick->owner, len);
	else if (g->mappings)
		strscpy(buf, "mmap", len);
	else
		strscpy(buf, "", len);
	return pick || g->mappings;
}

ssize_t vcma_kgrant_show_holders(struct vcma_kgrant *g, char *buf)
{
	const struct vcma_holder *h;
	unsigned int mappings;
	int len = 0;

	/* At most VCMA_MAX_HOLDERS short lines: well within the page. */
	spin_lock(&vcma_dev.holders_lock);
	list_for_each_entry(h, &g->holders, node)
		len += sysfs_emit_at(buf, len, "%s %s\n",
				     vcma_holder_kind_names[h->kind], h->owner);
	spin_unlock(&vcma_dev.holders_lock);
	/* Changed under the mutex only; a snapshot is all a reader gets. */
	mappings = READ_ONCE(g->mappings);
	if (mappings)
		len += sysfs_emit_at(buf, len, "mmap %u\n", mappings);
	return len;
}

ssize_t vcma_kgrant_show_exported(struct vcma_kgrant *g, char *buf)
{
	const struct vcma_holder *h;
	int exported = 0;

	spin_lock(&vcma_dev.holders_lock);
	list_for_each_entry(h, &g->holders, node)
		exported |= h->kind == VCMA_HOLDER_EXPORT;
	spin_unlock(&vcma_dev.holders_lock);
	return sysfs_emit(buf, "%d\n", exported);
}

static int vcma_check_name(const char *s, size_t max)
{
	if (!s || !s[0] || strnlen(s, max) == max)
		return -EINVAL;
	return 0;
}

static struct vcma_claim *vcma_claim_grant(struct vcma_kgrant *g, const char *owner)
{
	struct vcma_holder *h;

	h = vcma_holder_new(g, VCMA_HOLDER_CLAIM, owner, sizeof(struct vcma_claim));
	if (IS_ERR(h))
		return ERR_CAST(h);
	return container_of(h, struct vcma_claim, h);
}

struct vcma_claim *vcma_claim_label(const char *label, const char *owner)
{
	struct vcma_claim *c = ERR_PTR(-ENOENT);
	struct vcma_kgrant *g;

	might_sleep();
	if (vcma_check_name(label, VCMA_CORE_LABEL_LEN) || !owner || !owner[0])
		return ERR_PTR(-EINVAL);
	if (mutex_lock_killable(&vcma_dev.lock))
		return ERR_PTR(-EINTR);
	/* Bounded by the grant table (max_grants). */
	list_for_each_entry(g, &vcma_dev.grants, node) {
		if (strcmp(g->label, label))
			continue;
		if (g->nr_claims) {
			c = ERR_PTR(-EBUSY);
			continue;
		}
		c = vcma_claim_grant(g, owner);
		break;
	}
	mutex_unlock(&vcma_dev.lock);
	return c;
}
EXPORT_SYMBOL_GPL(vcma_claim_label);

struct vcma_claim *vcma_claim_id(u64 grant_id, const char *owner)
{
	struct vcma_claim *c;
	struct vcma_kgrant *g;

	might_sleep();
	if (!owner || !owner[0])
		return ERR_PTR(-EINVAL);
	if (mutex_lock_killable(&vcma_dev.lock))
		return ERR_PTR(-EINTR);
	g = grant_id ? vcma_find_kgrant(grant_id) : NULL;
	if (!g)
		c = ERR_PTR(-ENOENT);
	else if (g->nr_claims)
		c = ERR_PTR(-EBUSY);
	else
		c = vcma_claim_grant(g, owner);
	mutex_unlock(&vcma_dev.lock);
	return c;
}
EXPORT_SYMBOL_GPL(vcma_claim_id);

void vcma_claim_put(struct vcma_claim *c)
{
	if (IS_ERR_OR_NULL(c))
		return;
	might_sleep();
	vcma_kgrant_unhold(&c->h);
}
EXPORT_SYMBOL_GPL(vcma_claim_put);

u64 vcma_claim_grant_id(const struct vcma_claim *c)
{
	return c->h.g->id;
}
EXPORT_SYMBOL_GPL(vcma_claim_grant_id);

size_t vcma_claim_size(const struct vcma_claim *c)
{
	return (size_t)c->h.g->nr_pages << PAGE_SHIFT;
}
EXPORT_SYMBOL_GPL(vcma_claim_size);

phys_addr_t vcma_claim_phys(const struct vcma_claim *c)
{
	return PFN_PHYS(c->h.g->start_pfn);
}
EXPORT_SYMBOL_GPL(vcma_claim_phys);

struct page *vcma_claim_page(const struct vcma_claim *c)
{
	return pfn_to_page(c->h.g->start_pfn);
}
EXPORT_SYMBOL_GPL(vcma_claim_page);

const char *vcma_claim_label_of(const struct vcma_claim *c)
{
	return c->h.g->label;
}
EXPORT_SYMBOL_GPL(vcma_claim_label_of);

/* The largest page multiple an sg entry's 32-bit length holds. */
#define VCMA_SG_MAX_SEG	((size_t)(UINT_MAX & PAGE_MASK))

int vcma_claim_sg_table(const struct vcma_claim *c, struct sg_table *sgt)
{
	size_t left = vcma_claim_size(c), seg;
	unsigned long pfn = c->h.g->start_pfn;
	unsigned int nents = DIV_ROUND_UP(left, VCMA_SG_MAX_SEG);
	struct scatterlist *sg;
	unsigned int i;
	int ret;

	ret = sg_alloc_table(sgt, nents, GFP_KERNEL);
	if (ret)
		return ret;
	for_each_sgtable_sg(sgt, sg, i) {
		seg = min(left, VCMA_SG_MAX_SEG);
		sg_set_page(sg, pfn_to_page(pfn), seg, 0);
		pfn += seg >> PAGE_SHIFT;
		left -= seg;
	}
	return 0;
}
EXPORT_SYMBOL_GPL(vcma_claim_sg_table);

static u64 vcma_dma_limit(struct device *dev)
{
	return min_not_zero(dma_get_mask(dev), dev->bus_dma_limit);
}

/* Shared by claims and the dma-buf exporter (vcma_dmabuf.c). */
int vcma_range_dma_map(struct device *dev, struct page *page, size_t size,
		       enum dma_data_direction dir, dma_addr_t *addr)
{
	phys_addr_t phys = page_to_phys(page);
	dma_addr_t first = 0, last, a;
	bool direct;
	u64 limit;

	if (!dev || !addr || !size || !valid_dma_direction(dir) || !dev->dma_mask)
		return -EINVAL;
	limit = vcma_dma_limit(dev);
	direct = !get_dma_ops(dev);
	if (direct) {
		/* Refuse before mapping: the DMA API would bounce it instead. */
		first = phys_to_dma(dev, phys);
		last = phys_to_dma(dev, phys + size - 1);
		if (first == DMA_MAPPING_ERROR || last == DMA_MAPPING_ERROR ||
		    last < first || last - first != size - 1 || last > limit)
			return -ERANGE;
	}
	a = dma_map_page_attrs(dev, page, 0, size, dir, 0);
	if (dma_mapping_error(dev, a))
		return -ENOMEM;
	if ((direct && a != first) || a + (size - 1) < a || a + (size - 1) > limit) {
		/* Bounced (swiotlb=force) or out of reach: never hand it out. */
		dma_unmap_page_attrs(dev, a, size, dir, 0);
		return -ERANGE;
	}
	*addr = a;
	return 0;
}

void vcma_range_dma_unmap(struct device *dev, dma_addr_t addr, size_t size,
			  enum dma_data_direction dir)
{
	dma_unmap_page_attrs(dev, addr, size, dir, 0);
}

int vcma_claim_dma_map(const struct vcma_claim *c, struct device *dev,
		       enum dma_data_direction dir, dma_addr_t *addr)
{
	return vcma_range_dma_map(dev, vcma_claim_page(c), vcma_claim_size(c),
				  dir, addr);
}
EXPORT_SYMBOL_GPL(vcma_claim_dma_map);

void vcma_claim_dma_unmap(const struct vcma_claim *c, struct device *dev,
			  enum dma_data_direction dir, dma_addr_t addr)
{
	vcma_range_dma_unmap(dev, addr, vcma_claim_size(c), dir);
}
EXPORT_SYMBOL_GPL(vcma_claim_dma_unmap);
