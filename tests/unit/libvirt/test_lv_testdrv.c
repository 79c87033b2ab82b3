/* SPDX-License-Identifier: MIT */
/*
 * The connector against libvirt's test:///default driver on a real libevent
 * loop: domains started with the vcma channel are attached with their
 * socket path and metadata, metadata edits (valid or hostile) reach the
 * sink, vcmad's own writes land in libvirt and do not echo back, stopped
 * domains are detached, and the balloon fallback changes the domain's
 * memory (on request, and by itself for agentless domains with a balloon
 * target in their metadata). A second connection plays the operator (virsh).
 */
#include <stdbool.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/event.h>
#include <libvirt/libvirt.h>
#include <libvirt/virterror.h>

#include "libvirt_events.h"
#include "libvirt_meta.h"
#include "lv_testutil.h"
#include "../../tap.h"

#define URI "test:///default"

static struct event_base *base;
static const char *fixdir;

static int operator_meta_events;

static void on_operator_meta(virConnectPtr conn, virDomainPtr dom, int type,
			     const char *nsuri, void *opaque)
{
	(void)conn;
	(void)dom;
	(void)type;
	(void)nsuri;
	(void)opaque;
	operator_meta_events++;
}

static virDomainPtr define(virConnectPtr admin, const char *fixture)
{
	char *xml = lv_slurp(fixdir, fixture);
	virDomainPtr dom = virDomainDefineXML(admin, xml);

	free(xml);
	return dom;
}

/* The operator sets metadata the way `virsh metadata --live` does. */
static int operator_set_meta(virDomainPtr dom, const char *xml)
{
	int before = operator_meta_events, r;

	r = virDomainSetMetadata(dom, VIR_DOMAIN_METADATA_ELEMENT, xml, VCMA_LV_NS_PREFIX,
				 VCMA_LV_NS_URI, VIR_DOMAIN_AFFECT_LIVE);
	/* Our callback was registered first: once the operator's runs, so has ours. */
	if (r == 0)
		lv_run_until(base, &operator_meta_events, before + 1, 10000);
	return r;
}

static void test_discovery(virConnectPtr admin, struct vcma_lv_conn *c)
{
	virDomainPtr dom = define(admin, "testdrv-domain.xml");
	virDomainPtr bad = define(admin, "testdrv-badname.xml");
	virDomainPtr two = define(admin, "testdrv-twochannels.xml");

	ok(dom && bad && two, "fixture domains defined");
	ok(lv_seen.attaches == 0, "defining a domain attaches nothing");
	ok(virDomainCreate(bad) == 0 && virDomainCreate(two) == 0 && virDomainCreate(dom) == 0,
	   "domains started");
	ok(lv_run_until(base, &lv_seen.attaches, 1, 10000) && strcmp(lv_seen.name, "vcma-td1") == 0 &&
	   strcmp(lv_seen.path, "/run/vcma-test/td1.sock") == 0,
	   "started domain attached with its channel socket (%s %s)", lv_seen.name, lv_seen.path);
	ok(lv_seen.has_desired && lv_seen.desired.nr == 1 && lv_seen.desired.rsv[0].count == 4 &&
	   lv_seen.desired.rsv[0].size == 64ull << 20 && lv_seen.desired.balloon_target == 128ull << 20,
	   "its desired state came from <metadata>");

	ok(vcma_lv_conn_rescan(c) == 0 && lv_seen.attaches == 1 && lv_seen.detaches == 0,
	   "a rescan of unchanged domains tells the sink nothing (bad name, two channels skipped)");

	ok(operator_set_meta(dom, "<config><reservation size='2M' count='3'/></config>") == 0 &&
	   lv_seen.attaches == 2 && lv_seen.has_desired && lv_seen.desired.nr == 1 &&
	   lv_seen.desired.rsv[0].count == 3 && !lv_seen.desired.has_balloon,
	   "an operator's metadata edit reaches the sink (%d attaches)", lv_seen.attaches);
	ok(operator_set_meta(dom, "<config><reservation size='-2M'/></config>") == 0 &&
	   lv_seen.attaches == 3 && !lv_seen.has_desired,
	   "hostile metadata: the domain stays served, without desired state");
	ok(operator_set_meta(dom, "<config><reservation size='4M' count='100000'/></config>") == 0 &&
	   lv_seen.attaches == 3,
	   "another refused edit changes nothing");

	virDomainFree(bad);
	virDomainFree(two);
	virDomainFree(dom);
}

