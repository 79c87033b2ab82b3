// SPDX-License-Identifier: MIT
/*
 * The stream reassembler: a stream of every valid vector fed whole, split at
 * every byte boundary, one byte at a time; garbage before, between and inside
 * frames; invalid frames; an oversized length; the buffer bound; statistics.
 */
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "../../tap.h"
#include "vcma_vectors.h"

#define HDR	sizeof(struct vcma_hdr)
#define MAXLEN	VCMA_VECTOR_MAX_LEN

static struct vcma_msg *m;
static uint8_t *stream, *frame, *out;
static size_t stream_len;
static size_t frame_off[64], frame_len[64], nframes;

/* All valid vectors back to back: the reference stream. */
static void build_stream(void)
{
	stream = malloc(MAXLEN * 2);
	for (size_t i = 0; i < vcma_vectors_count; i++) {
		int len;

		if (vcma_vectors[i].expect != VCMA_CERR_OK)
			continue;
		len = vcma_vector_bytes(&vcma_vectors[i], stream + stream_len,
					MAXLEN * 2 - stream_len);
		frame_off[nframes] = stream_len;
		frame_len[nframes++] = (size_t)len;
		stream_len += (size_t)len;
	}
}

/* The frame just yielded is frame k of the reference stream. */
static bool is_frame(size_t k)
{
	int len = vcma_encode(m, out, MAXLEN);

	return k < nframes && len == (int)frame_len[k] &&
	       memcmp(out, stream + frame_off[k], frame_len[k]) == 0;
}

/*
 * Drain r; each yielded frame must be the next expected one. Errors are
 * counted, not fatal. Returns false on a frame out of order.
 */
static bool drain(struct vcma_reasm *r, size_t *next, int *errors)
{
	int rc;

	while ((rc = vcma_reasm_next(r, m)) != 0) {
		if (rc < 0) {
			(*errors)++;
			continue;
		}
		if (!is_frame(*next))
			return false;
		(*next)++;
	}
	return true;
}

/* Feed b in chunks of the given sizes (cycled), draining after each. */
static bool feed_chunked(struct vcma_reasm *r, const uint8_t *b, size_t len,
			 const size_t *chunks, size_t nchunks, size_t *next,
			 int *errors)
{
	for (size_t off = 0, c = 0; off < len; c = (c + 1) % nchunks) {
		size_t n = chunks[c] < len - off ? chunks[c] : len - off;

		if (vcma_reasm_feed(r, b + off, n) != 0)
			return false;
		off += n;
		if (!drain(r, next, errors))
			return false;
	}
	return true;
}

static void test_whole_and_bytewise(void)
{
	struct vcma_reasm *r = vcma_reasm_new(0);
	struct vcma_reasm_stats st;
	size_t next = 0, one = 1, all = stream_len;
	int errors = 0;

	ok(feed_chunked(r, stream, stream_len, &all, 1, &next, &errors) &&
	   next == nframes && errors == 0 && vcma_reasm_buffered(r) == 0,
	   "%zu frames fed at once come out in order", nframes);
	next = 0;
	ok(feed_chunked(r, stream, stream_len, &one, 1, &next, &errors) &&
	   next == nframes && errors == 0 && vcma_reasm_buffered(r) == 0,
	   "the same stream fed one byte at a time");
	vcma_reasm_stats(r, &st);
	ok(st.frames == 2 * nframes && st.bad_frames == 0 &&
	   st.bytes_discarded == 0 && st.last_error == 0,
	   "stats: %llu frames, nothing bad or discarded", (unsigned long long)st.frames);
	vcma_reasm_free(r);
}

static void test_every_split(void)
{
	bool all = true;

	for (size_t cut = 1; cut < stream_len && all; cut++) {
		struct vcma_reasm *r = vcma_reasm_new(0);
		size_t next = 0;
		int errors = 0;

		all = vcma_reasm_feed(r, stream, cut) == 0 &&
		      drain(r, &next, &errors) &&
		      vcma_reasm_feed(r, stream + cut, stream_len - cut) == 0 &&
		      drain(r, &next, &errors) && next == nframes && errors == 0;
		if (!all)
			tap_diag("split at %zu failed", cut);
		vcma_reasm_free(r);
	}
	ok(all, "stream split in two at each of %zu byte boundaries", stream_len - 1);

	/* Irregular chunkings, including ones that end exactly on frame edges. */
	static const size_t pat[][4] = {
		{ 2, 3, 5, 7 }, { 23, 24, 25, 1 }, { 96, 1, 1, 4000 }, { 120, 168, 1, 13 },
	};
	for (size_t p = 0; p < sizeof(pat) / sizeof(pat[0]); p++) {
		struct vcma_reasm *r = vcma_reasm_new(0);
		size_t next = 0;
		int errors = 0;

		ok(feed_chunked(r, stream, stream_len, pat[p], 4, &next, &errors) &&
		   next == nframes && errors == 0,
		   "chunk pattern %zu,%zu,%zu,%zu", pat[p][0], pat[p][1], pat[p][2], pat[p][3]);
		vcma_reasm_free(r);
	}
}

