// SPDX-License-Identifier: MIT
/*
 * libFuzzer target: the stream reassembler. The first input byte seeds a
 * chunking of the rest; the stream goes through a bounded reassembler in
 * those chunks and through a second, unbounded one in a single piece. The
 * sequence of results (frames and errors) and the final statistics must be
 * the same, i.e. independent of how the stream was cut, and every yielded
 * frame must round-trip through the codec.
 */
#include <stdlib.h>
#include <string.h>

#include "vcma_codec.h"

#define MAX_FRAME	(sizeof(struct vcma_hdr) + VCMA_MAX_PAYLOAD)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Inputs up to this size reuse one pair of reassemblers (reset per run). */
#define REUSE_INPUT	(1u << 20)

static struct vcma_msg *m;
static uint8_t *out;
static struct vcma_reasm *whole_reused, *cut_reused;

/* One result as a number: the error, or a hash of the frame's encoding. */
static uint64_t result_of(int rc)
{
	uint64_t h = 1469598103934665603ull;
	int len;

	if (rc < 0)
		return (uint64_t)(-rc);
	len = vcma_encode(m, out, MAX_FRAME);
	if (len <= 0 || vcma_decode(out, (size_t)len, m) != len)
		abort();
	for (int i = 0; i < len; i++)
		h = (h ^ out[i]) * 1099511628211ull;
	return h | (1ull << 63);
}

static uint32_t next_rand(uint32_t *s)
{
	*s ^= *s << 13;
	*s ^= *s >> 17;
	*s ^= *s << 5;
	return *s;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct vcma_reasm *whole, *cut;
	struct vcma_reasm_stats a, b;
	uint64_t *results;
	size_t nresults = 0, checked = 0, off = 0;
	uint32_t seed;
	int rc;

	if (size < 1)
		return 0;
	if (!m) {
		m = malloc(sizeof(*m));
		out = malloc(MAX_FRAME);
		whole_reused = vcma_reasm_new(REUSE_INPUT + MAX_FRAME);
		cut_reused = vcma_reasm_new(0);
		if (!m || !out || !whole_reused || !cut_reused)
			abort();
	}
	seed = (uint32_t)data[0] * 2654435761u | 1;
	data++;
	size--;

	/* Every result consumes at least one byte. */
	results = malloc((size + 1) * sizeof(*results));
	if (size <= REUSE_INPUT) {
		whole = whole_reused;
		cut = cut_reused;
		vcma_reasm_reset(whole);
		vcma_reasm_reset(cut);
	} else {
		whole = vcma_reasm_new(size + MAX_FRAME);
		cut = vcma_reasm_new(0);
	}
	if (!results || !whole || !cut)
		abort();

	if (vcma_reasm_feed(whole, data, size) != 0)
		abort();
	while ((rc = vcma_reasm_next(whole, m)) != 0) {
		if (nresults > size)
			abort();
		results[nresults++] = result_of(rc);
	}

	while (off < size) {
		uint32_t r = next_rand(&seed);
		size_t n = 1 + (r >> 4) % (1u << (r & 15));

		if (n > size - off)
			n = size - off;
		if (n > vcma_reasm_space(cut))
			n = vcma_reasm_space(cut);
		/* Drained after every feed, a bounded buffer always has room. */
		if (n == 0 || vcma_reasm_feed(cut, data + off, n) != 0)
			abort();
		off += n;
		while ((rc = vcma_reasm_next(cut, m)) != 0) {
			if (checked >= nresults || results[checked++] != result_of(rc))
				abort();
		}
		if (vcma_reasm_buffered(cut) >= MAX_FRAME)
			abort();
	}
	vcma_reasm_stats(whole, &a);
	vcma_reasm_stats(cut, &b);
	if (checked != nresults || a.frames != b.frames ||
	    a.bad_frames != b.bad_frames || a.bytes_discarded != b.bytes_discarded ||
	    a.last_error != b.last_error ||
	    vcma_reasm_buffered(whole) != vcma_reasm_buffered(cut) ||
	    a.bytes_discarded + vcma_reasm_buffered(whole) > size)
		abort();

	if (whole != whole_reused) {
		vcma_reasm_free(whole);
		vcma_reasm_free(cut);
	}
	free(results);
	return 0;
}
