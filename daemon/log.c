/* SPDX-License-Identifier: GPL-2.0-only */
#include "log.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

static enum vlog_level cur_level = VLOG_INFO;
static const char *const level_names[] = { "error", "warn", "info", "debug" };

void vlog_set_level(enum vlog_level l)
{
	cur_level = l;
}

enum vlog_level vlog_get_level(void)
{
	return cur_level;
}

int vlog_parse_level(const char *s)
{
	for (int i = 0; i < 4; i++)
		if (!strcmp(s, level_names[i]))
			return i;
	if (!strcmp(s, "warning"))
		return VLOG_WARN;
	return -1;
}

void vlog(enum vlog_level l, const char *fmt, ...)
{
	char line[1024];
	va_list ap;
	int n;

	if (l > cur_level)
		return;
	n = snprintf(line, sizeof(line), "vcmad[%d]: %s: ", (int)getpid(), level_names[l]);
	va_start(ap, fmt);
	vsnprintf(line + n, sizeof(line) - (size_t)n, fmt, ap);
	va_end(ap);
	/* One write per line so that concurrent writers do not interleave. */
	fprintf(stderr, "%s\n", line);
}
