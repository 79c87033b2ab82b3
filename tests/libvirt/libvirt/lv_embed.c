/* SPDX-License-Identifier: MIT */
#define _XOPEN_SOURCE 700
#include "lv_embed.h"

#include <ftw.h>
#include <glob.h>
#include <signal.h>
#include <getopt.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "libvirt_xml.h"

#define QEMU_BIN "/usr/bin/qemu-system-x86_64"

/*
 * The embedded driver runs QEMU as root without confinement: no
 * virtlogd, no cgroups, no mount namespaces (none of them exist in the
 * test environment).
 */
static const char qemu_conf[] =
	"user = \"root\"\n"
	"group = \"root\"\n"
	"security_driver = \"none\"\n"
	"namespaces = []\n"
	"cgroup_controllers = []\n"
	"stdio_handler = \"file\"\n";

const char *lv_embed_setup(struct lv_embed *e, int argc, char **argv)
{
	static const struct option opts[] = {
		{ "kernel", required_argument, NULL, 'k' },
		{ "initrd", required_argument, NULL, 'i' },
		{ NULL, 0, NULL, 0 },
	};
	char path[128];
	FILE *f;
	int c;

	memset(e, 0, sizeof(*e));
	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		if (c == 'k' && !realpath(optarg, e->kernel))
			return "kernel not found";
		else if (c == 'i' && !realpath(optarg, e->initrd))
			return "initramfs not found";
		else if (c != 'k' && c != 'i')
			return "usage: --kernel FILE --initrd FILE";
	}
	if (!e->kernel[0] || !e->initrd[0])
		return "usage: --kernel FILE --initrd FILE";
	if (geteuid() != 0)
		return "the embedded QEMU driver runs guests as root here; not root";
	if (!getpwnam("libvirt-qemu"))
		return "user libvirt-qemu missing (scripts/deps creates it)";
	if (access(QEMU_BIN, X_OK) != 0)
		return QEMU_BIN " missing (qemu-system-x86)";
	if (access(e->kernel, R_OK) != 0 || access(e->initrd, R_OK) != 0)
		return "kernel or initramfs not readable";
	snprintf(e->dir, sizeof(e->dir), "/tmp/vcma-lv-XXXXXX");
	if (!mkdtemp(e->dir))
		return "mkdtemp failed";
	snprintf(path, sizeof(path), "%s/root", e->dir);
	mkdir(path, 0700);
	snprintf(path, sizeof(path), "%s/root/etc", e->dir);
	mkdir(path, 0700);
	snprintf(path, sizeof(path), "%s/root/etc/qemu.conf", e->dir);
	f = fopen(path, "w");
	if (!f || fputs(qemu_conf, f) < 0 || fclose(f) != 0)
		return "cannot write qemu.conf";
	snprintf(e->uri, sizeof(e->uri), "qemu:///embed?root=%s/root", e->dir);
	return NULL;
}

static int rm_entry(const char *p, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st;
	(void)flag;
	(void)ftw;
	remove(p);	/* best effort: a leftover temp file fails no test */
	return 0;
}

/*
 * QEMU is daemonized by libvirt and outlives this process: a test that
 * stopped half-way must not leave its guests running.
 */
static void kill_leftover_qemu(const struct lv_embed *e)
{
	char path[256];
	glob_t g;

	snprintf(path, sizeof(path), "%s/root/run/qemu/*.pid", e->dir);
	if (glob(path, 0, NULL, &g) != 0)
		return;
	for (size_t i = 0; i < g.gl_pathc; i++) {
		const char *base = strrchr(g.gl_pathv[i], '/') + 1;
		FILE *f;
		int pid = 0;

		/* driver.pid is the embedded driver itself: this process. */
		if (strcmp(base, "driver.pid") == 0)
			continue;
		f = fopen(g.gl_pathv[i], "r");

		if (f && fscanf(f, "%d", &pid) == 1 && pid > 1 && pid != getpid())
			kill(pid, SIGTERM);
		if (f)
			fclose(f);
	}
	globfree(&g);
}

void lv_embed_cleanup(struct lv_embed *e)
{
	if (e->dir[0])
		kill_leftover_qemu(e);
	if (e->dir[0] && !getenv("VCMA_KEEP_TMP"))
		nftw(e->dir, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
}

char *lv_embed_domain_xml(const struct lv_embed *e, const char *name, unsigned mem_mib,
			  const char *sock, const char *meta)
{
	char *xml = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&xml, &len);

	if (!f)
		return NULL;
	fprintf(f, "<domain type='qemu'>\n  <name>%s</name>\n", name);
	if (meta)
		fprintf(f, "  <metadata>\n    <config xmlns='%s'>%s</config>\n  </metadata>\n",
			VCMA_LV_NS_URI, meta);
	fprintf(f,
		"  <memory unit='MiB'>%u</memory>\n"
		"  <memoryBacking><source type='memfd'/><access mode='shared'/></memoryBacking>\n"
		"  <vcpu>1</vcpu>\n"
		"  <os>\n"
		"    <type arch='x86_64' machine='pc'>hvm</type>\n"
		"    <kernel>%s</kernel>\n"
		"    <initrd>%s</initrd>\n"
		"    <cmdline>console=ttyS0 quiet panic=-1</cmdline>\n"
		"  </os>\n"
		"  <on_reboot>destroy</on_reboot>\n"
		"  <devices>\n"
		"    <emulator>" QEMU_BIN "</emulator>\n"
		"    <controller type='virtio-serial' index='0'/>\n",
		mem_mib, e->kernel, e->initrd);
	if (sock && sock[0])
		fprintf(f,
			"    <channel type='unix'>\n"
			"      <source mode='bind' path='%s'/>\n"
			"      <target type='virtio' name='org.vcma.0'/>\n"
			"    </channel>\n", sock);
	else if (sock)
		fputs("    <channel type='unix'>\n"
		      "      <source mode='bind'/>\n"
		      "      <target type='virtio' name='org.vcma.0'/>\n"
		      "    </channel>\n", f);
	fprintf(f,
		"    <serial type='file'><source path='%s/%s.console'/></serial>\n"
		"    <memballoon model='virtio'/>\n"
		"  </devices>\n"
		"</domain>\n", e->dir, name);
	if (fclose(f) != 0) {
		free(xml);
		return NULL;
	}
	return xml;
}
