/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The per-VM half of the registry API (vm_registry.h): what a VM source may
 * read and change on one VM. Loop-free, so unit tests link it; the daemon-wide
 * half (attach, detach, lookup) is in vcmad.c.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "daemon.h"
#include "vm.h"
#include "vm_registry.h"

int64_t vcmad_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

void vcma_desired_clear(struct vcma_desired *des)
{
	free(des->rsv);
	memset(des, 0, sizeof(*des));
}





const char *vcma_vm_name(const struct vcma_vm *vm)
{
	return vm->name;
}

const char *vcma_vm_channel(const struct vcma_vm *vm)
{
	return vm->channel;
}

enum vcma_vm_source vcma_vm_source(const struct vcma_vm *vm)
{
	return vm->source;
}

void vcma_vm_get_info(const struct vcma_vm *vm, struct vcma_vm_info *out)
{
	memset(out, 0, sizeof(*out));
	out->connected = vm_connected(vm);
	memcpy(out->boot_id, vm->boot_id, sizeof(out->boot_id));
	out->mem_total = vm->guest.mem_total;
	for (size_t i = 0; i < vm->nr_rsv; i++) {
		const struct rsv *r = &vm->rsv[i];

		if (r->state == RSV_GRANTED) {
			out->nr_granted++;
			out->grant_bytes += r->granted_size;
		} else if (r->state == RSV_PENDING) {
			out->nr_pending++;
		} else if (r->state == RSV_FAILED) {
			out->nr_failed++;
		}
	}
}

int vcma_vm_get_desired(const struct vcma_vm *vm, struct vcma_desired *out)
{
	memset(out, 0, sizeof(*out));
	out->balloon_target = vm->balloon_target;
	if (!vm->nr_rsv)
		return 0;
	out->rsv = calloc(vm->nr_rsv, sizeof(*out->rsv));
	if (!out->rsv)
		return -ENOMEM;
	for (size_t i = 0; i < vm->nr_rsv; i++) {
		const struct rsv *r = &vm->rsv[i];

		/* released and failed ones are no longer wanted */
		if (r->state == RSV_RELEASING || r->state == RSV_FAILED)
			continue;
		struct vcma_desired_rsv *o = &out->rsv[out->nr_rsv++];

		o->id = r->id;
		o->size = r->size;
		o->align = r->align;
		o->max_addr = r->max_addr;
		o->deadline_ms = r->deadline_ms;
		snprintf(o->label, sizeof(o->label), "%s", r->label);
	}
	return 0;
}

int vcma_vm_set_desired(struct vcma_vm *vm, const struct vcma_desired *des)
{
	int64_t now = vcmad_now_ms();

	for (size_t i = 0; i < des->nr_rsv; i++) {
		const struct vcma_desired_rsv *w = &des->rsv[i];

		if (!w->size || w->size % 4096 || (w->align && (w->align & (w->align - 1))) ||
		    !vm_limit_valid(w->size, w->max_addr))
			return -EINVAL;
	}
	/* what is no longer desired goes */
	for (size_t i = 0; i < vm->nr_rsv; i++) {
		struct rsv *r = &vm->rsv[i];
		bool keep = false;

		for (size_t j = 0; j < des->nr_rsv && !keep; j++)
			keep = des->rsv[j].id == r->id;
		if (!keep && r->state != RSV_RELEASING) {
			size_t before = vm->nr_rsv;

			vm_release(vm, r->id, now);
			if (vm->nr_rsv < before)
				i--;
		}
	}
	for (size_t j = 0; j < des->nr_rsv; j++) {
		const struct vcma_desired_rsv *w = &des->rsv[j];
		struct rsv_spec s = { .size = w->size, .align = w->align, .count = 1,
				      .max_addr = w->max_addr, .deadline_ms = w->deadline_ms };
		uint64_t id;

		if (w->id && vm_find_rsv(vm, w->id))
			continue;
		snprintf(s.label, sizeof(s.label), "%s", w->label);
		/* the source's id stays the tag, so its copy and ours keep matching */
		if (w->id >= vm->next_id)
			vm->next_id = w->id;
		if (vm_reserve(vm, &s, now, &id) < 0)
			return -ENOSPC;
		if (w->id && id != w->id) {
			/* an id below next_id we no longer have: take it back, keep the order */
			struct rsv r = vm->rsv[vm->nr_rsv - 1];
			size_t k = vm->nr_rsv - 1;

			r.id = w->id;
			while (k && vm->rsv[k - 1].id > r.id) {
				vm->rsv[k] = vm->rsv[k - 1];
				k--;
			}
			vm->rsv[k] = r;
			vm->next_id = id;	/* the id vm_reserve took is unused */
		}
	}
	vm->balloon_target = des->balloon_target;
	vm->dirty = true;
	vm->desired_changed = false;
	vm_pump(vm, now);
	return 0;
}

int vcma_vm_set_balloon_target(struct vcma_vm *vm, uint64_t bytes)
{
	if (bytes % 4096)
		return -EINVAL;
	vm->balloon_target = bytes;
	vm->dirty = true;
	return 0;
}
