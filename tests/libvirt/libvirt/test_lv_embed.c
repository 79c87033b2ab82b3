/* SPDX-License-Identifier: MIT */
/*
 * The connector against real QEMU domains through libvirt's in-process
 * driver, qemu:///embed?root=DIR (TCG, direct kernel boot of Debian's
 * kernel with a busybox initramfs): a domain started with the vcma channel
 * is attached with the socket QEMU listens on, a domain without it is not,
 * a channel hot-plugged into a running domain attaches it and unplugging
 * detaches it, a stopped domain is detached and attached again when it
 * starts, and the balloon fallback really shrinks a guest (libvirt reports
 * the guest's new size once its virtio_balloon driver has inflated).
 *
 *   test-lv-embed --kernel VMLINUZ --initrd CPIO
 */
#include <stdbool.h>
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <event2/event.h>
#include <libvirt/libvirt.h>
#include <libvirt/virterror.h>

#include "libvirt_events.h"
#include "libvirt_meta.h"
#include "lv_embed.h"
#include "lv_testutil.h"
#include "../../tap.h"

static struct event_base *base;
static struct lv_embed env;

static int admin_events;

static int on_admin_event(virConnectPtr c, virDomainPtr d, int ev, int detail, void *o)
{
	(void)c;
	(void)d;
	(void)ev;
	(void)detail;
	(void)o;
	admin_events++;
	return 0;
}

static void on_admin_device(virConnectPtr c, virDomainPtr d, const char *alias, void *o)
{
	(void)c;
	(void)d;
	(void)alias;
	(void)o;
	admin_events++;
}

static bool socket_listens(const char *path)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	bool ok;

	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", path);
	ok = fd >= 0 && connect(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0;
	if (fd >= 0)
		close(fd);
	return ok;
}

static void test_channel_domain(virConnectPtr admin)
{
	char sock[VCMA_LV_PATHLEN], *xml;
	virDomainPtr dom;
	int ev;

	snprintf(sock, sizeof(sock), "%s/ch1.sock", env.dir);
	xml = lv_embed_domain_xml(&env, "vcma-lv1", 256, sock,
				  "<reservation size='2M' count='2' label='dma'/>");
	dom = virDomainDefineXML(admin, xml);
	free(xml);
	ok(dom != NULL, "domain with the vcma channel defined (%s)",
	   dom ? "ok" : virGetLastErrorMessage());
	if (!dom)
		return;
	ok(virDomainCreate(dom) == 0, "and started (%s)", virGetLastErrorMessage());
	ok(lv_run_until(base, &lv_seen.attaches, 1, 60 * 1000) && strcmp(lv_seen.name, "vcma-lv1") == 0 &&
	   strcmp(lv_seen.path, sock) == 0, "attached on its start event with socket %s", lv_seen.path);
	ok(lv_seen.has_desired && lv_seen.desired.nr == 1 && lv_seen.desired.rsv[0].count == 2 &&
	   strcmp(lv_seen.desired.rsv[0].label, "dma") == 0, "with the desired state in its metadata");
	ok(socket_listens(sock), "QEMU listens on that socket");

	ev = admin_events;
	ok(virDomainDestroy(dom) == 0 && lv_run_until(base, &lv_seen.detaches, 1, 60 * 1000) &&
	   strcmp(lv_seen.detached, "vcma-lv1") == 0, "detached when it stops");
	lv_run_until(base, &admin_events, ev + 1, 10 * 1000);
	ok(virDomainCreate(dom) == 0 && lv_run_until(base, &lv_seen.attaches, 2, 60 * 1000) &&
	   strcmp(lv_seen.path, sock) == 0, "attached again when it starts again");
	ok(virDomainDestroy(dom) == 0 && lv_run_until(base, &lv_seen.detaches, 2, 60 * 1000),
	   "and detached again");
	virDomainUndefine(dom);
	virDomainFree(dom);
}

/* The example config leaves the socket path to libvirt; vcmad must find it. */
static void test_generated_path(virConnectPtr admin)
{
	char *xml = lv_embed_domain_xml(&env, "vcma-lv2", 128, "", NULL);
	virDomainPtr dom = virDomainCreateXML(admin, xml, 0);
	int attaches = lv_seen.attaches, detaches = lv_seen.detaches;

	free(xml);
	ok(dom && lv_run_until(base, &lv_seen.attaches, attaches + 1, 60 * 1000) &&
	   strcmp(lv_seen.name, "vcma-lv2") == 0 && strncmp(lv_seen.path, env.dir, strlen(env.dir)) == 0 &&
	   socket_listens(lv_seen.path),
	   "a channel without a path is attached at the socket libvirt chose (%s)", lv_seen.path);
	ok(dom && virDomainDestroy(dom) == 0 &&
	   lv_run_until(base, &lv_seen.detaches, detaches + 1, 60 * 1000),
	   "transient domain destroyed and detached");
	if (dom)
		virDomainFree(dom);
}

