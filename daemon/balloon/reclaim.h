/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Host reclaim for the balloon: give the host the memory behind a guest's
 * inflated chunks back by punching holes into the VM's RAM backing.
 *
 * Everything is learnt from the running QEMU through its QMP socket, nothing
 * is assumed about the machine type:
 *   - guest RAM is what the memory backend objects hold (query-memdev for
 *     id, size and share; qom-list /objects for memory-backend-memfd / -file
 *     / -ram): one backend for a plain guest, one per node for a NUMA guest;
 *   - the layout: "info mtree -f" (flat view of address space "memory"):
 *     each RAM section says which memory region backs it at which offset, so
 *     ram-below-4g / ram-above-4g aliases resolve to backend offsets. Only
 *     sections of a backend object are guest RAM: video RAM (vga.vram,
 *     qxl.vram), ROMs, pflash and other BARs are device memory, never a
 *     chunk, and so is a backend a device holds through its "memdev" link
 *     (ivshmem, nvdimm, virtio-pmem, virtio-mem; pc-dimm is guest RAM);
 *   - pinning devices: VFIO devices under /machine/peripheral(-anon): with
 *     one of them host reclaim is refused (the device would keep DMA-ing into
 *     the old pages while the guest sees new zero pages);
 *   - QEMU's pid: SO_PEERCRED on the QMP socket; each backing file is opened
 *     through /proc/PID/fd/N (a memfd has no other name). Two memfds of one
 *     size look alike there; QEMU is then asked to flip the backend's "dump"
 *     property (madvise DONTDUMP on its mapping, reverted at once) and the
 *     mapping whose VmFlags changed in /proc/PID/smaps names the file.
 *
 * Each backend is punched or skipped on its own: a NUMA guest with one
 * share=off node still gives back what its shared nodes hold, and says why
 * the other is skipped.
 *
 * reclaim_open is synchronous: the QMP exchange (connect bounded by
 * SO_SNDTIMEO, every read by one budget of timeout_ms) and the /proc scans
 * block the caller for up to timeout_ms, so balloon.c runs it on a thread of
 * its own, never on the event loop; it shares no state with other calls.
 * Punching and measuring are single syscalls, made on the loop.
 */
#ifndef VCMA_DAEMON_RECLAIM_H
#define VCMA_DAEMON_RECLAIM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <json-c/json.h>

#define RECLAIM_MAX_SECTIONS	64
#define RECLAIM_MAX_BACKENDS	16
#define RECLAIM_NAME_MAX	64

/* One RAM section of the guest-physical address space. */
struct ram_section {
	uint64_t gpa, size;		/* [gpa, gpa + size) */
	uint64_t offset;		/* offset in the memory region (backend) */
	char region[RECLAIM_NAME_MAX];	/* memory region name = backend id */
	int backend;			/* index in reclaim.backends, -1 before classifying */
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

/* One memory backend object that holds guest RAM. */
struct reclaim_backend {
	char id[RECLAIM_NAME_MAX];	/* object id = memory region name */
	char type[32];			/* memfd, file, ram, ... (memory-backend-TYPE) */
	enum reclaim_kind kind;		/* what is punched, RECLAIM_NONE when skipped */
	bool share;
	bool punchable;			/* fd open, punching allowed */
	char why[224];			/* why it is skipped */
	int fd;				/* the backing, -1 if none */
	uint64_t size;
	uint64_t align;			/* punch granularity: page or huge page */
	uint64_t punched_bytes, skipped_bytes, punch_errors;
};

struct reclaim {
	enum reclaim_kind kind;		/* of the punchable backends (hugetlbfs wins) */
	bool possible;			/* at least one backend is punched */
	bool transient;			/* QMP not reachable: worth asking again later */
	char why[512];			/* why not, or what it punches (and what it skips) */
	int pid;			/* QEMU */
	uint64_t align;			/* largest punch granularity of the punchable backends */
	struct ram_layout layout;	/* guest RAM sections only */
	size_t nr_backends;
	struct reclaim_backend backends[RECLAIM_MAX_BACKENDS];
	char device_ram[160];		/* RAM sections left out as device memory, for people */
	uint64_t punched_bytes, punch_errors;
};

/*
 * Keep only guest RAM in rc->layout (already parsed from the mtree): the
 * sections whose region is a memory backend object, from QEMU's answers to
 * query-memdev (memdevs) and qom-list /objects (objects); devices is an array
 * of {"path", "type", "memdev"} for QEMU's devices (memdev: the backend path
 * a device links to, absent if none). Fills rc->backends: share=off, anonymous
 * (memory-backend-ram) and unknown types are skipped with a reason; the rest
 * are left for the caller to open (punchable stays false). 0, or -1 with why
 * (no guest RAM at all).
 */
int reclaim_classify(struct reclaim *rc, json_object *memdevs, json_object *objects,
		     json_object *devices, char *why, size_t whylen);

/* A VFIO device in devices (as for reclaim_classify), into name; NULL if none. */
const char *reclaim_pinning_device(json_object *devices, char *name, size_t namelen);

/* The backend holding [gpa, gpa + len), or NULL (-ERANGE from reclaim_map). */
struct reclaim_backend *reclaim_backend_of(struct reclaim *rc, uint64_t gpa, uint64_t len,
					   uint64_t *offset);

/* The backends as JSON for GET .../balloon: id, type, punched or why not, bytes. */
json_object *reclaim_backends_json(const struct reclaim *rc);

/*
 * Ask QEMU at qmp_path. Always returns a reclaim (NULL only when out of
 * memory); ->possible says whether punching is set up, ->why says why not.
 */
struct reclaim *reclaim_open(const char *qmp_path, int timeout_ms);
void reclaim_free(struct reclaim *rc);

/*
 * Punch [gpa, gpa + len): must map into one backend (reclaim_map) with the
 * alignment of that backend. 0 when punched, 1 when the backend is skipped
 * (its reason in the backend's why; counted as skipped bytes), or -errno.
 */
int reclaim_punch(struct reclaim *rc, uint64_t gpa, uint64_t len);

struct reclaim_usage {
	uint64_t backing_bytes;		/* allocated blocks of the punchable backings (st_blocks) */
	uint64_t rss_anon, rss_shmem, rss_file;	/* QEMU's, from /proc/PID/status */
	bool valid;
};
void reclaim_measure(const struct reclaim *rc, struct reclaim_usage *u);

#endif
