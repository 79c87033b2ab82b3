/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * vcmad main: configuration, the event loop, the VM registry and the channel
 * IO of every VM. The callbacks here only move bytes and time into vm.c and
 * act on its verdict (vm->drop); a VM's trouble never reaches another VM
 * because each has its own bounded buffers and its own reconnect timer.
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>

#include "api.h"
#include "balloon.h"
#include "daemon.h"
#include "log.h"
#include "store.h"
#include "vm_registry.h"

#define TICK_MS 100
#define READ_CHUNK 16384

struct vm_io {
	struct vcmad *d;
	struct vcma_vm *vm;
	struct bufferevent *bev;
	struct event *retry;
	unsigned int backoff_ms;
	int64_t connected_ms;
};

/* A session must last this long before reconnects are quick again. */
#define STABLE_SESSION_MS 10000


static int io_write(void *opaque, const void *buf, size_t len)
{
	struct vm_io *io = opaque;
	struct evbuffer *out;

	if (!io->bev)
		return -ENOTCONN;
	out = bufferevent_get_output(io->bev);
	if (evbuffer_get_length(out) + len > io->d->cfg->max_output)
		return -ENOBUFS;
	return evbuffer_add(out, buf, len) ? -ENOMEM : 0;
}

static void schedule_connect(struct vm_io *io)
{
	struct timeval tv = { io->backoff_ms / 1000, (io->backoff_ms % 1000) * 1000 };
	unsigned int max = io->d->cfg->reconnect_max_ms;

	evtimer_add(io->retry, &tv);
	io->backoff_ms = io->backoff_ms * 2 > max ? max : io->backoff_ms * 2;
}

static void io_close(struct vm_io *io, const char *why)
{
	/* a guest that drops (or is dropped) right after HELLO keeps backing off */
	if (io->bev && vcmad_now_ms() - io->connected_ms >= STABLE_SESSION_MS)
		io->backoff_ms = io->d->cfg->reconnect_min_ms;
	if (io->bev) {
		bufferevent_free(io->bev);
		io->bev = NULL;
	}
	vm_session_end(io->vm, why);
}

static void on_read(struct bufferevent *bev, void *arg)
{
	struct vm_io *io = arg;
	struct evbuffer *in = bufferevent_get_input(bev);
	uint8_t buf[READ_CHUNK];
	int n;

	while (!io->vm->drop && (n = evbuffer_remove(in, buf, sizeof(buf))) > 0)
		vm_feed(io->vm, buf, (size_t)n, vcmad_now_ms());
	vcmad_commit(io->d, io->vm, false);
}

static void on_event(struct bufferevent *bev, short what, void *arg)
{
	struct vm_io *io = arg;
	char why[128];

	(void)bev;
	if (what & BEV_EVENT_EOF)
		snprintf(why, sizeof(why), "channel closed by the other end");
	else if (what & BEV_EVENT_ERROR)
		snprintf(why, sizeof(why), "channel error: %s", strerror(errno));
	else
		return;
	io_close(io, why);
	vcmad_commit(io->d, io->vm, false);
	schedule_connect(io);
}

/* unix-socket connect is synchronous: it succeeds or fails at once */
static void try_connect(evutil_socket_t fd_unused, short what, void *arg)
{
	struct vm_io *io = arg;
	struct vcma_vm *vm = io->vm;
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	int fd;

	(void)fd_unused;
	(void)what;
	if (io->bev)
		return;
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", vm->channel);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0 || connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		int err = errno;

		if (fd >= 0)
			close(fd);
		vlog_debug("vm %s: cannot connect to %s: %s (retry in %u ms)", vm->name,
			   vm->channel, strerror(err), io->backoff_ms);
		schedule_connect(io);
		return;
	}
	io->bev = bufferevent_socket_new(io->d->base, fd, BEV_OPT_CLOSE_ON_FREE);
	if (!io->bev) {
		close(fd);
		schedule_connect(io);
		return;
	}
	bufferevent_setcb(io->bev, on_read, NULL, on_event, io);
	bufferevent_setwatermark(io->bev, EV_READ, 0, io->d->cfg->lim.max_reasm);
	bufferevent_enable(io->bev, EV_READ | EV_WRITE);
	io->connected_ms = vcmad_now_ms();
	vlog_info("vm %s: connected to channel %s", vm->name, vm->channel);
	vm_session_start(vm, vcmad_now_ms());
	vcmad_commit(io->d, vm, false);
}

