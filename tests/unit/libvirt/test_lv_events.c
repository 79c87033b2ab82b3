/* SPDX-License-Identifier: MIT */
/*
 * The libvirt event bridge on a real libevent loop, driven through libvirt's
 * public virEvent* functions (which call the registered implementation):
 * handles fire on readiness and follow updates, timers keep their period,
 * free callbacks run on a later loop turn and never inside the remove call,
 * calls from another thread wake the loop and run there.
 */
#include <errno.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <event2/event.h>
#include <libvirt/libvirt.h>

#include "libvirt_events.h"
#include "lv_testutil.h"
#include "../../tap.h"

static struct event_base *base;
static pthread_t main_thread;

struct rec {
	int fires;
	int last_id, last_fd, last_events;
	int freed;
	bool on_main;
	bool remove_self;
	bool break_loop;
};

static void free_rec(void *opaque)
{
	((struct rec *)opaque)->freed++;
}

static void on_handle(int watch, int fd, int events, void *opaque)
{
	struct rec *r = opaque;
	char buf[64];

	r->fires++;
	r->last_id = watch;
	r->last_fd = fd;
	r->last_events = events;
	r->on_main = pthread_equal(pthread_self(), main_thread);
	if (events & VIR_EVENT_HANDLE_READABLE)
		(void)!read(fd, buf, sizeof(buf));
	if (r->remove_self)
		virEventRemoveHandle(watch);
	if (r->break_loop)
		event_base_loopbreak(base);
}

static void on_timer(int timer, void *opaque)
{
	struct rec *r = opaque;

	r->fires++;
	r->last_id = timer;
	r->on_main = pthread_equal(pthread_self(), main_thread);
	if (r->remove_self)
		virEventRemoveTimeout(timer);
	if (r->break_loop)
		event_base_loopbreak(base);
}

static void guard_fired(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	*(bool *)arg = true;
	event_base_loopbreak(base);
}

static void test_handles(void)
{
	struct rec r = { 0 };
	int p[2], id, before;

	if (pipe(p) < 0)
		return;
	id = virEventAddHandle(p[0], VIR_EVENT_HANDLE_READABLE, on_handle, &r, free_rec);
	ok(id > 0, "virEventAddHandle returns a watch id (%d)", id);
	(void)!write(p[1], "x", 1);
	ok(lv_run_until(base, &r.fires, 1, 5000) && r.last_id == id && r.last_fd == p[0] &&
	   r.last_events == VIR_EVENT_HANDLE_READABLE && r.on_main,
	   "readable pipe dispatches to the callback on the loop thread (events %d)",
	   r.last_events);

	virEventUpdateHandle(id, 0);
	(void)!write(p[1], "y", 1);
	before = r.fires;
	int never = 0;

	lv_run_until(base, &never, 1, 100);
	ok(r.fires == before, "a handle updated to no events stays quiet");
	virEventUpdateHandle(id, VIR_EVENT_HANDLE_READABLE);
	ok(lv_run_until(base, &r.fires, before + 1, 5000), "and fires again once re-enabled");

	ok(virEventRemoveHandle(id) == 0 && r.freed == 0,
	   "remove succeeds and does not run the free callback inside the call");
	ok(lv_run_until(base, &r.freed, 1, 5000) && r.freed == 1, "the free callback runs on a later loop turn");
	ok(virEventRemoveHandle(id) < 0 && r.freed == 1, "removing it twice fails, frees once");
	(void)!write(p[1], "z", 1);
	before = r.fires;
	lv_run_until(base, &never, 1, 100);
	ok(r.fires == before, "a removed handle never fires");

	/* A callback removing its own watch, as libvirt's RPC client does on EOF. */
	struct rec s = { .remove_self = true };

	id = virEventAddHandle(p[0], VIR_EVENT_HANDLE_READABLE, on_handle, &s, free_rec);
	(void)!write(p[1], "w", 1);
	ok(lv_run_until(base, &s.freed, 1, 5000) && s.fires == 1,
	   "a watch removed from its own callback fires once and is freed later");
	close(p[0]);
	close(p[1]);
}

