// SPDX-License-Identifier: MIT
/*
 * vcma-agent: the guest daemon. It carries the host's requests from the
 * virtio-serial port "org.vcma.0" to a backend (/dev/vcma, or the mm core on
 * the userspace model with --sim) and the answers back.
 *
 * The loop stays thin: it moves bytes, reassembles frames with a bounded
 * reassembler and hands every frame to the worker thread (worker.c), which
 * runs the handler (handler.c). Only PING is answered here, so a RESERVE that
 * runs until its deadline in the kernel never delays a keepalive.
 *
 * Connection state machine (one host at a time):
 *   DOWN --(port: poll() shows the host side open / listen: accept)--> UP
 *   UP: send HELLO (queued behind nothing but earlier jobs), serve requests
 *   UP --(EOF, POLLHUP, write error, host not reading)--> DOWN
 * A virtio-serial port is never spun on: while the host side is closed the
 * port reports POLLHUP and read() returns 0, so the read event is removed and
 * a timer re-probes with backoff (DOWN). Answers computed for an older
 * connection are dropped (conn_gen); grants stay, the host asks again with
 * the same tag and gets the same grant.
 *
 * Deflate under pressure: a second descriptor of /dev/vcma polls readable
 * while chunks the module gave back wait to be reported. Watched only while
 * UP with HELLO sent and no report job in flight (so a readable descriptor
 * never spins the loop); the worker reads and reports them.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <poll.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/event.h>

#include "agent_util.h"
#include "backend.h"
#include "devnode.h"
#include "handler.h"
#include "worker.h"

#ifndef VCMA_VERSION
#define VCMA_VERSION "0.0.0"
#endif

#define AGENT_SOFTWARE		"vcma-agent " VCMA_VERSION
#define RX_CHUNK		16384
/* One maximal frame being reassembled plus one read chunk. */
#define RX_BOUND		(2 * (sizeof(struct vcma_hdr) + VCMA_MAX_PAYLOAD) + RX_CHUNK)
/* A host that lets this much pile up is not reading: drop the connection. */
#define TX_BOUND		(4u << 20)
#define MAX_PENDING_JOBS	64
#define BACKOFF_MIN_MS		50
#define BACKOFF_MAX_MS		1000

enum transport { TRANSPORT_PORT, TRANSPORT_LISTEN };

struct agent_opts {
	enum transport transport;
	const char *listen_path;
	const char *port_path;		/* explicit --port, or NULL: find by name */
	const char *port_name;
	const char *device;
	bool sim;
	struct agent_sim_opts sim_opts;
	uint8_t boot_id[16];
	unsigned int tick_ms;
	int verbosity;
	bool syslog;
};

struct agent {
	struct agent_opts *o;
	struct event_base *base;
	struct agent_backend be;
	struct agent_handler *h;
	struct agent_worker *w;
	struct event *ev_done, *ev_tick, *ev_retry, *ev_sig[2];

	int listen_fd;
	struct event *ev_accept;

	int fd;				/* connection (listen) or port */
	struct event *ev_read, *ev_write;
	bool up;			/* host connected, serving */
	bool hello_sent;
	uint64_t gen;			/* connection generation */
	unsigned int backoff_ms;
	bool port_missing_logged;
	struct vcma_reasm *rx;
	struct evbuffer *tx;
	struct vcma_msg *msg;		/* receive scratch */

	int pressure_fd;		/* /dev/vcma polled for chunks given back, -1: none */
	struct event *ev_pressure;
	bool pressure_armed, pressure_busy;
};

static void conn_down(struct agent *a, const char *why);

static void schedule_retry(struct agent *a)
{
	struct timeval tv = { a->backoff_ms / 1000, (a->backoff_ms % 1000) * 1000 };

	evtimer_add(a->ev_retry, &tv);
	a->backoff_ms = a->backoff_ms * 2 > BACKOFF_MAX_MS ? BACKOFF_MAX_MS : a->backoff_ms * 2;
}

