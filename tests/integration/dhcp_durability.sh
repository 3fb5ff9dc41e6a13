#!/usr/bin/env bash
# Lease durability of pinetboot-dhcpd (full mode, fsync group commit):
#   1. A burst of relayed DORA exchanges (pinetboot-dhcp-driver relay, thousands of MACs) and a
#      SIGKILL of the server in the middle of it. Every ACK a client received is recorded.
#   2. Every ACKed lease is in the journal (read with the library), and the server restarted on
#      the same journal still holds it: another client's REQUEST for the address is NAKed and
#      the owner's DISCOVER is offered the same address again.
#   3. A journal truncated mid-record, then one with corrupt tail bytes: the server starts, logs
#      the recovery, keeps the leases before the damage, and serves new clients.
source "$(dirname "$0")/dhcp_lib.sh"
pnb_require_netns
need_build

pnb_setup_veth
W=$PNB_WORK
J=$W/leases
LOCAL=$PNB_CLI_IP
SERVER=$PNB_SRV_IP
ARGS=(--mode full --interface veth0 --subnet 10.77.0.0/16,range=10.77.1.0-10.77.250.255 --lease-file "$J")

# ---------------------------------------------------------------- burst + SIGKILL
start_dhcpd "$PNB_SRV" "$W/dhcpd1.log" "${ARGS[@]}"
ip netns exec "$PNB_CLI" "$DRIVER" relay --local "$LOCAL" --server "$SERVER" --count 20000 \
  --mac-base 02:77:00:00:00:00 --window 64 --rto-ms 500 --tries 2 --idle-ms 2000 >"$W/acks.out" 2>&1 &
BURST=$!
PNB_PIDS+=("$BURST")
wait_for 60 bash -c "[[ \$(grep -c '^ack ' '$W/acks.out') -ge 400 ]]" || fail "burst too slow: $(grep -c '^ack ' "$W/acks.out") ACKs"
stop_dhcpd KILL
wait "$BURST" 2>/dev/null || true
acked=$(grep -c '^ack ' "$W/acks.out")
grep -q '^summary: acked' "$W/acks.out" || fail "driver did not finish: $(tail -2 "$W/acks.out")"
((acked < 20000)) || fail "the server was not killed mid-burst"
echo "burst: $acked ACKs before SIGKILL"

# ---------------------------------------------------------------- every ACK is in the journal
cp "$J" "$W/j1"
"$DRIVER" leases "$W/j1" >"$W/j1.txt"
awk '$1 == "lease" && $4 == "bound" {print "ack " $2 " " $3}' "$W/j1.txt" | sort >"$W/journal-bound"
grep '^ack ' "$W/acks.out" | sort >"$W/acked"
missing=$(comm -23 "$W/acked" "$W/journal-bound" | wc -l)
((missing == 0)) || fail "$missing ACKed leases missing from the journal: $(comm -23 "$W/acked" "$W/journal-bound" | sed -n 1,3p)"
echo "journal: all $acked ACKed leases present ($(tail -1 "$W/j1.txt"))"

# ---------------------------------------------------------------- restart on the same journal
start_dhcpd "$PNB_SRV" "$W/dhcpd2.log" "${ARGS[@]}"
leases=$(sed -n 's/.*, \([0-9]*\) lease(s)$/\1/p; T; q' "$W/dhcpd2.log")
((leases >= acked)) || fail "restarted server holds $leases leases, $acked were ACKed"
# Check the last ACKs before the kill (the ones most at risk) and a sample of the rest.
{ grep '^ack ' "$W/acks.out" | tail -n 150; grep '^ack ' "$W/acks.out" | awk 'NR % 20 == 1'; } >"$W/check"
ip netns exec "$PNB_CLI" "$DRIVER" verify --local "$LOCAL" --server "$SERVER" --acks "$W/check" >"$W/verify.out" 2>&1 ||
  fail "leases lost after restart: $(grep -m3 LOST "$W/verify.out"; tail -1 "$W/verify.out")"
echo "restart: $(tail -1 "$W/verify.out")"
stop_dhcpd

# ---------------------------------------------------------------- torn tail (truncated record)
size=$(stat -c %s "$J")
truncate -s $((size - 7)) "$J"
start_dhcpd "$PNB_SRV" "$W/dhcpd3.log" "${ARGS[@]}"
grep -q "lease journal: recovered [0-9]* records, discarded a torn tail of [0-9]* bytes" "$W/dhcpd3.log" ||
  fail "no recovery log line after truncation"
ip netns exec "$PNB_CLI" "$DRIVER" relay --local "$LOCAL" --server "$SERVER" --count 5 --mac-base 02:78:00:00:00:00 \
  >"$W/after-trunc.out" 2>&1 || fail "no service after a truncated journal: $(tail -2 "$W/after-trunc.out")"
awk '/^ack / && ++n <= 20' "$W/acks.out" >"$W/check-head"
ip netns exec "$PNB_CLI" "$DRIVER" verify --local "$LOCAL" --server "$SERVER" --acks "$W/check-head" >"$W/verify2.out" 2>&1 ||
  fail "leases before the torn record lost: $(tail -1 "$W/verify2.out")"
echo "truncated journal: $(grep -o 'recovered.*bytes' "$W/dhcpd3.log"); serving"
stop_dhcpd

# ---------------------------------------------------------------- corrupt tail bytes
size=$(stat -c %s "$J")
printf '\xde\xad\xbe\xef\x00\x01\x02\x03\xff\xff' | dd of="$J" bs=1 seek=$((size - 10)) conv=notrunc status=none
start_dhcpd "$PNB_SRV" "$W/dhcpd4.log" "${ARGS[@]}"
grep -q "lease journal: recovered [0-9]* records, discarded a torn tail of [0-9]* bytes" "$W/dhcpd4.log" ||
  fail "no recovery log line after corruption"
ip netns exec "$PNB_CLI" "$DRIVER" relay --local "$LOCAL" --server "$SERVER" --count 5 --mac-base 02:79:00:00:00:00 \
  >"$W/after-corrupt.out" 2>&1 || fail "no service after a corrupt journal: $(tail -2 "$W/after-corrupt.out")"
ip netns exec "$PNB_CLI" "$DRIVER" verify --local "$LOCAL" --server "$SERVER" --acks "$W/check-head" >"$W/verify3.out" 2>&1 ||
  fail "leases before the corrupt record lost: $(tail -1 "$W/verify3.out")"
echo "corrupt journal: $(grep -o 'recovered.*bytes' "$W/dhcpd4.log"); serving"
dhcpd_alive || fail "server died"
stop_dhcpd
echo "dhcp_durability: ok"
