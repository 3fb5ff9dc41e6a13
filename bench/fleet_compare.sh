#!/usr/bin/env bash
# Fleet boot benchmark: COUNT simulated Raspberry Pi 4s (default 1000) boot at once, in the
# seed's setup (a site router hands out addresses; a proxyDHCP beside it answers the boot
# menu and serves TFTP), once from pinetboot-server and once from dnsmasq, on the same
# throw-away LAN of network namespaces (like scripts/demo.sh):
#   lan     - a bridge; one veth to each of the hosts below
#   router  - dnsmasq as the site's DHCP server (10.77.0.254, one reserved address per board)
#   server  - the server under test at 10.77.0.1, proxy mode beside the router:
#             pinetboot-server (dhcp.mode = "proxy", per_client = "shared") or
#             dnsmasq --port=0 --dhcp-range=10.77.0.0,proxy --pxe-service=0,"Raspberry Pi Boot"
#                     --enable-tftp --tftp-root=DIR --tftp-max=<2*COUNT+100>
#   boards  - pinetboot-simulate --count COUNT --generation pi4 (10.77.0.50)
# Links: "veth" (plain) and, with IMPAIR=1, "impair": the boards' link goes through
# pinetboot-impair with 1 % loss per frame and direction and 1 ms delay each way.
# Every board fetches the Pi 4 file set of make-demo-tree.sh from its own <serial>/ folder.
#
# Per run it reports: time until the whole fleet has booted (the simulator's wall time; with
# failures, until the simulator gave up), p50/p99 per board, boards failed, client timeouts
# (TFTP timeouts and DHCP retransmissions), the server's CPU seconds (utime + stime from
# /proc/PID/stat, after - before), peak RSS (VmHWM), and RSS per live transfer:
# (peak sampled VmRSS - idle VmRSS) / peak number of transfer sockets the server had open
# (open socket fds - idle ones, sampled every 0.25 s; both servers use one socket per transfer;
# pinetboot's active-transfers gauge from /metrics with SINGLE_PORT=1),
# the UDP receive-buffer drops in the server's, router's and boards' namespaces, the duplicate DATA
# blocks the boards received, the server's RSS a second after the boot (records and caches kept,
# transfers gone) and, for pinetboot, the number of per-board records in /status.
# Medians over RUNS runs; ratios pinetboot/dnsmasq.
#
#   bench/fleet_compare.sh [BUILD_DIR]        (default build/bench-fleet; root; not run in CI)
#   BUILD_DIR: a Release build with the examples and pinetboot-impair (a tests/support tool):
#     cmake --preset bench -DPINETBOOT_BUILD_EXAMPLES=ON -DPINETBOOT_BUILD_TESTS=ON -B build/bench-fleet
#     cmake --build build/bench-fleet -j2 --target pinetboot-server pinetboot-simulate pinetboot-impair pinetboot-udp-floor
#   Environment: COUNT=1000 SCALE=8 (make-demo-tree.sh --scale; 1 = real sizes) RUNS=3
#     TIMEOUT=240 (simulator --timeout, plain link) IMPAIR=1 IMPAIR_RUNS=1 IMPAIR_TIMEOUT=120
#     IMPAIR_COUNT=COUNT (boards on the impaired link) SERVERS="pinetboot dnsmasq" KEEP=1 (keep the
#     work folder with the logs and the last JSON report)
#     OUT=FILE (also write the markdown table there)
#     SINGLE_PORT=1 (pinetboot-server with tftp.single_port = true: every transfer on port 69,
#     batched receives and sends; dnsmasq keeps its default, a port per transfer)
#     FROM_LEASE=1 (default; 0 = the simulator's older mode, every board sends TFTP from 10.77.0.50):
#     each board sends TFTP from the address the router leased it, as a real board does (the pool
#     is a local route in the boards' namespace; the server gets static neighbours for it), so
#     the server keeps one per-board record per board and per-client state per board
#     BEFORE=DIR (adds server "before": DIR/examples/server/pinetboot-server, an older build with
#     the same config, run in turn with the others; the table then has a column per server)
#     SLOW=1 SLOW_RUNS=1 SLOW_COUNT=COUNT SLOW_ACK_MS=0.1-50 (link "slow": the plain link with slow,
#     jittery boards, pinetboot-simulate --ack-delay-ms SLOW_ACK_MS: every ACK waits a uniformly
#     drawn delay, as boards behind USB Ethernet or a busy emulator host do; reports the
#     duplicate DATA blocks the boards received, resends that were not needed)
#     FLOOR=1 (default when BUILD_DIR has bench/tools/pinetboot-udp-floor): after the runs, the
#     floor on the plain link: pinetboot-udp-floor answers COUNT lockstep flows (one per board
#     address, as many exchanges each as a board got DATA blocks) with 1028-byte datagrams from
#     memory, once with a socket per flow in one epoll set and once on one socket with
#     recvmmsg/sendmmsg; its CPU per exchange is what the system calls and the kernel's UDP
#     path cost a server per block, beside each server's CPU per DATA block
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
SRC=$(cd "$HERE/.." && pwd)
BUILD=$(cd "${1:-$SRC/build/bench-fleet}" && pwd)
COUNT=${COUNT:-1000}
SCALE=${SCALE:-8}
RUNS=${RUNS:-3}
TIMEOUT=${TIMEOUT:-240}
IMPAIR=${IMPAIR:-1}
IMPAIR_RUNS=${IMPAIR_RUNS:-1}
IMPAIR_TIMEOUT=${IMPAIR_TIMEOUT:-120}
IMPAIR_COUNT=${IMPAIR_COUNT:-$COUNT}
FROM_LEASE=${FROM_LEASE:-1}
BEFORE=${BEFORE:-}
SLOW=${SLOW:-0}
SLOW_RUNS=${SLOW_RUNS:-1}
SLOW_COUNT=${SLOW_COUNT:-$COUNT}
SLOW_ACK_MS=${SLOW_ACK_MS:-0.1-50}
SERVERS=${SERVERS:-pinetboot ${BEFORE:+before }dnsmasq}
SINGLE_PORT=${SINGLE_PORT:-0}
OUT=${OUT:-}
SIM=$BUILD/examples/simulate/pinetboot-simulate
SRV=$BUILD/examples/server/pinetboot-server
IMP=$BUILD/tests/support/pinetboot-impair
FLOOR_BIN=$BUILD/bench/tools/pinetboot-udp-floor
FLOOR=${FLOOR:-$([[ -x $FLOOR_BIN ]] && echo 1 || echo 0)}
MKTREE=$SRC/examples/simulate/make-demo-tree.sh
[[ -z $BEFORE ]] || BEFORE_SRV=$(cd "$BEFORE" && pwd)/examples/server/pinetboot-server
for x in "$SIM" "$SRV" ${BEFORE:+"$BEFORE_SRV"}; do [[ -x $x ]] || { echo "fleet_compare: build $x first (see the header)" >&2; exit 1; }; done
if ((IMPAIR)) && [[ ! -x $IMP ]]; then echo "fleet_compare: no $IMP, skipping the impaired link" >&2; IMPAIR=0; fi
for c in dnsmasq python3 ip; do command -v $c >/dev/null || { echo "fleet_compare: needs $c" >&2; exit 1; }; done
[[ $(id -u) -eq 0 ]] || { echo "fleet_compare: run as root (network namespaces)" >&2; exit 1; }
[[ $COUNT =~ ^[1-9][0-9]*$ && $COUNT -le 2000 && $IMPAIR_COUNT =~ ^[1-9][0-9]*$ && $IMPAIR_COUNT -le 2000 &&
   $SLOW_COUNT =~ ^[1-9][0-9]*$ && $SLOW_COUNT -le 2000 ]] ||
  { echo "fleet_compare: COUNT, IMPAIR_COUNT and SLOW_COUNT must be 1..2000" >&2; exit 2; }
