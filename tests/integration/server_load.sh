#!/usr/bin/env bash
# pinetboot-server under load (issue #6): SIGHUP reloads and a SIGTERM while many TFTP
# transfers and DHCP exchanges are in flight; no transfer may be corrupted and no ACKed lease
# lost. Everything runs in namespaces of the test's own, joined by pinetboot-impair (1 ms each
# way, no loss) so that lockstep transfers last seconds and overlap the signals.
#
# Phase 1, reload under load:
#   - 30 TFTP fetches of a 2 MiB random file (curl blksize 1400 and 512, busybox blksize 1024),
#     16 simulated Pi 4s booting (pinetboot-simulate: DHCP + their TFTP file sequence) and a
#     stream of relayed DORA exchanges (pinetboot-dhcp-driver relay) run at once;
#   - the configuration is changed twice (a new reservation each time; tftp.max_blksize lowered
#     to 1024, then restored), with a SIGHUP each time while the transfers run;
#   - the log reports each reload with the live transfers kept; a new client gets each new
#     reservation and a new transfer the new blksize limit, while every transfer that was live
#     keeps the blksize it negotiated and completes with the source's sha256; every board boots
#     with files of the right sizes; every DHCP exchange of the stream is ACKed.
# Phase 2, SIGTERM under load:
#   - 20 fetches of an 8 MiB file (at >= 2 ms per 1024-byte block they cannot finish within the
#     grace period) and 10 of a 256 KiB file (they can), plus a relayed DORA burst;
#   - SIGTERM: the server exits within shutdown_grace; every client that reports success has
#     the right sha256; the short transfers in flight complete; the long ones are aborted with
#     a TFTP ERROR (the client fails promptly, it does not hang); the server logs one line per
#     transfer, consistent with what the clients saw;
#   - every lease whose ACK a client received (relay driver, simulated boards, reservations) is
#     bound in the lease journal (read with the library), and a server restarted on the journal
#     still holds a sample of them (another client's REQUEST is NAKed, the owner is re-offered).
source "$(dirname "$0")/lib/netns.sh"
pnb_require_netns
B=${PINETBOOT_BUILD_DIR:?PINETBOOT_BUILD_DIR not set}
SRV=$B/examples/server/pinetboot-server
SIM=$B/examples/simulate/pinetboot-simulate
DRIVER=$B/tests/integration/tools/pinetboot-dhcp-driver
MKTREE=$(dirname "$0")/../../examples/simulate/make-demo-tree.sh
for x in "$SRV" "$SIM" "$DRIVER" "$(pnb_impair_bin)"; do [[ -x $x ]] || { echo "FAIL: missing $x (build it first)"; exit 1; }; done
for c in curl busybox python3 sha256sum; do command -v "$c" >/dev/null || { echo "FAIL: missing $c"; exit 1; }; done
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=0}

W=$PNB_WORK
N1=30          # phase 1 transfers
SIM_COUNT=16   # phase 1 simulated boards
N2_LONG=20     # phase 2 transfers that cannot finish within the grace period
N2_SHORT=10    # phase 2 transfers that can
GRACE=8        # shutdown_grace, seconds
PROBE_IP=10.77.0.3  # a second client address for one-off relayed DHCP probes

fail() {
  echo "FAIL: $*"
  local f
  for f in "$W"/server*.log "$W"/relay*.out "$W"/sim.err; do
    [[ -f $f ]] || continue
    echo "---- $f (last 25 lines)"
    tail -n 25 "$f"
  done
  exit 1
}
metric() {  # metric NAME: the value of one metrics line (empty if the endpoint does not answer)
  pnb_in_srv curl -s --max-time 2 http://127.0.0.1:9110/metrics | awk -v k="$1" '$1 == k {print $2}'
}
active_at_least() { local v; v=$(metric pinetboot_tftp_active_transfers); [[ -n $v ]] && ((v >= $1)); }
acks_at_least() { [[ $(grep -c '^ack ' "$1" 2>/dev/null) -ge $2 ]]; }
alive() { kill -0 "$1" 2>/dev/null; }
sha() { sha256sum "$1" | cut -d' ' -f1; }
# srvlines FILE: the server's tftp log lines for one file name.
srvlines() { grep -F ": tftp $1 " "$W/server.log" || true; }
# probe MAC: one relayed DORA from $PROBE_IP for MAC; prints the "ack MAC IP" line.
probe() {
  pnb_in_cli timeout 20 "$DRIVER" relay --local "$PROBE_IP" --server "$PNB_SRV_IP" --count 1 --mac-base "$1" \
    --rto-ms 500 --tries 6 >"$W/probe.out" 2>&1 || fail "probe DORA for $1 failed: $(cat "$W/probe.out")"
  grep '^ack ' "$W/probe.out" | tee -a "$W/probe-acks"
}