static void test_writeback(virConnectPtr admin, struct vcma_lv_conn *c)
{
	struct vcma_lv_desired d = { .nr = 2, .has_balloon = true, .balloon_target = 64ull << 20 };
	struct vcma_lv_desired back;
	char err[VCMA_LV_ERRLEN] = "";
	virDomainPtr dom = virDomainLookupByName(admin, "vcma-td1");
	char *live, *config;
	int before = operator_meta_events, attaches = lv_seen.attaches;

	d.rsv[0] = (struct vcma_lv_reservation){ .size = 16ull << 20, .count = 2, .align = 2ull << 20 };
	d.rsv[1] = (struct vcma_lv_reservation){ .size = 4ull << 20, .count = 1, .label = "gpu" };
	ok(vcma_lv_write_desired(c, "vcma-td1", &d, err) == 0, "desired state written (%s)", err);
	lv_run_until(base, &operator_meta_events, before + 1, 10000);
	ok(lv_seen.attaches == attaches, "vcmad's own write does not come back to the sink");

	live = virDomainGetMetadata(dom, VIR_DOMAIN_METADATA_ELEMENT, VCMA_LV_NS_URI,
				    VIR_DOMAIN_AFFECT_LIVE);
	config = virDomainGetMetadata(dom, VIR_DOMAIN_METADATA_ELEMENT, VCMA_LV_NS_URI,
				      VIR_DOMAIN_AFFECT_CONFIG);
	ok(live && vcma_lv_parse_desired(live, &back, err) == 1 && vcma_lv_desired_equal(&d, &back),
	   "live metadata holds it (virDomainGetMetadata: %zu bytes)", live ? strlen(live) : 0);
	ok(config && vcma_lv_parse_desired(config, &back, err) == 1 &&
	   vcma_lv_desired_equal(&d, &back), "so does the persistent definition");
	free(live);
	free(config);

	ok(vcma_lv_write_desired(c, "no-such-domain", &d, err) == -ENOENT && strstr(err, "no domain"),
	   "writing to an unknown domain: %s", err);
	virDomainFree(dom);
}

static void test_balloon(virConnectPtr admin, struct vcma_lv_conn *c)
{
	virDomainPtr dom = virDomainLookupByName(admin, "vcma-td1");
	virDomainInfo info;
	uint64_t mem = 0;
	char msg[256] = "";

	ok(vcma_lv_balloon_fallback(c, "vcma-td1", 128ull << 20, &mem, msg, sizeof(msg)) == 0 &&
	   mem == 384ull << 20 && strstr(msg, "libvirt's balloon"),
	   "balloon fallback: %s", msg);
	ok(virDomainGetInfo(dom, &info) == 0 && info.memory == 384 * 1024,
	   "libvirt reports the domain at 384 MiB (%lu KiB)", info.memory);
	ok(vcma_lv_balloon_fallback(c, "vcma-td1", 448ull << 20, &mem, msg, sizeof(msg)) == -EINVAL &&
	   strstr(msg, "less than 128 MiB"), "a target below the floor is refused: %s", msg);
	ok(vcma_lv_balloon_fallback(c, "vcma-td1", 1ull << 40, &mem, msg, sizeof(msg)) == -EINVAL,
	   "a target above the domain's memory is refused: %s", msg);
	ok(vcma_lv_balloon_fallback(c, "nope", 0, &mem, msg, sizeof(msg)) == -ENOENT,
	   "unknown domain: %s", msg);
	virDomainFree(dom);
}

/* No channel, but <vcma:balloon>: the target goes to libvirt's balloon. */
static void test_agentless(virConnectPtr admin)
{
	virDomainPtr dom = define(admin, "testdrv-agentless.xml");
	virDomainInfo info = { 0 };
	int attaches = lv_seen.attaches;

	ok(dom && virDomainCreate(dom) == 0, "agentless domain with a balloon target started");
	for (int i = 0; i < 100 && dom && info.memory != 384 * 1024; i++) {
		lv_run_for(base, 20);
		virDomainGetInfo(dom, &info);
	}
	ok(info.memory == 384 * 1024 && lv_seen.attaches == attaches,
	   "not attached, and its memory went to 384 MiB through libvirt (%lu KiB)", info.memory);
	ok(operator_set_meta(dom, "<config><balloon target='1T'/></config>") == 0 &&
	   virDomainGetInfo(dom, &info) == 0 && info.memory == 384 * 1024,
	   "an impossible target is refused, the domain keeps its memory");
	if (dom) {
		virDomainDestroy(dom);
		virDomainUndefine(dom);
		virDomainFree(dom);
	}
}