ulimit -n "$(ulimit -Hn)" 2>/dev/null || true  # one socket per transfer

W=$(mktemp -d /tmp/pnb-fleet.XXXXXX)
chmod 755 "$W"
id=f$$
lan=pnb${id}lan rtr=pnb${id}rtr srv=pnb${id}srv brd=pnb${id}brd mid=pnb${id}mid
pids=()
cleanup() {
  local p ns
  for p in "${pids[@]:-}"; do [[ -n $p ]] && kill "$p" 2>/dev/null || true; done
  for p in "${pids[@]:-}"; do [[ -n $p ]] && wait "$p" 2>/dev/null || true; done
  for ns in "$brd" "$srv" "$rtr" "$mid" "$lan"; do
    ip netns pids "$ns" 2>/dev/null | xargs -r kill -9 2>/dev/null || true
    ip netns delete "$ns" 2>/dev/null || true
  done
  if [[ -n ${KEEP:-} ]]; then echo "fleet_compare: kept $W" >&2; else rm -rf "$W"; fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# ---- the boot tree: one <serial>/ folder per board (serials 0x10000000 + i) -----------------
serials=()
for ((i = 0; i < COUNT; ++i)); do serials+=("$(printf %08x $((0x10000000 + i)))"); done
bash "$MKTREE" --scale "$SCALE" "$W/tftp" "${serials[@]}"
chmod -R a+rX "$W/tftp"
per_board=$(python3 -c "import os,sys; r=sys.argv[1]; print(sum(os.path.getsize(os.path.join(r,f)) for f in ('start4.elf','fixup4.dat','config.txt','bcm2711-rpi-4-b.dtb','overlays/overlay_map.dtb','cmdline.txt','kernel8.img')))" "$W/tftp")

# ---- the LAN ---------------------------------------------------------------------------------
ip netns add "$lan"
ip -n "$lan" link add br0 type bridge
ip -n "$lan" link set br0 up
for ns in "$rtr" "$srv" "$brd"; do
  ip netns add "$ns"
  ip -n "$ns" link set lo up
done
for ns in "$rtr" "$srv"; do
  ip -n "$lan" link add "p-$ns" type veth peer name eth0 netns "$ns"
  ip -n "$lan" link set "p-$ns" master br0 up
done
ip -n "$rtr" addr add 10.77.0.254/16 dev eth0 && ip -n "$rtr" link set eth0 up
ip -n "$srv" addr add 10.77.0.1/16 dev eth0 && ip -n "$srv" link set eth0 up
if ((FROM_LEASE)); then
  for ((i = 1; i <= 8; ++i)); do ip -n "$brd" route add local "10.77.$i.0/24" dev lo; done
fi
BIF=""  # the boards' interface: eth0 (veth) or tapc (through pinetboot-impair)

link_boards() {  # veth | impair
  if [[ -n $BIF ]]; then ip -n "$brd" link del "$BIF" 2>/dev/null || true; fi
  if [[ $1 == veth ]]; then
    ip -n "$lan" link add "p-$brd" type veth peer name eth0 netns "$brd"
    ip -n "$lan" link set "p-$brd" master br0 up
    BIF=eth0
  else
    ip netns add "$mid"
    local ready=$W/impair.ready
    ip netns exec "$mid" "$IMP" --a tapc --b taps --loss 0.01 --delay-ms 1 --seed 21 --duration 1800 \
      --ready-file "$ready" >"$W/impair.log" 2>&1 &
    pids+=($!)
    for _ in $(seq 1 100); do [[ -f $ready ]] && break; sleep 0.05; done
    [[ -f $ready ]] || { echo "fleet_compare: pinetboot-impair did not start" >&2; cat "$W/impair.log"; exit 1; }
    ip -n "$mid" link set tapc netns "$brd"
    ip -n "$mid" link set taps netns "$lan"
    ip -n "$lan" link set taps master br0 up
    BIF=tapc
  fi
  ip -n "$brd" addr add 10.77.0.50/16 dev "$BIF"
  ip -n "$brd" link set "$BIF" up
  # Static neighbours: a lost ARP on the impaired link would only add noise.
  local smac bmac
  smac=$(ip -n "$srv" -br link show eth0 | awk '{print $3}')
  bmac=$(ip -n "$brd" -br link show "$BIF" | awk '{print $3}')
  ip -n "$brd" neigh replace 10.77.0.1 lladdr "$smac" dev "$BIF"
  ip -n "$srv" neigh replace 10.77.0.50 lladdr "$bmac" dev eth0
  if ((FROM_LEASE)); then  # the router's pool (hosts file below): 10.77.1.1 .. 10.77.8.250
    python3 -c "import sys
for i in range(int(sys.argv[1])): print(f'neigh replace 10.77.{1 + i // 250}.{1 + i % 250} lladdr {sys.argv[2]} dev eth0')" \
      "$((COUNT > IMPAIR_COUNT ? COUNT : IMPAIR_COUNT))" "$bmac" | ip -n "$srv" -batch -
  fi
}

# The site's router: hands out the addresses, knows nothing about booting. Runs all along.
# One reservation per board: dnsmasq does not hold an address between OFFER and REQUEST, so
# with 1000 boards DISCOVERing at once it offers one address to several boards and then NAKs
# all but one ("address in use"); those boards start over, and the benchmark would measure the
# router's collisions (25,000 NAKs in a trial run) instead of the boot server.
python3 - "$W/hosts" "$((COUNT > IMPAIR_COUNT ? COUNT : IMPAIR_COUNT))" <<'PY'
import sys
with open(sys.argv[1], "w") as f:
    for i in range(int(sys.argv[2])):  # the simulator's MACs: dc:a6:32:00:00:00 + i
        m = 0xDCA632000000 + i
        f.write(":".join(f"{m >> s & 0xFF:02x}" for s in range(40, -1, -8)) + f",10.77.{1 + i // 250}.{1 + i % 250}\n")
PY
ip netns exec "$rtr" dnsmasq --no-daemon --port=0 --conf-file=/dev/null --leasefile-ro --no-ping --user=root \
  --interface=eth0 --bind-interfaces --dhcp-range=10.77.1.1,10.77.8.254,255.255.0.0,1h \
  --dhcp-lease-max=4096 --dhcp-hostsfile="$W/hosts" --dhcp-option=option:router,10.77.0.254 --log-facility="$W/router.log" \
  >"$W/router.out" 2>&1 &
pids+=($!)

cat >"$W/pinetboot.toml" <<EOF
[server]
interface = "eth0"
user = ""
metrics = "127.0.0.1:9110"   # live transfers in single-port mode (no socket per transfer to count)
[dhcp]
mode = "proxy"
[tftp]
root = "$W/tftp"
per_client = "shared"   # the boards ask for <serial>/... themselves
max_transfers = $((2 * COUNT + 100))
max_per_client = $( ((FROM_LEASE)) && echo 8 || echo $((2 * COUNT + 100)) )   # FROM_LEASE=0: one address for all boards
single_port = $( ((SINGLE_PORT)) && echo true || echo false)
EOF
# BEFORE may predate server.unknown_boards; pinetboot keeps a per-board record for every board.
sed 's|127.0.0.1:9110|127.0.0.1:9111|' "$W/pinetboot.toml" >"$W/before.toml"
sed -i "s|^user = \"\"$|user = \"\"\nunknown_boards = $((COUNT > IMPAIR_COUNT ? COUNT : IMPAIR_COUNT))   # a per-board record for every board|" "$W/pinetboot.toml"

start_server() {  # pinetboot | before | dnsmasq; sets SPID
  local log=$W/$1.log _
  : >"$log"
  if [[ $1 == pinetboot || $1 == before ]]; then
    ip netns exec "$srv" "$([[ $1 == before ]] && echo "$BEFORE_SRV" || echo "$SRV")" --config "$W/$1.toml" >"$log" 2>&1 &
  else
    ip netns exec "$srv" dnsmasq --no-daemon --port=0 --conf-file=/dev/null --user=root \
      --interface=eth0 --bind-interfaces --dhcp-range=10.77.0.0,proxy,255.255.0.0 \
      --pxe-service=0,"Raspberry Pi Boot" --enable-tftp --tftp-root="$W/tftp" \
      --tftp-max=$((2 * COUNT + 100)) --log-facility="$log" >"$W/dnsmasq.out" 2>&1 &
  fi
  SPID=$!
  pids+=("$SPID")
  for _ in $(seq 1 100); do
    ip netns exec "$srv" ss -Hlun 2>/dev/null | grep -q ':69 ' && ip netns exec "$srv" ss -Hlun | grep -q ':67 ' && break
    sleep 0.1
  done
  kill -0 "$SPID" 2>/dev/null || { echo "fleet_compare: $1 did not start" >&2; cat "$log" "$W/dnsmasq.out" 2>/dev/null; exit 1; }
  sleep 0.5
}

stop_server() {
  kill "$SPID" 2>/dev/null || true
  local _
  for _ in $(seq 1 50); do kill -0 "$SPID" 2>/dev/null || break; sleep 0.1; done
  kill -9 "$SPID" 2>/dev/null || true
  wait "$SPID" 2>/dev/null || true
}

mport() { [[ $1 == before ]] && echo 9111 || echo 9110; }  # the server's metrics port
cpu_ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }
kib() { awk -v k="$2" '$1 == k":" {print $2}' "/proc/$1/status"; }
nsocks() { find "/proc/$1/fd" -mindepth 1 -maxdepth 1 -lname 'socket:*' 2>/dev/null | wc -l; }
# Live transfers: transfer sockets (both servers open one per transfer), or pinetboot's gauge in
# single-port mode.
live_now() {  # server pid idle_socks
  if [[ $1 == pinetboot || $1 == before ]] && ((SINGLE_PORT)); then
    ip netns exec "$srv" curl -s --max-time 1 "http://127.0.0.1:$(mport "$1")/metrics" |
      awk '$1 == "pinetboot_tftp_active_transfers" {print $2; f = 1} END {if (!f) print 0}'
  else
    echo $(($(nsocks "$2") - $3))
  fi
}
# Datagrams the kernel dropped because a socket's receive buffer was full, in a namespace.
udp_drops() { ip netns exec "$1" awk '$1 == "Udp:" && $2 ~ /^[0-9]/ {print $6}' /proc/net/snmp; }
TCK=$(getconf CLK_TCK)
ROWS=$W/rows.tsv
: >"$ROWS"