static void test_timers(void)
{
	struct rec r = { 0 }, z = { 0 }, off = { 0 };
	int id, zid, oid, never = 0;

	id = virEventAddTimeout(10, on_timer, &r, free_rec);
	ok(id > 0 && lv_run_until(base, &r.fires, 3, 5000) && r.last_id == id,
	   "a 10 ms timer keeps firing (%d fires)", r.fires);
	virEventRemoveTimeout(id);

	zid = virEventAddTimeout(0, on_timer, &z, free_rec);
	for (int i = 0; i < 5; i++)
		event_base_loop(base, EVLOOP_ONCE | EVLOOP_NONBLOCK);
	ok(z.fires >= 4, "a 0 ms timer fires on every loop turn (%d in 5)", z.fires);
	virEventUpdateTimeout(zid, -1);
	int before = z.fires;

	for (int i = 0; i < 5; i++)
		event_base_loop(base, EVLOOP_ONCE | EVLOOP_NONBLOCK);
	ok(z.fires == before, "updating it to -1 disables it");

	oid = virEventAddTimeout(-1, on_timer, &off, free_rec);
	lv_run_until(base, &never, 1, 100);
	ok(off.fires == 0, "a timer added disabled does not fire");
	virEventUpdateTimeout(oid, 20);
	ok(lv_run_until(base, &off.fires, 1, 5000), "and fires after being armed");

	virEventRemoveTimeout(zid);
	virEventRemoveTimeout(oid);
	ok(lv_run_until(base, &off.freed, 1, 5000) && z.freed == 1 && r.freed == 1,
	   "removed timers' free callbacks ran");
}

struct thread_arg {
	struct rec *rec;
	int disabled_id;
	int removed_id;
	int added_id;
};

static void *from_thread(void *p)
{
	struct thread_arg *a = p;

	usleep(100 * 1000);	/* let the loop block in its poll first */
	virEventRemoveTimeout(a->removed_id);
	virEventUpdateTimeout(a->disabled_id, 0);
	return NULL;
}

static void test_threads(void)
{
	struct rec armed = { .break_loop = true, .remove_self = true }, gone = { 0 };
	struct thread_arg a = { 0 };
	bool expired = false;
	struct timeval tv = { 10, 0 };
	struct event *guard = evtimer_new(base, guard_fired, &expired);
	pthread_t t;

	a.disabled_id = virEventAddTimeout(-1, on_timer, &armed, free_rec);
	a.removed_id = virEventAddTimeout(-1, on_timer, &gone, free_rec);
	evtimer_add(guard, &tv);
	pthread_create(&t, NULL, from_thread, &a);
	/* Nothing else is armed: only the bridge's wake-up can end this. */
	event_base_dispatch(base);
	pthread_join(t, NULL);
	event_free(guard);
	ok(!expired && armed.fires == 1 && armed.on_main,
	   "a timer armed from another thread wakes the blocked loop and runs on it");
	ok(lv_run_until(base, &armed.freed, 1, 5000) && gone.freed == 1 && gone.fires == 0,
	   "a timer removed from another thread is freed on the loop");
}

static void test_counts_and_shutdown(void)
{
	struct vcma_lv_event_counts c;
	struct rec r = { 0 };

	vcma_lv_event_counts(&c);
	ok(c.handles == 0 && c.timeouts == 0 && c.freed == 7,
	   "all watches gone, 7 free callbacks run (%u handles, %u timers, %llu freed)",
	   c.handles, c.timeouts, c.freed);
	ok(virEventAddTimeout(1000, on_timer, &r, free_rec) > 0, "a timer pending at shutdown");
	vcma_lv_event_shutdown();
	ok(r.freed == 1, "shutdown runs the free callbacks of what is left");
	ok(virEventAddTimeout(0, on_timer, &r, NULL) < 0 &&
	   virEventAddHandle(0, VIR_EVENT_HANDLE_READABLE, on_handle, &r, NULL) < 0,
	   "after shutdown libvirt's calls fail cleanly");
}

int main(void)
{
	main_thread = pthread_self();
	base = event_base_new();
	ok(vcma_lv_event_register(NULL) == -EINVAL, "registering without a loop is refused");
	ok(vcma_lv_event_register(base) == 0, "bridge registered");
	ok(vcma_lv_event_register(base) == -EALREADY, "a second bridge is refused");
	test_handles();
	test_timers();
	test_threads();
	test_counts_and_shutdown();
	event_base_free(base);
	return tap_done();
}
