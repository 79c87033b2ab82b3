/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * libFuzzer target: what a local API client controls. The input is split at
 * the first NUL: the part before is a request path (routing), the whole input
 * is a POST /reservations body, and a prefix is a size string.
 */
#include <stdlib.h>
#include <string.h>

#include "api.h"
#include "vcma_size.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t len);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t len)
{
	char *s = malloc(len + 1);
	char err[256];
	struct rsv_spec spec;
	struct api_route r;
	uint64_t v;

	if (!s)
		return 0;
	memcpy(s, data, len);
	s[len] = 0;
	api_route(s, &r);
	if (r.kind == API_RSV && !r.id)
		abort();	/* reservation ids are never 0 */
	if (vcma_size_parse(s, 0, &v) == 0) {
		char buf[32];

		vcma_size_format(v, 0, buf, sizeof(buf));
	}
	if (api_parse_reserve((const char *)data, len, &spec, err, sizeof(err)) == 0) {
		/* whatever is accepted is within the documented bounds */
		if (!spec.size || spec.size % 4096 || !spec.count || spec.count > 256 ||
		    (spec.align && (spec.align & (spec.align - 1))) ||
		    strlen(spec.label) > VCMA_LABEL_MAX)
			abort();
	} else if (!err[0]) {
		abort();	/* every refusal says why */
	}
	free(s);
	return 0;
}
