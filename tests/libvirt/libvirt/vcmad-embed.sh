#!/bin/bash
# vcmad with its own embedded libvirt (vcmad --connect 'qemu:///embed?root=DIR'),
# the product path of scripts/demo: a domain defined with autostart, the
# vcma channel and <vcma:config> metadata is booted by vcmad, attached by
# itself, its guest agent connects and the reservations from the metadata
# are granted; a reservation made through vcmactl is written back into the
# domain's metadata (live and persistent); a vcmad restart leaves the
# guest running and vcmad re-attaches to it; when the domain stops vcmad
# detaches it, and when it boots again (autostart at vcmad's next start)
# it is attached again and every reservation is granted again under the
# same ids. TAP output.
#
# The vcma balloon on that domain gives host memory back through the QMP
# socket its <qemu:commandline> adds for vcmad (libvirt keeps its own).
# A second domain without the vcma channel (no agent) but with
# <vcma:balloon target='64M'/> gets the balloon fallback through libvirt.
#
#   vcmad-embed.sh --vcmad FILE --vcmactl FILE --kernel FILE --initrd FILE
#                  --idle-initrd FILE
set -uo pipefail

vcmad= vcmactl= kernel= initrd= idle_initrd=
while [ $# -gt 0 ]; do
	case "$1" in
	--idle-initrd) idle_initrd=$(realpath "$2"); shift 2 ;;
	--vcmad) vcmad=$2; shift 2 ;;
	--vcmactl) vcmactl=$2; shift 2 ;;
	--kernel) kernel=$2; shift 2 ;;
	--initrd) initrd=$(realpath "$2"); shift 2 ;;
	*) echo "usage: $0 --vcmad F --vcmactl F --kernel F --initrd F --idle-initrd F" >&2
	   exit 2 ;;
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

dir=$(mktemp -d /tmp/vcma-lvd-XXXXXX)
root=$dir/root
uri="qemu:///embed?root=$root"
api=$dir/api.sock
name=vcma-lva
vcmad_pid=
qemu_pid() { cat "$root/run/qemu/$name.pid" 2>/dev/null; }
cleanup() {
	local f q
	[ -n "$vcmad_pid" ] && kill "$vcmad_pid" 2>/dev/null && wait "$vcmad_pid" 2>/dev/null
	# libvirt daemonizes QEMU: it outlives vcmad, so stop our guests by pid.
	for f in "$root"/run/qemu/vcma-*.pid; do
		q=$(cat "$f" 2>/dev/null) && [ -n "$q" ] && kill "$q" 2>/dev/null
	done
	[ -n "${VCMA_KEEP_TMP:-}" ] || rm -rf "$dir"
}
trap cleanup EXIT

mkdir -p "$root/etc"
cat >"$root/etc/qemu.conf" <<CONF
user = "root"
group = "root"
security_driver = "none"
namespaces = []
cgroup_controllers = []
stdio_handler = "file"
CONF

# A TCG domain booting Debian's kernel directly, memfd-backed, with a balloon.
domain_xml() { # name, MiB, initrd, <vcma:config> body, extra devices, extra top-level XML
	cat <<XML
<domain type='qemu' xmlns:qemu='http://libvirt.org/schemas/domain/qemu/1.0'>
  <name>$1</name>
  <metadata>
    <vcma:config xmlns:vcma='https://vcma.invalid/xmlns/vcma/1'>$4</vcma:config>
  </metadata>
  <memory unit='MiB'>$2</memory>
  <memoryBacking><source type='memfd'/><access mode='shared'/></memoryBacking>
  <vcpu>1</vcpu>
  <os>
    <type arch='x86_64' machine='pc'>hvm</type>
    <kernel>$kernel</kernel>
    <initrd>$3</initrd>
    <cmdline>console=ttyS0 panic=-1</cmdline>
  </os>
  <on_reboot>destroy</on_reboot>
  <devices>
    <emulator>/usr/bin/qemu-system-x86_64</emulator>
    <serial type='file'><source path='$dir/$1.console'/></serial>
    <memballoon model='virtio'/>$5
  </devices>$6
</domain>
XML
}