# ---------------------------------------------------------------- files, link, server
serials=()
for ((i = 0; i < SIM_COUNT; i += 2)); do serials+=("$(printf %08x $((0x10000000 + i)))"); done
bash "$MKTREE" --scale 16 "$W/tftp" "${serials[@]}" >/dev/null
head -c $((2 << 20)) /dev/urandom >"$W/tftp/big.bin"
head -c $((8 << 20)) /dev/urandom >"$W/tftp/huge.bin"
head -c $((256 << 10)) /dev/urandom >"$W/tftp/small.bin"
# One name per client (hard links), so that each server log line names its client.
for ((i = 1; i <= N1; ++i)); do ln "$W/tftp/big.bin" "$W/tftp/w1-$i.bin"; done
for ((i = 1; i <= N2_LONG; ++i)); do ln "$W/tftp/huge.bin" "$W/tftp/long-$i.bin"; done
for ((i = 1; i <= N2_SHORT; ++i)); do ln "$W/tftp/small.bin" "$W/tftp/short-$i.bin"; done
for f in after1 after2; do ln "$W/tftp/small.bin" "$W/tftp/$f.bin"; done
SUM_BIG=$(sha "$W/tftp/big.bin")
SUM_HUGE=$(sha "$W/tftp/huge.bin")
SUM_SMALL=$(sha "$W/tftp/small.bin")

pnb_setup_impair --loss 0 --delay-ms 1 --seed 6
ip -n "$PNB_CLI" addr add "$PROBE_IP/24" dev tapc
cmac=$(ip -n "$PNB_CLI" -br link show tapc | awk '{print $3}')
ip -n "$PNB_SRV" neigh replace "$PROBE_IP" lladdr "$cmac" dev taps

write_config() {  # write_config MAX_BLKSIZE [RESERVATION_INDEX...]
  local blk=$1 r
  shift
  cat >"$W/server.toml.new" <<EOT
[server]
interface = "taps"
user = ""
metrics = "127.0.0.1:9110"
shutdown_grace = $GRACE
[dhcp]
mode = "full"
lease_file = "$W/leases.journal"
[[dhcp.subnet]]
network = "10.77.0.0/16"
range = ["10.77.1.0", "10.77.255.254"]
routers = ["10.77.0.1"]
EOT
  for r in "$@"; do
    printf '[[dhcp.host]]\nmac = "02:aa:00:00:00:0%s"\naddress = "10.77.0.5%s"\nhostname = "reserved-%s"\n' \
      "$r" "$r" "$r" >>"$W/server.toml.new"
  done
  cat >>"$W/server.toml.new" <<EOT
[tftp]
root = "$W/tftp"
max_per_client = 1000
max_blksize = $blk
EOT
  mv "$W/server.toml.new" "$W/server.toml"  # atomic: a reload never reads half a file
}
write_config 1468
"$SRV" --config "$W/server.toml" --check-config >/dev/null || fail "config rejected"

start_server() {  # start_server LOG: sets SRV_PID
  ip netns exec "$PNB_SRV" "$SRV" --config "$W/server.toml" >"$1" 2>&1 &
  SRV_PID=$!
  PNB_PIDS+=("$SRV_PID")
  wait_for 20 grep -q 'pinetboot-server started' "$1" || fail "server did not start"
}
start_server "$W/server.log"
t_start=$SECONDS

