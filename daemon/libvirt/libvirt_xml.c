/* SPDX-License-Identifier: MIT */
/*
 * Domain XML and vcma metadata parsing (see libvirt_xml.h).
 *
 * Documents are parsed with network access and entity substitution off and
 * libxml2's default size limits; its diagnostics are taken from the parser
 * context instead of being printed on stderr.
 */
#include "libvirt_xml.h"
#include "vcma_size.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libxml/parser.h>
#include <libxml/tree.h>

#define CHUNK_4K 4096ull

static void set_err(char err[VCMA_LV_ERRLEN], const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

static void set_err(char err[VCMA_LV_ERRLEN], const char *fmt, ...)
{
	va_list ap;

	if (!err)
		return;
	va_start(ap, fmt);
	vsnprintf(err, VCMA_LV_ERRLEN, fmt, ap);
	va_end(ap);
}

static xmlDocPtr parse_doc(const char *xml, const char *what, char err[VCMA_LV_ERRLEN])
{
	xmlParserCtxtPtr ctxt;
	xmlDocPtr doc;
	size_t len;

	if (!xml) {
		set_err(err, "%s: no XML", what);
		return NULL;
	}
	len = strlen(xml);
	if (len > 16u << 20) {
		set_err(err, "%s: XML larger than 16 MiB", what);
		return NULL;
	}
	ctxt = xmlNewParserCtxt();
	if (!ctxt) {
		set_err(err, "%s: out of memory", what);
		return NULL;
	}
	doc = xmlCtxtReadMemory(ctxt, xml, (int)len, what, NULL,
				XML_PARSE_NONET | XML_PARSE_NOERROR | XML_PARSE_NOWARNING);
	if (!doc || !xmlDocGetRootElement(doc)) {
		const xmlError *e = xmlCtxtGetLastError(ctxt);
		char msg[160] = "empty document";
		size_t n;

		if (e && e->message) {
			snprintf(msg, sizeof(msg), "%s", e->message);
			n = strlen(msg);
			while (n && (msg[n - 1] == '\n' || msg[n - 1] == ' '))
				msg[--n] = '\0';
		}
		set_err(err, "%s: malformed XML (line %d): %s", what, e ? e->line : 0, msg);
		xmlFreeDoc(doc);
		doc = NULL;
	}
	xmlFreeParserCtxt(ctxt);
	return doc;
}

static bool name_is(const xmlNode *n, const char *name)
{
	return n && n->type == XML_ELEMENT_NODE && xmlStrcmp(n->name, BAD_CAST name) == 0;
}

static bool in_ns(const xmlNode *n, const char *uri)
{
	return n->ns && n->ns->href && xmlStrcmp(n->ns->href, BAD_CAST uri) == 0;
}

static bool in_vcma_ns(const xmlNode *n)
{
	return in_ns(n, VCMA_LV_NS_URI);
}

static bool same_ns(const xmlNode *a, const xmlNode *b)
{
	const xmlChar *ha = a->ns ? a->ns->href : NULL, *hb = b->ns ? b->ns->href : NULL;

	return ha == hb || (ha && hb && xmlStrcmp(ha, hb) == 0);
}

static const xmlNode *first_child(const xmlNode *parent, const char *name)
{
	for (const xmlNode *c = parent ? parent->children : NULL; c; c = c->next)
		if (name_is(c, name))
			return c;
	return NULL;
}

/* An attribute's value, NULL when absent; the caller xmlFree()s it. */
static char *attr(const xmlNode *n, const char *name)
{
	return (char *)xmlGetNoNsProp((xmlNodePtr)n, BAD_CAST name);
}

static bool attr_is(const xmlNode *n, const char *name, const char *want)
{
	char *v = attr(n, name);
	bool eq = v && strcmp(v, want) == 0;

	xmlFree(v);
	return eq;
}

int vcma_lv_find_channel(const char *domain_xml, const char *port_name,
			 char path[VCMA_LV_PATHLEN], char err[VCMA_LV_ERRLEN])
{
	const xmlNode *root, *devices, *found = NULL;
	xmlDocPtr doc;
	char *type = NULL, *mode = NULL, *p = NULL;
	int ret = -EINVAL;

	if (!port_name)
		port_name = VCMA_PORT_NAME;
	path[0] = '\0';
	doc = parse_doc(domain_xml, "domain XML", err);
	if (!doc)
		return -EINVAL;
	root = xmlDocGetRootElement(doc);
	if (!name_is(root, "domain")) {
		set_err(err, "domain XML: root element is <%s>, not <domain>", (const char *)root->name);
		goto out;
	}
	devices = first_child(root, "devices");
	for (const xmlNode *c = devices ? devices->children : NULL; c; c = c->next) {
		const xmlNode *t = first_child(c, "target");

		if (!name_is(c, "channel") || !t || !attr_is(t, "name", port_name))
			continue;
		if (found) {
			set_err(err, "domain has two channels named '%s' (lines %ld and %ld); "
				"remove one", port_name, xmlGetLineNo(found), xmlGetLineNo(c));
			goto out;
		}
		found = c;
	}
	if (!found) {
		ret = 0;
		goto out;
	}
	type = attr(found, "type");
	if (!type || strcmp(type, "unix") != 0) {
		set_err(err, "channel '%s' has type '%s'; vcmad needs <channel type='unix'>",
			port_name, type ? type : "(none)");
		goto out;
	}
	if (!attr_is(first_child(found, "target"), "type", "virtio")) {
		set_err(err, "channel '%s' needs <target type='virtio'>", port_name);
		goto out;
	}
	const xmlNode *src = first_child(found, "source");

	if (!src) {
		set_err(err, "channel '%s' has no <source mode='bind' path='...'/>", port_name);
		goto out;
	}
	mode = attr(src, "mode");
	if (mode && strcmp(mode, "bind") != 0) {
		set_err(err, "channel '%s' has <source mode='%s'>; QEMU must listen "
			"(mode='bind') and vcmad connects", port_name, mode);
		goto out;
	}
	p = attr(src, "path");
	if (!p || !p[0]) {
		set_err(err, "channel '%s' has no socket path (<source path='...'>); "
			"libvirt fills it in only for a running domain", port_name);
		goto out;
	}
	if (p[0] != '/' || strlen(p) >= VCMA_LV_PATHLEN) {
		set_err(err, "channel '%s' socket path '%.64s' is not an absolute path "
			"shorter than %d bytes", port_name, p, VCMA_LV_PATHLEN);
		goto out;
	}
	memcpy(path, p, strlen(p) + 1);
	ret = 1;
out:
	xmlFree(type);
	xmlFree(mode);
	xmlFree(p);
	xmlFreeDoc(doc);
	return ret;
}

int vcma_lv_find_qmp(const char *domain_xml, char path[VCMA_LV_PATHLEN],
		     char err[VCMA_LV_ERRLEN])
{
	const xmlNode *root;
	bool next_is_qmp = false;
	xmlDocPtr doc;
	int ret = 0;

	path[0] = '\0';
	doc = parse_doc(domain_xml, "domain XML", err);
	if (!doc)
		return -EINVAL;
	root = xmlDocGetRootElement(doc);
	for (const xmlNode *cl = root->children; cl && ret == 0; cl = cl->next) {
		if (!name_is(cl, "commandline") || !in_ns(cl, VCMA_LV_QEMU_NS_URI))
			continue;
		for (const xmlNode *a = cl->children; a && ret == 0; a = a->next) {
			char *v = name_is(a, "arg") ? attr(a, "value") : NULL;
			const char *p, *end;

			if (!v)
				continue;
			if (next_is_qmp) {
				next_is_qmp = false;
				p = strncmp(v, "unix:", 5) == 0 ? v + 5 : NULL;
				end = p ? strchrnul(p, ',') : NULL;
				if (!p || p == end || *p != '/' || end - p >= VCMA_LV_PATHLEN) {
					set_err(err, "qemu:commandline -qmp '%.64s' is not "
						"unix:/absolute/path,server=on,wait=off", v);
					ret = -EINVAL;
				} else {
					memcpy(path, p, (size_t)(end - p));
					path[end - p] = '\0';
					ret = 1;
				}
			} else {
				next_is_qmp = strcmp(v, "-qmp") == 0;
			}
			xmlFree(v);
		}
	}
	xmlFreeDoc(doc);
	return ret;
}

/*
 * What in <devices> keeps guest pages pinned on the host for a device's DMA,
 * so that a punched page would leave the device on the old one: VFIO and
 * mediated devices (<hostdev>, also as <interface type='hostdev'>) and vDPA
 * (<interface type='vdpa'>, <disk type='vhostvdpa'>), whose kernel drivers
 * pin all of guest RAM. The reason goes to why; NULL when none.
 */
static bool pinning_device(const xmlNode *devices, char why[VCMA_LV_ERRLEN])
{
	for (const xmlNode *c = devices ? devices->children : NULL; c; c = c->next) {
		char *type;

		if (c->type != XML_ELEMENT_NODE)
			continue;
		if (name_is(c, "hostdev")) {
			type = attr(c, "type");
			set_err(why, "host reclaim refused: domain has a <hostdev%s%s%s> passthrough "
				"device (%s pins guest memory)", type ? " type='" : "",
				type ? type : "", type ? "'" : "",
				type && strcmp(type, "mdev") == 0 ? "a mediated device" : "VFIO");
			xmlFree(type);
			return true;
		}
		if (name_is(c, "interface") && attr_is(c, "type", "hostdev")) {
			set_err(why, "host reclaim refused: domain has an <interface type='hostdev'> "
				"(an SR-IOV function passed through with VFIO pins guest memory)");
			return true;
		}
		if ((name_is(c, "interface") && attr_is(c, "type", "vdpa")) ||
		    (name_is(c, "disk") && attr_is(c, "type", "vhostvdpa"))) {
			set_err(why, "host reclaim refused: domain has a vDPA device (<%s type='%s'>): "
				"vhost-vdpa pins guest memory", name_is(c, "disk") ? "disk" : "interface",
				name_is(c, "disk") ? "vhostvdpa" : "vdpa");
			return true;
		}
	}
	return false;
}

int vcma_lv_find_pinning(const char *domain_xml, char why[VCMA_LV_ERRLEN],
			 char err[VCMA_LV_ERRLEN])
{
	const xmlNode *root, *mb;
	xmlDocPtr doc;
	int ret = 0;

	why[0] = '\0';
	doc = parse_doc(domain_xml, "domain XML", err);
	if (!doc)
		return -EINVAL;
	root = xmlDocGetRootElement(doc);
	if (pinning_device(first_child(root, "devices"), why)) {
		ret = 1;
	} else if ((mb = first_child(root, "memoryBacking")) && first_child(mb, "locked")) {
		set_err(why, "host reclaim refused: domain memory is locked "
			"(<memoryBacking><locked/>): pinned on the host");
		ret = 1;
	} else if (first_child(root, "launchSecurity")) {
		set_err(why, "host reclaim refused: domain is a confidential guest "
			"(<launchSecurity>): its memory is encrypted and pinned, the host must "
			"not take pages back behind it");
		ret = 1;
	}
	xmlFreeDoc(doc);
	return ret;
}

int vcma_lv_find_unshared(const char *domain_xml, char why[VCMA_LV_ERRLEN],
			  char err[VCMA_LV_ERRLEN])
{
	const xmlNode *root, *mb, *src;
	bool shared;
	xmlDocPtr doc;

	why[0] = '\0';
	doc = parse_doc(domain_xml, "domain XML", err);
	if (!doc)
		return -EINVAL;
	root = xmlDocGetRootElement(doc);
	mb = first_child(root, "memoryBacking");
	src = first_child(mb, "source");
	/* hugepages without a source are hugetlbfs files libvirt opens shared when asked */
	shared = attr_is(first_child(mb, "access"), "mode", "shared") &&
		 (!src || attr_is(src, "type", "memfd") || attr_is(src, "type", "file"));
	if (!shared)
		set_err(why, "host reclaim impossible: domain RAM is not a shared backend "
			"(<memoryBacking> needs <source type='memfd'/> or 'file' and "
			"<access mode='shared'/>): anonymous or private memory cannot be punched");
	xmlFreeDoc(doc);
	return shared ? 0 : 1;
}

/* Sizes as operators write them, bounded so that no sum can overflow. */
static int parse_size(const char *s, uint64_t *out)
{
	return vcma_size_parse(s, 0, out) || *out > VCMA_LV_MAX_SIZE ? -EINVAL : 0;
}

static int parse_u32(const char *s, uint32_t max, uint32_t *out)
{
	uint64_t v = 0;

	if (!s || !*s)
		return -EINVAL;
	for (const char *p = s; *p; p++) {
		if (*p < '0' || *p > '9')
			return -EINVAL;
		v = v * 10 + (uint64_t)(*p - '0');
		if (v > max)
			return -EINVAL;
	}
	*out = (uint32_t)v;
	return 0;
}

/*
 * Only the attributes in allowed[] may appear on e; a typo such as
 * "sise" must not silently fall back to a default.
 */
static int check_attrs(const xmlNode *e, const char *const *allowed, char err[VCMA_LV_ERRLEN])
{
	for (const xmlAttr *a = e->properties; a; a = a->next) {
		bool ok = false;

		for (const char *const *w = allowed; *w; w++)
			ok |= xmlStrcmp(a->name, BAD_CAST *w) == 0;
		if (!ok || a->ns) {
			set_err(err, "vcma metadata: <%s> (line %ld) has unknown attribute '%s'",
				(const char *)e->name, xmlGetLineNo(e), (const char *)a->name);
			return -EINVAL;
		}
	}
	return 0;
}

static bool printable_label(const char *s)
{
	for (; *s; s++)
		if (*s < 0x20 || *s > 0x7e)
			return false;
	return true;
}

static int parse_reservation(const xmlNode *e, struct vcma_lv_reservation *r,
			     uint32_t *ranges, char err[VCMA_LV_ERRLEN])
{
	static const char *const allowed[] = { "size", "count", "align", "below", "label", NULL };
	char *size = attr(e, "size"), *count = attr(e, "count"), *align = attr(e, "align");
	char *label = attr(e, "label"), *below = attr(e, "below");
	long line = xmlGetLineNo(e);
	int ret = -EINVAL;

	if (check_attrs(e, allowed, err))
		goto out;
	if (!size) {
		set_err(err, "vcma metadata: <reservation> (line %ld) needs size='...'", line);
		goto out;
	}
	if (parse_size(size, &r->size) || r->size == 0 || r->size % CHUNK_4K) {
		set_err(err, "vcma metadata: reservation size '%.32s' (line %ld) is not a "
			"multiple of 4K between 4K and 1T (digits with K, M, G or T)", size, line);
		goto out;
	}
	r->count = 1;
	if (count && (parse_u32(count, VCMA_LV_MAX_RANGES, &r->count) || r->count == 0)) {
		set_err(err, "vcma metadata: reservation count '%.32s' (line %ld) is not "
			"between 1 and %u", count, line, VCMA_LV_MAX_RANGES);
		goto out;
	}
	if (*ranges + r->count > VCMA_LV_MAX_RANGES) {
		set_err(err, "vcma metadata: more than %u ranges requested in total",
			VCMA_LV_MAX_RANGES);
		goto out;
	}
	*ranges += r->count;
	r->align = 0;
	if (align && (parse_size(align, &r->align) || r->align < VCMA_LV_MIN_ALIGN ||
		      r->align > VCMA_LV_MAX_ALIGN || (r->align & (r->align - 1)))) {
		set_err(err, "vcma metadata: reservation align '%.32s' (line %ld) is not a "
			"power of two between 4K and 1G", align, line);
		goto out;
	}
	r->below = 0;
	if (below && (vcma_size_parse(below, VCMA_SIZE_NONZERO, &r->below) ||
		      r->below % CHUNK_4K || r->below < r->size)) {
		set_err(err, "vcma metadata: reservation below '%.32s' (line %ld) is not a "
			"multiple of 4K at least the size (the guest-physical address each "
			"range ends at or below, e.g. 4G)", below, line);
		goto out;
	}
	r->label[0] = '\0';
	if (label) {
		if (strlen(label) > VCMA_LABEL_MAX || !printable_label(label)) {
			set_err(err, "vcma metadata: reservation label (line %ld) must be at most "
				"%d printable ASCII characters", line, VCMA_LABEL_MAX);
			goto out;
		}
		strcpy(r->label, label);
	}
	ret = 0;
out:
	xmlFree(size);
	xmlFree(count);
	xmlFree(align);
	xmlFree(label);
	xmlFree(below);
	return ret;
}

static int parse_balloon(const xmlNode *e, struct vcma_lv_desired *d, char err[VCMA_LV_ERRLEN])
{
	static const char *const allowed[] = { "target", NULL };
	char *target = attr(e, "target");
	int ret = -EINVAL;

	if (check_attrs(e, allowed, err))
		goto out;
	if (d->has_balloon) {
		set_err(err, "vcma metadata: more than one <balloon> (line %ld)", xmlGetLineNo(e));
		goto out;
	}
	if (!target || parse_size(target, &d->balloon_target) ||
	    d->balloon_target % CHUNK_4K) {
		set_err(err, "vcma metadata: balloon target '%.32s' (line %ld) is not a "
			"multiple of 4K up to 1T", target ? target : "", xmlGetLineNo(e));
		goto out;
	}
	d->has_balloon = true;
	ret = 0;
out:
	xmlFree(target);
	return ret;
}

static const xmlNode *find_config(const xmlNode *root, char err[VCMA_LV_ERRLEN])
{
	const xmlNode *meta;

	/* virDomainGetMetadata hands the element back without its namespace. */
	if (name_is(root, "config") && (in_vcma_ns(root) || !root->ns))
		return root;
	if (!name_is(root, "domain")) {
		set_err(err, "vcma metadata: root element <%s> is neither <vcma:config> in "
			"namespace %s nor <domain>", (const char *)root->name, VCMA_LV_NS_URI);
		return NULL;
	}
	meta = first_child(root, "metadata");
	for (const xmlNode *c = meta ? meta->children : NULL; c; c = c->next)
		if (name_is(c, "config") && in_vcma_ns(c))
			return c;
	return root;	/* a domain without vcma metadata: empty desired state */
}

int vcma_lv_parse_desired(const char *xml, struct vcma_lv_desired *out, char err[VCMA_LV_ERRLEN])
{
	const xmlNode *cfg;
	uint32_t ranges = 0;
	xmlDocPtr doc;
	int ret = -EINVAL;

	memset(out, 0, sizeof(*out));
	doc = parse_doc(xml, "vcma metadata", err);
	if (!doc)
		return -EINVAL;
	cfg = find_config(xmlDocGetRootElement(doc), err);
	if (!cfg)
		goto out;
	if (name_is(cfg, "domain")) {
		ret = 0;
		goto out;
	}
	if (cfg->properties) {
		set_err(err, "vcma metadata: <config> takes no attributes");
		goto out;
	}
	for (const xmlNode *c = cfg->children; c; c = c->next) {
		if (c->type == XML_TEXT_NODE) {
			if (!xmlIsBlankNode((xmlNodePtr)c)) {
				set_err(err, "vcma metadata: unexpected text in <config> (line %ld)",
					xmlGetLineNo(c));
				goto out;
			}
			continue;
		}
		if (c->type == XML_COMMENT_NODE)
			continue;
		if (c->type != XML_ELEMENT_NODE || !same_ns(c, cfg)) {
			set_err(err, "vcma metadata: unknown node <%s> (line %ld) in <config>; "
				"expected vcma:reservation or vcma:balloon",
				c->name ? (const char *)c->name : "?", xmlGetLineNo(c));
			goto out;
		}
		if (c->children && !(c->children->type == XML_TEXT_NODE &&
				     xmlIsBlankNode(c->children) && !c->children->next)) {
			set_err(err, "vcma metadata: <%s> (line %ld) must be empty",
				(const char *)c->name, xmlGetLineNo(c));
			goto out;
		}
		if (name_is(c, "reservation")) {
			if (out->nr == VCMA_LV_MAX_RESERVATIONS) {
				set_err(err, "vcma metadata: more than %d <reservation> elements",
					VCMA_LV_MAX_RESERVATIONS);
				goto out;
			}
			if (parse_reservation(c, &out->rsv[out->nr], &ranges, err))
				goto out;
			out->nr++;
		} else if (name_is(c, "balloon")) {
			if (parse_balloon(c, out, err))
				goto out;
		} else {
			set_err(err, "vcma metadata: unknown element <%s> (line %ld); expected "
				"reservation or balloon", (const char *)c->name, xmlGetLineNo(c));
			goto out;
		}
	}
	ret = 1;
out:
	if (ret < 0)
		memset(out, 0, sizeof(*out));
	xmlFreeDoc(doc);
	return ret;
}

/* The largest suffix that represents v exactly, so virsh users read "64M". */
static void format_size(char buf[32], uint64_t v)
{
	static const char *const suffix[] = { "T", "G", "M", "K" };
	static const unsigned shift[] = { 40, 30, 20, 10 };

	for (size_t i = 0; i < 4 && v; i++) {
		if (v % (1ull << shift[i]) == 0) {
			snprintf(buf, 32, "%llu%s", (unsigned long long)(v >> shift[i]), suffix[i]);
			return;
		}
	}
	snprintf(buf, 32, "%llu", (unsigned long long)v);
}

char *vcma_lv_format_desired(const struct vcma_lv_desired *d, char err[VCMA_LV_ERRLEN])
{
	char *buf = NULL, num[32];
	size_t len = 0;
	FILE *f;

	if (d->nr > VCMA_LV_MAX_RESERVATIONS) {
		set_err(err, "desired state has %u reservations, at most %d fit in metadata",
			d->nr, VCMA_LV_MAX_RESERVATIONS);
		return NULL;
	}
	f = open_memstream(&buf, &len);
	if (!f) {
		set_err(err, "out of memory");
		return NULL;
	}
	fputs("<config>", f);
	for (uint32_t i = 0; i < d->nr; i++) {
		const struct vcma_lv_reservation *r = &d->rsv[i];

		format_size(num, r->size);
		fprintf(f, "<reservation size='%s' count='%u'", num, r->count);
		if (r->align) {
			format_size(num, r->align);
			fprintf(f, " align='%s'", num);
		}
		if (r->below) {
			format_size(num, r->below);
			fprintf(f, " below='%s'", num);
		}
		if (r->label[0]) {
			xmlChar *esc = xmlEncodeSpecialChars(NULL, BAD_CAST r->label);

			fprintf(f, " label=\"%s\"", esc ? (const char *)esc : "");
			xmlFree(esc);
		}
		fputs("/>", f);
	}
	if (d->has_balloon) {
		format_size(num, d->balloon_target);
		fprintf(f, "<balloon target='%s'/>", num);
	}
	fputs("</config>", f);
	if (fclose(f) != 0) {
		free(buf);
		set_err(err, "out of memory");
		return NULL;
	}
	return buf;
}

bool vcma_lv_desired_equal(const struct vcma_lv_desired *a, const struct vcma_lv_desired *b)
{
	if (a->nr != b->nr || a->has_balloon != b->has_balloon ||
	    (a->has_balloon && a->balloon_target != b->balloon_target))
		return false;
	for (uint32_t i = 0; i < a->nr; i++) {
		const struct vcma_lv_reservation *x = &a->rsv[i], *y = &b->rsv[i];

		if (x->size != y->size || x->align != y->align || x->below != y->below ||
		    x->count != y->count || strcmp(x->label, y->label) != 0)
			return false;
	}
	return true;
}
