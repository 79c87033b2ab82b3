/* SPDX-License-Identifier: MIT */
/*
 * vcmad's libvirt connector: wires the libvirt side (libvirt_meta.c) to the
 * VM registry (vm_registry.h).
 *
 * Metadata lists reservations by shape (size, align, below, label, count), the
 * registry by id. Reservations read from metadata take the id of an equal
 * reservation the VM already has, so re-reading unchanged metadata (after a
 * domain restart, a vcmad restart, an unrelated metadata edit) never
 * releases and re-requests what the guest already holds.
 */
#include "libvirt_events.h"
#include "libvirt_meta.h"
#include "log.h"
#include "vm_registry.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

struct vcma_libvirt {
	struct vcmad *d;
	struct vcma_lv_conn *conn;
};

static bool same_shape(const struct vcma_desired_rsv *a, const struct vcma_lv_reservation *r)
{
	return a->size == r->size && a->align == r->align && a->max_addr == r->below &&
	       strcmp(a->label, r->label) == 0;
}

/* Metadata -> registry, reusing cur's ids for equal reservations. */
static int to_registry(const struct vcma_lv_desired *in, const struct vcma_desired *cur,
		       struct vcma_desired *out)
{
	size_t total = 0, k = 0;
	bool *used;

	memset(out, 0, sizeof(*out));
	for (uint32_t i = 0; i < in->nr; i++)
		total += in->rsv[i].count;
	used = calloc(cur->nr_rsv + 1, sizeof(*used));
	out->rsv = calloc(total + 1, sizeof(*out->rsv));
	if (!used || !out->rsv) {
		free(used);
		free(out->rsv);
		out->rsv = NULL;
		return -ENOMEM;
	}
	for (uint32_t i = 0; i < in->nr; i++) {
		const struct vcma_lv_reservation *r = &in->rsv[i];

		for (uint32_t n = 0; n < r->count; n++, k++) {
			struct vcma_desired_rsv *o = &out->rsv[k];

			o->size = r->size;
			o->align = r->align;
			o->max_addr = r->below;
			memcpy(o->label, r->label, sizeof(o->label));
			for (size_t j = 0; j < cur->nr_rsv; j++) {
				if (used[j] || !same_shape(&cur->rsv[j], r))
					continue;
				used[j] = true;
				o->id = cur->rsv[j].id;
				o->deadline_ms = cur->rsv[j].deadline_ms;
				break;
			}
		}
	}
	free(used);
	out->nr_rsv = total;
	out->balloon_target = in->has_balloon ? in->balloon_target : 0;
	return 0;
}

static bool registry_equal(const struct vcma_desired *a, const struct vcma_desired *b)
{
	if (a->nr_rsv != b->nr_rsv || a->balloon_target != b->balloon_target)
		return false;
	for (size_t i = 0; i < a->nr_rsv; i++)
		if (a->rsv[i].id != b->rsv[i].id || !b->rsv[i].id)
			return false;
	return true;
}

/* Registry -> metadata: runs of equal reservations become one with a count. */
static int from_registry(const struct vcma_desired *in, struct vcma_lv_desired *out)
{
	memset(out, 0, sizeof(*out));
	if (in->nr_rsv > VCMA_LV_MAX_RANGES)
		return -E2BIG;
	for (size_t i = 0; i < in->nr_rsv; i++) {
		const struct vcma_desired_rsv *r = &in->rsv[i];
		struct vcma_lv_reservation *last = out->nr ? &out->rsv[out->nr - 1] : NULL;

		if (last && same_shape(r, last)) {
			last->count++;
			continue;
		}
		if (out->nr == VCMA_LV_MAX_RESERVATIONS)
			return -E2BIG;
		last = &out->rsv[out->nr++];
		last->size = r->size;
		last->align = r->align;
		last->below = r->max_addr;
		last->count = 1;
		memcpy(last->label, r->label, sizeof(last->label));
	}
	out->has_balloon = in->balloon_target != 0;
	out->balloon_target = in->balloon_target;
	return 0;
}

static void desired_changed(struct vcma_vm *vm, const struct vcma_desired *d, void *opaque)
{
	struct vcma_libvirt *lv = opaque;
	struct vcma_lv_desired md;
	char err[VCMA_LV_ERRLEN];

	if (from_registry(d, &md) < 0) {
		vlog_err("libvirt: VM '%s': desired state has more than %d distinct or %d "
			 "reservations; not written to libvirt metadata", vcma_vm_name(vm),
			 VCMA_LV_MAX_RESERVATIONS, VCMA_LV_MAX_RANGES);
		return;
	}
	if (vcma_lv_write_desired(lv->conn, vcma_vm_name(vm), &md, err) < 0)
		vlog_err("libvirt: VM '%s': %s", vcma_vm_name(vm), err);
}

