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
#include "../../unit/proto/tap.h"

static struct event_base *base;
static struct lv_embed env;

static struct {
	int attaches, detaches;
	char name[128], path[VCMA_LV_PATHLEN], detached[128];
	bool has_desired;
	struct vcma_lv_desired desired;
} seen;

static int admin_events;

static void sink_attach(const struct vcma_lv_domain *dom, void *opaque)
{
	(void)opaque;
	seen.attaches++;
	snprintf(seen.name, sizeof(seen.name), "%s", dom->name);
	snprintf(seen.path, sizeof(seen.path), "%s", dom->channel_path);
	seen.has_desired = dom->desired != NULL;
	if (dom->desired)
		seen.desired = *dom->desired;
}

static void sink_detach(const char *name, void *opaque)
{
	(void)opaque;
	seen.detaches++;
	snprintf(seen.detached, sizeof(seen.detached), "%s", name);
}

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
	ok(lv_embed_run_until(base, &seen.attaches, 1, 60) && strcmp(seen.name, "vcma-lv1") == 0 &&
	   strcmp(seen.path, sock) == 0, "attached on its start event with socket %s", seen.path);
	ok(seen.has_desired && seen.desired.nr == 1 && seen.desired.rsv[0].count == 2 &&
	   strcmp(seen.desired.rsv[0].label, "dma") == 0, "with the desired state in its metadata");
	ok(socket_listens(sock), "QEMU listens on that socket");

	ev = admin_events;
	ok(virDomainDestroy(dom) == 0 && lv_embed_run_until(base, &seen.detaches, 1, 60) &&
	   strcmp(seen.detached, "vcma-lv1") == 0, "detached when it stops");
	lv_embed_run_until(base, &admin_events, ev + 1, 10);
	ok(virDomainCreate(dom) == 0 && lv_embed_run_until(base, &seen.attaches, 2, 60) &&
	   strcmp(seen.path, sock) == 0, "attached again when it starts again");
	ok(virDomainDestroy(dom) == 0 && lv_embed_run_until(base, &seen.detaches, 2, 60),
	   "and detached again");
	virDomainUndefine(dom);
	virDomainFree(dom);
}

/* The example config leaves the socket path to libvirt; vcmad must find it. */
static void test_generated_path(virConnectPtr admin)
{
	char *xml = lv_embed_domain_xml(&env, "vcma-lv2", 128, "", NULL);
	virDomainPtr dom = virDomainCreateXML(admin, xml, 0);
	int attaches = seen.attaches, detaches = seen.detaches;

	free(xml);
	ok(dom && lv_embed_run_until(base, &seen.attaches, attaches + 1, 60) &&
	   strcmp(seen.name, "vcma-lv2") == 0 && strncmp(seen.path, env.dir, strlen(env.dir)) == 0 &&
	   socket_listens(seen.path),
	   "a channel without a path is attached at the socket libvirt chose (%s)", seen.path);
	ok(dom && virDomainDestroy(dom) == 0 &&
	   lv_embed_run_until(base, &seen.detaches, detaches + 1, 60),
	   "transient domain destroyed and detached");
	if (dom)
		virDomainFree(dom);
}

static void test_plain_domain(virConnectPtr admin)
{
	char sock[VCMA_LV_PATHLEN], chan[512], *xml;
	virDomainPtr dom;
	virDomainInfo info;
	uint64_t mem = 0;
	char msg[256] = "";
	int ev, attaches = seen.attaches, detaches = seen.detaches;

	xml = lv_embed_domain_xml(&env, "vcma-lv-plain", 256, NULL, NULL);
	dom = virDomainCreateXML(admin, xml, 0);
	free(xml);
	ev = admin_events;
	ok(dom != NULL, "domain without the channel started (%s)",
	   dom ? "ok" : virGetLastErrorMessage());
	if (!dom)
		return;
	/* The operator's callback runs after ours in the same dispatch. */
	lv_embed_run_until(base, &admin_events, ev + 1, 30);
	ok(seen.attaches == attaches, "a domain without the channel is not attached");

	snprintf(sock, sizeof(sock), "%s/ch2.sock", env.dir);
	snprintf(chan, sizeof(chan),
		 "<channel type='unix'><source mode='bind' path='%s'/>"
		 "<target type='virtio' name='org.vcma.0'/></channel>", sock);
	ok(virDomainAttachDeviceFlags(dom, chan, VIR_DOMAIN_AFFECT_LIVE) == 0 &&
	   lv_embed_run_until(base, &seen.attaches, attaches + 1, 60) &&
	   strcmp(seen.name, "vcma-lv-plain") == 0 && strcmp(seen.path, sock) == 0,
	   "a channel hot-plugged into it attaches it (%s)", virGetLastErrorMessage());

	/* Booting takes a few seconds under TCG; the balloon driver must be up. */
	bool shrunk = false;

	if (vcma_lv_balloon_fallback(env.conn, "vcma-lv-plain", 64ull << 20, &mem, msg,
				     sizeof(msg)) == 0) {
		for (int i = 0; i < 120 && !shrunk; i++) {
			lv_embed_run_for(base, 500);
			shrunk = virDomainGetInfo(dom, &info) == 0 && info.memory == 192 * 1024;
		}
	}
	ok(shrunk && mem == 192ull << 20,
	   "balloon fallback shrank the guest to 192 MiB (%s; libvirt reports %lu KiB)", msg,
	   info.memory);

	ok(virDomainDetachDeviceFlags(dom, chan, VIR_DOMAIN_AFFECT_LIVE) == 0 &&
	   lv_embed_run_until(base, &seen.detaches, detaches + 1, 60) &&
	   strcmp(seen.detached, "vcma-lv-plain") == 0,
	   "unplugging the channel detaches it (%s)", virGetLastErrorMessage());
	virDomainDestroy(dom);
	virDomainFree(dom);
}

int main(int argc, char **argv)
{
	static const struct vcma_lv_sink sink = { sink_attach, sink_detach };
	const char *why;
	virConnectPtr admin;
	int cb_life, cb_dev;

	why = lv_embed_setup(&env, argc, argv);
	if (why) {
		printf("1..0 # SKIP %s\n", why);
		return 0;
	}
	base = event_base_new();
	ok(vcma_lv_conn_new(base, &(struct vcma_lv_conf){ .uri = env.uri }, &sink, NULL,
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
	lv_embed_run_for(base, 100);
	vcma_lv_event_shutdown();
	event_base_free(base);
	lv_embed_cleanup(&env);
	return done_testing();
}
