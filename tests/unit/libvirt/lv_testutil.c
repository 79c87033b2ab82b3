/* SPDX-License-Identifier: MIT */
#include "lv_testutil.h"

#include <stdio.h>
#include <stdlib.h>

#include <event2/event.h>

struct lv_seen lv_seen;

char *lv_slurp(const char *dir, const char *name)
{
	char path[1024], *buf;
	FILE *f;
	long n;

	if (name[0] == '/')
		snprintf(path, sizeof(path), "%s", name);
	else
		snprintf(path, sizeof(path), "%s/%s", dir, name);
	f = fopen(path, "rb");
	if (!f || fseek(f, 0, SEEK_END) != 0 || (n = ftell(f)) < 0) {
		fprintf(stderr, "cannot read %s\n", path);
		exit(2);
	}
	rewind(f);
	buf = calloc(1, (size_t)n + 1);
	if (!buf || fread(buf, 1, (size_t)n, f) != (size_t)n) {
		fprintf(stderr, "cannot read %s\n", path);
		exit(2);
	}
	fclose(f);
	return buf;
}

static void expired_cb(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	*(bool *)arg = true;
}

bool lv_run_until(struct event_base *base, const int *counter, int want, int ms)
{
	bool expired = false;
	struct timeval tv = { ms / 1000, (ms % 1000) * 1000 };
	struct event *t = evtimer_new(base, expired_cb, &expired);

	evtimer_add(t, &tv);
	while (!expired && (!counter || *counter < want))
		event_base_loop(base, EVLOOP_ONCE);
	event_free(t);
	return counter && *counter >= want;
}

void lv_run_for(struct event_base *base, int ms)
{
	lv_run_until(base, NULL, 0, ms);
}

static void record_attach(const struct vcma_lv_domain *dom, void *opaque)
{
	(void)opaque;
	lv_seen.attaches++;
	snprintf(lv_seen.name, sizeof(lv_seen.name), "%s", dom->name);
	snprintf(lv_seen.path, sizeof(lv_seen.path), "%s", dom->channel_path);
	lv_seen.has_desired = dom->desired != NULL;
	lv_seen.paused = dom->paused;
	if (dom->desired)
		lv_seen.desired = *dom->desired;
}

static void record_detach(const char *name, void *opaque)
{
	(void)opaque;
	lv_seen.detaches++;
	snprintf(lv_seen.detached, sizeof(lv_seen.detached), "%s", name);
}

static void record_undefined(const char *name, const char *uuid, void *opaque)
{
	(void)opaque;
	lv_seen.undefined++;
	snprintf(lv_seen.undefined_name, sizeof(lv_seen.undefined_name), "%s", name ? name : "");
	snprintf(lv_seen.undefined_uuid, sizeof(lv_seen.undefined_uuid), "%s", uuid);
}

const struct vcma_lv_sink lv_recording_sink = { record_attach, record_detach, record_undefined };
