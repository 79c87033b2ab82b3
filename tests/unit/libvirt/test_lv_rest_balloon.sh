#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
# REST balloon on a libvirt domain without the vcma agent: vcmad --connect
# test:///default serves nothing (the test driver's domain "test" has no vcma
# channel, 8 GiB max), so PUT .../balloon goes to libvirt's balloon and says so.
# Then a domain WITH the channel whose RAM is anonymous (fixture node file
# for test:///PATH): vcma balloon and the reason by default, libvirt's
# balloon with [balloon] libvirt_fallback.
# Usage: test_lv_rest_balloon.sh VCMAD VCMACTL FIXTURES   (TAP)
vcmad=$1 ctl=$2 node=$3/testdrv-node-unshared.xml
dir=$(mktemp -d /tmp/vcma-lvrest-XXXXXX)
pid=
cleanup() { [ -n "$pid" ] && kill "$pid" 2>/dev/null && wait "$pid" 2>/dev/null; rm -rf "$dir"; }
trap cleanup EXIT
n=0 failed=0
ok() {
	local d=${2//$'\n'/ | }
	n=$((n + 1))
	if [ "$1" = 0 ]; then echo "ok $n - $d"; else echo "not ok $n - $d"; failed=1; fi
}
echo "1..16"

start() {
	rm -f "$dir/api.sock"
	"$vcmad" --connect "$1" --api-socket "$dir/api.sock" --state-dir "$dir/st" \
		--no-fsync --log-level info "${@:2}" 2>"$dir/vcmad.log" &
	pid=$!
	for _ in $(seq 100); do [ -S "$dir/api.sock" ] && break; sleep 0.1; done
}
stop() { kill "$pid" 2>/dev/null; wait "$pid" 2>/dev/null; pid=; }
export VCMA_SOCKET=$dir/api.sock

start test:///default

out=$("$ctl" balloon test --target 1G 2>&1); rc=$?
ok $(( rc != 0 )) "vcmactl balloon test --target 1G succeeds ($rc)"
grep -q "via libvirt's balloon" <<<"$out"; ok $? "vcmactl says it went through libvirt's balloon: $out"
grep -q "guest memory now 7G" <<<"$out"; ok $? "guest memory 8G - 1G"
out=$("$ctl" resize test 2G --json 2>&1)
grep -q '"via":"libvirt-balloon"' <<<"${out// /}"; ok $? "resize --json: via libvirt-balloon"
grep -q '"guest_mem_bytes":2147483648' <<<"${out// /}"; ok $? "resize to 2G: new memory in the body"
out=$("$ctl" balloon test --target 8G 2>&1); rc=$?
ok $(( rc == 0 )) "a target leaving less than the floor fails ($rc)"
grep -q "HTTP 409" <<<"$out"; ok $? "...with 409: $out"
out=$("$ctl" balloon nosuchdomain --target 1G 2>&1); rc=$?
grep -q "HTTP 404" <<<"$out"; ok $? "unknown domain: 404 ($rc): $out"
grep -q "libvirt's balloon" "$dir/vcmad.log"; ok $? "vcmad logs the fallback"
stop

# the domain is served (it has the channel); the agent never comes: wait for the attach
attached() {
	for _ in $(seq 50); do
		"$ctl" vms 2>/dev/null | grep -q vcma-anon && return 0
		sleep 0.1
	done
	return 1
}
start "test://$node"
attached; ok $? "vcma-anon (channel, anonymous RAM) is served"
out=$("$ctl" balloon vcma-anon --target 256M 2>&1); rc=$?
ok $(( rc != 0 )) "fallback off: the vcma balloon target is stored ($rc): $out"
out=$("$ctl" balloon vcma-anon 2>&1)
grep -q "host reclaim: no .*not a shared backend" <<<"$out"; ok $? "GET says why host reclaim is impossible: $out"
stop
start "test://$node" --set balloon.libvirt_fallback=true
attached
out=$("$ctl" balloon vcma-anon --target 256M 2>&1); rc=$?
ok $(( rc != 0 )) "fallback on: succeeds ($rc)"
grep -q "via libvirt's balloon (host reclaim impossible)" <<<"$out"; ok $? "says libvirt's balloon and why: $out"
grep -q "guest memory now 768M" <<<"$out"; ok $? "1G - 256M"
grep -q "libvirt_fallback" "$dir/vcmad.log"; ok $? "vcmad logs it"
[ "$failed" = 0 ] || { echo "# vcmad log:"; sed 's/^/# /' "$dir/vcmad.log"; }
exit 0
