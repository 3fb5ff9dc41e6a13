#!/usr/bin/env bash
# pinetboot-server's fleet view, end to end in namespaces of its own (issue 17):
#  - full mode, a provision registry of five boards; pinetboot-simulate boots four of them
#    (Pi 4, Pi 3, Pi 5, Pi 4), each from its own leased address (--tftp-from-lease, the pool is
#    a local route in the client namespace); the fourth board's boot tree lacks its device
#    tree; the fifth never powers on;
#  - /status is checked field by field: kernel / failed (the reason names the DTB) / unseen,
#    generations from the boot-tree markers, times; then the first board's OS asks for its lease
#    (busybox udhcpc with its MAC): up; then an upgrade (registry + marker to generation 4,
#    SIGHUP): stale, "reboot to run generation 4";
#  - `pinetboot-server status` prints the table; /metrics has the per-board gauges;
#  - the page / in headless Chromium (when installed) shows each board's state after polling;
#    a screenshot is kept in the build tree (artifacts/server_status.png).
source "$(dirname "$0")/lib/netns.sh"
source "$(dirname "$0")/lib/promtool.sh"
pnb_require_netns
B=${PINETBOOT_BUILD_DIR:?PINETBOOT_BUILD_DIR not set}
SERVER=$B/examples/server/pinetboot-server
SIM=$B/examples/simulate/pinetboot-simulate
MKTREE=$(dirname "$0")/../../examples/simulate/make-demo-tree.sh
for x in "$SERVER" "$SIM"; do [[ -x $x ]] || { echo "FAIL: missing $x (build it first)"; exit 1; }; done
command -v python3 >/dev/null || { echo "SKIP: needs python3"; exit 77; }
command -v curl >/dev/null || { echo "SKIP: needs curl"; exit 77; }
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=0}
W=$PNB_WORK
LOG=$W/server.log
fail() {
  echo "FAIL: $*"
  for f in "$W"/*.log "$W"/status.json; do
    [[ -f $f ]] || continue
    echo "---- $f (last 40 lines)"
    tail -n 40 "$f"
  done
  exit 1
}
status() { pnb_in_srv curl -sS -m 5 http://127.0.0.1:9110/status; }

pnb_setup_veth
# The DHCP pool is local to the client namespace, so each simulated board can send from its own lease.
ip -n "$PNB_CLI" route add local 10.77.0.128/25 dev lo

# Boot trees: one per serial (hard links to the demo tree), each with the marker of generation 3.
serials=(10000000 10000001 10000002 10000003)
bash "$MKTREE" --scale 16 "$W/tftp" "${serials[@]}" >/dev/null
rm "$W/tftp/10000003/bcm2711-rpi-4-b.dtb"
for s in "${serials[@]}"; do
  printf 'image=raspios\ngen=3\nmodel=shared\ntree=state\n' >"$W/tftp/$s/.pinetboot-board"
done
chmod -R a+rX "$W/tftp"
write_registry() {  # write_registry GEN_OF_PI_A
  {
    echo "client folder=10000000 serial=10000000 mac=dc:a6:32:00:00:00 hostname=pi-a ip=10.77.0.200 server=10.77.0.1 image=raspios gen=$1 prev=3 model=shared"
    echo "client folder=10000001 serial=10000001 mac=b8:27:eb:00:00:01 hostname=pi-b ip=10.77.0.201 server=10.77.0.1 image=raspios gen=3 model=shared"
    echo "client folder=10000002 serial=10000002 mac=2c:cf:67:00:00:02 hostname=pi-c ip=10.77.0.202 server=10.77.0.1 image=raspios gen=3 model=shared"
    echo "client folder=10000003 serial=10000003 mac=dc:a6:32:00:00:03 hostname=pi-d ip=10.77.0.203 server=10.77.0.1 image=raspios gen=3 model=shared"
    echo "client folder=10000099 serial=10000099 mac=dc:a6:32:00:00:99 hostname=pi-off ip=10.77.0.209 server=10.77.0.1 image=raspios gen=3 model=shared"
  } >"$W/clients.conf.tmp"
  mv "$W/clients.conf.tmp" "$W/clients.conf"
}
write_registry 3
cat >"$W/server.toml" <<EOT
[server]
interface = "veth0"
user = ""
metrics = "127.0.0.1:9110"
stuck_after = 45
[dhcp]
mode = "full"
lease_file = "$W/leases.journal"
[[dhcp.subnet]]
network = "10.77.0.0/24"
range = ["10.77.0.130", "10.77.0.190"]
routers = ["10.77.0.1"]
[tftp]
root = "$W/tftp"
max_per_client = 4096
[provision]
registry = "$W/clients.conf"
EOT
"$SERVER" --config "$W/server.toml" --check-config >"$W/check.log" 2>&1 || fail "config rejected: $(cat "$W/check.log")"
pnb_bg ip netns exec "$PNB_SRV" "$SERVER" --config "$W/server.toml" >"$LOG" 2>&1
SRV_PID=${PNB_PIDS[-1]}
wait_for 10 grep -q 'pinetboot-server started' "$LOG" || fail "server did not start"

# Before any boot: five provisioned boards, unseen.
status >"$W/status.json" || fail "no /status"
python3 - "$W/status.json" <<'PY' || fail "initial /status"
import json, sys
d = json.load(open(sys.argv[1]))
assert d["schema"] == 1 and d["provisioned"] == 5 and d["unknown"] == 0, d
assert [r["name"] for r in d["records"]] == ["pi-a", "pi-b", "pi-c", "pi-d", "pi-off"], d
assert all(r["state"] == "unseen" for r in d["records"]), d
assert d["by_state"]["unseen"] == 5, d
assert d["stuck_after_ms"] == 45000, d  # server.stuck_after
PY

# Four boards boot; the fourth fails (its DTB is missing), so the simulator exits 1.
set +e
pnb_in_cli timeout 60 "$SIM" --interface veth0 --count 4 --generation mix --timeout 40 --dhcp-retry-ms 1000 \
  --tftp-from-lease --json >"$W/report.json" 2>"$W/simulate.log"
rc=$?
set -e
((rc == 1)) || fail "pinetboot-simulate exited $rc, expected 1 (one board cannot boot)"
python3 - "$W/report.json" <<'PY' || fail "simulator report"
import json, sys
r = json.load(open(sys.argv[1]))
booted = [b["booted"] for b in r["boards"]]
assert booted == [True, True, True, False], booted
addresses = [b["dhcp"]["address"] for b in r["boards"]]
assert addresses == ["10.77.0.200", "10.77.0.201", "10.77.0.202", "10.77.0.203"], addresses
PY
# Each board's transfers are named by its MAC in the log (they came from its own address).
grep -q 'board dc:a6:32:00:00:00: tftp 10000000/kernel8.img sent' "$LOG" || fail "pi-a's kernel not tied to its MAC"
grep -q 'board b8:27:eb:00:00:01 .*booted in' "$LOG" || fail "no time to boot for the Pi 3"

check_status() {  # check_status PHASE: /status against what PHASE expects (python below)
  status >"$W/status.json" || return 1
  python3 - "$W/status.json" "$1" <<'PY'
import json, sys
d = json.load(open(sys.argv[1]))
phase = sys.argv[2]
by = {r["name"]: r for r in d["records"]}
errors = []
def check(cond, msg):
    if not cond:
        errors.append(msg)
check(d["provisioned"] == 5 and d["unknown"] == 0, f"counts {d['provisioned']} {d['unknown']}")
models = {"pi-a": "pi4", "pi-b": "pi3", "pi-c": "pi5", "pi-d": "pi4"}
for name in ["pi-a", "pi-b", "pi-c"]:
    r = by[name]
    want = "up" if name == "pi-a" and phase != "booted" else "kernel"
    check(r["state"] == want, f"{name}: state {r['state']} ({r['detail']}), want {want}")
    check(r["model"] == models[name], f"{name}: model {r['model']}")
    check(r["failure"] == "" and r["files_failed"] == 0, f"{name}: failure {r['failure']!r}")
    check(r["booted_generation"] == 3, f"{name}: booted_generation {r['booted_generation']}")
    check(isinstance(r["to_kernel_ms"], int) and 0 < r["to_kernel_ms"] < 40000, f"{name}: to_kernel_ms {r['to_kernel_ms']}")
    check(r["last_boot_duration_ms"] == r["to_kernel_ms"], f"{name}: last boot duration {r['last_boot_duration_ms']}")
    check(r["last_boot_ms"] is not None and abs(r["last_boot_ms"] - d["now_ms"]) < 120000, f"{name}: last_boot_ms {r['last_boot_ms']} now {d['now_ms']}")
    check(r["boots"] == 1 and r["files"] >= 8 and r["bytes"] > 100000, f"{name}: counters {r['boots']} {r['files']} {r['bytes']}")
    check(r["address"] == {"pi-a": "10.77.0.200", "pi-b": "10.77.0.201", "pi-c": "10.77.0.202"}[name], f"{name}: address {r['address']}")
    check(r["at"].endswith(("kernel8.img", "kernel_2712.img")) or (name == "pi-a" and phase != "booted"), f"{name}: at {r['at']}")
d_ = by["pi-d"]
check(d_["state"] == "failed", f"pi-d: state {d_['state']}")
check(d_["failure"] == "asked for 10000003/bcm2711-rpi-4-b.dtb: not in its boot tree", f"pi-d: failure {d_['failure']!r}")
check(d_["detail"] == d_["failure"] and d_["at"] == "10000003/bcm2711-rpi-4-b.dtb", f"pi-d: detail {d_['detail']!r} at {d_['at']!r}")
check(d_["to_kernel_ms"] is None and d_["last_boot_ms"] is None and d_["booted_generation"] is None, f"pi-d: times {d_}")
check(by["pi-off"]["state"] == "unseen" and by["pi-off"]["last_seen_ms"] is None, f"pi-off: {by['pi-off']}")
a = by["pi-a"]
if phase == "booted":
    check(a["to_os_ms"] is None, f"pi-a: to_os_ms {a['to_os_ms']}")
else:
    check(isinstance(a["to_os_ms"], int) and a["to_os_ms"] >= a["to_kernel_ms"], f"pi-a: to_os_ms {a['to_os_ms']}")
if phase == "upgraded":
    check(a["stale"] is True and a["stale_reason"] == "stale: reboot to run generation 4" and a["assigned_generation"] == 4,
          f"pi-a: stale {a['stale']} {a['stale_reason']!r} {a['assigned_generation']}")
    check(by["pi-b"]["stale"] is False, "pi-b: stale")
else:
    check(a["stale"] is False and a["stale_reason"] == "" and a["assigned_generation"] == 3, f"pi-a: stale {a}")
want_states = {"booted": (3, 0), "up": (2, 1), "upgraded": (2, 1)}[phase]
check(d["by_state"]["kernel"] == want_states[0] and d["by_state"]["up"] == want_states[1] and d["by_state"]["failed"] == 1
      and d["by_state"]["unseen"] == 1, f"by_state {d['by_state']}")
if errors:
    print("\n".join(errors))
    sys.exit(1)
PY
}
# The snapshot is refreshed every 0.5 s: give it a moment, then it must be exactly right.
wait_for 5 check_status booted >/dev/null || { check_status booted || true; fail "/status after the boot"; }

# The first board's OS asks for its lease (busybox udhcpc with the board's MAC).
if command -v busybox >/dev/null; then
  ip -n "$PNB_CLI" link set veth0 address dc:a6:32:00:00:00
  pnb_in_cli timeout 30 busybox udhcpc -i veth0 -n -q -t 5 -T 2 -s /bin/true >"$W/udhcpc.log" 2>&1 ||
    fail "udhcpc: $(cat "$W/udhcpc.log")"
  wait_for 5 check_status up >/dev/null || { check_status up || true; fail "/status after the OS's DHCP"; }
  PHASE=up
else
  echo "note: busybox missing, the OS DHCP step is skipped"
  PHASE=booted
fi

# An upgrade: pi-a's tree and registry move to generation 4; it still runs 3 until it reboots.
printf 'image=raspios\ngen=4\nmodel=shared\ntree=state\n' >"$W/tftp/10000000/.pinetboot-board"
write_registry 4
kill -HUP "$SRV_PID"
wait_for 10 grep -q 'reload: configuration reloaded' "$LOG" || fail "no reload"
if [[ $PHASE == up ]]; then
  wait_for 5 check_status upgraded >/dev/null || { check_status upgraded || true; fail "/status after the upgrade"; }
fi

# The terminal table, from /status.
pnb_in_srv timeout 20 "$SERVER" status --url http://127.0.0.1:9110 >"$W/table.out" 2>&1 || fail "status command: $(cat "$W/table.out")"
grep -Eq '^NAME +MAC +SERIAL +MODEL +STATE +GENERATION +LAST BOOT +DURATION +DETAIL$' "$W/table.out" || fail "table header: $(cat "$W/table.out")"
grep -Eq '^pi-d +dc:a6:32:00:00:03 +10000003 +pi4 +failed .*asked for 10000003/bcm2711-rpi-4-b.dtb: not in its boot tree$' "$W/table.out" ||
  fail "table pi-d: $(cat "$W/table.out")"
grep -Eq '^pi-b +b8:27:eb:00:00:01 +10000001 +pi3 +kernel +raspios 3 +[0-9-]+ [0-9:]+ +[0-9.]+ s' "$W/table.out" || fail "table pi-b: $(cat "$W/table.out")"
grep -Eq '^pi-off +dc:a6:32:00:00:99 +10000099 +- +unseen ' "$W/table.out" || fail "table pi-off: $(cat "$W/table.out")"
if [[ $PHASE == up ]]; then
  grep -Eq '^pi-a +.* up +raspios 3 \(stale: reboot to run generation 4\)' "$W/table.out" || fail "table pi-a: $(cat "$W/table.out")"
fi
pnb_in_srv timeout 20 "$SERVER" status --json --url http://127.0.0.1:9110 | python3 -c 'import json,sys; d=json.load(sys.stdin); assert d["schema"]==1' ||
  fail "status --json"
set +e
pnb_in_srv timeout 20 "$SERVER" status --url http://127.0.0.1:9 >/dev/null 2>"$W/refused.out"
rc=$?
set -e
((rc == 1)) || fail "status against nothing exited $rc"

# Metrics: boards by state, per-board last boot; Prometheus's lint passes (full mode).
pnb_in_srv curl -sS -m 5 http://127.0.0.1:9110/metrics >"$W/metrics.txt" || fail "no /metrics"
if pnb_find_promtool; then
  pnb_check_metrics "$W/metrics.txt" || fail "promtool check metrics"
else
  echo "note: $PNB_PROMTOOL_WHY; /metrics not linted"
fi
# Four boards leased from the registry's reservations (.200-.203), outside the pool .130-.190.
grep -q '^pinetboot_dhcp_pool_size{subnet="10.77.0.0/24"} 61$' "$W/metrics.txt" || fail "pool: $(grep pool "$W/metrics.txt")"
grep -q '^pinetboot_boards{state="failed"} 1$' "$W/metrics.txt" || fail "metrics: $(grep boards "$W/metrics.txt")"
grep -q '^pinetboot_boards{state="unseen"} 1$' "$W/metrics.txt" || fail "metrics: $(grep boards "$W/metrics.txt")"
grep -Eq '^pinetboot_board_last_boot_duration_seconds\{board="pi-b",mac="b8:27:eb:00:00:01"\} [0-9]+\.[0-9]{3}$' "$W/metrics.txt" ||
  fail "metrics: $(grep last_boot "$W/metrics.txt")"
! grep -q 'last_boot_duration_seconds{board="pi-d"' "$W/metrics.txt" || fail "pi-d never booted but has a boot duration"
# The boot-time histogram fills: one observation per booted board (each from its own address).
grep -q '^pinetboot_boot_seconds_count{class="raspberry_pi/pi4"} 1$' "$W/metrics.txt" || fail "histogram: $(grep boot_seconds_count "$W/metrics.txt")"
grep -q '^pinetboot_boot_seconds_count{class="raspberry_pi/pi5"} 1$' "$W/metrics.txt" || fail "histogram: $(grep boot_seconds_count "$W/metrics.txt")"

# Slow clients cannot hold the listener: 40 connections that send nothing (more than the 8
# workers and 8 queued); /status still answers: the 2 s read timeout frees them.
pnb_in_srv timeout 30 python3 - <<'PY' || fail "the listener is held by idle connections"
import socket, subprocess, time
idle = []
for _ in range(40):
    c = socket.socket()
    c.settimeout(2)
    try:
        c.connect(("127.0.0.1", 9110))
    except OSError:
        pass
    idle.append(c)
t = time.monotonic()
out = subprocess.run(["curl", "-sS", "-m", "20", "http://127.0.0.1:9110/status"], capture_output=True, text=True)
took = time.monotonic() - t
assert out.returncode == 0 and '"schema":1' in out.stdout, out
assert took < 10, f"/status took {took:.1f} s behind idle connections"
print(f"/status answered in {took:.1f} s behind 40 idle connections")
PY

# The page: served as HTML, and in a real browser it polls /status and shows each board.
pnb_in_srv curl -sS -m 5 -D "$W/page.headers" http://127.0.0.1:9110/ >"$W/page.html" || fail "no page"
grep -qi '^content-type: text/html' "$W/page.headers" || fail "page type: $(cat "$W/page.headers")"
grep -q 'fetch("status"' "$W/page.html" || fail "the page does not poll /status"
! grep -Eq '(src|href)="https?://' "$W/page.html" || fail "the page loads assets from elsewhere"
if command -v chromium >/dev/null; then
  mkdir -p "$B/artifacts"
  chrome=(chromium --headless --no-sandbox --disable-gpu --disable-dev-shm-usage --no-first-run
          --user-data-dir="$W/chromium" --virtual-time-budget=5000)
  HOME=$W pnb_in_srv timeout 60 "${chrome[@]}" --dump-dom http://127.0.0.1:9110/ >"$W/dom.html" 2>"$W/chromium.log" ||
    fail "chromium --dump-dom failed"
  python3 - "$W/dom.html" "$PHASE" <<'PY' || fail "page DOM"
import re, sys
dom, phase = open(sys.argv[1]).read(), sys.argv[2]
want = {"dca632000000": "up" if phase == "up" else "kernel", "b827eb000001": "kernel", "2ccf67000002": "kernel",
        "dca632000003": "failed", "dca632000099": "unseen"}
for mac, state in want.items():
    m = re.search(r'<tr id="board-%s" data-state="([a-z]+)">(.*?)</tr>' % mac, dom, re.S)
    assert m, f"no row for {mac}: {dom[:2000]}"
    assert m.group(1) == state, f"{mac}: {m.group(1)} != {state}"
    assert f'class="state s-{state}">{state}</span>' in m.group(2), f"{mac}: badge: {m.group(2)}"
assert "asked for 10000003/bcm2711-rpi-4-b.dtb: not in its boot tree" in dom, "the failure is not shown"
if phase == "up":
    assert "stale: reboot to run generation 4" in dom, "the stale marker is not shown"
assert re.search(r'data-polled="[1-9]', dom), "the page never polled"
PY
  HOME=$W pnb_in_srv timeout 60 "${chrome[@]}" --window-size=1280,480 --screenshot="$B/artifacts/server_status.png" \
    http://127.0.0.1:9110/ >>"$W/chromium.log" 2>&1 || fail "chromium --screenshot failed"
  [[ -s $B/artifacts/server_status.png ]] || fail "no screenshot"
  echo "screenshot: $B/artifacts/server_status.png"
else
  echo "note: chromium not installed; the page was checked with curl only"
fi
echo "server_status: ok"
