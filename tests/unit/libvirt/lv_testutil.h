/* SPDX-License-Identifier: MIT */
/*
 * What the libvirt connector tests share: fixtures, a libevent loop run
 * with a deadline, and a sink that records what the connector reports.
 */
#ifndef VCMA_TEST_LV_TESTUTIL_H
#define VCMA_TEST_LV_TESTUTIL_H

#include <stdbool.h>

#include "libvirt_meta.h"

struct event_base;

/* dir/name (or name if absolute) as a NUL-terminated malloc'ed string; exits 2 if unreadable. */
char *lv_slurp(const char *dir, const char *name);

/* Runs base until *counter >= want or ms pass; returns *counter >= want. */
bool lv_run_until(struct event_base *base, const int *counter, int want, int ms);
void lv_run_for(struct event_base *base, int ms);

/* The last attach and detach the connector reported, and how many. */
struct lv_seen {
	int attaches, detaches, undefined;
	char name[128], path[VCMA_LV_PATHLEN], detached[128];
	char undefined_name[128], undefined_uuid[64];
	bool has_desired, paused;
	struct vcma_lv_desired desired;
};
extern struct lv_seen lv_seen;
extern const struct vcma_lv_sink lv_recording_sink;

#endif
