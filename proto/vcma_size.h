/* SPDX-License-Identifier: MIT */
/*
 * Byte sizes as operators write them ("64M", "2GiB", "4096") and as people
 * read them: one implementation for vcmad, vcmactl, vcma-agent and
 * vcma-guest (userspace only; the kernel module never parses sizes).
 */
#ifndef VCMA_SIZE_H
#define VCMA_SIZE_H

#include <stddef.h>
#include <stdint.h>

/* vcma_size_parse() flags */
#define VCMA_SIZE_NONZERO	0x1u	/* "0", "0M": -EINVAL (a size of nothing) */

/*
 * Parse decimal digits with an optional binary suffix K, M, G, T (also KB,
 * KiB, ..., case-insensitive; "B" alone allowed). No sign, no spaces, no
 * fractions, no hex, no overflow. Returns 0, or -EINVAL / -ERANGE with *out
 * untouched.
 */
int vcma_size_parse(const char *s, unsigned int flags, uint64_t *out);

/* vcma_size_format() flags */
#define VCMA_SIZE_IEC		0x1u	/* "64 MiB", "1536 KiB", "1000 B": always exact */

/*
 * Format bytes into buf (always NUL-terminated) and return buf. Default
 * style: "64M", "1.5G", "100" (the largest unit reached, one decimal when it
 * does not divide evenly). VCMA_SIZE_IEC: the largest unit that divides
 * evenly, with a space and an IEC unit name.
 */
const char *vcma_size_format(uint64_t bytes, unsigned int flags, char *buf, size_t len);

static inline int vcma_size_is_pow2(uint64_t v)
{
	return v && !(v & (v - 1));
}

#endif /* VCMA_SIZE_H */
