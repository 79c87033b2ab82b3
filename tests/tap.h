/* SPDX-License-Identifier: GPL-2.0-only OR MIT */
/*
 * The TAP producer of the host-side test programs: one "ok"/"not ok" line per
 * check (a failed one followed by its file and line), the plan at the end,
 * exit status 1 when anything failed. Header-only, so a test program stays a
 * single file. (The guest programs in tests/vm/guest share counters across
 * several files and keep their own in vmtest_lib.c.)
 */
#ifndef VCMA_TEST_TAP_H
#define VCMA_TEST_TAP_H

#include <stdarg.h>
#include <stdio.h>

static int tap_n, tap_failed;

__attribute__((format(printf, 4, 5), unused))
static int tap_ok_at(int cond, const char *file, int line, const char *fmt, ...)
{
	va_list ap;

	printf("%s %d - ", cond ? "ok" : "not ok", ++tap_n);
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	printf("\n");
	if (!cond) {
		tap_failed++;
		printf("#   at %s:%d\n", file, line);
	}
	fflush(stdout);
	return cond;
}

#define tap_ok(cond, ...) tap_ok_at(!!(cond), __FILE__, __LINE__, __VA_ARGS__)
#define ok(cond, ...) tap_ok(cond, __VA_ARGS__)

__attribute__((format(printf, 1, 2), unused))
static void tap_diag(const char *fmt, ...)
{
	va_list ap;

	printf("# ");
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	printf("\n");
	fflush(stdout);
}

__attribute__((unused))
static int tap_done(void)
{
	printf("1..%d\n", tap_n);
	return tap_failed ? 1 : 0;
}

#endif /* VCMA_TEST_TAP_H */
