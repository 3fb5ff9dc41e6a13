#!/usr/bin/env bash
# The README's first command: install packages, build, and run a self-contained demo of a fleet
# boot, with no real network involved.
#
# It creates a throw-away LAN of network namespaces (never touching the host's interfaces):
#   router  - dnsmasq, standing in for the site's DHCP server (hands out addresses)
#   server  - pinetboot-server in proxy mode beside it (boot information + TFTP)
#   boards  - pinetboot-simulate, which boots a simulated Raspberry Pi 4 and Pi 3 the way the
#             real boot ROM/EEPROM does (DHCP, then the TFTP file sequence with probes)
# Before that, pinetboot-provision creates the two boards' boot and root trees from a small
# generated golden tree. At the end it prints each board's boot phases and cleans up.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD

if [[ $(id -u) -ne 0 ]]; then
  echo "demo: run as root (it creates network namespaces and installs packages)" >&2
  exit 1
fi
bash scripts/setup.sh

echo "demo: building pinetboot-server, pinetboot-provision, pinetboot-simulate ..."
cmake --preset dev -B build/demo -DPINETBOOT_BUILD_TESTS=OFF -DPINETBOOT_BUILD_FUZZERS=OFF >/dev/null
cmake --build build/demo -j "$(nproc)" --target pinetboot-server pinetboot-provision pinetboot-simulate >/dev/null
bin=$root/build/demo/examples

work=$(mktemp -d /tmp/pinetboot-demo.XXXXXX)
id=d$$
lan=pnb${id}lan router=pnb${id}rtr server=pnb${id}srv boards=pnb${id}brd
pids=()
cleanup() {
  for p in "${pids[@]:-}"; do [[ -n $p ]] && kill "$p" 2>/dev/null || true; done
  for p in "${pids[@]:-}"; do [[ -n $p ]] && wait "$p" 2>/dev/null || true; done
  for ns in "$boards" "$server" "$router" "$lan"; do
    ip netns pids "$ns" 2>/dev/null | xargs -r kill -9 2>/dev/null || true
    ip netns delete "$ns" 2>/dev/null || true
  done
  rm -rf "$work"
}
trap cleanup EXIT

step() { printf '\n== %s\n' "$*"; }

# ---- provisioning ---------------------------------------------------------------------------
step "provisioning two boards from a generated golden tree"
sys=$work/sys                        # stands for the server's file system root (--prefix)
bash examples/simulate/make-demo-tree.sh --scale 8 "$work/golden-boot" >/dev/null
mkdir -p "$work/golden-root/etc" "$work/golden-root/home/pi"
cat > "$work/golden-root/etc/fstab" <<'EOF'
proc            /proc           proc    defaults          0       0
PARTUUID=6c586e13-01  /boot/firmware  vfat    defaults          0       2
PARTUUID=6c586e13-02  /               ext4    defaults,noatime  0       1
EOF
echo "raspberrypi" > "$work/golden-root/etc/hostname"
echo "console=serial0,115200 console=tty1 root=PARTUUID=6c586e13-02 rootfstype=ext4 fsck.repair=yes rootwait quiet" \
  > "$work/golden-boot/cmdline.txt"
provision() { "$bin/provision/pinetboot-provision" --prefix "$sys" --tftp-root /srv/tftp --nfs-root /srv/nfs "$@"; }
provision add --serial 1a2b3c4d --mac dc:a6:32:00:00:01 --hostname pi4-demo --ip 10.77.0.101 \
  --server-ip 10.77.0.1 --from-tree "$work/golden-boot" "$work/golden-root"
provision add --serial 12abcdef --mac b8:27:eb:ab:cd:ef --hostname pi3-demo --ip 10.77.0.102 \
  --server-ip 10.77.0.1 --from-tree "$work/golden-boot" "$work/golden-root"
# The Pi 2/3 boot ROM asks for bootcode.bin from the TFTP root, before any per-board prefix.
cp "$work/golden-boot/bootcode.bin" "$sys/srv/tftp/"
provision list
echo "-- pi4-demo's generated cmdline.txt:"
cat "$sys/srv/tftp/1a2b3c4d/cmdline.txt"
echo "-- pi4-demo's generated /etc/fstab:"
cat "$sys/srv/nfs/1a2b3c4d/etc/fstab"
echo "-- the managed block for /etc/exports:"
provision exports

