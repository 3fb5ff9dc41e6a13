#!/usr/bin/env bash
# pinetboot-server end to end with real clients, in namespaces of its own:
#  - full mode: busybox udhcpc gets a lease; curl fetches a file over TFTP; the log shows one
#    line per phase; /metrics counts them; --check-config explains errors with line numbers;
#  - SIGHUP during a slow transfer reloads a changed configuration (a new reservation) and the
#    transfer completes intact;
#  - SIGTERM during a transfer lets it finish (grace period) and the lease is still in the journal.
source "$(dirname "$0")/lib/netns.sh"
pnb_require_netns
bin=${PINETBOOT_BUILD_DIR:?}/examples/server/pinetboot-server
impair=$(pnb_impair_bin)
[[ -x $bin ]] || { echo "FAIL: $bin not built"; exit 1; }

fail() { echo "FAIL: $*"; echo "--- server log"; cat "$PNB_WORK/server.log" 2>/dev/null | tail -40; exit 1; }

# Config errors name the line.
printf '[server]\ninterface = "lo"\n[dhcp]\nmode = "full"\n' > "$PNB_WORK/bad.toml"
out=$("$bin" --config "$PNB_WORK/bad.toml" --check-config 2>&1) && fail "bad config accepted"
echo "$out" | grep -q 'bad.toml:4: dhcp.mode = "full" needs at least one' || fail "unexpected error text: $out"

# A slow link so that transfers are still running when signals arrive.
pnb_setup_impair --loss 0 --delay-ms 1 --seed 1
root=$PNB_WORK/tftp
mkdir -p "$root"
head -c 1000000 /dev/urandom > "$root/kernel8.img"
echo "console=serial0" > "$root/cmdline.txt"
cat > "$PNB_WORK/server.toml" <<EOT
[server]
interface = "taps"
user = ""
metrics = "127.0.0.1:9110"
shutdown_grace = 60
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
"$bin" --config "$PNB_WORK/server.toml" --check-config >/dev/null || fail "good config rejected"
ip netns exec "$PNB_SRV" "$bin" --config "$PNB_WORK/server.toml" > "$PNB_WORK/server.log" 2>&1 &
srv=$!
PNB_PIDS+=("$srv")
wait_for 10 grep -q 'pinetboot-server started' "$PNB_WORK/server.log" || fail "server did not start"

# DHCP with a real client.
pnb_in_cli timeout 30 busybox udhcpc -i tapc -n -q -t 5 -T 2 -s /bin/true > "$PNB_WORK/udhcpc.log" 2>&1 || fail "udhcpc got no lease: $(cat "$PNB_WORK/udhcpc.log")"
grep -q 'lease of 10.77.0.1[0-2][0-9] obtained' "$PNB_WORK/udhcpc.log" || fail "unexpected lease: $(cat "$PNB_WORK/udhcpc.log")"
grep -q 'dhcp REQUEST -> ack 10.77.0.1' "$PNB_WORK/server.log" || fail "no ack line in the log"

# TFTP with a real client, then metrics.
pnb_in_cli timeout 60 curl -s -o "$PNB_WORK/got" "tftp://$PNB_SRV_IP/cmdline.txt" || fail "curl failed"
cmp -s "$PNB_WORK/got" "$root/cmdline.txt" || fail "cmdline.txt differs"
wait_for 5 grep -q 'tftp cmdline.txt sent' "$PNB_WORK/server.log" || fail "no tftp line in the log"
metrics=$(pnb_in_srv curl -s http://127.0.0.1:9110/metrics) || fail "metrics endpoint"
echo "$metrics" | grep -q '^pinetboot_dhcp_replies_total{type="ACK"} 1$' || fail "metrics: $metrics"
echo "$metrics" | grep -q '^pinetboot_tftp_transfers_total{outcome="complete"} 1$' || fail "metrics: $metrics"

# SIGHUP in the middle of a transfer: a changed config applies, the transfer completes.
pnb_in_cli timeout 120 curl -s --tftp-blksize 512 -o "$PNB_WORK/k1" "tftp://$PNB_SRV_IP/kernel8.img" &
c1=$!
wait_for 10 bash -c "ip netns exec $PNB_SRV curl -s http://127.0.0.1:9110/metrics | grep -q '^pinetboot_tftp_active_transfers 1$'" || fail "transfer did not start"
cat >> "$PNB_WORK/server.toml" <<EOT
[[dhcp.host]]
mac = "02:00:00:00:00:99"
address = "10.77.0.99"
hostname = "reserved"
EOT
sed -i 's/^\[tftp\]$/[tftp]\nidle_timeout = 25/' "$PNB_WORK/server.toml"
kill -HUP "$srv"
wait_for 10 grep -q 'reload: configuration reloaded, 1 host' "$PNB_WORK/server.log" || fail "no reload line"
wait "$c1" || fail "curl failed across the reload"
cmp -s "$PNB_WORK/k1" "$root/kernel8.img" || fail "kernel8.img corrupted across the reload"

# A broken config on SIGHUP is refused and the running one kept.
echo 'this is not toml' >> "$PNB_WORK/server.toml"
kill -HUP "$srv"
wait_for 10 grep -q 'reload FAILED, keeping the running configuration' "$PNB_WORK/server.log" || fail "broken reload not reported"

# SIGTERM during a transfer: it finishes, then the server exits; the lease survives.
pnb_in_cli timeout 120 curl -s --tftp-blksize 512 -o "$PNB_WORK/k2" "tftp://$PNB_SRV_IP/kernel8.img" &
c2=$!
wait_for 10 bash -c "ip netns exec $PNB_SRV curl -s http://127.0.0.1:9110/metrics | grep -q '^pinetboot_tftp_active_transfers 1$'" || fail "second transfer did not start"
kill -TERM "$srv"
wait "$c2" || fail "curl failed across SIGTERM"
cmp -s "$PNB_WORK/k2" "$root/kernel8.img" || fail "kernel8.img corrupted across SIGTERM"
wait_for 30 bash -c "! kill -0 $srv 2>/dev/null" || fail "server did not exit"
grep -q 'transfer(s) finishing' "$PNB_WORK/server.log" || fail "no graceful stop line"
grep -q 'pinetboot-server stopped' "$PNB_WORK/server.log" || fail "no stop line"
[[ -s $PNB_WORK/leases.journal ]] || fail "lease journal empty"
echo "server_basic: ok"
