/* SPDX-License-Identifier: MIT */
/*
 * virEventRegisterImpl bridge onto a libevent event_base.
 *
 * libvirt calls the add/update/remove functions from the loop thread (most
 * of the time) and from its own worker threads (the QEMU driver queues
 * domain events from monitor threads and arms a dispatch timer). libevent is
 * used without its threading support, so only the loop thread touches
 * libevent: every call records the wanted state of its watch under `lock`
 * and marks it dirty; the loop thread applies dirty watches at once when it
 * is the caller, otherwise an eventfd wakes the loop to apply them.
 *
 * libvirt forbids running a watch's free callback from within the remove
 * call (the caller may hold locks the callback takes), so removed watches
 * go to a list that the eventfd callback empties on a later loop turn.
 *
 * Locking: `lock` protects the watch lists and counters; no libvirt
 * callback is ever invoked with it held.
 */
#include "libvirt_events.h"

#include <errno.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <event2/event.h>
#include <libvirt/libvirt.h>

struct watch {
	int id;
	bool is_timer;
	bool removed;
	bool dirty;
	int fd;
	int events;		/* VIR_EVENT_HANDLE_* wanted */
	int interval_ms;	/* timers: -1 off, 0 every loop turn, >0 period */
	virEventHandleCallback hcb;
	virEventTimeoutCallback tcb;
	void *opaque;
	virFreeCallback ff;
	struct event *ev;	/* loop thread only */
	struct watch *next;
};

static struct {
	pthread_mutex_t lock;
	struct event_base *base;	/* NULL before register and after shutdown */
	pthread_t loop_thread;
	int wake_fd;
	struct event *wake_ev;
	bool wake_pending;
	int next_id;
	struct watch *live;
	struct watch *to_free;		/* removed, free callback not run yet */
	struct vcma_lv_event_counts counts;
	bool ever_registered;
} br = {
	.lock = PTHREAD_MUTEX_INITIALIZER,
	.wake_fd = -1,
	.next_id = 1,
};

static void apply_dirty_locked(void);

static bool on_loop_thread(void)
{
	return pthread_equal(pthread_self(), br.loop_thread);
}

static void wake_loop_locked(void)
{
	uint64_t one = 1;

	if (br.wake_pending)
		return;
	br.wake_pending = true;
	/* EAGAIN means the counter is already non-zero: the loop will wake. */
	if (write(br.wake_fd, &one, sizeof(one)) < 0 && errno != EAGAIN)
		br.wake_pending = false;
}

/* Applies the change now when on the loop thread, otherwise wakes the loop. */
static void changed_locked(bool has_free)
{
	if (on_loop_thread())
		apply_dirty_locked();
	else
		wake_loop_locked();
	if (has_free)
		wake_loop_locked();
}

static struct watch *find_locked(int id, bool is_timer)
{
	for (struct watch *w = br.live; w; w = w->next)
		if (w->id == id && w->is_timer == is_timer && !w->removed)
			return w;
	return NULL;
}

static void handle_fired(evutil_socket_t fd, short what, void *arg)
{
	struct watch *w = arg;
	virEventHandleCallback cb;
	void *opaque;
	int events = 0, id;

	pthread_mutex_lock(&br.lock);
	if (w->removed) {
		pthread_mutex_unlock(&br.lock);
		return;
	}
	cb = w->hcb;
	opaque = w->opaque;
	id = w->id;
	br.counts.dispatched++;
	pthread_mutex_unlock(&br.lock);
	if (what & EV_READ)
		events |= VIR_EVENT_HANDLE_READABLE;
	if (what & EV_WRITE)
		events |= VIR_EVENT_HANDLE_WRITABLE;
	/* w stays allocated until the wake callback, which cannot run meanwhile. */
	cb(id, (int)fd, events, opaque);
}

