/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The REST API (daemon/api/openapi.yaml) on a unix socket. api.c is the evhttp
 * glue; api_json.c holds the pure parts (routing, request parsing, JSON
 * views of VMs and reservations) that the unit tests and the fuzzer call.
 */
#ifndef VCMA_DAEMON_API_H
#define VCMA_DAEMON_API_H

#include <stddef.h>
#include <stdio.h>

#include <json-c/json.h>

#include "vm.h"

struct vcmad;
struct api;

int api_new(struct vcmad *d, struct api **out, char *err, size_t errlen);
void api_free(struct api *a);
/*
 * The API groups (names or gids; NULL = the daemon's gid / no read-only
 * group), applied to the socket file too. At start and on SIGHUP. 0 or -1 with err.
 */
int api_set_groups(struct api *a, const char *group, const char *read_group, char *err,
		   size_t errlen);
/* Timers: answer POSTs that wait (wait_ms) once their reservations settled. */
void api_tick(struct api *a, int64_t now_ms);

enum api_route_kind {
	API_NOT_FOUND = 0,
	API_VMS,		/* /v1/vms */
	API_VM,			/* /v1/vms/{vm} */
	API_RSVS,		/* /v1/vms/{vm}/reservations */
	API_RSV,		/* /v1/vms/{vm}/reservations/{id} */
	API_BALLOON,		/* /v1/vms/{vm}/balloon */
	API_BALLOON_STATS,	/* /v1/vms/{vm}/balloon/statistics */
	API_HOST,		/* /v1/host */
	API_METRICS,		/* /metrics */
};

struct api_route {
	enum api_route_kind kind;
	char vm[VCMA_VM_NAME_MAX + 1];
	uint64_t id;
};

/* Split a request path (no query) into a route. API_NOT_FOUND if it is none. */
void api_route(const char *path, struct api_route *out);

/*
 * Parse a POST .../reservations body. 0 or -EINVAL with a message for the
 * operator in err. Defaults: count 1, align 0, deadline_ms 0, label "".
 */
int api_parse_reserve(const char *body, size_t len, struct rsv_spec *out, char *err,
		      size_t errlen);

/*
 * PUT .../balloon body: {"target": SIZE} (bytes the balloon holds) or
 * {"size": SIZE} (memory the guest keeps; vcmad derives the target).
 */
struct api_balloon_req {
	uint64_t target, size;
	bool has_target, has_size;
};
int api_parse_balloon(const char *body, size_t len, struct api_balloon_req *out, char *err,
		      size_t errlen);

/* PUT .../balloon/statistics body: {"interval_s": N}, 0..86400. 0 or -EINVAL with err. */
int api_parse_stats_interval(const char *body, size_t len, uint32_t *interval_s, char *err,
			     size_t errlen);

/* Size given as a JSON integer or a string like "64M". 0 or -EINVAL/-ERANGE. */
int api_json_size(json_object *v, uint64_t *out);

json_object *api_rsv_json(const struct vcma_vm *vm, const struct rsv *r);
json_object *api_vm_json(const struct vcma_vm *vm, int detail);

/* Prometheus text exposition of every VM and the daemon. */
void metrics_render(struct vcmad *d, FILE *f);

/* GET /v1/host: KVM, huge pages, THP. sysfs_root "" in production. */
json_object *hostinfo_json(const char *sysfs_root, const char *kvm_dev);

#endif