static void send_bytes(struct agent *a, const uint8_t *buf, size_t len)
{
	if (!a->up || !len)
		return;
	if (evbuffer_get_length(a->tx) + len > TX_BOUND) {
		conn_down(a, "host is not reading its answers");
		return;
	}
	if (evbuffer_add(a->tx, buf, len)) {
		conn_down(a, "out of memory for answers");
		return;
	}
	event_add(a->ev_write, NULL);
}

static void send_out(struct agent *a, struct agent_out *out)
{
	send_bytes(a, out->buf, out->len);
	out->len = 0;
}

/* 0 when queued; a refused request was answered E_AGAIN. */
static int submit(struct agent *a, enum agent_job_kind kind, const struct vcma_msg *m)
{
	struct agent_job *job = agent_job_new(kind, a->gen, m);
	struct agent_out out = { 0 };

	if (job && !agent_worker_submit(a->w, job))
		return 0;
	agent_job_free(job);
	if (m) {
		log_warn("request queue full, refusing %s id %llu",
			 vcma_msg_type_name(m->type), (unsigned long long)m->id);
		if (!agent_reply_error(m->id, m->type, VCMA_E_AGAIN, "agent busy", &out))
			send_out(a, &out);
		agent_out_free(&out);
	}
	return -EBUSY;
}

static void pressure_disarm(struct agent *a)
{
	if (a->pressure_armed)
		event_del(a->ev_pressure);
	a->pressure_armed = false;
}

static void on_pressure(evutil_socket_t fd, short what, void *arg);

/* Watch for chunks given back when the host can hear of them (see the top). */
static void pressure_arm(struct agent *a)
{
	int fd;

	if (!a->up || !a->hello_sent || a->pressure_busy || a->pressure_armed ||
	    !a->be.ops->pressure_fd)
		return;
	if (a->pressure_fd < 0) {
		fd = a->be.ops->pressure_fd(a->be.priv);
		if (fd < 0)
			return;	/* no module yet: tried again at the next connection */
		a->ev_pressure = event_new(a->base, fd, EV_READ | EV_PERSIST, on_pressure, a);
		if (!a->ev_pressure) {
			close(fd);
			return;
		}
		a->pressure_fd = fd;
	}
	if (!event_add(a->ev_pressure, NULL))
		a->pressure_armed = true;
}

static void on_pressure(evutil_socket_t fd, short what, void *arg)
{
	struct agent *a = arg;

	(void)fd;
	(void)what;
	pressure_disarm(a);
	/* A full queue: armed again when a job finishes. */
	if (!submit(a, AGENT_JOB_PRESSURE, NULL))
		a->pressure_busy = true;
}

static void conn_up(struct agent *a)
{
	struct vcma_reasm *rx = vcma_reasm_new(RX_BOUND);

	if (!rx) {
		log_err("out of memory");
		event_base_loopbreak(a->base);
		return;
	}
	vcma_reasm_free(a->rx);
	a->rx = rx;
	evbuffer_drain(a->tx, evbuffer_get_length(a->tx));
	a->gen++;
	a->up = true;
	a->hello_sent = false;
	a->backoff_ms = BACKOFF_MIN_MS;
	a->port_missing_logged = false;
	event_add(a->ev_read, NULL);
	log_info("host connected (connection %llu)", (unsigned long long)a->gen);
	submit(a, AGENT_JOB_HELLO, NULL);
}

static void close_fd(struct agent *a)
{
	if (a->ev_read)
		event_free(a->ev_read);
	if (a->ev_write)
		event_free(a->ev_write);
	a->ev_read = a->ev_write = NULL;
	if (a->fd >= 0)
		close(a->fd);
	a->fd = -1;
}

