/* SPDX-License-Identifier: MIT */
/*
 * Device nodes without udev: a minimal guest initramfs may have sysfs but
 * no /dev entries for the virtio-serial port or /dev/vcma, so the agent
 * finds them in sysfs and creates the node itself.
 */
#ifndef VCMA_AGENT_DEVNODE_H
#define VCMA_AGENT_DEVNODE_H

#include <stddef.h>

/*
 * Make sure dev_path exists as a character device: if it is missing, read
 * "MAJOR:MINOR" from sysfs_dev (e.g. /sys/class/misc/vcma/dev) and mknod it.
 * 0 or negative errno.
 */
int agent_ensure_devnode(const char *dev_path, const char *sysfs_dev);

/*
 * Find the virtio-serial port whose sysfs name is `name` under sysfs_root
 * (NULL = /sys/class/virtio-ports) and write its /dev path (created if
 * needed, under dev_root, NULL = /dev) to out. 0, -ENOENT if no such port,
 * other negative errno.
 */
int agent_find_port(const char *sysfs_root, const char *dev_root, const char *name,
		    char *out, size_t out_len);

#endif /* VCMA_AGENT_DEVNODE_H */
