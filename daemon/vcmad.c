/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * vcmad main: configuration, the event loop, the VM registry and the channel
 * IO of every VM. The callbacks here only move bytes and time into vm.c and
 * act on its verdict (vm->drop); a VM's trouble never reaches another VM
 * because each has its own bounded buffers and its own reconnect timer.
 */
#include <errno.h>
#include <inttypes.h>
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
#include "notify.h"
#include "stats.h"
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
		vlog_vm_debug(vm->name, "cannot connect to %s: %s (retry in %u ms)",
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
	vlog_vm_info(vm->name, "connected to channel %s", vm->channel);
	vm_session_start(vm, vcmad_now_ms());
	vcmad_commit(io->d, vm, false);
}

static char save_error[320];

const char *vcmad_save_error(const struct vcmad *d)
{
	(void)d;
	return save_error;
}

/* Write vm's state; a failure is counted, logged when it starts and when it ends. */
static int save_vm(struct vcmad *d, struct vcma_vm *vm)
{
	int rc;

	if (vm->unmanaged[0])
		return 0;	/* nothing of ours to write: never replace what was set aside */
	rc = store_save(d->cfg->state_dir, vm, d->cfg->fsync);
	if (rc) {
		d->save_errors++;
		snprintf(save_error, sizeof(save_error), "cannot save the state of vm %s in %s: %s",
			 vm->name, d->cfg->state_dir, strerror(-rc));
		if (!d->save_failing)
			vlog_err("%s (retried every tick; metric vcmad_store_save_errors_total)",
				 save_error);
		d->save_failing = true;
		vm->unsaved = true;
		return rc;
	}
	if (d->save_failing)
		vlog_vm_info(vm->name, "state saved in %s again", d->cfg->state_dir);
	d->save_failing = false;
	vm->dirty = false;
	vm->unsaved = false;
	return 0;
}

int vcmad_commit(struct vcmad *d, struct vcma_vm *vm, bool save_now)
{
	struct vm_io *io = vm->io;
	int rc = 0;

	if (vm->dirty && (save_now || vm->desired_changed))
		rc = save_vm(d, vm);
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
		vlog_vm_always(VLOG_WARN, vm->name, "disconnecting guest: %s", vm->drop_reason);
		io_close(io, vm->drop_reason);
		schedule_connect(io);
	}
	return rc;
}

