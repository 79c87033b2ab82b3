// SPDX-License-Identifier: GPL-2.0-only
/*
 * vcma_claim_test.ko: a driver that uses vcma's claim API (vcma_claim.h)
 * as any other guest driver would, built out of tree against vcma.ko's
 * Module.symvers, for the vm-kmod scenarios. Userspace drives it through
 * one debugfs file, /sys/kernel/debug/vcma_claim_test/ctl; each write is
 * one command and fails with the API's errno:
 *
 *   label SLOT LABEL OWNER   vcma_claim_label() into SLOT (0..7)
 *   id SLOT GRANT_ID OWNER   vcma_claim_id() into SLOT
 *   put SLOT                 vcma_claim_put() of SLOT
 *   map SLOT BITS            vcma_claim_dma_map() for a platform device with
 *                            a BITS-bit DMA mask, checked, then unmapped
 *   import SLOT FD BITS      import the dma-buf at the writer's fd FD as an
 *                            importing device with a BITS-bit mask would:
 *                            attach and map it, and keep it mapped
 *   unimport SLOT            unmap, detach and put that import
 *
 * Reading ctl gives one line per held slot, what the API says about it:
 *   slot N id ID size SIZE phys PHYS page_phys PHYS label LABEL
 *       sg_nents N sg_phys PHYS sg_len LEN
 * one per import: "import N nents N addr ADDR len LEN",
 * and the last map: "map slot N bits B ret ERR addr ADDR".
 * The module's exit puts whatever is still held or imported.
 */
#include <linux/debugfs.h>
#include <linux/dma-buf.h>
#include <linux/dma-mapping.h>
#include <linux/err.h>
#include <linux/io.h>
#include <linux/module.h>
#include <linux/mutex.h>
#include <linux/platform_device.h>
#include <linux/scatterlist.h>
#include <linux/seq_file.h>
#include <linux/slab.h>
#include <linux/uaccess.h>

#include "vcma_claim.h"

#define NR_SLOTS	8
#define CMD_MAX		128

MODULE_IMPORT_NS(DMA_BUF);

static struct vcma_claim *slots[NR_SLOTS];
/* Imported dma-bufs, each attached to and mapped for pdev. */
static struct {
	struct dma_buf *buf;
	struct dma_buf_attachment *attach;
	struct sg_table *sgt;
} imports[NR_SLOTS];
static DEFINE_MUTEX(slots_lock);
static struct platform_device *pdev;
static struct dentry *dir;
static struct {
	int slot;
	unsigned int bits;
	int ret;
	dma_addr_t addr;
	bool valid;
} last_map;

static int do_map(unsigned int slot, unsigned int bits)
{
	dma_addr_t addr = 0;
	int ret;

	if (bits < 24 || bits > 64)
		return -EINVAL;
	ret = dma_set_mask_and_coherent(&pdev->dev, DMA_BIT_MASK(bits));
	if (ret)
		return ret;
	ret = vcma_claim_dma_map(slots[slot], &pdev->dev, DMA_BIDIRECTIONAL, &addr);
	if (!ret)
		vcma_claim_dma_unmap(slots[slot], &pdev->dev, DMA_BIDIRECTIONAL, addr);
	last_map.slot = slot;
	last_map.bits = bits;
	last_map.ret = ret;
	last_map.addr = addr;
	last_map.valid = true;
	return 0;
}

static void do_unimport(unsigned int slot)
{
	if (imports[slot].sgt)
		dma_buf_unmap_attachment_unlocked(imports[slot].attach, imports[slot].sgt,
						  DMA_BIDIRECTIONAL);
	if (imports[slot].attach)
		dma_buf_detach(imports[slot].buf, imports[slot].attach);
	if (imports[slot].buf)
		dma_buf_put(imports[slot].buf);
	memset(&imports[slot], 0, sizeof(imports[slot]));
}

/* The fd is the writer's: debugfs writes run in its context. */
static int do_import(unsigned int slot, int fd, unsigned int bits)
{
	struct sg_table *sgt;
	int ret;

	if (bits < 24 || bits > 64)
		return -EINVAL;
	if (imports[slot].buf)
		return -EEXIST;
	ret = dma_set_mask_and_coherent(&pdev->dev, DMA_BIT_MASK(bits));
	if (ret)
		return ret;
	imports[slot].buf = dma_buf_get(fd);
	if (IS_ERR(imports[slot].buf)) {
		ret = PTR_ERR(imports[slot].buf);
		imports[slot].buf = NULL;
		return ret;
	}
	imports[slot].attach = dma_buf_attach(imports[slot].buf, &pdev->dev);
	if (IS_ERR(imports[slot].attach)) {
		ret = PTR_ERR(imports[slot].attach);
		imports[slot].attach = NULL;
		goto out;
	}
	sgt = dma_buf_map_attachment_unlocked(imports[slot].attach, DMA_BIDIRECTIONAL);
	if (IS_ERR(sgt)) {
		ret = PTR_ERR(sgt);
		goto out;
	}
	imports[slot].sgt = sgt;
	return 0;
out:
	do_unimport(slot);
	return ret;
}

