/* SPDX-License-Identifier: MIT */
/*
 * libvirt's event loop implementation (virEventRegisterImpl) on vcmad's
 * libevent event_base, so libvirt's sockets, keepalive timers and domain
 * event dispatch run in the daemon's one loop and no thread polls for them.
 *
 * libvirt is process-global here: register once, before the first
 * virConnectOpen, from the thread that runs the loop.
 */
#ifndef VCMA_LIBVIRT_EVENTS_H
#define VCMA_LIBVIRT_EVENTS_H

struct event_base;

/*
 * Installs the bridge on base. Returns 0, -EALREADY if a bridge was
 * installed before in this process, or another -errno.
 */
int vcma_lv_event_register(struct event_base *base);

/*
 * Runs what libvirt handed over but the loop has not reached yet (free
 * callbacks of removed watches), then releases every remaining watch and
 * the bridge itself. Call after the last virConnectClose and before
 * event_base_free; libvirt calls made afterwards fail cleanly.
 */
void vcma_lv_event_shutdown(void);

/* Watches libvirt currently holds, for tests and metrics. */
struct vcma_lv_event_counts {
	unsigned handles;		/* file descriptors watched */
	unsigned timeouts;		/* timers, armed or not */
	unsigned long long freed;	/* free callbacks run so far */
	unsigned long long dispatched;	/* callbacks into libvirt so far */
};
void vcma_lv_event_counts(struct vcma_lv_event_counts *c);

#endif /* VCMA_LIBVIRT_EVENTS_H */