/* STATUS= for systemctl status, sent when it changes. */
static void notify_status(struct vcmad *d)
{
	char st[sizeof(d->notify_status)];
	size_t ready = 0, unmanaged = 0;

	for (size_t i = 0; i < d->nr_vms; i++) {
		ready += d->vms[i]->conn == VM_READY;
		unmanaged += d->vms[i]->unmanaged[0] != 0;
	}
	snprintf(st, sizeof(st), "serving %zu VMs, %zu connected%s%s", d->nr_vms, ready,
		 unmanaged ? ", some unmanaged (state file set aside)" : "",
		 d->save_failing ? "; state not saved (see the log)" : "");
	if (strcmp(st, d->notify_status)) {
		memcpy(d->notify_status, st, sizeof(st));
		notify_sendf("STATUS=%s", st);
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
	vlog_vm_flush();
	notify_status(d);
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

/*
 * vm's state from the store. An unusable file is never served as empty
 * state (that would re-request nothing and adopt the guest's grants as its
 * own): it is kept aside as .corrupt-TIMESTAMP and the VM is served from its
 * source's desired state when the source has one (libvirt metadata), or left
 * unmanaged, not even connected, until vm-KEY.json exists again or the
 * copies set aside are removed (then SIGHUP or a restart).
 */
static void load_state(struct vcmad *d, struct vcma_vm *vm, bool source_has_desired)
{
	const char *dir = d->cfg->state_dir;
	char err[256] = "", aside[4200];
	int rc;

	vm->unmanaged[0] = 0;
	rc = store_adopt_legacy(dir, vm);
	if (rc > 0)
		vlog_vm_info(vm->name, "state file vm-%s.json is now vm-%s.json (keyed by libvirt UUID)",
			     vm->name, vm->uuid);
	else if (rc < 0)
		vlog_vm_err(vm->name, "cannot rename vm-%s.json to vm-%s.json: %s", vm->name,
			 vm->uuid, strerror(-rc));
	rc = store_load(dir, vm, err, sizeof(err));
	if (!rc) {
		vlog_vm_info(vm->name, "%zu reservations and %zu balloon chunks from the state store",
			     vm->nr_rsv, vm->bal->nr_chunks);
		return;
	}
	if (rc == -ENOENT) {
		if (store_set_aside_exists(dir, store_key(vm), aside, sizeof(aside)) && !source_has_desired)
			snprintf(vm->unmanaged, sizeof(vm->unmanaged), "its state file was set aside "
				 "as %s earlier; remove that copy (or put a good vm-%s.json in place) "
				 "and reload vcmad (SIGHUP) to manage it again", aside, store_key(vm));
		if (vm->unmanaged[0])
			vlog_vm_err(vm->name, "unmanaged: %s", vm->unmanaged);
		return;
	}
	rc = store_set_aside(dir, vm, aside, sizeof(aside));
	if (rc)
		snprintf(aside, sizeof(aside), "vm-%s.json (could not rename it: %s)", store_key(vm),
			 strerror(-rc));
	if (source_has_desired) {
		vlog_vm_err(vm->name, "state file unusable (%s); kept as %s; serving the VM from its "
			 "desired state in libvirt metadata", err, aside);
		return;
	}
	snprintf(vm->unmanaged, sizeof(vm->unmanaged), "state file unusable (%s), kept as %s; "
		 "vcmad leaves the VM and its guest alone until it is fixed or removed and vcmad "
		 "reloads (SIGHUP) or restarts", err, aside);
	vlog_vm_err(vm->name, "unmanaged: %s", vm->unmanaged);
}

/* SIGHUP: an unmanaged VM whose state the operator restored or discarded is served again. */
static void retry_unmanaged(struct vcmad *d, struct vcma_vm *vm)
{
	struct vm_io *io = vm->io;

	load_state(d, vm, false);
	if (vm->unmanaged[0])
		return;
	vlog_vm_info(vm->name, "managed again");
	io->backoff_ms = d->cfg->reconnect_min_ms;
	event_active(io->retry, EV_TIMEOUT, 0);
}

int vcmad_vm_attach(struct vcmad *d, const struct vcma_vm_attach *a, struct vcma_vm **out)
{
	struct vcma_vm *vm = a->name ? vcmad_vm_lookup(d, a->name) : NULL;
	struct vm_io *io;
	int rc;

	if (!a->name || !vm_name_valid(a->name) || !a->channel_path || !*a->channel_path ||
	    strlen(a->channel_path) >= sizeof(((struct sockaddr_un *)0)->sun_path) ||
	    (a->uuid && strlen(a->uuid) != VCMA_VM_UUID_LEN) || (a->uuid && strchr(a->uuid, '/')))
		return -EINVAL;
	if (vm) {
		io = vm->io;
		if (vm->unmanaged[0] && (a->desired || a->source_has_desired)) {
			/* its source now has desired state to serve it from */
			vlog_vm_info(vm->name, "managed again, from its source's desired state");
			vm->unmanaged[0] = 0;
			event_active(io->retry, EV_TIMEOUT, 0);
		}
		if (strcmp(vm->channel, a->channel_path)) {
			if (vm_set_channel(vm, a->channel_path))
				return -ENOMEM;
			vlog_vm_info(vm->name, "channel moved to %s", vm->channel);
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
		if (a->uuid)
			snprintf(vm->uuid, sizeof(vm->uuid), "%s", a->uuid);
		load_state(d, vm, a->desired || a->source_has_desired);
		d->vms[d->nr_vms++] = vm;
		if (!vm->unmanaged[0])
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
		vm->unmanaged[0] = 0;
		rc = vcma_vm_set_desired(vm, a->desired);
		if (rc)
			vlog_vm_err(vm->name, "desired state from its source refused: %s",
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

	if (vm->dirty && save_vm(d, vm))
		vlog_vm_err(vm->name, "state not saved on detach");
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
		vlog_vm_info(name, "detached");
		vm_destroy(d, d->vms[i]);
		memmove(&d->vms[i], &d->vms[i + 1], (d->nr_vms - i - 1) * sizeof(d->vms[0]));
		d->nr_vms--;
		return 0;
	}
	return -ENOENT;
}

void vcma_vm_set_suspended(struct vcma_vm *vm, bool suspended)
{
	vm_set_suspended(vm, suspended, vcmad_now_ms());
}

int vcmad_vm_forget(struct vcmad *d, const char *name, const char *uuid)
{
	struct vcma_vm *vm = name ? vcmad_vm_lookup(d, name) : NULL;
	bool config_vm = vm && vm->source != VCMA_VM_SRC_LIBVIRT;
	int r1 = 0, r2 = 0;

	if (config_vm)
		return -EPERM;	/* a libvirt domain of a config VM's name: not the same VM */
	if (vm)
		vcmad_vm_detach(d, name);
	if (uuid)
		r1 = store_remove(d->cfg->state_dir, uuid);
	if (name)
		r2 = store_remove(d->cfg->state_dir, name);	/* from before UUID keys */
	if (r1 < 0 || r2 < 0) {
		vlog_vm_err(name ? name : uuid, "cannot remove its state: %s",
			 strerror(-(r1 < 0 ? r1 : r2)));
		return r1 < 0 ? r1 : r2;
	}
	if (r1 > 0 || r2 > 0)
		vlog_vm_info(name ? name : uuid, "undefined: its state is removed");
	return 0;
}

/* ---- main ---------------------------------------------------------------------- */

static void on_signal(evutil_socket_t sig, short what, void *arg)
{
	struct vcmad *d = arg;

	(void)what;
	vlog_info("signal %d: shutting down", (int)sig);
	notify_send("STOPPING=1");
	event_base_loopexit(d->base, NULL);
}

static bool str_differs(const char *a, const char *b)
{
	return !a != !b || (a && strcmp(a, b));
}

/* A key that needs a restart keeps its value; say so if the file changed it. */
static void keep_str(char **now, char **want, const char *key)
{
	char *t;

	if (str_differs(*now, *want))
		vlog_warn("reload: %s changed; it takes effect at the next restart", key);
	t = *now;
	*now = *want;
	*want = t;
}

/* [vm.NAME] balloon_stats_interval_s of the configured VMs (REST may change it later). */
static void apply_stats_intervals(struct vcmad *d, const struct vcmad_config *cfg)
{
	for (size_t i = 0; i < cfg->nr_vms; i++) {
		struct vcma_vm *vm = vcmad_vm_lookup(d, cfg->vms[i].name);

		if (vm && cfg->vms[i].stats_interval_s >= 0)
			bstats_set_interval(vm, (uint32_t)cfg->vms[i].stats_interval_s,
					    vcmad_now_ms());
	}
}

/* The VMs of the command line and the config file: add, update and remove as listed now. */
static void reload_vms(struct vcmad *d, const struct vcmad_config *old, const struct vcmad_config *n)
{
	for (size_t i = 0; i < old->nr_vms; i++) {
		bool kept = false;

		for (size_t j = 0; j < n->nr_vms && !kept; j++)
			kept = !strcmp(old->vms[i].name, n->vms[j].name);
		if (!kept && !vcmad_vm_detach(d, old->vms[i].name))
			vlog_info("reload: vm %s is no longer configured (its state stays in the store)",
				  old->vms[i].name);
	}
	for (size_t j = 0; j < n->nr_vms; j++) {
		struct vcma_vm *vm = vcmad_vm_lookup(d, n->vms[j].name);
		int rc;

		if (vm && vm->source == VCMA_VM_SRC_LIBVIRT) {
			vlog_err("reload: vm %s: a libvirt domain of that name is served; not added",
				 n->vms[j].name);
			continue;
		}
		if (vm && !strcmp(vm->channel, n->vms[j].channel) &&
		    !str_differs(vm->bal->qmp_path, n->vms[j].qmp))
			continue;
		rc = vcmad_vm_attach(d, &(struct vcma_vm_attach){
			.name = n->vms[j].name,
			.channel_path = n->vms[j].channel,
			.source = VCMA_VM_SRC_CLI,
			.qmp_path = n->vms[j].qmp,
		}, NULL);
		if (rc)
			vlog_err("reload: vm %s: %s", n->vms[j].name, strerror(-rc));
		else
			vlog_info("reload: vm %s %s", n->vms[j].name, vm ? "updated" : "added");
	}
	apply_stats_intervals(d, n);
}

/*
 * SIGHUP: read the configuration again (file and flags, as at start) and
 * apply what can change while running: log_level, log_rate, log_burst, fsync, reconnect_*_ms,
 * [limits] (except max_inflight), api_group and api_read_group, [balloon]
 * libvirt_fallback and the [vm.NAME] sections; unmanaged VMs are looked at
 * again. api_socket, state_dir, [libvirt] and max_inflight need a restart.
 * A configuration that does not parse changes nothing.
 */
static void reload(struct vcmad *d)
{
	struct vcmad_config n, *c = d->cfg;
	char err[512];
	int rc;

	notify_send("RELOADING=1");
	config_init(&n);
	rc = config_parse_args(&n, d->argc, d->argv, err, sizeof(err));
	if (!rc && api_set_groups(d->api, n.api_group, n.api_read_group, err, sizeof(err)))
		rc = -1;
	if (rc) {
		d->reload_errors++;
		vlog_err("reload: %s; the running configuration is kept", rc < 0 ? err : "nothing to do");
		config_free(&n);
		notify_send("READY=1");
		return;
	}
	keep_str(&n.api_socket, &c->api_socket, "api_socket");
	keep_str(&n.state_dir, &c->state_dir, "state_dir");
	keep_str(&n.libvirt_uri, &c->libvirt_uri, "[libvirt] connect");
	if (n.libvirt != c->libvirt)
		vlog_warn("reload: [libvirt] enabled changed; it takes effect at the next restart");
	n.libvirt = c->libvirt;
	if (n.lim.max_inflight != c->lim.max_inflight)
		vlog_warn("reload: max_inflight changed; it takes effect at the next restart");
	n.lim.max_inflight = c->lim.max_inflight;
	reload_vms(d, c, &n);
	{
		/* in place: every VM points at c->lim */
		struct vcmad_config old = *c;

		*c = n;
		n = old;
	}
	config_free(&n);
	vlog_set_level((enum vlog_level)c->log_level);
	vlog_set_vm_rate(c->log_rate, c->log_burst);
	for (size_t i = 0; i < d->nr_vms; i++)
		if (d->vms[i]->unmanaged[0])
			retry_unmanaged(d, d->vms[i]);
	d->reloads++;
	vlog_info("reload: configuration%s%s applied (log level %s)", c->config_file ? " " : "",
		  c->config_file ? c->config_file : "", c->log_level == VLOG_DEBUG ? "debug" :
		  c->log_level == VLOG_INFO ? "info" : c->log_level == VLOG_WARN ? "warn" : "error");
	d->notify_status[0] = 0;	/* send STATUS= again */
	notify_send("READY=1");
}

static void on_hup(evutil_socket_t sig, short what, void *arg)
{
	(void)sig;
	(void)what;
	reload(arg);
}

static void on_watchdog(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	(void)arg;
	notify_send("WATCHDOG=1");
}

int main(int argc, char **argv)
{
	struct vcmad_config cfg;
	struct vcmad d = { 0 };
	struct timeval tick = { 0, TICK_MS * 1000 };
	char err[512];
	int rc, status = 1;

	config_init(&cfg);
	d.lock_fd = -1;
	d.argc = argc;
	d.argv = argv;
	rc = config_parse_args(&cfg, argc, argv, err, sizeof(err));
	if (rc) {
		if (rc < 0)
			fprintf(stderr, "vcmad: %s\n", err);
		config_free(&cfg);
		return rc < 0 ? 2 : 0;
	}
	vlog_set_level((enum vlog_level)cfg.log_level);
	vlog_set_vm_rate(cfg.log_rate, cfg.log_burst);
	signal(SIGPIPE, SIG_IGN);
	d.cfg = &cfg;
	d.started_ms = vcmad_now_ms();
	rc = store_init(cfg.state_dir);
	if (rc) {
		vlog_err("state directory %s: %s", cfg.state_dir, strerror(-rc));
		goto out;
	}
	d.lock_fd = store_lock(cfg.state_dir, err, sizeof(err));
	if (d.lock_fd < 0) {
		vlog_err("%s", err);
		if (d.lock_fd == -EBUSY)
			status = VCMAD_EXIT_RUNNING;
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
		struct vcma_vm *vm;

		rc = vcmad_vm_attach(&d, &a, &vm);
		if (rc) {
			vlog_vm_err(a.name, "%s", strerror(-rc));
			goto out;
		}
		balloon_set_pressure_backoff(vm, cfg.vms[i].pressure_backoff_ms);
	}
	apply_stats_intervals(&d, &cfg);
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
	d.sig_hup = evsignal_new(d.base, SIGHUP, on_hup, &d);
	event_add(d.tick, &tick);
	event_add(d.sig_int, NULL);
	event_add(d.sig_term, NULL);
	event_add(d.sig_hup, NULL);
	if (notify_watchdog_usec()) {
		/* twice per interval, from the loop: a loop that hangs stops the pings */
		uint64_t half = notify_watchdog_usec() / 2;
		struct timeval wd = { (time_t)(half / 1000000), (suseconds_t)(half % 1000000) };

		d.watchdog = event_new(d.base, -1, EV_PERSIST, on_watchdog, &d);
		event_add(d.watchdog, &wd);
		vlog_info("watchdog: WATCHDOG=1 every %" PRIu64 " ms", half / 1000);
	}
	vlog_info("vcmad %s serving %zu VMs, API on %s, state in %s", VCMA_VERSION, d.nr_vms,
		  cfg.api_socket, cfg.state_dir);
	notify_status(&d);
	notify_sendf("READY=1\nMAINPID=%d", (int)getpid());
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
	if (d.sig_hup)
		event_free(d.sig_hup);
	if (d.watchdog)
		event_free(d.watchdog);
	if (d.lock_fd >= 0)
		close(d.lock_fd);
	if (d.base)
		event_base_free(d.base);
	config_free(&cfg);
	libevent_global_shutdown();
	return status;
}
