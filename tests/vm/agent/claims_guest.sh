# Guest half of the vm-agent-claims test (runs as /etc/vcma-run under
# busybox sh; see claims.sh): vcma.ko, the claim-API test driver and
# vcma-agent on org.vcma.0. The driver claims the host's grant labelled
# nic0 and holds it until the host reserves one labelled letgo.
. /etc/vcma-lib.sh
ctl=/sys/kernel/debug/vcma_claim_test/ctl
has_label() { vcma-guest status --json | grep -q "\"label\": *\"$1\""; }
no_grants() { ! vcma-guest status --json | grep -q '"gpa"'; }

insmod /lib/modules/vcma.ko || fail "insmod vcma.ko"
insmod /lib/modules/vcma_claim_test.ko || fail "insmod vcma_claim_test.ko"
vcma-agent --verbose 2>/tmp/agent.log &
agent=$!

poll 1200 has_label nic0 || fail "the host's grant nic0 never appeared"
echo "label 0 nic0 claimtest:nic0" >"$ctl" || fail "claim of nic0 refused"
vcma-guest status
mark "GUEST-CLAIMED: $(head -n 1 "$ctl")"
poll 1200 has_label letgo || fail "the host never reserved letgo"
has_label nic0 || fail "nic0 was released while the driver held it"
echo "put 0" >"$ctl" || fail "put of the claim"
mark "GUEST-UNCLAIMED: ok"
poll 1200 no_grants || fail "the host's grants were not released"
mark "GUEST-RELEASED: ok"
rmmod vcma_claim_test || fail "rmmod vcma_claim_test"
kill $agent
wait $agent
echo "GUEST-AGENT-EXIT: $?"
grep -q 'RELEASE .*E_CLAIMED, held by claimtest:nic0' /tmp/agent.log ||
	{ sed 's/^/agent: /' /tmp/agent.log; fail "the agent never answered E_CLAIMED"; }
sed 's/^/agent: /' /tmp/agent.log
