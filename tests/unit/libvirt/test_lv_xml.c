/* SPDX-License-Identifier: MIT */
/*
 * Channel discovery and vcma metadata parsing against the XML fixtures in
 * fixtures/ (argv[1]): every accepted document yields the right values,
 * every refused one a non-zero return and a message that names the problem.
 */
#include <stdbool.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "libvirt_xml.h"
#include "lv_testutil.h"
#include "../../tap.h"

static const char *fixdir;

struct xml_case {
	const char *file;
	int ret;		/* what the parser must return */
	const char *want;	/* in the channel path (ret 1) or the error (ret < 0) */
};

static const struct xml_case channel_cases[] = {
	{ "channel-ok.xml", 1, "/run/vcma/vm1.sock" },
	{ "channel-none.xml", 0, "" },
	{ "channel-wrong-name.xml", 0, "" },
	{ "channel-two.xml", -EINVAL, "two channels" },
	{ "channel-no-path.xml", -EINVAL, "no socket path" },
	{ "channel-mode-connect.xml", -EINVAL, "mode='connect'" },
	{ "channel-pty.xml", -EINVAL, "type 'pty'" },
	{ "channel-relative.xml", -EINVAL, "not an absolute path" },
	{ "channel-guestfwd.xml", -EINVAL, "type='virtio'" },
	{ "channel-malformed.xml", -EINVAL, "malformed XML" },
	{ "channel-not-domain.xml", -EINVAL, "not <domain>" },
	{ "channel-empty.xml", -EINVAL, "malformed XML" },
};

static const struct xml_case meta_cases[] = {
	{ "meta-empty.xml", 1, "" },
	{ "meta-negative.xml", -EINVAL, "size '-64M'" },
	{ "meta-overflow.xml", -EINVAL, "size '99999999999999999999999'" },
	{ "meta-too-big.xml", -EINVAL, "size '2T'" },
	{ "meta-shift-overflow.xml", -EINVAL, "size '18014398509481984K'" },
	{ "meta-unaligned.xml", -EINVAL, "multiple of 4K" },
	{ "meta-zero.xml", -EINVAL, "size '0'" },
	{ "meta-count-huge.xml", -EINVAL, "count '4294967297'" },
	{ "meta-count-zero.xml", -EINVAL, "count '0'" },
	{ "meta-count-sum.xml", -EINVAL, "more than 256 ranges" },
	{ "meta-align-not-pow2.xml", -EINVAL, "align '3M'" },
	{ "meta-align-huge.xml", -EINVAL, "align '2G'" },
	{ "meta-unknown-element.xml", -EINVAL, "unknown element <reservations>" },
	{ "meta-unknown-attr.xml", -EINVAL, "unknown attribute 'sise'" },
	{ "meta-no-size.xml", -EINVAL, "needs size=" },
	{ "meta-foreign-ns.xml", -EINVAL, "unknown node <reservation>" },
	{ "meta-label-long.xml", -EINVAL, "label" },
	{ "meta-label-ctrl.xml", -EINVAL, "printable" },
	{ "meta-text.xml", -EINVAL, "unexpected text" },
	{ "meta-child.xml", -EINVAL, "must be empty" },
	{ "meta-two-balloons.xml", -EINVAL, "more than one <balloon>" },
	{ "meta-balloon-bad.xml", -EINVAL, "balloon target '1.5G'" },
	{ "meta-space.xml", -EINVAL, "size ' 64M'" },
	{ "meta-plus.xml", -EINVAL, "size '+64M'" },
	{ "meta-too-many.xml", -EINVAL, "more than 16 <reservation>" },
	{ "meta-wrong-ns.xml", -EINVAL, "neither <vcma:config>" },
	{ "meta-malformed.xml", -EINVAL, "malformed XML" },
	{ "meta-laughs.xml", -EINVAL, "" },
	{ "channel-empty.xml", -EINVAL, "malformed XML" },
	{ "channel-ok.xml", 0, "" },
};

