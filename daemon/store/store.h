/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The state store: one JSON file per VM in the state directory holding its
 * desired state (reservations with their last known grant, next reservation
 * id, balloon target), the guest's last boot id and the balloon's chunk set
 * (which chunks the guest gave up, which of them are not punched yet).
 * Files are keyed by the VM's libvirt UUID (vm-UUID.json) or, for VMs of the
 * command line and the config file, by name (vm-NAME.json); a libvirt VM's
 * name-keyed file from an older vcmad is renamed to its UUID on attach.
 * Written atomically: temp file, fsync, rename, fsync of the directory.
 * The guest stays the source of truth for grants; what is stored here is
 * what the operator asked for and what to compare the guest against.
 *
 * One vcmad per state directory: store_lock() holds an flock on
 * DIR/.vcmad.lock for the life of the process.
 */
#ifndef VCMA_DAEMON_STORE_H
#define VCMA_DAEMON_STORE_H

#include <stdbool.h>
#include <stddef.h>

#include <json-c/json.h>

#include "vm.h"

/* Create dir (0700) if missing. 0 or -errno. */
int store_init(const char *dir);
/*
 * Lock dir against a second vcmad: the lock's fd (keep it open), or -EBUSY
 * when another process holds it (err names its pid), or -errno.
 */
int store_lock(const char *dir, char *err, size_t errlen);
/* The file key of vm: its UUID if it has one, else its name. */
const char *store_key(const struct vcma_vm *vm);
int store_save(const char *dir, const struct vcma_vm *vm, bool do_fsync);
/* 0, -ENOENT (nothing stored) or -EINVAL (unreadable file; err says why). */
int store_load(const char *dir, struct vcma_vm *vm, char *err, size_t errlen);
/*
 * A VM with a UUID whose state is still under its name (vm-NAME.json, an
 * older vcmad): rename it to vm-UUID.json unless that exists. 1 renamed,
 * 0 nothing to do, -errno.
 */
int store_adopt_legacy(const char *dir, const struct vcma_vm *vm);
/* Keep vm's unreadable file as vm-KEY.json.corrupt-TIMESTAMP (path in out). 0 or -errno. */
int store_set_aside(const char *dir, const struct vcma_vm *vm, char *out, size_t outlen);
/* Is there a copy of key's state set aside (.corrupt-*)? Its path in out. */
bool store_set_aside_exists(const char *dir, const char *key, char *out, size_t outlen);
/* Remove the state of key (the VM is gone for good). 1 removed, 0 none, -errno. */
int store_remove(const char *dir, const char *key);

json_object *store_to_json(const struct vcma_vm *vm);
/* Replaces vm's desired state (and balloon chunk set) by o's. 0 or -EINVAL with err. */
int store_from_json(struct vcma_vm *vm, json_object *o, char *err, size_t errlen);

#endif
