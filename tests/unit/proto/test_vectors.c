// SPDX-License-Identifier: MIT
/*
 * The spec's vectors: PROTOCOL.md's hex blocks must equal what the encoder
 * produces for the vectors in proto/vcma_vectors.c (so the spec and the code
 * cannot drift), and every vector must decode to its stated result.
 * Usage: test_vectors PATH/TO/PROTOCOL.md
 */
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "../../tap.h"
#include "vcma_vectors.h"

struct doc_vec {
	char name[64];
	int expect;
	uint8_t *bytes;
	size_t len;
};

static struct doc_vec doc[256];
static size_t ndoc;

/* "0010: 01 00 ..." -> bytes appended to v; false on malformed lines. */
static bool parse_hex_line(const char *line, struct doc_vec *v)
{
	const char *p = strchr(line, ':');

	if (!p)
		return false;
	for (p++; *p && *p != '\n';) {
		char *end;
		unsigned long b;

		while (*p == ' ')
			p++;
		if (!*p || *p == '\n')
			break;
		b = strtoul(p, &end, 16);
		if (end != p + 2 || b > 0xff || v->len >= VCMA_VECTOR_MAX_LEN)
			return false;
		v->bytes[v->len++] = (uint8_t)b;
		p = end;
	}
	return true;
}

static bool parse_doc(const char *path)
{
	FILE *f = fopen(path, "r");
	char line[512];
	struct doc_vec *cur = NULL;
	bool in_hex = false;

	if (!f) {
		perror(path);
		return false;
	}
	while (fgets(line, sizeof(line), f)) {
		char name[64], expect[64];

		if (in_hex) {
			if (strncmp(line, "```", 3) == 0) {
				in_hex = false;
				cur = NULL;
			} else if (!parse_hex_line(line, cur)) {
				tap_diag("bad hex line in %s: %s", path, line);
				fclose(f);
				return false;
			}
			continue;
		}
		if (sscanf(line, "**vector `%63[a-z0-9-]`** expects `%63[A-Z_]`",
			   name, expect) == 2) {
			if (ndoc == sizeof(doc) / sizeof(doc[0]))
				break;
			cur = &doc[ndoc++];
			snprintf(cur->name, sizeof(cur->name), "%s", name);
			cur->expect = vcma_cerr_from_name(expect);
			cur->bytes = malloc(VCMA_VECTOR_MAX_LEN);
			if (!cur->bytes)
				return false;
			continue;
		}
		if (cur && strncmp(line, "```hex", 6) == 0)
			in_hex = true;
	}
	fclose(f);
	return true;
}

static const struct doc_vec *doc_find(const char *name)
{
	for (size_t i = 0; i < ndoc; i++) {
		if (strcmp(doc[i].name, name) == 0)
			return &doc[i];
	}
	return NULL;
}

static void check_in_doc(const struct vcma_vector *v, const uint8_t *b, int len)
{
	const struct doc_vec *d = doc_find(v->name);

	if (!d) {
		ok(false, "%s: in PROTOCOL.md (meson compile -C BUILD update-protocol-vectors)",
		   v->name);
		return;
	}
	ok(d->expect == v->expect && d->len == (size_t)len &&
	   memcmp(d->bytes, b, (size_t)len) == 0,
	   "%s: PROTOCOL.md hex and expectation equal the encoder's", v->name);
}

static void check_decode(const struct doc_vec *d, struct vcma_msg *m, uint8_t *out)
{
	int rc = vcma_decode(d->bytes, d->len, m);

	if (d->expect != VCMA_CERR_OK) {
		ok(rc == d->expect, "%s: decode gives %s (got %s)", d->name,
		   vcma_cerr_name(d->expect), vcma_codec_strerror(rc));
		return;
	}
	ok(rc == (int)d->len, "%s: decodes, consuming all %zu bytes (got %d)",
	   d->name, d->len, rc);
	if (rc != (int)d->len)
		return;
	ok(vcma_encoded_size(m) == rc &&
	   vcma_encode(m, out, VCMA_VECTOR_MAX_LEN) == rc &&
	   memcmp(out, d->bytes, d->len) == 0,
	   "%s: decoded message re-encodes to the same bytes", d->name);
}

int main(int argc, char **argv)
{
	struct vcma_msg *m = malloc(sizeof(*m));
	uint8_t *buf = malloc(VCMA_VECTOR_MAX_LEN), *out = malloc(VCMA_VECTOR_MAX_LEN);
	size_t valid_types = 0;

	if (argc != 2 || !m || !buf || !out) {
		fprintf(stderr, "usage: test_vectors PROTOCOL.md\n");
		return 2;
	}
	if (!ok(parse_doc(argv[1]) && ndoc > 0, "PROTOCOL.md parses, %zu vectors", ndoc))
		return tap_done();

	for (size_t i = 0; i < vcma_vectors_count; i++) {
		const struct vcma_vector *v = &vcma_vectors[i];
		int len = vcma_vector_bytes(v, buf, VCMA_VECTOR_MAX_LEN);

		if (!ok(len > 0, "%s: builds (%d bytes)", v->name, len))
			continue;
		check_in_doc(v, buf, len);
		if (v->expect == VCMA_CERR_OK)
			valid_types |= 1u << buf[5];
	}
	ok(ndoc == vcma_vectors_count, "PROTOCOL.md holds no vector the code lacks (%zu vs %zu)",
	   ndoc, vcma_vectors_count);
	ok(valid_types == ((1u << (VCMA_MSG_TYPE_MAX + 1)) - 2),
	   "a valid vector for every message type");

	for (size_t i = 0; i < ndoc; i++)
		check_decode(&doc[i], m, out);

	for (size_t i = 0; i < ndoc; i++)
		free(doc[i].bytes);
	free(m);
	free(buf);
	free(out);
	return tap_done();
}
