#!/usr/bin/env bash
# Real Linux DHCP clients against pinetboot-dhcpd in full mode, in network namespaces:
#   - dhclient: lease, renew (second run on the same lease file: INIT-REBOOT REQUEST), release
#     (dhclient -r); the server log and the lease journal show the release.
#   - busybox udhcpc: lease, renew (SIGUSR1), release on exit (-R).
#   - dhcpcd: lease (inside a private mount+PID namespace so it never touches host state).
#   - a --host MAC,IP,NAME reservation gives the reserved address.
#   - pool exhaustion (a range of one address, two clients): no offer to the second, a
#     "no free address" log line, and the server keeps serving.
source "$(dirname "$0")/dhcp_lib.sh"
pnb_require_netns
need_cmd dhclient isc-dhcp-client
need_cmd busybox busybox-static
need_cmd dhcpcd dhcpcd-base
need_cmd unshare util-linux
need_build

pnb_setup_veth
W=$PNB_WORK
LOG=$W/dhcpd.log
RESERVED_MAC=02:50:4e:42:00:21
start_dhcpd "$PNB_SRV" "$LOG" --mode full --interface veth0 \
  --subnet 10.77.0.0/24,range=10.77.0.100-10.77.0.150,router=10.77.0.1,lease=600,boot=boot.scr.uimg,next-server=10.77.0.9 \
  --host "$RESERVED_MAC,10.77.0.42,pi-reserved" --lease-file "$W/leases"

# udhcpc event script: configure the address in the client namespace (renewal is unicast from it).
cat >"$W/udhcpc.sh" <<'EOF'
#!/bin/sh
case "$1" in
  bound|renew) ip addr replace "$ip/24" dev "$interface"; echo "siaddr=$siaddr boot_file=$boot_file" >"$0.seen" ;;
  deconfig) ip addr flush dev "$interface" scope global; ip addr add 10.77.0.2/24 dev "$interface" ;;
esac
exit 0
EOF
chmod +x "$W/udhcpc.sh"

journal_state() {  # journal_state MAC: the lease state in a copy of the journal
  cp "$W/leases" "$W/leases.copy"
  "$DRIVER" leases "$W/leases.copy" | awk -v m="$1" '$1 == "lease" && $2 == m {print $4 " " $3}'
}

# ---------------------------------------------------------------- dhclient
echo "== dhclient"
MAC=02:50:4e:42:00:11
set_mac "$PNB_CLI" veth0 $MAC
DHC=(dhclient -4 -1 -v -sf /bin/true -lf "$W/dhclient.leases" -pf "$W/dhclient.pid")
pnb_in_cli timeout 30 "${DHC[@]}" veth0 >"$W/dhclient1.out" 2>&1 || fail "dhclient: no lease ($(tail -3 "$W/dhclient1.out"))"
ip1=$(awk '/bound to/ {print $3}' "$W/dhclient1.out" | tail -1)
[[ $ip1 == 10.77.0.1[0-5][0-9] ]] || fail "dhclient: unexpected address '$ip1'"
pnb_in_cli dhclient -x -pf "$W/dhclient.pid" >/dev/null 2>&1 || true
# Renew: the second run finds the lease in its file and REQUESTs that address (INIT-REBOOT).
pnb_in_cli timeout 30 "${DHC[@]}" veth0 >"$W/dhclient2.out" 2>&1 || fail "dhclient: renewal failed"
grep -q "DHCPREQUEST for $ip1" "$W/dhclient2.out" || fail "dhclient: second run did not request $ip1"
ip2=$(awk '/bound to/ {print $3}' "$W/dhclient2.out" | tail -1)
[[ $ip2 == "$ip1" ]] || fail "dhclient: renewal gave $ip2, not $ip1"
pnb_in_cli timeout 30 dhclient -4 -r -v -sf /bin/true -lf "$W/dhclient.leases" -pf "$W/dhclient.pid" veth0 \
  >"$W/dhclient3.out" 2>&1 || fail "dhclient -r failed"
grep -q DHCPRELEASE "$W/dhclient3.out" || fail "dhclient -r sent no DHCPRELEASE"
wait_for 5 grep -q "RELEASE .*mac $MAC .*released $ip1" "$LOG" || fail "dhclient: no release in the server log"
acks=$(log_for_mac "$LOG" $MAC | grep -c "REQUEST .*: ack $ip1")
((acks >= 2)) || fail "dhclient: expected 2 ACKs (lease, renew), server log has $acks"
[[ $(journal_state $MAC) == "released $ip1" ]] || fail "dhclient: journal says '$(journal_state $MAC)'"
# The subnet's boot file and next server reach a plain client (U-Boot's `dhcp` reads the same
# header fields): dhclient records the file in its lease; udhcpc's script gets both (below).
grep -q 'filename "boot.scr.uimg";' "$W/dhclient.leases" || fail "dhclient: no filename in its lease: $(cat "$W/dhclient.leases")"
echo "dhclient: lease $ip1, renewed, released"

