/* SPDX-License-Identifier: MIT */
/*
 * The libvirt connection and domain discovery (see libvirt_meta.h).
 *
 * State machine of the connection: DOWN -> (open ok) UP -> (close callback:
 * libvirtd went away, keepalive timed out) DOWN -> retry after a backoff
 * that doubles up to backoff_max. While DOWN, attached domains stay
 * attached: their sessions run over QEMU's sockets, not over libvirt. On
 * every UP, all running domains are rescanned and domains that vanished
 * meanwhile are detached.
 *
 * A domain is tracked from the moment it is seen running with a usable
 * channel until it stops; the sink only hears about changes (new channel
 * path, new desired state), so repeated events are harmless.
 *
 * libvirt may not be re-entered from its close callback, so the callback
 * only activates `reconnect_ev`; the teardown runs on the next loop turn.
 *
 * virConnectOpen blocks until libvirtd answers, which a hung or slowly
 * starting libvirtd may never do; the loop must keep serving sessions
 * meanwhile, so every open runs on a short-lived thread of its own and
 * hands the connection back over a socketpair (`open_fd`). The first open
 * is waited for briefly so that a wrong URI is reported at startup.
 */
#include "libvirt_meta.h"
#include "libvirt_events.h"
#include "log.h"

#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <event2/event.h>
#include <libvirt/libvirt.h>
#include <libvirt/virterror.h>

#define DEFAULT_URI "qemu:///system"
#define FIRST_OPEN_WAIT_MS 5000

struct tracked {
	char name[VCMA_VM_NAME_MAX + 1];
	char uuid[VIR_UUID_STRING_BUFLEN];
	char path[VCMA_LV_PATHLEN];
	char qmp[VCMA_LV_PATHLEN];	/* "" = none */
	char pin[VCMA_LV_ERRLEN];	/* why host reclaim is refused, "" = not pinned */
	char unshared[VCMA_LV_ERRLEN];	/* why host reclaim is impossible, "" = shared RAM */
	bool has_desired;
	bool paused;		/* paused or suspended to RAM */
	bool seen;		/* found by the scan in progress */
	struct vcma_lv_desired desired;
};

enum { CB_LIFECYCLE, CB_DEV_ADDED, CB_DEV_REMOVED, CB_METADATA, CB_COUNT };

struct vcma_lv_conn {
	struct event_base *base;
	char *uri;
	char *port_name;
	unsigned ka_interval, ka_count;
	unsigned backoff_min, backoff_max, backoff;
	struct vcma_lv_sink sink;
	void *opaque;

	virConnectPtr conn;		/* NULL while DOWN */
	int cb_id[CB_COUNT];
	bool close_cb_registered;
	unsigned generation;
	struct event *reconnect_ev;	/* teardown + retry timer */
	int open_fd;			/* an open in flight: our end, else -1 */
	struct event *open_ev;

	struct tracked *dom;
	size_t nr_dom, cap_dom;
};

static void balloon_from_metadata(virDomainPtr dom, const char *name, const char *xml);

static const char *lv_err(void)
{
	const char *m = virGetLastErrorMessage();

	return m ? m : "unknown libvirt error";
}

/* libvirt prints every error on stderr by default; vcmad logs where it handles them. */
static void quiet_errors(void *opaque, virErrorPtr e)
{
	(void)opaque;
	(void)e;
}