static void test_channels(void)
{
	for (size_t i = 0; i < sizeof(channel_cases) / sizeof(channel_cases[0]); i++) {
		char path[VCMA_LV_PATHLEN], err[VCMA_LV_ERRLEN] = "";
		char *xml = lv_slurp(fixdir, channel_cases[i].file);
		int r = vcma_lv_find_channel(xml, NULL, path, err);
		const char *where = r > 0 ? path : err;

		ok(r == channel_cases[i].ret && strstr(where, channel_cases[i].want),
		   "channel %s: ret %d (want %d): %s", channel_cases[i].file, r,
		   channel_cases[i].ret, where);
		free(xml);
	}
}

static const struct xml_case qmp_cases[] = {
	{ "qmp-ok.xml", 1, "/run/vcma/vm1.qmp" },
	{ "qmp-tcp.xml", -EINVAL, "is not unix:/absolute/path" },
	{ "qmp-other-ns.xml", 0, "" },
	{ "channel-ok.xml", 0, "" },
	{ "channel-malformed.xml", -EINVAL, "malformed XML" },
};

/* Finders that answer 1 with a string, 0 with it empty, or -errno with a message. */
typedef int (*xml_finder)(const char *xml, char *out, char *err);

static void run_finder(const char *what, xml_finder fn, const struct xml_case *cases, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		char out[VCMA_LV_PATHLEN > VCMA_LV_ERRLEN ? VCMA_LV_PATHLEN : VCMA_LV_ERRLEN];
		char err[VCMA_LV_ERRLEN] = "";
		char *xml = lv_slurp(fixdir, cases[i].file);
		int r = fn(xml, out, err);
		const char *where = r > 0 ? out : err;

		ok(r == cases[i].ret && strstr(where, cases[i].want) && (r > 0 || out[0] == '\0'),
		   "%s %s: ret %d (want %d): %s", what, cases[i].file, r, cases[i].ret, where);
		free(xml);
	}
}

static const struct xml_case pin_cases[] = {
	{ "pin-hostdev.xml", 1, "host reclaim refused: domain has a <hostdev type='pci'> passthrough "
	  "device (VFIO pins guest memory)" },
	{ "pin-locked.xml", 1, "host reclaim refused: domain memory is locked (<memoryBacking><locked/>)" },
	{ "pin-mdev.xml", 1, "<hostdev type='mdev'> passthrough device (a mediated device" },
	{ "pin-interface-hostdev.xml", 1, "<interface type='hostdev'>" },
	{ "pin-vdpa.xml", 1, "vDPA device (<interface type='vdpa'>)" },
	{ "pin-disk-vdpa.xml", 1, "vDPA device (<disk type='vhostvdpa'>)" },
	{ "pin-launchsec.xml", 1, "confidential guest (<launchSecurity>)" },
	{ "pin-vhostuser.xml", 0, "" },		/* vhost-user maps, does not pin */
	{ "pin-none.xml", 0, "" },
	{ "channel-ok.xml", 0, "" },
	{ "channel-malformed.xml", -EINVAL, "malformed XML" },
};

static const struct xml_case unshared_cases[] = {
	{ "pin-hostdev.xml", 0, "" },		/* memfd, shared */
	{ "pin-none.xml", 0, "" },
	{ "channel-ok.xml", 1, "not a shared backend" },	/* no <memoryBacking> */
	{ "ram-private.xml", 1, "<access mode='shared'/>" },
	{ "ram-anonymous-shared.xml", 1, "anonymous or private memory" },
	{ "channel-malformed.xml", -EINVAL, "malformed XML" },
};

static void test_channel_name(void)
{
	char path[VCMA_LV_PATHLEN], err[VCMA_LV_ERRLEN] = "";
	char *xml = lv_slurp(fixdir, "channel-wrong-name.xml");
	int r = vcma_lv_find_channel(xml, "org.vcma.1", path, err);

	ok(r == 1 && strcmp(path, "/run/vcma/vm1.sock") == 0,
	   "a configured port name is looked up instead of org.vcma.0 (%d %s)", r, path);
	free(xml);
}

