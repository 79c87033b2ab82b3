// SPDX-License-Identifier: GPL-2.0-only
/*
 * vcma_edu: a test driver for QEMU's edu PCI device that uses vcma the way
 * a passthrough device's driver would. It claims a host-reserved grant by
 * label (vcma_claim.h), maps it for each edu device with that device's DMA
 * mask (dma_bits, matching QEMU's dma_mask property; a grant out of reach
 * is refused with -ERANGE by vcma_claim_dma_map, never bounced), and runs
 * copies inside the grant through the devices' DMA engines (edu_uapi.h).
 *
 * A run is interrupt driven: device i starts with chunk i (memory -> its
 * buffer); each completion interrupt either starts the write-back (buffer
 * -> memory) or counts the chunk and starts the device's next one, chunk
 * i + N. The last completion ends the run, signals the run's dma_fence if
 * one was attached to an imported dma-buf, and wakes the waiters. A
 * watchdog ends a run whose devices stopped completing (-ETIMEDOUT), so
 * every fence is signalled in bounded time.
 *
 * Locking: edu.mutex serialises ioctls, the device list and the claim;
 * edu.lock (a spinlock, taken from the interrupt handler) guards the run.
 */
#include <linux/delay.h>
#include <linux/dma-buf.h>
#include <linux/dma-fence.h>
#include <linux/dma-mapping.h>
#include <linux/dma-resv.h>
#include <linux/err.h>
#include <linux/interrupt.h>
#include <linux/io.h>
#include <linux/miscdevice.h>
#include <linux/module.h>
#include <linux/pci.h>
#include <linux/scatterlist.h>
#include <linux/slab.h>
#include <linux/uaccess.h>
#include <linux/wait.h>
#include <linux/workqueue.h>

#include "vcma_claim.h"
#include "edu_regs.h"
#include "edu_uapi.h"

MODULE_IMPORT_NS(DMA_BUF);

static unsigned int dma_bits = EDU_DEFAULT_DMA_BITS;
module_param(dma_bits, uint, 0444);
MODULE_PARM_DESC(dma_bits, "DMA mask of the edu devices in bits, as QEMU's dma_mask (default 28)");

#define EDU_WATCHDOG_MS		1000
#define EDU_WATCHDOG_STALLS	10	/* seconds without a completion */

struct edu_dev {
	struct list_head node;
	struct pci_dev *pdev;
	void __iomem *bar;
	unsigned int index;
	dma_addr_t bus;		/* the claimed grant, mapped for this device */
	bool mapped;
	/* run state, under edu.lock */
	u64 next;		/* chunk in progress */
	int step;		/* 0 idle, 1 reading into the buffer, 2 writing out */
};

static struct {
	struct mutex mutex;
	spinlock_t lock;
	struct list_head devs;
	unsigned int nr_devs;
	bool open;
	struct vcma_claim *claim;

	/* The run (edu.lock). */
	bool running;
	u64 src, dst, len, chunks, chunks_done, transfers;
	unsigned int devs_left;
	int error;
	ktime_t start, end;
	struct dma_fence *fence;
	u32 fence_seqno;
	wait_queue_head_t wq;
	struct delayed_work watchdog;
	u64 watchdog_seen;
	unsigned int stalls;

	/* The imported dma-buf of the run (edu.mutex). */
	struct dma_buf *dmabuf;
	struct dma_buf_attachment *attach;
	struct sg_table *sgt;

	u64 fence_context;
	spinlock_t fence_lock;
} edu = {
	.mutex = __MUTEX_INITIALIZER(edu.mutex),
	.lock = __SPIN_LOCK_UNLOCKED(edu.lock),
	.devs = LIST_HEAD_INIT(edu.devs),
	.wq = __WAIT_QUEUE_HEAD_INITIALIZER(edu.wq),
	.fence_lock = __SPIN_LOCK_UNLOCKED(edu.fence_lock),
};

static const char *edu_fence_driver(struct dma_fence *f)
{
	return "vcma_edu";
}

static const char *edu_fence_timeline(struct dma_fence *f)
{
	return "edu-dma";
}

/* A fence may outlive the run in other buffers: it pins the module. */
static void edu_fence_release(struct dma_fence *f)
{
	dma_fence_free(f);
	module_put(THIS_MODULE);
}

static const struct dma_fence_ops edu_fence_ops = {
	.get_driver_name = edu_fence_driver,
	.get_timeline_name = edu_fence_timeline,
	.release = edu_fence_release,
};