# ================================================================ phase 1: reload under load
relay1_count=1200
pnb_in_cli "$DRIVER" relay --local "$PNB_CLI_IP" --server "$PNB_SRV_IP" --count "$relay1_count" \
  --mac-base 02:71:00:00:00:00 --window 2 --rto-ms 1000 --tries 4 --idle-ms 5000 >"$W/relay1.out" 2>&1 &
relay1=$!
PNB_PIDS+=("$relay1")
pnb_in_cli timeout 100 "$SIM" --interface tapc --count "$SIM_COUNT" --generation pi4 --timeout 90 \
  --dhcp-retry-ms 1000 --json >"$W/sim.json" 2>"$W/sim.err" &
sim=$!
PNB_PIDS+=("$sim")
w1=()
for ((i = 1; i <= N1; ++i)); do
  case $((i % 3)) in
    0) pnb_in_cli timeout 100 curl -s --tftp-blksize 1400 -o "$W/w1-$i.got" "tftp://$PNB_SRV_IP/w1-$i.bin" & ;;
    1) pnb_in_cli timeout 100 curl -s -o "$W/w1-$i.got" "tftp://$PNB_SRV_IP/w1-$i.bin" & ;;
    2) pnb_in_cli timeout 100 busybox tftp -g -b 1024 -r "w1-$i.bin" -l "$W/w1-$i.got" "$PNB_SRV_IP" & ;;
  esac
  w1+=($!)
  PNB_PIDS+=($!)
done
wait_for 30 active_at_least "$N1" || fail "phase 1: only $(metric pinetboot_tftp_active_transfers) transfers live"
wait_for 30 acks_at_least "$W/relay1.out" 20 || fail "phase 1: DHCP stream too slow"

# Reload 1: a reservation, and a lower blksize limit than the live blksize-1400 transfers use.
for i in "${!w1[@]}"; do alive "${w1[$i]}" || fail "phase 1: client $((i + 1)) ended before the first reload"; done
alive "$relay1" || fail "phase 1: the DHCP stream ended before the first reload"
write_config 1024 1
kill -HUP "$SRV_PID"
wait_for 10 grep -q 'reload: configuration reloaded, 1 host(s), [0-9]* live transfer(s) kept' "$W/server.log" ||
  fail "no line for the first reload"
kept1=$(sed -n 's/.*reload: configuration reloaded, 1 host(s), \([0-9]*\) live transfer(s) kept.*/\1/p' "$W/server.log")
((kept1 >= N1)) || fail "first reload kept $kept1 live transfers, $N1 were running"
probe 02:aa:00:00:00:01 | grep -q '^ack 02:aa:00:00:00:01 10.77.0.51$' || fail "reservation 1 not applied: $(cat "$W/probe.out")"
pnb_in_cli timeout 60 curl -s --tftp-blksize 1400 -o "$W/after1.got" "tftp://$PNB_SRV_IP/after1.bin" ||
  fail "a transfer after the first reload failed"
[[ $(sha "$W/after1.got") == "$SUM_SMALL" ]] || fail "after1.bin corrupted"
wait_for 5 bash -c "grep -qF ': tftp after1.bin sent' '$W/server.log'" || fail "no log line for after1.bin"
srvlines after1.bin | grep -q 'blksize 1024,' || fail "new limit not applied after reload 1: $(srvlines after1.bin)"

# Reload 2: a second reservation, the blksize limit restored.
live2=0
for p in "${w1[@]}"; do alive "$p" && live2=$((live2 + 1)); done
((live2 > 0)) || fail "phase 1: every transfer ended before the second reload (link too fast?)"
alive "$relay1" || fail "phase 1: the DHCP stream ended before the second reload"
write_config 1468 1 2
kill -HUP "$SRV_PID"
wait_for 10 grep -q 'reload: configuration reloaded, 2 host(s), [0-9]* live transfer(s) kept' "$W/server.log" ||
  fail "no line for the second reload"
