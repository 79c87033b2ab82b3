/* SPDX-License-Identifier: GPL-2.0-only */
/* Byte sizes as operators write them ("64M", "2G", "4096") and as we print them. */
#ifndef VCMA_DAEMON_SIZE_H
#define VCMA_DAEMON_SIZE_H

#include <stddef.h>
#include <stdint.h>

/*
 * Parse a decimal byte count with an optional binary suffix K, M, G, T
 * (also KiB/MiB/GiB/TiB, case-insensitive; "B" alone allowed). No sign, no
 * spaces, no fractions, no overflow. Returns 0 or -EINVAL / -ERANGE.
 */
int size_parse(const char *s, uint64_t *out);

/* "64M", "1.5G", "4096" style, exact when a suffix divides evenly. */
const char *size_format(uint64_t bytes, char *buf, size_t len);

static inline int size_is_pow2(uint64_t v)
{
	return v && !(v & (v - 1));
}

#endif
