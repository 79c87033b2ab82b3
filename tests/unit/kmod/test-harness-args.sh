#!/bin/bash
# The VM harness refuses bad invocations with exit status 2 and a message,
# before it boots anything (TAP). Args: vm-run mkinitramfs
set -u
vm_run=$1 mkinitramfs=$2
n=0 failed=0
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
: >"$tmp/image"

expect() { # want-status description command...
	local want=$1 what=$2 got
	shift 2
	"$@" >"$tmp/out" 2>&1
	got=$?
	n=$((n + 1))
	if [ "$got" -eq "$want" ] && { [ "$want" -eq 0 ] || [ -s "$tmp/out" ]; }; then
		echo "ok $n - $what"
	else
		echo "not ok $n - $what (status $got, want $want)"
		sed 's/^/# /' "$tmp/out"
		failed=$((failed + 1))
	fi
}

expect 0 "vm-run --help" "$vm_run" --help
expect 2 "vm-run without --image" "$vm_run" -- true
expect 2 "vm-run with an unknown option" "$vm_run" --image "$tmp/image" --bogus
expect 2 "vm-run with a missing image" "$vm_run" --image "$tmp/nope" -- true
expect 2 "vm-run with nothing to run" "$vm_run" --image "$tmp/image" --kernel "$tmp/image"
expect 2 "vm-run with a non-numeric --mem" "$vm_run" --image "$tmp/image" --kernel "$tmp/image" --mem lots -- true
expect 2 "vm-run with a bad --accel" "$vm_run" --image "$tmp/image" --kernel "$tmp/image" --accel fast -- true
expect 2 "vm-run --add without a destination" "$vm_run" --image "$tmp/image" --kernel "$tmp/image" --add "$tmp/image" -- true
expect 0 "mkinitramfs --help" "$mkinitramfs" --help
expect 1 "mkinitramfs without --out" "$mkinitramfs"
expect 1 "mkinitramfs with an unknown module" "$mkinitramfs" --out "$tmp/x.cpio" --module no_such_module_here
expect 1 "mkinitramfs with an unknown option" "$mkinitramfs" --bogus
echo "1..$n"
[ $failed -eq 0 ]