static void test_meta_refused(void)
{
	for (size_t i = 0; i < sizeof(meta_cases) / sizeof(meta_cases[0]); i++) {
		struct vcma_lv_desired d;
		char err[VCMA_LV_ERRLEN] = "";
		char *xml = lv_slurp(fixdir, meta_cases[i].file);
		struct timespec t0, t1;
		int r;

		memset(&d, 0xa5, sizeof(d));
		clock_gettime(CLOCK_MONOTONIC, &t0);
		r = vcma_lv_parse_desired(xml, &d, err);
		clock_gettime(CLOCK_MONOTONIC, &t1);
		ok(r == meta_cases[i].ret && strstr(err, meta_cases[i].want) &&
		   (r < 0 ? err[0] != '\0' : true) && (r <= 0 ? d.nr == 0 && !d.has_balloon : true),
		   "metadata %s: ret %d (want %d): %s", meta_cases[i].file, r, meta_cases[i].ret,
		   err);
		/* Entity expansion bombs must be stopped by the parser, not run. */
		if (strcmp(meta_cases[i].file, "meta-laughs.xml") == 0)
			ok(t1.tv_sec - t0.tv_sec < 5, "entity bomb refused quickly (%ld s)",
			   (long)(t1.tv_sec - t0.tv_sec));
		free(xml);
	}
}

static void test_meta_ok(void)
{
	struct vcma_lv_desired d, back;
	char err[VCMA_LV_ERRLEN] = "";
	char *xml = lv_slurp(fixdir, "meta-ok.xml"), *out;
	int r = vcma_lv_parse_desired(xml, &d, err);

	ok(r == 1 && d.nr == 2, "meta-ok.xml parses: %d reservations (%s)", d.nr, err);
	ok(d.rsv[0].size == 64ull << 20 && d.rsv[0].count == 4 && d.rsv[0].align == 2ull << 20 &&
	   strcmp(d.rsv[0].label, "nic0") == 0, "first reservation 4 x 64M align 2M 'nic0'");
	ok(d.rsv[1].size == 1ull << 30 && d.rsv[1].count == 1 && d.rsv[1].align == 1ull << 30 &&
	   d.rsv[1].label[0] == '\0', "second reservation 1 x 1G align 1G, count defaults to 1");
	ok(d.has_balloon && d.balloon_target == 512ull << 20, "balloon target 512MiB");
	free(xml);

	out = vcma_lv_format_desired(&d, err);
	ok(out && strstr(out, "size='64M' count='4' align='2M' label=\"nic0\"") &&
	   strstr(out, "<balloon target='512M'/>"), "formatted: %s", out ? out : err);
	/* The unqualified form is also what virDomainGetMetadata returns. */
	r = out ? vcma_lv_parse_desired(out, &back, err) : -1;
	ok(r == 1 && vcma_lv_desired_equal(&d, &back), "format then parse round-trips (%s)", err);
	free(out);

	xml = lv_slurp(fixdir, "meta-in-domain.xml");
	r = vcma_lv_parse_desired(xml, &d, err);
	ok(r == 1 && d.nr == 1 && d.rsv[0].count == 4 && d.balloon_target == 1ull << 30,
	   "metadata found under <domain><metadata> beside foreign elements (%s)", err);
	free(xml);
}

/* configs/vcma-domain.xml is what operators copy: it must say what it means. */
static void test_example_config(const char *path)
{
	struct vcma_lv_desired d;
	char err[VCMA_LV_ERRLEN] = "", chan[VCMA_LV_PATHLEN];
	char *xml;

	xml = lv_slurp(fixdir, path);
	ok(vcma_lv_parse_desired(xml, &d, err) == 1 && d.nr == 1 && d.rsv[0].count == 4 &&
	   d.rsv[0].size == 64ull << 20 && d.balloon_target == 512ull << 20,
	   "example domain's metadata: 4 x 64M, balloon 512M (%s)", err);
	ok(vcma_lv_find_channel(xml, NULL, chan, err) == -EINVAL &&
	   strstr(err, "only for a running domain"),
	   "example domain's channel leaves the path to libvirt: %s", err);
	free(xml);
}