domain_xml "$name" 384 "$initrd" "<vcma:reservation size='2M' count='2' label='dma'/>" "
    <controller type='virtio-serial' index='0'/>
    <channel type='unix'>
      <source mode='bind' path='$dir/$name.sock'/>
      <target type='virtio' name='org.vcma.0'/>
    </channel>" "
  <qemu:commandline>
    <qemu:arg value='-qmp'/>
    <qemu:arg value='unix:$dir/$name.qmp,server=on,wait=off'/>
  </qemu:commandline>" >"$dir/$name.xml"
plain=vcma-lvb
domain_xml "$plain" 256 "$idle_initrd" "<vcma:balloon target='64M'/>" "" "" >"$dir/$plain.xml"

virsh -q -c "$uri" "define $dir/$name.xml; autostart $name; define $dir/$plain.xml; autostart $plain" \
	>"$dir/virsh.log" 2>&1
ok $? "domains defined with autostart in the embedded driver's root (virsh exits: nothing runs)"

start_vcmad() {
	"$vcmad" --connect "$uri" --api-socket "$api" --state-dir "$dir/state" --no-fsync \
		--log-level debug >>"$dir/vcmad.log" 2>&1 &
	vcmad_pid=$!
}
stop_vcmad() {
	kill -TERM "$vcmad_pid" && wait "$vcmad_pid"
	local rc=$?
	vcmad_pid=
	return $rc
}

# Polls vcmad until the python expression over the VM's JSON (v) holds.
wait_vm() { # seconds, python-expression, [out-var-file]
	local deadline=$((SECONDS + $1))
	while [ $SECONDS -lt $deadline ]; do
		if curl -s --max-time 5 --unix-socket "$api" "http://vcmad/v1/vms/$name" >"$dir/vm.json" 2>/dev/null &&
			python3 - "$dir/vm.json" "$2" <<'PY' 2>/dev/null
import json, sys
v = json.load(open(sys.argv[1]))
rs = v.get("reservations", [])
granted = [r for r in rs if r.get("state") == "granted"]
sys.exit(0 if eval(sys.argv[2]) else 1)
PY
		then
			return 0
		fi
		sleep 1
	done
	return 1
}
boot_id() {
	python3 -c 'import json,sys; print(json.load(open(sys.argv[1])).get("guest", {}).get("boot_id", ""))' "$dir/vm.json"
}
ids() {
	python3 -c 'import json,sys; print(" ".join(str(r["id"]) + ":" + r["state"] for r in json.load(open(sys.argv[1]))["reservations"]))' "$dir/vm.json"
}

start_vcmad
wait_vm 60 'v["source"] == "libvirt" and v["channel"].endswith(".sock")'
ok $? "vcmad started the autostart domain and attached it from libvirt by itself"
wait_vm 180 'v["connected"]'
ok $? "the guest agent connected over the channel"
wait_vm 180 'len(granted) == 2 and all(r["label"] == "dma" and r["size"] == 2 << 20 for r in granted)'
ok $? "the 2 reservations from the domain's metadata are granted ($(ids))"

# The vcma balloon on a libvirt domain, with host reclaim through the QMP
# socket the domain's <qemu:commandline> gives vcmad.
curl -s --max-time 10 --unix-socket "$api" -X PUT -H 'Content-Type: application/json' \
	--data '{"target": "64M"}' "http://vcmad/v1/vms/$name/balloon" >"$dir/balloon-put.json"
deadline=$((SECONDS + 180))
until [ $SECONDS -ge $deadline ] ||
	{ curl -s --max-time 5 --unix-socket "$api" "http://vcmad/v1/vms/$name/balloon" >"$dir/balloon.json" &&
	  python3 - "$dir/balloon.json" <<'PY'
import json, sys
b = json.load(open(sys.argv[1]))
h = b["host"]
# Chunks the fresh guest never touched had no host pages: what counts is
# that every chunk's range was punched in QEMU's memfd.
sys.exit(0 if b["state"] == "done" and b["actual_bytes"] == 64 << 20 and h["backend"] == "memfd"
         and h["punched_bytes"] == 64 << 20 and h["punch_errors"] == 0 else 1)
PY
	}; do sleep 1; done