static bool vm_name_ok(const char *s)
{
	size_t n = strlen(s);

	if (n == 0 || n > VCMA_VM_NAME_MAX)
		return false;
	for (; *s; s++)
		if (!((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') ||
		      (*s >= '0' && *s <= '9') || *s == '_' || *s == '.' || *s == '-'))
			return false;
	return true;
}

static struct tracked *find_tracked(struct vcma_lv_conn *c, const char *uuid)
{
	for (size_t i = 0; i < c->nr_dom; i++)
		if (strcmp(c->dom[i].uuid, uuid) == 0)
			return &c->dom[i];
	return NULL;
}

static void forget(struct vcma_lv_conn *c, struct tracked *t, const char *why)
{
	char name[sizeof(t->name)];

	memcpy(name, t->name, sizeof(name));
	*t = c->dom[--c->nr_dom];
	vlog_info("libvirt: domain '%s' %s: detaching", name, why);
	c->sink.detach(name, c->opaque);
}

static void forget_uuid(struct vcma_lv_conn *c, const char *uuid, const char *why)
{
	struct tracked *t = find_tracked(c, uuid);

	if (t)
		forget(c, t, why);
}

static struct tracked *track(struct vcma_lv_conn *c, const char *uuid)
{
	struct tracked *t = find_tracked(c, uuid);

	if (t)
		return t;
	if (c->nr_dom == c->cap_dom) {
		size_t cap = c->cap_dom ? c->cap_dom * 2 : 8;
		struct tracked *n = realloc(c->dom, cap * sizeof(*n));

		if (!n)
			return NULL;
		c->dom = n;
		c->cap_dom = cap;
	}
	t = &c->dom[c->nr_dom++];
	memset(t, 0, sizeof(*t));
	memcpy(t->uuid, uuid, sizeof(t->uuid));
	return t;
}

/*
 * Reads one domain and brings the sink in line with it. The live XML holds
 * both the channel (with the socket path libvirt generated if the
 * definition left it out) and the live <metadata>.
 */
static void refresh_domain(struct vcma_lv_conn *c, virDomainPtr dom)
{
	char uuid[VIR_UUID_STRING_BUFLEN], path[VCMA_LV_PATHLEN], err[VCMA_LV_ERRLEN];
	char qmp[VCMA_LV_PATHLEN], pin[VCMA_LV_ERRLEN], unshared[VCMA_LV_ERRLEN];
	const char *name = virDomainGetName(dom);
	struct vcma_lv_desired desired;
	bool has_desired = false, paused = false;
	struct tracked *t;
	char *xml = NULL;
	int r, state;

	if (!name || virDomainGetUUIDString(dom, uuid) < 0)
		return;
	if (virDomainIsActive(dom) != 1) {
		forget_uuid(c, uuid, "is not running");
		return;
	}
	xml = virDomainGetXMLDesc(dom, 0);
	if (!xml) {
		vlog_warn("libvirt: domain '%s': cannot read its XML: %s", name, lv_err());
		return;
	}
	r = vcma_lv_find_channel(xml, c->port_name, path, err);
	if (r <= 0) {
		if (r < 0)
			vlog_err("libvirt: domain '%s': %s", name, err);
		else
			vlog_debug("libvirt: domain '%s' has no channel '%s'", name, c->port_name);
		forget_uuid(c, uuid, "has no usable vcma channel");
		if (r == 0)
			balloon_from_metadata(dom, name, xml);
		goto out;
	}
	if (!vm_name_ok(name)) {
		vlog_err("libvirt: domain '%s' has the vcma channel but its name is not a vcma "
			 "VM name (1-%d of A-Z a-z 0-9 _ . -); not served", name, VCMA_VM_NAME_MAX);
		goto out;
	}
	r = vcma_lv_parse_desired(xml, &desired, err);
	if (r < 0)
		vlog_err("libvirt: domain '%s': %s; served without desired state from "
			 "libvirt metadata", name, err);
	has_desired = r > 0;
	if (vcma_lv_find_qmp(xml, qmp, err) < 0)
		vlog_err("libvirt: domain '%s': %s; no host reclaim for its balloon", name, err);
	/* unknown counts as pinned: a wrong guess here corrupts a device's DMA */
	if (vcma_lv_find_pinning(xml, pin, err) < 0)
		snprintf(pin, sizeof(pin), "host reclaim refused: cannot tell whether the "
			 "domain's memory is pinned");
	if (vcma_lv_find_unshared(xml, unshared, err) < 0)
		unshared[0] = '\0';	/* malformed was refused by the channel lookup already */
	if (virDomainGetState(dom, &state, NULL, 0) == 0)
		paused = state == VIR_DOMAIN_PAUSED || state == VIR_DOMAIN_PMSUSPENDED;

	t = find_tracked(c, uuid);
	if (t) {
		t->seen = true;
		if (strcmp(t->path, path) == 0 && strcmp(t->name, name) == 0 &&
		    strcmp(t->qmp, qmp) == 0 && strcmp(t->pin, pin) == 0 &&
		    strcmp(t->unshared, unshared) == 0 && t->paused == paused &&
		    t->has_desired == has_desired &&
		    (!has_desired || vcma_lv_desired_equal(&t->desired, &desired)))
			goto out;
	} else {
		t = track(c, uuid);
		if (!t) {
			vlog_err("libvirt: domain '%s': out of memory", name);
			goto out;
		}
		t->seen = true;
	}
	snprintf(t->name, sizeof(t->name), "%s", name);
	memcpy(t->path, path, sizeof(t->path));
	memcpy(t->qmp, qmp, sizeof(t->qmp));
	memcpy(t->pin, pin, sizeof(t->pin));
	memcpy(t->unshared, unshared, sizeof(t->unshared));
	t->has_desired = has_desired;
	t->desired = desired;
	t->paused = paused;
	vlog_info("libvirt: domain '%s' has channel %s%s%s%s: attaching%s%s", name, path,
		  has_desired ? " and vcma metadata" : "", qmp[0] ? ", QMP " : "", qmp,
		  pin[0] ? "; " : "", pin);
	c->sink.attach(&(struct vcma_lv_domain){
		.name = t->name,
		.uuid = t->uuid,
		.channel_path = t->path,
		.qmp_path = t->qmp[0] ? t->qmp : NULL,
		.desired = has_desired ? &t->desired : NULL,
		.pin_reason = t->pin[0] ? t->pin : NULL,
		.unshared_reason = t->unshared[0] ? t->unshared : NULL,
		.paused = t->paused,
	}, c->opaque);
out:
	free(xml);
}

static int scan_all(struct vcma_lv_conn *c)
{
	virDomainPtr *doms = NULL;
	int n;

	n = virConnectListAllDomains(c->conn, &doms, VIR_CONNECT_LIST_DOMAINS_ACTIVE);
	if (n < 0) {
		vlog_err("libvirt: cannot list domains: %s", lv_err());
		return -EIO;
	}
	for (size_t i = 0; i < c->nr_dom; i++)
		c->dom[i].seen = false;
	for (int i = 0; i < n; i++) {
		refresh_domain(c, doms[i]);
		virDomainFree(doms[i]);
	}
	free(doms);
	for (size_t i = c->nr_dom; i-- > 0;)
		if (!c->dom[i].seen)
			forget(c, &c->dom[i], "is gone");
	return 0;
}

/*
 * Undefined while not running, or a transient domain that stopped (libvirt
 * has forgotten it): its state has no use any more. A running domain that
 * was undefined is transient now and goes when it stops.
 */
static bool gone_for_good(virDomainPtr dom, int event)
{
	int r;

	/* either answer may be "no such domain" (-1): libvirt has forgotten it */
	if (event == VIR_DOMAIN_EVENT_UNDEFINED)
		r = virDomainIsActive(dom);
	else if (event == VIR_DOMAIN_EVENT_STOPPED)
		r = virDomainIsPersistent(dom);
	else
		return false;
	return r == 0 || (r < 0 && virGetLastErrorCode() == VIR_ERR_NO_DOMAIN);
}

static int on_lifecycle(virConnectPtr conn, virDomainPtr dom, int event, int detail,
			void *opaque)
{
	struct vcma_lv_conn *c = opaque;
	char uuid[VIR_UUID_STRING_BUFLEN];

	(void)conn;
	(void)detail;	/* STARTED/STOPPED with detail MIGRATED are handled alike */
	switch (event) {
	case VIR_DOMAIN_EVENT_STARTED:
	case VIR_DOMAIN_EVENT_RESUMED:
	case VIR_DOMAIN_EVENT_SUSPENDED:
	case VIR_DOMAIN_EVENT_PMSUSPENDED:
		refresh_domain(c, dom);
		break;
	case VIR_DOMAIN_EVENT_STOPPED:
	case VIR_DOMAIN_EVENT_CRASHED:
	case VIR_DOMAIN_EVENT_UNDEFINED:
		if (virDomainGetUUIDString(dom, uuid) < 0)
			break;
		forget_uuid(c, uuid, event == VIR_DOMAIN_EVENT_CRASHED ? "crashed" : "stopped");
		if (c->sink.undefined && gone_for_good(dom, event))
			c->sink.undefined(virDomainGetName(dom), uuid, c->opaque);
		break;
	default:
		break;
	}
	return 0;
}

static void on_device(virConnectPtr conn, virDomainPtr dom, const char *alias, void *opaque)
{
	(void)conn;
	(void)alias;
	refresh_domain(opaque, dom);
}

static void on_metadata(virConnectPtr conn, virDomainPtr dom, int type, const char *nsuri,
			void *opaque)
{
	(void)conn;
	if (type == VIR_DOMAIN_METADATA_ELEMENT && nsuri && strcmp(nsuri, VCMA_LV_NS_URI) == 0)
		refresh_domain(opaque, dom);
}

static void on_close(virConnectPtr conn, int reason, void *opaque)
{
	struct vcma_lv_conn *c = opaque;
	static const char *const why[] = { "an error", "end of file", "keepalive timeout",
					   "a client request" };

	(void)conn;
	vlog_warn("libvirt: connection to %s closed by %s; attached domains stay served, "
		  "reconnecting", c->uri,
		  reason >= 0 && reason < 4 ? why[reason] : "an unknown reason");
	event_active(c->reconnect_ev, EV_TIMEOUT, 0);
}

static void teardown(struct vcma_lv_conn *c)
{
	if (!c->conn)
		return;
	for (int i = 0; i < CB_COUNT; i++) {
		if (c->cb_id[i] >= 0)
			virConnectDomainEventDeregisterAny(c->conn, c->cb_id[i]);
		c->cb_id[i] = -1;
	}
	if (c->close_cb_registered)
		virConnectUnregisterCloseCallback(c->conn, on_close);
	c->close_cb_registered = false;
	virConnectClose(c->conn);
	c->conn = NULL;
}

static int subscribe(struct vcma_lv_conn *c)
{
	static const int ids[CB_COUNT] = {
		[CB_LIFECYCLE] = VIR_DOMAIN_EVENT_ID_LIFECYCLE,
		[CB_DEV_ADDED] = VIR_DOMAIN_EVENT_ID_DEVICE_ADDED,
		[CB_DEV_REMOVED] = VIR_DOMAIN_EVENT_ID_DEVICE_REMOVED,
		[CB_METADATA] = VIR_DOMAIN_EVENT_ID_METADATA_CHANGE,
	};
	const virConnectDomainEventGenericCallback fns[CB_COUNT] = {
		[CB_LIFECYCLE] = VIR_DOMAIN_EVENT_CALLBACK(on_lifecycle),
		[CB_DEV_ADDED] = VIR_DOMAIN_EVENT_CALLBACK(on_device),
		[CB_DEV_REMOVED] = VIR_DOMAIN_EVENT_CALLBACK(on_device),
		[CB_METADATA] = VIR_DOMAIN_EVENT_CALLBACK(on_metadata),
	};

	for (int i = 0; i < CB_COUNT; i++) {
		c->cb_id[i] = virConnectDomainEventRegisterAny(c->conn, NULL, ids[i], fns[i],
								c, NULL);
		/* Older drivers lack some events; lifecycle is the one we cannot do without. */
		if (c->cb_id[i] < 0 && i == CB_LIFECYCLE) {
			vlog_err("libvirt: cannot subscribe to domain lifecycle events: %s",
				 lv_err());
			return -EIO;
		}
		if (c->cb_id[i] < 0)
			vlog_warn("libvirt: domain event %d not available: %s", ids[i], lv_err());
	}
	return 0;
}

/*
 * The embedded driver runs domains inside this process and does not start
 * autostart domains by itself; vcmad is their host process, so it does,
 * once, when it first connects (scripts/demo defines the domain with
 * autostart and lets vcmad boot it).
 */
static void autostart_embedded(struct vcma_lv_conn *c)
{
	virDomainPtr *doms = NULL;
	int n;

	if (c->generation || strncmp(c->uri, "qemu:///embed", strlen("qemu:///embed")) != 0)
		return;
	n = virConnectListAllDomains(c->conn, &doms, VIR_CONNECT_LIST_DOMAINS_INACTIVE |
				     VIR_CONNECT_LIST_DOMAINS_AUTOSTART);
	for (int i = 0; i < n; i++) {
		const char *name = virDomainGetName(doms[i]);

		if (virDomainCreate(doms[i]) < 0)
			vlog_err("libvirt: cannot start autostart domain '%s': %s", name, lv_err());
		else
			vlog_info("libvirt: started autostart domain '%s' in the embedded driver",
				  name);
		virDomainFree(doms[i]);
	}
	free(doms);
}

/* One virConnectOpen, run on its own thread. */
struct open_job {
	char *uri;
	int fd;			/* the thread's end of the socketpair */
	virConnectPtr conn;
	int err_code, err_domain;
	char err_msg[256];
};

static void open_job_free(struct open_job *j)
{
	if (j->conn)
		virConnectClose(j->conn);
	free(j->uri);
	free(j);
}

static void *open_thread(void *arg)
{
	struct open_job *j = arg;
	int fd = j->fd;

	j->conn = virConnectOpen(j->uri);
	if (!j->conn) {
		/* libvirt's last error is per thread: carry it over. */
		virErrorPtr e = virGetLastError();

		j->err_code = e ? e->code : VIR_ERR_INTERNAL_ERROR;
		j->err_domain = e ? e->domain : VIR_FROM_NONE;
		snprintf(j->err_msg, sizeof(j->err_msg), "%s",
			 e && e->message ? e->message : "unknown libvirt error");
	}
	/* Once sent, the job is the loop's; if the connector is gone, it is ours. */
	if (send(fd, &j, sizeof(j), MSG_NOSIGNAL) != (ssize_t)sizeof(j))
		open_job_free(j);
	close(fd);
	return NULL;
}

static void open_done(evutil_socket_t fd, short what, void *opaque);

static int start_open(struct vcma_lv_conn *c)
{
	struct open_job *j = calloc(1, sizeof(*j));
	pthread_attr_t attr;
	pthread_t t;
	int sv[2] = { -1, -1 };

	if (!j || !(j->uri = strdup(c->uri)) ||
	    socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) < 0)
		goto fail;
	j->fd = sv[1];
	c->open_ev = event_new(c->base, sv[0], EV_READ, open_done, c);
	if (!c->open_ev || pthread_attr_init(&attr) != 0)
		goto fail;
	pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
	if (pthread_create(&t, &attr, open_thread, j) != 0) {
		pthread_attr_destroy(&attr);
		goto fail;
	}
	pthread_attr_destroy(&attr);
	c->open_fd = sv[0];
	event_add(c->open_ev, NULL);
	return 0;
fail:
	vlog_err("libvirt: cannot start connecting to %s: out of resources", c->uri);
	if (c->open_ev)
		event_free(c->open_ev);
	c->open_ev = NULL;
	if (sv[0] >= 0) {
		close(sv[0]);
		close(sv[1]);
	}
	if (j)
		free(j->uri);
	free(j);
	return -EAGAIN;
}

