/* SPDX-License-Identifier: GPL-2.0-only */
#include "log.h"

#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static enum vlog_level cur_level = VLOG_INFO;
static const char *const level_names[] = { "error", "warn", "info", "debug" };
/* syslog priorities of the levels: LOG_ERR, LOG_WARNING, LOG_INFO, LOG_DEBUG */
static const int level_prio[] = { 3, 4, 6, 7 };
static int to_journal = -1;	/* -1 = not looked yet */

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

/*
 * systemd connects a service's stderr to the journal and says so in
 * $JOURNAL_STREAM ("DEVICE:INODE" of that stream): then lines carry a "<N>"
 * priority prefix, which journald strips and files as the priority. A
 * redirected stderr (a file, the tests' pipe) no longer matches and keeps
 * the plain format.
 */
bool vlog_to_journal(void)
{
	const char *js;
	unsigned long long dev, ino;
	struct stat st;

	if (to_journal >= 0)
		return to_journal;
	js = getenv("JOURNAL_STREAM");
	to_journal = js && sscanf(js, "%llu:%llu", &dev, &ino) == 2 && fstat(STDERR_FILENO, &st) == 0 &&
		     (unsigned long long)st.st_dev == dev && (unsigned long long)st.st_ino == ino;
	return to_journal;
}

void vlog(enum vlog_level l, const char *fmt, ...)
{
	char line[1024];
	va_list ap;
	int n;

	if (l > cur_level)
		return;
	if (vlog_to_journal())	/* journald adds the name and pid itself */
		n = snprintf(line, sizeof(line), "<%d>%s: ", level_prio[l], level_names[l]);
	else
		n = snprintf(line, sizeof(line), "vcmad[%d]: %s: ", (int)getpid(), level_names[l]);
	va_start(ap, fmt);
	vsnprintf(line + n, sizeof(line) - (size_t)n, fmt, ap);
	va_end(ap);
	/* one event, one line: a newline inside (a library's message) would start a bogus one */
	for (char *p = line + n; *p; p++)
		if (*p == '\n' || *p == '\r')
			*p = ' ';
	/* One write per line so that concurrent writers do not interleave. */
	fprintf(stderr, "%s\n", line);
}