run_one() {  # server link run timeout count
  local server=$1 link=$2 run=$3 timeout=$4 count=$5
  start_server "$server"
  local idle_rss idle_socks cpu0 cpu1 hwm rc=0
  idle_rss=$(kib "$SPID" VmRSS)
  idle_socks=$(nsocks "$SPID")
  cpu0=$(cpu_ticks "$SPID")
  local d0 d1 ns
  d0=$(for ns in "$srv" "$rtr" "$brd"; do udp_drops "$ns"; done | tr '\n' ' ')
  local samples=$W/samples.$server.$link.$run
  : >"$samples"
  local extra=()
  [[ $link == slow ]] && extra=(--ack-delay-ms "$SLOW_ACK_MS")
  ((FROM_LEASE)) && extra+=(--tftp-from-lease)
  ip netns exec "$brd" "$SIM" --interface "$BIF" --count "$count" --generation pi4 --timeout "$timeout" --json "${extra[@]}" \
    >"$W/report.$server.$link.$run.json" 2>"$W/sim.err" &
  local sim=$!
  pids+=("$sim")
  local n=0
  while kill -0 "$sim" 2>/dev/null && ((n < (timeout + 60) * 4)); do
    echo "$(kib "$SPID" VmRSS) $(live_now "$server" "$SPID" "$idle_socks")" >>"$samples"
    sleep 0.25
    n=$((n + 1))
  done
  kill "$sim" 2>/dev/null || true
  wait "$sim" || rc=$?
  cpu1=$(cpu_ticks "$SPID")
  hwm=$(kib "$SPID" VmHWM)
  sleep 1  # the last transfers' sockets close
  local after records=-1
  after=$(kib "$SPID" VmRSS)
  if [[ $server != dnsmasq ]]; then
    records=$(ip netns exec "$srv" curl -s --max-time 2 "http://127.0.0.1:$(mport "$server")/status" |
      python3 -c 'import json, sys; print(len(json.load(sys.stdin)["records"]))' 2>/dev/null) || records=-1
  fi
  d1=$(for ns in "$srv" "$rtr" "$brd"; do udp_drops "$ns"; done | tr '\n' ' ')
  stop_server
  python3 - "$W/report.$server.$link.$run.json" "$samples" "$server" "$link" "$run" "$idle_rss" "$hwm" \
    "$(((cpu1 - cpu0)))" "$TCK" "$rc" "$d0" "$d1" "$after" "$records" >>"$ROWS" <<'PY'
import json, sys
rep, samples, server, link, run, idle, hwm, ticks, tck, rc, d0, d1, after, records = sys.argv[1:]
drops = [int(b) - int(a) for a, b in zip(d0.split(), d1.split())]
try:
    s = json.load(open(rep))["summary"]
except Exception as e:  # the simulator died or was killed
    s = {"boards": 0, "booted": 0, "failed": -1, "p50_ms": 0, "p99_ms": 0, "wall_ms": 0,
         "tftp_timeouts": -1, "dhcp_retransmits": -1, "bytes": 0}
blocks, dups = s.get("tftp_blocks", 0), s.get("tftp_duplicate_blocks", 0)
dup_pct = 100.0 * dups / blocks if blocks else float("nan")
if s["booted"] == 0:  # no boot times to take percentiles of
    s["p50_ms"] = s["p99_ms"] = float("nan")
pts = [tuple(int(x) for x in l.split()) for l in open(samples) if len(l.split()) == 2]
peak_rss = max([p[0] for p in pts] + [int(idle)])
live = max([p[1] for p in pts] + [0])
per_live = (peak_rss - int(idle)) / live if live > 0 else float("nan")
print("\t".join(str(x) for x in [
    server, link, run, s["boards"], s["booted"], s["failed"], round(s["wall_ms"] / 1000, 2),
    round(s["p50_ms"] / 1000, 2), round(s["p99_ms"] / 1000, 2), s["tftp_timeouts"], s["dhcp_retransmits"], int(ticks) / int(tck), int(hwm),
    int(idle), peak_rss, live, round(per_live, 2), s["bytes"], rc] + drops + [blocks, dups, round(dup_pct, 4), int(after),
    int(records) if int(records) >= 0 else float("nan")]))
PY
  tail -1 "$ROWS" | awk -F'\t' '{printf "  %-9s %-6s run %s: %s/%s booted, %s failed, fleet %.1f s, p50 %.2f s, p99 %.2f s, tftp timeouts %s, dhcp retx %s, cpu %.2f s, VmHWM %s KiB, idle %s KiB, live transfers %s, %.1f KiB/live, rcvbuf drops srv/rtr/boards %s/%s/%s, duplicate DATA %s of %s blocks\n", $1, $2, $3, $5, $4, $6, $7, $8, $9, $10, $11, $12, $13, $14, $16, $17, $20, $21, $22, $24, $23}'
}