/* Takes the finished job off the socketpair (NULL if none) and ends the open. */
static struct open_job *collect_open(struct vcma_lv_conn *c, int flags)
{
	struct open_job *j = NULL;

	if (c->open_fd < 0)
		return NULL;
	if (recv(c->open_fd, &j, sizeof(j), MSG_WAITALL | flags) != (ssize_t)sizeof(j))
		j = NULL;
	event_free(c->open_ev);
	c->open_ev = NULL;
	close(c->open_fd);
	c->open_fd = -1;
	return j;
}

/*
 * Sets up a fresh connection from a finished open. Returns 0, -EINVAL when
 * the URI is wrong (retrying cannot help) or -EAGAIN.
 */
static int finish_connect(struct vcma_lv_conn *c, struct open_job *j)
{
	if (!j) {
		vlog_warn("libvirt: connecting to %s failed; retrying in %u ms", c->uri, c->backoff);
		return -EAGAIN;
	}
	if (!j->conn) {
		/* A URI libvirt cannot parse or a driver refuses will not improve. */
		if (j->err_domain == VIR_FROM_URI || j->err_code == VIR_ERR_NO_CONNECT ||
		    j->err_code == VIR_ERR_INVALID_ARG || j->err_code == VIR_ERR_CONFIG_UNSUPPORTED ||
		    j->err_code == VIR_ERR_XML_ERROR) {
			vlog_err("libvirt: cannot connect to %s: %s", c->uri, j->err_msg);
			return -EINVAL;
		}
		vlog_warn("libvirt: cannot connect to %s: %s; retrying in %u ms", c->uri,
			  j->err_msg, c->backoff);
		return -EAGAIN;
	}
	c->conn = j->conn;
	j->conn = NULL;
	if (virConnectRegisterCloseCallback(c->conn, on_close, c, NULL) == 0)
		c->close_cb_registered = true;
	/* Local drivers (test, embed) have no keepalive; only remote ones need it. */
	if (virConnectSetKeepAlive(c->conn, (int)c->ka_interval, c->ka_count) < 0)
		vlog_debug("libvirt: no keepalive on %s: %s", c->uri, lv_err());
	if (subscribe(c) < 0) {
		teardown(c);
		return -EAGAIN;
	}
	autostart_embedded(c);
	if (scan_all(c) < 0) {
		teardown(c);
		return -EAGAIN;
	}
	c->generation++;
	c->backoff = c->backoff_min;
	vlog_info("libvirt: connected to %s, %zu domain(s) with the vcma channel",
		  c->uri, c->nr_dom);
	return 0;
}

