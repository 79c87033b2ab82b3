/* SPDX-License-Identifier: MIT */
/*
 * The libvirt side of vcmad's connector: one libvirt connection, kept open
 * (keepalive, reconnect with backoff), the domain events that matter, the
 * discovery of running domains that carry the vcma channel, their desired
 * state in <metadata>, and libvirt's balloon as the fallback for domains
 * without the vcma agent.
 *
 * What it finds goes to a sink (two callbacks) rather than straight into
 * vcmad's VM registry: libvirt.c wires the sink to the registry, the tests
 * record what arrives. Everything runs on the loop thread of the event_base
 * given to vcma_lv_conn_new(), which also carries libvirt's own events
 * (libvirt_events.c).
 */
#ifndef VCMA_LIBVIRT_META_H
#define VCMA_LIBVIRT_META_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "libvirt_xml.h"

struct event_base;
struct vcma_lv_conn;

struct vcma_lv_domain {
	const char *name;
	const char *uuid;
	const char *channel_path;
	const char *qmp_path;	/* a QMP socket of vcmad's own, or NULL */
	/* NULL when the domain has no vcma metadata or it was refused. */
	const struct vcma_lv_desired *desired;
	/* Why host reclaim must never punch its memory (<hostdev>, locked), or NULL. */
	const char *pin_reason;
	/* Why its RAM cannot be punched (not a shared backend), or NULL. */
	const char *unshared_reason;
	/* Paused or suspended to RAM: the guest cannot answer (attach is called again on resume). */
	bool paused;
};

struct vcma_lv_sink {
	/* A running domain with the channel: new, or its channel or desired state changed. */
	void (*attach)(const struct vcma_lv_domain *dom, void *opaque);
	/* An attached domain stopped, crashed, migrated away or lost its channel. */
	void (*detach)(const char *name, void *opaque);
	/*
	 * The domain is gone for good (undefined while stopped, or a transient
	 * domain stopped), attached or not; may be NULL. After detach if both.
	 */
	void (*undefined)(const char *name, const char *uuid, void *opaque);
};

struct vcma_lv_conf {
	const char *uri;		/* NULL = "qemu:///system" */
	const char *port_name;		/* NULL = "org.vcma.0" */
	unsigned keepalive_interval_s;	/* 0 = 5 */
	unsigned keepalive_count;	/* 0 = 3 */
	unsigned backoff_min_ms;	/* 0 = 500 */
	unsigned backoff_max_ms;	/* 0 = 30000 */
};

/*
 * Installs libvirt's event bridge on base (if not yet), connects and
 * attaches every running domain with the channel. A URI libvirt cannot
 * parse or its driver refuses is an error (-EINVAL, logged); any other
 * failure to connect (libvirtd not up yet) is retried with backoff, and a
 * libvirtd that does not answer within 5 s is waited for in the background;
 * in both cases the connector is returned anyway.
 */
int vcma_lv_conn_new(struct event_base *base, const struct vcma_lv_conf *conf,
		     const struct vcma_lv_sink *sink, void *opaque,
		     struct vcma_lv_conn **out);
/* Closes the connection; calls no sink callback. */
void vcma_lv_conn_free(struct vcma_lv_conn *c);

bool vcma_lv_conn_connected(const struct vcma_lv_conn *c);
/* Number of successful (re)connections so far. */
unsigned vcma_lv_conn_generation(const struct vcma_lv_conn *c);

/* Re-reads every running domain now. 0 or -ENOTCONN. */
int vcma_lv_conn_rescan(struct vcma_lv_conn *c);

/*
 * Writes d into domain name's <metadata> (vcma namespace): the live
 * definition if it runs and the persistent one if it has one, so a change
 * made through vcmad holds now and after the next start. 0 or -errno with
 * a message in err.
 */
int vcma_lv_write_desired(struct vcma_lv_conn *c, const char *name,
			  const struct vcma_lv_desired *d, char err[VCMA_LV_ERRLEN]);

/*
 * Balloon fallback for a domain without the vcma agent: sets the running
 * domain's memory to its maximum minus target_bytes through libvirt
 * (virDomainSetMemoryFlags, VIR_DOMAIN_AFFECT_LIVE, i.e. virtio-balloon).
 * The connector does the same by itself for a running domain without the
 * vcma channel whose metadata has <vcma:balloon target='...'/>.
 * On success *new_mem_bytes is the memory asked for and msg says which
 * path was taken; on failure msg says why. 0 or -errno.
 */
int vcma_lv_balloon_fallback(struct vcma_lv_conn *c, const char *name,
			     uint64_t target_bytes, uint64_t *new_mem_bytes,
			     char *msg, size_t msg_len);

/* The domain's maximum memory (what a balloon target is taken from). 0 or -errno. */
int vcma_lv_domain_max_mem(struct vcma_lv_conn *c, const char *name, uint64_t *max_bytes,
			   char *msg, size_t msg_len);

/* Smallest memory the fallback leaves a guest. */
#define VCMA_LV_BALLOON_FLOOR	(128ull << 20)

/* vcmad's handle on the connector (vm_registry.h: vcma_libvirt_new). */
struct vcma_libvirt;
struct vcma_lv_conn *vcma_libvirt_conn(struct vcma_libvirt *lv);

#endif /* VCMA_LIBVIRT_META_H */