/* Waits (guest boot under TCG, then its virtio_balloon) for libvirt to report mib. */
static bool wait_memory(virDomainPtr dom, unsigned long mib, unsigned long *now_kib)
{
	virDomainInfo info = { 0 };

	for (int i = 0; i < 240; i++) {
		if (virDomainGetInfo(dom, &info) == 0 && info.memory == mib * 1024)
			break;
		lv_run_for(base, 500);
	}
	*now_kib = info.memory;
	return info.memory == mib * 1024;
}

static void test_plain_domain(virConnectPtr admin)
{
	char sock[VCMA_LV_PATHLEN], chan[512], *xml;
	virDomainPtr dom;
	unsigned long kib = 0;
	uint64_t mem = 0;
	char msg[256] = "";
	int ev, attaches = lv_seen.attaches, detaches = lv_seen.detaches;

	xml = lv_embed_domain_xml(&env, "vcma-lv-plain", 256, NULL, "<balloon target='64M'/>");
	dom = virDomainCreateXML(admin, xml, 0);
	free(xml);
	ev = admin_events;
	ok(dom != NULL, "domain without the channel started (%s)",
	   dom ? "ok" : virGetLastErrorMessage());
	if (!dom)
		return;
	/* The operator's callback runs after ours in the same dispatch. */
	lv_run_until(base, &admin_events, ev + 1, 30 * 1000);
	ok(lv_seen.attaches == attaches, "a domain without the channel is not attached");
	ok(wait_memory(dom, 192, &kib),
	   "its <vcma:balloon target='64M'/> went to libvirt's balloon: 192 MiB (%lu KiB)", kib);

	ok(vcma_lv_balloon_fallback(env.conn, "vcma-lv-plain", 96ull << 20, &mem, msg,
				    sizeof(msg)) == 0 && mem == 160ull << 20 &&
	   wait_memory(dom, 160, &kib),
	   "balloon fallback request: %s; libvirt reports %lu KiB", msg, kib);

	snprintf(sock, sizeof(sock), "%s/ch2.sock", env.dir);
	snprintf(chan, sizeof(chan),
		 "<channel type='unix'><source mode='bind' path='%s'/>"
		 "<target type='virtio' name='org.vcma.0'/></channel>", sock);
	ok(virDomainAttachDeviceFlags(dom, chan, VIR_DOMAIN_AFFECT_LIVE) == 0 &&
	   lv_run_until(base, &lv_seen.attaches, attaches + 1, 60 * 1000) &&
	   strcmp(lv_seen.name, "vcma-lv-plain") == 0 && strcmp(lv_seen.path, sock) == 0,
	   "a channel hot-plugged into it attaches it (%s)", virGetLastErrorMessage());
	ok(virDomainDetachDeviceFlags(dom, chan, VIR_DOMAIN_AFFECT_LIVE) == 0 &&
	   lv_run_until(base, &lv_seen.detaches, detaches + 1, 60 * 1000) &&
	   strcmp(lv_seen.detached, "vcma-lv-plain") == 0,
	   "unplugging the channel detaches it (%s)", virGetLastErrorMessage());
	virDomainDestroy(dom);
	virDomainFree(dom);
}

int main(int argc, char **argv)
{
	const char *why;
	virConnectPtr admin;
	int cb_life, cb_dev;

	why = lv_embed_setup(&env, argc, argv);
	if (why) {
		printf("1..0 # SKIP %s\n", why);
		return 0;
	}
	base = event_base_new();
	ok(vcma_lv_conn_new(base, &(struct vcma_lv_conf){ .uri = env.uri }, &lv_recording_sink, NULL,
			    &env.conn) == 0 && vcma_lv_conn_connected(env.conn),
	   "connector connected to %s", env.uri);
	admin = virConnectOpen(env.uri);
	ok(admin != NULL, "a second connection to the same embedded driver (%s)",
	   admin ? "ok" : virGetLastErrorMessage());
	if (!env.conn || !admin)
		goto out;
	cb_life = virConnectDomainEventRegisterAny(admin, NULL, VIR_DOMAIN_EVENT_ID_LIFECYCLE,
						   VIR_DOMAIN_EVENT_CALLBACK(on_admin_event),
						   NULL, NULL);
	cb_dev = virConnectDomainEventRegisterAny(admin, NULL, VIR_DOMAIN_EVENT_ID_DEVICE_ADDED,
						  VIR_DOMAIN_EVENT_CALLBACK(on_admin_device),
						  NULL, NULL);

	test_channel_domain(admin);
	test_generated_path(admin);
	test_plain_domain(admin);

	virConnectDomainEventDeregisterAny(admin, cb_life);
	virConnectDomainEventDeregisterAny(admin, cb_dev);
out:
	if (admin)
		virConnectClose(admin);
	vcma_lv_conn_free(env.conn);
	lv_run_for(base, 100);
	vcma_lv_event_shutdown();
	event_base_free(base);
	lv_embed_cleanup(&env);
	return tap_done();
}