static void schedule_retry(struct vcma_lv_conn *c)
{
	struct timeval tv = { c->backoff / 1000, (c->backoff % 1000) * 1000 };

	event_add(c->reconnect_ev, &tv);
	c->backoff = c->backoff * 2 > c->backoff_max ? c->backoff_max : c->backoff * 2;
}

static void open_done(evutil_socket_t fd, short what, void *opaque)
{
	struct vcma_lv_conn *c = opaque;
	struct open_job *j = collect_open(c, 0);

	(void)fd;
	(void)what;
	if (finish_connect(c, j) < 0)
		schedule_retry(c);
	if (j)
		open_job_free(j);
}

/* Both the deferred half of the close callback and the retry timer. */
static void reconnect_cb(evutil_socket_t fd, short what, void *opaque)
{
	struct vcma_lv_conn *c = opaque;

	(void)fd;
	(void)what;
	if (c->conn) {
		teardown(c);
		schedule_retry(c);
		return;
	}
	if (c->open_fd < 0 && start_open(c) < 0)
		schedule_retry(c);
}

/* The first open, waited for a while: a wrong URI should stop vcmad at once. */
static int first_connect(struct vcma_lv_conn *c)
{
	struct pollfd p = { .events = POLLIN };
	struct open_job *j;
	int r;

	if (start_open(c) < 0)
		return -EAGAIN;
	p.fd = c->open_fd;
	if (poll(&p, 1, FIRST_OPEN_WAIT_MS) != 1) {
		vlog_warn("libvirt: %s does not answer yet; serving the other VMs meanwhile and "
			  "attaching its domains once connected", c->uri);
		return 0;
	}
	j = collect_open(c, 0);
	r = finish_connect(c, j);
	if (j)
		open_job_free(j);
	return r;
}