# ---- the LAN: a bridge in its own namespace, one veth to each host ---------------------------
step "creating a throw-away LAN in network namespaces"
ip netns add "$lan"
ip -n "$lan" link add br0 type bridge
ip -n "$lan" link set br0 up
for ns in "$router" "$server" "$boards"; do
  ip netns add "$ns"
  ip -n "$lan" link add "p-$ns" type veth peer name eth0 netns "$ns"
  ip -n "$lan" link set "p-$ns" master br0 up
  ip -n "$ns" link set lo up
done
ip -n "$router" addr add 10.77.0.254/24 dev eth0 && ip -n "$router" link set eth0 up
ip -n "$server" addr add 10.77.0.1/24 dev eth0 && ip -n "$server" link set eth0 up
ip -n "$boards" addr add 10.77.0.50/24 dev eth0 && ip -n "$boards" link set eth0 up
# The router's pool is local to the boards' namespace: each simulated board sends its TFTP from
# the address the router gave it (--tftp-from-lease), so the server can tell the boards apart.
ip -n "$boards" route add local 10.77.0.96/27 dev lo
ip -n "$boards" route add local 10.77.0.128/27 dev lo

step "starting the site's router (dnsmasq) and pinetboot-server in proxy mode beside it"
ip netns exec "$router" dnsmasq --no-daemon --port=0 --conf-file=/dev/null --leasefile-ro --no-ping \
  --interface=eth0 --bind-interfaces --dhcp-range=10.77.0.100,10.77.0.150,1h \
  --dhcp-option=option:router,10.77.0.254 > "$work/router.log" 2>&1 &
pids+=($!)
cat > "$work/pinetboot.toml" <<EOF
[server]
interface = "eth0"
user = ""
metrics = "127.0.0.1:9110"
[dhcp]
mode = "proxy"
[tftp]
root = "$sys/srv/tftp"
per_client = "shared"   # the boards ask for <serial>/... themselves (TFTP_PREFIX=0)
[provision]
registry = "$sys/var/lib/pinetboot/clients.conf"
EOF
"$bin/server/pinetboot-server" --config "$work/pinetboot.toml" --check-config
ip netns exec "$server" "$bin/server/pinetboot-server" --config "$work/pinetboot.toml" > "$work/server.log" 2>&1 &
pids+=($!)
for _ in $(seq 1 50); do grep -q 'pinetboot-server started' "$work/server.log" 2>/dev/null && break; sleep 0.1; done
grep -q 'pinetboot-server started' "$work/server.log" || { cat "$work/server.log"; exit 1; }

# ---- boot ----------------------------------------------------------------------------------
step "booting a simulated Raspberry Pi 4 (serial 1a2b3c4d) and Pi 3 (serial 12abcdef)"
sim() {  # sim MAC ARGS...: one board; the boards' interface takes its MAC (what ARP tells the server)
  ip -n "$boards" link set eth0 address "$1"
  ip netns exec "$boards" "$bin/simulate/pinetboot-simulate" --interface eth0 --count 1 --timeout 90 -v \
    --tftp-from-lease --mac-base "$1" "${@:2}"
}
status=0
sim dc:a6:32:00:00:01 --generation pi4 --serial-base 1a2b3c4d || status=1
sim b8:27:eb:ab:cd:ef --generation pi3 --serial-base 12abcdef || status=1

step "what pinetboot-server logged (one line per boot phase per board)"
# Lines start with an RFC 3339 time (2026-12-07T14:45:01.123+00:00): show the time of day only.
grep -E ' board ' "$work/server.log" | sed -E 's/^[0-9-]+T([0-9:]{8})\.[0-9]{3}[+-][0-9:]{5} /\1 /' || true
step "its metrics (excerpt)"
sleep 1  # the HTTP snapshot (metrics and status) is refreshed every 0.5 s
ip netns exec "$server" curl -s http://127.0.0.1:9110/metrics | grep -E '^pinetboot_(dhcp_replies|tftp_transfers|boot_seconds_count|boards)' || true
step "the fleet (pinetboot-server status; the same as http://127.0.0.1:9110/ in a browser)"
ip netns exec "$server" "$bin/server/pinetboot-server" status --url http://127.0.0.1:9110 || true

if ((status == 0)); then
  step "demo: both boards booted; cleaning up"
else
  step "demo: a board did not boot (see above); cleaning up"
fi
exit "$status"
