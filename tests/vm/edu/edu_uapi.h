/* SPDX-License-Identifier: (GPL-2.0-only WITH Linux-syscall-note) OR MIT */
/*
 * /dev/vcma-edu: the ioctls of the edu test driver (vcma_edu.ko). The
 * driver claims a vcma grant by label through vcma's claim API, maps it
 * for every edu device with the device's DMA mask, and has the devices
 * copy between two regions of the grant, chunk c by device c % N, each
 * step driven by the device's completion interrupt. One open file at a
 * time; every struct starts with its size.
 */
#ifndef VCMA_EDU_UAPI_H
#define VCMA_EDU_UAPI_H

#include <linux/ioctl.h>
#include <linux/types.h>

#define VCMA_EDU_DEV_PATH	"/dev/vcma-edu"

struct edu_ioc_claim {
	__u32 argsz;
	__u32 nr_devices;	/* out: edu devices the grant is mapped for */
	char  label[32];	/* in */
	__u64 grant_id;		/* out */
	__u64 phys_addr;	/* out */
	__u64 size;		/* out */
	__u64 bus_addr;		/* out: as mapped for the first device */
	__u64 dma_mask;		/* out: the devices' DMA mask */
};

/* Return at once; EDU_IOC_WAIT or EDU_IOC_STATUS follow the run. */
#define EDU_COPY_ASYNC	(1u << 0)
/*
 * Import dmabuf_fd (a dma-buf of the claimed grant), map it for the first
 * device, and add a write fence to its reservation object that the last
 * completion interrupt of the run signals. Implies EDU_COPY_ASYNC.
 */
#define EDU_COPY_FENCE	(1u << 1)
/* Import and map dmabuf_fd like EDU_COPY_FENCE but add no fence. */
#define EDU_COPY_IMPORT	(1u << 2)
#define EDU_COPY_KNOWN	((1u << 3) - 1)

struct edu_ioc_copy {
	__u32 argsz;
	__u32 flags;		/* in: EDU_COPY_* */
	__u64 src;		/* in: offset in the grant */
	__u64 dst;		/* in: offset in the grant; regions must not overlap */
	__u64 len;		/* in: bytes, > 0 */
	__s32 dmabuf_fd;	/* in: with EDU_COPY_FENCE / EDU_COPY_IMPORT */
	__u32 reserved;		/* must be 0 */
};

/* The current or last run. */
struct edu_ioc_status {
	__u32 argsz;
	__u32 running;		/* out: 1 while devices still move data */
	__u64 chunks;		/* out: chunks of the run */
	__u64 chunks_done;	/* out: chunks written back to memory so far */
	__u64 transfers;	/* out: DMA commands completed */
	__u64 elapsed_us;	/* out: start to last completion (or now) */
	__s32 error;		/* out: 0, -ETIMEDOUT (a device stopped answering) */
	__u32 fence_seqno;	/* out: seqno of the run's fence, 0: none */
};

#define EDU_IOC_MAGIC	0xED
#define EDU_IOC_CLAIM	_IOWR(EDU_IOC_MAGIC, 0, struct edu_ioc_claim)
#define EDU_IOC_UNCLAIM	_IO(EDU_IOC_MAGIC, 1)
#define EDU_IOC_COPY	_IOW(EDU_IOC_MAGIC, 2, struct edu_ioc_copy)
#define EDU_IOC_STATUS	_IOWR(EDU_IOC_MAGIC, 3, struct edu_ioc_status)
/* Wait for the run to end (interruptible; bounded by the driver's watchdog). */
#define EDU_IOC_WAIT	_IOWR(EDU_IOC_MAGIC, 4, struct edu_ioc_status)

#endif /* VCMA_EDU_UAPI_H */