kept2=$(sed -n 's/.*reload: configuration reloaded, 2 host(s), \([0-9]*\) live transfer(s) kept.*/\1/p' "$W/server.log")
((kept2 >= live2)) || fail "second reload kept $kept2 live transfers, $live2 clients were running"
probe 02:aa:00:00:00:02 | grep -q '^ack 02:aa:00:00:00:02 10.77.0.52$' || fail "reservation 2 not applied: $(cat "$W/probe.out")"
pnb_in_cli timeout 60 curl -s --tftp-blksize 1400 -o "$W/after2.got" "tftp://$PNB_SRV_IP/after2.bin" ||
  fail "a transfer after the second reload failed"
[[ $(sha "$W/after2.got") == "$SUM_SMALL" ]] || fail "after2.bin corrupted"
wait_for 5 bash -c "grep -qF ': tftp after2.bin sent' '$W/server.log'" || fail "no log line for after2.bin"
srvlines after2.bin | grep -q 'blksize 1400,' || fail "limit not restored after reload 2: $(srvlines after2.bin)"
echo "phase 1: reloads kept $kept1 and $kept2 live transfers; reservations and limits applied to new requests"

# Every transfer that was live across the reloads completes intact, with the blksize it had.
for i in "${!w1[@]}"; do
  n=$((i + 1))
  rc=0
  wait "${w1[$i]}" || rc=$?
  ((rc == 0)) || fail "phase 1: client $n (w1-$n.bin) exited $rc across the reloads"
  [[ $(sha "$W/w1-$n.got") == "$SUM_BIG" ]] || fail "phase 1: w1-$n.bin corrupted across the reloads"
  case $((n % 3)) in 0) want=1400 ;; 1) want=512 ;; 2) want=1024 ;; esac
  line=$(srvlines "w1-$n.bin")
  [[ $(grep -c . <<<"$line") == 1 ]] || fail "phase 1: expected one log line for w1-$n.bin: $line"
  grep -q " sent ($((2 << 20)) bytes in .* blksize $want," <<<"$line" ||
    fail "phase 1: w1-$n.bin did not keep blksize $want: $line"
done
rc=0
wait "$sim" || rc=$?
((rc == 0)) || fail "phase 1: pinetboot-simulate exited $rc: $(tail -3 "$W/sim.err")"
python3 - "$W/sim.json" "$W/tftp" "$SIM_COUNT" >"$W/sim-acks" <<'PY' || fail "phase 1: simulator report: $(cat "$W/sim-acks")"
import json, os, sys
r = json.load(open(sys.argv[1]))
root, count = sys.argv[2], int(sys.argv[3])
s = r["summary"]
assert s["boards"] == count and s["booted"] == count and s["failed"] == 0 and s["files_failed"] == 0, s
for b in r["boards"]:
    d = b["dhcp"]
    assert b["booted"] and d["state"] == "bound" and d["ack_ms"] is not None, b
    for f in b["files"]:
        if f["result"] == "received":
            size = os.path.getsize(os.path.join(root, f["name"]))
            assert f["bytes"] == size, f"board {b['index']} {f['name']}: {f['bytes']} bytes, file has {size}"
        else:
            assert f["result"] in ("found", "not_found"), f
    print("ack", b["mac"], d["address"])
PY
rc=0
wait "$relay1" || rc=$?
acked1=$(grep -c '^ack ' "$W/relay1.out")
((rc == 0 && acked1 == relay1_count)) || fail "phase 1: $acked1 of $relay1_count DHCP exchanges ACKed across the reloads (rc $rc)"
[[ $(metric pinetboot_reloads_total) == 2 && $(metric pinetboot_reload_failures_total) == 0 ]] ||
  fail "reload metrics: $(metric pinetboot_reloads_total) reloads, $(metric pinetboot_reload_failures_total) failures"
echo "phase 1: $N1 transfers intact, $SIM_COUNT boards booted, $acked1 DHCP ACKs, in $((SECONDS - t_start)) s"

