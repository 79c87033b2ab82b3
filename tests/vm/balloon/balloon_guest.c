// SPDX-License-Identifier: GPL-2.0-only
/*
 * Guest workload for the balloon VM tests (static, runs in the test guest).
 *
 *   balloon-guest touch MB       write MB of anonymous memory once and exit,
 *                                so the host backing of that memory is
 *                                allocated before the balloon takes it
 *   balloon-guest work MB STOP   keep MB of anonymous memory under checksums
 *                                until the file STOP exists: every round
 *                                verifies each page against the pattern it
 *                                was written with, then rewrites it with the
 *                                next generation's pattern. Pages the balloon
 *                                migrates must keep their content.
 * Exit 0 only if every check passed; "WORKLOAD: ..." summarises.
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#define PAGE 4096u

static uint64_t pattern(uint64_t page, uint64_t word, uint64_t gen)
{
	uint64_t x = (page << 20) ^ (word * 0x9e3779b97f4a7c15ull) ^ (gen << 48);

	x ^= x >> 31;
	return x * 0xbf58476d1ce4e5b9ull;
}

static void *map(size_t mb)
{
	void *p = mmap(NULL, mb << 20, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

	if (p == MAP_FAILED) {
		fprintf(stderr, "balloon-guest: mmap %zu MiB: %s\n", mb, strerror(errno));
		exit(1);
	}
	return p;
}

static void fill(uint64_t *m, size_t pages, uint64_t gen)
{
	for (size_t p = 0; p < pages; p++)
		for (size_t w = 0; w < PAGE / 8; w++)
			m[p * (PAGE / 8) + w] = pattern(p, w, gen);
}

static size_t verify(const uint64_t *m, size_t pages, uint64_t gen)
{
	size_t bad = 0;

	for (size_t p = 0; p < pages; p++)
		for (size_t w = 0; w < PAGE / 8; w++)
			if (m[p * (PAGE / 8) + w] != pattern(p, w, gen)) {
				bad++;
				break;
			}
	return bad;
}

int main(int argc, char **argv)
{
	size_t mb, pages, bad = 0;
	uint64_t *m, gen = 1, rounds = 0;

	if (argc < 3 || (mb = strtoul(argv[2], NULL, 10)) == 0) {
		fprintf(stderr, "usage: balloon-guest touch MB | work MB STOPFILE\n");
		return 2;
	}
	pages = (mb << 20) / PAGE;
	m = map(mb);
	if (!strcmp(argv[1], "touch")) {
		memset(m, 0xa5, mb << 20);
		printf("WORKLOAD: touched %zu MiB\n", mb);
		return 0;
	}
	if (strcmp(argv[1], "work") || argc != 4) {
		fprintf(stderr, "usage: balloon-guest touch MB | work MB STOPFILE\n");
		return 2;
	}
	fill(m, pages, gen);
	while (access(argv[3], F_OK) != 0) {
		size_t b = verify(m, pages, gen);

		if (b)
			fprintf(stderr, "WORKLOAD: round %llu: %zu of %zu pages corrupt\n",
				(unsigned long long)rounds, b, pages);
		bad += b;
		fill(m, pages, ++gen);
		rounds++;
		usleep(100 * 1000);
	}
	bad += verify(m, pages, gen);
	printf("WORKLOAD: %zu MiB, %llu rounds, %zu corrupt pages\n", mb,
	       (unsigned long long)rounds, bad);
	return bad ? 1 : 0;
}
