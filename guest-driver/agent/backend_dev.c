// SPDX-License-Identifier: MIT
/*
 * The "dev" backend: /dev/vcma ioctls (vcma_uapi.h). The device is opened on
 * first use and again after a failure, so an agent started before
 * `modprobe vcma` begins to serve once the module is there; until then every
 * call returns -ENODEV (the host sees VCMA_E_NODEV). The ioctls are
 * synchronous and RESERVE may take until its deadline: callers that must stay
 * responsive run them off their event loop (see agent.c).
 */
#include <errno.h>
#include <fcntl.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "agent_util.h"
#include "backend.h"
#include "devnode.h"

_Static_assert(offsetof(struct vcma_ioc_reserve, max_addr) == VCMA_IOC_RESERVE_V1_SIZE,
	       "ABI 1 RESERVE is the struct without max_addr");

struct dev_backend {
	char *path;
	const char *sysfs_root;		/* /sys/kernel/vcma */
	int fd;
	uint64_t features;	/* VCMA_FEAT_* of the module behind fd */
};

static int dev_open(struct dev_backend *d)
{
	struct vcma_ioc_features f = { .argsz = sizeof(f) };

	if (d->fd >= 0)
		return 0;
	d->fd = open(d->path, O_RDWR | O_CLOEXEC);
	if (d->fd < 0 && errno == ENOENT && !strcmp(d->path, VCMA_DEV_PATH) &&
	    agent_ensure_devnode(d->path, "/sys/class/misc/vcma/dev") == 0)
		d->fd = open(d->path, O_RDWR | O_CLOEXEC);
	if (d->fd < 0)
		return errno == ENOENT || errno == ENXIO ? -ENODEV : -errno;
	/* A module older than the features ioctl answers ENOTTY: ABI 1 only. */
	d->features = ioctl(d->fd, VCMA_IOC_FEATURES, &f) == 0 ? f.features : 0;
	return 0;
}

static int dev_ioctl(struct dev_backend *d, unsigned long req, void *arg)
{
	int ret = dev_open(d);

	if (ret)
		return ret;
	if (ioctl(d->fd, req, arg) == 0)
		return 0;
	ret = -errno;
	/* The module went away under us (rmmod is refused while open, but a
	 * replaced device node is not): reopen on the next call. */
	if (ret == -ENODEV || ret == -ENXIO || ret == -EBADF) {
		close(d->fd);
		d->fd = -1;
		ret = -ENODEV;
	}
	return ret;
}

static int dev_version(void *priv, struct vcma_ioc_version *out)
{
	memset(out, 0, sizeof(*out));
	return dev_ioctl(priv, VCMA_IOC_VERSION, out);
}

/*
 * A module without VCMA_FEAT_ADDR_LIMIT gets ABI 1's RESERVE; a limit it
 * cannot carry is refused (EOPNOTSUPP), never dropped.
 */
static int dev_reserve(void *priv, struct vcma_ioc_reserve *io)
{
	struct dev_backend *d = priv;
	int ret = dev_open(d);

	if (ret)
		return ret;
	if (d->features & VCMA_FEAT_ADDR_LIMIT) {
		io->argsz = sizeof(*io);
		return dev_ioctl(d, VCMA_IOC_RESERVE, io);
	}
	if (io->max_addr)
		return -EOPNOTSUPP;
	io->argsz = VCMA_IOC_RESERVE_V1_SIZE;
	ret = dev_ioctl(d, VCMA_IOC_RESERVE_V1, io);
	io->argsz = sizeof(*io);
	return ret;
}

static int dev_release(void *priv, uint64_t grant_id)
{
	struct vcma_ioc_release rel = { .argsz = sizeof(rel), .grant_id = grant_id };

	return dev_ioctl(priv, VCMA_IOC_RELEASE, &rel);
}

static int dev_list(void *priv, struct vcma_ioc_grant *out, uint32_t max, uint32_t *total)
{
	struct vcma_ioc_list l = {
		.argsz = sizeof(l),
		.max_grants = max,
		.grants_ptr = (uintptr_t)out,
	};
	int ret = dev_ioctl(priv, VCMA_IOC_LIST, &l);

	if (!ret)
		*total = l.nr_grants;
	return ret;
}

static int dev_stats(void *priv, struct vcma_ioc_stats *out)
{
	memset(out, 0, sizeof(*out));
	out->argsz = sizeof(*out);
	return dev_ioctl(priv, VCMA_IOC_STATS, out);
}

static int dev_meminfo(void *priv, struct agent_meminfo *out)
{
	(void)priv;
	return agent_read_meminfo(NULL, out);
}