static void conn_down(struct agent *a, const char *why)
{
	if (a->up)
		log_info("host disconnected: %s", why);
	a->up = false;
	a->hello_sent = false;
	pressure_disarm(a);
	evbuffer_drain(a->tx, evbuffer_get_length(a->tx));
	if (a->o->transport == TRANSPORT_LISTEN) {
		close_fd(a);
		event_add(a->ev_accept, NULL);
		return;
	}
	/* Port: keep it open (closing tells QEMU the guest left), re-probe later. */
	if (a->ev_read)
		event_del(a->ev_read);
	if (a->ev_write)
		event_del(a->ev_write);
	schedule_retry(a);
}

/*
 * Garbage or a rejected frame since the last check? Then tell the host once
 * per read batch (a flood of junk must not become a flood of ERRORs), before
 * answering the frame that followed it so the order stays readable.
 */
static void report_bad_input(struct agent *a, struct vcma_reasm_stats *seen, bool *reported)
{
	struct vcma_reasm_stats now;
	struct agent_out out = { 0 };

	const char *what;

	vcma_reasm_stats(a->rx, &now);
	if (now.bytes_discarded == seen->bytes_discarded && now.bad_frames == seen->bad_frames)
		return;
	what = now.bad_frames != seen->bad_frames ? vcma_codec_strerror(now.last_error)
						   : "garbage skipped";
	log_warn("bad input from host: %llu bytes skipped, %llu frames rejected (%s)",
		 (unsigned long long)(now.bytes_discarded - seen->bytes_discarded),
		 (unsigned long long)(now.bad_frames - seen->bad_frames), what);
	*seen = now;
	if (*reported)
		return;
	*reported = true;
	if (!agent_reply_error(0, 0, VCMA_E_PROTO, what, &out))
		send_out(a, &out);
	agent_out_free(&out);
}

static void handle_frames(struct agent *a)
{
	struct vcma_reasm_stats seen;
	bool reported = false;
	int ret;

	vcma_reasm_stats(a->rx, &seen);
	while (a->up) {
		struct agent_out out = { 0 };

		ret = vcma_reasm_next(a->rx, a->msg);
		report_bad_input(a, &seen, &reported);
		if (ret == 0)
			break;
		if (ret < 0 || !a->up)
			continue;
		log_debug("<- %s id %llu", vcma_msg_type_name(a->msg->type),
			  (unsigned long long)a->msg->id);
		if (agent_handler_answers_inline(a->msg->type) && a->hello_sent) {
			if (!agent_reply_pong(a->msg->id, &out))
				send_out(a, &out);
			agent_out_free(&out);
			continue;
		}
		submit(a, AGENT_JOB_MSG, a->msg);
	}
}

/* Port mode: is the host side of the virtio-serial port open? */
static bool port_host_gone(int fd)
{
	struct pollfd p = { .fd = fd, .events = POLLIN };

	return poll(&p, 1, 0) == 1 && (p.revents & (POLLHUP | POLLERR | POLLNVAL));
}

static void on_read(evutil_socket_t fd, short what, void *arg)
{
	struct agent *a = arg;
	uint8_t buf[RX_CHUNK];
	ssize_t n;

	(void)what;
	n = read(fd, buf, sizeof(buf));
	if (n == 0) {
		conn_down(a, "end of stream");
		return;
	}
	if (n < 0) {
		if (errno == EINTR)
			return;
		if (errno == EAGAIN) {
			if (a->o->transport == TRANSPORT_PORT && port_host_gone((int)fd))
				conn_down(a, "port hung up");
			return;
		}
		log_warn("read: %s", strerror(errno));
		if (a->o->transport == TRANSPORT_PORT)
			close_fd(a);
		conn_down(a, "read error");
		return;
	}
	if (vcma_reasm_feed(a->rx, buf, (size_t)n)) {
		/* Cannot happen while frames are drained after every feed; be safe. */
		conn_down(a, "receive buffer overflow");
		return;
	}
	handle_frames(a);
}

