# shellcheck shell=bash disable=SC2154  # vm_run, image, ...: the sourcing script's
# Shared by the VM tests that run vcmad on the host against a real guest
# (tests/vm/agent/roundtrip.sh, tests/vm/balloon/balloon.sh): the work
# directory and its cleanup, TAP output, booting the guest with the agent's
# virtio-serial port org.vcma.0, starting vcmad on that port and polling.
# Source it from bash after setting vm_run, image, agent (vcma-agent for
# the guest), vcmad and vcmactl, then call vm_test_begin.
#
# The guest's half gets lib-guest.sh (beside this file) as /etc/vcma-lib.sh.
# It marks its progress on the console as "| GUEST-<STEP>: ..." lines, a
# failure as "| GUEST-FAIL: why"; guest_says and guest_line read them.

vcma_harness=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)

# vm_test_begin NAME: a work directory /tmp/vcma-vm-NAME.* removed on exit
# (VCMA_KEEP_WORK=1 keeps the logs for a post-mortem) along with vcmad and
# the guest; vcmactl talks to the vcmad started there.
vm_test_begin() {
	work=$(mktemp -d "/tmp/vcma-vm-$1.XXXXXX")
	mkdir -p "$work/state"
	vmrun_pid='' vcmad_pid=''
	n=0
	export VCMA_SOCKET=$work/api.sock
	trap vm_test_cleanup EXIT
}

vm_test_cleanup() {
	[ -z "$vcmad_pid" ] || kill "$vcmad_pid" 2>/dev/null
	[ -z "$vmrun_pid" ] || kill "$vmrun_pid" 2>/dev/null	# vm-run kills its QEMU
	wait 2>/dev/null
	if [ -n "${VCMA_KEEP_WORK:-}" ]; then
		echo "# logs kept in $work"
	else
		rm -rf "$work"
	fi
}

ok() { n=$((n + 1)); echo "ok $n - $*"; }
show_logs() {
	for f in vcmad.log console.log vmrun.err; do
		[ -s "$work/$f" ] && { echo "# ----- $f"; tr -d '\r' <"$work/$f" | tail -n 60 | sed 's/^/# /'; }
	done
}
bail() { n=$((n + 1)); echo "not ok $n - $*"; show_logs; echo "Bail out! $*"; exit 1; }

# wait_until SECONDS COMMAND...: poll once a second; give up early when the
# guest is gone.
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

# boot_guest GUEST_SCRIPT [VM_RUN_ARGS...]: vm-run in the background
# (vmrun_pid): 1 GiB with movablecore=512M, vcma-agent as /bin/vcma-agent,
# the port org.vcma.0 on $work/vm1.sock, the console in $work/console.log.
boot_guest() {
	local script=$1
	shift
	"$vm_run" --image "$image" --mem 1024 --append movablecore=512M \
		--log "$work/console.log" \
		--add "$agent:/bin/vcma-agent" --add "$vcma_harness/lib-guest.sh:/etc/vcma-lib.sh" \
		--qemu -device --qemu virtio-serial-pci \
		--qemu -chardev --qemu "socket,path=$work/vm1.sock,server=on,wait=off,id=c0" \
		--qemu -device --qemu "virtserialport,chardev=c0,name=org.vcma.0" \
		"$@" --script "$script" >"$work/vmrun.out" 2>"$work/vmrun.err" &
	vmrun_pid=$!
}

# guest_verdict: wait for the guest to end; vm-run's exit status (0: passed).
guest_verdict() {
	local status
	wait "$vmrun_pid"
	status=$?
	vmrun_pid=
	return $status
}

guest_line() { grep -a -m1 "^| $1" "$work/console.log" | tr -d '\r' | sed "s/^| $1 *//"; }
# guest_says STEP: the guest marked STEP or a failure.
guest_says() { grep -aq "^| \($1\|GUEST-FAIL\)" "$work/console.log"; }
guest_failed() { grep -aq '^| GUEST-FAIL' "$work/console.log"; }
bail_if_guest_failed() {
	if guest_failed; then
		bail "guest: $(guest_line GUEST-FAIL:)"
	fi
}

# start_vcmad [VM_OPTIONS]: vcmad in the background (vcmad_pid) serving vm1
# on the port; VM_OPTIONS (",qmp=PATH") go at the end of its --vm.
start_vcmad() {
	"$vcmad" --api-socket "$work/api.sock" --state-dir "$work/state" --no-fsync \
		--vm "vm1=$work/vm1.sock${1:-}" 2>>"$work/vcmad.log" &
	vcmad_pid=$!
}
# connected: vcmad has a session with the guest's agent.
connected() {
	"$vcmactl" --json vms 2>/dev/null |
		json 'sys.exit(0 if d["vms"][0]["connected"] else 1)' 2>/dev/null
}
