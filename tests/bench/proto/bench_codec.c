// SPDX-License-Identifier: MIT
/*
 * Codec throughput: encode and decode frames/s for a small RESERVE, a full
 * STATUS_RESULT (256 grants) and a full BALLOON_REPORT (512 chunks), each
 * against a plain memcpy of the same bytes measured in the same run. The
 * ratio is what to compare across machines; the absolute rates are not.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "vcma_codec.h"

#define MIN_SECONDS	0.2
#define MAX_FRAME	(sizeof(struct vcma_hdr) + VCMA_MAX_PAYLOAD)

enum op { OP_ENCODE, OP_DECODE, OP_MEMCPY };

static struct vcma_msg *msg, *scratch;
static uint8_t *wire, *dst;
static int wire_len;

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* One operation; its result feeds a check so nothing is optimised away. */
static int run_once(enum op op)
{
	switch (op) {
	case OP_ENCODE:
		return vcma_encode(msg, dst, MAX_FRAME);
	case OP_DECODE:
		return vcma_decode(wire, (size_t)wire_len, scratch);
	default:
		memcpy(dst, wire, (size_t)wire_len);
		__asm__ volatile("" : : "r"(dst) : "memory");
		return wire_len;
	}
}

/* Frames per second of op, running batches until MIN_SECONDS have passed. */
static double rate(enum op op)
{
	double start = now(), elapsed;
	unsigned long n = 0;

	do {
		for (int i = 0; i < 256; i++) {
			if (run_once(op) != wire_len) {
				fprintf(stderr, "bench: operation %d failed\n", op);
				exit(1);
			}
		}
		n += 256;
		elapsed = now() - start;
	} while (elapsed < MIN_SECONDS);
	return (double)n / elapsed;
}

static void build_reserve(struct vcma_msg *m)
{
	vcma_msg_init(m, VCMA_MSG_RESERVE, 42);
	m->u.reserve.size = 64ull << 20;
	m->u.reserve.align = 2ull << 20;
	m->u.reserve.tag = 7;
	m->u.reserve.node = VCMA_NODE_ANY;
	m->u.reserve.flags = VCMA_RSV_WAIT_PINS;
	m->u.reserve.deadline_ms = 5000;
	strcpy(m->u.reserve.label, "gpu0-framebuffer");
}

static void build_status(struct vcma_msg *m)
{
	struct vcma_status_result_h *s = &m->u.status_result;

	vcma_msg_init(m, VCMA_MSG_STATUS_RESULT, 43);
	s->mem_total = 4ull << 30;
	s->mem_free = 3ull << 30;
	s->nr_grants = VCMA_MAX_GRANTS_FRAME;
	for (unsigned int i = 0; i < VCMA_MAX_GRANTS_FRAME; i++) {
		s->grants[i] = (struct vcma_grant_info_h){ i + 1, (uint64_t)(i + 1) << 24,
							   1u << 24, 1000 + i, "", 0, "" };
		snprintf(s->grants[i].label, sizeof(s->grants[i].label), "grant-%u", i);
	}
}

static void build_balloon(struct vcma_msg *m)
{
	struct vcma_balloon_report_h *b = &m->u.balloon_report;

	vcma_msg_init(m, VCMA_MSG_BALLOON_REPORT, 44);
	b->target_bytes = 2ull << 30;
	b->actual_bytes = 1ull << 30;
	b->status = VCMA_E_AGAIN;
	b->chunk_order = 9;
	b->direction = VCMA_BALLOON_INFLATED;
	b->nr_chunks = VCMA_MAX_CHUNKS_FRAME;
	for (unsigned int i = 0; i < VCMA_MAX_CHUNKS_FRAME; i++)
		b->chunks[i] = (4ull << 30) + ((uint64_t)i << 21);
}

int main(void)
{
	static const struct {
		const char *name;
		void (*build)(struct vcma_msg *m);
	} mix[] = {
		{ "RESERVE", build_reserve },
		{ "STATUS_RESULT x256", build_status },
		{ "BALLOON_REPORT x512", build_balloon },
	};

	msg = malloc(sizeof(*msg));
	scratch = malloc(sizeof(*scratch));
	wire = malloc(MAX_FRAME);
	dst = malloc(MAX_FRAME);
	if (!msg || !scratch || !wire || !dst)
		return 1;

	printf("%-20s %6s %14s %14s %14s %9s %9s\n", "message", "bytes",
	       "encode fr/s", "decode fr/s", "memcpy fr/s", "enc/cpy", "dec/cpy");
	/* Seconds per frame summed over the mix, for the one-of-each row. */
	double enc_s = 0, dec_s = 0, cpy_s = 0;
	int mix_bytes = 0;
	const size_t n_mix = sizeof(mix) / sizeof(mix[0]);

	for (size_t i = 0; i < n_mix; i++) {
		double enc, dec, cpy;

		mix[i].build(msg);
		wire_len = vcma_encode(msg, wire, MAX_FRAME);
		if (wire_len <= 0) {
			fprintf(stderr, "bench: %s does not encode: %s\n", mix[i].name,
				vcma_codec_strerror(wire_len));
			return 1;
		}
		enc = rate(OP_ENCODE);
		dec = rate(OP_DECODE);
		cpy = rate(OP_MEMCPY);
		/* How many times slower than copying the bytes. */
		printf("%-20s %6d %14.0f %14.0f %14.0f %8.1fx %8.1fx\n", mix[i].name,
		       wire_len, enc, dec, cpy, cpy / enc, cpy / dec);
		enc_s += 1 / enc;
		dec_s += 1 / dec;
		cpy_s += 1 / cpy;
		mix_bytes += wire_len;
	}
	printf("%-20s %6d %14.0f %14.0f %14.0f %8.1fx %8.1fx\n", "mix, one of each",
	       mix_bytes / (int)n_mix, n_mix / enc_s, n_mix / dec_s, n_mix / cpy_s,
	       enc_s / cpy_s, dec_s / cpy_s);
	printf("(enc/cpy, dec/cpy: how many times longer than memcpy of the same bytes)\n");
	free(msg);
	free(scratch);
	free(wire);
	free(dst);
	return 0;
}
