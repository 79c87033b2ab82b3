// SPDX-License-Identifier: MIT
/*
 * Shared helpers of vcma-agent and vcma-guest (see agent_util.h). The log
 * state is process-global and set once at start-up before any thread runs;
 * vcma_log itself only formats into a local buffer, so it is thread-safe.
 */
#include "agent_util.h"

#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <syslog.h>

#include "vcma_proto.h"

static int parse_digits(const char **sp, uint64_t *out)
{
	const char *s = *sp;
	uint64_t v = 0;

	if (!isdigit((unsigned char)*s))
		return -EINVAL;
	for (; isdigit((unsigned char)*s); s++) {
		unsigned int d = (unsigned int)(*s - '0');

		if (v > (UINT64_MAX - d) / 10)
			return -ERANGE;
		v = v * 10 + d;
	}
	*sp = s;
	*out = v;
	return 0;
}

int vcma_parse_u64(const char *s, uint64_t min, uint64_t max, uint64_t *out)
{
	uint64_t v;
	int ret;

	if (!s)
		return -EINVAL;
	ret = parse_digits(&s, &v);
	if (ret)
		return ret;
	if (*s)
		return -EINVAL;
	if (v < min || v > max)
		return -ERANGE;
	*out = v;
	return 0;
}

int vcma_copy_label(char *dst, size_t dst_len, const char *src)
{
	size_t n = src ? strlen(src) : 0;
	size_t i;

	/* One byte stays NUL so that the fixed field is always a C string. */
	if (n >= dst_len)
		return -EINVAL;
	for (i = 0; i < n; i++)
		if (!isprint((unsigned char)src[i]))
			return -EINVAL;
	memset(dst, 0, dst_len);
	if (n)
		memcpy(dst, src, n);
	return 0;
}

static struct {
	const char *ident;
	int verbosity;
	bool syslog;
} log_state = { "vcma", VCMA_LOG_INFO, false };

void vcma_log_init(const char *ident, int verbosity, bool use_syslog)
{
	log_state.ident = ident;
	log_state.verbosity = verbosity;
	log_state.syslog = use_syslog;
	if (use_syslog)
		openlog(ident, LOG_PID, LOG_DAEMON);
}

void vcma_log(enum vcma_log_level level, const char *fmt, ...)
{
	static const int prio[] = { LOG_ERR, LOG_WARNING, LOG_INFO, LOG_DEBUG };
	static const char *const tag[] = { "error", "warning", "info", "debug" };
	char msg[512];
	va_list ap;

	if ((int)level > log_state.verbosity)
		return;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	fprintf(stderr, "%s: %s: %s\n", log_state.ident, tag[level], msg);
	if (log_state.syslog)
		syslog(prio[level], "%s", msg);
}

uint32_t vcma_status_from_errno(int neg_errno, uint32_t cause)
{
	if (neg_errno == 0)
		return VCMA_OK;
	if (cause == VCMA_CAUSE_FLOOR)
		return VCMA_E_FLOOR;
	if (cause == VCMA_CAUSE_DEADLINE)
		return VCMA_E_TIMEOUT;
	switch (-neg_errno) {
	case EINVAL:
	case ERANGE:
		return VCMA_E_INVAL;
	case ENOSPC:
	case ENOMEM:
	case EADDRNOTAVAIL:	/* no window below max_addr (cause addr_limit) */
		return VCMA_E_NOSPC;
	case EBUSY:
		return VCMA_E_BUSY;
	case ETIMEDOUT:
		return VCMA_E_TIMEOUT;
	case ENOENT:
		return VCMA_E_NOENT;
	case ENODEV:
	case ENXIO:
		return VCMA_E_NODEV;
	case EAGAIN:
	case EINTR:
		return VCMA_E_AGAIN;
	case EOPNOTSUPP:
	case ENOTTY:
		return VCMA_E_UNSUPPORTED;
	default:
		return VCMA_E_INTERNAL;
	}
}

/* Copy one word of a holders line, printable, truncated to fit. */
static void copy_word(char *dst, size_t len, const char *src, size_t n)
{
	size_t i;

	if (!len)
		return;
	for (i = 0; i < n && i + 1 < len; i++)
		dst[i] = src[i] > ' ' && src[i] < 0x7f ? src[i] : '_';
	dst[i] = '\0';
}

void agent_parse_holders(const char *text, uint32_t *flags, char *holder, size_t len)
{
	const char *export_name = NULL, *claim_name = NULL;
	size_t export_len = 0, claim_len = 0;
	const char *line = text;

	*flags = 0;
	if (len)
		holder[0] = '\0';
	while (line && *line) {
		const char *end = strchr(line, '\n');
		size_t n = end ? (size_t)(end - line) : strlen(line);
		const char *sp = memchr(line, ' ', n);
		size_t kind = sp ? (size_t)(sp - line) : n;
		const char *name = sp ? sp + 1 : line + n;
		size_t name_len = n - (size_t)(name - line);

		if (kind == 4 && !strncmp(line, "mmap", 4)) {
			*flags |= VCMA_GRANT_F_MAPPED;
		} else if ((kind == 6 && !strncmp(line, "export", 6)) ||
			   (kind == 4 && !strncmp(line, "hold", 4))) {
			*flags |= VCMA_GRANT_F_EXPORTED;
			if (!export_name && name_len) {
				export_name = name;
				export_len = name_len;
			}
		} else if (n) {
			*flags |= VCMA_GRANT_F_CLAIMED;
			if (!claim_name) {
				/* An unknown kind names itself when it has no owner. */
				claim_name = name_len ? name : line;
				claim_len = name_len ? name_len : kind;
			}
		}
		line = end ? end + 1 : NULL;
	}
	if (claim_name)
		copy_word(holder, len, claim_name, claim_len);
	else if (export_name)
		copy_word(holder, len, export_name, export_len);
	else if (*flags) {
		const char *what = *flags & VCMA_GRANT_F_EXPORTED ? "dma-buf" : "mmap";

		copy_word(holder, len, what, strlen(what));
	}
}
