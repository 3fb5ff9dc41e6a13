#!/usr/bin/env bash
# pinetboot-dhcpd in proxy mode beside "the site's router" (dnsmasq handing out addresses).
# Topology: namespace LAN holds bridge br0 with a veth to each of ROUTER (dnsmasq, 10.77.0.1),
# PROXY (pinetboot-dhcpd --mode proxy, 10.77.0.3) and CLIENT (no address).
#   - A Pi 4 (dhcp::pi_client via pinetboot-dhcp-driver) gets an address OFFER from the router
#     and the boot menu from us, REQUESTs from the router, and ends bound with the router's
#     address and our TFTP server (option 54 = 10.77.0.3). Same merge for a Pi 3 ROM (no REQUEST).
#   - A plain dhclient gets its lease from dnsmasq and nothing from us: our log shows its
#     DISCOVER ignored and no reply to its MAC.
source "$(dirname "$0")/dhcp_lib.sh"
pnb_require_netns
need_cmd dnsmasq dnsmasq-base
need_cmd dhclient isc-dhcp-client
need_build

W=$PNB_WORK
ROUTER=pnb${PNB_ID}r
PROXY=$PNB_SRV
CLIENT=$PNB_CLI
DHCP_EXTRA_NS+=("$ROUTER")
ROUTER_IP=10.77.0.1
PROXY_IP=10.77.0.3

lan_setup "$ROUTER" "$PROXY" "$CLIENT"
ip -n "$ROUTER" addr add $ROUTER_IP/24 dev eth0
ip -n "$PROXY" addr add $PROXY_IP/24 dev eth0

start_router "$ROUTER"

LOG=$W/dhcpd.log
start_dhcpd "$PROXY" "$LOG" --mode proxy --interface eth0 --verbose

# ---------------------------------------------------------------- Pi 4 and Pi 3 beside the router
pi_run() {  # pi_run MODEL MAC [flags]
  local model=$1 mac=$2
  shift 2
  local out=$W/$model.out
  set_mac "$CLIENT" eth0 "$mac"
  ip netns exec "$CLIENT" timeout 40 "$DRIVER" pi --interface eth0 --model "$model" --mac "$mac" --serial 0c0ffee0 \
    --retry-ms 1500 --give-up-ms 20000 "$@" >"$out" 2>&1 || fail "$model: $(tail -3 "$out")"
  local line
  line=$(grep '^result:' "$out")
  [[ $line =~ ^result:\ bound\ address\ (10\.77\.0\.1[0-5][0-9])\ tftp\ $PROXY_IP\ server\ $ROUTER_IP$ ]] ||
    fail "$model: $line"
  PI_IP=${BASH_REMATCH[1]}
  grep -q "recv OFFER from $PROXY_IP .*server-id $PROXY_IP yiaddr 0.0.0.0 menu yes" "$out" || fail "$model: no proxy OFFER"
  grep -q "recv OFFER from $ROUTER_IP .*server-id $ROUTER_IP yiaddr $PI_IP menu no" "$out" ||
    fail "$model: no router OFFER"
  log_for_mac "$LOG" "$mac" | has "DISCOVER .*class raspberry_pi/$model: proxy offer" || fail "$model: not in our log"
}

pi_run pi4 dc:a6:32:00:02:01
grep -q "recv ACK from $ROUTER_IP .*yiaddr $PI_IP" "$W/pi4.out" || fail "pi4: no ACK from the router"
grep -qi "DHCPACK(eth0) $PI_IP dc:a6:32:00:02:01" "$W/dnsmasq.log" || fail "pi4: dnsmasq did not ACK"
log_for_mac "$LOG" dc:a6:32:00:02:01 | grep "REQUEST" | grep -v "ignored" | has . && fail "pi4: we answered its REQUEST"
echo "pi4: bound $PI_IP from the router, TFTP $PROXY_IP from us"

pi_run pi3_rom b8:27:eb:00:02:02
grep -q "sent REQUEST" "$W/pi3_rom.out" && fail "pi3_rom sent a REQUEST"
echo "pi3_rom: bound $PI_IP from the router's OFFER, TFTP $PROXY_IP from us"

# ---------------------------------------------------------------- an ordinary client
MAC=02:50:4e:42:00:41
set_mac "$CLIENT" eth0 $MAC
ip netns exec "$CLIENT" timeout 30 dhclient -4 -1 -v -sf /bin/true -lf "$W/dhclient.leases" -pf "$W/dhclient.pid" eth0 \
  >"$W/dhclient.out" 2>&1 || fail "dhclient: no lease from the router"
grep -q "DHCPOFFER of 10.77.0.1[0-5][0-9] from $ROUTER_IP" "$W/dhclient.out" || fail "dhclient: no router offer"
grep -q "from $PROXY_IP" "$W/dhclient.out" && fail "dhclient heard from the proxy"
grep -q "bound to 10.77.0.1[0-5][0-9]" "$W/dhclient.out" || fail "dhclient: not bound"
ip netns exec "$CLIENT" dhclient -x -pf "$W/dhclient.pid" >/dev/null 2>&1 || true
log_for_mac "$LOG" $MAC | has "DISCOVER .*ignored: not a PXE client" || fail "our proxy did not see dhclient"
log_for_mac "$LOG" $MAC | grep -v "ignored" | has . && fail "our proxy replied to dhclient: $(log_for_mac "$LOG" $MAC)"
echo "dhclient: lease from the router only; our proxy stayed silent"

dhcpd_alive || fail "proxy died"
stop_dhcpd
echo "dhcp_proxy: ok"
