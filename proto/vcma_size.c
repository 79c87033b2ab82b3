// SPDX-License-Identifier: MIT
/* Byte size parsing and formatting (see vcma_size.h). */
#include "vcma_size.h"

#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <strings.h>

int vcma_size_parse(const char *s, unsigned int flags, uint64_t *out)
{
	static const struct { const char *suffix; unsigned int shift; } units[] = {
		{ "", 0 }, { "b", 0 },
		{ "k", 10 }, { "kb", 10 }, { "kib", 10 },
		{ "m", 20 }, { "mb", 20 }, { "mib", 20 },
		{ "g", 30 }, { "gb", 30 }, { "gib", 30 },
		{ "t", 40 }, { "tb", 40 }, { "tib", 40 },
	};
	uint64_t v = 0;

	/* not isdigit(): the locale must not widen what a size may contain */
	if (!s || *s < '0' || *s > '9')
		return -EINVAL;
	for (; *s >= '0' && *s <= '9'; s++) {
		unsigned int d = (unsigned int)(*s - '0');

		if (v > (UINT64_MAX - d) / 10)
			return -ERANGE;
		v = v * 10 + d;
	}
	for (size_t i = 0; i < sizeof(units) / sizeof(units[0]); i++) {
		if (strcasecmp(s, units[i].suffix))
			continue;
		if (!v && (flags & VCMA_SIZE_NONZERO))
			return -EINVAL;
		if (v > (UINT64_MAX >> units[i].shift))
			return -ERANGE;
		*out = v << units[i].shift;
		return 0;
	}
	return -EINVAL;
}

const char *vcma_size_format(uint64_t bytes, unsigned int flags, char *buf, size_t len)
{
	static const char units[] = "KMGTPE";
	bool iec = flags & VCMA_SIZE_IEC;
	unsigned int shift = 0;
	int u;

	for (u = (int)sizeof(units) - 2; u >= 0; u--) {
		shift = 10 * (unsigned int)(u + 1);
		if (bytes >> shift && (!iec || !(bytes & ((1ull << shift) - 1))))
			break;
	}
	if (u < 0)
		snprintf(buf, len, iec ? "%llu B" : "%llu", (unsigned long long)bytes);
	else if (!(bytes & ((1ull << shift) - 1)))
		snprintf(buf, len, iec ? "%llu %ciB" : "%llu%c",
			 (unsigned long long)(bytes >> shift), units[u]);
	else
		snprintf(buf, len, "%.1f%c", (double)bytes / (double)(1ull << shift), units[u]);
	return buf;
}
