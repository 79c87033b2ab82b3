/* SPDX-License-Identifier: GPL-2.0-only OR MIT */
/* Shared by the model and core-on-model tests: build a model or die with why. */
#ifndef VCMA_MODEL_TEST_UTIL_H
#define VCMA_MODEL_TEST_UTIL_H

#include <stdlib.h>

#include "vcma_model.h"
#include "../../tap.h"

/* A model from a preset, with mem_mib (0: the preset's) and then scenario text on top. */
static inline struct vcma_model *test_model(const char *preset, uint64_t mem_mib, const char *text)
{
	struct vcma_model_scenario sc;
	struct vcma_model *m;
	char err[160];

	vcma_model_preset(preset, &sc);
	if (mem_mib)
		sc.mem_mib = mem_mib;
	if (text && vcma_model_scenario_load(&sc, text, err, sizeof(err))) {
		tap_diag("scenario: %s", err);
		exit(1);
	}
	m = vcma_model_new_scenario(&sc, err, sizeof(err));
	if (!m) {
		tap_diag("model: %s", err);
		exit(1);
	}
	return m;
}

#endif /* VCMA_MODEL_TEST_UTIL_H */
