# shellcheck shell=dash  # busybox ash, which has local as dash does
# Shared by the guest halves of the vcmad VM tests (busybox sh, sourced as
# /etc/vcma-lib.sh; boot_guest in lib-vcmad.sh puts it there).
#
# Lines for the host go to the console directly: the harness pipes the
# script's output through a buffered filter, and the host polls the console
# for them while the guest still runs. They carry the "| " prefix the
# harness gives scenario output.
mark() { echo "| $*" >/dev/console; }
fail() { mark "GUEST-FAIL: $*"; exit 1; }

# poll HALF_SECONDS COMMAND...: run COMMAND twice a second until it
# succeeds or the time is up; its status in the end.
poll() {
	local limit=$1 i=0
	shift
	while ! "$@" && [ $i -lt "$limit" ]; do
		sleep 0.5
		i=$((i + 1))
	done
	"$@"
}
