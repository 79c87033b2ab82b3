/* SPDX-License-Identifier: GPL-2.0-only */
#include "log.h"

#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
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

static void vlog_line(enum vlog_level l, const char *vm, const char *fmt, va_list ap)
{
	char line[1024];
	int n;

	if (vlog_to_journal())	/* journald adds the name and pid itself */
		n = snprintf(line, sizeof(line), "<%d>%s: ", level_prio[l], level_names[l]);
	else
		n = snprintf(line, sizeof(line), "vcmad[%d]: %s: ", (int)getpid(), level_names[l]);
	if (vm)
		n += snprintf(line + n, sizeof(line) - (size_t)n, "vm %.200s: ", vm);
	vsnprintf(line + n, sizeof(line) - (size_t)n, fmt, ap);
	/* one event, one line: a newline inside (a library's message) would start a bogus one */
	for (char *p = line + n; *p; p++)
		if (*p == '\n' || *p == '\r')
			*p = ' ';
	/* One write per line so that concurrent writers do not interleave. */
	fprintf(stderr, "%s\n", line);
}

static void vlog_linef(enum vlog_level l, const char *vm, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
static void vlog_linef(enum vlog_level l, const char *vm, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vlog_line(l, vm, fmt, ap);
	va_end(ap);
}

void vlog(enum vlog_level l, const char *fmt, ...)
{
	va_list ap;

	if (l > cur_level)
		return;
	va_start(ap, fmt);
	vlog_line(l, NULL, fmt, ap);
	va_end(ap);
}

/*
 * Per-VM token buckets, in a small table of their own (keyed by the VM's
 * name, so that callers need no state and a VM's bucket outlives a
 * reconnect); debug lines have a bucket apart, so that debug chatter never
 * hides a warning. Tokens are milli-lines. When the table is full the bucket
 * idle longest is reused (its suppressed total is lost with it).
 */
#define VLOG_BUCKETS 256

struct vlog_bucket {
	char name[128];
	bool debug;			/* debug lines have buckets of their own */
	int64_t tokens;			/* milli-lines */
	int64_t last_ms;		/* last refill */
	unsigned long long pending;	/* suppressed, not yet summarised */
	unsigned long long total;	/* suppressed since start */
};

static struct vlog_bucket buckets[VLOG_BUCKETS];
static size_t nr_buckets;
static unsigned int vm_rate = 20, vm_burst = 100;

void vlog_set_vm_rate(unsigned int rate, unsigned int burst)
{
	vm_rate = rate;
	vm_burst = burst ? burst : 1;
	for (size_t i = 0; i < nr_buckets; i++)
		if (buckets[i].tokens > (int64_t)vm_burst * 1000)
			buckets[i].tokens = (int64_t)vm_burst * 1000;
}

static int64_t mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static struct vlog_bucket *bucket_find(const char *vm, bool debug, bool create, int64_t now)
{
	size_t oldest = 0;

	for (size_t i = 0; i < nr_buckets; i++) {
		if (buckets[i].debug == debug &&
		    !strncmp(buckets[i].name, vm, sizeof(buckets[i].name) - 1))
			return &buckets[i];
		if (buckets[i].last_ms < buckets[oldest].last_ms)
			oldest = i;
	}
	if (!create)
		return NULL;
	if (nr_buckets < VLOG_BUCKETS)
		oldest = nr_buckets++;
	buckets[oldest] = (struct vlog_bucket){ .debug = debug, .last_ms = now,
						.tokens = (int64_t)vm_burst * 1000 };
	snprintf(buckets[oldest].name, sizeof(buckets[oldest].name), "%s", vm);
	return &buckets[oldest];
}

static void bucket_refill(struct vlog_bucket *b, int64_t now)
{
	int64_t max = (int64_t)vm_burst * 1000;

	if (now > b->last_ms) {
		b->tokens += (now - b->last_ms) * vm_rate;
		if (b->tokens > max)
			b->tokens = max;
	}
	b->last_ms = now;
}

/* The summary of what was dropped, on its own token (at warn: lines were lost). */
static void bucket_summary(struct vlog_bucket *b)
{
	vlog_linef(b->debug ? VLOG_DEBUG : VLOG_WARN, b->name,
		   "%llu %slines suppressed (log limit %u lines/s, burst %u; %llu in all, "
		   "metric vcmad_log_suppressed_total)",
		   b->pending, b->debug ? "debug " : "", vm_rate, vm_burst, b->total);
	b->pending = 0;
}

void vlog_vm(enum vlog_level l, const char *vm, const char *fmt, ...)
{
	va_list ap;

	if (l > cur_level)
		return;
	if (vm_rate) {
		int64_t now = mono_ms();
		struct vlog_bucket *b = bucket_find(vm, l == VLOG_DEBUG, true, now);

		bucket_refill(b, now);
		if (b->tokens < 1000) {
			b->pending++;
			b->total++;
			return;
		}
		b->tokens -= 1000;
		if (b->pending) {
			if (b->tokens < 1000) {	/* the summary needs a token of its own */
				b->pending++;
				b->total++;
				return;
			}
			b->tokens -= 1000;
			bucket_summary(b);
		}
	}
	va_start(ap, fmt);
	vlog_line(l, vm, fmt, ap);
	va_end(ap);
}

void vlog_vm_flush(void)
{
	int64_t now;

	if (!vm_rate)
		return;
	now = mono_ms();
	for (size_t i = 0; i < nr_buckets; i++) {
		struct vlog_bucket *b = &buckets[i];

		if (!b->pending)
			continue;
		bucket_refill(b, now);
		if (b->tokens >= 1000) {
			b->tokens -= 1000;
			bucket_summary(b);
		}
	}
}

void vlog_vm_always(enum vlog_level l, const char *vm, const char *fmt, ...)
{
	struct vlog_bucket *b;
	va_list ap;

	if (l > cur_level)
		return;
	b = vm_rate ? bucket_find(vm, l == VLOG_DEBUG, false, 0) : NULL;
	if (b && b->pending)
		bucket_summary(b);
	va_start(ap, fmt);
	vlog_line(l, vm, fmt, ap);
	va_end(ap);
}

unsigned long long vlog_vm_suppressed(const char *vm)
{
	struct vlog_bucket *a = bucket_find(vm, false, false, 0);
	struct vlog_bucket *b = bucket_find(vm, true, false, 0);

	return (a ? a->total : 0) + (b ? b->total : 0);
}