# ================================================================ phase 2: SIGTERM under load
relay2_count=40000
pnb_in_cli "$DRIVER" relay --local "$PNB_CLI_IP" --server "$PNB_SRV_IP" --count "$relay2_count" \
  --mac-base 02:72:00:00:00:00 --window 8 --rto-ms 500 --tries 2 --idle-ms 2000 >"$W/relay2.out" 2>&1 &
relay2=$!
PNB_PIDS+=("$relay2")
long=() short=()
for ((i = 1; i <= N2_LONG; ++i)); do
  pnb_in_cli timeout 100 curl -s --tftp-blksize 1024 -o "$W/long-$i.got" "tftp://$PNB_SRV_IP/long-$i.bin" &
  long+=($!)
  PNB_PIDS+=($!)
done
wait_for 30 active_at_least "$N2_LONG" || fail "phase 2: only $(metric pinetboot_tftp_active_transfers) transfers live"
for ((i = 1; i <= N2_SHORT; ++i)); do
  if ((i % 2)); then
    pnb_in_cli timeout 100 curl -s --tftp-blksize 512 -o "$W/short-$i.got" "tftp://$PNB_SRV_IP/short-$i.bin" &
  else
    pnb_in_cli timeout 100 busybox tftp -g -b 512 -r "short-$i.bin" -l "$W/short-$i.got" "$PNB_SRV_IP" &
  fi
  short+=($!)
  PNB_PIDS+=($!)
done
# Every client's first DATA has arrived (the server took its request) before the signal.
started() { local i; for ((i = 1; i <= N2_SHORT; ++i)); do [[ -s $W/short-$i.got ]] || return 1; done; }
wait_for 30 started || fail "phase 2: the short transfers did not start"
wait_for 30 acks_at_least "$W/relay2.out" 200 || fail "phase 2: DHCP burst too slow"
alive "$relay2" || fail "phase 2: the DHCP burst ended before SIGTERM"
for p in "${long[@]}"; do alive "$p" || fail "phase 2: a long transfer ended before SIGTERM"; done
kill -TERM "$SRV_PID"
t_term=$SECONDS
rc=0
wait_for $((GRACE + 5)) bash -c "! kill -0 $SRV_PID 2>/dev/null" || fail "server still running $((SECONDS - t_term)) s after SIGTERM (grace $GRACE s)"
wait "$SRV_PID" || rc=$?
t_exit=$SECONDS
((rc == 0)) || fail "server exited with status $rc after SIGTERM"
grep -q 'signal 15: no new requests; [0-9]* transfer(s) finishing' "$W/server.log" || fail "no line for SIGTERM"
finishing=$(sed -n 's/.*signal 15: no new requests; \([0-9]*\) transfer(s) finishing.*/\1/p' "$W/server.log")
((finishing >= N2_LONG)) || fail "SIGTERM found $finishing live transfers, $N2_LONG long ones were running"
grep -q 'pinetboot-server stopped' "$W/server.log" || fail "no stop line"
echo "phase 2: SIGTERM with $finishing transfers live; server exited after $((t_exit - t_term)) s (grace $GRACE s)"

# Clients: success means the right bytes; the long transfers are told (ERROR), not left to hang.
for ((i = 1; i <= N2_SHORT; ++i)); do
  rc=0
  wait "${short[$((i - 1))]}" || rc=$?
  ((rc == 0)) || fail "phase 2: short-$i.bin, in flight at SIGTERM, exited $rc (grace $GRACE s)"
  [[ $(sha "$W/short-$i.got") == "$SUM_SMALL" ]] || fail "phase 2: short-$i.bin reported complete but corrupted"
  srvlines "short-$i.bin" | grep -q " sent ($((256 << 10)) bytes" || fail "phase 2: server log for short-$i.bin: $(srvlines "short-$i.bin")"