static int run_cmd(char *cmd)
{
	char what[12], name[40], owner[64];
	unsigned int slot, bits;
	struct vcma_claim *c;
	unsigned long long id;
	int fd;

	if (sscanf(cmd, "%11s %u", what, &slot) != 2 || slot >= NR_SLOTS)
		return -EINVAL;
	if (!strcmp(what, "put")) {
		if (!slots[slot])
			return -ENOENT;
		vcma_claim_put(slots[slot]);
		slots[slot] = NULL;
		return 0;
	}
	if (!strcmp(what, "import")) {
		if (sscanf(cmd, "%*s %*u %d %u", &fd, &bits) != 2)
			return -EINVAL;
		return do_import(slot, fd, bits);
	}
	if (!strcmp(what, "unimport")) {
		if (!imports[slot].buf)
			return -ENOENT;
		do_unimport(slot);
		return 0;
	}
	if (!strcmp(what, "map")) {
		if (sscanf(cmd, "%*s %*u %u", &bits) != 1)
			return -EINVAL;
		if (!slots[slot])
			return -ENOENT;
		return do_map(slot, bits);
	}
	if (slots[slot])
		return -EEXIST;
	if (!strcmp(what, "label")) {
		if (sscanf(cmd, "%*s %*u %39s %63s", name, owner) != 2)
			return -EINVAL;
		c = vcma_claim_label(name, owner);
	} else if (!strcmp(what, "id")) {
		if (sscanf(cmd, "%*s %*u %llu %63s", &id, owner) != 2)
			return -EINVAL;
		c = vcma_claim_id(id, owner);
	} else {
		return -EINVAL;
	}
	if (IS_ERR(c))
		return PTR_ERR(c);
	slots[slot] = c;
	return 0;
}

static ssize_t ctl_write(struct file *file, const char __user *ubuf,
			 size_t len, loff_t *ppos)
{
	char cmd[CMD_MAX];
	int ret;

	if (len >= sizeof(cmd))
		return -EINVAL;
	if (copy_from_user(cmd, ubuf, len))
		return -EFAULT;
	cmd[len] = '\0';
	mutex_lock(&slots_lock);
	ret = run_cmd(cmd);
	mutex_unlock(&slots_lock);
	return ret ? ret : len;
}

static void show_slot(struct seq_file *m, unsigned int i)
{
	struct vcma_claim *c = slots[i];
	struct sg_table sgt;
	int ret;

	seq_printf(m, "slot %u id %llu size %zu phys %pa", i,
		   vcma_claim_grant_id(c), vcma_claim_size(c), &(phys_addr_t){ vcma_claim_phys(c) });
	seq_printf(m, " page_phys %pa label %s",
		   &(phys_addr_t){ page_to_phys(vcma_claim_page(c)) },
		   vcma_claim_label_of(c)[0] ? vcma_claim_label_of(c) : "-");
	ret = vcma_claim_sg_table(c, &sgt);
	if (ret) {
		seq_printf(m, " sg_error %d\n", ret);
		return;
	}
	seq_printf(m, " sg_nents %u sg_phys %pa sg_len %u\n", sgt.orig_nents,
		   &(phys_addr_t){ sg_phys(sgt.sgl) }, sgt.sgl->length);
	sg_free_table(&sgt);
}

static int ctl_show(struct seq_file *m, void *v)
{
	unsigned int i;

	mutex_lock(&slots_lock);
	for (i = 0; i < NR_SLOTS; i++)
		if (slots[i])
			show_slot(m, i);
	for (i = 0; i < NR_SLOTS; i++)
		if (imports[i].sgt)
			seq_printf(m, "import %u nents %u addr %pad len %u\n", i,
				   imports[i].sgt->nents, &sg_dma_address(imports[i].sgt->sgl),
				   sg_dma_len(imports[i].sgt->sgl));
	if (last_map.valid)
		seq_printf(m, "map slot %d bits %u ret %d addr %pad\n", last_map.slot,
			   last_map.bits, last_map.ret, &last_map.addr);
	mutex_unlock(&slots_lock);
	return 0;
}

static int ctl_open(struct inode *inode, struct file *file)
{
	return single_open(file, ctl_show, NULL);
}

static const struct file_operations ctl_fops = {
	.owner = THIS_MODULE,
	.open = ctl_open,
	.read = seq_read,
	.write = ctl_write,
	.llseek = seq_lseek,
	.release = single_release,
};

static int __init claim_test_init(void)
{
	pdev = platform_device_register_simple("vcma_claim_test", -1, NULL, 0);
	if (IS_ERR(pdev))
		return PTR_ERR(pdev);
	dir = debugfs_create_dir("vcma_claim_test", NULL);
	debugfs_create_file("ctl", 0600, dir, NULL, &ctl_fops);
	return 0;
}

static void __exit claim_test_exit(void)
{
	unsigned int i;

	debugfs_remove_recursive(dir);
	for (i = 0; i < NR_SLOTS; i++) {
		do_unimport(i);
		vcma_claim_put(slots[i]);
	}
	platform_device_unregister(pdev);
}

module_init(claim_test_init);
module_exit(claim_test_exit);
MODULE_LICENSE("GPL");
MODULE_DESCRIPTION("vcma claim API test driver");
