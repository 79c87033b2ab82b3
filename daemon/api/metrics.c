/* SPDX-License-Identifier: GPL-2.0-only */
/* GET /metrics: Prometheus text exposition (format 0.0.4), one series per VM. */
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "api.h"
#include "balloon.h"
#include "daemon.h"
#include "log.h"
#include "stats.h"

static const char *const req_kind[VM_REQ_KINDS] = { "reserve", "release", "status" };
static const char *const req_result[VM_RES_KINDS] = { "ok", "failed", "timeout", "error" };

static long rss_bytes(void)
{
	long pages = 0, rss = 0;
	FILE *f = fopen("/proc/self/statm", "r");

	if (!f)
		return 0;
	if (fscanf(f, "%ld %ld", &pages, &rss) != 2)
		rss = 0;
	fclose(f);
	return rss * sysconf(_SC_PAGESIZE);
}

static uint64_t granted(const struct vcma_vm *vm, bool bytes)
{
	struct vcma_vm_info in;

	vcma_vm_get_info(vm, &in);
	return bytes ? in.grant_bytes : in.nr_granted;
}

/* A counter/gauge with one value per VM. */
#define PER_VM(f, d, metric, kind, help, expr)                                   \
	do {                                                                     \
		fprintf(f, "# HELP %s %s\n# TYPE %s %s\n", metric, help, metric, kind); \
		for (size_t i_ = 0; i_ < (d)->nr_vms; i_++) {                    \
			const struct vcma_vm *vm = (d)->vms[i_];                 \
			fprintf(f, "%s{vm=\"%s\"} %llu\n", metric, vm->name,     \
				(unsigned long long)(expr));                     \
		}                                                                \
	} while (0)