static char *dup_or(const char *s, const char *def)
{
	return strdup(s ? s : def);
}

int vcma_lv_conn_new(struct event_base *base, const struct vcma_lv_conf *conf,
		     const struct vcma_lv_sink *sink, void *opaque, struct vcma_lv_conn **out)
{
	struct vcma_lv_conn *c;
	int r;

	*out = NULL;
	if (!base || !conf || !sink || !sink->attach || !sink->detach)
		return -EINVAL;
	r = vcma_lv_event_register(base);
	if (r < 0 && r != -EALREADY) {
		vlog_err("libvirt: cannot install the event loop bridge: %s", strerror(-r));
		return r;
	}
	virSetErrorFunc(NULL, quiet_errors);
	c = calloc(1, sizeof(*c));
	if (!c)
		return -ENOMEM;
	c->base = base;
	c->uri = dup_or(conf->uri, DEFAULT_URI);
	c->port_name = dup_or(conf->port_name, VCMA_PORT_NAME);
	c->ka_interval = conf->keepalive_interval_s ? conf->keepalive_interval_s : 5;
	c->ka_count = conf->keepalive_count ? conf->keepalive_count : 3;
	c->backoff_min = conf->backoff_min_ms ? conf->backoff_min_ms : 500;
	c->backoff_max = conf->backoff_max_ms ? conf->backoff_max_ms : 30000;
	if (c->backoff_max < c->backoff_min)
		c->backoff_max = c->backoff_min;
	c->backoff = c->backoff_min;
	c->sink = *sink;
	c->opaque = opaque;
	for (int i = 0; i < CB_COUNT; i++)
		c->cb_id[i] = -1;
	c->open_fd = -1;
	c->reconnect_ev = event_new(base, -1, 0, reconnect_cb, c);
	if (!c->uri || !c->port_name || !c->reconnect_ev) {
		vcma_lv_conn_free(c);
		return -ENOMEM;
	}
	r = first_connect(c);
	if (r == -EINVAL) {
		vcma_lv_conn_free(c);
		return r;
	}
	if (r < 0)
		schedule_retry(c);
	*out = c;
	return 0;
}

