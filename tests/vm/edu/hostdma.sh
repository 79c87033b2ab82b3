#!/bin/bash
# A host-reserved grant DMA'd by a real device (suite vm, TAP): vcmad on the
# host reserves through vcma-agent and vcma.ko in a QEMU guest with sixteen
# edu devices (28-bit DMA mask, no vIOMMU):
#   vcmactl reserve vm1 16M --below 256M --label edu0   granted below 2^28,
#   vcmactl reserve vm1 16M --align 256M --label high   granted above it
#     (without a limit the planner may pick any cheap window, low ones too;
#     256 MiB alignment leaves only windows at or above 2^28, as [0, 16M)
#     always holds reserved pages),
# then in the guest vcma_edu.ko claims edu0 and the devices DMA a pattern
# over all of it both ways, checked word by word (vcma-edutest dma-host),
# and the driver's own mask check refuses "high". MODE busy runs the busy
# workload (ext4 buffer heads, O_DIRECT and io_uring pins, churn) from
# before the reservation to after the DMA.
# Usage: hostdma.sh VM_RUN IMAGE VCMA_AGENT VCMAD VCMACTL EDUTEST EDU_KO idle|busy
set -uo pipefail
[ $# -eq 8 ] || { echo "usage: $0 VM_RUN IMAGE VCMA_AGENT VCMAD VCMACTL EDUTEST EDU_KO idle|busy" >&2; exit 2; }
vm_run=$1 image=$2 agent=$3 vcmad=$4 vcmactl=$5 edutest=$6 edu_ko=$7 mode=$8
here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source-path=SCRIPTDIR source=../harness/lib-vcmad.sh
. "$here/../harness/lib-vcmad.sh"
vm_test_begin "edu-host-$mode"

echo "1..8"
{ echo "mode=$mode"; cat "$here/hostdma-guest.sh"; } >"$work/guest.sh"
disk=()
[ "$mode" = busy ] && disk=(--disk 256)
boot_guest "$work/guest.sh" --timeout 1500 --edu 16 "${disk[@]}" \
	--add "$edutest:/bin/vcma-edutest" --add "$edu_ko:/lib/modules/vcma_edu.ko"
start_vcmad

wait_until 900 connected || bail "guest agent never said HELLO to vcmad"
"$vcmactl" --json status vm1 | json 'sys.exit(0 if "addr_limit" in d["guest"]["caps"] else 1)' ||
	bail "vcma-agent does not offer capability bit 6 (address limits)"
ok "vcma-agent connected and offers address limits (bit 6)"

wait_until 600 guest_says GUEST-WAITING || bail "the guest never got ready for the grant"
bail_if_guest_failed
"$vcmactl" reserve vm1 16M --below 256M --label edu0 --wait --wait-timeout 600 \
	>"$work/reserve.out" 2>&1 ||
	{ sed 's/^/# /' "$work/reserve.out"; bail "vcmactl reserve vm1 16M --below 256M --label edu0"; }
"$vcmactl" reserve vm1 16M --align 256M --label high --wait --wait-timeout 600 \
	>>"$work/reserve.out" 2>&1 ||
	{ sed 's/^/# /' "$work/reserve.out"; bail "vcmactl reserve vm1 16M --align 256M --label high"; }
sed 's/^/# /' "$work/reserve.out"
"$vcmactl" --json status vm1 >"$work/status.json" || bail "vcmactl status vm1"
json 'r = {x["label"]: x for x in d["reservations"]}; e = r["edu0"]
sys.exit(0 if e["state"] == "granted" and e["max_addr"] == 256 << 20 and
         int(e["gpa"], 16) + e["granted_size"] <= 256 << 20 else 1)' <"$work/status.json" ||
	bail "edu0 not granted below 256M: $(cat "$work/status.json")"
ok "vcmactl reserve vm1 16M --below 256M --label edu0: granted below 256 MiB"

wait_until 1200 guest_says GUEST-EDU-DONE || bail "the guest's DMA run never ended"
grep -a '^| \(ok\|not ok\|#\)' "$work/console.log" | tr -d '\r' | sed 's/^| /# guest: /'
tap_ok=$(grep -ac '^| ok ' "$work/console.log")
tap_bad=$(grep -ac '^| not ok ' "$work/console.log")
[ "$tap_bad" -eq 0 ] || bail "$tap_bad of the guest's checks failed"
guest_says "GUEST-EDU-DONE: 0" || bail "vcma-edutest dma-host failed: $(guest_line GUEST-EDU-DONE:)"
grep -aq '^| ok .*second half holds the first half.s pattern byte for byte' "$work/console.log" &&
	grep -aq '^| ok .*first half holds the second half.s pattern byte for byte' "$work/console.log" ||
	bail "the pattern checks did not run"
ok "$mode guest: the edu devices DMA'd the host's 16 MiB grant both ways, every word checked ($tap_ok checks)"
grep -aq '^| ok .*one changed byte fails the check' "$work/console.log" || bail "the negative control did not run"
ok "a single changed byte fails the pattern check"
grep -aq '^| ok .*driver.s own mask check refuses it: Numerical result out of range' "$work/console.log" ||
	bail "the grant above the limit was not refused by the driver's mask check"
ok "the grant reserved without the limit lies above 2^28 and the driver's mask check refuses it (ERANGE)"

for label in edu0 high; do
	id=$("$vcmactl" --json status vm1 | json "print(next(r['id'] for r in d['reservations'] if r['label'] == '$label'))")
	"$vcmactl" release vm1 "$id" --wait --wait-timeout 120 >/dev/null 2>"$work/release.err" ||
		{ sed 's/^/# /' "$work/release.err"; bail "vcmactl release vm1 $id ($label) failed"; }
done
ok "vcmactl release of both once the driver let go"

wait_until 300 guest_says GUEST-RELEASED || bail "the guest never saw the releases"
bail_if_guest_failed
ok "the grants are gone in the guest"

guest_verdict || bail "guest verdict: vm-run exit $?"
ok "guest passed (agent exited cleanly, no kernel warnings)"
