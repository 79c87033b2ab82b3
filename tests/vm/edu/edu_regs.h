/* SPDX-License-Identifier: GPL-2.0-only OR MIT */
/*
 * QEMU's educational PCI device "edu" (hw/misc/edu.c, docs/specs/edu.rst),
 * as used by the vcma passthrough tests: a DMA engine that moves at most
 * EDU_DMA_SIZE bytes per command between guest-physical memory and a
 * buffer inside the device, one command at a time, each completing about
 * 100 ms (virtual clock) after it was started. Addresses beyond the
 * device's dma_mask property (28 bits by default) are not reachable: QEMU
 * clamps or aborts, so a driver must never program one. Shared by the
 * kernel test driver and the userspace (uio) test.
 */
#ifndef VCMA_EDU_REGS_H
#define VCMA_EDU_REGS_H

#define EDU_VENDOR_ID		0x1234
#define EDU_DEVICE_ID		0x11e8
#define EDU_BAR_SIZE		(1u << 20)

#define EDU_REG_ID		0x00	/* 0x010000ed: version 1.0 */
#define EDU_REG_LIVENESS	0x04	/* reads back the inverse of what was written */
#define EDU_REG_IRQ_STATUS	0x24
#define EDU_REG_IRQ_RAISE	0x60
#define EDU_REG_IRQ_ACK		0x64
#define EDU_REG_DMA_SRC		0x80	/* 64-bit */
#define EDU_REG_DMA_DST		0x88
#define EDU_REG_DMA_COUNT	0x90
#define EDU_REG_DMA_CMD		0x98

#define EDU_ID_MAGIC		0xed
#define EDU_IRQ_DMA		0x100

#define EDU_CMD_RUN		0x1	/* reads back set while the transfer is pending */
#define EDU_CMD_TO_RAM		0x2	/* device buffer -> memory; clear: memory -> buffer */
#define EDU_CMD_IRQ		0x4	/* raise EDU_IRQ_DMA when done */

/* The device's buffer, as a DMA address on the device side. */
#define EDU_DMA_BUF		0x40000
#define EDU_DMA_SIZE		4096
/*
 * QEMU 7.2 checks that a transfer's end lies strictly inside the buffer and
 * aborts (hw_error) otherwise, so a full 4096-byte transfer kills the VM:
 * transfers here move at most this much (a multiple of 64 bytes).
 */
#define EDU_XFER_MAX		4032

#define EDU_DEFAULT_DMA_BITS	28

#endif /* VCMA_EDU_REGS_H */
