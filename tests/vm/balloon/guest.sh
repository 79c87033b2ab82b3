# Guest half of the vm balloon test (runs as /etc/vcma-run under busybox sh;
# see balloon.sh). Loads vcma.ko, starts vcma-agent on org.vcma.0 and a
# checksummed anonymous-memory workload, then follows the host through
# MemTotal alone (the balloon takes memory out of MemTotal):
#   inflate 256 MiB -> deflate -> inflate to the floor -> deflate
# (after the first inflate it reports how many chunks were free blocks),
# and finally checks the workload's checksums and that nothing was OOM-killed.
# Lines for the host go to the console with the "| " prefix (mark, fail and
# poll come from the harness's lib-guest.sh).
. /etc/vcma-lib.sh
memtotal() { awk '/^MemTotal:/ { print $2 }' /proc/meminfo; }
memtotal_is() { [ "$(memtotal)" "$1" "$2" ]; }
# wait_mt OP KIB: until MemTotal OP KIB holds (at most 15 minutes).
wait_mt() { poll 1800 memtotal_is "$@"; }

insmod /lib/modules/vcma.ko || fail "insmod vcma.ko"
# Use most guest memory once, as a guest that has run a while has (the host
# also fills the rest of the memfd, see balloon.sh).
balloon-guest work 96 /tmp/stop >/tmp/work.out 2>&1 &
work=$!
sleep 1
avail=$(awk '/^MemAvailable:/ { print int($2 / 1024) }' /proc/meminfo)
balloon-guest touch $((avail - 64)) || fail "touch"
vcma-agent --verbose 2>/tmp/agent.log &
agent=$!
base=$(memtotal)
mark "GUEST-READY: memtotal=$base"

wait_mt -le $((base - 262144)) || fail "MemTotal never shrank by 256 MiB ($(memtotal) kB)"
vcma_stat() { cat "/sys/kernel/vcma/$1"; }
mark "GUEST-INFLATED: memtotal=$(memtotal) balloon_inflated=$(vcma_stat balloon_inflated) balloon_free_taken=$(vcma_stat balloon_free_taken)"
wait_mt -ge "$base" || fail "MemTotal did not come back after the deflate ($(memtotal) kB)"
mark "GUEST-DEFLATED: memtotal=$(memtotal)"
wait_mt -le $((base - 300000)) || fail "the floor inflate never happened ($(memtotal) kB)"
# settle: the balloon stops at the floor
last=0
while [ "$(memtotal)" != "$last" ]; do last=$(memtotal); sleep 3; done
mark "GUEST-FLOOR: memtotal=$(memtotal) memfree=$(awk '/^MemFree:/ { print $2 }' /proc/meminfo)"
wait_mt -ge "$base" || fail "MemTotal did not come back after the floor ($(memtotal) kB)"
touch /tmp/stop
wait $work
wrc=$?
cat /tmp/work.out
mark "GUEST-WORK: rc=$wrc $(grep WORKLOAD /tmp/work.out | tail -n 1)"
kill $agent
wait $agent
sed 's/^/agent: /' /tmp/agent.log | tail -n 20
dmesg | grep -qi "out of memory\|oom-kill" && fail "the guest OOM-killed something"
[ $wrc = 0 ] || fail "workload checksums"
mark "GUEST-DONE"
