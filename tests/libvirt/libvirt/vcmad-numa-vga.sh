#!/bin/bash
# The domain operators run (issue 12's done-when): a libvirt domain with a
# standard VGA card, two NUMA nodes (one shared memfd backend per node, as
# libvirt's <numa> cells with <memoryBacking><source type='memfd'/> make it)
# and the vcma channel, served by vcmad through its embedded libvirt driver.
# vcmad must take the two node backends as guest RAM and the VGA card's
# video RAM as device memory; a vcma balloon of 512 MiB must free >= 0.99 MiB
# of host memory per MiB, measured from the host as the allocated blocks of
# both memfds in QEMU (every page allocated first, as a guest that touched
# all its memory). TAP output.
#
#   vcmad-numa-vga.sh --vcmad FILE --vcmactl FILE --kernel FILE --initrd FILE
set -uo pipefail

vcmad= vcmactl= kernel= initrd=
while [ $# -gt 0 ]; do
	case "$1" in
	--vcmad) vcmad=$2; shift 2 ;;
	--vcmactl) vcmactl=$2; shift 2 ;;
	--kernel) kernel=$2; shift 2 ;;
	--initrd) initrd=$(realpath "$2"); shift 2 ;;
	*) echo "usage: $0 --vcmad F --vcmactl F --kernel F --initrd F" >&2; exit 2 ;;
	esac
done
skip() { echo "1..0 # SKIP $*"; exit 0; }
[ "$(id -u)" -eq 0 ] || skip "the embedded QEMU driver runs guests as root here; not root"
getent passwd libvirt-qemu >/dev/null || skip "user libvirt-qemu missing (scripts/deps)"
command -v virsh >/dev/null || skip "virsh missing (libvirt-clients)"
command -v python3 >/dev/null || skip "python3 missing"

n=0 failed=0
ok() { # cond-status, description
	n=$((n + 1))
	if [ "$1" -eq 0 ]; then echo "ok $n - $2"; else echo "not ok $n - $2"; failed=$((failed + 1)); fi
}
bail() {
	ok 1 "$*"
	finish
}

dir=$(mktemp -d /tmp/vcma-lvn-XXXXXX)
root=$dir/root
uri="qemu:///embed?root=$root"
api=$dir/api.sock
name=vcma-numa
node_mib=768
vcmad_pid=
qemu_pid() { cat "$root/run/qemu/$name.pid" 2>/dev/null; }
cleanup() {
	local q
	[ -n "$vcmad_pid" ] && kill "$vcmad_pid" 2>/dev/null && wait "$vcmad_pid" 2>/dev/null
	q=$(qemu_pid) && [ -n "$q" ] && kill "$q" 2>/dev/null	# libvirt daemonizes QEMU
	[ -n "${VCMA_KEEP_TMP:-}" ] || rm -rf "$dir"
}
trap cleanup EXIT
finish() {
	[ -n "$vcmad_pid" ] && kill -TERM "$vcmad_pid" && wait "$vcmad_pid"
	vcmad_pid=
	echo "1..$n"
	if [ $failed -gt 0 ]; then
		echo "# vcmad log:"; sed 's/^/# /' "$dir/vcmad.log" | tail -n 40
		echo "# guest console:"; sed 's/^/# /' "$dir/$name.console" 2>/dev/null | tail -n 20
		exit 1
	fi
	exit 0
}

mkdir -p "$root/etc"
cat >"$root/etc/qemu.conf" <<CONF
user = "root"
group = "root"
security_driver = "none"
namespaces = []
cgroup_controllers = []
stdio_handler = "file"
CONF

