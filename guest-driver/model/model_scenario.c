// SPDX-License-Identifier: GPL-2.0-only OR MIT
/*
 * Workload presets and the scenario text format:
 *
 *   # comment
 *   preset = launch          (optional, must come first: start from a preset)
 *   mem_mib = 1024
 *   cma_mode = migratetype   (none | migratetype | zone)
 *   pagevec_disable = on     (on | off | 1 | 0)
 *
 * One "key = value" per line; every key is a field of struct
 * vcma_model_scenario; values are unsigned integers unless stated. Unknown
 * keys and bad values are errors naming the line.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "model_priv.h"

#define FIELD(f) { #f, offsetof(struct vcma_model_scenario, f), \
		   sizeof(((struct vcma_model_scenario *)0)->f) }

static const struct field {
	const char *key;
	size_t off;
	size_t size;
} fields[] = {
	FIELD(mem_mib), FIELD(cpus), FIELD(busy_cpus), FIELD(idle_ppm), FIELD(seed), FIELD(movable_pct),
	FIELD(cma_pct), FIELD(cma_mode), FIELD(pagevec_disable), FIELD(bh_invalidate),
	FIELD(fill_pct), FIELD(mix_anon), FIELD(mix_file), FIELD(mix_file_buffers),
	FIELD(mix_file_journal), FIELD(mix_bdev), FIELD(mix_shmem), FIELD(mix_slab),
	FIELD(mix_slab_reclaimable), FIELD(mix_kernel), FIELD(churn), FIELD(access),
	FIELD(hot_pct), FIELD(bh_access), FIELD(dirty), FIELD(flush), FIELD(writeback_us),
	FIELD(gup_refs), FIELD(gup_ref_us), FIELD(short_pins), FIELD(short_pin_us),
	FIELD(long_pins), FIELD(long_pins_inplace), FIELD(tick_us),
};

static const char *const preset_names[] = {
	"mixed", "idle", "launch", "fileserver", "pinned", NULL
};

const char *const *vcma_model_preset_names(void)
{
	return preset_names;
}

static void preset_mixed(struct vcma_model_scenario *s)
{
	memset(s, 0, sizeof(*s));
	snprintf(s->name, sizeof(s->name), "mixed");
	s->mem_mib = 1024;
	s->cpus = 4;
	s->busy_cpus = 2;
	s->idle_ppm = 20000;
	s->seed = 1;
	s->movable_pct = 25;
	s->pagevec_disable = 1;
	s->bh_invalidate = 1;
	s->fill_pct = 70;
	s->mix_anon = 40;
	s->mix_file = 20;
	s->mix_file_buffers = 10;
	s->mix_file_journal = 3;
	s->mix_bdev = 5;
	s->mix_shmem = 8;
	s->mix_slab = 6;
	s->mix_slab_reclaimable = 4;
	s->mix_kernel = 2;
	s->churn = 20;
	s->access = 100;
	s->hot_pct = 50;
	s->bh_access = 20;
	s->dirty = 5;
	s->flush = 6;
	s->writeback_us = 2000;
	s->gup_refs = 5;
	s->gup_ref_us = 200;
	s->short_pins = 2;
	s->short_pin_us = 3000;
	s->long_pins = 16;
	s->long_pins_inplace = 4;
	s->tick_us = 1000;
}

int vcma_model_preset(const char *name, struct vcma_model_scenario *s)
{
	if (!name)
		name = "mixed";
	preset_mixed(s);
	if (!strcmp(name, "mixed"))
		return 0;
	if (!strcmp(name, "idle")) {
		s->fill_pct = 30;
		s->churn = s->access = s->bh_access = s->dirty = s->flush = 0;
		s->gup_refs = s->short_pins = s->long_pins = s->long_pins_inplace = 0;
	} else if (!strcmp(name, "launch")) {
		/*
		 * Android-like app launches under memory pressure: one busy CPU
		 * faults in and touches pages, mostly from a small CMA area (free
		 * memory is mostly CMA); seven nearly idle CPUs keep what they
		 * touched in their pagevecs for a long time.
		 */
		s->cpus = 8;
		s->busy_cpus = 1;
		s->idle_ppm = 200;
		s->movable_pct = 0;
		s->cma_pct = 5;
		s->cma_mode = VCMA_MODEL_CMA_MIGRATETYPE;
		s->fill_pct = 95;
		s->churn = 60;
		s->access = 4000;
		s->hot_pct = 98;
		s->short_pins = 0;
		s->long_pins = 4;
		s->long_pins_inplace = 0;
	} else if (!strcmp(name, "fileserver")) {
		/* ext4 with small blocks and metadata walks; most CPUs idle between requests. */
		s->cpus = 8;
		s->busy_cpus = 1;
		s->idle_ppm = 2000;
		s->mix_anon = 15;
		s->mix_file = 15;
		s->mix_file_buffers = 30;
		s->mix_file_journal = 10;
		s->mix_bdev = 20;
		s->bh_access = 300;
		s->dirty = 20;
		s->flush = 10;
	} else if (!strcmp(name, "pinned")) {
		s->short_pins = 20;
		s->long_pins = 128;
		s->long_pins_inplace = 64;
	} else {
		return -1;
	}
	snprintf(s->name, sizeof(s->name), "%s", name);
	return 0;
}