static void timer_fired(evutil_socket_t fd, short what, void *arg)
{
	struct watch *w = arg;
	virEventTimeoutCallback cb;
	void *opaque;
	int id;

	(void)fd;
	(void)what;
	pthread_mutex_lock(&br.lock);
	if (w->removed || w->interval_ms < 0) {
		pthread_mutex_unlock(&br.lock);
		return;
	}
	/* libevent does not re-arm a persistent event whose timeout is zero. */
	if (w->interval_ms == 0)
		event_add(w->ev, &(struct timeval){ 0, 0 });
	cb = w->tcb;
	opaque = w->opaque;
	id = w->id;
	br.counts.dispatched++;
	pthread_mutex_unlock(&br.lock);
	cb(id, opaque);
}

static short to_libevent(int events)
{
	short ev = 0;

	if (events & VIR_EVENT_HANDLE_READABLE)
		ev |= EV_READ;
	if (events & VIR_EVENT_HANDLE_WRITABLE)
		ev |= EV_WRITE;
	return ev;
}

/*
 * Brings one watch's libevent event in line with what libvirt asked for.
 * event_assign is only valid on an event that is not pending, hence the
 * event_del first.
 */
static void apply_one_locked(struct watch *w)
{
	short flags = w->is_timer ? 0 : to_libevent(w->events);

	if (w->ev)
		event_del(w->ev);
	if (w->is_timer) {
		struct timeval tv = { w->interval_ms / 1000, (w->interval_ms % 1000) * 1000 };

		if (!w->ev)
			w->ev = event_new(br.base, -1, EV_PERSIST, timer_fired, w);
		if (w->ev && w->interval_ms >= 0)
			event_add(w->ev, &tv);
		return;
	}
	if (!w->ev)
		w->ev = event_new(br.base, w->fd, flags | EV_PERSIST, handle_fired, w);
	else
		event_assign(w->ev, br.base, w->fd, flags | EV_PERSIST, handle_fired, w);
	if (w->ev && flags)
		event_add(w->ev, NULL);
}

static void apply_dirty_locked(void)
{
	struct watch **pp = &br.live;

	while (*pp) {
		struct watch *w = *pp;

		if (!w->dirty) {
			pp = &w->next;
			continue;
		}
		w->dirty = false;
		if (!w->removed) {
			apply_one_locked(w);
			pp = &w->next;
			continue;
		}
		if (w->ev)
			event_free(w->ev);
		w->ev = NULL;
		*pp = w->next;
		w->next = br.to_free;
		br.to_free = w;
	}
}

/* Runs the deferred free callbacks outside the lock, oldest first. */
static void run_frees(struct watch *list)
{
	struct watch *rev = NULL;

	while (list) {
		struct watch *n = list->next;

		list->next = rev;
		rev = list;
		list = n;
	}
	while (rev) {
		struct watch *n = rev->next;

		if (rev->ff)
			rev->ff(rev->opaque);
		free(rev);
		rev = n;
	}
}

static struct watch *take_frees_locked(void)
{
	struct watch *list = br.to_free;
	unsigned long long n = 0;

	for (struct watch *w = list; w; w = w->next)
		n++;
	br.counts.freed += n;
	br.to_free = NULL;
	return list;
}

static void wake_fired(evutil_socket_t fd, short what, void *arg)
{
	uint64_t v;
	struct watch *frees;

	(void)what;
	(void)arg;
	while (read((int)fd, &v, sizeof(v)) > 0)
		;
	pthread_mutex_lock(&br.lock);
	br.wake_pending = false;
	apply_dirty_locked();
	frees = take_frees_locked();
	pthread_mutex_unlock(&br.lock);
	run_frees(frees);
}

/* Registers a copy of proto (kind, callbacks, wanted state); its id or -1. */
static int add_watch(const struct watch *proto)
{
	struct watch *w = NULL;
	int id = -1;

	pthread_mutex_lock(&br.lock);
	if (br.base && br.next_id < INT32_MAX)
		w = calloc(1, sizeof(*w));
	if (w) {
		*w = *proto;
		w->id = id = br.next_id++;
		w->dirty = true;
		w->next = br.live;
		br.live = w;
		if (w->is_timer)
			br.counts.timeouts++;
		else
			br.counts.handles++;
		changed_locked(false);
	}
	pthread_mutex_unlock(&br.lock);
	return id;
}

