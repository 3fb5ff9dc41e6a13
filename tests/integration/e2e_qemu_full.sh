#!/usr/bin/env bash
# A real PXE client boots Linux from pinetboot-server in full DHCP mode:
# QEMU (TCG) with Debian's iPXE ROM on an e1000 NIC, tap0 on a bridge in the client namespace,
# the server in its own namespace. iPXE gets a lease and boot.ipxe, the script loads a Debian
# kernel and a busybox initramfs over TFTP, and /init prints the marker on the serial console.
# Also checked: the server's log shows the ACK and each TFTP transfer as sent.
# Environment: PINETBOOT_CACHE (kernel cache, default /var/cache/pinetboot-test),
# E2E_BOOT_TIMEOUT (seconds for the whole boot, default 240).
source "$(dirname "$0")/lib/netns.sh"
source "$(dirname "$0")/e2e/lib.sh"
pnb_require_netns
e2e_require_tools
bin=${PINETBOOT_BUILD_DIR:?}/examples/server/pinetboot-server
[[ -x $bin ]] || { echo "FAIL: $bin not built"; exit 1; }
boot_timeout=${E2E_BOOT_TIMEOUT:-240}

fail() {
  echo "FAIL: $*"
  echo "--- server log (tail)"; tail -40 "$PNB_WORK/server.log" 2>/dev/null || true
  echo "--- serial console (tail)"; tail -40 "$PNB_WORK/serial.log" 2>/dev/null || true
  echo "--- qemu"; cat "$PNB_WORK/qemu.out" 2>/dev/null || true
  exit 1
}

root=$PNB_WORK/tftp
mkdir -p "$root"
kernel=$(e2e_kernel) || fail "no kernel"
cp "$kernel" "$root/vmlinuz"
e2e_initramfs "$root/initrd.img"
# ${next-server} is siaddr of the ACK iPXE accepted: the URLs only work if we set it right.
cat > "$root/boot.ipxe" <<'EOT'
#!ipxe
echo pinetboot e2e: ${net0/mac} got ${net0/ip} from ${dhcp-server}, next-server ${next-server}
kernel tftp://${next-server}/vmlinuz console=ttyS0,115200 panic=-1 quiet rdinit=/init
initrd tftp://${next-server}/initrd.img
boot
EOT

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
EOT
ip netns exec "$PNB_SRV" "$bin" --config "$PNB_WORK/server.toml" --verbose > "$PNB_WORK/server.log" 2>&1 &
PNB_PIDS+=($!)
for _ in $(seq 1 100); do grep -q 'pinetboot-server started' "$PNB_WORK/server.log" && break; sleep 0.1; done
grep -q 'pinetboot-server started' "$PNB_WORK/server.log" || fail "server did not start"

if [[ -n ${E2E_PCAP:-} ]]; then  # debugging aid: capture the server's side of the LAN
  ip netns exec "$PNB_SRV" tcpdump -i veth0 -w "$E2E_PCAP" -U >/dev/null 2>&1 &
  PNB_PIDS+=($!)
  sleep 1
fi
t0=$SECONDS
e2e_start_qemu "$PNB_WORK/serial.log"
rc=0
e2e_wait_marker "$PNB_WORK/serial.log" "$boot_timeout" || rc=$?
case $rc in
  0) ;;
  1) fail "no $E2E_MARKER on the serial console within $boot_timeout s" ;;
  *) fail "QEMU exited without printing $E2E_MARKER" ;;
esac
echo "e2e_qemu_full: booted to userland in $((SECONDS - t0)) s: $(grep -ao "$E2E_MARKER kernel=[^ ]*" "$PNB_WORK/serial.log")"

log=$PNB_WORK/server.log
mac=${E2E_MAC}
grep -q "dhcp REQUEST -> ack 10.77.0.1[0-2][0-9]" "$log" || fail "no DHCP ack in the server log"
grep -qi "$mac" "$log" || fail "the server log does not name the client $mac"
grep -q 'tftp boot.ipxe sent' "$log" || fail "no 'tftp boot.ipxe sent' in the server log"
grep -q 'tftp vmlinuz sent' "$log" || fail "no 'tftp vmlinuz sent' in the server log"
grep -q 'tftp initrd.img sent' "$log" || fail "no 'tftp initrd.img sent' in the server log"
echo "e2e_qemu_full: ok"
