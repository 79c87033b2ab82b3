/* SPDX-License-Identifier: MIT */
/*
 * The one size parser/formatter of vcmad, vcmactl, vcma-agent and vcma-guest
 * (proto/vcma_size.c): what the daemon's and the agent's former copies
 * accepted and refused, both output styles.
 */
#include <errno.h>
#include <string.h>

#include "../../tap.h"
#include "vcma_size.h"

#define U64 0xffffffffffffffffull

static const struct {
	const char *s;
	unsigned int flags;
	int rc;
	uint64_t v;
} cases[] = {
	{ "0", 0, 0, 0 },
	{ "4096", 0, 0, 4096 },
	{ "1", VCMA_SIZE_NONZERO, 0, 1 },
	{ "64M", 0, 0, 64ull << 20 },
	{ "64m", 0, 0, 64ull << 20 },
	{ "64MiB", 0, 0, 64ull << 20 },
	{ "64mb", 0, 0, 64ull << 20 },
	{ "2G", 0, 0, 2ull << 30 },
	{ "2GiB", 0, 0, 2ull << 30 },
	{ "4k", 0, 0, 4096 },
	{ "512K", 0, 0, 512 << 10 },
	{ "1t", 0, 0, 1ull << 40 },
	{ "7b", 0, 0, 7 },
	{ "512B", VCMA_SIZE_NONZERO, 0, 512 },
	{ "16777215T", 0, 0, 16777215ull << 40 },
	{ "18446744073709551615", 0, 0, U64 },
	{ "0", VCMA_SIZE_NONZERO, -EINVAL, 0 },
	{ "0M", VCMA_SIZE_NONZERO, -EINVAL, 0 },
	{ "18446744073709551616", 0, -ERANGE, 0 },
	{ "16777216T", 0, -ERANGE, 0 },
	{ "99999999999999999999999G", 0, -ERANGE, 0 },
	{ "", 0, -EINVAL, 0 },
	{ "M", 0, -EINVAL, 0 },
	{ "-1", 0, -EINVAL, 0 },
	{ "+1", 0, -EINVAL, 0 },
	{ " 1", 0, -EINVAL, 0 },
	{ "64 ", 0, -EINVAL, 0 },
	{ "1 M", 0, -EINVAL, 0 },
	{ "1.5G", 0, -EINVAL, 0 },
	{ "64Q", 0, -EINVAL, 0 },
	{ "64X", 0, -EINVAL, 0 },
	{ "0x10", 0, -EINVAL, 0 },
	{ "1MM", 0, -EINVAL, 0 },
	{ "1P", 0, -EINVAL, 0 },
};

static const struct {
	uint64_t v;
	unsigned int flags;
	const char *want;
} formats[] = {
	{ 64ull << 20, 0, "64M" },
	{ 1536ull << 20, 0, "1.5G" },
	{ 100, 0, "100" },
	{ 0, 0, "0" },
	{ 1ull << 40, 0, "1T" },
	{ 3ull << 50, 0, "3P" },
	{ U64, 0, "16.0E" },
	{ 64ull << 20, VCMA_SIZE_IEC, "64 MiB" },
	{ 3ull << 30, VCMA_SIZE_IEC, "3 GiB" },
	{ 1536ull << 10, VCMA_SIZE_IEC, "1536 KiB" },
	{ 1000, VCMA_SIZE_IEC, "1000 B" },
	{ 0, VCMA_SIZE_IEC, "0 B" },
	{ 4097, VCMA_SIZE_IEC, "4097 B" },
	{ 1ull << 40, VCMA_SIZE_IEC, "1 TiB" },
};

int main(void)
{
	char buf[32], tiny[4];

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		uint64_t v = 12345;
		int rc = vcma_size_parse(cases[i].s, cases[i].flags, &v);

		ok(rc == cases[i].rc && (rc ? v == 12345 : v == cases[i].v),
		   "parse \"%s\" (flags %u) = %d (want %d), value %s", cases[i].s, cases[i].flags,
		   rc, cases[i].rc, rc ? "untouched" : "right");
	}
	ok(vcma_size_parse(NULL, 0, &(uint64_t){ 0 }) == -EINVAL, "parse NULL refused");
	for (size_t i = 0; i < sizeof(formats) / sizeof(formats[0]); i++) {
		const char *got = vcma_size_format(formats[i].v, formats[i].flags, buf, sizeof(buf));

		ok(got == buf && !strcmp(buf, formats[i].want), "format %llu (flags %u): \"%s\"",
		   (unsigned long long)formats[i].v, formats[i].flags, buf);
	}
	vcma_size_format(1536ull << 20, 0, tiny, sizeof(tiny));
	ok(!strcmp(tiny, "1.5"), "a short buffer is truncated and terminated: \"%s\"", tiny);
	ok(vcma_size_is_pow2(1 << 21) && !vcma_size_is_pow2(0) && !vcma_size_is_pow2(3 << 20),
	   "power of two");
	return tap_done();
}