static void edu_program(struct edu_dev *d, u64 src, u64 dst, u64 cnt, u32 cmd)
{
	writeq(src, d->bar + EDU_REG_DMA_SRC);
	writeq(dst, d->bar + EDU_REG_DMA_DST);
	writeq(cnt, d->bar + EDU_REG_DMA_COUNT);
	writel(cmd | EDU_CMD_RUN | EDU_CMD_IRQ, d->bar + EDU_REG_DMA_CMD);
}

static u64 edu_chunk_len(u64 chunk)
{
	return min_t(u64, EDU_XFER_MAX, edu.len - chunk * EDU_XFER_MAX);
}

/* Memory -> device buffer for d's chunk d->next. edu.lock held. */
static void edu_start_read(struct edu_dev *d)
{
	u64 off = d->next * EDU_XFER_MAX;

	d->step = 1;
	edu_program(d, d->bus + edu.src + off, EDU_DMA_BUF, edu_chunk_len(d->next), 0);
}

static void edu_finish(int error)
{
	lockdep_assert_held(&edu.lock);
	edu.running = false;
	edu.error = error;
	edu.end = ktime_get();
	if (edu.fence) {
		if (error)
			dma_fence_set_error(edu.fence, error);
		dma_fence_signal(edu.fence);
		dma_fence_put(edu.fence);
		edu.fence = NULL;
	}
	wake_up_all(&edu.wq);
}

/* A completion of d's current command. edu.lock held. */
static void edu_advance(struct edu_dev *d)
{
	u64 off = d->next * EDU_XFER_MAX;

	edu.transfers++;
	if (d->step == 1) {
		d->step = 2;
		edu_program(d, EDU_DMA_BUF, d->bus + edu.dst + off,
			    edu_chunk_len(d->next), EDU_CMD_TO_RAM);
		return;
	}
	edu.chunks_done++;
	d->next += edu.nr_devs;
	if (d->next < edu.chunks) {
		edu_start_read(d);
		return;
	}
	d->step = 0;
	if (!--edu.devs_left)
		edu_finish(0);
}

static irqreturn_t edu_irq(int irq, void *data)
{
	struct edu_dev *d = data;
	u32 status = readl(d->bar + EDU_REG_IRQ_STATUS);

	if (!status || status == ~0u)
		return IRQ_NONE;
	writel(status, d->bar + EDU_REG_IRQ_ACK);
	spin_lock(&edu.lock);
	if ((status & EDU_IRQ_DMA) && edu.running && d->step)
		edu_advance(d);
	spin_unlock(&edu.lock);
	return IRQ_HANDLED;
}

static void edu_watchdog(struct work_struct *work)
{
	unsigned long flags;
	bool again;

	spin_lock_irqsave(&edu.lock, flags);
	if (edu.running && edu.transfers == edu.watchdog_seen) {
		if (++edu.stalls >= EDU_WATCHDOG_STALLS) {
			struct edu_dev *d;

			list_for_each_entry(d, &edu.devs, node)
				d->step = 0;
			edu_finish(-ETIMEDOUT);
		}
	} else {
		edu.stalls = 0;
	}
	edu.watchdog_seen = edu.transfers;
	again = edu.running;
	spin_unlock_irqrestore(&edu.lock, flags);
	if (again)
		schedule_delayed_work(&edu.watchdog, msecs_to_jiffies(EDU_WATCHDOG_MS));
}

/* Drop the imported dma-buf of a finished run. edu.mutex held. */
static void edu_put_import(void)
{
	if (edu.sgt)
		dma_buf_unmap_attachment_unlocked(edu.attach, edu.sgt, DMA_BIDIRECTIONAL);
	if (edu.attach)
		dma_buf_detach(edu.dmabuf, edu.attach);
	if (edu.dmabuf)
		dma_buf_put(edu.dmabuf);
	edu.sgt = NULL;
	edu.attach = NULL;
	edu.dmabuf = NULL;
}

static bool edu_idle(void)
{
	unsigned long flags;
	bool running;

	spin_lock_irqsave(&edu.lock, flags);
	running = edu.running;
	spin_unlock_irqrestore(&edu.lock, flags);
	return !running;
}

/* Wait (bounded by the watchdog) for the run to end, then drop its import. */
static int edu_wait_idle(bool interruptible)
{
	if (interruptible) {
		if (wait_event_interruptible(edu.wq, edu_idle()))
			return -EINTR;
	} else {
		wait_event(edu.wq, edu_idle());
	}
	cancel_delayed_work_sync(&edu.watchdog);
	edu_put_import();
	return 0;
}

