#!/bin/bash
# VM balloon test (suite vm, TAP): a QEMU guest whose RAM is a shared memfd,
# vcma.ko + vcma-agent + a checksummed workload inside, vcmad on the host with
# the guest's QMP socket (--vm vm1=CHANNEL,qmp=QMP):
#   inflate 256 MiB in 2 MiB chunks  -> the memfd's allocated blocks, read
#                                       from the host, drop by >= 255 MiB
#                                       (chunks that were free blocks are
#                                       counted in sysfs, some must be)
#   deflate                          -> the guest's MemTotal comes back
#   a size below the floor           -> stops at the floor, clear status,
#                                       no OOM, no panic
#   workload checksums valid throughout.
# With BACKING "hugetlb" the memfd is a hugetlbfs one (2 MiB pages): the
# test skips (TAP "1..0 # SKIP reason") unless the host has 512 free 2 MiB
# huge pages.
# Usage: balloon.sh VM_RUN IMAGE VCMA_AGENT BALLOON_GUEST VCMAD VCMACTL [memfd|hugetlb]
set -uo pipefail
[ $# -eq 6 ] || [ $# -eq 7 ] ||
	{ echo "usage: $0 VM_RUN IMAGE VCMA_AGENT BALLOON_GUEST VCMAD VCMACTL [memfd|hugetlb]" >&2; exit 2; }
vm_run=$1 image=$2 agent=$3 bguest=$4 vcmad=$5 vcmactl=$6 backing=${7:-memfd}
case "$backing" in
memfd) ram_args=(--memfd) want_kind=memfd ;;
hugetlb)
	free_hp=$(awk '/^HugePages_Free:/ { print $2 }' /proc/meminfo)
	hp_kb=$(awk '/^Hugepagesize:/ { print $2 }' /proc/meminfo)
	if [ "$hp_kb" != 2048 ] || [ "${free_hp:-0}" -lt 512 ]; then
		echo "1..0 # SKIP host has ${free_hp:-0} free huge pages of ${hp_kb:-?} KiB, the hugetlbfs variant needs 512 of 2048 KiB (echo 512 > /proc/sys/vm/nr_hugepages)"
		exit 0	# TAP: a plan of 0 with SKIP is meson's skip
	fi
	# -machine options merge with vm-run's "-machine q35"
	ram_args=(--qemu -object --qemu "memory-backend-memfd,id=hp0,size=1024M,share=on,hugetlb=on,hugetlbsize=2M"
		  --qemu -machine --qemu memory-backend=hp0)
	want_kind=hugetlbfs ;;
hugetlb1g)
	# 1 GiB huge pages: larger than the 2 MiB chunk, so vcmad must not punch
	# (a punch frees whole huge pages only); the guest still shrinks.
	hp1g=/sys/kernel/mm/hugepages/hugepages-1048576kB/free_hugepages
	if [ "$(cat $hp1g 2>/dev/null || echo 0)" -lt 1 ]; then
		echo "1..0 # SKIP host has no free 1 GiB huge page (echo 1 > ${hp1g%free_hugepages}nr_hugepages)"
		exit 0
	fi
	ram_args=(--qemu -object --qemu "memory-backend-memfd,id=hp0,size=1024M,share=on,hugetlb=on,hugetlbsize=1G"
		  --qemu -machine --qemu memory-backend=hp0)
	want_kind=none ;;
*) echo "BACKING: memfd, hugetlb or hugetlb1g" >&2; exit 2 ;;
esac
here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source-path=SCRIPTDIR source=../harness/lib-vcmad.sh
. "$here/../harness/lib-vcmad.sh"
vm_test_begin balloon

# The memfd behind the guest's RAM, measured from the host: QEMU's fd whose
# link is /memfd:..., sized like the guest's RAM.
qemu_pid() { cat "$work/qemu.pid" 2>/dev/null; }
# memfd [fill]: its allocated bytes; with "fill", first allocate every hole
# (what QEMU's prealloc=on does at start): the state of a guest that has
# touched all its memory, so every chunk ballooned has host memory behind it.
memfd() {
	python3 - "$(qemu_pid)" "$((1024 << 20))" "${1:-}" <<'PY'
import os, sys
pid, size, fill = sys.argv[1], int(sys.argv[2]), sys.argv[3] == "fill"
for fd in os.listdir(f"/proc/{pid}/fd"):
    p = f"/proc/{pid}/fd/{fd}"
    try:
        if os.readlink(p).startswith("/memfd:") and os.stat(p).st_size == size:
            if fill:
                f = os.open(p, os.O_RDWR)
                os.posix_fallocate(f, 0, size)
                os.close(f)
            print(os.stat(p).st_blocks * 512)
            break
    except OSError:
        pass
PY
}

[ "$backing" = hugetlb ] && echo "1..10" || echo "1..9"
boot_guest "$here/guest.sh" "${ram_args[@]}" --timeout 1500 --pidfile "$work/qemu.pid" \
	--add "$bguest:/bin/balloon-guest" --qemu -qmp --qemu "unix:$work/qmp.sock,server=on,wait=off"
