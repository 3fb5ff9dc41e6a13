#!/usr/bin/env bash
# The Raspberry Pi client model (dhcp::pi_client, driven by pinetboot-dhcp-driver over a packet
# socket with the boards' own IP/UDP framing) against pinetboot-dhcpd in full mode, through the
# real socket path. Pi 3 ROM / bootcode.bin: bound from the OFFER alone (no REQUEST) and the
# lease is in the journal; Pi 4 (both FourCC byte orders and the legacy GUID) and Pi 5: full DORA.
# Every board must get its address and us (option 54) as TFTP server.
source "$(dirname "$0")/dhcp_lib.sh"
pnb_require_netns
need_build

pnb_setup_veth
W=$PNB_WORK
LOG=$W/dhcpd.log
SRV=10.77.0.1
start_dhcpd "$PNB_SRV" "$LOG" --mode full --interface veth0 \
  --subnet 10.77.0.0/24,range=10.77.0.100-10.77.0.150,router=10.77.0.1 --lease-file "$W/leases"

# model MAC SERIAL CLASS [driver flags...]
run_model() {
  local model=$1 mac=$2 serial=$3 class=$4
  shift 4
  local out=$W/$model-${mac//:/}.out
  set_mac "$PNB_CLI" veth0 "$mac"
  pnb_in_cli timeout 30 "$DRIVER" pi --interface veth0 --model "$model" --mac "$mac" --serial "$serial" \
    --retry-ms 1000 --give-up-ms 12000 "$@" >"$out" 2>&1 || fail "$model $mac: $(tail -3 "$out")"
  local line
  line=$(grep '^result:' "$out")
  [[ $line =~ ^result:\ bound\ address\ (10\.77\.0\.1[0-5][0-9])\ tftp\ $SRV\ server\ $SRV$ ]] ||
    fail "$model $mac: $line"
  local ip=${BASH_REMATCH[1]}
  grep -q "recv OFFER from $SRV .*yiaddr $ip menu yes" "$out" || fail "$model: no menu OFFER of $ip"
  log_for_mac "$LOG" "$mac" | has "DISCOVER .*class raspberry_pi/$class: offer $ip" ||
    fail "$model: server did not classify $mac as $class"
  case $model in
    pi3_*)
      grep -q "sent REQUEST" "$out" && fail "$model sent a REQUEST"
      grep -q "requests: 0" "$out" || fail "$model: requests counted"
      ;;
    *)
      grep -q "sent REQUEST" "$out" || fail "$model: no REQUEST"
      grep -q "recv ACK from $SRV .*yiaddr $ip menu yes" "$out" || fail "$model: no ACK with boot menu"
      log_for_mac "$LOG" "$mac" | has "REQUEST .*class raspberry_pi/$class: ack $ip" ||
        fail "$model: REQUEST (no option 60) not recognised as $class"
      ;;
  esac
  # The lease is durable and bound, whether an ACK or (Pi 3) the OFFER bound it.
  cp "$W/leases" "$W/leases.copy"
  "$DRIVER" leases "$W/leases.copy" | has "^lease $mac $ip bound$" || fail "$model: lease $mac $ip not in the journal"
  echo "$model ($mac $*): bound $ip, tftp $SRV"
}

run_model pi3_rom b8:27:eb:00:00:01 0 pi3_rom
run_model pi3_bootcode b8:27:eb:00:00:02 5500aa02 pi3_bootcode
run_model pi4 dc:a6:32:00:00:03 0a000003 pi4
run_model pi4 dc:a6:32:00:00:04 0a000004 pi4 --reversed
run_model pi4 e4:5f:01:00:00:06 0a000006 pi4 --legacy-guid
run_model pi5 2c:cf:67:00:00:05 0b000005 pi5
run_model pi5 2c:cf:67:00:00:07 0b000007 pi5 --reversed

# The Pi 3 ROM's UDP checksum is 0 ("no cksum"): it was accepted, or the OFFER would not exist.
dhcpd_alive || fail "server died"
stop_dhcpd
echo "dhcp_pi_models: ok"
