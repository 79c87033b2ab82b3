// SPDX-License-Identifier: MIT
/*
 * Codec rules, one by one: every rejection path of the decoder, the same
 * rules on the encoder, field placement checked against an independent
 * encoding through the packed structs of vcma_proto.h, output bounds,
 * negotiation and the name tables.
 */
#include <stdbool.h>
#include <endian.h>
#include <stdlib.h>
#include <string.h>

#include "../../tap.h"
#include "vcma_vectors.h"

#define HDR		sizeof(struct vcma_hdr)
#define PL(type, field)	(HDR + offsetof(struct type, field))
#define MAXLEN		VCMA_VECTOR_MAX_LEN

static struct vcma_msg *m, *m2;
static uint8_t *buf, *out;

static const struct vcma_vector *vec(const char *name)
{
	for (size_t i = 0; i < vcma_vectors_count; i++) {
		if (strcmp(vcma_vectors[i].name, name) == 0)
			return &vcma_vectors[i];
	}
	fprintf(stderr, "no vector %s\n", name);
	exit(2);
}

static int vec_bytes(const char *name)
{
	return vcma_vector_bytes(vec(name), buf, MAXLEN);
}

/* Decode exactly len bytes from a heap block of that size, so ASan sees any overread. */
static int decode_exact(const uint8_t *b, size_t len)
{
	uint8_t *copy = malloc(len ? len : 1);
	int rc;

	memcpy(copy, b, len);
	rc = vcma_decode(copy, len, m2);
	free(copy);
	return rc;
}

