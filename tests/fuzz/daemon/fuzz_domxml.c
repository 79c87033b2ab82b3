// SPDX-License-Identifier: GPL-2.0
/*
 * libFuzzer target for what vcmad reads out of libvirt: a domain's XML
 * (channel, QMP socket, pinning devices, memory backing) and the vcma
 * metadata an operator writes. Besides not crashing, metadata that parses
 * must survive format -> parse unchanged: what vcmad writes back to libvirt
 * is what it read.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <libxml/parser.h>

#include "libvirt_xml.h"

static void quiet(void *ctx, const char *msg, ...)
{
	(void)ctx;
	(void)msg;
}

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	xmlInitParser();
	xmlSetGenericErrorFunc(NULL, quiet);
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char path[VCMA_LV_PATHLEN], err[VCMA_LV_ERRLEN], why[VCMA_LV_ERRLEN];
	struct vcma_lv_desired d, again;
	char *xml, *out;

	xml = malloc(size + 1);
	if (!xml)
		return 0;
	memcpy(xml, data, size);
	xml[size] = '\0';

	(void)vcma_lv_find_channel(xml, NULL, path, err);
	(void)vcma_lv_find_qmp(xml, path, err);
	(void)vcma_lv_find_pinning(xml, why, err);
	(void)vcma_lv_find_unshared(xml, why, err);

	if (vcma_lv_parse_desired(xml, &d, err) == 1) {
		out = vcma_lv_format_desired(&d, err);
		if (!out)
			abort();	/* valid state must format */
		if (vcma_lv_parse_desired(out, &again, err) != 1 ||
		    !vcma_lv_desired_equal(&d, &again))
			abort();	/* round trip changed the state */
		free(out);
	}
	free(xml);
	return 0;
}