static void edu_unmap_all(void)
{
	struct edu_dev *d;

	list_for_each_entry(d, &edu.devs, node) {
		if (d->mapped)
			vcma_claim_dma_unmap(edu.claim, &d->pdev->dev,
					     DMA_BIDIRECTIONAL, d->bus);
		d->mapped = false;
	}
}

static long edu_ioc_claim(void __user *arg)
{
	struct edu_ioc_claim c;
	struct vcma_claim *claim;
	struct edu_dev *d;
	int ret = 0;

	if (copy_from_user(&c, arg, sizeof(c)))
		return -EFAULT;
	if (c.argsz != sizeof(c) || strnlen(c.label, sizeof(c.label)) == sizeof(c.label))
		return -EINVAL;
	if (edu.claim)
		return -EBUSY;
	if (!edu.nr_devs)
		return -ENODEV;
	claim = vcma_claim_label(c.label, "vcma_edu");
	if (IS_ERR(claim))
		return PTR_ERR(claim);
	edu.claim = claim;
	/* Every device must reach every byte; the mask check is vcma's. */
	list_for_each_entry(d, &edu.devs, node) {
		ret = vcma_claim_dma_map(claim, &d->pdev->dev, DMA_BIDIRECTIONAL, &d->bus);
		if (ret) {
			dev_info(&d->pdev->dev, "grant %llu at %#llx +%zu refused: %d\n",
				 vcma_claim_grant_id(claim), (u64)vcma_claim_phys(claim),
				 vcma_claim_size(claim), ret);
			break;
		}
		d->mapped = true;
	}
	if (ret) {
		edu_unmap_all();
		vcma_claim_put(claim);
		edu.claim = NULL;
		return ret;
	}
	d = list_first_entry(&edu.devs, struct edu_dev, node);
	c.nr_devices = edu.nr_devs;
	c.grant_id = vcma_claim_grant_id(claim);
	c.phys_addr = vcma_claim_phys(claim);
	c.size = vcma_claim_size(claim);
	c.bus_addr = d->bus;
	c.dma_mask = dma_get_mask(&d->pdev->dev);
	if (copy_to_user(arg, &c, sizeof(c)))
		return -EFAULT;
	return 0;
}

static void edu_unclaim(void)
{
	edu_unmap_all();
	vcma_claim_put(edu.claim);
	edu.claim = NULL;
}

/* Import the dma-buf of the claimed grant: the exporter maps it for us. */
static int edu_import(int fd)
{
	struct edu_dev *d0 = list_first_entry(&edu.devs, struct edu_dev, node);
	struct dma_buf *buf;
	int ret;

	buf = dma_buf_get(fd);
	if (IS_ERR(buf))
		return PTR_ERR(buf);
	edu.dmabuf = buf;
	edu.attach = dma_buf_attach(buf, &d0->pdev->dev);
	if (IS_ERR(edu.attach)) {
		ret = PTR_ERR(edu.attach);
		edu.attach = NULL;
		goto out;
	}
	edu.sgt = dma_buf_map_attachment_unlocked(edu.attach, DMA_BIDIRECTIONAL);
	if (IS_ERR(edu.sgt)) {
		ret = PTR_ERR(edu.sgt);
		edu.sgt = NULL;
		goto out;
	}
	/* It must be the claimed grant, in one segment, where we mapped it. */
	if (edu.sgt->nents != 1 || sg_dma_address(edu.sgt->sgl) != d0->bus ||
	    sg_dma_len(edu.sgt->sgl) != vcma_claim_size(edu.claim)) {
		ret = -EINVAL;
		goto out;
	}
	return 0;
out:
	edu_put_import();
	return ret;
}

static int edu_attach_fence(void)
{
	struct dma_fence *f;
	int ret;

	f = kzalloc(sizeof(*f), GFP_KERNEL);
	if (!f)
		return -ENOMEM;
	__module_get(THIS_MODULE);
	dma_fence_init(f, &edu_fence_ops, &edu.fence_lock, edu.fence_context,
		       ++edu.fence_seqno);
	ret = dma_resv_lock_interruptible(edu.dmabuf->resv, NULL);
	if (ret)
		goto out_put;
	ret = dma_resv_reserve_fences(edu.dmabuf->resv, 1);
	if (!ret)
		dma_resv_add_fence(edu.dmabuf->resv, f, DMA_RESV_USAGE_WRITE);
	dma_resv_unlock(edu.dmabuf->resv);
	if (ret)
		goto out_put;
	edu.fence = f;		/* our reference; the resv holds its own */
	return 0;
out_put:
	dma_fence_put(f);
	return ret;
}

