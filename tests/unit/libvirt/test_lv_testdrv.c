/* SPDX-License-Identifier: MIT */
/*
 * The connector against libvirt's test:///default driver on a real libevent
 * loop: domains started with the vcma channel are attached with their
 * socket path and metadata, metadata edits (valid or hostile) reach the
 * sink, vcmad's own writes land in libvirt and do not echo back, stopped
 * domains are detached, and the balloon fallback changes the domain's
 * memory. A second connection plays the operator (virsh).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/event.h>
#include <libvirt/libvirt.h>
#include <libvirt/virterror.h>

#include "libvirt_events.h"
#include "libvirt_meta.h"
#include "../proto/tap.h"

#define URI "test:///default"

static struct event_base *base;
static const char *fixdir;

static struct {
	int attaches, detaches;
	char name[128], path[VCMA_LV_PATHLEN], detached[128];
	bool has_desired;
	struct vcma_lv_desired desired;
} seen;

static int operator_meta_events;

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

static void guard_fired(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	*(bool *)arg = true;
}

static bool run_until(const int *counter, int want)
{
	bool expired = false;
	struct timeval tv = { 10, 0 };
	struct event *guard = evtimer_new(base, guard_fired, &expired);

	evtimer_add(guard, &tv);
	while (!expired && *counter < want)
		event_base_loop(base, EVLOOP_ONCE);
	event_free(guard);
	return *counter >= want;
}

static char *slurp(const char *name)
{
	char path[512], *buf;
	FILE *f;
	long n;

	snprintf(path, sizeof(path), "%s/%s", fixdir, name);
	f = fopen(path, "rb");
	if (!f)
		exit(2);
	fseek(f, 0, SEEK_END);
	n = ftell(f);
	rewind(f);
	buf = calloc(1, (size_t)n + 1);
	if (!buf || fread(buf, 1, (size_t)n, f) != (size_t)n)
		exit(2);
	fclose(f);
	return buf;
}

static virDomainPtr define(virConnectPtr admin, const char *fixture)
{
	char *xml = slurp(fixture);
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
		run_until(&operator_meta_events, before + 1);
	return r;
}

static void test_discovery(virConnectPtr admin, struct vcma_lv_conn *c)
{
	virDomainPtr dom = define(admin, "testdrv-domain.xml");
	virDomainPtr bad = define(admin, "testdrv-badname.xml");
	virDomainPtr two = define(admin, "testdrv-twochannels.xml");

	ok(dom && bad && two, "fixture domains defined");
	ok(seen.attaches == 0, "defining a domain attaches nothing");
	ok(virDomainCreate(bad) == 0 && virDomainCreate(two) == 0 && virDomainCreate(dom) == 0,
	   "domains started");
	ok(run_until(&seen.attaches, 1) && strcmp(seen.name, "vcma-td1") == 0 &&
	   strcmp(seen.path, "/run/vcma-test/td1.sock") == 0,
	   "started domain attached with its channel socket (%s %s)", seen.name, seen.path);
	ok(seen.has_desired && seen.desired.nr == 1 && seen.desired.rsv[0].count == 4 &&
	   seen.desired.rsv[0].size == 64ull << 20 && seen.desired.balloon_target == 128ull << 20,
	   "its desired state came from <metadata>");

	ok(vcma_lv_conn_rescan(c) == 0 && seen.attaches == 1 && seen.detaches == 0,
	   "a rescan of unchanged domains tells the sink nothing (bad name, two channels skipped)");

	ok(operator_set_meta(dom, "<config><reservation size='2M' count='3'/></config>") == 0 &&
	   seen.attaches == 2 && seen.has_desired && seen.desired.nr == 1 &&
	   seen.desired.rsv[0].count == 3 && !seen.desired.has_balloon,
	   "an operator's metadata edit reaches the sink (%d attaches)", seen.attaches);
	ok(operator_set_meta(dom, "<config><reservation size='-2M'/></config>") == 0 &&
	   seen.attaches == 3 && !seen.has_desired,
	   "hostile metadata: the domain stays served, without desired state");
	ok(operator_set_meta(dom, "<config><reservation size='4M' count='100000'/></config>") == 0 &&
	   seen.attaches == 3,
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
	int before = operator_meta_events, attaches = seen.attaches;

	d.rsv[0] = (struct vcma_lv_reservation){ .size = 16ull << 20, .count = 2, .align = 2ull << 20 };
	d.rsv[1] = (struct vcma_lv_reservation){ .size = 4ull << 20, .count = 1, .label = "gpu" };
	ok(vcma_lv_write_desired(c, "vcma-td1", &d, err) == 0, "desired state written (%s)", err);
	run_until(&operator_meta_events, before + 1);
	ok(seen.attaches == attaches, "vcmad's own write does not come back to the sink");

	live = virDomainGetMetadata(dom, VIR_DOMAIN_METADATA_ELEMENT, VCMA_LV_NS_URI,
				    VIR_DOMAIN_AFFECT_LIVE);
	config = virDomainGetMetadata(dom, VIR_DOMAIN_METADATA_ELEMENT, VCMA_LV_NS_URI,
				      VIR_DOMAIN_AFFECT_CONFIG);
	ok(live && vcma_lv_parse_desired(live, &back, err) == 1 && vcma_lv_desired_equal(&d, &back),
	   "live metadata holds it (virDomainGetMetadata: %s)", live ? live : "none");
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

static void test_stop_start(virConnectPtr admin)
{
	virDomainPtr dom = virDomainLookupByName(admin, "vcma-td1");
	int attaches = seen.attaches;

	ok(virDomainDestroy(dom) == 0 && run_until(&seen.detaches, 1) &&
	   strcmp(seen.detached, "vcma-td1") == 0, "a stopped domain is detached (%s)",
	   seen.detached);
	ok(virDomainCreate(dom) == 0 && run_until(&seen.attaches, attaches + 1) &&
	   strcmp(seen.name, "vcma-td1") == 0 && seen.has_desired && seen.desired.nr == 2,
	   "started again, it is attached again with the desired state vcmad wrote");
	ok(virDomainDestroy(dom) == 0 && run_until(&seen.detaches, 2), "and detached again");
	virDomainUndefine(dom);
	virDomainFree(dom);
}

int main(int argc, char **argv)
{
	static const struct vcma_lv_sink sink = { sink_attach, sink_detach };
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

		r = vcma_lv_conn_new(base, &(struct vcma_lv_conf){ .uri = bad[i] }, &sink, NULL, &c);
		ok(r == -EINVAL && !c, "URI '%s' is refused at once (%d)", bad[i], r);
	}

	r = vcma_lv_conn_new(base, &(struct vcma_lv_conf){ .uri = URI }, &sink, NULL, &c);
	ok(r == 0 && vcma_lv_conn_connected(c) && vcma_lv_conn_generation(c) == 1,
	   "connected to " URI);
	ok(seen.attaches == 0, "the driver's stock domain (no channel) is not attached");

	admin = virConnectOpen(URI);
	cb = virConnectDomainEventRegisterAny(admin, NULL, VIR_DOMAIN_EVENT_ID_METADATA_CHANGE,
					      VIR_DOMAIN_EVENT_CALLBACK(on_operator_meta),
					      NULL, NULL);
	ok(admin && cb >= 0, "operator connection");

	test_discovery(admin, c);
	test_writeback(admin, c);
	test_balloon(admin, c);
	test_stop_start(admin);

	vcma_lv_conn_free(c);
	virConnectDomainEventDeregisterAny(admin, cb);
	virConnectClose(admin);
	vcma_lv_event_counts(&counts);
	ok(counts.dispatched > 0, "libvirt ran its events through the bridge (%llu callbacks)",
	   counts.dispatched);
	vcma_lv_event_shutdown();
	event_base_free(base);
	return done_testing();
}