/* Build: garbage, frame 0, garbage, frame 1, ... with known garbage sizes. */
static void test_garbage(void)
{
	static const uint8_t junk[][7] = {
		{ 'x', 'y', 'z' },
		{ 'V', 'C', 'M' },		/* a magic prefix that goes nowhere */
		{ 'V', 'V', 'C', 'C', 'M', 'A', 'V' },	/* ends in a magic prefix */
		{ 0, 0, 0, 0, 0, 0, 0 },
		{ 'A', 'M', 'C', 'V' },
	};
	static const size_t junk_len[] = { 3, 3, 7, 7, 4 };
	const size_t njunk = sizeof(junk_len) / sizeof(junk_len[0]);
	uint8_t *s = malloc(MAXLEN * 3);
	size_t len = 0, garbage = 0, one = 1, all;

	for (size_t k = 0; k < nframes; k++) {
		size_t j = k % njunk;

		memcpy(s + len, junk[j], junk_len[j]);
		len += junk_len[j];
		garbage += junk_len[j];
		memcpy(s + len, stream + frame_off[k], frame_len[k]);
		len += frame_len[k];
	}
	memcpy(s + len, "trailing", 8);
	len += 8;
	garbage += 8;
	all = len;

	for (int pass = 0; pass < 2; pass++) {
		struct vcma_reasm *r = vcma_reasm_new(0);
		struct vcma_reasm_stats st;
		size_t next = 0;
		int errors = 0;

		ok(feed_chunked(r, s, len, pass ? &one : &all, 1, &next, &errors) &&
		   next == nframes && errors == 0,
		   "%s: every frame found between garbage", pass ? "bytewise" : "whole");
		vcma_reasm_stats(r, &st);
		ok(st.frames == nframes && st.bytes_discarded == garbage &&
		   st.bad_frames == 0 && st.last_error == 0,
		   "%s: %llu garbage bytes counted (expected %zu)",
		   pass ? "bytewise" : "whole",
		   (unsigned long long)st.bytes_discarded, garbage);
		vcma_reasm_free(r);
	}
	free(s);
}

/* An invalid frame between two valid ones: one error, then resync. */
static void check_bad_between(const char *name, int want, size_t want_discard)
{
	const struct vcma_vector *v = NULL;
	struct vcma_reasm *r = vcma_reasm_new(0);
	struct vcma_reasm_stats st;
	int len, rc1, rc2, rc3, rc4;

	for (size_t i = 0; i < vcma_vectors_count; i++) {
		if (strcmp(vcma_vectors[i].name, name) == 0)
			v = &vcma_vectors[i];
	}
	len = vcma_vector_bytes(v, frame, MAXLEN);
	vcma_reasm_feed(r, stream, frame_len[0]);
	vcma_reasm_feed(r, frame, (size_t)len);
	vcma_reasm_feed(r, stream + frame_off[1], frame_len[1]);
	rc1 = vcma_reasm_next(r, m);
	rc1 = rc1 == 1 && is_frame(0);
	rc2 = vcma_reasm_next(r, m);
	rc3 = vcma_reasm_next(r, m);
	rc3 = rc3 == 1 && is_frame(1);
	rc4 = vcma_reasm_next(r, m);
	vcma_reasm_stats(r, &st);
	ok(rc1 && rc2 == want && rc3 && rc4 == 0 && st.bad_frames == 1 &&
	   st.last_error == want && st.bytes_discarded == want_discard,
	   "%s between valid frames: %s once, %zu bytes dropped, then resync",
	   name, vcma_cerr_name(want), want_discard);
	vcma_reasm_free(r);
}

static void test_bad_frames(void)
{
	/* Header errors: the header is suspect, so it is stepped over byte by byte. */
	check_bad_between("bad-version", VCMA_CERR_VERSION, HDR);
	check_bad_between("unknown-type", VCMA_CERR_TYPE, HDR);
	check_bad_between("header-reserved", VCMA_CERR_RESERVED, HDR);
	check_bad_between("too-big", VCMA_CERR_TOOBIG, HDR);
	/* Payload errors under a sound header: the frame is skipped as a unit. */
	check_bad_between("count-over-payload", VCMA_CERR_COUNT,
			  HDR + sizeof(struct vcma_balloon_report) + 4 * 8);
	check_bad_between("bad-label-char", VCMA_CERR_VALUE,
			  HDR + VCMA_RESERVE_BASE_LEN);
	check_bad_between("payload-reserved", VCMA_CERR_RESERVED,
			  HDR + VCMA_RESERVE_BASE_LEN);
	check_bad_between("reserve-below-zero", VCMA_CERR_VALUE,
			  HDR + sizeof(struct vcma_reserve));
}

