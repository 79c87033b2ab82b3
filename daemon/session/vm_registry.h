/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * vcmad's VM registry: the internal API through which VM sources (the
 * command line, the config file and the libvirt connector) add, update and
 * remove the VMs that vcmad serves, and read or replace their desired state.
 *
 * Threading: every function here must be called on the event-loop thread,
 * i.e. from a callback dispatched by vcmad_event_base(). The connector
 * integrates its own events into that loop (e.g. libvirt's event API
 * implemented on top of libevent, or a pipe from a helper thread).
 *
 * Desired state is what the operator asked for: reservations (by id, size,
 * alignment, label) and a balloon target. vcmad keeps it in its state store
 * and reconciles the guest towards it. A source that keeps its own copy
 * (libvirt <metadata>) registers a desired_changed hook: vcmad calls it after
 * every change the operator made through REST/vcmactl, never for changes the
 * source itself pushed with vcma_vm_set_desired().
 *
 * The libvirt connector lives in daemon/libvirt*.c; daemon/meson.build
 * compiles whichever of libvirt.c, libvirt_events.c, libvirt_meta.c and
 * libvirt_xml.c exist when libvirt is found, with HAVE_LIBVIRT defined, and
 * vcmad calls vcma_libvirt_new()/vcma_libvirt_free() declared below.
 */
#ifndef VCMA_VM_REGISTRY_H
#define VCMA_VM_REGISTRY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct event_base;
struct vcmad;		/* the daemon */
struct vcma_vm;		/* one served VM; owned by the registry */

#define VCMA_VM_NAME_MAX	64	/* bytes, without the NUL; [A-Za-z0-9_.-] */
#define VCMA_LABEL_MAX		32	/* same as VCMA_NAME_LEN on the wire */
#define VCMA_VM_UUID_LEN	36	/* libvirt's UUID string */

enum vcma_vm_source {
	VCMA_VM_SRC_CONFIG	= 0,	/* vcmad.conf [vm.NAME] */
	VCMA_VM_SRC_CLI		= 1,	/* --vm NAME=PATH */
	VCMA_VM_SRC_LIBVIRT	= 2,	/* the libvirt connector */
};

/* One desired reservation. id is vcmad's reservation id (the RESERVE tag). */
struct vcma_desired_rsv {
	uint64_t id;		/* 0 in vcma_vm_set_desired() = "allocate one" */
	uint64_t size;		/* bytes */
	uint64_t align;		/* bytes, 0 = natural */
	uint64_t max_addr;	/* the grant ends at or below this GPA; 0 = anywhere */
	uint32_t deadline_ms;	/* 0 = daemon default */
	char label[VCMA_LABEL_MAX + 1];
};

struct vcma_desired {
	uint64_t balloon_target;	/* bytes the balloon should hold, 0 = none */
	size_t nr_rsv;
	struct vcma_desired_rsv *rsv;	/* malloc'ed array of nr_rsv */
};

/* Frees d->rsv and zeroes *d. */
void vcma_desired_clear(struct vcma_desired *d);

struct vcma_vm_hooks {
	/*
	 * The operator changed vm's desired state through vcmad (REST). d is
	 * the complete new desired state, valid only during the call.
	 */
	void (*desired_changed)(struct vcma_vm *vm, const struct vcma_desired *d,
				void *opaque);
	/* vm is about to be freed (detached or daemon exit). */
	void (*detached)(struct vcma_vm *vm, void *opaque);
};

struct vcma_vm_attach {
	const char *name;		/* required */
	/*
	 * libvirt's UUID of the domain, or NULL (config VMs): keys its state
	 * file, so that a renamed domain keeps its state.
	 */
	const char *uuid;
	const char *channel_path;	/* unix socket QEMU listens on; required */
	enum vcma_vm_source source;
	/*
	 * Desired state the source holds (e.g. parsed from libvirt metadata), or
	 * NULL to use what vcmad's state store holds for this name.
	 */
	const struct vcma_desired *desired;
	const struct vcma_vm_hooks *hooks;	/* may be NULL */
	void *opaque;				/* passed to hooks */
	/*
	 * QEMU's QMP socket, or NULL: lets vcmad learn the RAM layout and backing
	 * to give inflated balloon chunks back to the host (daemon/balloon/reclaim.h).
	 */
	const char *qmp_path;
	/*
	 * Why the VM's memory is pinned on the host (a <hostdev> passthrough
	 * device, locked memory), or NULL: host reclaim is then refused with
	 * this reason whatever QEMU says, while the guest still shrinks.
	 */
	const char *pin_reason;
	/*
	 * Why the VM's RAM is not a shared backend host reclaim could punch, or
	 * NULL. With [balloon] libvirt_fallback on, its resizes go to libvirt's
	 * balloon; otherwise the reason is what GET .../balloon shows.
	 */
	const char *unshared_reason;
	/*
	 * The source pushes desired state right after attaching (libvirt
	 * metadata, through vcma_vm_set_desired): an unusable state file is then
	 * set aside and the VM served from the source instead of left unmanaged.
	 */
	bool source_has_desired;
};

