#!/usr/bin/env bash
# A real PXE client boots Linux with pinetboot-server as a proxyDHCP beside the site's DHCP:
# dnsmasq in a router namespace hands out the address (and knows nothing about PXE),
# pinetboot-server in proxy mode in its own namespace answers the PXE DISCOVER with a proxy
# offer (option 60 PXEClient, option 43 discovery control 8, siaddr and file boot.ipxe); then
# TFTP as in e2e_qemu_full.
# iPXE (Debian's 2019 ROM) does not send the ProxyDHCP REQUEST to UDP 4011 here: a proxy offer
# that already has siaddr and a file name (or a boot menu) is used as it is; only an offer
# without them makes iPXE ask port 4011. So this test exercises the proxy offer, not the 4011 ack.
# Checked: the marker on the serial console; dnsmasq acked the address; iPXE took its address
# from dnsmasq and next-server/file from us; the server's log shows the proxy offer and each
# transfer as sent. Environment as in e2e_qemu_full.sh.
set -euo pipefail  # before sourcing: a missing helper file must fail the test
source "$(dirname "$0")/lib/netns.sh"
source "$(dirname "$0")/e2e/lib.sh"
pnb_require_netns
e2e_require_tools dnsmasq

root=$PNB_WORK/tftp
e2e_tftp_root "$root" per-client  # MAC from the kernel neighbour table: a proxy leases nothing
e2e_setup_lan router
router_ip=10.77.0.254

ip netns exec "$PNB_MID" dnsmasq --no-daemon --port=0 --conf-file=/dev/null --pid-file= \
  --interface=veth0 --bind-interfaces --dhcp-range=10.77.0.150,10.77.0.199,255.255.255.0,1h \
  --dhcp-option=option:router,$router_ip --leasefile-ro --no-ping --dhcp-authoritative --log-dhcp \
  --log-facility=- > "$PNB_WORK/dnsmasq.log" 2>&1 &
PNB_PIDS+=($!)
cat > "$PNB_WORK/server.toml" <<EOT
[server]
interface = "veth0"
user = ""
[dhcp]
mode = "proxy"
[tftp]
root = "$root"
per_client = "mac"
EOT
e2e_start_server "$PNB_WORK/server.toml"
for _ in $(seq 1 50); do grep -q 'DHCP, sockets bound' "$PNB_WORK/dnsmasq.log" && break; sleep 0.1; done
grep -q 'DHCP, sockets bound' "$PNB_WORK/dnsmasq.log" || fail "dnsmasq did not start"
e2e_boot e2e_qemu_proxy

log=$PNB_WORK/server.log
grep -Eq "DHCPACK\(veth0\) 10\.77\.0\.1(5[0-9]|[6-9][0-9]) $E2E_MAC" "$PNB_WORK/dnsmasq.log" ||
  fail "dnsmasq did not ack an address to $E2E_MAC"
grep -aEq "e2e: ip 10\.77\.0\.1(5[0-9]|[6-9][0-9]) from $router_ip" "$PNB_WORK/serial.log" ||
  fail "iPXE did not take its address from the router"
grep -q "board $E2E_MAC (ipxe): dhcp DISCOVER -> proxy offer file boot.ipxe" "$log" || fail "no proxy offer in the server log"
for f in boot.ipxe vmlinuz initrd.img; do
  grep -q "board $E2E_MAC: tftp $f sent" "$log" || fail "no 'tftp $f sent' in the server log"
done
grep -aq "e2e: boot.ipxe from the per-client root" "$PNB_WORK/serial.log" || fail "not served from $E2E_MAC's root"
echo "e2e_qemu_proxy: ok"