void vcma_lv_conn_free(struct vcma_lv_conn *c)
{
	if (!c)
		return;
	if (c->open_fd >= 0) {
		struct open_job *j;

		/* From now on the open thread's send fails and it cleans up itself. */
		shutdown(c->open_fd, SHUT_RD);
		j = collect_open(c, MSG_DONTWAIT);
		if (j)
			open_job_free(j);
	}
	teardown(c);
	if (c->reconnect_ev)
		event_free(c->reconnect_ev);
	free(c->dom);
	free(c->uri);
	free(c->port_name);
	free(c);
}

bool vcma_lv_conn_connected(const struct vcma_lv_conn *c)
{
	return c && c->conn;
}

unsigned vcma_lv_conn_generation(const struct vcma_lv_conn *c)
{
	return c ? c->generation : 0;
}

int vcma_lv_conn_rescan(struct vcma_lv_conn *c)
{
	if (!c->conn)
		return -ENOTCONN;
	return scan_all(c);
}

static virDomainPtr lookup(struct vcma_lv_conn *c, const char *name, char *msg, size_t len)
{
	virDomainPtr dom;

	if (!c->conn) {
		snprintf(msg, len, "not connected to libvirt (%s); retrying in the background",
			 c->uri);
		return NULL;
	}
	dom = virDomainLookupByName(c->conn, name);
	if (!dom)
		snprintf(msg, len, "libvirt has no domain '%s': %s", name, lv_err());
	return dom;
}

