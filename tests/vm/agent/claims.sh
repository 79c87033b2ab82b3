#!/bin/bash
# VM test of claims seen from the host (suite vm, TAP): vcmad on the host,
# vcma.ko, vcma-agent and the claim-API test driver (vcma_claim_test.ko) in
# a real QEMU guest. The host reserves 16 MiB labelled nic0, the driver in
# the guest claims it by label, and then
#   vcmactl release vm1 ID        is refused through vcmad -> agent -> vcma.ko:
#                                 "busy: claimed by claimtest:nic0", exit 1,
#   vcmactl status                still shows it granted, claimed by the driver,
#   vcmad restarts                its STATUS sync learns the holder again,
#   the driver lets go            (the host asks with a reservation "letgo")
#   vcmactl release vm1 ID        succeeds.
# Usage: claims.sh VM_RUN IMAGE VCMA_AGENT VCMA_GUEST VCMAD VCMACTL CLAIM_TEST_KO
set -uo pipefail
[ $# -eq 7 ] || { echo "usage: $0 VM_RUN IMAGE VCMA_AGENT VCMA_GUEST VCMAD VCMACTL CLAIM_TEST_KO" >&2; exit 2; }
vm_run=$1 image=$2 agent=$3 guest=$4 vcmad=$5 vcmactl=$6 claim_ko=$7
here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source-path=SCRIPTDIR source=../harness/lib-vcmad.sh
. "$here/../harness/lib-vcmad.sh"
vm_test_begin claims
owner=claimtest:nic0

echo "1..8"
boot_guest "$here/claims_guest.sh" --timeout 800 --add "$guest:/bin/vcma-guest" \
	--add "$claim_ko:/lib/modules/vcma_claim_test.ko"
start_vcmad

wait_until 780 connected || bail "guest agent never said HELLO to vcmad"
caps=$("$vcmactl" --json status vm1 | json 'print(" ".join(d["guest"]["caps"]))')
case " $caps " in *" addr_limit "*) ;; *) bail "bit 6 not common with the agent (caps: $caps)" ;; esac
ok "vcma-agent connected, capability bit 6 (claims) common"

"$vcmactl" reserve vm1 16M --label nic0 --wait --wait-timeout 300 >"$work/reserve.out" 2>&1 ||
	{ sed 's/^/# /' "$work/reserve.out"; bail "vcmactl reserve vm1 16M --label nic0 failed"; }
rsv() { # rsv EXPR: EXPR of the reservation labelled nic0 in vcmactl's JSON
	"$vcmactl" --json status vm1 2>/dev/null |
		json "r = [r for r in d['reservations'] if r['label'] == 'nic0']; print($1 if r else '')"
}
id=$(rsv 'r[0]["id"]') grant=$(rsv 'r[0]["grant_id"]')
[ -n "$id" ] && [ -n "$grant" ] || bail "no granted reservation nic0"
ok "vcmactl reserve vm1 16M --label nic0: reservation $id, grant $grant"

wait_until 300 guest_says GUEST-CLAIMED || bail "the guest driver never claimed nic0"
bail_if_guest_failed
echo "# $(guest_line GUEST-CLAIMED:)"
ok "vcma_claim_test.ko in the guest claimed grant $grant by its label"

"$vcmactl" release vm1 "$id" >"$work/release.out" 2>"$work/release.err"
rc=$?
sed 's/^/# /' "$work/release.err"
[ $rc -eq 1 ] && grep -q "busy: claimed by $owner" "$work/release.err" ||
	bail "vcmactl release of the claimed grant: exit $rc, want 1 with 'busy: claimed by $owner'"
ok "vcmactl release: refused by vcma.ko through the agent, 'busy: claimed by $owner', exit 1"

held="r[0]['state'] == 'granted' and r[0]['grant_id'] == $grant and r[0].get('claimed_by') == '$owner'"
[ "$(rsv "$held")" = True ] || bail "after the refusal: $(rsv 'r[0]')"
"$vcmactl" status vm1 | grep -q "claimed by $owner" || bail "vcmactl status does not show the holder"
ok "the grant is kept: still granted, same grant, claimed by $owner"

# vcmad does not store holders: a restarted one learns them from the
# agent's STATUS_RESULT ("held" comes only from there).
kill "$vcmad_pid"
wait "$vcmad_pid" 2>/dev/null
start_vcmad
wait_until 120 connected || bail "agent did not come back after vcmad restarted"
synced="r[0]['grant_id'] == $grant and r[0].get('held') == ['claimed'] and r[0].get('claimed_by') == '$owner'"
resynced() { [ "$(rsv "$synced")" = True ]; }
wait_until 60 resynced || bail "after the restart vcmad sees $(rsv 'r[0]')"
ok "vcmad restarted: the agent's STATUS says grant $grant is claimed by $owner"

# The guest driver lets go when it sees a grant labelled letgo.
"$vcmactl" reserve vm1 4M --label letgo --wait --wait-timeout 300 >/dev/null 2>&1 ||
	bail "vcmactl reserve vm1 4M --label letgo failed"
wait_until 300 guest_says GUEST-UNCLAIMED || bail "the guest driver never let go"
bail_if_guest_failed
"$vcmactl" release vm1 "$id" --wait --wait-timeout 120 >"$work/release.out" 2>&1 ||
	{ sed 's/^/# /' "$work/release.out"; bail "release after the driver let go failed"; }
[ -z "$(rsv 'r[0]')" ] || bail "reservation nic0 still there: $(rsv 'r[0]')"
ok "the driver let go: vcmactl release vm1 $id succeeds"

letgo=$("$vcmactl" --json status vm1 | json 'print(" ".join(str(r["id"]) for r in d["reservations"]))')
for x in $letgo; do
	"$vcmactl" release vm1 "$x" --wait --wait-timeout 120 >/dev/null 2>&1 || bail "release $x"
done
wait_until 300 guest_says GUEST-RELEASED || bail "the guest never saw its grants go"
bail_if_guest_failed
guest_verdict || bail "guest verdict: vm-run exit $?"
ok "guest passed (driver unloaded, agent exited cleanly, no kernel warnings)"
