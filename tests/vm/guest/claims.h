/* SPDX-License-Identifier: GPL-2.0-only OR MIT */
/*
 * Driving vcma_claim_test.ko (tests/vm/kmod/vcma_claim_test.c), a driver
 * that uses vcma's in-kernel claim API, from the guest test programs.
 */
#ifndef VCMA_CLAIMS_H
#define VCMA_CLAIMS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* What the driver reports about the claim in one of its slots. */
struct claim_view {
	uint64_t id, size, phys, page_phys, sg_phys, sg_len;
	unsigned int sg_nents;
	char label[32];
};

int claim_test_load(void);		/* 0 or -errno */
int claim_test_unload(void);		/* 0 or -errno */
/* One command to the driver (see its header); 0 or the API's -errno. */
int claim_ctl(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
bool claim_slot(unsigned int slot, struct claim_view *v);
/* vcma_claim_dma_map() with a bits-bit mask: its result, *addr on success. */
int claim_map(unsigned int slot, unsigned int bits, uint64_t *addr);
/* The whole of a text file; 0 or -errno. */
int read_text(const char *path, char *buf, size_t len);
/* /sys/kernel/vcma/grants/<id>/holders. */
int grant_holders(uint64_t id, char *buf, size_t len);
int64_t vcma_refcnt(void);
/* vm-kmod-badinput's exports and claims; /dev/vcma must be closed. */
void badinput_holders(void);

#endif /* VCMA_CLAIMS_H */