static void on_write(evutil_socket_t fd, short what, void *arg)
{
	struct agent *a = arg;

	(void)what;
	if (evbuffer_write(a->tx, fd) < 0 && errno != EAGAIN && errno != EINTR) {
		log_warn("write: %s", strerror(errno));
		conn_down(a, "write error");
		return;
	}
	if (evbuffer_get_length(a->tx))
		event_add(a->ev_write, NULL);
}

static int attach_fd(struct agent *a, int fd)
{
	a->fd = fd;
	a->ev_read = event_new(a->base, fd, EV_READ | EV_PERSIST, on_read, a);
	a->ev_write = event_new(a->base, fd, EV_WRITE, on_write, a);
	if (!a->ev_read || !a->ev_write) {
		close_fd(a);
		return -ENOMEM;
	}
	return 0;
}

/* Port mode timer: open (finding it by name) and probe the port. */
static void on_retry(evutil_socket_t unused, short what, void *arg)
{
	struct agent *a = arg;
	char path[256];
	int fd, ret;

	(void)unused;
	(void)what;
	if (a->fd < 0) {
		if (a->o->port_path) {
			snprintf(path, sizeof(path), "%s", a->o->port_path);
			ret = 0;
		} else {
			ret = agent_find_port(NULL, NULL, a->o->port_name, path, sizeof(path));
		}
		fd = ret ? -1 : open(path, O_RDWR | O_NONBLOCK | O_CLOEXEC | O_NOCTTY);
		if (fd < 0) {
			if (!ret)
				ret = -errno;
			if (!a->port_missing_logged)
				log_warn("no port %s yet (%s); retrying",
					 a->o->port_path ? a->o->port_path : a->o->port_name,
					 strerror(-ret));
			a->port_missing_logged = true;
			schedule_retry(a);
			return;
		}
		if (attach_fd(a, fd)) {
			log_err("out of memory");
			event_base_loopbreak(a->base);
			return;
		}
		log_info("opened port %s", path);
	}
	if (port_host_gone(a->fd)) {
		schedule_retry(a);
		return;
	}
	conn_up(a);
}

static void on_accept(evutil_socket_t lfd, short what, void *arg)
{
	struct agent *a = arg;
	int fd;

	(void)what;
	fd = accept4((int)lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
	if (fd < 0) {
		if (errno != EAGAIN && errno != EINTR)
			log_warn("accept: %s", strerror(errno));
		return;
	}
	if (attach_fd(a, fd)) {
		log_err("out of memory");
		event_base_loopbreak(a->base);
		return;
	}
	/* One host at a time, like QEMU's chardev: later ones wait in the backlog. */
	event_del(a->ev_accept);
	conn_up(a);
}

static void on_done(evutil_socket_t fd, short what, void *arg)
{
	struct agent *a = arg;
	struct agent_job *job = agent_worker_take_done(a->w);

	(void)fd;
	(void)what;
	while (job) {
		struct agent_job *next = job->next;

		if (job->ret)
			log_err("cannot answer: %s", strerror(-job->ret));
		if (job->kind == AGENT_JOB_PRESSURE)
			a->pressure_busy = false;
		if (job->kind != AGENT_JOB_TICK && a->up && job->conn_gen == a->gen) {
			send_out(a, &job->out);
			if (job->kind == AGENT_JOB_HELLO && a->up)
				a->hello_sent = true;
		}
		agent_job_free(job);
		job = next;
	}
	pressure_arm(a);
}

static void on_tick(evutil_socket_t fd, short what, void *arg)
{
	struct agent *a = arg;

	(void)fd;
	(void)what;
	/* Time only passes while the worker is idle: ticks never pile up. */
	if (agent_worker_pending(a->w) == 0)
		submit(a, AGENT_JOB_TICK, NULL);
}

static void on_signal(evutil_socket_t sig, short what, void *arg)
{
	struct agent *a = arg;

	(void)what;
	log_info("signal %d, exiting", (int)sig);
	event_base_loopbreak(a->base);
}

static int listen_unix(const char *path)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	struct stat st;
	int fd;

	if (strlen(path) >= sizeof(sa.sun_path)) {
		log_err("--listen path too long: %s", path);
		return -1;
	}
	strcpy(sa.sun_path, path);
	/* A socket left by a previous run would make bind fail; anything else is kept. */
	if (lstat(path, &st) == 0 && S_ISSOCK(st.st_mode))
		unlink(path);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0 || bind(fd, (struct sockaddr *)&sa, sizeof(sa)) || listen(fd, 4)) {
		log_err("cannot listen on %s: %s", path, strerror(errno));
		if (fd >= 0)
			close(fd);
		return -1;
	}
	return fd;
}

