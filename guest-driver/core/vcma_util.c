// SPDX-License-Identifier: GPL-2.0-only OR MIT
/*
 * Freestanding helpers for the mm core. The core is compiled into the kernel
 * as well, so it may not call libc; these stay tiny and obvious.
 */
#include "core_priv.h"

void vcma_zero(void *p, vcma_size_t n)
{
	volatile vcma_u8 *b = p;	/* keeps compilers from turning this into memset */

	while (n--)
		*b++ = 0;
}

void vcma_copy(void *dst, const void *src, vcma_size_t n)
{
	volatile vcma_u8 *d = dst;
	const vcma_u8 *s = src;

	while (n--)
		*d++ = *s++;
}

int vcma_is_pow2(vcma_u64 v)
{
	return v && !(v & (v - 1));
}

vcma_u64 vcma_pow2_ceil(vcma_u64 v)
{
	vcma_u64 p = 1;

	if (v > (1ull << 63))
		return 0;
	while (p < v)
		p <<= 1;
	return p;
}

vcma_u64 vcma_align_up(vcma_u64 v, vcma_u64 a)
{
	return (v + a - 1) & ~(a - 1);
}

vcma_u64 vcma_min64(vcma_u64 a, vcma_u64 b)
{
	return a < b ? a : b;
}

vcma_u64 vcma_max64(vcma_u64 a, vcma_u64 b)
{
	return a > b ? a : b;
}

void vcma_sum_add(struct vcma_range_summary *acc, const struct vcma_range_summary *s)
{
	int i;

	for (i = 0; i < VCMA_NR_PAGE_CLASSES; i++)
		acc->count[i] += s->count[i];
}

void vcma_sum_sub(struct vcma_range_summary *acc, const struct vcma_range_summary *s)
{
	int i;

	for (i = 0; i < VCMA_NR_PAGE_CLASSES; i++)
		acc->count[i] -= s->count[i];
}