/* value: the events of a handle, the interval of a timer. */
static void update_watch(int id, bool is_timer, int value)
{
	struct watch *w;

	pthread_mutex_lock(&br.lock);
	w = find_locked(id, is_timer);
	/* Timers are re-armed even when unchanged: libvirt expects a fresh period. */
	if (w && (is_timer || w->events != value)) {
		if (is_timer)
			w->interval_ms = value < 0 ? -1 : value;
		else
			w->events = value;
		w->dirty = true;
		changed_locked(false);
	}
	pthread_mutex_unlock(&br.lock);
}

static int remove_watch(int id, bool is_timer)
{
	struct watch *w;

	pthread_mutex_lock(&br.lock);
	w = find_locked(id, is_timer);
	if (w) {
		w->removed = true;
		w->dirty = true;
		if (is_timer)
			br.counts.timeouts--;
		else
			br.counts.handles--;
		changed_locked(true);
	}
	pthread_mutex_unlock(&br.lock);
	return w ? 0 : -1;
}

static int add_handle(int fd, int events, virEventHandleCallback cb, void *opaque,
		      virFreeCallback ff)
{
	if (fd < 0 || !cb)
		return -1;
	return add_watch(&(struct watch){
		.fd = fd, .events = events, .hcb = cb, .opaque = opaque, .ff = ff,
	});
}

static void update_handle(int id, int events)
{
	update_watch(id, false, events);
}

static int remove_handle(int id)
{
	return remove_watch(id, false);
}

static int add_timeout(int interval_ms, virEventTimeoutCallback cb, void *opaque,
		       virFreeCallback ff)
{
	if (!cb)
		return -1;
	return add_watch(&(struct watch){
		.is_timer = true, .interval_ms = interval_ms < 0 ? -1 : interval_ms,
		.tcb = cb, .opaque = opaque, .ff = ff,
	});
}

static void update_timeout(int id, int interval_ms)
{
	update_watch(id, true, interval_ms);
}

static int remove_timeout(int id)
{
	return remove_watch(id, true);
}

int vcma_lv_event_register(struct event_base *base)
{
	int fd;

	if (!base)
		return -EINVAL;
	pthread_mutex_lock(&br.lock);
	if (br.ever_registered) {
		pthread_mutex_unlock(&br.lock);
		return -EALREADY;
	}
	fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	if (fd < 0) {
		int e = errno;

		pthread_mutex_unlock(&br.lock);
		return -e;
	}
	br.wake_ev = event_new(base, fd, EV_READ | EV_PERSIST, wake_fired, NULL);
	if (!br.wake_ev || event_add(br.wake_ev, NULL) < 0) {
		if (br.wake_ev)
			event_free(br.wake_ev);
		br.wake_ev = NULL;
		close(fd);
		pthread_mutex_unlock(&br.lock);
		return -ENOMEM;
	}
	br.wake_fd = fd;
	br.base = base;
	br.loop_thread = pthread_self();
	br.ever_registered = true;
	pthread_mutex_unlock(&br.lock);
	virEventRegisterImpl(add_handle, update_handle, remove_handle,
			     add_timeout, update_timeout, remove_timeout);
	return 0;
}

void vcma_lv_event_shutdown(void)
{
	struct watch *frees;

	pthread_mutex_lock(&br.lock);
	if (!br.base) {
		pthread_mutex_unlock(&br.lock);
		return;
	}
	for (struct watch *w = br.live; w; w = w->next) {
		if (!w->removed && w->is_timer)
			br.counts.timeouts--;
		else if (!w->removed)
			br.counts.handles--;
		w->removed = true;
		w->dirty = true;
	}
	apply_dirty_locked();
	frees = take_frees_locked();
	event_free(br.wake_ev);
	br.wake_ev = NULL;
	close(br.wake_fd);
	br.wake_fd = -1;
	br.base = NULL;
	pthread_mutex_unlock(&br.lock);
	run_frees(frees);
}

void vcma_lv_event_counts(struct vcma_lv_event_counts *c)
{
	pthread_mutex_lock(&br.lock);
	*c = br.counts;
	pthread_mutex_unlock(&br.lock);
}