void metrics_render(struct vcmad *d, FILE *f)
{
	fprintf(f, "# HELP vcmad_vms VMs served.\n# TYPE vcmad_vms gauge\nvcmad_vms %zu\n",
		d->nr_vms);
	fprintf(f, "# HELP vcmad_resident_memory_bytes Resident set size of vcmad.\n"
		   "# TYPE vcmad_resident_memory_bytes gauge\nvcmad_resident_memory_bytes %ld\n",
		rss_bytes());
	fprintf(f, "# HELP vcmad_uptime_seconds Seconds since vcmad started.\n"
		   "# TYPE vcmad_uptime_seconds gauge\nvcmad_uptime_seconds %.3f\n",
		(double)(vcmad_now_ms() - d->started_ms) / 1000.0);

	fprintf(f, "# HELP vcmad_store_save_errors_total Failed writes of a VM's state file.\n"
		   "# TYPE vcmad_store_save_errors_total counter\nvcmad_store_save_errors_total %llu\n",
		(unsigned long long)d->save_errors);
	fprintf(f, "# HELP vcmad_store_save_failing 1 while the last state write failed.\n"
		   "# TYPE vcmad_store_save_failing gauge\nvcmad_store_save_failing %d\n",
		d->save_failing);
	fprintf(f, "# HELP vcmad_config_reloads_total Configuration reloads (SIGHUP) by result.\n"
		   "# TYPE vcmad_config_reloads_total counter\n"
		   "vcmad_config_reloads_total{result=\"ok\"} %llu\n"
		   "vcmad_config_reloads_total{result=\"error\"} %llu\n",
		(unsigned long long)d->reloads, (unsigned long long)d->reload_errors);
	PER_VM(f, d, "vcmad_vm_connected", "gauge", "1 when a guest agent completed HELLO.",
	       vm_connected(vm));
	PER_VM(f, d, "vcmad_vm_unmanaged", "gauge",
	       "1 when vcmad leaves the VM alone (its state file was unusable).",
	       vm->unmanaged[0] != 0);
	PER_VM(f, d, "vcmad_vm_grants", "gauge", "Reservations granted by the guest.",
	       granted(vm, false));
	PER_VM(f, d, "vcmad_vm_grant_bytes", "gauge", "Bytes granted by the guest.",
	       granted(vm, true));
	PER_VM(f, d, "vcmad_vm_guest_grants", "gauge",
	       "Grants the guest holds that vcmad did not ask for.", vm->nr_foreign);
	PER_VM(f, d, "vcmad_vm_sessions_total", "counter", "Guest sessions (HELLOs) accepted.",
	       vm->st.sessions);
	PER_VM(f, d, "vcmad_vm_disconnects_total", "counter", "Channel sessions ended.",
	       vm->st.disconnects);
	PER_VM(f, d, "vcmad_vm_protocol_errors_total", "counter",
	       "Protocol violations by the guest.", vm->st.protocol_errors);
	PER_VM(f, d, "vcmad_log_suppressed_total", "counter",
	       "Log lines about the VM dropped by the per-VM rate limit ([daemon] log_rate).",
	       vlog_vm_suppressed(vm->name));
	PER_VM(f, d, "vcmad_vm_guest_reboots_total", "counter", "New boot ids seen.",
	       vm->st.reboots);
	PER_VM(f, d, "vcmad_vm_frames_received_total", "counter", "Valid frames from the guest.",
	       vm->st.frames_rx);
	PER_VM(f, d, "vcmad_vm_bytes_received_total", "counter", "Bytes from the guest.",
	       vm->st.bytes_rx);
	PER_VM(f, d, "vcmad_vm_frames_sent_total", "counter", "Frames to the guest.",
	       vm->st.frames_tx);

	fprintf(f, "# HELP vcmad_vm_reservations Desired reservations by state.\n"
		   "# TYPE vcmad_vm_reservations gauge\n");
	for (size_t i = 0; i < d->nr_vms; i++) {
		const struct vcma_vm *vm = d->vms[i];
		size_t n[RSV_STATE_MAX] = { 0 };

		for (size_t j = 0; j < vm->nr_rsv; j++)
			n[vm->rsv[j].state]++;
		for (int s = 0; s < RSV_STATE_MAX; s++)
			fprintf(f, "vcmad_vm_reservations{vm=\"%s\",state=\"%s\"} %zu\n", vm->name,
				rsv_state_name((enum rsv_state)s), n[s]);
	}
	fprintf(f, "# HELP vcmad_vm_requests_total Requests to the guest by type and result.\n"
		   "# TYPE vcmad_vm_requests_total counter\n");
	for (size_t i = 0; i < d->nr_vms; i++) {
		const struct vcma_vm *vm = d->vms[i];

		for (int k = 0; k < VM_REQ_KINDS; k++)
			for (int r = 0; r < VM_RES_KINDS; r++)
				fprintf(f, "vcmad_vm_requests_total{vm=\"%s\",type=\"%s\",result=\"%s\"} %llu\n",
					vm->name, req_kind[k], req_result[r],
					(unsigned long long)vm->st.req[k][r]);
	}
	fprintf(f, "# HELP vcmad_vm_reserve_duration_seconds RESERVE round trip as seen by vcmad.\n"
		   "# TYPE vcmad_vm_reserve_duration_seconds histogram\n");
	for (size_t i = 0; i < d->nr_vms; i++) {
		const struct vcma_vm *vm = d->vms[i];

		for (int b = 0; b < VM_LAT_BUCKETS; b++) {
			if (b == VM_LAT_BUCKETS - 1)
				fprintf(f, "vcmad_vm_reserve_duration_seconds_bucket{vm=\"%s\",le=\"+Inf\"} %llu\n",
					vm->name, (unsigned long long)vm->st.lat_bucket[b]);
			else
				fprintf(f, "vcmad_vm_reserve_duration_seconds_bucket{vm=\"%s\",le=\"%g\"} %llu\n",
					vm->name, vm_lat_bounds_ms[b] / 1000.0,
					(unsigned long long)vm->st.lat_bucket[b]);
		}
		fprintf(f, "vcmad_vm_reserve_duration_seconds_sum{vm=\"%s\"} %.6f\n", vm->name,
			vm->st.lat_sum_ms / 1000.0);
		fprintf(f, "vcmad_vm_reserve_duration_seconds_count{vm=\"%s\"} %llu\n", vm->name,
			(unsigned long long)vm->st.lat_count);
	}
	balloon_metrics(f, d->vms, d->nr_vms);
	bstats_metrics(f, d->vms, d->nr_vms);
}