int vcma_lv_write_desired(struct vcma_lv_conn *c, const char *name,
			  const struct vcma_lv_desired *d, char err[VCMA_LV_ERRLEN])
{
	virDomainPtr dom;
	unsigned flags = 0;
	char *xml;
	int r = -EIO;

	xml = vcma_lv_format_desired(d, err);
	if (!xml)
		return -EINVAL;
	dom = lookup(c, name, err, VCMA_LV_ERRLEN);
	if (!dom) {
		free(xml);
		return -ENOENT;
	}
	if (virDomainIsActive(dom) == 1)
		flags |= VIR_DOMAIN_AFFECT_LIVE;
	if (virDomainIsPersistent(dom) == 1)
		flags |= VIR_DOMAIN_AFFECT_CONFIG;
	if (virDomainSetMetadata(dom, VIR_DOMAIN_METADATA_ELEMENT, xml, VCMA_LV_NS_PREFIX,
				 VCMA_LV_NS_URI, flags) < 0) {
		snprintf(err, VCMA_LV_ERRLEN, "cannot write vcma metadata of domain '%s': %s",
			 name, lv_err());
		goto out;
	}
	/* Our own write comes back as a METADATA_CHANGE event; it must not echo. */
	char uuid[VIR_UUID_STRING_BUFLEN];
	struct tracked *t = virDomainGetUUIDString(dom, uuid) == 0 ? find_tracked(c, uuid) : NULL;

	if (t && (flags & VIR_DOMAIN_AFFECT_LIVE)) {
		t->desired = *d;
		t->has_desired = true;
	}
	r = 0;
out:
	virDomainFree(dom);
	free(xml);
	return r;
}

