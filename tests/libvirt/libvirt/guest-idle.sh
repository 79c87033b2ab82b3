# /etc/vcma-run of the libvirt tests' plain guest: stay up, idle, until
# libvirt destroys the domain. virtio_balloon (loaded by init) answers the
# balloon fallback.
echo "vcma-lv-guest: idle"
exec sleep 100000
