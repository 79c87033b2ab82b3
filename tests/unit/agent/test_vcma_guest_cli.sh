#!/bin/sh
# vcma-guest's command line: sizes, ids and commands are checked before the
# device is touched, and a missing device gives exit 3 with a clear message.
# No module is needed: --device points at a path that does not exist.
# Usage: test_vcma_guest_cli.sh PATH-TO-vcma-guest
guest=$1
nodev=/nonexistent/vcma
n=0 failed=0

# check WANT_EXIT WANT_STDERR_SUBSTRING ARGS...
check() {
	want=$1 msg=$2
	shift 2
	n=$((n + 1))
	err=$("$guest" --device "$nodev" "$@" 2>&1 >/dev/null)
	got=$?
	if [ "$got" = "$want" ] && { [ -z "$msg" ] || printf '%s' "$err" | grep -q -- "$msg"; }; then
		echo "ok $n - vcma-guest $* -> exit $got"
	else
		echo "not ok $n - vcma-guest $*: exit $got (want $want), stderr: $err"
		failed=$((failed + 1))
	fi
}

echo "1..31"
check 0 "" --help
check 0 "" status --help
check 2 "unknown command" frob
check 2 "" 
check 2 "bad size" reserve 64X
check 2 "bad size" reserve 0
check 2 "bad option" reserve -1
check 2 "bad size" reserve 1.5G
check 2 "too large" reserve 99999999999999999999
check 2 "too large" reserve 16777216T
check 2 "exactly one SIZE" reserve
check 2 "exactly one SIZE" reserve 64M 64M
check 2 "power of two" reserve 64M --align 3M
check 2 "label" reserve 64M --label 0123456789012345678901234567890123
check 2 "deadline" reserve 64M --deadline 0
check 2 "bad option" reserve 64M --bogus
check 2 "bad limit" reserve 16M --below 4X
check 2 "bad limit" reserve 16M --below 0
check 2 "bad grant ID" release abc
check 2 "exactly one grant ID" release
check 0 "" export --help
check 2 "one of --exec PROG" export nic0
check 2 "one of --exec PROG" export --socket /tmp/s
check 2 "exclude each other" export nic0 --socket /tmp/s --exec true
check 2 "bad option" export nic0 --exec
check 2 "bad option" export nic0 --socket
check 2 "bad option" export nic0 nic1 --socket /tmp/s
check 2 "neither a grant id nor a label" export 0123456789012345678901234567890123 --exec true
check 3 "not loaded" export nic0 --exec true
check 3 "not loaded" status
check 3 "not loaded" reserve 64M --label nic0
exit $((failed > 0))