static int dev_boot_id(void *priv, uint8_t out[16])
{
	(void)priv;
	return agent_read_boot_id(NULL, out);
}

static int dev_balloon(void *priv, struct vcma_ioc_balloon *io)
{
	io->argsz = sizeof(*io);
	return dev_ioctl(priv, VCMA_IOC_BALLOON, io);
}

static int dev_evidence(void *priv, struct vcma_ioc_evac *out)
{
	out->argsz = sizeof(*out);
	return dev_ioctl(priv, VCMA_IOC_EVIDENCE, out);
}

static int dev_export(void *priv, struct vcma_ioc_export *io)
{
	io->argsz = sizeof(*io);
	return dev_ioctl(priv, VCMA_IOC_EXPORT, io);
}

/* The kernel's list of who holds a grant: grants/<id>/holders in sysfs. */
static int dev_holders(void *priv, uint64_t grant_id, uint32_t *flags, char *holder,
		       size_t len)
{
	struct dev_backend *d = priv;
	char path[256], text[1024];
	ssize_t n;
	int fd;

	snprintf(path, sizeof(path), "%s/grants/%llu/holders", d->sysfs_root,
		 (unsigned long long)grant_id);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return errno == ENOENT ? -ENOENT : -errno;
	/* At most VCMA_MAX_HOLDERS short lines: one read gets them all. */
	n = read(fd, text, sizeof(text) - 1);
	close(fd);
	if (n < 0)
		return -errno;
	text[n] = '\0';
	agent_parse_holders(text, flags, holder, len);
	return 0;
}

static int dev_pressure(void *priv, struct vcma_ioc_pressure *io)
{
	io->argsz = sizeof(*io);
	return dev_ioctl(priv, VCMA_IOC_PRESSURE, io);
}

/* Apart from the worker's descriptor: the event loop polls this one. */
static int dev_pressure_fd(void *priv)
{
	struct dev_backend *d = priv;
	int fd = open(d->path, O_RDWR | O_NONBLOCK | O_CLOEXEC);

	if (fd < 0)
		return errno == ENOENT || errno == ENXIO ? -ENODEV : -errno;
	return fd;
}

/*
 * Bit 6 stands for address limits and claims: both must be in the module.
 * Bit 5 (deflate under pressure) only when the module's option is on.
 */
static uint64_t dev_extra_caps(void *priv)
{
	struct dev_backend *d = priv;
	uint64_t need = VCMA_FEAT_ADDR_LIMIT | VCMA_FEAT_CLAIMS, caps = 0;
	struct vcma_ioc_pressure p = { 0 };

	if (dev_open(d))
		return 0;
	if ((d->features & need) == need)
		caps |= VCMA_CAP_ADDR_LIMIT;
	if (!dev_pressure(d, &p) && p.enabled)
		caps |= VCMA_CAP_PRESSURE_DEFLATE;
	return caps;
}

static void dev_free(void *priv)
{
	struct dev_backend *d = priv;

	if (d->fd >= 0)
		close(d->fd);
	free(d->path);
	free(d);
}

static const struct agent_backend_ops dev_ops = {
	.name = "dev",
	.version = dev_version,
	.reserve = dev_reserve,
	.evidence = dev_evidence,
	.export_dmabuf = dev_export,
	.release = dev_release,
	.list = dev_list,
	.stats = dev_stats,
	.meminfo = dev_meminfo,
	.boot_id = dev_boot_id,
	.free = dev_free,
	.balloon = dev_balloon,
	.holders = dev_holders,
	.extra_caps = dev_extra_caps,
	.pressure = dev_pressure,
	.pressure_fd = dev_pressure_fd,
};

int agent_backend_dev_new(const char *path, struct agent_backend *out)
{
	struct dev_backend *d = calloc(1, sizeof(*d));

	if (!d)
		return -ENOMEM;
	d->fd = -1;
	d->sysfs_root = "/sys/kernel/vcma";
	d->path = strdup(path ? path : VCMA_DEV_PATH);
	if (!d->path) {
		free(d);
		return -ENOMEM;
	}
	out->ops = &dev_ops;
	out->priv = d;
	/* Bit 6 (limits and claims) only with a module that has both: dev_extra_caps. */
	out->caps = VCMA_CAP_RESERVE | VCMA_CAP_STATUS | VCMA_CAP_BALLOON | VCMA_CAP_EVENTS |
		    VCMA_CAP_BALLOON_STATS;
	out->procfs = "/proc";
	out->vcma_sysfs = "/sys/kernel/vcma";
	return 0;
}
