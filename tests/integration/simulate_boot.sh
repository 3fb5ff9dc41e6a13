#!/usr/bin/env bash
# 20 simulated boards (Pi 4, Pi 3, Pi 5 round robin) boot at once against pinetboot-dhcpd in full
# mode and pinetboot-tftpd serving a demo tree (examples/simulate/make-demo-tree.sh), over a veth
# pair between two namespaces. Every board must get an address and its kernel; the JSON report
# is checked file by file: the Pi's probes end "found" (Early terminate), the normally-missing
# files "not_found" (normal), boards with a per-serial folder fetch under <serial>/, the others
# fall back to the root, and every received file has the demo tree's size.
# Mode "lossy" (simulate_boot.sh lossy): the same through pinetboot-impair with 3 % loss per
# crossing: every board must still boot, and the client-side timeouts must show in the report.
source "$(dirname "$0")/lib/netns.sh"
pnb_require_netns
MODE=${1:-clean}

B=${PINETBOOT_BUILD_DIR:?PINETBOOT_BUILD_DIR not set}
SIM=$B/examples/simulate/pinetboot-simulate
DHCPD=$B/examples/dhcpd/pinetboot-dhcpd
TFTPD=$B/examples/tftpd/pinetboot-tftpd
MKTREE=$(dirname "$0")/../../examples/simulate/make-demo-tree.sh
for x in "$SIM" "$DHCPD" "$TFTPD"; do
  [[ -x $x ]] || { echo "FAIL: missing $x (build it first)"; exit 1; }
done
command -v python3 >/dev/null || { echo "SKIP: needs python3"; exit 77; }
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=0}

W=$PNB_WORK
COUNT=${SIM_COUNT:-20}
SCALE=16
SIM_ARGS=(--dhcp-retry-ms 1000)
if [[ $MODE == lossy ]]; then
  COUNT=${SIM_COUNT:-15}
  SCALE=32
  SIM_ARGS=(--dhcp-retry-ms 500 --tftp-rto-ms 250)
  [[ -x $(PINETBOOT_BUILD_DIR=$B pnb_impair_bin) ]] || { echo "FAIL: pinetboot-impair not built"; exit 1; }
