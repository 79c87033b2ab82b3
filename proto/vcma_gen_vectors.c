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
	      "          starts with a chunking byte and holds all valid vectors\n"
	      "          around it, for the reassembler fuzzer\n", f);
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

/*
 * Stream seeds: chunking byte, all valid vectors, then vector i (valid or
 * not) and the valid ones again, so the reassembler meets it mid-stream.
 */
static int seeds(const char *dir, int stream, uint8_t *buf)
{
	size_t valid_len = 0;
	uint8_t *valid = stream ? malloc(VCMA_VECTOR_MAX_LEN * 2) : NULL;
	uint8_t *out = stream ? malloc(VCMA_VECTOR_MAX_LEN * 6) : NULL;
	int rc = 0;

	if (stream && (!valid || !out)) {
		rc = 1;
		goto out;
	}
	for (size_t i = 0; stream && i < vcma_vectors_count; i++) {
		const struct vcma_vector *v = &vcma_vectors[i];
		int len;

		if (v->expect != VCMA_CERR_OK)
			continue;
		len = vcma_vector_bytes(v, valid + valid_len,
					VCMA_VECTOR_MAX_LEN * 2 - valid_len);
		if (len < 0) {
			rc = 1;
			goto out;
		}
		valid_len += (size_t)len;
	}
	for (size_t i = 0; i < vcma_vectors_count && !rc; i++) {
		const struct vcma_vector *v = &vcma_vectors[i];
		int len = vcma_vector_bytes(v, buf, VCMA_VECTOR_MAX_LEN);
		size_t n = 0;

		if (len < 0) {
			rc = 1;
			break;
		}
		if (!stream) {
			rc = write_file(dir, v->name, buf, (size_t)len);
			continue;
		}
		out[n++] = (uint8_t)(i * 37);	/* varied chunkings */
		memcpy(out + n, valid, valid_len);
		n += valid_len;
		memcpy(out + n, buf, (size_t)len);
		n += (size_t)len;
		memcpy(out + n, valid, valid_len);
		n += valid_len;
		rc = write_file(dir, v->name, out, n);
	}
out:
	free(valid);
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
		rc = seeds(argv[2], argc == 4, buf);
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