cat >"$dir/$name.xml" <<XML
<domain type='qemu' xmlns:qemu='http://libvirt.org/schemas/domain/qemu/1.0'>
  <name>$name</name>
  <memory unit='MiB'>$((2 * node_mib))</memory>
  <memoryBacking><source type='memfd'/><access mode='shared'/></memoryBacking>
  <vcpu>2</vcpu>
  <cpu>
    <numa>
      <cell id='0' cpus='0' memory='$node_mib' unit='MiB'/>
      <cell id='1' cpus='1' memory='$node_mib' unit='MiB'/>
    </numa>
  </cpu>
  <os>
    <type arch='x86_64' machine='q35'>hvm</type>
    <kernel>$kernel</kernel>
    <initrd>$initrd</initrd>
    <cmdline>console=ttyS0 panic=-1</cmdline>
  </os>
  <on_reboot>destroy</on_reboot>
  <devices>
    <emulator>/usr/bin/qemu-system-x86_64</emulator>
    <serial type='file'><source path='$dir/$name.console'/></serial>
    <video><model type='vga' vram='16384'/></video>
    <controller type='virtio-serial' index='0'/>
    <channel type='unix'>
      <source mode='bind' path='$dir/$name.sock'/>
      <target type='virtio' name='org.vcma.0'/>
    </channel>
    <memballoon model='none'/>
  </devices>
  <qemu:commandline>
    <qemu:arg value='-qmp'/>
    <qemu:arg value='unix:$dir/$name.qmp,server=on,wait=off'/>
  </qemu:commandline>
</domain>
XML
virsh -q -c "$uri" "define $dir/$name.xml; autostart $name" >"$dir/virsh.log" 2>&1 ||
	{ sed 's/^/# /' "$dir/virsh.log"; bail "domain defined"; }

"$vcmad" --connect "$uri" --api-socket "$api" --state-dir "$dir/state" --no-fsync \
	--log-level debug >>"$dir/vcmad.log" 2>&1 &
vcmad_pid=$!

get() { curl -s --max-time 5 --unix-socket "$api" "http://vcmad$1"; }
# wait_json SECONDS PATH PY-EXPR: until the expression over the JSON (d) holds
wait_json() {
	local deadline=$((SECONDS + $1))
	while [ $SECONDS -lt $deadline ]; do
		get "$2" >"$dir/last.json" 2>/dev/null &&
			python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); sys.exit(0 if eval(sys.argv[2]) else 1)' \
				"$dir/last.json" "$3" 2>/dev/null && return 0
		sleep 1
	done
	return 1
}

wait_json 300 "/v1/vms/$name" 'd["connected"]'
ok $? "vcmad booted the two-node VGA domain and its guest agent connected"
tr '\0' ' ' <"/proc/$(qemu_pid)/cmdline" | grep -q '"driver":"VGA"\|-device VGA'
ok $? "QEMU $(qemu_pid) runs a standard VGA card (from its command line)"

# vcmad asks QEMU over QMP on a thread of its own: until it answers, reclaim is "pending"
wait_json 30 "/v1/vms/$name/balloon" 'not d["host"].get("reclaim_pending")'
get "/v1/vms/$name/balloon" >"$dir/b0.json"
python3 - "$dir/b0.json" <<'PY'
import json, sys
h = json.load(open(sys.argv[1]))["host"]
print("# host reclaim:", h["reclaim_possible"], "-", h["reason"])
bes = h.get("backends", [])
ok = h["reclaim_possible"] and len(bes) == 2 and all(b["punched"] and b["kind"] == "memfd" for b in bes) \
    and "vga.vram" in h["reason"]
sys.exit(0 if ok else 1)
PY
ok $? "host reclaim on both nodes' memfds; the VGA card's video RAM named as device memory"

