#!/bin/bash
# VM test of deflate under guest memory pressure (suite vm, TAP): a QEMU
# guest on a shared memfd, vcma.ko with deflate_on_pressure=1 (MODE on) or 0
# (MODE off), vcma-agent and a checksummed workload inside, vcmad on the host
# with QMP and a per-VM pressure_backoff_ms of 15 s. vcmad inflates the
# balloon by the target the guest names (all but about 224 MiB of
# MemAvailable); then a guest process
# allocates 128 MiB more than MemAvailable (pressure_guest.sh):
#   on:  it survives, the balloon shrinks, vcmad saw PRESSURE_DEFLATE with
#        exactly the bytes the module gave back, holds off re-inflating for
#        its backoff and then inflates to the target again;
#   off: an allocation within what the balloon left fits (the floor), the
#        over-allocation alone is OOM-killed, the balloon does not move and
#        vcmad saw no pressure deflate.
# Usage: pressure.sh VM_RUN IMAGE VCMA_AGENT BALLOON_GUEST VCMAD VCMACTL on|off
set -uo pipefail
[ $# -eq 7 ] || { echo "usage: $0 VM_RUN IMAGE VCMA_AGENT BALLOON_GUEST VCMAD VCMACTL on|off" >&2; exit 2; }
vm_run=$1 image=$2 agent=$3 bguest=$4 vcmad=$5 vcmactl=$6 mode=$7
case "$mode" in on|off) ;; *) echo "MODE: on or off" >&2; exit 2 ;; esac
backoff_s=15
here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source-path=SCRIPTDIR source=../harness/lib-vcmad.sh
. "$here/../harness/lib-vcmad.sh"
vm_test_begin "pressure-$mode"
balloon() { "$vcmactl" --json balloon vm1; }
field() { balloon | json "print($1)"; }

echo "1..6"
echo "$mode" >"$work/mode"
boot_guest "$here/pressure_guest.sh" --memfd --timeout 1700 \
	--add "$bguest:/bin/balloon-guest" --add "$work/mode:/etc/pressure-mode" \
	--qemu -qmp --qemu "unix:$work/qmp.sock,server=on,wait=off"
wait_until 900 guest_says GUEST-READY || bail "guest never got ready"
bail_if_guest_failed
echo "# guest: $(guest_line GUEST-READY:)"
# The per-VM key of the config file (the global one is [balloon]).
cat >"$work/vcmad.conf" <<EOF
[vm.vm1]
channel = $work/vm1.sock
qmp = $work/qmp.sock
pressure_backoff_ms = $((backoff_s * 1000))
EOF
"$vcmad" --config "$work/vcmad.conf" --api-socket "$work/api.sock" --state-dir "$work/state" \
	--no-fsync 2>>"$work/vcmad.log" &
vcmad_pid=$!
wait_until 300 connected || bail "guest agent never said HELLO to vcmad"
want=$([ "$mode" = on ] && echo True || echo False)
got=$(field 'd["pressure"]["enabled"]')
[ "$got" = "$want" ] || bail "GET balloon pressure.enabled is $got, want $want (capability from the agent)"
[ "$(field 'd["pressure"]["backoff_ms"]')" = $((backoff_s * 1000)) ] ||
	bail "the per-VM pressure_backoff_ms did not reach the VM"
ok "PRESSURE_DEFLATE capability $([ "$mode" = on ] && echo common || echo absent), backoff ${backoff_s} s from the VM's section"

target=$(guest_line GUEST-READY: | sed 's/.*target_mb=\([0-9]*\).*/\1/')
"$vcmactl" balloon vm1 --target "${target}M" --wait --wait-timeout 1200 >"$work/inflate.out" 2>&1 ||
	{ sed 's/^/# /' "$work/inflate.out"; bail "vcmactl balloon vm1 --target ${target}M failed"; }
chunks0=$(field 'd["chunks"]')
wait_until 600 guest_says GUEST-INFLATED || bail "guest never saw the balloon settle"
bail_if_guest_failed
echo "# guest: $(guest_line GUEST-INFLATED:)"
if [ "$mode" = on ]; then
	ok "balloon at $target MiB ($chunks0 chunks), every chunk acknowledged to the guest"
else
	ok "balloon at $target MiB ($chunks0 chunks)"
fi