done
# How many short transfers were still running when the signal arrived: their lines follow it.
after_term=$(sed -n '/signal 15: no new requests/,$p' "$W/server.log" | grep -c ': tftp short-[0-9]*\.bin sent' || true)
aborted=0
for ((i = 1; i <= N2_LONG; ++i)); do
  rc=0
  wait "${long[$((i - 1))]}" || rc=$?
  got=$W/long-$i.got
  line=$(srvlines "long-$i.bin")
  [[ $(grep -c . <<<"$line") == 1 ]] || fail "phase 2: expected one server log line for long-$i.bin: $line"
  if ((rc == 0)); then
    [[ $(sha "$got") == "$SUM_HUGE" ]] || fail "phase 2: long-$i.bin reported complete but corrupted ($(stat -c %s "$got") bytes)"
    grep -q ' sent ' <<<"$line" || fail "phase 2: long-$i.bin complete at the client, server says: $line"
  else
    ((rc != 124)) || fail "phase 2: long-$i.bin client hung after the server stopped (no ERROR received)"
    grep -q ' failed: ' <<<"$line" || fail "phase 2: long-$i.bin failed at the client (rc $rc), server says: $line"
    aborted=$((aborted + 1))
  fi
done
t_clients=$SECONDS
((t_clients - t_exit <= 5)) || fail "phase 2: clients took $((t_clients - t_exit)) s after the server exit to end"
((aborted == N2_LONG)) || fail "phase 2: $((N2_LONG - aborted)) of the 8 MiB transfers finished within $GRACE s (link too fast?)"
grep -q "aborting $aborted transfer(s)" "$W/server.log" || fail "server did not log aborting $aborted transfers: $(grep aborting "$W/server.log")"
echo "phase 2: $N2_SHORT short transfers complete and intact ($after_term still running at SIGTERM), $aborted long ones aborted with an error"

# ---------------------------------------------------------------- every ACKed lease is journaled
rc=0
wait "$relay2" || rc=$?
grep -q '^summary: acked' "$W/relay2.out" || fail "relay driver did not finish: $(tail -2 "$W/relay2.out")"
acked2=$(grep -c '^ack ' "$W/relay2.out")
((acked2 < relay2_count)) || fail "the DHCP burst was not interrupted by SIGTERM"
cp "$W/leases.journal" "$W/j1"
"$DRIVER" leases "$W/j1" >"$W/j1.txt" || fail "cannot read the journal: $(tail -1 "$W/j1.txt")"
grep -q 'discarded 0 bytes' "$W/j1.txt" || fail "journal not clean after SIGTERM: $(tail -1 "$W/j1.txt")"
awk '$1 == "lease" && $4 == "bound" {print "ack " $2 " " $3}' "$W/j1.txt" | sort >"$W/journal-bound"
cat "$W/relay1.out" "$W/relay2.out" "$W/sim-acks" "$W/probe-acks" | grep '^ack ' | sort >"$W/acked"
total=$(wc -l <"$W/acked")
missing=$(comm -23 "$W/acked" "$W/journal-bound" | wc -l)
((missing == 0)) || fail "$missing of $total ACKed leases missing from the journal: $(comm -23 "$W/acked" "$W/journal-bound" | sed -n 1,3p)"
echo "journal: all $total ACKed leases bound ($acked1 + $acked2 relayed, $SIM_COUNT boards, 2 reservations)"

start_server "$W/server2.log"
! grep -q 'torn tail' "$W/server2.log" || fail "restart after a clean SIGTERM found a torn journal"
{
  grep '^ack ' "$W/relay2.out" | tail -n 60
  awk 'NR % 40 == 1' "$W/acked"
  cat "$W/sim-acks" "$W/probe-acks"
} | sort -u >"$W/check"
pnb_in_cli "$DRIVER" verify --local "$PNB_CLI_IP" --server "$PNB_SRV_IP" --acks "$W/check" >"$W/verify.out" 2>&1 ||
  fail "leases lost after restart: $(grep -m3 LOST "$W/verify.out"; tail -1 "$W/verify.out")"
echo "restart: $(tail -1 "$W/verify.out")"
kill -TERM "$SRV_PID"
rc=0
wait "$SRV_PID" || rc=$?
((rc == 0)) || fail "restarted server exited with status $rc"
echo "server_load: ok ($((SECONDS - t_start)) s)"