fi
fail() {
  echo "FAIL: $*"
  for f in "$W"/*.log; do
    [[ -f $f ]] || continue
    echo "---- $f (last 30 lines)"
    tail -n 30 "$f"
  done
  exit 1
}

# Demo tree: per-serial folders for the even boards (serials 0x10000000 + i); odd ones use the root.
serials=()
for ((i = 0; i < COUNT; i += 2)); do serials+=("$(printf %08x $((0x10000000 + i)))"); done
bash "$MKTREE" --scale "$SCALE" "$W/tftp" "${serials[@]}" >/dev/null
chmod -R a+rX "$W/tftp"

if [[ $MODE == lossy ]]; then
  pnb_setup_impair --loss 0.03 --seed 11
  SRV_IF=taps CLI_IF=tapc
else
  pnb_setup_veth
  SRV_IF=veth0 CLI_IF=veth0
fi
pnb_bg ip netns exec "$PNB_SRV" "$TFTPD" --root "$W/tftp" --interface "$SRV_IF" --user "" \
  --max-per-client 4096 >"$W/tftpd.log" 2>&1
pnb_bg ip netns exec "$PNB_SRV" "$DHCPD" --user "" --mode full --interface "$SRV_IF" \
  --subnet 10.77.0.0/24,range=10.77.0.100-10.77.0.250,router=10.77.0.1 --lease-file "$W/leases" \
  >"$W/dhcpd.log" 2>&1
wait_for 20 grep -q serving "$W/tftpd.log" || fail "pinetboot-tftpd did not start"
wait_for 20 grep -q 'pinetboot-dhcpd: .* mode on' "$W/dhcpd.log" || fail "pinetboot-dhcpd did not start"

set +e
pnb_in_cli timeout 50 "$SIM" --interface "$CLI_IF" --count "$COUNT" --generation mix --timeout 40 \
  "${SIM_ARGS[@]}" --json >"$W/report.json" 2>"$W/simulate.log"
rc=$?
set -e
((rc == 0)) || fail "pinetboot-simulate exited $rc"

python3 - "$W/report.json" "$W/tftp" "$COUNT" "$MODE" <<'PY' || fail "report check failed"
import json, os, sys
report = json.load(open(sys.argv[1]))
root, count, mode = sys.argv[2], int(sys.argv[3]), sys.argv[4]
s = report["summary"]
errors = []
def check(cond, msg):
    if not cond:
        errors.append(msg)
check(s["boards"] == count and s["booted"] == count and s["failed"] == 0, f"summary {s}")
check(0 < s["p50_ms"] <= s["p99_ms"] <= s["max_ms"], f"percentiles {s}")
check(s["not_found"] > 0 and s["probes"] > 0, "no probes / no not-found files counted")
check(s["files_failed"] == 0, f"{s['files_failed']} files failed")
kernels = {"pi3": "kernel8.img", "pi4": "kernel8.img", "pi5": "kernel_2712.img"}
macs = set()
addresses = set()
for b in report["boards"]:
    tag = f"board {b['index']} {b['generation']}"
    gen = b["generation"]
    check(gen == ["pi4", "pi3", "pi5"][b["index"] % 3], f"{tag}: generation order")
    check(b["booted"] and b["error"] == "", f"{tag}: not booted: {b['error']}")
    d = b["dhcp"]
    check(d["state"] == "bound" and d["address"].startswith("10.77.0."), f"{tag}: dhcp {d}")
    check(d["tftp_server"] == "10.77.0.1", f"{tag}: tftp server {d['tftp_server']}")
    check(d["offer_ms"] is not None and d["ack_ms"] is not None and d["offer_ms"] <= d["ack_ms"], f"{tag}: dhcp times")
    # Pi 3 binds on the OFFER and never sends a REQUEST; the ROM and then bootcode.bin each do
    # DHCP (spec 3.1). Pi 4/5: one DORA.
    check(d["requests"] == 0 if gen == "pi3" else d["requests"] >= 1, f"{tag}: requests {d['requests']}")
    if gen == "pi3":
        check(d["stages"] == 2 and d["stage2_ack_ms"] is not None and d["discovers"] >= 2
              and d["ack_ms"] <= d["stage2_ack_ms"] <= b["boot_ms"], f"{tag}: two DHCP stages {d}")
    else:
        check(d["stages"] == 1 and d["stage2_ack_ms"] is None, f"{tag}: one DHCP stage {d}")
    macs.add(b["mac"])
    addresses.add(d["address"])
    serial = b["serial"]
    has_dir = b["index"] % 2 == 0
    files = b["files"]
    names = [f["name"] for f in files]
    prefix = serial + "/" if has_dir else ""
    kernel = [f for f in files if f["role"] == "kernel"]
    check(len(kernel) == 1 and kernel[0]["result"] == "received" and kernel[0]["name"] == prefix + kernels[gen],
          f"{tag}: kernel {kernel}")
    for f in files:
        ftag = f"{tag} {f['name']}"
        if f["result"] == "received":
            size = os.path.getsize(os.path.join(root, f["name"]))
            check(f["bytes"] == size, f"{ftag}: {f['bytes']} bytes, file has {size}")
            check(f["tsize"] in (0, size), f"{ftag}: tsize {f['tsize']}")
        elif f["result"] == "found":
            check(f["kind"] == "probe" and f["bytes"] == 0 and os.path.exists(os.path.join(root, f["name"])),
                  f"{ftag}: probe {f}")
        elif f["result"] == "not_found":
            check(not os.path.exists(os.path.join(root, f["name"])), f"{ftag}: reported missing but exists")
            check(f["role"] in ("normally_missing", "optional") or f["name"].startswith(serial + "/"), f"{ftag}: required file missing")
        else:
            check(False, f"{ftag}: {f['result']} {f['error']}")
    if gen == "pi4":
        # Probe <serial>/start4.elf (found / or missing then start.elf, prefix dropped), then fetch it.
        first = files[0]
        check(first["name"] == serial + "/start4.elf", f"{tag}: first file {first['name']}")
        check(first["result"] == ("found" if has_dir else "not_found"), f"{tag}: start4 probe {first['result']}")
        if has_dir:
            check(first["blksize"] == 1024 and first["tsize"] > 0, f"{tag}: probe options {first}")
        else:
            check(names[1] == serial + "/start.elf" and files[1]["result"] == "not_found", f"{tag}: start.elf probe")
        check(prefix + "start4.elf" in [f["name"] for f in files if f["result"] == "received"], f"{tag}: start4.elf not fetched")
        for f in files:
            if f["result"] == "received":
                check(f["blksize"] == 1024, f"{tag}: {f['name']} blksize {f['blksize']}")
        check(prefix + "pieeprom.sig" in names and prefix + "recover4.elf" in names, f"{tag}: self-update probes")
    elif gen == "pi3":
        check(names[0] == "bootcode.bin" and files[0]["result"] == "received" and files[0]["tsize"] == 0,
              f"{tag}: bootcode.bin {files[0]}")
        check(names[1] == "bootsig.bin" and files[1]["result"] == "not_found", f"{tag}: bootsig.bin")
        check(names[2] == serial + "/start.elf", f"{tag}: prefix probe {names[2]}")
        for f in files:
            if f["result"] == "received":
                check(f["blksize"] == 512, f"{tag}: {f['name']} blksize {f['blksize']}")
    else:
        check(names[0] == serial + "/config.txt", f"{tag}: first {names[0]}")
        if not has_dir:
            check(names[1] == "config.txt" and files[1]["result"] == "received", f"{tag}: config.txt from the root")
        for f in files:
            if f["result"] == "received":
                check(f["blksize"] == 1468, f"{tag}: {f['name']} blksize {f['blksize']}")
timeouts = sum(f["timeouts"] for b in report["boards"] for f in b["files"])
check(timeouts == s["tftp_timeouts"], f"per-file timeouts {timeouts} != summary {s['tftp_timeouts']}")
if mode == "lossy":
    check(s["tftp_timeouts"] > 0 and s["tftp_retransmits"] > 0, f"no client timeouts through a lossy link: {s}")
check(len(macs) == count and len(addresses) == count, f"{len(macs)} MACs, {len(addresses)} addresses for {count} boards")
if errors:
    print("\n".join(errors[:40]))
    sys.exit(1)
print(f"simulate_boot: {count} boards booted, p50 {s['p50_ms']} ms p99 {s['p99_ms']} ms, "
      f"{s['probes']} probes, {s['not_found']} not found (normal), {s['bytes']} bytes")
PY

# The server saw the Pi 3's two DHCP clients: the ROM (constant GUID) and bootcode.bin (serial GUID).
grep -q "mac b8:27:eb:00:00:01 .*class raspberry_pi/pi3_rom: offer" "$W/dhcpd.log" || fail "no Pi 3 ROM DISCOVER in the server log"
grep -q "mac b8:27:eb:00:00:01 .*class raspberry_pi/pi3_bootcode: offer" "$W/dhcpd.log" ||
  fail "no bootcode.bin DISCOVER in the server log"

if [[ $MODE == lossy ]]; then
  echo "simulate_boot lossy: ok"
  exit 0
fi

# The text report agrees.
set +e
pnb_in_cli timeout 50 "$SIM" --interface veth0 --count 3 --generation pi4 --mac-base dc:a6:32:aa:00:00 \
  --timeout 30 -v >"$W/text.out" 2>&1
rc=$?
set -e
((rc == 0)) || fail "text run exited $rc: $(cat "$W/text.out")"
[[ $(grep -c '^board .* booted in' "$W/text.out") == 3 ]] || fail "text report: $(cat "$W/text.out")"
grep -q '^boards 3 booted 3 failed 0' "$W/text.out" || fail "text summary: $(cat "$W/text.out")"
grep -q "mac dc:a6:32:aa:00:0[0-2] .*ack" "$W/dhcpd.log" || fail "--mac-base not used: $(tail -5 "$W/dhcpd.log")"

# A board that cannot boot makes the run fail: the server is gone.
kill "${PNB_PIDS[0]}"
wait "${PNB_PIDS[0]}" 2>/dev/null || true
set +e
pnb_in_cli timeout 30 "$SIM" --interface veth0 --count 1 --generation pi4 --mac-base dc:a6:32:bb:00:00 \
  --timeout 10 --tftp-rto-ms 200 --json >"$W/fail.json" 2>&1
rc=$?
set -e
((rc == 1)) || fail "run without a TFTP server exited $rc, expected 1"
python3 -c 'import json,sys; r=json.load(open(sys.argv[1])); b=r["boards"][0]; assert r["summary"]["failed"]==1 and not b["booted"] and b["files"][0]["result"]=="failed", r' "$W/fail.json" ||
  fail "failure report: $(cat "$W/fail.json")"
echo "simulate_boot: ok"
