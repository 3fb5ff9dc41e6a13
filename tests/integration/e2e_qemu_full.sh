#!/usr/bin/env bash
# A real PXE client boots Linux from pinetboot-server in full DHCP mode:
# QEMU (TCG) with Debian's iPXE ROM on an e1000 NIC, tap0 on a bridge in the client namespace,
# the server in its own namespace. iPXE gets a lease and boot.ipxe, the script loads a Debian
# kernel and a busybox initramfs over TFTP, and /init prints the marker on the serial console.
# Also checked: the server's log shows the ACK and each TFTP transfer as sent.
# Environment: PINETBOOT_CACHE (kernel cache, default /var/cache/pinetboot-test),
# E2E_BOOT_TIMEOUT (seconds for the whole boot, default 240), E2E_PCAP (capture file).
set -euo pipefail  # before sourcing: a missing helper file must fail the test
source "$(dirname "$0")/lib/netns.sh"
source "$(dirname "$0")/e2e/lib.sh"
pnb_require_netns
e2e_require_tools

root=$PNB_WORK/tftp
e2e_tftp_root "$root" per-client  # MAC from the DHCP lease
e2e_setup_lan
cat > "$PNB_WORK/server.toml" <<EOT
[server]
interface = "veth0"
user = ""
[dhcp]
mode = "full"
lease_file = "$PNB_WORK/leases.journal"
[[dhcp.subnet]]
network = "10.77.0.0/24"
range = ["10.77.0.100", "10.77.0.120"]
routers = ["10.77.0.1"]
[tftp]
root = "$root"
per_client = "mac"
EOT
e2e_start_server "$PNB_WORK/server.toml"
e2e_boot e2e_qemu_full

log=$PNB_WORK/server.log
grep -q "board $E2E_MAC (ipxe): dhcp REQUEST -> ack 10.77.0.1[0-2][0-9] file boot.ipxe" "$log" ||
  fail "no DHCP ack of boot.ipxe to $E2E_MAC in the server log"
for f in boot.ipxe vmlinuz initrd.img; do
  grep -q "board $E2E_MAC: tftp $f sent" "$log" || fail "no 'tftp $f sent' in the server log"
done
grep -aq "e2e: ip 10.77.0.1[0-2][0-9] from $PNB_SRV_IP" "$PNB_WORK/serial.log" || fail "iPXE's address is not ours"
grep -aq "e2e: boot.ipxe from the per-client root" "$PNB_WORK/serial.log" || fail "not served from $E2E_MAC's root"
echo "e2e_qemu_full: ok"