static void test_stop_start(virConnectPtr admin)
{
	virDomainPtr dom = virDomainLookupByName(admin, "vcma-td1");
	int attaches, undefined;
	char uuid[VIR_UUID_STRING_BUFLEN];

	lv_run_for(base, 200);	/* the events of the domains before, delivered */
	attaches = lv_seen.attaches;
	undefined = lv_seen.undefined;

	ok(virDomainDestroy(dom) == 0 && lv_run_until(base, &lv_seen.detaches, 1, 10000) &&
	   strcmp(lv_seen.detached, "vcma-td1") == 0, "a stopped domain is detached (%s)",
	   lv_seen.detached);
	ok(virDomainCreate(dom) == 0 && lv_run_until(base, &lv_seen.attaches, attaches + 1, 10000) &&
	   strcmp(lv_seen.name, "vcma-td1") == 0 && lv_seen.has_desired && lv_seen.desired.nr == 2,
	   "started again, it is attached again with the desired state vcmad wrote");
	attaches = lv_seen.attaches;
	ok(virDomainSuspend(dom) == 0 && lv_run_until(base, &lv_seen.attaches, attaches + 1, 10000) &&
	   lv_seen.paused, "paused: attached again saying so (its timers stop)");
	ok(virDomainResume(dom) == 0 && lv_run_until(base, &lv_seen.attaches, attaches + 2, 10000) &&
	   !lv_seen.paused, "resumed: attached again running");
	ok(virDomainDestroy(dom) == 0 && lv_run_until(base, &lv_seen.detaches, 2, 10000), "and detached again");
	ok(lv_seen.undefined == undefined, "stopping a persistent domain does not forget it");
	ok(virDomainGetUUIDString(dom, uuid) == 0 && virDomainUndefine(dom) == 0 &&
	   lv_run_until(base, &lv_seen.undefined, undefined + 1, 10000) &&
	   !strcmp(lv_seen.undefined_uuid, uuid) && !strcmp(lv_seen.undefined_name, "vcma-td1"),
	   "undefining it while stopped: gone for good (%s)", lv_seen.undefined_uuid);
	virDomainFree(dom);

	/* undefined while running: transient now, gone when it stops */
	dom = define(admin, "testdrv-domain.xml");
	ok(dom && virDomainCreate(dom) == 0 && virDomainUndefine(dom) == 0, "running domain undefined");
	lv_run_for(base, 300);
	ok(lv_seen.undefined == undefined + 1, "not gone while it runs");
	ok(virDomainDestroy(dom) == 0 && lv_run_until(base, &lv_seen.undefined, undefined + 2, 10000),
	   "gone once the now transient domain stopped");
	virDomainFree(dom);
}

int main(int argc, char **argv)
{
	struct vcma_lv_conn *c = NULL;
	struct vcma_lv_event_counts counts;
	virConnectPtr admin;
	int r, cb;

	if (argc != 2)
		return 2;
	fixdir = argv[1];
	base = event_base_new();

	for (size_t i = 0; i < 2; i++) {
		static const char *const bad[] = { "not a uri", "qemu:///embed" };

		r = vcma_lv_conn_new(base, &(struct vcma_lv_conf){ .uri = bad[i] }, &lv_recording_sink, NULL, &c);
		ok(r == -EINVAL && !c, "URI '%s' is refused at once (%d)", bad[i], r);
	}

	r = vcma_lv_conn_new(base, &(struct vcma_lv_conf){ .uri = URI }, &lv_recording_sink, NULL, &c);
	ok(r == 0 && vcma_lv_conn_connected(c) && vcma_lv_conn_generation(c) == 1,
	   "connected to " URI);
	ok(lv_seen.attaches == 0, "the driver's stock domain (no channel) is not attached");

	admin = virConnectOpen(URI);
	cb = virConnectDomainEventRegisterAny(admin, NULL, VIR_DOMAIN_EVENT_ID_METADATA_CHANGE,
					      VIR_DOMAIN_EVENT_CALLBACK(on_operator_meta),
					      NULL, NULL);
	ok(admin && cb >= 0, "operator connection");

	test_discovery(admin, c);
	test_writeback(admin, c);
	test_balloon(admin, c);
	test_agentless(admin);
	test_stop_start(admin);

	vcma_lv_conn_free(c);
	virConnectDomainEventDeregisterAny(admin, cb);
	virConnectClose(admin);
	vcma_lv_event_counts(&counts);
	ok(counts.dispatched > 0, "libvirt ran its events through the bridge (%llu callbacks)",
	   counts.dispatched);
	vcma_lv_event_shutdown();
	event_base_free(base);
	return tap_done();
}