static void usage(FILE *f)
{
	fprintf(f,
"Usage: vcma-agent [OPTIONS]\n"
"Guest agent of vcma: serves the host's contiguous-memory requests from the\n"
"virtio-serial port \"" VCMA_PORT_NAME "\" against /dev/vcma (or a simulated guest).\n"
"\n"
"Transport (default: find the port by name under /sys/class/virtio-ports):\n"
"  --port PATH          use this virtio-serial port device\n"
"  --port-name NAME     port name to look for (default " VCMA_PORT_NAME ")\n"
"  --listen PATH        listen on a unix socket, one host connection at a time\n"
"Backend (default: /dev/vcma):\n"
"  --device PATH        the vcma device (default " VCMA_DEV_PATH ")\n"
"  --sim                simulated guest: the mm core on the userspace mm model\n"
"  --sim-mem SIZE       simulated RAM (default 1G)\n"
"  --sim-workload NAME  model workload preset (default: the model's)\n"
"  --sim-seed N         workload seed (default 1)\n"
"  --sim-floor SIZE     safety floor of the simulated guest (default 1/16 of RAM)\n"
"  --tick-ms N          advance the simulated workload every N ms (default 200, 0 = never)\n"
"  --boot-id UUID       boot id to report (sim; default: random per start)\n"
"Other:\n"
"  --syslog             also log to syslog\n"
"  -v, --verbose        debug logging\n"
"  -h, --help           this text\n"
"  -V, --version        print the version\n");
}

enum {
	OPT_PORT = 256, OPT_PORT_NAME, OPT_LISTEN, OPT_DEVICE, OPT_SIM, OPT_SIM_MEM,
	OPT_SIM_WORKLOAD, OPT_SIM_SEED, OPT_SIM_FLOOR, OPT_TICK, OPT_BOOT_ID, OPT_SYSLOG,
};

