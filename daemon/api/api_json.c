/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Pure halves of the REST API: routing, request parsing and the JSON views.
 * Request bodies come from local users of the socket; they are parsed with a
 * bounded json_tokener and every field is type- and range-checked, unknown
 * fields are refused (a typo must not silently become a default).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api.h"
#include "vcma_size.h"

#define MAX_COUNT 256
#define MAX_DEADLINE_MS (24u * 3600 * 1000)
#define JSON_DEPTH 8

static bool parse_u64_str(const char *s, uint64_t *out)
{
	uint64_t v = 0;

	if (!*s)
		return false;
	for (; *s; s++) {
		if (*s < '0' || *s > '9' || v > (UINT64_MAX - 9) / 10)
			return false;
		v = v * 10 + (uint64_t)(*s - '0');
	}
	*out = v;
	return true;
}

void api_route(const char *path, struct api_route *out)
{
	char seg[5][VCMA_VM_NAME_MAX + 2];
	int n = 0;
	const char *p = path;

	memset(out, 0, sizeof(*out));
	if (!strcmp(path, "/metrics")) {
		out->kind = API_METRICS;
		return;
	}
	while (*p == '/') {
		const char *e;
		size_t len;

		p++;
		e = strchr(p, '/');
		len = e ? (size_t)(e - p) : strlen(p);
		if (len == 0 && !e)
			break;	/* one trailing slash is tolerated */
		if (n == 5 || len == 0 || len > VCMA_VM_NAME_MAX)
			return;
		memcpy(seg[n], p, len);
		seg[n++][len] = 0;
		p += len;
	}
	if (*p || n < 2 || strcmp(seg[0], "v1"))
		return;
	if (n == 2 && !strcmp(seg[1], "host")) {
		out->kind = API_HOST;
		return;
	}
	if (strcmp(seg[1], "vms"))
		return;
	if (n == 2) {
		out->kind = API_VMS;
		return;
	}
	if (!vm_name_valid(seg[2]))
		return;
	memcpy(out->vm, seg[2], strlen(seg[2]) + 1);	/* vm_name_valid bounded it */
	if (n == 3)
		out->kind = API_VM;
	else if (n == 4 && !strcmp(seg[3], "reservations"))
		out->kind = API_RSVS;
	else if (n == 4 && !strcmp(seg[3], "balloon"))
		out->kind = API_BALLOON;
	else if (n == 5 && !strcmp(seg[3], "balloon") && !strcmp(seg[4], "statistics"))
		out->kind = API_BALLOON_STATS;
	else if (n == 5 && !strcmp(seg[3], "reservations") && parse_u64_str(seg[4], &out->id) &&
		 out->id)
		out->kind = API_RSV;
	if (out->kind == API_NOT_FOUND)
		memset(out, 0, sizeof(*out));
}

int api_json_size(json_object *v, uint64_t *out)
{
	if (json_object_is_type(v, json_type_int)) {
		int64_t n = json_object_get_int64(v);

		if (n < 0)
			return -EINVAL;
		*out = n == INT64_MAX ? json_object_get_uint64(v) : (uint64_t)n;
		return 0;
	}
	if (json_object_is_type(v, json_type_string))
		return vcma_size_parse(json_object_get_string(v), 0, out);
	return -EINVAL;
}

/* The body as one JSON object (only whitespace after it), or NULL with err. */
static json_object *parse_object(const char *body, size_t len, char *err, size_t errlen)
{
	struct json_tokener *tok;
	json_object *o;

	if (!len || len > 65536) {
		snprintf(err, errlen, "request body must be a JSON object");
		return NULL;
	}
	tok = json_tokener_new_ex(JSON_DEPTH);
	if (!tok) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	o = json_tokener_parse_ex(tok, body, (int)len);
	if (!o || json_tokener_get_error(tok) != json_tokener_success) {
		snprintf(err, errlen, "body is not valid JSON: %s",
			 json_tokener_error_desc(json_tokener_get_error(tok)));
		goto bad;
	}
	if (tok->char_offset < (int)len) {
		/* only whitespace may follow the object */
		for (size_t i = (size_t)tok->char_offset; i < len; i++) {
			if (body[i] != ' ' && body[i] != '\n' && body[i] != '\r' && body[i] != '\t') {
				snprintf(err, errlen, "trailing data after the JSON object");
				goto bad;
			}
		}
	}
	if (!json_object_is_type(o, json_type_object)) {
		snprintf(err, errlen, "request body must be a JSON object");
		goto bad;
	}
	json_tokener_free(tok);
	return o;
bad:
	json_object_put(o);
	json_tokener_free(tok);
	return NULL;
}

