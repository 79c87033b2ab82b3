/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Host reclaim for the balloon: give the host the memory behind a guest's
 * inflated chunks back by punching holes into the VM's RAM backing.
 *
 * Everything is learnt from the running QEMU through its QMP socket, nothing
 * is assumed about the machine type:
 *   - the RAM layout: "info mtree -f" (flat view of address space "memory"):
 *     each RAM section says which memory region backs it at which offset,
 *     so ram-below-4g / ram-above-4g aliases resolve to backend offsets;
 *   - the backends: qom-list /objects (memory-backend-memfd / -file / -ram),
 *     their size, share and mem-path properties;
 *   - pinning devices: VFIO devices under /machine/peripheral(-anon): with
 *     one of them host reclaim is refused (the device would keep DMA-ing into
 *     the old pages while the guest sees new zero pages);
 *   - QEMU's pid: SO_PEERCRED on the QMP socket; the backing file is opened
 *     through /proc/PID/fd/N (a memfd has no other name).
 *
 * The QMP exchange is synchronous with a short timeout (reclaim_open runs
 * once per guest session, not per chunk); punching and measuring are single
 * syscalls.
 */
#ifndef VCMA_DAEMON_RECLAIM_H
#define VCMA_DAEMON_RECLAIM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define RECLAIM_MAX_SECTIONS	64
#define RECLAIM_NAME_MAX	64

/* One RAM section of the guest-physical address space. */
struct ram_section {
	uint64_t gpa, size;		/* [gpa, gpa + size) */
	uint64_t offset;		/* offset in the memory region (backend) */
	char region[RECLAIM_NAME_MAX];	/* memory region name = backend id */
};

struct ram_layout {
	size_t nr;
	struct ram_section s[RECLAIM_MAX_SECTIONS];
};

/*
 * Parse "info mtree -f" text: RAM sections of the flat view that serves
 * address space "memory". 0, or -1 with a reason in why.
 */
int reclaim_parse_mtree(const char *text, struct ram_layout *out, char *why, size_t whylen);

/*
 * The region and offset backing [gpa, gpa + len): the whole range must lie in
 * one section. 0, or -ERANGE.
 */
int reclaim_map(const struct ram_layout *l, uint64_t gpa, uint64_t len, const char **region,
		uint64_t *offset);

enum reclaim_kind { RECLAIM_NONE = 0, RECLAIM_MEMFD, RECLAIM_FILE, RECLAIM_HUGETLBFS };
const char *reclaim_kind_name(enum reclaim_kind k);

struct reclaim {
	enum reclaim_kind kind;
	bool possible;			/* punching allowed and set up */
	bool transient;			/* QMP not reachable: worth asking again later */
	char why[256];			/* why not, or what it punches */
	int pid;			/* QEMU */
	int fd;				/* the backing, -1 if none */
	char backend[RECLAIM_NAME_MAX];	/* backend id (memory region name) */
	uint64_t backend_size;
	uint64_t align;			/* punch granularity: page or huge page */
	struct ram_layout layout;
	uint64_t punched_bytes, punch_errors;
};

/*
 * Ask QEMU at qmp_path. Always returns a reclaim (NULL only when out of
 * memory); ->possible says whether punching is set up, ->why says why not.
 */
struct reclaim *reclaim_open(const char *qmp_path, int timeout_ms);
void reclaim_free(struct reclaim *rc);

/*
 * Punch [gpa, gpa + len): must map into the backend (reclaim_map) with the
 * alignment of rc->align. 0 or -errno.
 */
int reclaim_punch(struct reclaim *rc, uint64_t gpa, uint64_t len);

struct reclaim_usage {
	uint64_t backing_bytes;		/* allocated blocks of the backing (st_blocks) */
	uint64_t rss_anon, rss_shmem, rss_file;	/* QEMU's, from /proc/PID/status */
	bool valid;
};
void reclaim_measure(const struct reclaim *rc, struct reclaim_usage *u);

#endif
