/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The state store: one JSON file per VM in the state directory
 * (vm-NAME.json) holding its desired state (reservations with their last
 * known grant, next reservation id, balloon target) and the guest's last boot
 * id. Written atomically: temp file, fsync, rename, fsync of the directory.
 * The guest stays the source of truth for grants; what is stored here is
 * what the operator asked for and what to compare the guest against.
 */
#ifndef VCMA_DAEMON_STORE_H
#define VCMA_DAEMON_STORE_H

#include <stdbool.h>
#include <stddef.h>

#include <json-c/json.h>

#include "vm.h"

/* Create dir (0700) if missing. 0 or -errno. */
int store_init(const char *dir);
int store_save(const char *dir, const struct vcma_vm *vm, bool do_fsync);
/* 0, -ENOENT (nothing stored) or -EINVAL (unreadable file; err says why). */
int store_load(const char *dir, struct vcma_vm *vm, char *err, size_t errlen);

json_object *store_to_json(const struct vcma_vm *vm);
/* Replaces vm's desired state by o's. 0 or -EINVAL with err. */
int store_from_json(struct vcma_vm *vm, json_object *o, char *err, size_t errlen);

#endif
