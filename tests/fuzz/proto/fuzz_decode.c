// SPDX-License-Identifier: MIT
/*
 * libFuzzer target: vcma_decode on arbitrary bytes. Whatever it accepts must
 * re-encode to exactly the bytes it consumed (the codec is a bijection on
 * valid frames), and its size must agree with vcma_encoded_size.
 */
#include <stdlib.h>
#include <string.h>

#include "vcma_codec.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	/* Reachable from a static: allocated once, not a leak. */
	static struct vcma_msg *m;
	static uint8_t *out;
	int rc;

	if (!m) {
		m = malloc(sizeof(*m));
		out = malloc(sizeof(struct vcma_hdr) + VCMA_MAX_PAYLOAD);
		if (!m || !out)
			abort();
	}
	rc = vcma_decode(data, size, m);
	if (rc <= 0) {
		if (rc == 0 || !vcma_codec_strerror(rc))
			abort();
		return 0;
	}
	if ((size_t)rc > size || vcma_encoded_size(m) != rc ||
	    vcma_encode(m, out, sizeof(struct vcma_hdr) + VCMA_MAX_PAYLOAD) != rc ||
	    memcmp(out, data, (size_t)rc) != 0)
		abort();
	/* Names must be total functions. */
	if (!vcma_msg_type_name(m->type))
		abort();
	return 0;
}