static long edu_ioc_copy(void __user *arg)
{
	struct edu_ioc_copy c;
	unsigned long flags;
	struct edu_dev *d;
	u64 size;
	int ret;

	if (copy_from_user(&c, arg, sizeof(c)))
		return -EFAULT;
	if (c.argsz != sizeof(c) || c.flags & ~EDU_COPY_KNOWN || c.reserved)
		return -EINVAL;
	if (!edu.claim)
		return -ENOENT;
	size = vcma_claim_size(edu.claim);
	if (!c.len || c.src >= size || c.dst >= size || c.len > size - c.src ||
	    c.len > size - c.dst || (c.src < c.dst + c.len && c.dst < c.src + c.len))
		return -EINVAL;
	ret = edu_wait_idle(true);
	if (ret)
		return ret;
	if (c.flags & (EDU_COPY_FENCE | EDU_COPY_IMPORT)) {
		ret = edu_import(c.dmabuf_fd);
		if (ret)
			return ret;
	}

	spin_lock_irqsave(&edu.lock, flags);
	edu.src = c.src;
	edu.dst = c.dst;
	edu.len = c.len;
	edu.chunks = DIV_ROUND_UP_ULL(c.len, EDU_XFER_MAX);
	edu.chunks_done = 0;
	edu.transfers = 0;
	edu.error = 0;
	edu.devs_left = 0;
	edu.stalls = 0;
	edu.watchdog_seen = 0;
	spin_unlock_irqrestore(&edu.lock, flags);

	/* The fence is in place before the first byte moves. */
	if (c.flags & EDU_COPY_FENCE) {
		ret = edu_attach_fence();
		if (ret) {
			edu_put_import();
			return ret;
		}
	}

	spin_lock_irqsave(&edu.lock, flags);
	edu.running = true;
	edu.start = ktime_get();
	list_for_each_entry(d, &edu.devs, node) {
		d->next = d->index;
		d->step = 0;
		if (d->next < edu.chunks) {
			edu.devs_left++;
			edu_start_read(d);
		}
	}
	spin_unlock_irqrestore(&edu.lock, flags);
	schedule_delayed_work(&edu.watchdog, msecs_to_jiffies(EDU_WATCHDOG_MS));

	if (c.flags & (EDU_COPY_ASYNC | EDU_COPY_FENCE))
		return 0;
	ret = edu_wait_idle(true);
	if (ret)
		return ret;
	return edu.error;
}

static long edu_ioc_status(void __user *arg, bool wait)
{
	struct edu_ioc_status s;
	unsigned long flags;
	int ret;

	if (copy_from_user(&s, arg, sizeof(s)))
		return -EFAULT;
	if (s.argsz != sizeof(s))
		return -EINVAL;
	if (wait) {
		ret = edu_wait_idle(true);
		if (ret)
			return ret;
	}
	spin_lock_irqsave(&edu.lock, flags);
	s.running = edu.running;
	s.chunks = edu.chunks;
	s.chunks_done = edu.chunks_done;
	s.transfers = edu.transfers;
	s.elapsed_us = ktime_us_delta(edu.running ? ktime_get() : edu.end, edu.start);
	s.error = edu.error;
	s.fence_seqno = edu.fence ? edu.fence->seqno : 0;
	spin_unlock_irqrestore(&edu.lock, flags);
	if (copy_to_user(arg, &s, sizeof(s)))
		return -EFAULT;
	return 0;
}

static long edu_ioctl(struct file *file, unsigned int cmd, unsigned long arg)
{
	void __user *uarg = (void __user *)arg;
	long ret;

	/* Answers while another thread of the opener waits in EDU_IOC_WAIT. */
	if (cmd == EDU_IOC_STATUS)
		return edu_ioc_status(uarg, false);
	mutex_lock(&edu.mutex);
	switch (cmd) {
	case EDU_IOC_CLAIM:
		ret = edu_ioc_claim(uarg);
		break;
	case EDU_IOC_UNCLAIM:
		ret = edu.claim ? edu_wait_idle(true) : -ENOENT;
		if (!ret)
			edu_unclaim();
		break;
	case EDU_IOC_COPY:
		ret = edu_ioc_copy(uarg);
		break;
	case EDU_IOC_WAIT:
		ret = edu_ioc_status(uarg, true);
		break;
	default:
		ret = -ENOTTY;
	}
	mutex_unlock(&edu.mutex);
	return ret;
}