wait_until 900 guest_says GUEST-READY || bail "guest never got ready"
bail_if_guest_failed
start_vcmad ",qmp=$work/qmp.sock"
wait_until 300 connected || bail "guest agent never said HELLO to vcmad"
# vcmad asks QEMU over QMP on a thread of its own: until it answers, reclaim is "pending"
for _ in $(seq 100); do
	"$vcmactl" --json balloon vm1 >"$work/b0.json" || bail "vcmactl balloon vm1"
	json 'sys.exit(1 if d["host"].get("reclaim_pending") else 0)' <"$work/b0.json" && break
	sleep 0.1
done
json 'h=d["host"]; print("# host reclaim:", h["reclaim_possible"], h["backend"], h["reason"])' <"$work/b0.json"
if [ "$backing" = hugetlb1g ]; then
	json "sys.exit(0 if not d['host']['reclaim_possible'] and '1024 MiB' in d['host']['reason'] and 'huge page' in d['host']['reason'] else 1)" \
		<"$work/b0.json" || bail "1 GiB huge pages: want host reclaim off with the huge page size as the reason"
	ok "1 GiB huge pages: host reclaim off, the reason names the page size"
else
	json "sys.exit(0 if d['host']['reclaim_possible'] and d['host']['backend'] == '$want_kind' else 1)" \
		<"$work/b0.json" || bail "vcmad cannot reclaim from the $want_kind memfd (see the reason above)"
	ok "vcmad found the guest's $want_kind memfd and RAM layout through QMP"
fi

before=$(memfd fill)
[ -n "$before" ] || bail "no memfd of 1 GiB in QEMU $(qemu_pid)"
t0=$(date +%s.%N)
"$vcmactl" balloon vm1 --target 256M --wait --wait-timeout 900 >"$work/inflate.out" 2>&1 ||
	{ sed 's/^/# /' "$work/inflate.out"; bail "vcmactl balloon vm1 --target 256M failed"; }
t1=$(date +%s.%N)
after=$(memfd)
sed 's/^/# /' "$work/inflate.out"
"$vcmactl" --json balloon vm1 >"$work/b1.json"
chunks=$(json 'print(d["chunks"])' <"$work/b1.json")
freed=$(( (before - after) >> 20 ))
echo "# memfd allocated: before $((before >> 20)) MiB, after $((after >> 20)) MiB: $freed MiB freed; $chunks chunks in $(python3 -c "print(f'{$t1 - $t0:.1f}')") s"
[ "$chunks" = 128 ] || bail "want 128 chunks of 2 MiB, vcmad has $chunks"
if [ "$backing" = hugetlb1g ]; then
	json 'h=d["host"]; sys.exit(0 if h["punched_bytes"] == 0 and h["punch_errors"] == 0 else 1)' <"$work/b1.json" &&
		[ "$freed" = 0 ] || bail "1 GiB huge pages: something was punched ($freed MiB freed)"
	ok "inflate 256 MiB in 128 chunks of 2 MiB: nothing punched out of the 1 GiB huge page"
else
	[ "$freed" -ge 255 ] || bail "the memfd's allocation dropped by only $freed MiB (want >= 255)"
	ok "inflate 256 MiB in 128 chunks of 2 MiB: the memfd's allocated blocks dropped by $freed MiB"
fi

wait_until 300 guest_says GUEST-INFLATED || bail "guest never saw MemTotal shrink"
bail_if_guest_failed
inflated_line=$(guest_line GUEST-INFLATED:)
echo "# guest: $inflated_line"
ok "the guest's MemTotal shrank by 256 MiB"
# Free 2 MiB blocks are taken straight from the buddy allocator before
# anything is evacuated: on this guest, which has freed most of what it
# touched, at least some of the 128 chunks must have come that way.
free_taken=$(sed -n 's/.*balloon_free_taken=\([0-9]*\).*/\1/p' <<<"$inflated_line")
inflated=$(sed -n 's/.*balloon_inflated=\([0-9]*\).*/\1/p' <<<"$inflated_line")
[ "${inflated:-0}" = 128 ] && [ "${free_taken:-0}" -gt 0 ] ||
	bail "want 128 chunks inflated, some of them free blocks (balloon_inflated=${inflated:-?} balloon_free_taken=${free_taken:-?})"
ok "$free_taken of the 128 chunks were free blocks taken without evacuating (sysfs balloon_free_taken)"

# Balloon statistics from the real agent (BALLOON_STATS, capability bit 7):
# MemTotal as the guest itself read it above (the balloon has not moved
# since), all 128 chunks on the guest's one node, the counters of
# /proc/vmstat and vcma.ko's pressure files, what vcmad punched.
mt_kib=$(sed -n 's/.*memtotal=\([0-9]*\).*/\1/p' <<<"$inflated_line")
[ "$backing" = hugetlb1g ] && want_freed=0 || want_freed=$((256 << 20))
"$vcmactl" --json balloon vm1 --stats >"$work/stats.json" 2>"$work/stats.err" ||
	{ sed 's/^/# /' "$work/stats.err"; bail "vcmactl balloon vm1 --stats"; }
