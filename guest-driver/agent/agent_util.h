/* SPDX-License-Identifier: MIT */
/*
 * Helpers shared by vcma-agent and vcma-guest: number parsing, logging
 * (stderr, optionally syslog), errno <-> protocol status mapping. Sizes
 * ("64M") come from proto/vcma_size.h, the same code vcmad and vcmactl use.
 */
#ifndef VCMA_AGENT_UTIL_H
#define VCMA_AGENT_UTIL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "vcma_size.h"

/* Parse an unsigned decimal number within [min, max]; 0 or -EINVAL/-ERANGE. */
int vcma_parse_u64(const char *s, uint64_t min, uint64_t max, uint64_t *out);

/* Copy a label into a fixed NUL-padded field; -EINVAL if too long or not printable. */
int vcma_copy_label(char *dst, size_t dst_len, const char *src);

enum vcma_log_level { VCMA_LOG_ERR = 0, VCMA_LOG_WARN, VCMA_LOG_INFO, VCMA_LOG_DEBUG };

void vcma_log_init(const char *ident, int verbosity, bool use_syslog);
void vcma_log(enum vcma_log_level level, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
#define log_err(...)	vcma_log(VCMA_LOG_ERR, __VA_ARGS__)
#define log_warn(...)	vcma_log(VCMA_LOG_WARN, __VA_ARGS__)
#define log_info(...)	vcma_log(VCMA_LOG_INFO, __VA_ARGS__)
#define log_debug(...)	vcma_log(VCMA_LOG_DEBUG, __VA_ARGS__)

/*
 * Protocol status (enum vcma_status) for a negative errno from a backend,
 * refined by the evidence's cause (a floor or deadline failure keeps its
 * own status whatever errno carried it).
 */
uint32_t vcma_status_from_errno(int neg_errno, uint32_t cause);

/*
 * What /sys/kernel/vcma/grants/<id>/holders says (lines "claim OWNER",
 * "export OWNER" or the older "hold OWNER" for a live dma-buf, "mmap N"):
 * VCMA_GRANT_F_* into *flags and, when any is set, the holder a RELEASE
 * names into holder[len] (the first claim's owner, else the first dma-buf's,
 * else "mmap"). A line of a kind this build does not know counts as a
 * claim: whatever it is, it keeps the grant. Unprintable bytes become '_'.
 */
void agent_parse_holders(const char *text, uint32_t *flags, char *holder, size_t len);

#endif /* VCMA_AGENT_UTIL_H */