static int edu_open(struct inode *inode, struct file *file)
{
	int ret = 0;

	mutex_lock(&edu.mutex);
	if (edu.open)
		ret = -EBUSY;
	else
		edu.open = true;
	mutex_unlock(&edu.mutex);
	return ret;
}

/* The devices finish (or the watchdog ends) the run before the claim goes. */
static int edu_release(struct inode *inode, struct file *file)
{
	mutex_lock(&edu.mutex);
	edu_wait_idle(false);
	if (edu.claim)
		edu_unclaim();
	edu.open = false;
	mutex_unlock(&edu.mutex);
	return 0;
}

static const struct file_operations edu_fops = {
	.owner = THIS_MODULE,
	.open = edu_open,
	.release = edu_release,
	.unlocked_ioctl = edu_ioctl,
	.llseek = noop_llseek,
};

static struct miscdevice edu_misc = {
	.minor = MISC_DYNAMIC_MINOR,
	.name = "vcma-edu",
	.fops = &edu_fops,
	.mode = 0600,
};

static int edu_probe(struct pci_dev *pdev, const struct pci_device_id *id)
{
	struct edu_dev *d;
	int ret;

	d = devm_kzalloc(&pdev->dev, sizeof(*d), GFP_KERNEL);
	if (!d)
		return -ENOMEM;
	d->pdev = pdev;
	ret = pcim_enable_device(pdev);
	if (ret)
		return ret;
	ret = pcim_iomap_regions(pdev, BIT(0), "vcma_edu");
	if (ret)
		return ret;
	d->bar = pcim_iomap_table(pdev)[0];
	if ((readl(d->bar + EDU_REG_ID) & 0xff) != EDU_ID_MAGIC)
		return -ENODEV;
	ret = dma_set_mask_and_coherent(&pdev->dev, DMA_BIT_MASK(dma_bits));
	if (ret)
		return ret;
	pci_set_master(pdev);
	ret = pci_alloc_irq_vectors(pdev, 1, 1, PCI_IRQ_ALL_TYPES);
	if (ret < 0)
		return ret;
	ret = request_irq(pci_irq_vector(pdev, 0), edu_irq, IRQF_SHARED, "vcma_edu", d);
	if (ret)
		goto out_vectors;
	pci_set_drvdata(pdev, d);

	mutex_lock(&edu.mutex);
	if (edu.claim || edu.open) {
		/* A run's striping is fixed while a grant is mapped. */
		ret = -EBUSY;
	} else {
		d->index = edu.nr_devs++;
		list_add_tail(&d->node, &edu.devs);
	}
	mutex_unlock(&edu.mutex);
	if (ret)
		goto out_irq;
	return 0;

out_irq:
	free_irq(pci_irq_vector(pdev, 0), d);
out_vectors:
	pci_free_irq_vectors(pdev);
	return ret;
}

static void edu_remove(struct pci_dev *pdev)
{
	struct edu_dev *d = pci_get_drvdata(pdev);

	/* The module is pinned while /dev/vcma-edu is open: no run, no claim. */
	mutex_lock(&edu.mutex);
	list_del(&d->node);
	edu.nr_devs--;
	mutex_unlock(&edu.mutex);
	free_irq(pci_irq_vector(pdev, 0), d);
	pci_free_irq_vectors(pdev);
}

static const struct pci_device_id edu_ids[] = {
	{ PCI_DEVICE(EDU_VENDOR_ID, EDU_DEVICE_ID) },
	{ }
};
MODULE_DEVICE_TABLE(pci, edu_ids);

static struct pci_driver edu_driver = {
	.name = "vcma_edu",
	.id_table = edu_ids,
	.probe = edu_probe,
	.remove = edu_remove,
};

static int __init edu_init(void)
{
	int ret;

	if (dma_bits < 12 || dma_bits > 64) {
		pr_err("vcma_edu: dma_bits=%u: expected 12..64\n", dma_bits);
		return -EINVAL;
	}
	INIT_DELAYED_WORK(&edu.watchdog, edu_watchdog);
	edu.fence_context = dma_fence_context_alloc(1);
	ret = pci_register_driver(&edu_driver);
	if (ret)
		return ret;
	ret = misc_register(&edu_misc);
	if (ret)
		pci_unregister_driver(&edu_driver);
	return ret;
}

static void __exit edu_exit(void)
{
	misc_deregister(&edu_misc);
	pci_unregister_driver(&edu_driver);
}

module_init(edu_init);
module_exit(edu_exit);
MODULE_LICENSE("GPL");
MODULE_DESCRIPTION("vcma test driver: QEMU's edu device DMAs into a claimed vcma grant");
