#!/bin/bash
# VM round trip of vcma (suite vm, TAP): a real QEMU guest with vcma.ko and
# vcma-agent on the virtio-serial port org.vcma.0, vcmad on the host side of
# that port, vcmactl driving it:
#   vcmactl reserve vm1 64M --count 4   succeeds,
#   vcma-guest status in the guest      lists the same four grants (GPAs),
#   vcmad restarts                       the agent reconnects, grants stay,
#   vcmactl release                      frees them and MemFree comes back.
# Usage: roundtrip.sh VM_RUN IMAGE VCMA_AGENT VCMA_GUEST VCMAD VCMACTL
set -uo pipefail
[ $# -eq 6 ] || { echo "usage: $0 VM_RUN IMAGE VCMA_AGENT VCMA_GUEST VCMAD VCMACTL" >&2; exit 2; }
vm_run=$1 image=$2 agent=$3 guest=$4 vcmad=$5 vcmactl=$6
here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source-path=SCRIPTDIR source=../harness/lib-vcmad.sh
. "$here/../harness/lib-vcmad.sh"
vm_test_begin agent

echo "1..8"
boot_guest "$here/guest.sh" --timeout 800 --add "$guest:/bin/vcma-guest"
start_vcmad

wait_until 780 connected || bail "guest agent never said HELLO to vcmad"
ok "vcma-agent in the guest connected to vcmad over virtio-serial"

"$vcmactl" reserve vm1 64M --count 4 --label vmtest --wait --wait-timeout 300 >"$work/reserve.out" 2>&1 ||
	{ cat "$work/reserve.out" | sed 's/^/# /'; bail "vcmactl reserve vm1 64M --count 4 failed"; }
"$vcmactl" --json status vm1 >"$work/status.json" || bail "vcmactl status vm1"
host_gpas=$(json 'print(" ".join(str(int(r["gpa"], 16)) for r in sorted(d["reservations"], key=lambda r: int(r["gpa"], 16)) if r["state"] == "granted"))' <"$work/status.json")
ids=$(json 'print(" ".join(str(r["id"]) for r in d["reservations"] if r["state"] == "granted"))' <"$work/status.json")
[ "$(wc -w <<<"$ids")" -eq 4 ] || bail "vcmad reports $(wc -w <<<"$ids") granted reservations, want 4"
sed 's/^/# /' "$work/reserve.out"
ok "vcmactl reserve vm1 64M --count 4: four grants"

wait_until 300 guest_says GUEST-GPAS || bail "guest never listed its grants"
guest_gpas=$(guest_line GUEST-GPAS:)
echo "# host GPAs:  $host_gpas"
echo "# guest GPAs: $guest_gpas"
[ -n "$guest_gpas" ] && [ "$guest_gpas" = "$host_gpas" ] ||
	bail "vcma-guest status lists other grants than vcmad"
ok "vcma-guest status in the guest lists the same four grants"

# The host side of the port goes away and comes back: the agent must notice
# (POLLHUP), wait without spinning, say HELLO again, and the grants stay.
kill "$vcmad_pid"
wait "$vcmad_pid" 2>/dev/null
sleep 2
start_vcmad
wait_until 120 connected || bail "agent did not come back after vcmad restarted"
granted_gpas() {
	"$vcmactl" --json status vm1 2>/dev/null |
		json 'print(" ".join(str(int(r["gpa"], 16)) for r in sorted(d["reservations"], key=lambda r: int(r["gpa"], 16)) if r["state"] == "granted"))'
}
same_grants() { [ "$(granted_gpas)" = "$host_gpas" ]; }
wait_until 60 same_grants || bail "after the reconnect vcmad sees $(granted_gpas), want $host_gpas"
ok "vcmad restarted: the agent reconnected over virtio-serial and the four grants stayed"

for id in $ids; do
	"$vcmactl" release vm1 "$id" --wait --wait-timeout 120 >/dev/null 2>"$work/release.err" ||
		{ sed 's/^/# /' "$work/release.err"; bail "vcmactl release vm1 $id failed"; }
done
ok "vcmactl release of the four reservations"

wait_until 300 guest_says GUEST-MEMFREE || bail "guest never saw the release"
echo "# $(guest_line GUEST-MEMFREE:)"
bail_if_guest_failed
ok "grants gone in the guest and MemFree came back"

wait_until 120 guest_says GUEST-CLI || bail "guest never ran vcma-guest reserve/release"
bail_if_guest_failed
ok "vcma-guest reserve 8M / release / errors against vcma.ko in the guest"

guest_verdict || bail "guest verdict: vm-run exit $?"
ok "guest passed (agent exited cleanly, no kernel warnings)"