static const struct vcma_vm_hooks lv_hooks = { .desired_changed = desired_changed };

static void sink_attach(const struct vcma_lv_domain *dom, void *opaque)
{
	struct vcma_libvirt *lv = opaque;
	struct vcma_desired cur = { 0 }, want = { 0 };
	struct vcma_vm *vm = NULL;
	int r;

	/* Desired state goes in separately so that ids can be matched first. */
	r = vcmad_vm_attach(lv->d, &(struct vcma_vm_attach){
		.name = dom->name,
		.uuid = dom->uuid,
		.source_has_desired = dom->desired != NULL,
		.channel_path = dom->channel_path,
		.qmp_path = dom->qmp_path,
		.pin_reason = dom->pin_reason,
		.unshared_reason = dom->unshared_reason,
		.source = VCMA_VM_SRC_LIBVIRT,
		.hooks = &lv_hooks,
		.opaque = lv,
	}, &vm);
	if (r < 0 || !vm) {
		vlog_err("libvirt: domain '%s': cannot attach: %s", dom->name, strerror(-r));
		return;
	}
	vcma_vm_set_suspended(vm, dom->paused);
	if (!dom->desired)
		return;
	r = vcma_vm_get_desired(vm, &cur);
	if (r == 0)
		r = to_registry(dom->desired, &cur, &want);
	if (r == 0 && !registry_equal(&want, &cur))
		r = vcma_vm_set_desired(vm, &want);
	if (r < 0)
		vlog_err("libvirt: domain '%s': cannot apply desired state from metadata: %s",
			 dom->name, strerror(-r));
	vcma_desired_clear(&cur);
	vcma_desired_clear(&want);
}

static void sink_detach(const char *name, void *opaque)
{
	struct vcma_libvirt *lv = opaque;

	vcmad_vm_detach(lv->d, name);
}

static void sink_undefined(const char *name, const char *uuid, void *opaque)
{
	struct vcma_libvirt *lv = opaque;

	vcmad_vm_forget(lv->d, name, uuid);
}

int vcma_libvirt_new(struct vcmad *d, const struct vcma_libvirt_conf *c,
		     struct vcma_libvirt **out)
{
	static const struct vcma_lv_sink sink = { sink_attach, sink_detach, sink_undefined };
	struct vcma_libvirt *lv;
	int r;

	*out = NULL;
	lv = calloc(1, sizeof(*lv));
	if (!lv)
		return -ENOMEM;
	lv->d = d;
	r = vcma_lv_conn_new(vcmad_event_base(d), &(struct vcma_lv_conf){
		.uri = c ? c->uri : NULL,
		.port_name = c ? c->channel_name : NULL,
	}, &sink, lv, &lv->conn);
	if (r < 0) {
		free(lv);
		return r;
	}
	*out = lv;
	return 0;
}

/*
 * VMs outlive the connector at vcmad's exit (their state is saved after);
 * re-attaching them unchanged but without hooks drops our pointer from them.
 */
static void unhook_vms(struct vcma_libvirt *lv)
{
	for (size_t i = 0; i < vcmad_vm_count(lv->d); i++) {
		struct vcma_vm *vm = vcmad_vm_at(lv->d, i);

		if (vcma_vm_source(vm) != VCMA_VM_SRC_LIBVIRT)
			continue;
		vcmad_vm_attach(lv->d, &(struct vcma_vm_attach){
			.name = vcma_vm_name(vm),
			.channel_path = vcma_vm_channel(vm),
			.source = VCMA_VM_SRC_LIBVIRT,
		}, NULL);
	}
}

void vcma_libvirt_free(struct vcma_libvirt *lv)
{
	if (!lv)
		return;
	unhook_vms(lv);
	vcma_lv_conn_free(lv->conn);
	/* libvirt is process-wide: the connector goes only when vcmad does. */
	vcma_lv_event_shutdown();
	free(lv);
}

struct vcma_lv_conn *vcma_libvirt_conn(struct vcma_libvirt *lv)
{
	return lv ? lv->conn : NULL;
}