# ---------------------------------------------------------------- udhcpc
echo "== udhcpc"
MAC=02:50:4e:42:00:12
set_mac "$PNB_CLI" veth0 $MAC
ip netns exec "$PNB_CLI" busybox udhcpc -f -R -i veth0 -t 5 -T 2 -A 1 -s "$W/udhcpc.sh" >"$W/udhcpc.out" 2>&1 &
UPID=$!
PNB_PIDS+=("$UPID")
wait_for 20 grep -q "lease of .* obtained" "$W/udhcpc.out" || fail "udhcpc: no lease"
uip=$(sed -n 's/.*lease of \([0-9.]*\) obtained.*/\1/p; T; q' "$W/udhcpc.out")
[[ $uip == 10.77.0.1[0-5][0-9] && $uip != "$ip1" ]] || fail "udhcpc: unexpected address '$uip'"
kill -USR1 $UPID
wait_for 10 bash -c "[[ \$(grep -c 'lease of $uip obtained' '$W/udhcpc.out') -ge 2 ]]" || fail "udhcpc: renewal failed"
# The renewal is a unicast REQUEST from the leased address (RENEWING, RFC 2131 4.3.2).
wait_for 5 grep -q "REQUEST from $uip port 68 mac $MAC .*: ack $uip" "$LOG" || fail "udhcpc: no unicast renewal in log"
kill -TERM $UPID
wait $UPID 2>/dev/null || true
wait_for 5 grep -q "RELEASE .*mac $MAC .*released $uip" "$LOG" || fail "udhcpc: no release in the server log"
[[ $(journal_state $MAC) == "released $uip" ]] || fail "udhcpc: journal says '$(journal_state $MAC)'"
ip -n "$PNB_CLI" addr flush dev veth0 scope global
ip -n "$PNB_CLI" addr add 10.77.0.2/24 dev veth0
[[ $(cat "$W/udhcpc.sh.seen" 2>/dev/null) == "siaddr=10.77.0.9 boot_file=boot.scr.uimg" ]] \
  || fail "udhcpc: the subnet's next-server and boot file did not arrive: $(cat "$W/udhcpc.sh.seen" 2>/dev/null)"
echo "udhcpc: lease $uip, renewed, released"

# ---------------------------------------------------------------- dhcpcd
echo "== dhcpcd"
MAC=02:50:4e:42:00:13
set_mac "$PNB_CLI" veth0 $MAC
# Private mount + PID namespace: its state dirs are tmpfs mounts that vanish with it.
ip netns exec "$PNB_CLI" unshare --mount --propagation private --pid --fork --kill-child --mount-proc \
  timeout -k 2 30 sh -c "mount -t tmpfs tmpfs /var/lib/dhcpcd && mount -t tmpfs tmpfs /run && \
    exec dhcpcd -4 -1 -B -A -c /bin/true -t 20 veth0" >"$W/dhcpcd.out" 2>&1 || true
grep -Eq "leased 10\.77\.0\.1[0-5][0-9]" "$W/dhcpcd.out" || fail "dhcpcd: no lease ($(tail -5 "$W/dhcpcd.out"))"
dip=$(sed -n 's/.*leased \(10\.77\.0\.[0-9]*\).*/\1/p; T; q' "$W/dhcpcd.out")
log_for_mac "$LOG" $MAC | has "REQUEST .*: ack $dip" || fail "dhcpcd: no ACK for $dip in the server log"
ip -n "$PNB_CLI" addr flush dev veth0 scope global
ip -n "$PNB_CLI" addr add 10.77.0.2/24 dev veth0
echo "dhcpcd: lease $dip"

# ---------------------------------------------------------------- reservation
echo "== reservation"
set_mac "$PNB_CLI" veth0 $RESERVED_MAC
pnb_in_cli timeout 30 busybox udhcpc -n -q -i veth0 -t 5 -T 2 -s /bin/true >"$W/udhcpc-res.out" 2>&1 ||
  fail "reserved client got no lease"
grep -q "lease of 10.77.0.42 obtained" "$W/udhcpc-res.out" || fail "reservation: $(grep lease "$W/udhcpc-res.out")"
echo "reservation: $RESERVED_MAC got 10.77.0.42"
dhcpd_alive || fail "server died"
stop_dhcpd

# ---------------------------------------------------------------- pool exhaustion
echo "== pool exhaustion"
LOG2=$W/dhcpd-pool.log
start_dhcpd "$PNB_SRV" "$LOG2" --mode full --interface veth0 \
  --subnet 10.77.0.0/24,range=10.77.0.200-10.77.0.200 --lease-file "$W/leases-pool"
set_mac "$PNB_CLI" veth0 02:50:4e:42:00:31
pnb_in_cli timeout 30 busybox udhcpc -n -q -i veth0 -t 5 -T 2 -s /bin/true >"$W/pool-a.out" 2>&1 ||
  fail "first client got no lease from a one-address pool"
grep -q "lease of 10.77.0.200 obtained" "$W/pool-a.out" || fail "first client: $(cat "$W/pool-a.out")"
set_mac "$PNB_CLI" veth0 02:50:4e:42:00:32
if pnb_in_cli timeout 30 busybox udhcpc -n -q -i veth0 -t 2 -T 1 -s /bin/true >"$W/pool-b.out" 2>&1; then
  fail "second client got a lease from an exhausted pool: $(cat "$W/pool-b.out")"
fi
grep -q "mac 02:50:4e:42:00:32 .*no free address" "$LOG2" || fail "no 'no free address' line for the second client"
log_for_mac "$LOG2" 02:50:4e:42:00:32 | has ": offer" && fail "the second client was offered an address"
dhcpd_alive || fail "server died after pool exhaustion"
set_mac "$PNB_CLI" veth0 02:50:4e:42:00:31
pnb_in_cli timeout 30 busybox udhcpc -n -q -i veth0 -t 5 -T 2 -s /bin/true >"$W/pool-a2.out" 2>&1 ||
  fail "server stopped serving after pool exhaustion"
grep -q "lease of 10.77.0.200 obtained" "$W/pool-a2.out" || fail "first client lost its address"
stop_dhcpd
echo "pool exhaustion: second client refused, server still serving"
echo "dhcp_full: ok"
