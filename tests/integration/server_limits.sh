#!/usr/bin/env bash
# pinetboot-server and file descriptors (issue 16): in a network namespace of its own,
#  - --check-config warns when max_transfers needs more descriptors than the hard limit allows,
#    naming the fix, and does not when the soft limit is low but the hard one is enough (the
#    server raises its soft limit to the hard one);
#  - the running server's soft limit is its hard limit;
#  - out of descriptors (prlimit on the live server), a TFTP request is logged as such with the
#    fix, not as "I/O error", and counted in /metrics; with room again transfers work.
source "$(dirname "$0")/lib/netns.sh"
pnb_require_netns
bin=${PINETBOOT_BUILD_DIR:?}/examples/server/pinetboot-server
[[ -x $bin ]] || { echo "FAIL: $bin not built"; exit 1; }
command -v prlimit >/dev/null || { echo "SKIP: needs prlimit (util-linux)"; exit 77; }
fail() { echo "FAIL: $*"; echo "--- server log"; tail -20 "$PNB_WORK/server.log" 2>/dev/null; exit 1; }

pnb_setup_veth
mkdir -p "$PNB_WORK/tftp"
echo "console=serial0" > "$PNB_WORK/tftp/cmdline.txt"
cat > "$PNB_WORK/server.toml" <<EOT
[server]
interface = "veth0"
user = ""
metrics = "127.0.0.1:9110"
[dhcp]
mode = "off"
[tftp]
root = "$PNB_WORK/tftp"
max_transfers = 4096
EOT

out=$(ip netns exec "$PNB_SRV" prlimit --nofile=1024:1024 "$bin" --config "$PNB_WORK/server.toml" --check-config 2>&1) || fail "check-config failed: $out"
echo "$out" | grep -q 'warning: tftp.max_transfers = 4096 needs about 8256 file descriptors.*limit is 1024.*LimitNOFILE=8256' \
  || fail "no descriptor warning with a hard limit of 1024: $out"
out=$(ip netns exec "$PNB_SRV" prlimit --nofile=1024:16384 "$bin" --config "$PNB_WORK/server.toml" --check-config 2>&1) || fail "check-config failed: $out"
echo "$out" | grep -q 'warning' && fail "warned although the hard limit (16384) is enough: $out"

ip netns exec "$PNB_SRV" prlimit --nofile=1024:16384 "$bin" --config "$PNB_WORK/server.toml" > "$PNB_WORK/server.log" 2>&1 &
srv=$!
PNB_PIDS+=("$srv")
wait_for 10 grep -q 'pinetboot-server started' "$PNB_WORK/server.log" || fail "server did not start"
soft=$(prlimit --pid "$srv" --nofile --noheadings --output SOFT | tr -d ' ')
[[ $soft == 16384 ]] || fail "soft RLIMIT_NOFILE is $soft, not raised to the hard limit 16384"

pnb_in_cli timeout 20 curl -s -o "$PNB_WORK/got1" "tftp://$PNB_SRV_IP/cmdline.txt" || fail "first transfer failed"
# No descriptor free below the limit: the lowest free one becomes the limit.
lowest=0
while [[ -e /proc/$srv/fd/$lowest ]]; do lowest=$((lowest + 1)); done
prlimit --pid "$srv" --nofile="$lowest:16384"
pnb_in_cli timeout 20 curl -s -o "$PNB_WORK/got2" "tftp://$PNB_SRV_IP/cmdline.txt" && fail "transfer succeeded without descriptors"
wait_for 5 grep -q 'tftp cmdline.txt failed: Too many open files (out of file descriptors: raise LimitNOFILE=' "$PNB_WORK/server.log" \
  || fail "running out of descriptors not logged as such"
grep -q 'I/O error' "$PNB_WORK/server.log" && fail "logged as I/O error"
prlimit --pid "$srv" --nofile=16384:16384
pnb_in_cli timeout 20 curl -s -o "$PNB_WORK/got3" "tftp://$PNB_SRV_IP/cmdline.txt" || fail "transfer failed after the limit was raised again"
cmp -s "$PNB_WORK/got3" "$PNB_WORK/tftp/cmdline.txt" || fail "file differs"
metrics=$(pnb_in_srv curl -s http://127.0.0.1:9110/metrics) || fail "metrics endpoint"
echo "$metrics" | grep -q '^pinetboot_descriptor_exhaustion_total 1$' || fail "exhaustion not counted: $(echo "$metrics" | grep exhaustion)"
echo "$metrics" | grep -q '^pinetboot_lease_compaction_failures_total 0$' || fail "no compaction metric"
echo "server_limits: ok"