static int parse_value(const char *key, const char *v, uint64_t *out)
{
	char *end;

	if (!strcasecmp(v, "on") || !strcasecmp(v, "yes") || !strcasecmp(v, "true"))
		return *out = 1, 0;
	if (!strcasecmp(v, "off") || !strcasecmp(v, "no") || !strcasecmp(v, "false"))
		return *out = 0, 0;
	if (!strcmp(key, "cma_mode")) {
		if (!strcmp(v, "none"))
			return *out = VCMA_MODEL_CMA_NONE, 0;
		if (!strcmp(v, "migratetype"))
			return *out = VCMA_MODEL_CMA_MIGRATETYPE, 0;
		if (!strcmp(v, "zone"))
			return *out = VCMA_MODEL_CMA_ZONE, 0;
		return -1;
	}
	if (*v < '0' || *v > '9')
		return -1;
	errno = 0;
	*out = strtoull(v, &end, 0);
	return errno || *end ? -1 : 0;
}

static char *trim(char *s)
{
	char *e;

	while (*s == ' ' || *s == '\t')
		s++;
	e = s + strlen(s);
	while (e > s && (e[-1] == ' ' || e[-1] == '\t' || e[-1] == '\r'))
		*--e = 0;
	return s;
}

static int apply(struct vcma_model_scenario *sc, int line, int first, char *key, char *val,
		 char *err, size_t errlen)
{
	uint64_t v;
	size_t i;

	if (!strcmp(key, "preset")) {
		if (first && !vcma_model_preset(val, sc))
			return 0;
		snprintf(err, errlen, "line %d: preset '%s' unknown or not first", line, val);
		return -1;
	}
	if (!strcmp(key, "name")) {
		snprintf(sc->name, sizeof(sc->name), "%s", val);
		return 0;
	}
	for (i = 0; i < sizeof(fields) / sizeof(fields[0]); i++) {
		if (strcmp(key, fields[i].key))
			continue;
		if (parse_value(key, val, &v) ||
		    (fields[i].size == 4 && v > UINT32_MAX)) {
			snprintf(err, errlen, "line %d: bad value '%s' for %s", line, val, key);
			return -1;
		}
		if (fields[i].size == 4) {
			uint32_t v32 = (uint32_t)v;

			memcpy((char *)sc + fields[i].off, &v32, 4);
		} else {
			memcpy((char *)sc + fields[i].off, &v, 8);
		}
		return 0;
	}
	snprintf(err, errlen, "line %d: unknown key '%s'", line, key);
	return -1;
}

int vcma_model_scenario_load(struct vcma_model_scenario *sc, const char *text,
			     char *err, size_t errlen)
{
	char buf[256], *key, *val, *eq;
	const char *p = text, *nl;
	int line = 0, settings = 0;
	size_t len;

	while (p && *p) {
		line++;
		nl = strchr(p, '\n');
		len = nl ? (size_t)(nl - p) : strlen(p);
		if (len >= sizeof(buf)) {
			snprintf(err, errlen, "line %d: too long", line);
			return -1;
		}
		memcpy(buf, p, len);
		buf[len] = 0;
		p = nl ? nl + 1 : NULL;
		if ((eq = strchr(buf, '#')))
			*eq = 0;
		key = trim(buf);
		if (!*key)
			continue;
		eq = strchr(key, '=');
		if (!eq) {
			snprintf(err, errlen, "line %d: expected 'key = value'", line);
			return -1;
		}
		*eq = 0;
		key = trim(key);
		val = trim(eq + 1);
		if (!*key || !*val) {
			snprintf(err, errlen, "line %d: expected 'key = value'", line);
			return -1;
		}
		if (apply(sc, line, settings++ == 0, key, val, err, errlen))
			return -1;
	}
	return 0;
}

int vcma_model_scenario_load_file(struct vcma_model_scenario *sc, const char *path,
				  char *err, size_t errlen)
{
	char *text;
	long size;
	FILE *f = fopen(path, "r");
	int r;

	if (!f) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		return -1;
	}
	if (fseek(f, 0, SEEK_END) || (size = ftell(f)) < 0 || size > (1 << 20) ||
	    fseek(f, 0, SEEK_SET)) {
		snprintf(err, errlen, "%s: unreadable or larger than 1 MiB", path);
		fclose(f);
		return -1;
	}
	text = calloc(1, (size_t)size + 1);
	if (!text || fread(text, 1, (size_t)size, f) != (size_t)size) {
		snprintf(err, errlen, "%s: read failed", path);
		free(text);
		fclose(f);
		return -1;
	}
	fclose(f);
	r = vcma_model_scenario_load(sc, text, err, errlen);
	free(text);
	return r;
}