wait_until 900 guest_says GUEST-OVER || bail "guest never finished the over-allocation"
bail_if_guest_failed
[ "$mode" = on ] || echo "# guest: $(guest_line GUEST-FIT:)"
echo "# guest: $(guest_line GUEST-OVER:)"
guest_deflated=$(guest_line GUEST-OVER: | sed 's/.*deflated_bytes=\([0-9]*\).*/\1/')
if [ "$mode" = on ]; then
	host_sees() { [ "$(field 'd["pressure"]["deflated_bytes"]')" = "$guest_deflated" ]; }
	wait_until 60 host_sees ||
		bail "vcmad recorded $(field 'd["pressure"]["deflated_bytes"]') bytes deflated under pressure, the guest $guest_deflated"
	balloon >"$work/b1.json"
	json 'p=d["pressure"]; print("# vcmad: pressure", p, "actual", d["actual_bytes"] >> 20, "MiB, chunks", d["chunks"], "-", d["detail"])' <"$work/b1.json"
	json "p=d['pressure']; sys.exit(0 if p['events'] >= 1 and p['chunks'] * 2 * 2**20 == p['deflated_bytes'] and d['chunks'] == $chunks0 - p['chunks'] and d['actual_bytes'] < $target << 20 else 1)" \
		<"$work/b1.json" || bail "vcmad's record of the pressure deflate is inconsistent (see above)"
	ok "the $(guest_line GUEST-OVER: | sed 's/^mb=\([0-9]*\).*/\1/') MiB allocation survived; vcmad saw PRESSURE_DEFLATE of $((guest_deflated >> 20)) MiB, the bytes the module gave back"
	# balloon statistics name the last pressure deflate vcmad recorded
	"$vcmactl" --json balloon vm1 --stats >"$work/st.json" || bail "vcmactl balloon vm1 --stats"
	json "p=d['pressure']; sys.exit(0 if p['last'] and p['last']['bytes'] > 0 and p['events'] >= 1 and p['bytes'] == $(field 'd["pressure"]["deflated_bytes"]') else 1)" \
		<"$work/st.json" || { json 'print("# stats pressure:", d.get("pressure"))' <"$work/st.json"; bail "balloon statistics do not show the last pressure deflate"; }

	# While vcmad holds off the balloon must not grow; the hold ends after the backoff.
	actual1=$(json 'print(d["actual_bytes"])' <"$work/b1.json")
	json 'sys.exit(0 if d["pressure"]["holding"] else 1)' <"$work/b1.json" ||
		bail "vcmad does not hold off re-inflating right after the pressure deflate"
	while :; do
		balloon >"$work/b2.json" || bail "GET balloon"
		read -r holding actual ago < <(json 'p=d["pressure"]; print(p["holding"], d["actual_bytes"], p["last_ago_ms"])' <"$work/b2.json")
		[ "$holding" = True ] || break
		[ "$actual" = "$actual1" ] || bail "the balloon grew from $actual1 to $actual during the backoff"
		[ "$ago" -lt $((backoff_s * 1000 + 30000)) ] || bail "still holding $ago ms after the deflate"
		sleep 1
	done
	[ "$ago" -ge $((backoff_s * 1000 - 1000)) ] || bail "the hold ended $ago ms after the deflate, backoff ${backoff_s} s"
	reinflated() { [ "$(field 'd["actual_bytes"]')" = $((target << 20)) ]; }
	wait_until 900 reinflated || bail "vcmad never inflated back to $target MiB"
	wait_until 300 guest_says GUEST-REINFLATED || bail "guest never saw the balloon grow again"
	bail_if_guest_failed
	ok "vcmad held the balloon at $((actual1 >> 20)) MiB for its ${backoff_s} s backoff (hold ended after $ago ms), then inflated back to $target MiB"
else
	balloon >"$work/b1.json"
	json "p=d['pressure']; sys.exit(0 if p['events'] == 0 and p['deflated_bytes'] == 0 and d['chunks'] == $chunks0 and d['actual_bytes'] == $target << 20 else 1)" \
		<"$work/b1.json" || bail "without deflate_on_pressure the balloon moved or vcmad saw a pressure deflate"
	ok "the over-allocation alone was OOM-killed; an allocation within what the balloon left fit (the floor)"
	"$vcmactl" --json balloon vm1 --stats >"$work/st.json" || bail "vcmactl balloon vm1 --stats"
	json "sys.exit(0 if d['pressure']['last'] is None and d['pressure']['events'] == 0 else 1)" <"$work/st.json" ||
		bail "balloon statistics show a pressure deflate that did not happen"
	ok "the balloon did not move and vcmad saw no pressure deflate"
fi

"$vcmactl" balloon vm1 --target 0 --wait --wait-timeout 900 >/dev/null 2>&1 || bail "final deflate failed"
wait_until 600 guest_says GUEST-DONE || bail "guest did not finish"
bail_if_guest_failed
echo "# guest: $(guest_line GUEST-WORK:)"
ok "workload checksums valid throughout"
guest_verdict || bail "guest verdict: vm-run exit $? (kernel warning, oops or panic?)"
ok "guest passed (no kernel warnings, oops or panic)"