[ $SECONDS -lt $deadline ]
ok $? "vcma balloon of 64M on the libvirt domain: every chunk punched in QEMU's memfd (QMP socket from its XML; $(python3 -c 'import json,sys; h=json.load(open(sys.argv[1]))["host"]; print(h["backend"], "punched", h["punched_bytes"], "freed", h.get("backing_freed_bytes"))' "$dir/balloon.json" 2>/dev/null))"
grep -q "balloon target=\"64M\"" "$root/etc/qemu/$name.xml"
ok $? "the balloon target is written back into the domain's <vcma:config>"
# libvirt's current memory is virtio-balloon's (README, "What libvirt shows"):
# the vcma balloon leaves it at the domain's 384 MiB, and vcmad does not drive
# virtio-balloon to follow it.
grep -q "<currentMemory unit='KiB'>393216</currentMemory>" "$root/run/qemu/$name.xml"
ok $? "libvirt's current memory of the domain stays 384 MiB (virtio-balloon's, not vcma's)"

# libvirt records the guest's new size in the running domain's status XML.
deadline=$((SECONDS + 240))
while [ $SECONDS -lt $deadline ] &&
	! grep -q "<currentMemory unit='KiB'>196608</currentMemory>" "$root/run/qemu/$plain.xml" 2>/dev/null; do
	sleep 1
done
[ $SECONDS -lt $deadline ] && grep -q "no vcma agent on domain '$plain': used libvirt's balloon" "$dir/vcmad.log"
ok $? "the domain without the vcma channel got its balloon target through libvirt (192 MiB)"
[ "$(curl -s -o /dev/null -w '%{http_code}' --unix-socket "$api" "http://vcmad/v1/vms/$plain")" = 404 ]
ok $? "and is not served as a vcma VM"

"$vcmactl" --socket "$api" reserve "$name" 4M --label extra --wait --wait-timeout 120 >"$dir/reserve.out" 2>&1
ok $? "vcmactl reserve 4M --label extra granted"
grep -q "reservation size=\"4M\" count=\"1\" label=\"extra\"" "$root/etc/qemu/$name.xml"
ok $? "written back into the persistent domain XML's <vcma:config>"
grep -q "reservation size=\"4M\" count=\"1\" label=\"extra\"" "$root/run/qemu/$name.xml"
ok $? "and into the running domain's live XML"
wait_vm 5 'len(granted) == 3 and v.get("guest")'
before=$(ids)
boot1=$(boot_id)
qpid=$(qemu_pid)

# Like libvirtd, the embedded driver daemonizes QEMU: a vcmad restart
# leaves the guest running and re-attaches to it.
stop_vcmad
ok $? "vcmad stops cleanly on SIGTERM"
[ -n "$qpid" ] && kill -0 "$qpid" 2>/dev/null
ok $? "its embedded domain keeps running (QEMU pid ${qpid:-?})"
start_vcmad
wait_vm 60 'v["source"] == "libvirt" and v["connected"] and len(granted) == 3'
ok $? "restarted vcmad re-attaches the running domain, its grants are matched again ($(ids))"
[ "$(boot_id)" = "$boot1" ] && [ "$(qemu_pid)" = "$qpid" ] && [ "$(ids)" = "$before" ]
ok $? "same guest boot, same QEMU, same reservation ids"

# The domain stops underneath vcmad (QEMU killed): vcmad detaches it.
kill -TERM "$qpid"
deadline=$((SECONDS + 60))
while [ $SECONDS -lt $deadline ] &&
	[ "$(curl -s -o /dev/null -w '%{http_code}' --unix-socket "$api" "http://vcmad/v1/vms/$name")" != 404 ]; do
	sleep 1
done
[ $SECONDS -lt $deadline ]
ok $? "a stopped domain is detached (GET /v1/vms/$name is 404)"

# Only vcmad holds the embedded driver, so only its restart starts the
# domain again (autostart); the fresh guest gets every reservation again.
stop_vcmad
start_vcmad
wait_vm 60 'v["source"] == "libvirt"'
ok $? "restarted vcmad boots the domain again and attaches it"
wait_vm 240 'len(granted) == 3 and v.get("guest")'
after=$(ids)
[ "$before" = "$after" ] && [ "$(boot_id)" != "$boot1" ]
ok $? "the new guest boot ($(boot_id)) got all 3 reservations again under the same ids ($after)"

stop_vcmad
echo "1..$n"
if [ $failed -gt 0 ]; then
	echo "# vcmad log:"; sed 's/^/# /' "$dir/vcmad.log" | tail -n 60
	echo "# guest console:"; sed 's/^/# /' "$dir/$name.console" 2>/dev/null | tail -n 30
	exit 1
fi
exit 0