void vcmad_commit(struct vcmad *d, struct vcma_vm *vm, bool save_now)
{
	struct vm_io *io = vm->io;
	int rc;

	if (vm->dirty && (save_now || vm->desired_changed)) {
		rc = store_save(d->cfg->state_dir, vm, d->cfg->fsync);
		if (rc)
			vlog_err("vm %s: cannot save state in %s: %s", vm->name, d->cfg->state_dir,
				 strerror(-rc));
		else
			vm->dirty = false;
	}
	if (vm->desired_changed) {
		vm->desired_changed = false;
		if (vm->hooks && vm->hooks->desired_changed) {
			struct vcma_desired des;

			if (!vcma_vm_get_desired(vm, &des)) {
				vm->hooks->desired_changed(vm, &des, vm->hook_opaque);
				vcma_desired_clear(&des);
			}
		}
	}
	if (vm->drop && io && io->bev) {
		vlog_warn("vm %s: disconnecting guest: %s", vm->name, vm->drop_reason);
		io_close(io, vm->drop_reason);
		schedule_connect(io);
	}
}

static void on_tick(evutil_socket_t fd, short what, void *arg)
{
	struct vcmad *d = arg;
	int64_t now = vcmad_now_ms();

	(void)fd;
	(void)what;
	for (size_t i = 0; i < d->nr_vms; i++) {
		vm_tick(d->vms[i], now);
		vcmad_commit(d, d->vms[i], true);
	}
	api_tick(d->api, now);
}

/* ---- registry -------------------------------------------------------------- */

struct vcma_vm *vcmad_vm_lookup(struct vcmad *d, const char *name)
{
	for (size_t i = 0; i < d->nr_vms; i++)
		if (!strcmp(d->vms[i]->name, name))
			return d->vms[i];
	return NULL;
}

size_t vcmad_vm_count(const struct vcmad *d)
{
	return d->nr_vms;
}

struct vcma_vm *vcmad_vm_at(struct vcmad *d, size_t i)
{
	return i < d->nr_vms ? d->vms[i] : NULL;
}

struct event_base *vcmad_event_base(struct vcmad *d)
{
	return d->base;
}

int vcmad_vm_attach(struct vcmad *d, const struct vcma_vm_attach *a, struct vcma_vm **out)
{
	struct vcma_vm *vm = a->name ? vcmad_vm_lookup(d, a->name) : NULL;
	struct vm_io *io;
	char err[256];
	int rc;

	if (!a->name || !vm_name_valid(a->name) || !a->channel_path || !*a->channel_path ||
	    strlen(a->channel_path) >= sizeof(((struct sockaddr_un *)0)->sun_path))
		return -EINVAL;
	if (vm) {
		io = vm->io;
		if (strcmp(vm->channel, a->channel_path)) {
			if (vm_set_channel(vm, a->channel_path))
				return -ENOMEM;
			vlog_info("vm %s: channel moved to %s", vm->name, vm->channel);
			io_close(io, "channel moved");
			io->backoff_ms = d->cfg->reconnect_min_ms;
			event_active(io->retry, EV_TIMEOUT, 0);
		}
	} else {
		struct vcma_vm **n;

		if (d->nr_vms == d->cap_vms) {
			size_t cap = d->cap_vms ? 2 * d->cap_vms : 16;

			n = realloc(d->vms, cap * sizeof(*n));
			if (!n)
				return -ENOMEM;
			d->vms = n;
			d->cap_vms = cap;
		}
		vm = vm_new(a->name, a->channel_path, &d->cfg->lim);
		io = calloc(1, sizeof(*io));
		if (!vm || !io) {
			vm_free(vm);
			free(io);
			return -ENOMEM;
		}
		io->d = d;
		io->vm = vm;
		io->backoff_ms = d->cfg->reconnect_min_ms;
		io->retry = evtimer_new(d->base, try_connect, io);
		vm->io = io;
		vm->write = io_write;
		rc = store_load(d->cfg->state_dir, vm, err, sizeof(err));
		if (rc == -EINVAL) {
			/* refuse to guess: serving it empty would release nothing and re-request nothing */
			vlog_err("vm %s: state file unusable (%s); starting with empty desired state",
				 vm->name, err);
		} else if (!rc) {
			vlog_info("vm %s: %zu reservations from the state store", vm->name, vm->nr_rsv);
		}
		d->vms[d->nr_vms++] = vm;
		event_active(io->retry, EV_TIMEOUT, 0);
	}
	if (a->qmp_path && balloon_set_qmp(vm, a->qmp_path))
		return -ENOMEM;
	if (balloon_set_pinned(vm, a->pin_reason) ||
	    balloon_set_unshared(vm, a->unshared_reason))
		return -ENOMEM;
	vm->source = a->source;
	vm->hooks = a->hooks;
	vm->hook_opaque = a->opaque;
	if (a->desired) {
		rc = vcma_vm_set_desired(vm, a->desired);
		if (rc)
			vlog_err("vm %s: desired state from its source refused: %s", vm->name,
				 strerror(-rc));
		vcmad_commit(d, vm, true);
	}
	if (out)
		*out = vm;
	return 0;
}

