/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * vcmad configuration: built-in defaults, then the INI file (--config,
 * see configs/vcmad.conf), then command-line flags, later ones winning.
 */
#ifndef VCMA_DAEMON_CONFIG_H
#define VCMA_DAEMON_CONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "vm.h"

#define VCMAD_DEFAULT_SOCKET	"/run/vcma/vcmad.sock"
#define VCMAD_DEFAULT_STATE	"/var/lib/vcma"

struct config_vm {
	char *name, *channel;
	char *qmp;		/* QEMU's QMP socket (balloon host reclaim), NULL = none */
	int64_t stats_interval_s;	/* balloon_stats_interval_s, -1 = [balloon] stats_interval_s */
	uint32_t pressure_backoff_ms;	/* [vm.NAME] pressure_backoff_ms, 0 = [balloon]'s */
};

struct vcmad_config {
	char *config_file;
	char *api_socket;
	char *api_group;	/* group allowed on the socket; NULL = daemon's gid */
	char *api_read_group;	/* group allowed GET and /metrics only; NULL = none */
	char *state_dir;
	int log_level;
	/* per-VM log lines: a token bucket of log_rate lines/s (0 = no limit), log_burst deep */
	unsigned int log_rate, log_burst;
	bool fsync;
	unsigned int reconnect_min_ms, reconnect_max_ms;
	size_t max_output;	/* per-VM bytes queued towards the guest */
	struct vm_limits lim;
	struct config_vm *vms;
	size_t nr_vms;
	bool libvirt;
	char *libvirt_uri;
	/* a libvirt domain whose RAM cannot be reclaimed is resized by libvirt's balloon */
	bool balloon_libvirt_fallback;
};

void config_init(struct vcmad_config *c);
void config_free(struct vcmad_config *c);

/* Load an INI file. 0 or -1 with a message in err. */
int config_load_file(struct vcmad_config *c, const char *path, char *err, size_t errlen);

/*
 * Apply argv (including --config). Returns 0 to run, 1 when --help or
 * --version was printed (exit 0), -1 on a usage error (message in err, exit 2).
 */
int config_parse_args(struct vcmad_config *c, int argc, char **argv, char *err, size_t errlen);

/* Add or replace a VM entry. 0 or -1 with err. */
/* Set the QMP socket of an already added VM. 0 or -1 with a message in err. */
int config_set_vm_qmp(struct vcmad_config *c, const char *name, const char *qmp, char *err,
		      size_t errlen);
/* [vm.NAME] balloon_stats_interval_s: 0..86400. 0 or -1 with a message in err. */
int config_set_vm_stats_interval(struct vcmad_config *c, const char *name, const char *v,
				 char *err, size_t errlen);
int config_add_vm(struct vcmad_config *c, const char *name, const char *channel,
		  char *err, size_t errlen);

#endif