echo "fleet_compare: $COUNT Pi 4s, $per_board bytes each (make-demo-tree --scale $SCALE), $RUNS run(s) on veth" \
  "$( ((IMPAIR)) && echo "and $IMPAIR_RUNS with $IMPAIR_COUNT boards through pinetboot-impair (1 % loss, 1 ms)")" \
  "$( ((SLOW)) && echo "and $SLOW_RUNS with $SLOW_COUNT slow boards (ACK delay $SLOW_ACK_MS ms)")"
T0=$SECONDS
link_boards veth
for ((r = 1; r <= RUNS; ++r)); do
  for s in $SERVERS; do run_one "$s" veth "$r" "$TIMEOUT" "$COUNT"; done
done
if ((IMPAIR)); then
  link_boards impair
  for ((r = 1; r <= IMPAIR_RUNS; ++r)); do
    for s in $SERVERS; do run_one "$s" impair "$r" "$IMPAIR_TIMEOUT" "$IMPAIR_COUNT"; done
  done
fi
if ((SLOW)); then
  link_boards veth
  for ((r = 1; r <= SLOW_RUNS; ++r)); do
    for s in $SERVERS; do run_one "$s" slow "$r" "$TIMEOUT" "$SLOW_COUNT"; done
  done
fi
FLOORS=$W/floor.tsv
: >"$FLOORS"
if ((FLOOR)); then
  [[ -x $FLOOR_BIN ]] || { echo "fleet_compare: FLOOR=1 needs $FLOOR_BIN (cmake --build ... --target pinetboot-udp-floor)" >&2; exit 1; }
  link_boards veth
  # As many exchanges per flow as a board got DATA blocks on the plain link (else the file sizes).
  rounds=$(awk -F'\t' '$2 == "veth" && $4 > 0 && $23 > 0 {print int($23 / $4); exit}' "$ROWS")
  [[ -n $rounds ]] || rounds=$((per_board / 1024 + 7))
  for mode in per-flow single; do
    ip netns exec "$srv" "$FLOOR_BIN" server --bind 10.77.0.1 --port 6969 --mode "$mode" --idle-ms 2000 \
      --duration $((TIMEOUT + 60)) >"$W/floor.$mode.srv" 2>&1 &
    fpid=$!
    pids+=("$fpid")
    for _ in $(seq 1 50); do ip netns exec "$srv" ss -Hlun 2>/dev/null | grep -q ':6969 ' && break; sleep 0.1; done
    ip netns exec "$brd" "$FLOOR_BIN" client --server 10.77.0.1 --port 6969 --flows "$COUNT" --rounds "$rounds" \
      $( ((FROM_LEASE)) && echo --source-base 10.77.1.1) --timeout "$TIMEOUT" >"$W/floor.$mode.cli" 2>&1 || true
    wait "$fpid" || true
    srv_line=$(cat "$W/floor.$mode.srv") cli_line=$(cat "$W/floor.$mode.cli")
    echo "  floor     $mode: server $srv_line; client $cli_line"
    printf '%s\t%s\t%s\t%s\n' "$mode" "$rounds" "$srv_line" "$cli_line" >>"$FLOORS"
  done
