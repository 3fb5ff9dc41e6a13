#!/usr/bin/env bash
# pinetboot-server's logs and metrics as machines read them (issues 16 and 17), in namespaces:
#  - full DHCP mode with server.log_format = "json": two simulated Pi 4 boards boot (DHCP from
#    the pool, TFTP from their leased addresses), a reload fails, a reload succeeds, SIGTERM;
#    then every line of the log must be one JSON object with an RFC 3339 time (milliseconds,
#    UTC offset), a level, an event, and typed fields (numbers and booleans unquoted); the first
#    is the start-up summary;
#  - /metrics before and after the boots passes `promtool check metrics`, every family has
#    # HELP and # TYPE, pinetboot_build_info is there, and the per-subnet pool gauges count
#    what the boards leased (61 addresses, one reserved for a host that never came);
#  - the same server in proxy mode with text logs: /metrics passes promtool and has no pool
#    gauges, each log line starts with the same RFC 3339 time.
source "$(dirname "$0")/lib/netns.sh"
source "$(dirname "$0")/lib/promtool.sh"
pnb_require_netns
command -v python3 >/dev/null || { echo "SKIP: needs python3"; exit 77; }
command -v curl >/dev/null || { echo "SKIP: needs curl"; exit 77; }
pnb_promtool
B=${PINETBOOT_BUILD_DIR:?PINETBOOT_BUILD_DIR not set}
SERVER=$B/examples/server/pinetboot-server
SIM=$B/examples/simulate/pinetboot-simulate
MKTREE=$(dirname "$0")/../../examples/simulate/make-demo-tree.sh
for x in "$SERVER" "$SIM"; do [[ -x $x ]] || { echo "FAIL: missing $x (build it first)"; exit 1; }; done
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=0}
W=$PNB_WORK
LOG=$W/server.log
fail() {
  echo "FAIL: $*"
  for f in "$W"/*.log; do
    [[ -f $f ]] || continue
    echo "---- $f (last 30 lines)"
    tail -n 30 "$f"
  done
  exit 1
}
scrape() { pnb_in_srv curl -sS -m 5 http://127.0.0.1:9110/metrics >"$1"; }
# check_metrics FILE: promtool's lint, plus # HELP and # TYPE for every family that has samples.
check_metrics() {
  pnb_check_metrics "$1" || return 1
  python3 - "$1" <<'PY'
import re, sys
helps, types, families = set(), {}, set()
for line in open(sys.argv[1]):
    line = line.rstrip("\n")
    if m := re.match(r"# HELP (\S+) \S", line):
        helps.add(m.group(1))
    elif m := re.match(r"# TYPE (\S+) (counter|gauge|histogram|summary|untyped)$", line):
        types[m.group(1)] = m.group(2)
    elif line and not line.startswith("#"):
        name = re.match(r"[a-zA-Z_:][a-zA-Z0-9_:]*", line).group(0)
        base = re.sub(r"_(bucket|sum|count)$", "", name)
        families.add(base if types.get(base) == "histogram" else name)
bad = sorted(f for f in families if f not in helps or f not in types)
assert not bad, f"families without # HELP or # TYPE: {bad}"
untyped = sorted(f for f, t in types.items() if t == "untyped")
assert not untyped, f"untyped: {untyped}"
PY
}
# metric FILE SERIES: the value of one series (exact name and labels), or fail.
metric() {
  local v
  v=$(awk -v s="$2" '$1 == s { print $2 }' "$1")
  [[ -n $v ]] || fail "no series $2 in $1: $(grep -v '^#' "$1" | head -40)"
  echo "$v"
}

pnb_setup_veth
# The pool is local to the client namespace, so each board can send from its own lease.
ip -n "$PNB_CLI" route add local 10.77.0.128/25 dev lo
bash "$MKTREE" --scale 16 "$W/tftp" 10000000 10000001 >/dev/null
chmod -R a+rX "$W/tftp"
cat >"$W/full.toml" <<EOT
[server]
interface = "veth0"
user = ""
metrics = "127.0.0.1:9110"
log_format = "json"
[dhcp]
mode = "full"
lease_file = "$W/leases.journal"
[[dhcp.subnet]]
network = "10.77.0.0/24"
range = ["10.77.0.130", "10.77.0.190"]
routers = ["10.77.0.1"]
[[dhcp.host]]
mac = "02:50:4e:42:00:99"
address = "10.77.0.150"
hostname = "never-boots"
[tftp]
root = "$W/tftp"
EOT
cp "$W/full.toml" "$W/server.toml"
pnb_bg ip netns exec "$PNB_SRV" "$SERVER" --config "$W/server.toml" >"$LOG" 2>"$W/server.err"
SRV_PID=${PNB_PIDS[-1]}
wait_for 10 grep -q '"event":"start"' "$LOG" || fail "server did not start"

# Before any board: the whole pool is free but the reserved address.
wait_for 5 scrape "$W/metrics0.txt" || fail "no /metrics"
check_metrics "$W/metrics0.txt" || fail "/metrics before the boots"
S='subnet="10.77.0.0/24"'
[[ $(metric "$W/metrics0.txt" "pinetboot_dhcp_pool_size{$S}") == 61 ]] || fail "pool size"
[[ $(metric "$W/metrics0.txt" "pinetboot_dhcp_pool_leased{$S}") == 0 ]] || fail "leased before the boots"
[[ $(metric "$W/metrics0.txt" "pinetboot_dhcp_pool_free{$S}") == 60 ]] || fail "free before the boots"
[[ $(metric "$W/metrics0.txt" "pinetboot_dhcp_pool_held{$S,reason=\"reserved\"}") == 1 ]] || fail "reserved"
grep -Eq '^pinetboot_build_info\{version="[^"]+",git="[^"]*",compiler="(gcc|clang) [0-9.]+"\} 1$' "$W/metrics0.txt" ||
  fail "build info: $(grep build_info "$W/metrics0.txt")"
grep -q '^# HELP pinetboot_reload_failures_total ' "$W/metrics0.txt" || fail "reload failures without help"

# Two Pi 4 boards boot from the pool.
pnb_in_cli timeout 60 "$SIM" --interface veth0 --count 2 --generation pi4 --timeout 40 --dhcp-retry-ms 1000 \
  --tftp-from-lease --json >"$W/report.json" 2>"$W/simulate.log" || fail "pinetboot-simulate exited $?"
python3 - "$W/report.json" <<'PY' || fail "simulator report"
import json, sys
r = json.load(open(sys.argv[1]))
assert [b["booted"] for b in r["boards"]] == [True, True], r
PY
wait_for 5 grep -q '"event":"booted".*"board":"dc:a6:32:00:00:01"' "$LOG" || fail "no booted record for board 1"
scrape "$W/metrics1.txt" || fail "no /metrics after the boots"
check_metrics "$W/metrics1.txt" || fail "/metrics after the boots"
[[ $(metric "$W/metrics1.txt" "pinetboot_dhcp_pool_leased{$S}") == 2 ]] || fail "leased after the boots: $(grep pool "$W/metrics1.txt")"
[[ $(metric "$W/metrics1.txt" "pinetboot_dhcp_pool_free{$S}") == 58 ]] || fail "free after the boots: $(grep pool "$W/metrics1.txt")"
[[ $(metric "$W/metrics1.txt" "pinetboot_boot_seconds_count{class=\"raspberry_pi/pi4\"}") == 2 ]] || fail "boot histogram"

# A reload that fails (an error record), then one that works (an info record).
printf '[server]\nlog_format = "json"\nbogus = 1\n' >"$W/server.toml"
kill -HUP "$SRV_PID"
wait_for 10 grep -q '"level":"error","event":"reload"' "$LOG" || fail "no error record for the failed reload"
cp "$W/full.toml" "$W/server.toml"
kill -HUP "$SRV_PID"
wait_for 10 grep -q '"level":"info","event":"reload"' "$LOG" || fail "no record for the reload"
scrape "$W/metrics2.txt" || fail "no /metrics after the reloads"
check_metrics "$W/metrics2.txt" || fail "/metrics after the reloads"
[[ $(metric "$W/metrics2.txt" pinetboot_reloads_total) == 2 ]] || fail "reloads"
[[ $(metric "$W/metrics2.txt" pinetboot_reload_failures_total) == 1 ]] || fail "reload failures"
kill -TERM "$SRV_PID"
wait "$SRV_PID" || fail "server exited with status $?"
[[ ! -s $W/server.err ]] || fail "stderr: $(cat "$W/server.err")"

python3 - "$LOG" "$W/tftp/10000000/kernel8.img" <<'PY' || fail "JSON log"
import json, os, re, sys
log, kernel = sys.argv[1], sys.argv[2]
TIME = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}[+-]\d{2}:\d{2}$")
def integer(v): return isinstance(v, int) and not isinstance(v, bool)
def number(v): return isinstance(v, (int, float)) and not isinstance(v, bool)
records = []
for n, line in enumerate(open(log), 1):
    try:
        r = json.loads(line)
    except ValueError as e:
        sys.exit(f"line {n} is not JSON ({e}): {line!r}")
    assert isinstance(r, dict), f"line {n}: {line!r}"
    assert list(r)[:3] == ["time", "level", "event"], f"line {n}: {list(r)}"
    assert TIME.match(r["time"]), f"line {n}: time {r['time']!r}"
    assert r["level"] in ("info", "warning", "error"), f"line {n}: level {r['level']!r}"
    records.append(r)
assert len(records) >= 10, f"only {len(records)} records"
start = records[0]
assert start["event"] == "start" and start["level"] == "info", start
assert start["dhcp"] == "full" and start["tftp"] is True and start["interface"] == "veth0", start
for k in ("subnets", "hosts", "dhcp_port", "pxe_port", "tftp_port", "max_blksize", "max_windowsize", "max_transfers"):
    assert integer(start[k]), f"start: {k} = {start[k]!r}"
assert start["subnets"] == 1 and start["hosts"] == 1 and start["dhcp_port"] == 67 and start["tftp_port"] == 69, start
assert start["metrics"] == "127.0.0.1:9110" and start["lease_file"].endswith("leases.journal"), start
assert isinstance(start["version"], str) and start["version"] and isinstance(start["git"], str), start
assert sum(r["event"] == "start" for r in records) == 1, "more than one start record"
by = {}
for r in records:
    by.setdefault(r["event"], []).append(r)
for r in by["dhcp"]:
    assert integer(r["delay_ms"]) and integer(r["port"]) and isinstance(r["sent"], bool), r
offers = [r for r in by["dhcp"] if r["request"] == "DISCOVER" and r["sent"]]
assert len(offers) >= 2 and all(r["address"].startswith("10.77.0.") for r in offers), by["dhcp"]
for r in by["tftp"]:
    assert integer(r["bytes"]) and integer(r["retransmits"]) and integer(r["blksize"]), r
    assert number(r["seconds"]) and isinstance(r["write"], bool), r
    assert r["level"] == ("warning" if r["outcome"].startswith("failed") else "info"), r
assert any(r["outcome"] == "not found" for r in by["tftp"]), "no probe for a missing file"
k = [r for r in by["tftp"] if r["file"] == "10000000/kernel8.img" and r["outcome"] == "sent"]
assert k and k[0]["bytes"] == os.path.getsize(kernel), (k, os.path.getsize(kernel))
assert len(by["booted"]) == 2 and all(number(r["seconds"]) and r["seconds"] > 0 for r in by["booted"]), by["booted"]
reloads = by["reload"]
assert [r["level"] for r in reloads] == ["error", "info"], reloads
assert "bogus" in reloads[0]["error"], reloads[0]
assert integer(reloads[1]["hosts"]) and reloads[1]["hosts"] == 1 and integer(reloads[1]["transfers_kept"]), reloads[1]
stop = by["stop"][0]
assert stop["signal"] == 15 and integer(stop["transfers"]), stop
assert records[-1]["event"] == "exit", records[-1]
print(f"{len(records)} JSON records checked: " + ", ".join(f"{k} {len(v)}" for k, v in sorted(by.items())))
PY

# Proxy mode, text logs: no pools to report; the log lines carry the same time.
cat >"$W/proxy.toml" <<EOT
[server]
interface = "veth0"
user = ""
metrics = "127.0.0.1:9110"
[dhcp]
mode = "proxy"
[tftp]
root = "$W/tftp"
EOT
pnb_bg ip netns exec "$PNB_SRV" "$SERVER" --config "$W/proxy.toml" >"$W/proxy.log" 2>&1
SRV_PID=${PNB_PIDS[-1]}
wait_for 10 grep -q 'pinetboot-server started' "$W/proxy.log" || fail "proxy server did not start"
# A Pi 4 DISCOVER gets its proxy offer (no router here, so the board gets no further).
pnb_in_cli timeout 20 "$SIM" --interface veth0 --count 1 --generation pi4 --timeout 3 --dhcp-retry-ms 1000 \
  >"$W/simulate-proxy.log" 2>&1 || true
wait_for 5 grep -q 'dhcp DISCOVER -> proxy offer' "$W/proxy.log" || fail "no proxy offer"
scrape "$W/metrics3.txt" || fail "no /metrics in proxy mode"
check_metrics "$W/metrics3.txt" || fail "/metrics in proxy mode"
! grep -q '^pinetboot_dhcp_pool' "$W/metrics3.txt" || fail "pool gauges in proxy mode"
grep -q '^pinetboot_build_info{' "$W/metrics3.txt" || fail "no build info in proxy mode"
grep -q '^pinetboot_dhcp_replies_total{type="OFFER"} [1-9]' "$W/metrics3.txt" || fail "no proxy offers counted"
kill -TERM "$SRV_PID"
wait "$SRV_PID" || fail "proxy server exited with status $?"
# Text: every line of an event starts with the time; the start summary's lines follow its first.
python3 - "$W/proxy.log" <<'PY' || fail "text log"
import re, sys
lines = open(sys.argv[1]).read().splitlines()
TIME = r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}[+-]\d{2}:\d{2} "
assert re.match(TIME + r"pinetboot-server started \(", lines[0]), lines[0]
summary = ("interface: ", "address: ", "dhcp: ", "tftp: ", "metrics: ")
for l in lines[1:]:
    assert re.match(TIME, l) or l.startswith(summary), f"line without a time: {l!r}"
assert any(re.match(TIME + r"board dc:a6:32:00:00:00 \(raspberry_pi/pi4\): dhcp DISCOVER -> proxy offer", l) for l in lines), lines
assert re.match(TIME + "pinetboot-server stopped$", lines[-1]), lines[-1]
PY
echo "server_observability: ok"