/* A header announcing 2 GiB: rejected at once, no waiting for the bytes. */
static void test_oversized(void)
{
	struct vcma_reasm *r = vcma_reasm_new(0);
	struct vcma_reasm_stats st;
	uint8_t hdr[HDR];
	int rc1, rc2;

	memcpy(hdr, stream + frame_off[0], HDR);
	hdr[8] = 0, hdr[9] = 0, hdr[10] = 0, hdr[11] = 0x80;
	vcma_reasm_feed(r, hdr, HDR);
	rc1 = vcma_reasm_next(r, m);
	vcma_reasm_feed(r, stream, frame_len[0]);
	rc2 = vcma_reasm_next(r, m);
	vcma_reasm_stats(r, &st);
	ok(rc1 == VCMA_CERR_TOOBIG && rc2 == 1 && is_frame(0) &&
	   vcma_reasm_next(r, m) == 0 && st.bad_frames == 1,
	   "2 GiB payload_len rejected from the header alone, next frame found");
	vcma_reasm_free(r);
}

static void test_bound(void)
{
	const size_t max_frame = HDR + VCMA_MAX_PAYLOAD;
	struct vcma_reasm *r = vcma_reasm_new(100);
	uint8_t *big = calloc(1, max_frame + 1);
	size_t next = 0;
	int errors = 0, rc;

	ok(r && vcma_reasm_space(r) == max_frame,
	   "a bound below one maximal frame is raised to %zu", max_frame);
	ok(vcma_reasm_feed(r, big, max_frame + 1) == VCMA_CERR_NOSPACE &&
	   vcma_reasm_buffered(r) == 0, "feeding past the bound is NOSPACE, nothing kept");
	vcma_reasm_free(r);

	/*
	 * A legal header announcing the largest payload pins the buffer until
	 * the payload is complete; the bound must still let it complete.
	 */
	r = vcma_reasm_new(max_frame);
	memcpy(big, stream + frame_off[0], HDR);
	big[5] = VCMA_MSG_STATUS_RESULT;
	big[8] = 0, big[9] = 0, big[10] = 1, big[11] = 0;	/* 65536 */
	ok(vcma_reasm_feed(r, big, max_frame - 1) == 0 && vcma_reasm_next(r, m) == 0 &&
	   vcma_reasm_space(r) == 1, "a maximal frame waits for its last byte");
	ok(vcma_reasm_feed(r, stream, 2) == VCMA_CERR_NOSPACE &&
	   vcma_reasm_feed(r, big + max_frame - 1, 1) == 0,
	   "with one byte of space, two are refused and one taken");
	rc = vcma_reasm_next(r, m);
	ok(rc == VCMA_CERR_COUNT && vcma_reasm_buffered(r) == 0 &&
	   vcma_reasm_space(r) == max_frame,
	   "the complete bad frame is dropped whole and the space comes back");

	/* Many passes through a buffer of exactly one maximal frame: compaction. */
	bool all = true;
	for (int round = 0; round < 40 && all; round++) {
		next = 0;
		all = feed_chunked(r, stream, stream_len, (size_t[]){ 1000 }, 1, &next,
				   &errors) && next == nframes;
	}
	ok(all && errors == 0 && vcma_reasm_buffered(r) == 0,
	   "40 passes of the stream through the bounded buffer");
	vcma_reasm_free(r);
	vcma_reasm_free(NULL);
	free(big);
}

static void test_reset(void)
{
	struct vcma_reasm *r = vcma_reasm_new(0);
	struct vcma_reasm_stats st;
	size_t next = 0;
	int errors = 0;

	/* Half a frame and some garbage, as a connection might leave behind. */
	vcma_reasm_feed(r, "junk", 4);
	vcma_reasm_feed(r, stream, frame_len[0] / 2);
	vcma_reasm_next(r, m);
	vcma_reasm_reset(r);
	vcma_reasm_stats(r, &st);
	ok(vcma_reasm_buffered(r) == 0 && st.frames == 0 && st.bytes_discarded == 0 &&
	   st.bad_frames == 0 && st.last_error == 0, "reset forgets bytes and stats");
	ok(feed_chunked(r, stream, stream_len, (size_t[]){ 77 }, 1, &next, &errors) &&
	   next == nframes && errors == 0, "after reset the next stream decodes from its start");
	vcma_reasm_free(r);
}

int main(void)
{
	m = malloc(sizeof(*m));
	frame = malloc(MAXLEN);
	out = malloc(MAXLEN);
	build_stream();

	test_whole_and_bytewise();
	test_every_split();
	test_garbage();
	test_bad_frames();
	test_oversized();
	test_bound();
	test_reset();

	free(m);
	free(frame);
	free(out);
	free(stream);
	return tap_done();
}