# QEMU's two memfds (one per node), every page allocated: fill, or measure.
memfds() { # [fill]: prints the sum of their allocated bytes and how many there are
	python3 - "$(qemu_pid)" "$((node_mib << 20))" "${1:-}" <<'PY'
import os, sys
pid, size, fill = sys.argv[1], int(sys.argv[2]), sys.argv[3] == "fill"
seen, total = set(), 0
for fd in os.listdir(f"/proc/{pid}/fd"):
    p = f"/proc/{pid}/fd/{fd}"
    try:
        st = os.stat(p)
        if not os.readlink(p).startswith("/memfd:") or st.st_size != size or st.st_ino in seen:
            continue
        seen.add(st.st_ino)
        if fill:
            f = os.open(p, os.O_RDWR)
            os.posix_fallocate(f, 0, size)
            os.close(f)
        total += os.stat(p).st_blocks * 512
    except OSError:
        pass
print(total, len(seen))
PY
}
read -r before nfds < <(memfds fill)
[ "${nfds:-0}" = 2 ] && [ "$before" -ge $(((2 * node_mib - 1) << 20)) ]
ok $? "both nodes' memfds found in QEMU $(qemu_pid) and fully allocated ($((before >> 20)) MiB)"

"$vcmactl" --socket "$api" balloon "$name" --target 512M --wait --wait-timeout 900 \
	>"$dir/inflate.out" 2>&1
rc=$?
sed 's/^/# /' "$dir/inflate.out"
read -r after _ < <(memfds)
get "/v1/vms/$name/balloon" >"$dir/b1.json"
freed=$((before - after))
ratio=$(python3 -c "print(f'{$freed / (512 << 20):.4f}')")
echo "# allocated before $((before >> 20)) MiB, after $((after >> 20)) MiB: freed $((freed >> 20)) MiB for 512 MiB ballooned = $ratio MiB/MiB"
python3 -c 'import json,sys; [print("#", b["id"], "punched", b["punched_bytes"] >> 20, "MiB") for b in json.load(open(sys.argv[1]))["host"]["backends"]]' "$dir/b1.json"
[ $rc = 0 ] && python3 -c "import sys; sys.exit(0 if $freed >= 0.99 * (512 << 20) else 1)"
ok $? "vcma balloon of 512 MiB freed $ratio MiB of host memory per MiB (want >= 0.99)"
python3 - "$dir/b1.json" <<'PY'
import json, sys
b = json.load(open(sys.argv[1]))
h = b["host"]
sys.exit(0 if b["actual_bytes"] == 512 << 20 and h["punched_bytes"] == 512 << 20 and
         h["punch_errors"] == 0 and sum(x["punched_bytes"] for x in h["backends"]) == 512 << 20
         else 1)
PY
ok $? "every chunk punched in its node's memfd, none in the video RAM, no punch errors"

# On to 1 GiB: more than node 0 can give, so chunks come from both nodes.
"$vcmactl" --socket "$api" balloon "$name" --target 1024M --wait --wait-timeout 900 \
	>"$dir/inflate2.out" 2>&1
rc=$?
sed 's/^/# /' "$dir/inflate2.out"
read -r after2 _ < <(memfds)
get "/v1/vms/$name/balloon" >"$dir/b2.json"
freed=$((before - after2))
ratio=$(python3 -c "print(f'{$freed / (1024 << 20):.4f}')")
echo "# allocated now $((after2 >> 20)) MiB: freed $((freed >> 20)) MiB for 1024 MiB ballooned = $ratio MiB/MiB"
python3 -c 'import json,sys; [print("#", b["id"], "punched", b["punched_bytes"] >> 20, "MiB") for b in json.load(open(sys.argv[1]))["host"]["backends"]]' "$dir/b2.json"
[ $rc = 0 ] && python3 - "$dir/b2.json" "$freed" <<'PY'
import json, sys
h = json.load(open(sys.argv[1]))["host"]
freed = int(sys.argv[2])
sys.exit(0 if all(b["punched_bytes"] > 0 for b in h["backends"]) and
         sum(b["punched_bytes"] for b in h["backends"]) == 1024 << 20 and
         h["punch_errors"] == 0 and freed >= 0.99 * (1024 << 20) else 1)
PY
ok $? "balloon of 1 GiB takes chunks from both nodes, each punched in its own memfd: $ratio MiB freed per MiB"

"$vcmactl" --socket "$api" balloon "$name" --target 0 --wait --wait-timeout 600 >"$dir/deflate.out" 2>&1
ok $? "deflate back to 0"
finish