"$vcmactl" balloon vm1 --stats 2>&1 | sed 's/^/# /'
json "g = d['guest']; n = d['nodes']; h = d['host']
ok = (d['actual_bytes'] == 256 << 20 and g['mem_total_bytes'] == ${mt_kib:-0} * 1024 and
      0 < g['mem_free_bytes'] <= g['mem_total_bytes'] and
      0 < g['mem_available_bytes'] <= g['mem_total_bytes'] and g['disk_caches_bytes'] is not None and
      g['minor_faults'] > 0 and g['major_faults'] is not None and g['oom_kills'] == 0 and
      g['swap_in_bytes'] is not None and g['swap_out_bytes'] is not None and
      g['pressure_events'] is not None and
      [(x['node'], x['chunks']) for x in n] == [(0, 128)] and h['freed_bytes'] == $want_freed)
sys.exit(0 if ok else 1)" <"$work/stats.json" ||
	{ sed 's/^/# /' "$work/stats.json"; bail "balloon statistics do not match the guest (MemTotal ${mt_kib:-?} kB)"; }
ok "balloon statistics from the guest agent: MemTotal as the guest reads it, 128 chunks on node 0, /proc/vmstat counters, $((want_freed >> 20)) MiB punched"

if [ "$backing" = hugetlb ]; then
	# Empty the host's pool of free, unreserved 2 MiB pages: a deflate would
	# have QEMU fault punched huge pages back in from nothing (SIGBUS), so
	# vcmad must refuse it with the reason and leave the balloon as it is.
	hp=/proc/sys/vm/nr_hugepages
	hp_saved=$(cat $hp)
	hp_total=$(awk '/^HugePages_Total:/ { print $2 }' /proc/meminfo)
	hp_free=$(awk '/^HugePages_Free:/ { print $2 }' /proc/meminfo)
	hp_rsvd=$(awk '/^HugePages_Rsvd:/ { print $2 }' /proc/meminfo)
	echo $((hp_total - hp_free + hp_rsvd)) >$hp
	echo "# host pool drained: $(awk '/^HugePages_(Total|Free|Rsvd):/ { printf "%s %s ", $1, $2 }' /proc/meminfo)"
	"$vcmactl" balloon vm1 --target 0 >"$work/pool.out" 2>&1
	prc=$?
	echo "$hp_saved" >$hp
	sed 's/^/# /' "$work/pool.out"
	"$vcmactl" --json balloon vm1 >"$work/bp.json"
	[ $prc != 0 ] && grep -q 'huge pages' "$work/pool.out" &&
		json 'sys.exit(0 if d["chunks"] == 128 and d["target_bytes"] == 256 << 20 else 1)' <"$work/bp.json" ||
		bail "deflate with an empty huge page pool: want a refusal naming the pool (exit $prc) and the balloon kept"
	ok "deflate refused while the host's huge page pool cannot back it; the balloon is kept"
fi

"$vcmactl" balloon vm1 --target 0 --wait --wait-timeout 600 >"$work/deflate.out" 2>&1 ||
	{ sed 's/^/# /' "$work/deflate.out"; bail "deflate failed"; }
wait_until 300 guest_says GUEST-DEFLATED || bail "guest never saw MemTotal come back"
bail_if_guest_failed
echo "# guest: $(guest_line GUEST-DEFLATED:)"
ok "deflate: the guest's MemTotal is back"

"$vcmactl" resize vm1 64M --wait --wait-timeout 900 >"$work/floor.out" 2>&1
frc=$?
sed 's/^/# /' "$work/floor.out"
"$vcmactl" --json balloon vm1 >"$work/b2.json"
json 'sys.exit(0 if d["state"] == "floor" and d["floor_hit"] and "floor" in d["detail"] else 1)' \
	<"$work/b2.json" && [ $frc = 1 ] || bail "resize below the floor: want state floor and exit 1 (exit $frc)"
ok "resize vm1 64M stops at the guest's floor with a clear status (exit 1)"

wait_until 300 guest_says GUEST-FLOOR || bail "guest never settled at the floor"
echo "# guest: $(guest_line GUEST-FLOOR:)"
"$vcmactl" balloon vm1 --target 0 --wait --wait-timeout 900 >/dev/null 2>&1 || bail "final deflate failed"
wait_until 600 guest_says GUEST-DONE || bail "guest did not finish"
bail_if_guest_failed
echo "# guest: $(guest_line GUEST-WORK:)"
ok "workload checksums valid, nothing OOM-killed"

guest_verdict || bail "guest verdict: vm-run exit $? (kernel warning, oops or panic?)"
ok "guest passed (no kernel warnings, oops or panic)"
