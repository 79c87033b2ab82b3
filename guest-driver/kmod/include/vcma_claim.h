/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * vcma claim API: how another guest kernel driver takes the contiguous
 * range the host reserved for it (a vcma grant) and hands it to a device.
 *
 * A claim is one reference on one grant, taken by label or by grant id and
 * carrying an owner name (e.g. "edu 0000:00:03.0") that the guest's sysfs
 * (/sys/kernel/vcma/grants/<id>/holders) and the host (vcmactl status,
 * "busy, claimed by <owner>") show. A grant has at most one claim at a
 * time; other holders (a live dma-buf of the grant, a user mapping) may
 * exist beside it. While a grant has any holder it cannot be released: the
 * RELEASE ioctl fails with -EBUSY and the host gets "claimed". Every claim
 * also holds a reference on vcma.ko, so the module cannot be unloaded from
 * under a user.
 *
 * The range is physically contiguous and stays where it is (vcma never
 * moves or frees a held grant); its memory was zeroed when it was granted.
 *
 * Context: vcma_claim_label(), vcma_claim_id(), vcma_claim_put() and
 * vcma_claim_sg_table() sleep (they take vcma's module mutex, which a
 * reservation in progress may hold for up to its deadline, or allocate):
 * process context only, e.g. a probe or remove path, never atomic context
 * or an interrupt handler. vcma_claim_dma_map() and vcma_claim_dma_unmap()
 * may be called wherever the DMA API's dma_map_page() may. The accessors
 * (grant id, size, phys, page) take no lock and may be called anywhere
 * while the claim is held.
 *
 * Out-of-tree users include this header and build against vcma.ko's
 * Module.symvers (KBUILD_EXTRA_SYMBOLS); every symbol is GPL-only.
 */
#ifndef VCMA_CLAIM_H
#define VCMA_CLAIM_H

#include <linux/dma-direction.h>
#include <linux/types.h>

struct device;
struct page;
struct sg_table;

/* Owner names are truncated to this many bytes with the NUL; characters
 * outside printable ASCII (and spaces) become '_'. */
#define VCMA_CLAIM_OWNER_LEN	32

struct vcma_claim;	/* opaque */

/*
 * Claim the first grant labelled label that has no claim yet. Returns the
 * claim or ERR_PTR: -EINVAL (label or owner NULL, empty or too long),
 * -ENOENT (no grant has this label), -EBUSY (every such grant is claimed),
 * -ENOMEM, -EINTR (fatal signal while waiting), -ENODEV (vcma.ko is
 * being unloaded). owner is copied.
 */
struct vcma_claim *vcma_claim_label(const char *label, const char *owner);
/* The same for one grant by id: -ENOENT (no such grant), -EBUSY (claimed). */
struct vcma_claim *vcma_claim_id(u64 grant_id, const char *owner);
/* Drop the claim; the grant is releasable once its last holder is gone. */
void vcma_claim_put(struct vcma_claim *c);

u64 vcma_claim_grant_id(const struct vcma_claim *c);
size_t vcma_claim_size(const struct vcma_claim *c);
phys_addr_t vcma_claim_phys(const struct vcma_claim *c);
/* First page; the range is vcma_claim_size() bytes of consecutive pages. */
struct page *vcma_claim_page(const struct vcma_claim *c);
/* The label the grant was reserved with ("" if none). */
const char *vcma_claim_label_of(const struct vcma_claim *c);

/*
 * Fill sgt (allocated by the caller, freed with sg_free_table()) with the
 * grant: one segment, or segments of just under 4 GiB each for larger
 * grants (an sg entry's length is 32 bits). 0 or -ENOMEM.
 */
int vcma_claim_sg_table(const struct vcma_claim *c, struct sg_table *sgt);

/*
 * Map the whole grant for DMA by dev. When dev uses direct mapping (no
 * IOMMU) the grant's bus addresses are checked against dev's DMA mask and
 * bus limit before mapping: -ERANGE if any byte is out of reach; a mapping
 * that would be bounced through swiotlb is undone and refused with -ERANGE
 * too, never used. Behind an IOMMU the returned address is checked against
 * the mask. -EINVAL for bad arguments, -ENOMEM if the mapping failed.
 * On success *addr is the bus address of the first byte and the range is
 * contiguous on the bus as well.
 */
int vcma_claim_dma_map(const struct vcma_claim *c, struct device *dev,
		       enum dma_data_direction dir, dma_addr_t *addr);
void vcma_claim_dma_unmap(const struct vcma_claim *c, struct device *dev,
			  enum dma_data_direction dir, dma_addr_t addr);

#endif /* VCMA_CLAIM_H */
