# /etc/vcma-run of the libvirt tests' vcma guest: load vcma.ko and serve
# the host over the org.vcma.0 port until libvirt destroys the domain.
insmod /lib/modules/vcma.ko || exit 1
echo "vcma-lv-guest: agent starting"
exec vcma-agent-static
