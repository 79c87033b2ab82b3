// SPDX-License-Identifier: MIT
/*
 * vcma-gen-vectors: prints the test-vector section of PROTOCOL.md, or writes
 * the vectors as fuzzer seed files. Build-time tool, never installed.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "vcma_vectors.h"

static void usage(FILE *f)
{
	fputs("usage: vcma-gen-vectors markdown\n"
	      "       vcma-gen-vectors seeds DIR [--stream]\n"
	      "markdown  print the vector section of PROTOCOL.md\n"
	      "seeds     write one file per vector into DIR; with --stream each file\n"
	      "          starts with a chunking byte and holds the vector between\n"
	      "          two valid ones, for the reassembler fuzzer\n", f);
}

static void print_hex(const uint8_t *b, int len)
{
	puts("```hex");
	for (int i = 0; i < len; i += 16) {
		printf("%04x:", i);
		for (int j = i; j < len && j < i + 16; j++)
			printf(" %02x", b[j]);
		putchar('\n');
	}
	puts("```");
}

static int markdown(uint8_t *buf)
{
	for (size_t i = 0; i < vcma_vectors_count; i++) {
		const struct vcma_vector *v = &vcma_vectors[i];
		int len = vcma_vector_bytes(v, buf, VCMA_VECTOR_MAX_LEN);

		if (len < 0) {
			fprintf(stderr, "vector %s does not encode: %s\n", v->name,
				vcma_codec_strerror(len));
			return 1;
		}
		printf("**vector `%s`** expects `%s` (%d bytes): %s\n\n", v->name,
		       vcma_cerr_name(v->expect), len, v->what);
		print_hex(buf, len);
		putchar('\n');
	}
	return 0;
}

static int write_file(const char *dir, const char *name, const uint8_t *b,
		      size_t len)
{
	char path[4096];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	f = fopen(path, "wb");
	if (!f || fwrite(b, 1, len, f) != len || fclose(f) != 0) {
		fprintf(stderr, "vcma-gen-vectors: %s: %s\n", path, strerror(errno));
		return 1;
	}
	return 0;
}

/* Append vector v's bytes at out + *n (out holds 4 maximal vectors). */
static int append(uint8_t *out, size_t *n, const struct vcma_vector *v)
{
	int len = vcma_vector_bytes(v, out + *n, 4 * VCMA_VECTOR_MAX_LEN - *n);

	if (len < 0) {
		fprintf(stderr, "vector %s does not encode: %s\n", v->name,
			vcma_codec_strerror(len));
		return 1;
	}
	*n += (size_t)len;
	return 0;
}

/* The k-th valid vector, cycling. */
static const struct vcma_vector *valid_vector(size_t k)
{
	size_t nvalid = 0;

	for (size_t i = 0; i < vcma_vectors_count; i++)
		nvalid += vcma_vectors[i].expect == VCMA_CERR_OK;
	k %= nvalid;
	for (size_t i = 0; i < vcma_vectors_count; i++) {
		if (vcma_vectors[i].expect == VCMA_CERR_OK && k-- == 0)
			return &vcma_vectors[i];
	}
	return NULL;
}

/*
 * Plain seeds: one frame per file. Stream seeds start with a chunking byte
 * and put each vector between two valid frames, so the reassembler meets
 * it mid-stream; they stay small to keep the fuzzer fast. One more stream
 * seed holds every valid vector in a row.
 */
static int seeds(const char *dir, int stream)
{
	uint8_t *out = malloc(4 * VCMA_VECTOR_MAX_LEN);
	int rc = 0;

	if (!out)
		return 1;
	for (size_t i = 0; i < vcma_vectors_count && !rc; i++) {
		size_t n = 0;

		if (stream) {
			out[n++] = (uint8_t)(i * 37);	/* varied chunkings */
			rc = append(out, &n, valid_vector(i)) ||
			     append(out, &n, &vcma_vectors[i]) ||
			     append(out, &n, valid_vector(i + 1));
		} else {
			rc = append(out, &n, &vcma_vectors[i]);
		}
		if (!rc)
			rc = write_file(dir, vcma_vectors[i].name, out, n);
	}
	if (stream && !rc) {
		uint8_t *all = malloc(vcma_vectors_count * VCMA_VECTOR_MAX_LEN);
		size_t n = 1;

		rc = !all;
		if (all)
			all[0] = 0x5a;
		for (size_t i = 0; i < vcma_vectors_count && !rc; i++) {
			size_t one = 0;

			if (vcma_vectors[i].expect != VCMA_CERR_OK)
				continue;
			rc = append(out, &one, &vcma_vectors[i]);
			if (!rc) {
				memcpy(all + n, out, one);
				n += one;
			}
		}
		if (!rc)
			rc = write_file(dir, "all-valid", all, n);
		free(all);
	}
	free(out);
	return rc;
}

int main(int argc, char **argv)
{
	uint8_t *buf = malloc(VCMA_VECTOR_MAX_LEN);
	int rc;

	if (!buf)
		return 1;
	if (argc == 2 && strcmp(argv[1], "markdown") == 0) {
		rc = markdown(buf);
	} else if ((argc == 3 || argc == 4) && strcmp(argv[1], "seeds") == 0 &&
		   (argc == 3 || strcmp(argv[3], "--stream") == 0)) {
		rc = seeds(argv[2], argc == 4);
	} else if (argc == 2 && (strcmp(argv[1], "--help") == 0 ||
				 strcmp(argv[1], "-h") == 0)) {
		usage(stdout);
		rc = 0;
	} else {
		usage(stderr);
		rc = 2;
	}
	free(buf);
	return rc;
}
