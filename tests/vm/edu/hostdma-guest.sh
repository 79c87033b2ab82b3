# Guest half of vm-edu-host-* (busybox sh; hostdma.sh prepends mode=idle|busy):
# loads vcma.ko, serves the host with vcma-agent, and runs vcma-edutest
# dma-host, which waits for the host's grants "edu0" (below 256 MiB) and
# "high", has vcma_edu.ko DMA over edu0 and checks the refusal of "high".
. /etc/vcma-lib.sh
no_grants() { [ "$(ls /sys/kernel/vcma/grants | wc -l)" -eq 0 ]; }

insmod /lib/modules/vcma.ko || fail "insmod vcma.ko"
vcma-agent --verbose 2>/tmp/agent.log &
agent=$!

vcma-edutest dma-host edu0 "$mode" 28 high
rc=$?
mark "GUEST-EDU-DONE: $rc"
if [ $rc = 0 ]; then
	if poll 600 no_grants; then
		mark "GUEST-RELEASED: ok"
	else
		mark "GUEST-FAIL: grants still there: $(ls /sys/kernel/vcma/grants)"
		rc=1
	fi
fi
kill $agent
wait $agent
echo "GUEST-AGENT-EXIT: $?"
sed 's/^/agent: /' /tmp/agent.log | tail -n 40
exit $rc