/*
 * Add a VM, or update the VM of that name: a new channel path makes vcmad
 * reconnect; desired state (if given) replaces the current one as with
 * vcma_vm_set_desired(); hooks/opaque are replaced. vcmad connects to the
 * channel at once and keeps reconnecting with backoff while it is absent.
 * Returns 0 or -errno (-EINVAL bad name/path, -ENOMEM); *out may be NULL.
 */
int vcmad_vm_attach(struct vcmad *d, const struct vcma_vm_attach *a,
		    struct vcma_vm **out);

/*
 * Stop serving the VM: disconnect, call hooks->detached, free it. Its grants
 * stay in the guest and its state file stays in the state store, so a later
 * attach of the same name resumes. Returns 0 or -ENOENT.
 */
int vcmad_vm_detach(struct vcmad *d, const char *name);

/*
 * The VM is gone for good (libvirt undefined the domain): stop serving it
 * if it is served and remove its state file (by uuid, and by name for files
 * from before UUID keys). -EPERM when name is a VM of the config or command
 * line (another VM than the domain); 0 or -errno.
 */
int vcmad_vm_forget(struct vcmad *d, const char *name, const char *uuid);

struct vcma_vm *vcmad_vm_lookup(struct vcmad *d, const char *name);
size_t vcmad_vm_count(const struct vcmad *d);
struct vcma_vm *vcmad_vm_at(struct vcmad *d, size_t i);	/* NULL past the end */
struct event_base *vcmad_event_base(struct vcmad *d);

const char *vcma_vm_name(const struct vcma_vm *vm);
const char *vcma_vm_channel(const struct vcma_vm *vm);
enum vcma_vm_source vcma_vm_source(const struct vcma_vm *vm);

struct vcma_vm_info {
	bool connected;		/* a guest completed HELLO on the channel */
	uint8_t boot_id[16];	/* last guest boot id seen, zero if none */
	uint64_t mem_total;	/* from the guest, 0 if unknown */
	uint64_t grant_bytes;	/* bytes granted for vcmad's reservations */
	size_t nr_granted, nr_pending, nr_failed;
};
void vcma_vm_get_info(const struct vcma_vm *vm, struct vcma_vm_info *out);

/* Copy of the current desired state; free with vcma_desired_clear(). 0 or -ENOMEM. */
int vcma_vm_get_desired(const struct vcma_vm *vm, struct vcma_desired *out);

/*
 * Replace the desired state from the source's copy: reservations whose id is
 * not in d are released, new ones (id 0 or unknown id) are requested, the
 * balloon target is stored. Does not call desired_changed. 0 or -errno.
 */
int vcma_vm_set_desired(struct vcma_vm *vm, const struct vcma_desired *d);

/* The domain is paused (or suspended to RAM): its timers stop; false = running again. */
void vcma_vm_set_suspended(struct vcma_vm *vm, bool suspended);

/* Store the balloon target (bytes). Calls no hook. 0 or -EINVAL. */
int vcma_vm_set_balloon_target(struct vcma_vm *vm, uint64_t bytes);

#ifdef HAVE_LIBVIRT
/* Implemented by daemon/libvirt*.c. */
struct vcma_libvirt;

struct vcma_libvirt_conf {
	const char *uri;	/* e.g. "qemu:///system"; NULL = libvirt's default */
	const char *channel_name;	/* "org.vcma.0" */
};

/*
 * Connect to libvirt, attach every running domain that has the vcma channel
 * and follow domain events. Returns 0 or -errno (logged by the connector).
 */
int vcma_libvirt_new(struct vcmad *d, const struct vcma_libvirt_conf *c,
		     struct vcma_libvirt **out);
void vcma_libvirt_free(struct vcma_libvirt *lv);
#endif

#endif /* VCMA_VM_REGISTRY_H */