static void put_le(uint8_t *p, uint64_t v, unsigned int n)
{
	for (unsigned int i = 0; i < n; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}

/* ---- truncation, trailing bytes, output bounds ------------------------ */

static void test_lengths(void)
{
	for (size_t i = 0; i < vcma_vectors_count; i++) {
		const struct vcma_vector *v = &vcma_vectors[i];
		int len = vcma_vector_bytes(v, buf, MAXLEN);
		bool short_ok = true, nospace_ok = true;

		if (v->expect != VCMA_CERR_OK)
			continue;
		for (int k = 0; k < len; k++)
			short_ok &= decode_exact(buf, (size_t)k) == VCMA_CERR_SHORT;
		ok(short_ok, "%s: every truncation 0..%d decodes as SHORT", v->name, len - 1);

		memset(buf + len, 0xee, 7);
		ok(decode_exact(buf, (size_t)len + 7) == len,
		   "%s: trailing bytes are left for the next frame", v->name);

		v->build(m);
		for (int k = 0; k < len; k++) {
			uint8_t *o = malloc(k ? (size_t)k : 1);

			nospace_ok &= vcma_encode(m, o, (size_t)k) == VCMA_CERR_NOSPACE;
			free(o);
		}
		ok(nospace_ok && vcma_encode(m, NULL, 0) == VCMA_CERR_NOSPACE,
		   "%s: encode into 0..%d bytes is NOSPACE and stays in bounds",
		   v->name, len - 1);
	}
}

/* ---- header rules ------------------------------------------------------ */

static void test_header(void)
{
	int len = vec_bytes("ping");
	bool all;

	buf[4] = 0;
	ok(decode_exact(buf, (size_t)len) == VCMA_CERR_VERSION, "version 0 rejected");
	buf[4] = 255;
	ok(decode_exact(buf, (size_t)len) == VCMA_CERR_VERSION, "version 255 rejected");
	buf[4] = 1;
	buf[5] = 255;
	ok(decode_exact(buf, (size_t)len) == VCMA_CERR_TYPE, "type 255 rejected");
	buf[5] = VCMA_MSG_PING;

	all = true;
	for (unsigned int bit = 1; bit < 16; bit++) {
		put_le(buf + 6, 1u << bit, 2);
		all &= decode_exact(buf, (size_t)len) == VCMA_CERR_FLAGS;
	}
	ok(all, "each undefined flag bit 1..15 rejected");
	put_le(buf + 6, 0, 2);

	all = true;
	for (unsigned int b = 12; b < 16; b++) {
		buf[b] = 0x80;
		all &= decode_exact(buf, (size_t)len) == VCMA_CERR_RESERVED;
		buf[b] = 0;
	}
	ok(all, "each byte of the header's reserved word checked");

	all = true;
	for (size_t i = 0; i < vcma_vectors_count; i++) {
		const struct vcma_vector *v = &vcma_vectors[i];
		bool may;
		int rc;

		if (v->expect != VCMA_CERR_OK)
			continue;
		len = vcma_vector_bytes(v, buf, MAXLEN);
		may = buf[5] == VCMA_MSG_STATUS_RESULT ||
		      buf[5] == VCMA_MSG_BALLOON_REPORT;
		buf[6] |= VCMA_HDR_F_MORE;
		rc = decode_exact(buf, (size_t)len);
		all &= may ? rc == len : rc == VCMA_CERR_FLAGS;
	}
	ok(all, "MORE accepted on STATUS_RESULT and BALLOON_REPORT only");

	len = vec_bytes("ping");
	/* Only the magic can be judged from a partial header. */
	buf[2] = 'X';
	ok(decode_exact(buf, 3) == VCMA_CERR_MAGIC && decode_exact(buf, 2) == VCMA_CERR_SHORT,
	   "bad magic detected as soon as the bad byte is present");
	buf[2] = 'M';
	buf[4] = 9;
	ok(decode_exact(buf, HDR) == VCMA_CERR_VERSION,
	   "a bad header is reported before its payload arrives");
}

/* ---- payload lengths and counts ---------------------------------------- */

static void set_payload_len(uint32_t n)
{
	put_le(buf + 8, n, 4);
}

static void test_payload_lengths(void)
{
	static const char *const fixed[] = {
		"reserve", "reserve-result-ok", "release", "release-result",
		"balloon-set", "status", "event", "ping", "pong", "error",
	};
	static const char *const variable[] = {
		"hello-guest", "balloon-report-more", "status-result",
	};
	int len;

	for (size_t i = 0; i < sizeof(fixed) / sizeof(fixed[0]); i++) {
		len = vec_bytes(fixed[i]);
		set_payload_len((uint32_t)len - HDR + 1);
		buf[len] = 0;
		ok(decode_exact(buf, (size_t)len + 1) == VCMA_CERR_LENGTH,
		   "%s: payload one byte long is LENGTH", fixed[i]);
		if (len == (int)HDR)
			continue;
		set_payload_len((uint32_t)len - HDR - 1);
		ok(decode_exact(buf, (size_t)len - 1) == VCMA_CERR_LENGTH,
		   "%s: payload one byte short is LENGTH", fixed[i]);
	}
	for (size_t i = 0; i < sizeof(variable) / sizeof(variable[0]); i++) {
		len = vec_bytes(variable[i]);
		set_payload_len((uint32_t)len - HDR + 1);
		buf[len] = 0;
		ok(decode_exact(buf, (size_t)len + 1) == VCMA_CERR_COUNT,
		   "%s: a byte beyond the counted entries is COUNT", variable[i]);
		set_payload_len((uint32_t)len - HDR - 1);
		ok(decode_exact(buf, (size_t)len - 1) == VCMA_CERR_COUNT,
		   "%s: a byte missing from the counted entries is COUNT", variable[i]);
		set_payload_len(7);
		ok(decode_exact(buf, HDR + 7) == VCMA_CERR_LENGTH,
		   "%s: payload shorter than the fixed part is LENGTH", variable[i]);
	}

	static const uint32_t big[] = { VCMA_MAX_PAYLOAD + 1, 0x80000000u, 0xffffffffu };
	for (size_t i = 0; i < sizeof(big) / sizeof(big[0]); i++) {
		len = vec_bytes("status-result");
		set_payload_len(big[i]);
		ok(decode_exact(buf, HDR) == VCMA_CERR_TOOBIG,
		   "payload_len %#x is TOOBIG from the header alone", big[i]);
	}

	/* The largest legal payload_len passes the header and waits for its bytes. */
	len = vec_bytes("status-result");
	set_payload_len(VCMA_MAX_PAYLOAD);
	ok(decode_exact(buf, (size_t)len) == VCMA_CERR_SHORT,
	   "payload_len = VCMA_MAX_PAYLOAD is not TOOBIG");
	memset(buf + len, 0, HDR + VCMA_MAX_PAYLOAD - (size_t)len);
	ok(decode_exact(buf, HDR + VCMA_MAX_PAYLOAD) == VCMA_CERR_COUNT,
	   "... and is COUNT once complete (2 grants do not fill 64 KiB)");
}

struct count_case {
	const char *vector;
	size_t off;		/* of the count field */
	unsigned int width;
	uint64_t value;
};

static void test_counts(void)
{
	static const struct count_case cases[] = {
		{ "hello-guest", PL(vcma_hello, nr_ranges), 4, 0xffffffffu },
		{ "hello-guest", PL(vcma_hello, nr_ranges), 4, 0x80000001u },
		{ "hello-guest", PL(vcma_hello, nr_ranges), 4, VCMA_MAX_MEM_RANGES + 1 },
		{ "status-result", PL(vcma_status_result, nr_grants), 4, 0xffffffffu },
		/* count * 64 wraps a 32-bit product to 64: must still be caught */
		{ "status-result", PL(vcma_status_result, nr_grants), 4, 0x04000001u },
		{ "status-result", PL(vcma_status_result, nr_grants), 4, 0 },
		{ "balloon-report-more", PL(vcma_balloon_report, nr_chunks), 2, 0xffff },
		{ "balloon-report-more", PL(vcma_balloon_report, nr_chunks), 2, 0 },
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		const struct count_case *c = &cases[i];
		int len = vec_bytes(c->vector);

		put_le(buf + c->off, c->value, c->width);
		ok(decode_exact(buf, (size_t)len) == VCMA_CERR_COUNT,
		   "%s: count %#llx against the payload is COUNT", c->vector,
		   (unsigned long long)c->value);
	}

	/* Over the maximum even when the payload matches the count exactly. */
	vec(("balloon-report-more"))->build(m);
	m->u.balloon_report.nr_chunks = VCMA_MAX_CHUNKS_FRAME;
	for (unsigned int i = 0; i < VCMA_MAX_CHUNKS_FRAME; i++)
		m->u.balloon_report.chunks[i] = (uint64_t)i << 21;
	int len = vcma_encode(m, buf, MAXLEN);
	ok(len == (int)(HDR + sizeof(struct vcma_balloon_report) + 8 * VCMA_MAX_CHUNKS_FRAME),
	   "balloon report with the maximum 512 chunks encodes");
	ok(decode_exact(buf, (size_t)len) == len, "... and decodes");
	put_le(buf + PL(vcma_balloon_report, nr_chunks), VCMA_MAX_CHUNKS_FRAME + 1, 2);
	set_payload_len((uint32_t)len - HDR + 8);
	memset(buf + len, 0, 8);
	ok(decode_exact(buf, (size_t)len + 8) == VCMA_CERR_COUNT,
	   "513 chunks with a payload that holds them is COUNT (over max)");
}

/* ---- reserved bytes inside payloads ----------------------------------- */

struct zero_span {
	const char *vector;
	size_t off, len;
};

static void test_payload_reserved(void)
{
	static const struct zero_span spans[] = {
		{ "hello-guest", PL(vcma_hello, reserved0), 1 },
		{ "hello-guest", HDR + sizeof(struct vcma_hello) +
		  offsetof(struct vcma_mem_range, reserved), 3 },
		{ "hello-guest", HDR + sizeof(struct vcma_hello) +
		  sizeof(struct vcma_mem_range) + offsetof(struct vcma_mem_range, reserved), 3 },
		{ "reserve", PL(vcma_reserve, reserved), 4 },
		{ "reserve-below", PL(vcma_reserve, reserved), 4 },
		{ "reserve-result-ok", PL(vcma_reserve_result, reserved), 4 },
		{ "reserve-result-ok", PL(vcma_reserve_result, ev.reserved), 4 },
		{ "release-result", PL(vcma_release_result, reserved), 4 },
		{ "release-result-claimed", PL(vcma_release_result, reserved), 4 },
		{ "status-result-holders", HDR + sizeof(struct vcma_status_result) +
		  sizeof(struct vcma_grant_info) + offsetof(struct vcma_grant_holders, reserved), 4 },
		{ "balloon-set", PL(vcma_balloon_set, reserved), 7 },
		{ "event", PL(vcma_event, reserved), 4 },
		{ "error", PL(vcma_error, reserved), 3 },
	};

	for (size_t i = 0; i < sizeof(spans) / sizeof(spans[0]); i++) {
		const struct zero_span *s = &spans[i];
		bool all = true;

		for (size_t b = 0; b < s->len; b++) {
			int len = vec_bytes(s->vector);

			buf[s->off + b] = 1;
			all &= decode_exact(buf, (size_t)len) == VCMA_CERR_RESERVED;
		}
		ok(all, "%s: each of %zu reserved bytes at +%zu must be zero",
		   s->vector, s->len, s->off - HDR);
	}
}

/* ---- string padding on the wire ---------------------------------------- */

static void test_wire_strings(void)
{
	const size_t label = PL(vcma_reserve, label);
	bool all = true;
	int len;

	/* A stray byte anywhere after the terminating NUL, including the last. */
	for (size_t i = strlen("gpu0-fb") + 1; i < VCMA_NAME_LEN; i++) {
		len = vec_bytes("reserve");
		buf[label + i] = 'x';
		all &= decode_exact(buf, (size_t)len) == VCMA_CERR_VALUE;
	}
	ok(all, "a byte after the NUL is VALUE at every position up to the last");

	len = vec_bytes("reserve");
	memset(buf + label, 'y', VCMA_NAME_LEN);
	ok(decode_exact(buf, (size_t)len) == len && strlen(m2->u.reserve.label) == VCMA_NAME_LEN,
	   "a label of exactly 32 characters has no NUL and decodes");
	buf[label + VCMA_NAME_LEN - 1] = 0;
	buf[label] = 0;
	ok(decode_exact(buf, (size_t)len) == VCMA_CERR_VALUE,
	   "an empty label followed by characters is VALUE");
	memset(buf + label, 0, VCMA_NAME_LEN);
	ok(decode_exact(buf, (size_t)len) == len && m2->u.reserve.label[0] == 0,
	   "an all-NUL label is the empty string");
}

/* ---- field rules, checked through the encoder and the decoder --------- */

/*
 * The encoder enforces the rules before writing; a message it accepts must
 * also decode back to identical bytes.
 */
static void rule(const char *what, int want)
{
	int rc = vcma_encode(m, buf, MAXLEN);

	if (want != VCMA_CERR_OK || rc < 0) {
		ok(rc == want && vcma_encoded_size(m) == want, "%s: encode gives %s (got %s)",
		   what, vcma_cerr_name(want), vcma_cerr_name(rc));
		return;
	}
	ok(decode_exact(buf, (size_t)rc) == rc &&
	   vcma_encode(m2, out, MAXLEN) == rc && memcmp(buf, out, (size_t)rc) == 0,
	   "%s: accepted and round-trips", what);
}

#define RULE(vector, stmt, want) do {				\
		vec(vector)->build(m);				\
		stmt;						\
		rule(vector ": " #stmt, want);			\
	} while (0)

#define OK	VCMA_CERR_OK
#define VALUE	VCMA_CERR_VALUE
#define COUNT	VCMA_CERR_COUNT

static void fill(char *s, size_t n, char c)
{
	memset(s, c, n);
	s[n] = '\0';
}

static void test_rules(void)
{
	struct vcma_balloon_stats_result_h *bs = &m->u.balloon_stats_result;
	struct vcma_hello_h *h = &m->u.hello;
	struct vcma_reserve_h *rv = &m->u.reserve;
	struct vcma_reserve_result_h *rr = &m->u.reserve_result;
	struct vcma_balloon_report_h *br = &m->u.balloon_report;
	struct vcma_status_result_h *sr = &m->u.status_result;

	RULE("ping", m->version = 0, VCMA_CERR_VERSION);
	RULE("ping", m->version = 2, VCMA_CERR_VERSION);
	RULE("hello-host", m->version = 2, VCMA_CERR_VERSION);
	RULE("ping", m->type = 0, VCMA_CERR_TYPE);
	RULE("ping", m->type = VCMA_MSG_TYPE_MAX + 1, VCMA_CERR_TYPE);
	RULE("ping", m->flags = 2, VCMA_CERR_FLAGS);
	RULE("ping", m->flags = VCMA_HDR_F_MORE, VCMA_CERR_FLAGS);
	RULE("status-result", m->flags = VCMA_HDR_F_MORE, OK);

	RULE("hello-host", h->proto_min = 0, VALUE);
	RULE("hello-host", (h->proto_min = 2, h->proto_max = 1), VALUE);
	RULE("hello-host", h->proto_max = 0xffff, OK);
	RULE("hello-host", h->caps = ~0ull, OK);
	RULE("hello-host", h->role = 0, VALUE);
	RULE("hello-host", h->role = 3, VALUE);
	RULE("hello-host", h->page_size = 4096, VALUE);
	RULE("hello-host", h->pageblock_order = 9, VALUE);
	RULE("hello-host", h->max_order = 10, VALUE);
	RULE("hello-host", h->boot_id[15] = 1, VALUE);
	RULE("hello-host", (h->nr_ranges = 1, h->ranges[0].size = 4096), VALUE);
	RULE("hello-host", fill(h->software, VCMA_NAME_LEN, 'a'), OK);
	RULE("hello-host", fill(h->software, VCMA_NAME_LEN + 1, 'a'), VALUE);
	RULE("hello-host", h->software[0] = 0x7f, VALUE);
	RULE("hello-host", h->software[0] = (char)0x80, VALUE);
	RULE("hello-guest", h->page_size = 0, VALUE);
	RULE("hello-guest", h->page_size = 2048, VALUE);
	RULE("hello-guest", h->page_size = 12288, VALUE);
	RULE("hello-guest", h->page_size = 16384, OK);
	RULE("hello-guest", h->page_size = 65536, OK);
	RULE("hello-guest", h->page_size = 131072, VALUE);
	RULE("hello-guest", h->pageblock_order = VCMA_ORDER_MAX, OK);
	RULE("hello-guest", h->pageblock_order = VCMA_ORDER_MAX + 1, VALUE);
	RULE("hello-guest", h->max_order = VCMA_ORDER_MAX + 1, VALUE);
	RULE("hello-guest", h->nr_ranges = VCMA_MAX_MEM_RANGES + 1, COUNT);
	RULE("hello-guest", h->ranges[1].size = 0, VALUE);
	RULE("hello-guest", (h->ranges[1].gpa = UINT64_MAX - 0xfff, h->ranges[1].size = 0x1000), OK);
	RULE("hello-guest", (h->ranges[1].gpa = UINT64_MAX - 0xfff, h->ranges[1].size = 0x2000), VALUE);
	RULE("hello-guest", h->ranges[1].zone = VCMA_ZONE_MAX + 1, VALUE);
	RULE("hello-guest", h->ranges[1].zone = VCMA_ZONE_DMA, OK);
	RULE("hello-guest", h->ranges[1].node = VCMA_NODE_ANY, VALUE);
	RULE("hello-guest", h->ranges[1].node = 7, OK);
	vec("hello-guest")->build(m);
	h->nr_ranges = VCMA_MAX_MEM_RANGES;
	for (unsigned int i = 0; i < VCMA_MAX_MEM_RANGES; i++)
		h->ranges[i] = (struct vcma_mem_range_h){ (uint64_t)i << 30, 1ull << 30, i % 4, VCMA_ZONE_NORMAL };
	rule("hello-guest with 128 ranges", OK);

	RULE("reserve", rv->size = 0, VALUE);
	RULE("reserve", rv->size = 4095, VALUE);
	RULE("reserve", rv->size = 4096, OK);
	RULE("reserve", rv->align = 0, OK);
	RULE("reserve", rv->align = 3, VALUE);
	RULE("reserve", rv->align = 1ull << 63, OK);
	RULE("reserve", rv->flags = 1u << 3, VALUE);
	RULE("reserve", rv->flags = VCMA_RSV_FAIL_FAST | VCMA_RSV_WAIT_PINS, VALUE);
	RULE("reserve", rv->flags = VCMA_RSV_FAIL_FAST | VCMA_RSV_MOVABLE_ONLY, OK);
	RULE("reserve", rv->node = 3, OK);
	RULE("reserve", fill(rv->label, VCMA_NAME_LEN, '~'), OK);
	RULE("reserve", rv->label[0] = '\0', OK);
	RULE("reserve", rv->label[1] = 0x1f, VALUE);
	RULE("reserve", rv->label[1] = '\n', VALUE);
	RULE("reserve", rv->max_addr = 64ull << 20, OK);
	RULE("reserve", rv->max_addr = (64ull << 20) - 4096, VALUE);
	RULE("reserve", rv->max_addr = (1ull << 32) + 512, VALUE);
	RULE("reserve", rv->max_addr = UINT64_MAX & ~4095ull, OK);
	RULE("reserve-below", rv->max_addr = 0, OK);	/* the 72-byte form */
	RULE("reserve-below", rv->max_addr = rv->size, OK);

	RULE("reserve-result-ok", rr->status = VCMA_STATUS_MAX + 1, VALUE);
	RULE("reserve-result-ok", rr->grant_id = 0, VALUE);
	RULE("reserve-result-ok", rr->size = 0, VALUE);
	RULE("reserve-result-ok", rr->gpa = UINT64_MAX, VALUE);
	RULE("reserve-result-ok", rr->ev.cause = VCMA_CAUSE_MAX, OK);
	RULE("reserve-result-ok", rr->ev.cause = VCMA_CAUSE_MAX + 1, VALUE);
	RULE("reserve-result-busy", rr->grant_id = 5, VALUE);
	RULE("reserve-result-busy", rr->status = VCMA_STATUS_MAX, OK);

	RULE("release", m->u.release.grant_id = 0, VALUE);
	RULE("release-result", m->u.release_result.status = VCMA_E_NODEV, OK);
	RULE("release-result", m->u.release_result.status = VCMA_STATUS_MAX + 1, VALUE);
	RULE("release-result", m->u.release_result.status = UINT32_MAX, VALUE);

	RULE("balloon-set", m->u.balloon_set.chunk_order = VCMA_ORDER_MAX + 1, VALUE);
	RULE("balloon-set", (m->u.balloon_set.chunk_order = 0, m->u.balloon_set.target_bytes = 4096), OK);
	RULE("balloon-set", m->u.balloon_set.target_bytes += 4096, VALUE);
	RULE("balloon-set", m->u.balloon_set.target_bytes = 0, OK);

	RULE("balloon-report-more", br->nr_chunks = VCMA_MAX_CHUNKS_FRAME + 1, COUNT);
	RULE("balloon-report-more", br->direction = 3, VALUE);
	RULE("balloon-report-more", br->direction = 0, VALUE);
	RULE("balloon-report-more", br->direction = VCMA_BALLOON_DEFLATED, OK);
	RULE("balloon-report-done", br->direction = VCMA_BALLOON_INFLATED, VALUE);
	RULE("balloon-report-more", br->chunks[3] += 512, VALUE);
	RULE("balloon-report-more", br->chunks[3] = UINT64_MAX - 0xfff, VALUE);
	RULE("balloon-report-more", br->status = VCMA_STATUS_MAX + 1, VALUE);
	RULE("balloon-report-more", br->actual_bytes += 4096, VALUE);
	RULE("balloon-report-more", br->chunk_order = VCMA_ORDER_MAX + 1, VALUE);

	RULE("status-result", sr->nr_grants = VCMA_MAX_GRANTS_FRAME + 1, COUNT);
	RULE("status-result", sr->grants[1].grant_id = 0, VALUE);
	RULE("status-result", sr->grants[1].size = 0, VALUE);
	RULE("status-result", sr->grants[1].label[2] = 0x7f, VALUE);
	RULE("status-result", fill(sr->grants[0].label, VCMA_NAME_LEN, 'Z'), OK);
	vec("status-result")->build(m);
	sr->nr_grants = VCMA_MAX_GRANTS_FRAME;
	for (unsigned int i = 0; i < VCMA_MAX_GRANTS_FRAME; i++)
		sr->grants[i] = (struct vcma_grant_info_h){ i + 1, (uint64_t)i << 24, 1 << 24, i, "g",
							    0, "" };
	rule("status-result with 256 grants", OK);
	sr->holders = 1;
	for (unsigned int i = 0; i < VCMA_MAX_GRANTS_FRAME; i++) {
		sr->grants[i].flags = VCMA_GRANT_F_KNOWN;
		fill(sr->grants[i].holder, VCMA_HOLDER_LEN, 'h');
	}
	rule("status-result with 256 grants and holders of 48 characters", OK);

	/* Holders: named exactly when flagged, and only in the 120-byte entries. */
	RULE("status-result-holders", sr->grants[1].flags = VCMA_GRANT_F_MAPPED, VALUE);
	RULE("status-result-holders", strcpy(sr->grants[1].holder, "mmap"), VALUE);
	RULE("status-result-holders", (sr->grants[1].flags = VCMA_GRANT_F_MAPPED,
				       strcpy(sr->grants[1].holder, "mmap")), OK);
	RULE("status-result-holders", sr->grants[0].flags = VCMA_GRANT_F_KNOWN + 1, VALUE);
	RULE("status-result-holders", sr->grants[0].holder[3] = 0x01, VALUE);
	RULE("status-result-holders", fill(sr->grants[0].holder, VCMA_HOLDER_LEN + 1, 'x'), VALUE);
	RULE("status-result-holders", sr->holders = 0, VALUE);
	RULE("status-result-holders", (sr->holders = 0, sr->grants[0].flags = 0,
				       sr->grants[0].holder[0] = 0), OK);
	RULE("status-result", strcpy(sr->grants[0].holder, "x"), VALUE);

	RULE("release-result-claimed", m->u.release_result.holder[0] = 0, VALUE);
	RULE("release-result-claimed", m->u.release_result.status = VCMA_E_BUSY, VALUE);
	RULE("release-result-claimed", fill(m->u.release_result.holder, VCMA_HOLDER_LEN, '~'), OK);
	RULE("release-result-claimed", fill(m->u.release_result.holder, VCMA_HOLDER_LEN + 1, '~'),
	     VALUE);
	RULE("release-result-claimed", m->u.release_result.holder[1] = '\t', VALUE);
	RULE("release-result", strcpy(m->u.release_result.holder, "x"), VALUE);
	RULE("release-result", m->u.release_result.status = VCMA_E_CLAIMED, VALUE);

	RULE("event", m->u.event.kind = 0, VALUE);
	RULE("event", m->u.event.kind = VCMA_EV_MAX, OK);
	RULE("event", m->u.event.kind = VCMA_EV_MAX + 1, VALUE);

	RULE("error", m->u.error.status = VCMA_OK, VALUE);
	RULE("error", m->u.error.status = VCMA_STATUS_MAX + 1, VALUE);
	RULE("error", m->u.error.ref_type = 0, OK);
	RULE("error", m->u.error.ref_type = VCMA_MSG_TYPE_MAX + 1, VALUE);
	RULE("error", fill(m->u.error.message, 64, 'e'), OK);
	RULE("error", fill(m->u.error.message, 65, 'e'), VALUE);

	RULE("balloon-stats-result", bs->valid = VCMA_BST_KNOWN + 1, VALUE);
	RULE("balloon-stats-result", bs->valid &= ~VCMA_BST_OOM_KILLS, OK);	/* oom_kills is 0 */
	RULE("balloon-stats-result", bs->valid &= ~VCMA_BST_MINOR_FAULTS, VALUE);
	RULE("balloon-stats-result", bs->valid = 0, VALUE);
	RULE("balloon-stats-result", bs->mem_free = bs->mem_total, OK);
	RULE("balloon-stats-result", bs->mem_free = bs->mem_total + 1, VALUE);
	RULE("balloon-stats-result", (bs->valid &= ~VCMA_BST_MEM_TOTAL, bs->mem_total = 0), OK);
	RULE("balloon-stats-result", bs->actual_bytes += 512, VALUE);
	RULE("balloon-stats-result", bs->nr_nodes = VCMA_STATS_MAX_NODES, OK);
	RULE("balloon-stats-result", bs->nr_nodes = VCMA_STATS_MAX_NODES + 1, VALUE);
	RULE("balloon-stats-result", bs->nr_nodes = 1, VALUE);	/* node 1's chunks past the count */
	RULE("balloon-stats-result", bs->chunk_order = VCMA_ORDER_MAX + 1, VALUE);
	RULE("balloon-stats-result", bs->valid &= ~VCMA_BST_NODES, VALUE);
	RULE("balloon-stats-result", (bs->valid &= ~VCMA_BST_NODES, bs->nr_nodes = 0,
				      bs->chunk_order = 0, bs->chunks_by_node[0] = 0,
				      bs->chunks_by_node[1] = 0), OK);
	RULE("balloon-stats-result", *vcma_bst_counter(bs, VCMA_BST_NR_COUNTERS - 1) = UINT64_MAX, OK);
	RULE("balloon-stats-result", bs->chunks_by_node[1] = UINT32_MAX, OK);
}

/* ---- field placement against vcma_proto.h ------------------------------ */

/*
 * An independent encoding of each vector's payload: the packed structs of
 * vcma_proto.h filled with htole*(). A field swapped consistently in both
 * encoder and decoder would survive every round trip but not this.
 */
static void pad_str(char *dst, const char *src, size_t width)
{
	memset(dst, 0, width);
	memcpy(dst, src, strnlen(src, width));
}

static size_t wire_payload(const struct vcma_msg *x, uint8_t *p)
{
	switch (x->type) {
	case VCMA_MSG_HELLO: {
		const struct vcma_hello_h *h = &x->u.hello;
		struct vcma_hello w = {
			htole16(h->proto_min), htole16(h->proto_max), h->role,
			h->pageblock_order, h->max_order, 0, htole64(h->caps),
			htole32(h->page_size), htole32(h->nr_ranges), { 0 },
			htole64(h->mem_total), htole64(h->mem_free),
			htole64(h->mem_movable), { 0 },
		};
		memcpy(w.boot_id, h->boot_id, 16);
		pad_str(w.software, h->software, VCMA_NAME_LEN);
		memcpy(p, &w, sizeof(w));
		for (uint32_t i = 0; i < h->nr_ranges; i++) {
			struct vcma_mem_range r = {
				htole64(h->ranges[i].gpa), htole64(h->ranges[i].size),
				htole32(h->ranges[i].node), h->ranges[i].zone, { 0 },
			};
			memcpy(p + sizeof(w) + i * sizeof(r), &r, sizeof(r));
		}
		return sizeof(w) + h->nr_ranges * sizeof(struct vcma_mem_range);
	}
	case VCMA_MSG_RESERVE: {
		const struct vcma_reserve_h *r = &x->u.reserve;
		struct vcma_reserve w = {
			htole64(r->size), htole64(r->align), htole64(r->tag),
			htole32(r->node), htole32(r->flags), htole32(r->deadline_ms),
			0, { 0 }, htole64(r->max_addr),
		};
		pad_str(w.label, r->label, VCMA_NAME_LEN);
		memcpy(p, &w, sizeof(w));
		/* Without a limit the frame stops before max_addr. */
		return r->max_addr ? sizeof(w) : VCMA_RESERVE_BASE_LEN;
	}
	case VCMA_MSG_RESERVE_RESULT: {
		const struct vcma_reserve_result_h *r = &x->u.reserve_result;
		struct vcma_reserve_result w = {
			htole32(r->status), 0, htole64(r->grant_id), htole64(r->gpa),
			htole64(r->size), htole64(r->tag),
			{ htole32(r->ev.ranges_scanned), htole32(r->ev.ranges_tried),
			  htole32(r->ev.pages_migrated), htole32(r->ev.pinned_met),
			  htole32(r->ev.bh_invalidations), htole32(r->ev.retries),
			  htole64(r->ev.elapsed_us), htole32(r->ev.cause), 0 },
		};
		memcpy(p, &w, sizeof(w));
		return sizeof(w);
	}
	case VCMA_MSG_RELEASE: {
		struct vcma_release w = { htole64(x->u.release.grant_id) };
		memcpy(p, &w, sizeof(w));
		return sizeof(w);
	}
	case VCMA_MSG_RELEASE_RESULT: {
		struct vcma_release_result w = {
			htole32(x->u.release_result.status), 0,
			htole64(x->u.release_result.grant_id), { 0 },
		};
		pad_str(w.holder, x->u.release_result.holder, VCMA_HOLDER_LEN);
		memcpy(p, &w, sizeof(w));
		/* Only E_CLAIMED carries the holder. */
		return x->u.release_result.status == VCMA_E_CLAIMED ? sizeof(w)
								  : VCMA_RELEASE_RESULT_BASE_LEN;
	}
	case VCMA_MSG_BALLOON_SET: {
		struct vcma_balloon_set w = {
			htole64(x->u.balloon_set.target_bytes),
			x->u.balloon_set.chunk_order, { 0 },
		};
		memcpy(p, &w, sizeof(w));
		return sizeof(w);
	}
	case VCMA_MSG_BALLOON_REPORT: {
		const struct vcma_balloon_report_h *b = &x->u.balloon_report;
		struct vcma_balloon_report w = {
			htole64(b->target_bytes), htole64(b->actual_bytes),
			htole32(b->status), b->chunk_order, b->direction,
			htole16(b->nr_chunks),
		};
		memcpy(p, &w, sizeof(w));
		for (uint32_t i = 0; i < b->nr_chunks; i++) {
			uint64_t c = htole64(b->chunks[i]);
			memcpy(p + sizeof(w) + 8 * i, &c, 8);
		}
		return sizeof(w) + 8u * b->nr_chunks;
	}
	case VCMA_MSG_STATUS_RESULT: {
		const struct vcma_status_result_h *s = &x->u.status_result;
		struct vcma_status_result w = {
			htole64(s->mem_total), htole64(s->mem_free),
			htole64(s->mem_available), htole64(s->balloon_bytes),
			htole64(s->grant_bytes), htole64(s->reserve_ok),
			htole64(s->reserve_fail), htole32(s->floor_pages),
			htole32(s->nr_grants), { 0 },
		};
		memcpy(w.boot_id, s->boot_id, 16);
		memcpy(p, &w, sizeof(w));
		size_t entry = s->holders ? VCMA_GRANT_INFO_EXT_LEN : sizeof(struct vcma_grant_info);

		for (uint32_t i = 0; i < s->nr_grants; i++) {
			const struct vcma_grant_info_h *g = &s->grants[i];
			struct vcma_grant_info gw = {
				htole64(g->grant_id), htole64(g->gpa),
				htole64(g->size), htole64(g->tag), { 0 },
			};
			struct vcma_grant_holders hw = { htole32(g->flags), 0, { 0 } };

			pad_str(gw.label, g->label, VCMA_NAME_LEN);
			pad_str(hw.holder, g->holder, VCMA_HOLDER_LEN);
			memcpy(p + sizeof(w) + i * entry, &gw, sizeof(gw));
			if (s->holders)
				memcpy(p + sizeof(w) + i * entry + sizeof(gw), &hw, sizeof(hw));
		}
		return sizeof(w) + s->nr_grants * entry;
	}
	case VCMA_MSG_EVENT: {
		struct vcma_event w = {
			htole32(x->u.event.kind), 0, htole64(x->u.event.arg0),
			htole64(x->u.event.arg1),
		};
		memcpy(p, &w, sizeof(w));
		return sizeof(w);
	}
	case VCMA_MSG_ERROR: {
		struct vcma_error w = {
			htole32(x->u.error.status), x->u.error.ref_type, { 0 }, { 0 },
		};
		pad_str(w.message, x->u.error.message, sizeof(w.message));
		memcpy(p, &w, sizeof(w));
		return sizeof(w);
	}
	case VCMA_MSG_BALLOON_STATS_RESULT: {
		const struct vcma_balloon_stats_result_h *s = &x->u.balloon_stats_result;
		struct vcma_balloon_stats_result w = {
			htole32(s->valid), s->chunk_order, s->nr_nodes, 0,
			htole64(s->actual_bytes), htole64(s->mem_total), htole64(s->mem_free),
			htole64(s->mem_available), htole64(s->disk_caches), htole64(s->swap_in),
			htole64(s->swap_out), htole64(s->major_faults), htole64(s->minor_faults),
			htole64(s->oom_kills), htole64(s->hugetlb_allocs),
			htole64(s->hugetlb_failures), htole64(s->pressure_deflated),
			htole64(s->pressure_events), { 0 },
		};
		for (unsigned int i = 0; i < VCMA_STATS_MAX_NODES; i++)
			w.chunks_by_node[i] = htole32(s->chunks_by_node[i]);
		memcpy(p, &w, sizeof(w));
		return sizeof(w);
	}
	default:
		return 0;
	}
}

static void test_placement(void)
{
	for (size_t i = 0; i < vcma_vectors_count; i++) {
		const struct vcma_vector *v = &vcma_vectors[i];
		struct vcma_hdr hw;
		size_t n;
		int len;

		if (v->expect != VCMA_CERR_OK)
			continue;
		v->build(m);
		len = vcma_encode(m, buf, MAXLEN);
		n = wire_payload(m, out + HDR);
		hw = (struct vcma_hdr){ htole32(VCMA_MAGIC), m->version, m->type,
			htole16(m->flags), htole32((uint32_t)n), 0, htole64(m->id) };
		memcpy(out, &hw, HDR);
		ok(len == (int)(HDR + n) && memcmp(buf, out, HDR + n) == 0,
		   "%s: every field where vcma_proto.h puts it", v->name);
	}
}

/* ---- decode/encode consistency under single-byte mutations ------------- */

static void test_mutations(void)
{
	static const uint8_t values[] = { 0, 1, 2, 3, 4, 5, 9, 0x20, 0x7f, 0x80, 0xff };

	for (size_t i = 0; i < vcma_vectors_count; i++) {
		const struct vcma_vector *v = &vcma_vectors[i];
		int len = vcma_vector_bytes(v, buf, MAXLEN);
		unsigned int accepted = 0, rejected = 0;
		bool consistent = true;

		if (v->expect != VCMA_CERR_OK)
			continue;
		for (int off = 0; off < len; off++) {
			uint8_t orig = buf[off];

			for (size_t k = 0; k < sizeof(values); k++) {
				int rc;

				buf[off] = values[k];
				rc = decode_exact(buf, (size_t)len);
				if (rc == len) {
					accepted++;
					consistent &= vcma_encode(m2, out, MAXLEN) == len &&
						      memcmp(out, buf, (size_t)len) == 0;
				} else {
					rejected++;
					consistent &= rc < 0 && vcma_codec_strerror(rc) != NULL;
				}
			}
			buf[off] = orig;
		}
		ok(consistent, "%s: %u single-byte mutants accepted re-encode identically, %u rejected",
		   v->name, accepted, rejected);
	}
}

/* ---- negotiation and names --------------------------------------------- */

static void test_negotiate(void)
{
	ok(vcma_negotiate(1, 1, 1, 1) == 1, "v1 meets v1: 1");
	ok(vcma_negotiate(1, 1, 1, 2) == 1 && vcma_negotiate(1, 2, 1, 1) == 1,
	   "v1 meets v1..2 (both directions): 1");
	ok(vcma_negotiate(1, 3, 2, 5) == 3, "1..3 meets 2..5: 3");
	ok(vcma_negotiate(1, 1, 2, 2) == -1 && vcma_negotiate(2, 3, 1, 1) == -1,
	   "disjoint ranges: no version");
	ok(vcma_negotiate(0, 1, 1, 1) == -1 && vcma_negotiate(1, 1, 2, 1) == -1,
	   "malformed ranges: no version");
	ok(vcma_caps_common(VCMA_CAP_RESERVE | VCMA_CAP_BALLOON | (1ull << 40),
			    VCMA_CAP_RESERVE | VCMA_CAP_STATUS | (1ull << 40)) == VCMA_CAP_RESERVE,
	   "common caps: intersection of known bits only");
}

/* RESERVE's two forms: without a limit 72 bytes, with one 80 (capability bit 6). */
static void test_addr_limit(void)
{
	int len = vec_bytes("reserve");

	ok(len == (int)(HDR + VCMA_RESERVE_BASE_LEN) &&
	   decode_exact(buf, (size_t)len) == len && m2->u.reserve.max_addr == 0,
	   "RESERVE without a limit is 72 bytes and decodes with max_addr 0");
	len = vec_bytes("reserve-below");
	ok(len == (int)(HDR + sizeof(struct vcma_reserve)) &&
	   decode_exact(buf, (size_t)len) == len &&
	   m2->u.reserve.max_addr == 256ull << 20 && m2->u.reserve.size == 16ull << 20,
	   "RESERVE with a limit is 80 bytes and carries max_addr");
	put_le(buf + 8, VCMA_RESERVE_BASE_LEN, 4);
	ok(decode_exact(buf, HDR + VCMA_RESERVE_BASE_LEN) == (int)(HDR + VCMA_RESERVE_BASE_LEN) &&
	   m2->u.reserve.max_addr == 0,
	   "the same RESERVE cut to 72 bytes has no limit");
	ok(vcma_caps_common(VCMA_CAP_RESERVE | VCMA_CAP_ADDR_LIMIT,
			    VCMA_CAP_RESERVE | VCMA_CAP_ADDR_LIMIT) ==
	   (VCMA_CAP_RESERVE | VCMA_CAP_ADDR_LIMIT) &&
	   vcma_caps_common(VCMA_CAP_RESERVE | VCMA_CAP_ADDR_LIMIT, VCMA_CAP_RESERVE) ==
	   VCMA_CAP_RESERVE, "ADDR_LIMIT is common only when both sides have it");
	ok(strcmp(vcma_cause_name(VCMA_CAUSE_ADDR_LIMIT), "addr_limit") == 0,
	   "cause 11 is addr_limit");
}

static void test_names(void)
{
	bool distinct = true;

	ok(strcmp(vcma_msg_type_name(VCMA_MSG_HELLO), "HELLO") == 0 &&
	   strcmp(vcma_msg_type_name(VCMA_MSG_ERROR), "ERROR") == 0 &&
	   strcmp(vcma_msg_type_name(0), "?") == 0 &&
	   strcmp(vcma_msg_type_name(VCMA_MSG_TYPE_MAX + 1), "?") == 0,
	   "message type names");
	ok(strcmp(vcma_status_name(VCMA_OK), "OK") == 0 &&
	   strcmp(vcma_status_name(VCMA_E_NOSPC), "E_NOSPC") == 0 &&
	   strcmp(vcma_status_name(VCMA_E_NODEV), "E_NODEV") == 0 &&
	   strcmp(vcma_status_name(VCMA_STATUS_MAX + 1), "?") == 0, "status names");
	ok(strcmp(vcma_cause_name(VCMA_CAUSE_NONE), "none") == 0 &&
	   strcmp(vcma_cause_name(VCMA_CAUSE_PINNED), "pinned") == 0 &&
	   strcmp(vcma_cause_name(VCMA_CAUSE_LIMIT), "limit") == 0 &&
	   strcmp(vcma_cause_name(VCMA_CAUSE_MAX + 1), "?") == 0, "cause names");
	for (int a = 0; a >= VCMA_CERR_NOMEM; a--) {
		for (int b = a - 1; b >= VCMA_CERR_NOMEM; b--)
			distinct &= strcmp(vcma_codec_strerror(a), vcma_codec_strerror(b)) != 0;
	}
	ok(distinct && strcmp(vcma_codec_strerror(1), "unknown codec error") == 0 &&
	   strcmp(vcma_codec_strerror(-99), "unknown codec error") == 0,
	   "every codec error has its own message");
}

int main(void)
{
	m = malloc(sizeof(*m));
	m2 = malloc(sizeof(*m2));
	buf = malloc(MAXLEN);
	out = malloc(MAXLEN);
	if (!m || !m2 || !buf || !out)
		return 2;

	test_lengths();
	test_header();
	test_payload_lengths();
	test_counts();
	test_payload_reserved();
	test_wire_strings();
	test_rules();
	test_placement();
	test_mutations();
	test_negotiate();
	test_names();
	test_addr_limit();

	free(m);
	free(m2);
	free(buf);
	free(out);
	return tap_done();
}
