#!/usr/bin/env bash
# pinetboot-server's sd_notify protocol, as systemd (Type=notify, WatchdogSec=) would see it,
# with a stand-in NOTIFY_SOCKET in a network namespace of its own:
#  - READY=1 only once the ports are bound; WATCHDOG=1 pings at WATCHDOG_USEC/2;
#  - SIGHUP with a good file: RELOADING=1 with MONOTONIC_USEC, then READY=1;
#  - SIGHUP with a broken file: RELOADING=1, READY=1 with a STATUS naming file:line, and the
#    log line names file:line too (what `systemctl reload` / the journal show);
#  - SIGTERM: STOPPING=1.
source "$(dirname "$0")/lib/netns.sh"
pnb_require_netns
bin=${PINETBOOT_BUILD_DIR:?}/examples/server/pinetboot-server
[[ -x $bin ]] || { echo "FAIL: $bin not built"; exit 1; }
command -v python3 >/dev/null || { echo "SKIP: needs python3"; exit 77; }
fail() { echo "FAIL: $*"; echo "--- notifications"; cat "$PNB_WORK/notify.log" 2>/dev/null; echo "--- server log"; tail -20 "$PNB_WORK/server.log" 2>/dev/null; exit 1; }

pnb_setup_veth
mkdir -p "$PNB_WORK/tftp"
cat > "$PNB_WORK/server.toml" <<EOT
[server]
interface = "veth0"
user = ""
[dhcp]
mode = "off"
[tftp]
root = "$PNB_WORK/tftp"
EOT

# The stand-in for systemd: one line per datagram (newlines inside shown as '|').
sock=$PNB_WORK/notify.sock
python3 -u -c '
import socket, sys
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
s.bind(sys.argv[1])
s.settimeout(60)
with open(sys.argv[2], "a") as out:
    while True:
        try:
            d = s.recv(4096)
        except socket.timeout:
            break
        out.write(d.decode().replace("\n", "|") + "\n"); out.flush()
' "$sock" "$PNB_WORK/notify.log" &
PNB_PIDS+=("$!")
wait_for 5 test -S "$sock" || fail "notify socket not created"

ip netns exec "$PNB_SRV" env NOTIFY_SOCKET="$sock" WATCHDOG_USEC=400000 \
  "$bin" --config "$PNB_WORK/server.toml" > "$PNB_WORK/server.log" 2>&1 &
srv=$!
PNB_PIDS+=("$srv")
wait_for 10 grep -q '^READY=1' "$PNB_WORK/notify.log" || fail "no READY=1"
grep -q 'pinetboot-server started' "$PNB_WORK/server.log" || fail "READY=1 before the start line"
pnb_in_srv ss -lun | grep -q ':69 ' || fail "READY=1 but port 69 not bound"
# 400 ms watchdog: pings every 200 ms.
sleep 1.2
pings=$(grep -c '^WATCHDOG=1$' "$PNB_WORK/notify.log" || true)
((pings >= 3)) || fail "only $pings watchdog pings in 1.2 s with WATCHDOG_USEC=400000"

kill -HUP "$srv"
wait_for 10 grep -q 'reload: configuration reloaded' "$PNB_WORK/server.log" || fail "good reload not logged"
wait_for 5 bash -c "grep -A1 '^RELOADING=1|MONOTONIC_USEC=[0-9][0-9]*$' '$PNB_WORK/notify.log' | grep -q '^READY=1|STATUS=serving (configuration reloaded)'" \
  || fail "good reload: no RELOADING=1 (MONOTONIC_USEC) then READY=1"

printf '[server]\ninterface = "veth0"\nuser = ""\n[dhcp]\nmode = "off"\n[tftp]\nroot = "%s"\nmax_blksize = "big"\n' \
  "$PNB_WORK/tftp" > "$PNB_WORK/server.toml"
kill -HUP "$srv"
wait_for 10 grep -q 'reload FAILED' "$PNB_WORK/server.log" || fail "failed reload not logged"
grep 'reload FAILED' "$PNB_WORK/server.log" | grep -q "server.toml:8: " || fail "failed reload does not name file:line"
wait_for 5 grep -q "^READY=1|STATUS=reload failed.*server.toml:8: " "$PNB_WORK/notify.log" \
  || fail "failed reload: no READY=1 with a STATUS naming file:line"
[[ $(grep -c '^RELOADING=1' "$PNB_WORK/notify.log") -eq 2 ]] || fail "expected two RELOADING=1"

kill -TERM "$srv"
wait_for 15 bash -c "! kill -0 $srv 2>/dev/null" || fail "server did not stop"
grep -q '^STOPPING=1$' "$PNB_WORK/notify.log" || fail "no STOPPING=1"
echo "server_notify: ok"
