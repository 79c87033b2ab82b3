// SPDX-License-Identifier: MIT
/*
 * sysfs -> /dev without udev (see devnode.h). Virtio-serial ports appear as
 * /sys/class/virtio-ports/vportNpM/{name,dev}; the name is what QEMU's
 * virtserialport name= set ("org.vcma.0").
 */
#include "devnode.h"

#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>

static int read_line(const char *path, char *buf, size_t len)
{
	FILE *f = fopen(path, "re");
	int ret = 0;

	if (!f)
		return -errno;
	if (!fgets(buf, (int)len, f))
		ret = -EINVAL;
	fclose(f);
	buf[strcspn(buf, "\n")] = '\0';
	return ret;
}

int agent_ensure_devnode(const char *dev_path, const char *sysfs_dev)
{
	unsigned int major, minor;
	struct stat st;
	char buf[32];
	int ret;

	if (stat(dev_path, &st) == 0)
		return S_ISCHR(st.st_mode) ? 0 : -ENOTTY;
	if (errno != ENOENT)
		return -errno;
	ret = read_line(sysfs_dev, buf, sizeof(buf));
	if (ret)
		return ret;
	if (sscanf(buf, "%u:%u", &major, &minor) != 2)
		return -EINVAL;
	if (mknod(dev_path, S_IFCHR | 0600, makedev(major, minor)) && errno != EEXIST)
		return -errno;
	return 0;
}

int agent_find_port(const char *sysfs_root, const char *dev_root, const char *name,
		    char *out, size_t out_len)
{
	char path[512], buf[128];
	struct dirent *de;
	int ret = -ENOENT;
	DIR *d;

	if (!sysfs_root)
		sysfs_root = "/sys/class/virtio-ports";
	if (!dev_root)
		dev_root = "/dev";
	d = opendir(sysfs_root);
	if (!d)
		return errno == ENOENT ? -ENOENT : -errno;
	while ((de = readdir(d))) {
		if (de->d_name[0] == '.')
			continue;
		snprintf(path, sizeof(path), "%s/%s/name", sysfs_root, de->d_name);
		if (read_line(path, buf, sizeof(buf)) || strcmp(buf, name))
			continue;
		if ((size_t)snprintf(out, out_len, "%s/%s", dev_root, de->d_name) >= out_len) {
			ret = -ENAMETOOLONG;
			break;
		}
		snprintf(path, sizeof(path), "%s/%s/dev", sysfs_root, de->d_name);
		ret = agent_ensure_devnode(out, path);
		break;
	}
	closedir(d);
	return ret;
}