static int parse_args(int argc, char **argv, struct agent_opts *o)
{
	static const struct option longopts[] = {
		{ "port", required_argument, NULL, OPT_PORT },
		{ "port-name", required_argument, NULL, OPT_PORT_NAME },
		{ "listen", required_argument, NULL, OPT_LISTEN },
		{ "device", required_argument, NULL, OPT_DEVICE },
		{ "sim", no_argument, NULL, OPT_SIM },
		{ "sim-mem", required_argument, NULL, OPT_SIM_MEM },
		{ "sim-workload", required_argument, NULL, OPT_SIM_WORKLOAD },
		{ "sim-seed", required_argument, NULL, OPT_SIM_SEED },
		{ "sim-floor", required_argument, NULL, OPT_SIM_FLOOR },
		{ "tick-ms", required_argument, NULL, OPT_TICK },
		{ "boot-id", required_argument, NULL, OPT_BOOT_ID },
		{ "syslog", no_argument, NULL, OPT_SYSLOG },
		{ "verbose", no_argument, NULL, 'v' },
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
		{ 0 }
	};
	uint64_t v;
	int c;

	while ((c = getopt_long(argc, argv, "vhV", longopts, NULL)) != -1) {
		switch (c) {
		case OPT_PORT:
			o->port_path = optarg;
			break;
		case OPT_PORT_NAME:
			o->port_name = optarg;
			break;
		case OPT_LISTEN:
			o->listen_path = optarg;
			o->transport = TRANSPORT_LISTEN;
			break;
		case OPT_DEVICE:
			o->device = optarg;
			break;
		case OPT_SIM:
			o->sim = true;
			break;
		case OPT_SIM_MEM:
			if (vcma_size_parse(optarg, VCMA_SIZE_NONZERO, &o->sim_opts.mem_bytes)) {
				fprintf(stderr, "vcma-agent: bad --sim-mem '%s' (e.g. 1G, 512M)\n",
					optarg);
				return 2;
			}
			break;
		case OPT_SIM_WORKLOAD:
			o->sim_opts.workload = optarg;
			break;
		case OPT_SIM_SEED:
			if (vcma_parse_u64(optarg, 0, UINT64_MAX, &o->sim_opts.seed)) {
				fprintf(stderr, "vcma-agent: bad --sim-seed '%s'\n", optarg);
				return 2;
			}
			break;
		case OPT_SIM_FLOOR:
			if (vcma_size_parse(optarg, VCMA_SIZE_NONZERO, &o->sim_opts.floor_bytes)) {
				fprintf(stderr, "vcma-agent: bad --sim-floor '%s'\n", optarg);
				return 2;
			}
			break;
		case OPT_TICK:
			if (vcma_parse_u64(optarg, 0, 3600000, &v)) {
				fprintf(stderr, "vcma-agent: bad --tick-ms '%s'\n", optarg);
				return 2;
			}
			o->tick_ms = (unsigned int)v;
			break;
		case OPT_BOOT_ID:
			if (agent_parse_uuid(optarg, o->boot_id)) {
				fprintf(stderr, "vcma-agent: bad --boot-id '%s' (want a UUID)\n",
					optarg);
				return 2;
			}
			o->sim_opts.boot_id = o->boot_id;
			break;
		case OPT_SYSLOG:
			o->syslog = true;
			break;
		case 'v':
			o->verbosity++;
			break;
		case 'h':
			usage(stdout);
			exit(0);
		case 'V':
			printf("%s\n", AGENT_SOFTWARE);
			exit(0);
		default:
			usage(stderr);
			return 2;
		}
	}
	if (optind < argc) {
		fprintf(stderr, "vcma-agent: unexpected argument '%s' (see --help)\n", argv[optind]);
		return 2;
	}
	if (o->listen_path && o->port_path) {
		fprintf(stderr, "vcma-agent: --listen and --port exclude each other\n");
		return 2;
	}
	if (o->sim && o->device) {
		fprintf(stderr, "vcma-agent: --sim and --device exclude each other\n");
		return 2;
	}
	return 0;
}

static void agent_free(struct agent *a)
{
	unsigned int i;

	/* The worker goes first: it may still use the handler and backend. */
	agent_worker_free(a->w);
	close_fd(a);
	if (a->ev_pressure)
		event_free(a->ev_pressure);
	if (a->pressure_fd >= 0)
		close(a->pressure_fd);
	if (a->ev_accept)
		event_free(a->ev_accept);
	if (a->listen_fd >= 0) {
		close(a->listen_fd);
		unlink(a->o->listen_path);
	}
	for (i = 0; i < 2; i++)
		if (a->ev_sig[i])
			event_free(a->ev_sig[i]);
	if (a->ev_done)
		event_free(a->ev_done);
	if (a->ev_tick)
		event_free(a->ev_tick);
	if (a->ev_retry)
		event_free(a->ev_retry);
	if (a->tx)
		evbuffer_free(a->tx);
	vcma_reasm_free(a->rx);
	free(a->msg);
	agent_handler_free(a->h);
	agent_backend_free(&a->be);
	if (a->base)
		event_base_free(a->base);
}