int api_parse_reserve(const char *body, size_t len, struct rsv_spec *out, char *err,
		      size_t errlen)
{
	json_object *o;
	int rc = -EINVAL;

	memset(out, 0, sizeof(*out));
	out->count = 1;
	o = parse_object(body, len, err, errlen);
	if (!o)
		return -EINVAL;
	bool have_size = false;

	json_object_object_foreach(o, key, val) {
		uint64_t v;

		if (!strcmp(key, "size")) {
			int r = api_json_size(val, &v);

			if (r || !v || v % 4096) {
				snprintf(err, errlen, r == -ERANGE ? "size: too large" :
					 "size: a positive multiple of 4096 bytes, as an integer or a string like \"64M\"");
				goto out;
			}
			out->size = v;
			have_size = true;
		} else if (!strcmp(key, "align")) {
			if (api_json_size(val, &v) || (v && (!vcma_size_is_pow2(v) || v < 4096))) {
				snprintf(err, errlen, "align: 0 or a power of two of at least 4096 bytes");
				goto out;
			}
			out->align = v;
		} else if (!strcmp(key, "max_addr")) {
			int r = api_json_size(val, &v);

			if (r || !v || v % 4096) {
				snprintf(err, errlen, r == -ERANGE ? "max_addr: too large" :
					 "max_addr: a positive multiple of 4096 bytes (the grant "
					 "ends at or below it), as an integer or a string like "
					 "\"4G\"");
				goto out;
			}
			out->max_addr = v;
		} else if (!strcmp(key, "count")) {
			if (!json_object_is_type(val, json_type_int) ||
			    json_object_get_int64(val) < 1 || json_object_get_int64(val) > MAX_COUNT) {
				snprintf(err, errlen, "count: an integer from 1 to %d", MAX_COUNT);
				goto out;
			}
			out->count = (uint32_t)json_object_get_int64(val);
		} else if (!strcmp(key, "deadline_ms") || !strcmp(key, "wait_ms")) {
			if (!json_object_is_type(val, json_type_int) ||
			    json_object_get_int64(val) < 0 ||
			    json_object_get_int64(val) > MAX_DEADLINE_MS) {
				snprintf(err, errlen, "%s: an integer from 0 to %u", key, MAX_DEADLINE_MS);
				goto out;
			}
			if (key[0] == 'd')
				out->deadline_ms = (uint32_t)json_object_get_int64(val);
			else
				out->wait_ms = (uint32_t)json_object_get_int64(val);
		} else if (!strcmp(key, "label")) {
			const char *s = json_object_get_string(val);

			if (!json_object_is_type(val, json_type_string) || strlen(s) > VCMA_LABEL_MAX) {
				snprintf(err, errlen, "label: a string of at most %d characters",
					 VCMA_LABEL_MAX);
				goto out;
			}
			for (const char *p = s; *p; p++) {
				if (*p < 0x20 || *p > 0x7e) {
					snprintf(err, errlen, "label: printable ASCII only");
					goto out;
				}
			}
			snprintf(out->label, sizeof(out->label), "%s", s);
		} else {
			snprintf(err, errlen, "unknown field '%.40s'", key);
			goto out;
		}
	}
	if (!have_size) {
		snprintf(err, errlen, "size is required");
		goto out;
	}
	if (!vm_limit_valid(out->size, out->max_addr)) {
		snprintf(err, errlen, "max_addr: %llu is below the size %llu: no grant fits "
			 "under it", (unsigned long long)out->max_addr,
			 (unsigned long long)out->size);
		goto out;
	}
	rc = 0;
out:
	json_object_put(o);
	return rc;
}

int api_parse_balloon(const char *body, size_t len, struct api_balloon_req *out, char *err,
		      size_t errlen)
{
	json_object *o = parse_object(body, len, err, errlen);
	int rc = -EINVAL;

	memset(out, 0, sizeof(*out));
	if (!o)
		return -EINVAL;
	json_object_object_foreach(o, key, val) {
		uint64_t v;
		int r;

		if (strcmp(key, "target") && strcmp(key, "size")) {
			snprintf(err, errlen, "unknown field '%.40s' (use target or size)", key);
			goto out;
		}
		r = api_json_size(val, &v);
		if (r || v % 4096) {
			snprintf(err, errlen, r == -ERANGE ? "%s: too large" :
				 "%s: a multiple of 4096 bytes, as an integer or a string like \"256M\"",
				 key);
			goto out;
		}
		if (key[0] == 't') {
			out->target = v;
			out->has_target = true;
		} else {
			out->size = v;
			out->has_size = true;
		}
	}
	if (out->has_target == out->has_size) {
		snprintf(err, errlen, "give exactly one of target (balloon bytes) or size "
			 "(guest memory wanted)");
		goto out;
	}
	rc = 0;
out:
	json_object_put(o);
	return rc;
}