static int balloon_dom(virDomainPtr dom, const char *name, uint64_t target_bytes,
		       uint64_t *new_mem_bytes, char *msg, size_t msg_len)
{
	virDomainInfo info;
	uint64_t max_bytes, want;

	if (virDomainGetInfo(dom, &info) < 0) {
		snprintf(msg, msg_len, "cannot read domain '%s': %s", name, lv_err());
		return -EIO;
	}
	if (info.state != VIR_DOMAIN_RUNNING && info.state != VIR_DOMAIN_PAUSED) {
		snprintf(msg, msg_len, "domain '%s' is not running; the balloon needs a running "
			 "guest", name);
		return -EINVAL;
	}
	max_bytes = (uint64_t)info.maxMem * 1024;
	if (target_bytes > max_bytes || max_bytes - target_bytes < VCMA_LV_BALLOON_FLOOR) {
		snprintf(msg, msg_len, "balloon target %llu MiB would leave domain '%s' less than "
			 "%llu MiB of its %llu MiB", (unsigned long long)(target_bytes >> 20),
			 name, VCMA_LV_BALLOON_FLOOR >> 20, (unsigned long long)(max_bytes >> 20));
		return -EINVAL;
	}
	want = max_bytes - target_bytes;
	if (virDomainSetMemoryFlags(dom, want / 1024, VIR_DOMAIN_AFFECT_LIVE) < 0) {
		snprintf(msg, msg_len, "libvirt balloon fallback for domain '%s' failed: %s",
			 name, lv_err());
		return -EIO;
	}
	*new_mem_bytes = want;
	snprintf(msg, msg_len, "no vcma agent on domain '%s': used libvirt's balloon "
		 "(virDomainSetMemoryFlags, live): guest memory set to %llu MiB of %llu MiB",
		 name, (unsigned long long)(want >> 20), (unsigned long long)(max_bytes >> 20));
	return 0;
}

int vcma_lv_balloon_fallback(struct vcma_lv_conn *c, const char *name, uint64_t target_bytes,
			     uint64_t *new_mem_bytes, char *msg, size_t msg_len)
{
	virDomainPtr dom = lookup(c, name, msg, msg_len);
	int r;

	if (!dom)
		return -ENOENT;
	r = balloon_dom(dom, name, target_bytes, new_mem_bytes, msg, msg_len);
	virDomainFree(dom);
	return r;
}

int vcma_lv_domain_max_mem(struct vcma_lv_conn *c, const char *name, uint64_t *max_bytes,
			   char *msg, size_t msg_len)
{
	virDomainPtr dom = lookup(c, name, msg, msg_len);
	virDomainInfo info;
	int r = 0;

	if (!dom)
		return -ENOENT;
	if (virDomainGetInfo(dom, &info) < 0) {
		snprintf(msg, msg_len, "cannot read domain '%s': %s", name, lv_err());
		r = -EIO;
	} else {
		*max_bytes = (uint64_t)info.maxMem * 1024;
	}
	virDomainFree(dom);
	return r;
}

/*
 * A domain without the vcma channel can still carry <vcma:balloon>: its
 * target goes to libvirt's balloon, so the same metadata drives both kinds
 * of guests. Setting the same target again is harmless.
 */
static void balloon_from_metadata(virDomainPtr dom, const char *name, const char *xml)
{
	struct vcma_lv_desired d;
	char err[VCMA_LV_ERRLEN], msg[256];
	uint64_t mem;

	if (vcma_lv_parse_desired(xml, &d, err) < 0) {
		vlog_err("libvirt: domain '%s': %s; balloon target ignored", name, err);
		return;
	}
	if (!d.has_balloon)
		return;
	if (balloon_dom(dom, name, d.balloon_target, &mem, msg, sizeof(msg)) < 0)
		vlog_err("libvirt: domain '%s': balloon target from metadata: %s", name, msg);
	else
		vlog_info("libvirt: %s (target from its metadata)", msg);
}
