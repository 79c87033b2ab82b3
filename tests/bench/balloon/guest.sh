# Guest half of the balloon benchmark (see bench_balloon.py): vcma.ko and
# vcma-agent for vcma's balloon, virtio_balloon (loaded at boot) for QEMU's.
# Uses most of its memory once, so the host has memory behind it, then idles
# until the host is done (the host ends the VM).
mark() { echo "| $*" >/dev/console; }
insmod /lib/modules/vcma.ko || { mark "GUEST-FAIL: insmod vcma.ko"; exit 1; }
[ -d /sys/bus/virtio/drivers/virtio_balloon ] || { mark "GUEST-FAIL: no virtio_balloon driver"; exit 1; }
avail=$(awk '/^MemAvailable:/ { print int($2 / 1024) }' /proc/meminfo)
balloon-guest touch $((avail - 64)) >/dev/null || { mark "GUEST-FAIL: touch"; exit 1; }
vcma-agent 2>/tmp/agent.log &
mark "GUEST-READY: $(awk '/^MemTotal:/ { print $2 }' /proc/meminfo)"
while :; do sleep 10; done