fi
echo "fleet_compare: measured in $((SECONDS - T0)) s"

python3 - "$ROWS" "$COUNT" "$per_board" "$SCALE" "${OUT:-}" "$FLOORS" <<'PY'
import statistics, sys
rows_file, count, per_board, scale, out, floors = sys.argv[1:]
cols = ["server", "link", "run", "boards", "booted", "failed", "wall", "p50", "p99", "tftp_to", "dhcp_rx",
        "cpu", "hwm", "idle", "peak", "live", "per_live", "bytes", "rc", "drop_srv", "drop_rtr", "drop_brd",
        "blocks", "dups", "dup_pct", "after", "records"]
rows = [dict(zip(cols, l.rstrip("\n").split("\t"))) for l in open(rows_file) if l.strip()]
for r in rows:  # server CPU per DATA block the boards received, in microseconds
    b = float(r["blocks"])
    r["us_block"] = str(float(r["cpu"]) * 1e6 / b) if b > 0 else "nan"
def med(server, link, key):
    v = [float(r[key]) for r in rows if r["server"] == server and r["link"] == link]
    v = [x for x in v if x == x]  # drop NaN
    return statistics.median(v) if v else float("nan")
lines = []
for link in ("veth", "impair", "slow"):
    if not any(r["link"] == link for r in rows):
        continue
    servers = [x for x in ("pinetboot", "before", "dnsmasq") if any(r["server"] == x for r in rows)]
    # Ratios: pinetboot against each other server.
    others = [x for x in servers if x != "pinetboot"] if "pinetboot" in servers else []
    n = max(sum(1 for r in rows if r["link"] == link and r["server"] == x) for x in servers)
    boards = max(int(r["boards"]) for r in rows if r["link"] == link)
    lines.append(f"\n{link}: {boards} Pi 4s x {int(per_board):,} bytes (scale {scale}), median of {n} run(s)\n")
    names = {"pinetboot": "pinetboot-server", "before": "pinetboot-server (BEFORE)", "dnsmasq": "dnsmasq"}
    lines.append("| metric | " + " | ".join(names[x] for x in servers) + "".join(f" | pinetboot / {x}" for x in others) + " |")
    lines.append("|---|" + "---:|" * (len(servers) + len(others)))
    spec = [("fleet booted (s)", "wall", "{:.1f}"), ("p50 per board (s)", "p50", "{:.2f}"),
            ("p99 per board (s)", "p99", "{:.2f}"), ("boards booted", "booted", "{:.0f}"),
            ("boards failed", "failed", "{:.0f}"), ("client TFTP timeouts", "tftp_to", "{:.0f}"),
            ("client DHCP retransmissions", "dhcp_rx", "{:.0f}"), ("server CPU (s)", "cpu", "{:.2f}"),
            ("server CPU per DATA block (us)", "us_block", "{:.2f}"),
            ("server peak RSS, VmHWM (KiB)", "hwm", "{:.0f}"), ("server idle RSS (KiB)", "idle", "{:.0f}"),
            ("peak live transfers", "live", "{:.0f}"), ("RSS per live transfer (KiB)", "per_live", "{:.1f}"),
            ("UDP rcvbuf drops: server ns", "drop_srv", "{:.0f}"), ("UDP rcvbuf drops: router ns", "drop_rtr", "{:.0f}"),
            ("UDP rcvbuf drops: boards ns", "drop_brd", "{:.0f}"),
            ("DATA blocks received", "blocks", "{:.0f}"), ("duplicate DATA blocks", "dups", "{:.0f}"),
            ("duplicate DATA (%)", "dup_pct", "{:.3f}"),
            ("server RSS after the boot (KiB)", "after", "{:.0f}"), ("per-board records (/status)", "records", "{:.0f}")]
    for name, key, f in spec:
        v = {x: med(x, link, key) for x in servers}
        def ratio(a, b):
            return f"{a / b:.2f}" if b == b and a == a and b != 0 else "-"
        lines.append(f"| {name} | " + " | ".join(f.format(v[x]) for x in servers) +
                     "".join(f" | {ratio(v['pinetboot'], v[x])}" for x in others) + " |")
