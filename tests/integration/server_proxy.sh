#!/usr/bin/env bash
# pinetboot-server in proxy mode beside "the site's router" (dnsmasq), per-MAC TFTP roots:
#   - a Pi 4 (dhcp::pi_client via pinetboot-dhcp-driver) gets its address from the router and the
#     boot menu from us; its REQUEST goes to the router only;
#   - then the board fetches its files over TFTP from the address the router gave it, from an
#     interface whose MAC is NOT the board's (as for boards behind a relay, or the simulator's
#     shared interface), so the kernel's neighbour table cannot name it: the server must know
#     the board from the address its REQUEST asked the router for. It serves the board's own
#     /tftpboot/<MAC>/ tree, names the board in its log and reports its time to boot.
# Namespaces: LAN (bridge), ROUTER (dnsmasq 10.77.0.1), SERVER (10.77.0.3), CLIENT.
source "$(dirname "$0")/dhcp_lib.sh"
source "$(dirname "$0")/lib/promtool.sh"
pnb_require_netns
need_cmd dnsmasq dnsmasq-base
need_cmd curl curl
SERVER_BIN=$DHCP_BUILD/examples/server/pinetboot-server
[[ -x $SERVER_BIN ]] || fail "missing $SERVER_BIN (build target pinetboot-server)"
[[ -x $DRIVER ]] || fail "missing $DRIVER (build target pinetboot-dhcp-driver)"

W=$PNB_WORK
ROUTER=pnb${PNB_ID}r
SERVER=$PNB_SRV
CLIENT=$PNB_CLI
DHCP_EXTRA_NS+=("$ROUTER")
ROUTER_IP=10.77.0.1
SERVER_IP=10.77.0.3
PI_MAC=dc:a6:32:00:03:01
OTHER_MAC=02:50:4e:42:00:77

lan_setup "$ROUTER" "$SERVER" "$CLIENT"
ip -n "$ROUTER" addr add $ROUTER_IP/24 dev eth0
ip -n "$SERVER" addr add $SERVER_IP/24 dev eth0

start_router "$ROUTER"

# The shared root and the Pi's own tree hold different kernels.
root=$W/tftpboot
mkdir -p "$root/$PI_MAC"
head -c 300000 /dev/urandom >"$root/kernel8.img"
head -c 200000 /dev/urandom >"$root/$PI_MAC/kernel8.img"
cat >"$W/server.toml" <<EOT
[server]
interface = "eth0"
user = ""
metrics = "127.0.0.1:9110"
[dhcp]
mode = "proxy"
[tftp]
root = "$root"
per_client = "mac"
EOT
LOG=$W/server.log
ip netns exec "$SERVER" "$SERVER_BIN" --config "$W/server.toml" >"$LOG" 2>&1 &
SRV_PID=$!
PNB_PIDS+=("$SRV_PID")
wait_for 10 grep -q 'pinetboot-server started' "$LOG" || fail "server did not start"

# ---------------------------------------------------------------- the Pi 4's DHCP, beside the router
set_mac "$CLIENT" eth0 "$PI_MAC"
ip netns exec "$CLIENT" timeout 40 "$DRIVER" pi --interface eth0 --model pi4 --mac "$PI_MAC" --serial 0c0ffee1 \
  --retry-ms 1500 --give-up-ms 20000 >"$W/pi4.out" 2>&1 || fail "pi4: $(tail -3 "$W/pi4.out")"
line=$(grep '^result:' "$W/pi4.out")
[[ $line =~ ^result:\ bound\ address\ (10\.77\.0\.1[0-5][0-9])\ tftp\ $SERVER_IP\ server\ $ROUTER_IP$ ]] ||
  fail "pi4: $line"
PI_IP=${BASH_REMATCH[1]}
grep -q "board $PI_MAC (raspberry_pi/pi4): dhcp DISCOVER -> proxy offer" "$LOG" || fail "no proxy offer in the log"

# ---------------------------------------------------------------- its TFTP, from another MAC
set_mac "$CLIENT" eth0 "$OTHER_MAC"
ip -n "$CLIENT" addr add "$PI_IP/24" dev eth0
fetch() {  # fetch OUT: the kernel over TFTP from the client namespace
  ip netns exec "$CLIENT" timeout 30 curl -sS --tftp-blksize 1024 -o "$1" "tftp://$SERVER_IP/kernel8.img" ||
    fail "curl tftp from $(ip -n "$CLIENT" -br addr show eth0)"
}
fetch "$W/got.img"
cmp -s "$W/got.img" "$root/$PI_MAC/kernel8.img" || fail "the board did not get its own tree's kernel"
wait_for 5 grep -q "board $PI_MAC: tftp kernel8.img sent" "$LOG" || fail "the TFTP line does not name the board"
wait_for 5 grep -q "board $PI_MAC (raspberry_pi/pi4): booted in" "$LOG" || fail "no time to boot for the board"
metrics=$(ip netns exec "$SERVER" curl -sS http://127.0.0.1:9110/metrics) || fail "no metrics"
echo "$metrics" | grep -q '^pinetboot_boot_seconds_count{class="raspberry_pi/pi4"} 1$' ||
  fail "boot histogram: $(echo "$metrics" | grep boot_seconds_count)"
# Prometheus's own lint, on a document with every family of a real boot filled in (proxy mode).
echo "$metrics" >"$W/metrics.txt"
if pnb_find_promtool; then
  pnb_check_metrics "$W/metrics.txt" || fail "promtool check metrics"
else
  echo "note: $PNB_PROMTOOL_WHY; /metrics not linted"
fi
! grep -q '^pinetboot_dhcp_pool' "$W/metrics.txt" || fail "pool gauges in proxy mode"
echo "pi4: $PI_IP learned from its REQUEST to the router; kernel from its own tree; booted"

kill "$SRV_PID"
wait "$SRV_PID" || fail "server exited with status $?"
echo "server_proxy: ok"
