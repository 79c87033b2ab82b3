/* SPDX-License-Identifier: MIT */
/*
 * The protocol's test vectors as code: one list that PROTOCOL.md is generated
 * from (vcma-gen-vectors), that the unit tests compare against the hex in
 * PROTOCOL.md, and that seeds the fuzzers. Not part of vcma_proto_dep.
 */
#ifndef VCMA_VECTORS_H
#define VCMA_VECTORS_H

#include <stddef.h>
#include <stdint.h>

#include "vcma_codec.h"

struct vcma_vec_patch {
	uint16_t off;		/* byte offset in the encoded frame */
	uint8_t len;		/* 0 = no patch */
	uint8_t bytes[8];
};

struct vcma_vector {
	const char *name;	/* unique, [a-z0-9-] */
	const char *what;	/* one line for the spec */
	void (*build)(struct vcma_msg *m);	/* a valid message */
	/* An invalid vector is the valid encoding, patched, then resized. */
	struct vcma_vec_patch patch[2];
	uint32_t resize;	/* 0 = keep; else cut or zero-extend to this */
	int expect;		/* vcma_decode's result: VCMA_CERR_OK or an error */
};

extern const struct vcma_vector vcma_vectors[];
extern const size_t vcma_vectors_count;

/* Largest frame any vector produces (bytes). */
#define VCMA_VECTOR_MAX_LEN	(sizeof(struct vcma_hdr) + VCMA_MAX_PAYLOAD + 64)

/*
 * The bytes of vector v into buf: its length, or a negative vcma_codec_err
 * if its message does not encode (a broken vector, a test failure).
 */
int vcma_vector_bytes(const struct vcma_vector *v, uint8_t *buf, size_t cap);

/* "VCMA_CERR_MAGIC" for VCMA_CERR_MAGIC ...; NULL if unknown. */
const char *vcma_cerr_name(int err);
/* The inverse; 1 if the name is unknown (no vcma_codec_err is positive). */
int vcma_cerr_from_name(const char *name);

#endif /* VCMA_VECTORS_H */
