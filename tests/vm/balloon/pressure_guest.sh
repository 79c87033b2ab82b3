# Guest half of the vm pressure-deflate test (busybox sh, /etc/vcma-run; see
# pressure.sh). /etc/pressure-mode says "on" or "off": vcma.ko is loaded with
# deflate_on_pressure=1 or 0. The host inflates the balloon by the target
# this script names (all but about 224 MiB of MemAvailable); then it
#   (off) allocates what is left minus the floor and some slack: it must fit,
#   both: allocates 128 MiB more than MemAvailable (fill, verify, exit):
#         on:  it must survive, the balloon shrinks (the module gave chunks
#              back), and nothing is OOM-killed;
#         off: it must be OOM-killed (it asked for more than the guest has),
#              it alone, and the balloon must not move;
#   (on)  waits until the host, after its backoff, inflates again;
# and finally checks the checksummed workload and the kernel log.
# Lines for the host go to the console with the "| " prefix.
. /etc/vcma-lib.sh
mode=$(cat /etc/pressure-mode)
kv() { awk -v k="$1:" '$1 == k { print $2 }' /proc/meminfo; }
avail_mb() { echo $(($(kv MemAvailable) / 1024)); }
memtotal() { kv MemTotal; }
pr() { cat "/sys/kernel/vcma/pressure/$1"; }
# For poll, which runs its command again each time: evaluated then.
mt() { test "$(memtotal)" "$1" "$2"; }
eligible_ge() { [ "$(pr eligible_chunks)" -ge "$1" ]; }

case "$mode" in
on) opt=1 ;;
off) opt=0 ;;
*) fail "pressure mode '$mode'" ;;
esac
# The shell, the agent and the workload are never the OOM killer's choice.
echo -1000 >/proc/self/oom_score_adj
insmod /lib/modules/vcma.ko deflate_on_pressure=$opt pressure_chunk_mb=32 ||
	fail "insmod vcma.ko deflate_on_pressure=$opt"
[ "$(pr enabled)" = "$opt" ] || fail "pressure/enabled is $(pr enabled), want $opt"
balloon-guest work 96 /tmp/stop >/tmp/work.out 2>&1 &
work=$!
vcma-agent --verbose 2>/tmp/agent.log &
agent=$!
sleep 1
base=$(memtotal)
# The balloon the host is to inflate: all but about 224 MiB of MemAvailable.
target_mb=$(( ($(avail_mb) - 224) / 2 * 2 ))
mark "GUEST-READY: memtotal=$base avail_mb=$(avail_mb) target_mb=$target_mb"

# Wait until the balloon holds the target and, with the option on, the host
# has said it acted on every chunk (the module's eligible list covers the
# whole balloon; without the capability the host does not confirm the last
# chunks, nor need it).
poll 1800 mt -le $((base - target_mb * 1024)) ||
	fail "the balloon never reached $target_mb MiB ($(memtotal) kB)"
[ "$mode" = off ] || poll 600 eligible_ge $((target_mb / 2)) ||
	fail "only $(pr eligible_chunks) of $((target_mb / 2)) chunks eligible: no acknowledgement from the host"
inflated=$(memtotal)
mark "GUEST-INFLATED: memtotal=$inflated avail_mb=$(avail_mb) eligible=$(pr eligible_chunks)"

# hog MB: fill MB of anonymous memory, verify it once and exit; its status
# (137 when the OOM killer took it). The OOM killer's first choice.
touch /tmp/now
hog() {
	(echo 1000 >/proc/self/oom_score_adj; exec balloon-guest work "$1" /tmp/now) >/tmp/hog.out 2>&1
}

if [ "$mode" = off ]; then
	fit=$(($(avail_mb) - 64 - 48))
	hog $fit
	frc=$?
	mark "GUEST-FIT: mb=$fit rc=$frc $(cat /tmp/hog.out)"
	[ $frc = 0 ] || fail "an allocation of $fit MiB, within what the balloon left, failed ($frc)"
	dmesg | grep -qi "out of memory\|oom-kill" && fail "OOM within what the balloon left"
fi

avail=$(avail_mb)
over=$((avail + 128))
t0=$(date +%s)
hog $over
orc=$?
t1=$(date +%s)
mark "GUEST-OVER: mb=$over avail_mb=$avail rc=$orc secs=$((t1 - t0)) memtotal=$(memtotal) deflated_bytes=$(pr deflated_bytes) events=$(pr events) oom_events=$(pr oom_events) busy=$(pr busy) $(cat /tmp/hog.out)"
dmesg | grep -i "oom-kill\|killed process" | sed 's/^/kernel: /'
if [ "$mode" = on ]; then
	[ $orc = 0 ] || fail "with deflate_on_pressure=1 the $over MiB allocation died ($orc)"
	[ "$(memtotal)" -gt "$inflated" ] || fail "the balloon did not shrink (MemTotal $(memtotal) kB)"
	[ "$(pr deflated_bytes)" -gt 0 ] || fail "pressure/deflated_bytes is 0"
	dmesg | grep -qi "oom-kill" && fail "with deflate_on_pressure=1 something was OOM-killed"
	# The host backs off, then inflates again (the hog is gone).
	after=$(memtotal)
	poll 1800 mt -lt "$after" || fail "the host never inflated again"
	mark "GUEST-REINFLATED: memtotal=$(memtotal)"
else
	[ $orc = 137 ] || fail "with deflate_on_pressure=0 the $over MiB allocation was not OOM-killed ($orc)"
	[ "$(memtotal)" = "$inflated" ] || fail "the balloon moved without deflate_on_pressure ($(memtotal) kB)"
	[ "$(pr deflated_bytes)" = 0 ] || fail "pressure/deflated_bytes is $(pr deflated_bytes)"
	kills=$(dmesg | grep -ci "killed process")
	dmesg | grep -i "killed process" | grep -qv "balloon-guest" && fail "the OOM killer took something else"
	[ "$kills" -ge 1 ] || fail "no OOM kill in the kernel log"
	# The OOM report carries a stack trace, which the harness takes for a
	# kernel warning: check that it is all there is, then clear the log.
	dmesg | grep -E 'WARNING:|BUG:|Oops|Kernel panic|general protection' &&
		fail "a kernel warning besides the expected OOM kill"
	[ "$(dmesg | grep -c 'Call Trace')" = "$(dmesg | grep -c 'invoked oom-killer')" ] ||
		fail "a stack trace that is not an OOM report"
	dmesg -c >/dev/null
fi

poll 1800 mt -ge "$base" || fail "MemTotal did not come back after the deflate ($(memtotal) kB)"
touch /tmp/stop
wait $work
wrc=$?
cat /tmp/work.out
mark "GUEST-WORK: rc=$wrc $(grep WORKLOAD /tmp/work.out | tail -n 1)"
kill $agent
wait $agent
sed 's/^/agent: /' /tmp/agent.log | tail -n 30
[ $wrc = 0 ] || fail "workload checksums"
mark "GUEST-DONE"
