# Guest half of the vm-agent-roundtrip test (runs as /etc/vcma-run under
# busybox sh; see roundtrip.sh). Loads vcma.ko, runs vcma-agent on the
# virtio-serial port org.vcma.0, then only watches: the host reserves four
# ranges, this side lists them with vcma-guest (the host compares the GPAs),
# the host releases them, this side checks that MemFree came back.
# The host polls the console for the GUEST-* lines (mark, fail and poll come
# from the harness's lib-guest.sh).
. /etc/vcma-lib.sh
memfree_kib() { awk '/^MemFree:/ { print $2 }' /proc/meminfo; }
ngrants() { vcma-guest status --json | grep -c '"gpa"'; }
grants_are() { [ "$(ngrants)" "$1" "$2" ]; }
# wait_grants OP N: until "ngrants OP N" holds (at most 10 minutes).
wait_grants() { poll 1200 grants_are "$@"; }

insmod /lib/modules/vcma.ko || fail "insmod vcma.ko"
before=$(memfree_kib)
vcma-agent --verbose 2>/tmp/agent.log &
agent=$!

rc=0
if wait_grants -ge 4; then
	vcma-guest status
	held=$(memfree_kib)
	gpas=$(vcma-guest status --json | sed -n 's/.*"gpa": *\([0-9][0-9]*\).*/\1/p' | sort -n)
	mark "GUEST-GPAS:" $gpas
else
	mark "GUEST-FAIL: four grants never appeared"
	rc=1
fi
if [ $rc = 0 ] && wait_grants -eq 0; then
	vcma-guest status
	after=$(memfree_kib)
	mark "GUEST-MEMFREE: before=$before held=$held after=$after"
	# 4 x 64 MiB = 262144 KiB left MemFree and must come back (some slack
	# for what the guest allocates meanwhile).
	[ $((after - held)) -ge 230000 ] || { mark "GUEST-FAIL: MemFree did not come back"; rc=1; }
else
	[ $rc = 1 ] || { mark "GUEST-FAIL: grants were not released"; rc=1; }
fi
# The admin CLI on its own against the real module: reserve, release, errors.
if [ $rc = 0 ]; then
	out=$(vcma-guest reserve 8M --label cli --deadline 5000)
	echo "$out"
	id=$(echo "$out" | sed -n 's/^grant \([0-9][0-9]*\):.*/\1/p')
	if [ -n "$id" ] && vcma-guest release "$id" && ! vcma-guest release "$id" &&
	   ! vcma-guest reserve 3G && ! vcma-guest reserve 12Q; then
		mark "GUEST-CLI: ok"
	else
		mark "GUEST-FAIL: vcma-guest reserve/release"
		rc=1
	fi
fi
kill $agent
wait $agent
echo "GUEST-AGENT-EXIT: $?"
sed 's/^/agent: /' /tmp/agent.log
exit $rc
