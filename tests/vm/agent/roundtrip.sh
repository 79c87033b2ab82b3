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
work=$(mktemp -d /tmp/vcma-vm-agent.XXXXXX)
vmrun_pid= vcmad_pid=

cleanup() {
	[ -z "$vcmad_pid" ] || kill "$vcmad_pid" 2>/dev/null
	# vm-run kills its QEMU on exit.
	[ -z "$vmrun_pid" ] || kill "$vmrun_pid" 2>/dev/null
	wait 2>/dev/null
	# VCMA_KEEP_WORK=1 keeps the logs (console, vcmad) for a post-mortem.
	if [ -n "${VCMA_KEEP_WORK:-}" ]; then
		echo "# logs kept in $work"
	else
		rm -rf "$work"
	fi
}
trap cleanup EXIT

n=0
ok() { n=$((n + 1)); echo "ok $n - $*"; }
show_logs() {
	for f in vcmad.log console.log vmrun.err; do
		[ -s "$work/$f" ] && { echo "# ----- $f"; tr -d '\r' <"$work/$f" | tail -n 60 | sed 's/^/# /'; }
	done
}
bail() { n=$((n + 1)); echo "not ok $n - $*"; show_logs; echo "Bail out! $*"; exit 1; }
# wait_until SECONDS COMMAND...: poll once a second.
wait_until() {
	local secs=$1 i=0
	shift
	until "$@"; do
		i=$((i + 1))
		[ $i -lt "$secs" ] || return 1
		kill -0 "$vmrun_pid" 2>/dev/null || return 1
		sleep 1
	done
}
json() { python3 -c "import json,sys; d=json.load(sys.stdin); $1"; }

echo "1..8"
"$vm_run" --image "$image" --mem 1024 --append movablecore=512M --timeout 800 \
	--log "$work/console.log" \
	--add "$agent:/bin/vcma-agent" --add "$guest:/bin/vcma-guest" \
	--qemu -device --qemu virtio-serial-pci \
	--qemu -chardev --qemu "socket,path=$work/vm1.sock,server=on,wait=off,id=c0" \
	--qemu -device --qemu "virtserialport,chardev=c0,name=org.vcma.0" \
	--script "$here/guest.sh" >"$work/vmrun.out" 2>"$work/vmrun.err" &
vmrun_pid=$!
mkdir -p "$work/state"
start_vcmad() {
	"$vcmad" --api-socket "$work/api.sock" --state-dir "$work/state" --no-fsync \
		--vm "vm1=$work/vm1.sock" 2>>"$work/vcmad.log" &
	vcmad_pid=$!
}
start_vcmad
export VCMA_SOCKET=$work/api.sock

connected() {
	"$vcmactl" --json vms 2>/dev/null |
		json 'sys.exit(0 if d["vms"][0]["connected"] else 1)' 2>/dev/null
}
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

guest_line() { grep -a -m1 "^| $1" "$work/console.log" | tr -d '\r' | sed "s/^| $1 *//"; }
wait_until 300 grep -aq '^| GUEST-\(GPAS\|FAIL\)' "$work/console.log" || bail "guest never listed its grants"
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

wait_until 300 grep -aq '^| GUEST-\(MEMFREE\|FAIL\)' "$work/console.log" || bail "guest never saw the release"
echo "# $(guest_line GUEST-MEMFREE:)"
grep -aq '^| GUEST-FAIL' "$work/console.log" && bail "guest: $(guest_line GUEST-FAIL:)"
ok "grants gone in the guest and MemFree came back"

wait_until 120 grep -aq '^| GUEST-\(CLI\|FAIL\)' "$work/console.log" || bail "guest never ran vcma-guest reserve/release"
grep -aq '^| GUEST-FAIL' "$work/console.log" && bail "guest: $(guest_line GUEST-FAIL:)"
ok "vcma-guest reserve 8M / release / errors against vcma.ko in the guest"

wait "$vmrun_pid"
status=$?
vmrun_pid=
[ $status -eq 0 ] || bail "guest verdict: vm-run exit $status"
ok "guest passed (agent exited cleanly, no kernel warnings)"
