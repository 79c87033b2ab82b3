/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * GET /v1/host: what an operator checks before relying on vcma. KVM is asked
 * through its uapi (KVM_GET_API_VERSION, KVM_CHECK_EXTENSION) in a child
 * process that the daemon waits for at most KVM_PROBE_MS: a wedged /dev/kvm
 * (seen with nested KVM) must not hang the daemon's loop.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/kvm.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include "api.h"

#define KVM_PROBE_MS 500

static const struct {
	const char *name;
	int cap;
} kvm_caps[] = {
	{ "user_memory", KVM_CAP_USER_MEMORY },
	{ "sync_mmu", KVM_CAP_SYNC_MMU },	/* host mm changes (hole punching) reach the guest */
	{ "nr_memslots", KVM_CAP_NR_MEMSLOTS },
	{ "max_vcpus", KVM_CAP_MAX_VCPUS },
	{ "irqfd", KVM_CAP_IRQFD },
	{ "ioeventfd", KVM_CAP_IOEVENTFD },
	{ "device_ctrl", KVM_CAP_DEVICE_CTRL },	/* VFIO device passthrough */
	{ "manual_dirty_log_protect2", KVM_CAP_MANUAL_DIRTY_LOG_PROTECT2 },
};
#define NR_CAPS (sizeof(kvm_caps) / sizeof(kvm_caps[0]))

/* Child: one int per query written to the pipe, -1 for a failed ioctl. */
static void kvm_probe_child(const char *dev, int wfd)
{
	int vals[NR_CAPS + 1];
	int fd = open(dev, O_RDWR | O_CLOEXEC);

	if (fd < 0)
		_exit(1);
	vals[0] = ioctl(fd, KVM_GET_API_VERSION, 0);
	for (size_t i = 0; i < NR_CAPS; i++)
		vals[i + 1] = ioctl(fd, KVM_CHECK_EXTENSION, kvm_caps[i].cap);
	if (write(wfd, vals, sizeof(vals)) != (ssize_t)sizeof(vals))
		_exit(1);
	_exit(0);
}

static json_object *kvm_json(const char *dev)
{
	json_object *o = json_object_new_object();
	int vals[NR_CAPS + 1];
	int p[2];
	pid_t pid;
	struct pollfd pfd;
	ssize_t n = -1;

	if (access(dev, F_OK) < 0) {
		json_object_object_add(o, "present", json_object_new_boolean(0));
		return o;
	}
	json_object_object_add(o, "present", json_object_new_boolean(1));
	if (pipe2(p, O_CLOEXEC) < 0)
		goto fail;
	pid = fork();
	if (pid == 0) {
		close(p[0]);
		kvm_probe_child(dev, p[1]);
	}
	close(p[1]);
	if (pid < 0) {
		close(p[0]);
		goto fail;
	}
	pfd = (struct pollfd){ .fd = p[0], .events = POLLIN };
	if (poll(&pfd, 1, KVM_PROBE_MS) == 1)
		n = read(p[0], vals, sizeof(vals));
	close(p[0]);
	if (n != (ssize_t)sizeof(vals))
		kill(pid, SIGKILL);
	waitpid(pid, NULL, 0);
	if (n != (ssize_t)sizeof(vals)) {
		json_object_object_add(o, "error", json_object_new_string(
			"/dev/kvm did not answer within 500 ms or could not be opened"));
		return o;
	}
	json_object_object_add(o, "api_version", json_object_new_int(vals[0]));
	json_object *caps = json_object_new_object();

	for (size_t i = 0; i < NR_CAPS; i++)
		json_object_object_add(caps, kvm_caps[i].name, json_object_new_int(vals[i + 1]));
	json_object_object_add(o, "extensions", caps);
	return o;
fail:
	json_object_object_add(o, "error", json_object_new_string(strerror(errno)));
	return o;
}

static long read_long(const char *path)
{
	FILE *f = fopen(path, "r");
	long v = -1;

	if (!f)
		return -1;
	if (fscanf(f, "%ld", &v) != 1)
		v = -1;
	fclose(f);
	return v;
}

static json_object *hugepages_json(const char *root)
{
	char dir[512], path[1024];
	json_object *arr = json_object_new_array();
	DIR *dh;
	struct dirent *e;

	snprintf(dir, sizeof(dir), "%s/sys/kernel/mm/hugepages", root);
	dh = opendir(dir);
	if (!dh)
		return arr;
	while ((e = readdir(dh))) {
		unsigned long kb;
		json_object *o;

		if (sscanf(e->d_name, "hugepages-%lukB", &kb) != 1)
			continue;
		o = json_object_new_object();
		json_object_object_add(o, "size", json_object_new_uint64((uint64_t)kb * 1024));
		snprintf(path, sizeof(path), "%s/%s/nr_hugepages", dir, e->d_name);
		json_object_object_add(o, "total", json_object_new_int64(read_long(path)));
		snprintf(path, sizeof(path), "%s/%s/free_hugepages", dir, e->d_name);
		json_object_object_add(o, "free", json_object_new_int64(read_long(path)));
		json_object_array_add(arr, o);
	}
	closedir(dh);
	return arr;
}

/* "always [madvise] never" -> "madvise" */
static json_object *bracketed(const char *path)
{
	char line[256], *a, *b;
	FILE *f = fopen(path, "r");

	if (!f)
		return NULL;
	if (!fgets(line, sizeof(line), f)) {
		fclose(f);
		return NULL;
	}
	fclose(f);
	a = strchr(line, '[');
	b = a ? strchr(a, ']') : NULL;
	if (!b)
		return NULL;
	*b = 0;
	return json_object_new_string(a + 1);
}

json_object *hostinfo_json(const char *root, const char *kvm_dev)
{
	json_object *o = json_object_new_object();
	json_object *thp = json_object_new_object();
	char path[512];

	json_object_object_add(o, "kvm", kvm_json(kvm_dev));
	json_object_object_add(o, "hugepages", hugepages_json(root));
	snprintf(path, sizeof(path), "%s/sys/kernel/mm/transparent_hugepage/enabled", root);
	json_object_object_add(thp, "enabled", bracketed(path));
	snprintf(path, sizeof(path), "%s/sys/kernel/mm/transparent_hugepage/defrag", root);
	json_object_object_add(thp, "defrag", bracketed(path));
	json_object_object_add(o, "transparent_hugepage", thp);
	json_object_object_add(o, "page_size", json_object_new_int64(sysconf(_SC_PAGESIZE)));
	return o;
}