static void vm_destroy(struct vcmad *d, struct vcma_vm *vm)
{
	struct vm_io *io = vm->io;

	if (vm->dirty && store_save(d->cfg->state_dir, vm, d->cfg->fsync))
		vlog_err("vm %s: state not saved on detach", vm->name);
	if (vm->hooks && vm->hooks->detached)
		vm->hooks->detached(vm, vm->hook_opaque);
	if (io) {
		io_close(io, "detached");
		event_free(io->retry);
		free(io);
	}
	vm_free(vm);
}

int vcmad_vm_detach(struct vcmad *d, const char *name)
{
	for (size_t i = 0; i < d->nr_vms; i++) {
		if (strcmp(d->vms[i]->name, name))
			continue;
		vlog_info("vm %s: detached", name);
		vm_destroy(d, d->vms[i]);
		memmove(&d->vms[i], &d->vms[i + 1], (d->nr_vms - i - 1) * sizeof(d->vms[0]));
		d->nr_vms--;
		return 0;
	}
	return -ENOENT;
}

/* ---- main ---------------------------------------------------------------------- */

static void on_signal(evutil_socket_t sig, short what, void *arg)
{
	struct vcmad *d = arg;

	(void)what;
	vlog_info("signal %d: shutting down", (int)sig);
	event_base_loopexit(d->base, NULL);
}

int main(int argc, char **argv)
{
	struct vcmad_config cfg;
	struct vcmad d = { 0 };
	struct timeval tick = { 0, TICK_MS * 1000 };
	char err[512];
	int rc, status = 1;

	config_init(&cfg);
	rc = config_parse_args(&cfg, argc, argv, err, sizeof(err));
	if (rc) {
		if (rc < 0)
			fprintf(stderr, "vcmad: %s\n", err);
		config_free(&cfg);
		return rc < 0 ? 2 : 0;
	}
	vlog_set_level((enum vlog_level)cfg.log_level);
	signal(SIGPIPE, SIG_IGN);
	d.cfg = &cfg;
	d.started_ms = vcmad_now_ms();
	rc = store_init(cfg.state_dir);
	if (rc) {
		vlog_err("state directory %s: %s", cfg.state_dir, strerror(-rc));
		goto out;
	}
	d.base = event_base_new();
	if (!d.base)
		goto out;
	if (api_new(&d, &d.api, err, sizeof(err))) {
		vlog_err("API socket %s: %s", cfg.api_socket, err);
		goto out;
	}
	for (size_t i = 0; i < cfg.nr_vms; i++) {
		struct vcma_vm_attach a = {
			.name = cfg.vms[i].name,
			.channel_path = cfg.vms[i].channel,
			.source = VCMA_VM_SRC_CLI,
			.qmp_path = cfg.vms[i].qmp,
		};

		rc = vcmad_vm_attach(&d, &a, NULL);
		if (rc) {
			vlog_err("vm %s: %s", a.name, strerror(-rc));
			goto out;
		}
	}
	if (cfg.libvirt) {
#ifdef HAVE_LIBVIRT
		struct vcma_libvirt_conf lc = { cfg.libvirt_uri, VCMA_PORT_NAME };

		if (vcma_libvirt_new(&d, &lc, &d.lv))
			goto out;
#else
		vlog_err("libvirt support is not built in (rebuild with libvirt-dev installed)");
		goto out;
#endif
	}
	d.tick = event_new(d.base, -1, EV_PERSIST, on_tick, &d);
	d.sig_int = evsignal_new(d.base, SIGINT, on_signal, &d);
	d.sig_term = evsignal_new(d.base, SIGTERM, on_signal, &d);
	event_add(d.tick, &tick);
	event_add(d.sig_int, NULL);
	event_add(d.sig_term, NULL);
	vlog_info("vcmad %s serving %zu VMs, API on %s, state in %s", VCMA_VERSION, d.nr_vms,
		  cfg.api_socket, cfg.state_dir);
	event_base_dispatch(d.base);
	status = 0;
out:
#ifdef HAVE_LIBVIRT
	if (d.lv)
		vcma_libvirt_free(d.lv);
#endif
	while (d.nr_vms) {
		vm_destroy(&d, d.vms[--d.nr_vms]);
	}
	free(d.vms);
	api_free(d.api);
	if (d.tick)
		event_free(d.tick);
	if (d.sig_int)
		event_free(d.sig_int);
	if (d.sig_term)
		event_free(d.sig_term);
	if (d.base)
		event_base_free(d.base);
	config_free(&cfg);
	libevent_global_shutdown();
	return status;
}