static int agent_setup(struct agent *a)
{
	int ret;

	a->base = event_base_new();
	a->tx = evbuffer_new();
	a->msg = malloc(sizeof(*a->msg));
	if (!a->base || !a->tx || !a->msg)
		return -ENOMEM;
	if (a->o->sim)
		ret = agent_backend_sim_new(&a->o->sim_opts, &a->be);
	else
		ret = agent_backend_dev_new(a->o->device, &a->be);
	if (ret) {
		log_err("cannot start the %s backend: %s", a->o->sim ? "sim" : "dev",
			ret == -ENOTSUP ? "not built into this agent (no mm model)"
					: strerror(-ret));
		return ret;
	}
	a->h = agent_handler_new(&a->be, AGENT_SOFTWARE);
	a->w = a->h ? agent_worker_new(a->h, &a->be, MAX_PENDING_JOBS) : NULL;
	if (!a->w)
		return -ENOMEM;
	a->ev_done = event_new(a->base, agent_worker_fd(a->w), EV_READ | EV_PERSIST, on_done, a);
	a->ev_retry = evtimer_new(a->base, on_retry, a);
	a->ev_sig[0] = evsignal_new(a->base, SIGINT, on_signal, a);
	a->ev_sig[1] = evsignal_new(a->base, SIGTERM, on_signal, a);
	if (!a->ev_done || !a->ev_retry || !a->ev_sig[0] || !a->ev_sig[1])
		return -ENOMEM;
	event_add(a->ev_done, NULL);
	event_add(a->ev_sig[0], NULL);
	event_add(a->ev_sig[1], NULL);
	if (a->be.ops->tick && a->o->tick_ms) {
		struct timeval tv = { a->o->tick_ms / 1000, (a->o->tick_ms % 1000) * 1000 };

		a->ev_tick = event_new(a->base, -1, EV_PERSIST, on_tick, a);
		if (!a->ev_tick)
			return -ENOMEM;
		event_add(a->ev_tick, &tv);
	}

	if (a->o->transport == TRANSPORT_LISTEN) {
		a->listen_fd = listen_unix(a->o->listen_path);
		if (a->listen_fd < 0)
			return -EINVAL;
		a->ev_accept = event_new(a->base, a->listen_fd, EV_READ | EV_PERSIST, on_accept, a);
		if (!a->ev_accept)
			return -ENOMEM;
		event_add(a->ev_accept, NULL);
		log_info("%s (%s backend) listening on %s", AGENT_SOFTWARE, a->be.ops->name,
			 a->o->listen_path);
	} else {
		log_info("%s (%s backend) on port %s", AGENT_SOFTWARE, a->be.ops->name,
			 a->o->port_path ? a->o->port_path : a->o->port_name);
		event_active(a->ev_retry, EV_TIMEOUT, 0);
	}
	return 0;
}

int main(int argc, char **argv)
{
	struct agent_opts o = {
		.transport = TRANSPORT_PORT,
		.port_name = VCMA_PORT_NAME,
		.sim_opts = { .mem_bytes = 1ull << 30, .seed = 1 },
		.tick_ms = 200,
		.verbosity = VCMA_LOG_INFO,
	};
	struct agent a = { .o = &o, .listen_fd = -1, .fd = -1, .backoff_ms = BACKOFF_MIN_MS,
			   .pressure_fd = -1 };
	int ret;

	ret = parse_args(argc, argv, &o);
	if (ret)
		return ret;
	vcma_log_init("vcma-agent", o.verbosity, o.syslog);
	/* A host that closes mid-write must not kill the agent. */
	signal(SIGPIPE, SIG_IGN);

	ret = agent_setup(&a);
	if (!ret && event_base_dispatch(a.base) < 0)
		ret = -EIO;
	if (ret == -ENOMEM)
		log_err("out of memory");
	agent_free(&a);
	return ret ? 1 : 0;
}
