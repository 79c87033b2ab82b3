/* SPDX-License-Identifier: GPL-2.0-only */
#include "size.h"

#include <errno.h>
#include <stdio.h>
#include <strings.h>

int size_parse(const char *s, uint64_t *out)
{
	static const struct { const char *sfx; unsigned int shift; } sfx[] = {
		{ "", 0 }, { "b", 0 },
		{ "k", 10 }, { "kb", 10 }, { "kib", 10 },
		{ "m", 20 }, { "mb", 20 }, { "mib", 20 },
		{ "g", 30 }, { "gb", 30 }, { "gib", 30 },
		{ "t", 40 }, { "tb", 40 }, { "tib", 40 },
	};
	uint64_t v = 0;
	const char *p = s;

	if (!s || *s < '0' || *s > '9')
		return -EINVAL;
	for (; *p >= '0' && *p <= '9'; p++) {
		unsigned int d = (unsigned int)(*p - '0');

		if (v > (UINT64_MAX - d) / 10)
			return -ERANGE;
		v = v * 10 + d;
	}
	for (size_t i = 0; i < sizeof(sfx) / sizeof(sfx[0]); i++) {
		if (strcasecmp(p, sfx[i].sfx))
			continue;
		if (sfx[i].shift && v > (UINT64_MAX >> sfx[i].shift))
			return -ERANGE;
		*out = v << sfx[i].shift;
		return 0;
	}
	return -EINVAL;
}

const char *size_format(uint64_t bytes, char *buf, size_t len)
{
	static const char units[] = "KMGTPE";
	unsigned int u = 0;

	if (bytes < 1024) {
		snprintf(buf, len, "%llu", (unsigned long long)bytes);
		return buf;
	}
	while (u + 1 < sizeof(units) - 1 && bytes >= (1024ull << (10 * (u + 1))))
		u++;
	uint64_t unit = 1ull << (10 * (u + 1));

	if (bytes % unit == 0)
		snprintf(buf, len, "%llu%c", (unsigned long long)(bytes / unit), units[u]);
	else
		snprintf(buf, len, "%.1f%c", (double)bytes / (double)unit, units[u]);
	return buf;
}