static void test_label_escaping(void)
{
	struct vcma_lv_desired d = { .nr = 1 };
	char err[VCMA_LV_ERRLEN];
	char *out;

	d.rsv[0].size = 2ull << 20;
	d.rsv[0].count = 1;
	strcpy(d.rsv[0].label, "a\"<b>&'c");
	out = vcma_lv_format_desired(&d, err);
	ok(out && strstr(out, "label=\"a&quot;&lt;b&gt;&amp;'c\""), "labels are escaped: %s",
	   out ? out : err);
	free(out);
}

#define NS "<vcma:config xmlns:vcma='https://vcma.invalid/xmlns/vcma/1'>"

/* below='4G': the upper address limit, parsed, formatted back and compared. */
static void test_meta_below(const char *passthrough)
{
	static const struct {
		const char *attr, *want;
	} bad[] = {
		{ "below='8M'", "at least the size" },
		{ "below='256M1'", "below '256M1'" },
		{ "below='268435457'", "multiple of 4K" },
		{ "below='0'", "below '0'" },
		{ "below=''", "below ''" },
		{ "below='99999999999T'", "below '99999999999T'" },
	};
	struct vcma_lv_desired d, back;
	char err[VCMA_LV_ERRLEN] = "", xml[512], *out;
	int r;

	r = vcma_lv_parse_desired(NS "<vcma:reservation size='16M' count='2' below='256M' "
				  "label='edu0'/><vcma:reservation size='16M' label='edu0'/>"
				  "</vcma:config>", &d, err);
	ok(r == 1 && d.nr == 2 && d.rsv[0].below == 256ull << 20 && d.rsv[1].below == 0,
	   "below='256M' parsed, absent means no limit (%s)", err);
	out = vcma_lv_format_desired(&d, err);
	ok(out && strstr(out, "count='2' below='256M' label=\"edu0\"") &&
	   !strstr(strstr(out, "below=") + 1, "below="), "formatted: %s", out ? out : err);
	r = out ? vcma_lv_parse_desired(out, &back, err) : -1;
	ok(r == 1 && vcma_lv_desired_equal(&d, &back), "below round-trips (%s)", err);
	back.rsv[0].below = 4ull << 30;
	ok(!vcma_lv_desired_equal(&d, &back), "another limit is another desired state");
	free(out);
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		snprintf(xml, sizeof(xml), NS "<vcma:reservation size='16M' %s/></vcma:config>",
			 bad[i].attr);
		err[0] = '\0';
		r = vcma_lv_parse_desired(xml, &d, err);
		ok(r == -EINVAL && strstr(err, bad[i].want), "%s refused: %s", bad[i].attr, err);
	}

	out = lv_slurp(fixdir, passthrough);
	r = vcma_lv_parse_desired(out, &d, err);
	ok(r == 1 && d.nr == 1 && d.rsv[0].count == 2 && d.rsv[0].size == 64ull << 20 &&
	   d.rsv[0].below == 4ull << 30 && !strcmp(d.rsv[0].label, "nic0"),
	   "configs/vcma-passthrough.xml: 2 x 64M below 4G labelled nic0 (%s)", err);
	free(out);
}

int main(int argc, char **argv)
{
	if (argc != 4) {
		fprintf(stderr, "usage: %s FIXTURE_DIR EXAMPLE_DOMAIN_XML\n", argv[0]);
		return 2;
	}
	fixdir = argv[1];
	test_channels();
	test_channel_name();
	run_finder("qmp", vcma_lv_find_qmp, qmp_cases, sizeof(qmp_cases) / sizeof(qmp_cases[0]));
	run_finder("pinning", vcma_lv_find_pinning, pin_cases,
		   sizeof(pin_cases) / sizeof(pin_cases[0]));
	run_finder("unshared", vcma_lv_find_unshared, unshared_cases,
		   sizeof(unshared_cases) / sizeof(unshared_cases[0]));
	test_meta_refused();
	test_meta_ok();
	test_label_escaping();
	test_example_config(argv[2]);
	test_meta_below(argv[3]);
	return tap_done();
}
