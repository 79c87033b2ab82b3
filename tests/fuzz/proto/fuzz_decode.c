// SPDX-License-Identifier: MIT
/*
 * libFuzzer target: vcma_decode on arbitrary bytes. Whatever it accepts must
 * re-encode to exactly the bytes it consumed (the codec is a bijection on
 * valid frames), and its size must agree with vcma_encoded_size.
 *
 * The same bytes, read as the start of a raw struct vcma_msg (arbitrary
 * counts, unterminated strings), go to the encoder: it must not read out of
 * bounds, and whatever it agrees to encode the decoder must accept.
 */
#include <stdlib.h>
#include <string.h>

#include "vcma_codec.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define OUT_LEN	(sizeof(struct vcma_hdr) + VCMA_MAX_PAYLOAD)

static void encode_raw(const uint8_t *data, size_t size, struct vcma_msg *raw,
		       struct vcma_msg *back, uint8_t *out, uint8_t *again)
{
	size_t n = size < sizeof(*raw) ? size : sizeof(*raw);
	int len;

	memcpy(raw, data, n);
	memset((uint8_t *)raw + n, 0, sizeof(*raw) - n);
	len = vcma_encode(raw, out, OUT_LEN);
	if (len < 0)
		return;
	if (vcma_decode(out, (size_t)len, back) != len ||
	    vcma_encode(back, again, OUT_LEN) != len ||
	    memcmp(out, again, (size_t)len) != 0)
		abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	/* Reachable from a static: allocated once, not a leak. */
	static struct vcma_msg *m, *raw;
	static uint8_t *out, *again;
	int rc;

	if (!m) {
		m = malloc(sizeof(*m));
		raw = malloc(sizeof(*raw));
		out = malloc(OUT_LEN);
		again = malloc(OUT_LEN);
		if (!m || !raw || !out || !again)
			abort();
	}
	encode_raw(data, size, raw, m, out, again);

	rc = vcma_decode(data, size, m);
	if (rc <= 0) {
		if (rc == 0 || !vcma_codec_strerror(rc))
			abort();
		return 0;
	}
	if ((size_t)rc > size || vcma_encoded_size(m) != rc ||
	    vcma_encode(m, out, OUT_LEN) != rc ||
	    memcmp(out, data, (size_t)rc) != 0)
		abort();
	/* Names must be total functions. */
	if (!vcma_msg_type_name(m->type))
		abort();
	return 0;
}