int api_parse_stats_interval(const char *body, size_t len, uint32_t *interval_s, char *err,
			     size_t errlen)
{
	json_object *o = parse_object(body, len, err, errlen);
	bool have = false;
	int rc = -EINVAL;

	if (!o)
		return -EINVAL;
	json_object_object_foreach(o, key, val) {
		int64_t n;

		if (strcmp(key, "interval_s")) {
			snprintf(err, errlen, "unknown field '%.40s' (use interval_s)", key);
			goto out;
		}
		n = json_object_get_int64(val);
		if (!json_object_is_type(val, json_type_int) || n < 0 || n > 86400) {
			snprintf(err, errlen, "interval_s: whole seconds 0..86400 (0 stops polling)");
			goto out;
		}
		*interval_s = (uint32_t)n;
		have = true;
	}
	if (!have) {
		snprintf(err, errlen, "give interval_s (seconds between samples, 0 = off)");
		goto out;
	}
	rc = 0;
out:
	json_object_put(o);
	return rc;
}

static json_object *hex64(uint64_t v)
{
	char buf[24];

	snprintf(buf, sizeof(buf), "0x%llx", (unsigned long long)v);
	return json_object_new_string(buf);
}

/* What holds a grant in the guest: flags by name, and who a release would name. */
static void add_holders(json_object *o, uint32_t flags, const char *holder)
{
	static const char *const names[] = { "claimed", "exported", "mapped" };
	json_object *a;

	if (!flags && !holder[0])
		return;
	a = json_object_new_array();
	for (unsigned int i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		if (flags & (1u << i))
			json_object_array_add(a, json_object_new_string(names[i]));
	json_object_object_add(o, "held", a);
	json_object_object_add(o, "claimed_by", json_object_new_string(holder));
}

json_object *api_rsv_json(const struct vcma_vm *vm, const struct rsv *r)
{
	json_object *o = json_object_new_object();

	json_object_object_add(o, "id", json_object_new_uint64(r->id));
	json_object_object_add(o, "vm", json_object_new_string(vm->name));
	json_object_object_add(o, "state", json_object_new_string(rsv_state_name(r->state)));
	json_object_object_add(o, "size", json_object_new_uint64(r->size));
	json_object_object_add(o, "align", json_object_new_uint64(r->align));
	if (r->max_addr)
		json_object_object_add(o, "max_addr", json_object_new_uint64(r->max_addr));
	json_object_object_add(o, "label", json_object_new_string(r->label));
	json_object_object_add(o, "deadline_ms", json_object_new_uint64(r->deadline_ms));
	json_object_object_add(o, "attempts", json_object_new_uint64(r->attempts));
	json_object_object_add(o, "created", json_object_new_int64(r->created));
	if (r->grant_id) {
		json_object_object_add(o, "grant_id", json_object_new_uint64(r->grant_id));
		json_object_object_add(o, "gpa", hex64(r->gpa));
		json_object_object_add(o, "granted_size", json_object_new_uint64(r->granted_size));
		add_holders(o, r->holder_flags, r->claimed_by);
	}
	if (r->state == RSV_FAILED || r->detail[0]) {
		json_object_object_add(o, "status", json_object_new_string(vcma_status_name(r->status)));
		json_object_object_add(o, "cause", json_object_new_string(vcma_cause_name(r->cause)));
		json_object_object_add(o, "detail", json_object_new_string(r->detail));
	}
	if (r->ev.elapsed_us || r->ev.ranges_scanned) {
		json_object *e = json_object_new_object();

		json_object_object_add(e, "ranges_scanned", json_object_new_uint64(r->ev.ranges_scanned));
		json_object_object_add(e, "ranges_tried", json_object_new_uint64(r->ev.ranges_tried));
		json_object_object_add(e, "pages_migrated", json_object_new_uint64(r->ev.pages_migrated));
		json_object_object_add(e, "pinned_met", json_object_new_uint64(r->ev.pinned_met));
		json_object_object_add(e, "bh_invalidations",
				       json_object_new_uint64(r->ev.bh_invalidations));
		json_object_object_add(e, "retries", json_object_new_uint64(r->ev.retries));
		json_object_object_add(e, "elapsed_us", json_object_new_uint64(r->ev.elapsed_us));
		json_object_object_add(o, "evidence", e);
	}
	return o;
}

static json_object *caps_json(uint64_t caps)
{
	static const char *const names[] = { "reserve", "balloon", "status", "events", "dmabuf",
					     "pressure_deflate", "addr_limit" };
	json_object *a = json_object_new_array();

	for (unsigned int i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		if (caps & (1ull << i))
			json_object_array_add(a, json_object_new_string(names[i]));
	return a;
}

json_object *api_vm_json(const struct vcma_vm *vm, int detail)
{
	json_object *o = json_object_new_object();
	struct vcma_vm_info info;
	static const char *const sources[] = { "config", "cli", "libvirt" };

	vcma_vm_get_info(vm, &info);
	json_object_object_add(o, "name", json_object_new_string(vm->name));
	json_object_object_add(o, "channel", json_object_new_string(vm->channel));
	json_object_object_add(o, "source", json_object_new_string(
		vm->source <= VCMA_VM_SRC_LIBVIRT ? sources[vm->source] : "?"));
	json_object_object_add(o, "state", json_object_new_string(
		vm->unmanaged[0] ? "unmanaged" : vm_conn_name(vm->conn)));
	if (vm->unmanaged[0])
		json_object_object_add(o, "unmanaged_reason", json_object_new_string(vm->unmanaged));
	if (vm->uuid[0])
		json_object_object_add(o, "uuid", json_object_new_string(vm->uuid));
	json_object_object_add(o, "suspended", json_object_new_boolean(vm->suspended));
	json_object_object_add(o, "connected", json_object_new_boolean(info.connected));
	json_object_object_add(o, "granted", json_object_new_uint64(info.nr_granted));
	json_object_object_add(o, "pending", json_object_new_uint64(info.nr_pending));
	json_object_object_add(o, "failed", json_object_new_uint64(info.nr_failed));
	json_object_object_add(o, "grant_bytes", json_object_new_uint64(info.grant_bytes));
	json_object_object_add(o, "mem_total", json_object_new_uint64(vm->guest.mem_total));
	if (!detail)
		return o;
	if (vm->hello) {
		json_object *g = json_object_new_object();
		char hex[33];

		boot_id_hex(vm->hello->boot_id, hex);
		json_object_object_add(g, "software", json_object_new_string(vm->hello->software));
		json_object_object_add(g, "boot_id", json_object_new_string(hex));
		json_object_object_add(g, "protocol", json_object_new_int(vm->version));
		json_object_object_add(g, "caps", caps_json(vm->caps));
		json_object_object_add(g, "page_size", json_object_new_uint64(vm->hello->page_size));
		json_object_object_add(g, "pageblock_order",
				       json_object_new_int(vm->hello->pageblock_order));
		json_object_object_add(g, "mem_total", json_object_new_uint64(vm->guest.mem_total));
		json_object_object_add(g, "mem_free", json_object_new_uint64(vm->guest.mem_free));
		json_object_object_add(g, "mem_available",
				       json_object_new_uint64(vm->guest.mem_available));
		json_object_object_add(g, "mem_movable", json_object_new_uint64(vm->hello->mem_movable));
		json_object_object_add(g, "memory_ranges", json_object_new_uint64(vm->hello->nr_ranges));
		json_object_object_add(o, "guest", g);
	}
	json_object *b = json_object_new_object();

	json_object_object_add(b, "target_bytes", json_object_new_uint64(vm->balloon_target));
	json_object_object_add(b, "actual_bytes", json_object_new_uint64(vm->guest.balloon_bytes));
	json_object_object_add(o, "balloon", b);

	json_object *rs = json_object_new_array();

	for (size_t i = 0; i < vm->nr_rsv; i++)
		json_object_array_add(rs, api_rsv_json(vm, &vm->rsv[i]));
	json_object_object_add(o, "reservations", rs);

	json_object *fs = json_object_new_array();

	for (size_t i = 0; i < vm->nr_foreign; i++) {
		const struct vcma_grant_info_h *g = &vm->foreign[i];
		json_object *e = json_object_new_object();

		json_object_object_add(e, "grant_id", json_object_new_uint64(g->grant_id));
		json_object_object_add(e, "gpa", hex64(g->gpa));
		json_object_object_add(e, "size", json_object_new_uint64(g->size));
		json_object_object_add(e, "tag", json_object_new_uint64(g->tag));
		json_object_object_add(e, "label", json_object_new_string(g->label));
		add_holders(e, g->flags, g->holder);
		json_object_array_add(fs, e);
	}
	/* grants the guest holds that vcmad did not ask for: shown, never touched */
	json_object_object_add(o, "guest_grants", fs);

	json_object *st = json_object_new_object();

	json_object_object_add(st, "sessions", json_object_new_uint64(vm->st.sessions));
	json_object_object_add(st, "disconnects", json_object_new_uint64(vm->st.disconnects));
	json_object_object_add(st, "protocol_errors", json_object_new_uint64(vm->st.protocol_errors));
	json_object_object_add(st, "guest_reboots", json_object_new_uint64(vm->st.reboots));
	json_object_object_add(st, "last_error", json_object_new_string(vm->drop_reason));
	json_object_object_add(o, "stats", st);
	return o;
}