for l in open(floors):
    mode, rounds, srv_line, cli_line = l.rstrip("\n").split("\t")
    kv = dict(x.split("=", 1) for x in (srv_line + " " + cli_line).split() if "=" in x)
    how = "a socket per flow, one epoll set" if mode == "per-flow" else "one socket, recvmmsg/sendmmsg"
    lines.append(f"\nfloor ({how}): pinetboot-udp-floor answered {kv.get('flows', '?')} lockstep flows x {rounds} "
                 f"exchanges on the plain link with 1028-byte datagrams from memory: "
                 f"{kv.get('us_per_exchange', '?')} us of server CPU per exchange "
                 f"({kv.get('exchanges', '?')} exchanges, {kv.get('cpu_s', '?')} s CPU, {kv.get('wall_s', '?')} s wall, "
                 f"{kv.get('resent', '?')} ACKs resent)")
lines.append("\nper run (server link run: booted/boards failed fleet_s p50 p99 tftp_timeouts dhcp_retx cpu_s hwm_KiB "
             "idle_KiB peak_KiB live KiB/live sim_exit drops_srv/rtr/boards dup_blocks/blocks):")
for r in rows:
    lines.append("    " + " ".join(r[c] for c in ["server", "link", "run"]) + f": {r['booted']}/{r['boards']} " +
                 " ".join(r[c] for c in ["failed", "wall", "p50", "p99", "tftp_to", "dhcp_rx", "cpu", "hwm", "idle",
                                         "peak", "live", "per_live", "rc"]) + f" {r['drop_srv']}/{r['drop_rtr']}/{r['drop_brd']} {r['dups']}/{r['blocks']}")
text = "\n".join(lines) + "\n"
print(text)
if out:
    open(out, "w").write(text)
PY
