#!/usr/bin/env bash
# capture.sh - capture DHCPDISCOVER / DHCPREQUEST messages from real Linux DHCP
# clients and write them as hex fixtures for the DHCP parser tests.
#
# What it does (needs root; Debian packages dnsmasq-base, tcpdump, python3,
# isc-dhcp-client, busybox-static, dhcpcd-base):
#   * creates two private network namespaces, pnb-cap-srv and pnb-cap-cli, joined
#     by a veth pair created directly inside them (10.231.0.1/24 on the server side;
#     the client side has no address until a client gets one). Nothing is ever
#     sent on the host's own interfaces.
#   * runs dnsmasq (DHCP only, --port=0) in the server namespace,
#   * for each client in turn: gives the client veth a fixed MAC, starts tcpdump on
#     the server side of the veth, runs the client in the client namespace (in a
#     private UTS + mount namespace, hostname "pnb-cap-client", tmpfs over the
#     client's state directories) until the server's DHCPACK is seen, then stops it,
#   * extracts the UDP payload (the BOOTP message, op=1) of the client's first
#     DISCOVER and first REQUEST and writes <client>-discover.hex and
#     <client>-request.hex next to this script (or into $OUT_DIR).
#
# Usage:  sudo tests/data/dhcp/capture.sh [client ...]
#   clients: dhclient udhcpc dhcpcd (default: all three)
#   OUT_DIR=dir   write the .hex files there instead of the script's directory
#   PCAP_DIR=dir  also keep the raw captures (<client>.pcap) there
#
# Every wait is bounded; namespaces, processes and temp files are removed on exit.
set -euo pipefail

SCRIPT_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
OUT_DIR=${OUT_DIR:-$SCRIPT_DIR}
PCAP_DIR=${PCAP_DIR:-}

NS_SRV=pnb-cap-srv
NS_CLI=pnb-cap-cli
IF_SRV=pnbcap-s
IF_CLI=pnbcap-c
SRV_ADDR=10.231.0.1
CLI_HOSTNAME=pnb-cap-client
CLIENT_TIMEOUT=40   # seconds one client may take to reach DHCPACK

# Fixed, locally administered MACs, one per client, so fixtures are recognisable.
declare -A MAC=(
    [dhclient]=02:50:4e:42:00:01
    [udhcpc]=02:50:4e:42:00:02
    [dhcpcd]=02:50:4e:42:00:03
)

log() { printf 'capture: %s\n' "$*" >&2; }
die() { log "error: $*"; exit 1; }

[[ $(id -u) -eq 0 ]] || die "must run as root (network namespaces)"
for cmd in ip dnsmasq tcpdump python3 unshare timeout; do
    command -v "$cmd" >/dev/null || die "missing command: $cmd"
done

CLIENTS=("$@")
[[ ${#CLIENTS[@]} -gt 0 ]] || CLIENTS=(dhclient udhcpc dhcpcd)
for c in "${CLIENTS[@]}"; do
    [[ -n ${MAC[$c]:-} ]] || die "unknown client '$c' (known: ${!MAC[*]})"
done

TMP=$(mktemp -d /tmp/pnb-cap.XXXXXX)
PIDS=()

cleanup() {
    local rc=$? pid i
    set +e
    for pid in "${PIDS[@]}"; do
        kill -TERM "$pid" 2>/dev/null
    done
    for pid in "${PIDS[@]}"; do
        for ((i = 0; i < 30; i++)); do
            kill -0 "$pid" 2>/dev/null || break
            sleep 0.1
        done
        kill -KILL "$pid" 2>/dev/null
        wait "$pid" 2>/dev/null
    done
    # A daemonising client leaves its pid in a pid file under $TMP.
    for pid_file in "$TMP"/*.pid; do
        [[ -s $pid_file ]] || continue
        pid=$(cat "$pid_file")
        [[ $pid =~ ^[0-9]+$ ]] && kill -KILL "$pid" 2>/dev/null
    done
    ip netns del "$NS_CLI" 2>/dev/null
    ip netns del "$NS_SRV" 2>/dev/null
    rm -rf "$TMP"
    exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# Remove PIDs of processes that have been stopped already from the cleanup list.
forget_pid() {
    local keep=() p
    for p in "${PIDS[@]}"; do [[ $p == "$1" ]] || keep+=("$p"); done
    PIDS=("${keep[@]}")
}

# stop_pid PID: TERM, wait up to 3 s, then KILL.
stop_pid() {
    local pid=$1 i
    kill -TERM "$pid" 2>/dev/null || true
    for ((i = 0; i < 30; i++)); do
        kill -0 "$pid" 2>/dev/null || break
        sleep 0.1
    done
    kill -KILL "$pid" 2>/dev/null || true
    { wait "$pid"; } 2>/dev/null || true
    forget_pid "$pid"
}

# stop_client PID: PID is the client's unshare. SIGKILL its child, the PID
# namespace's init (the kernel then kills the whole namespace and unshare reaps
# it and exits); SIGKILL unshare itself if it is still there after 3 s.
stop_client() {
    local pid=$1 child i
    for child in $(cat "/proc/$pid/task/$pid/children" 2>/dev/null); do
        kill -KILL "$child" 2>/dev/null || true
    done
    for ((i = 0; i < 30; i++)); do
        kill -0 "$pid" 2>/dev/null || break
        sleep 0.1
    done
    kill -KILL "$pid" 2>/dev/null || true
    { wait "$pid"; } 2>/dev/null || true
    forget_pid "$pid"
}

# wait_for SECONDS CMD...: poll CMD every 0.1 s until it succeeds or time runs out.
wait_for() {
    local deadline=$((SECONDS + $1))
    shift
    until "$@"; do
        ((SECONDS < deadline)) || return 1
        sleep 0.1
    done
}

# ---------------------------------------------------------------- network setup
for ns in "$NS_SRV" "$NS_CLI"; do
    if ip netns list | grep -qw "$ns"; then
        log "removing stale namespace $ns"
        ip netns del "$ns"
    fi
done
ip netns add "$NS_SRV"
ip netns add "$NS_CLI"
# Created inside the server namespace, so the pair never exists in the host's.
ip -n "$NS_SRV" link add "$IF_SRV" type veth peer name "$IF_CLI" netns "$NS_CLI"
ip -n "$NS_SRV" addr add "$SRV_ADDR/24" dev "$IF_SRV"
ip -n "$NS_SRV" link set lo up
ip -n "$NS_SRV" link set "$IF_SRV" up
ip -n "$NS_CLI" link set lo up

# ---------------------------------------------------------------- DHCP server
DNSMASQ_VERSION=$(dnsmasq --version | head -n1 | awk '{print $3}')
ip netns exec "$NS_SRV" dnsmasq \
    --no-daemon --conf-file=/dev/null --port=0 --user=root --group=root \
    --interface="$IF_SRV" --bind-interfaces \
    --dhcp-range=10.231.0.50,10.231.0.99,255.255.255.0,1h \
    --dhcp-authoritative --no-ping --log-dhcp \
    --dhcp-leasefile="$TMP/dnsmasq.leases" \
    --pid-file="$TMP/dnsmasq.pid" \
    --log-facility="$TMP/dnsmasq.log" \
    >"$TMP/dnsmasq.out" 2>&1 &
DNSMASQ_PID=$!
PIDS+=("$DNSMASQ_PID")

dnsmasq_listening() {
    kill -0 "$DNSMASQ_PID" 2>/dev/null || return 2
    ip netns exec "$NS_SRV" ss -Hlun 'sport = :67' | grep -q .
}
wait_for 10 dnsmasq_listening || {
    cat "$TMP/dnsmasq.out" "$TMP/dnsmasq.log" >&2 2>/dev/null || true
    die "dnsmasq did not start"
}
log "dnsmasq $DNSMASQ_VERSION listening on $NS_SRV/$IF_SRV ($SRV_ADDR)"

# ---------------------------------------------------------------- helpers
# pcap_has_ack PCAP: true once the capture holds a DHCPACK (option 53 = 5).
pcap_has_ack() {
    python3 - "$1" <<'EOF'
import struct, sys
def packets(path):
    with open(path, 'rb') as f:
        data = f.read()
    if len(data) < 24:
        return
    magic = data[:4]
    endian = '<' if magic in (b'\xd4\xc3\xb2\xa1', b'\x4d\x3c\xb2\xa1') else '>'
    off = 24
    while off + 16 <= len(data):
        _, _, incl, _ = struct.unpack(endian + 'IIII', data[off:off + 16])
        off += 16
        if off + incl > len(data):
            break
        yield data[off:off + incl]
        off += incl
for frame in packets(sys.argv[1]):
    if len(frame) < 42 or frame[12:14] != b'\x08\x00' or frame[23] != 17:
        continue
    ihl = (frame[14] & 0x0f) * 4
    udp = 14 + ihl
    sport, dport = struct.unpack('>HH', frame[udp:udp + 4])
    bootp = frame[udp + 8:]
    if sport != 67 or len(bootp) < 240 or bootp[236:240] != b'\x63\x82\x53\x63':
        continue
    i = 240
    while i < len(bootp) and bootp[i] != 255:
        if bootp[i] == 0:
            i += 1
            continue
        if i + 1 >= len(bootp):
            break
        code, ln = bootp[i], bootp[i + 1]
        if code == 53 and ln == 1 and i + 2 < len(bootp) and bootp[i + 2] == 5:
            sys.exit(0)
        i += 2 + ln
sys.exit(1)
EOF
}

# extract PCAP CLIENT HEADER_TEXT: write CLIENT-discover.hex and CLIENT-request.hex.
extract() {
    python3 - "$1" "$2" "$3" "$OUT_DIR" <<'EOF'
import os, struct, sys
path, client, header, out_dir = sys.argv[1:5]
with open(path, 'rb') as f:
    data = f.read()
endian = '<' if data[:4] in (b'\xd4\xc3\xb2\xa1', b'\x4d\x3c\xb2\xa1') else '>'
linktype = struct.unpack(endian + 'I', data[20:24])[0]
if linktype != 1:
    sys.exit(f'unexpected pcap link type {linktype}')
found = {}
off = 24
while off + 16 <= len(data):
    _, _, incl, orig = struct.unpack(endian + 'IIII', data[off:off + 16])
    frame = data[off + 16:off + 16 + incl]
    off += 16 + incl
    if incl != orig:
        sys.exit('truncated packet in capture (snaplen)')
    if len(frame) < 42 or frame[12:14] != b'\x08\x00' or frame[23] != 17:
        continue
    ihl = (frame[14] & 0x0f) * 4
    udp = 14 + ihl
    sport, dport, ulen = struct.unpack('>HHH', frame[udp:udp + 6])
    bootp = frame[udp + 8:udp + ulen]
    if (sport, dport) != (68, 67) or len(bootp) < 240 or bootp[0] != 1:
        continue
    if bootp[236:240] != b'\x63\x82\x53\x63':
        continue
    i, mtype = 240, None
    while i + 1 < len(bootp) and bootp[i] != 255:
        if bootp[i] == 0:
            i += 1
            continue
        if bootp[i] == 53 and bootp[i + 1] == 1:
            mtype = bootp[i + 2]
        i += 2 + bootp[i + 1]
    name = {1: 'discover', 3: 'request'}.get(mtype)
    if name and name not in found:
        found[name] = bootp
for name in ('discover', 'request'):
    if name not in found:
        sys.exit(f'{client}: no DHCP{name.upper()} in capture')
    msg = found[name]
    out = os.path.join(out_dir, f'{client}-{name}.hex')
    with open(out, 'w') as f:
        for line in header.splitlines():
            f.write(f'# {line}\n')
        f.write(f'# message: DHCP{name.upper()}, {len(msg)} bytes (UDP payload: BOOTP from op)\n')
        for j in range(0, len(msg), 16):
            f.write(' '.join(f'{b:02x}' for b in msg[j:j + 16]) + '\n')
    print(f'wrote {out} ({len(msg)} bytes)')
EOF
}

client_version() {
    case $1 in
        dhclient) echo "dhclient $(dhclient --version 2>&1 | sed 's/^isc-dhclient-//') (Debian package isc-dhcp-client $(dpkg-query -W -f='${Version}' isc-dhcp-client 2>/dev/null))" ;;
        udhcpc)   echo "busybox udhcpc $(busybox 2>&1 | head -n1 | awk '{print $2}' | sed 's/^v//') (Debian package busybox-static $(dpkg-query -W -f='${Version}' busybox-static 2>/dev/null))" ;;
        dhcpcd)   echo "dhcpcd $(dhcpcd --version 2>&1 | head -n1 | awk '{print $2}') (Debian package dhcpcd-base $(dpkg-query -W -f='${Version}' dhcpcd-base 2>/dev/null))" ;;
    esac
}

# The client's command line, run by sh inside the client namespace after the
# private UTS/mount namespace has been set up. No client touches host files:
# lease/pid files live in $TMP, state directories are tmpfs mounts private to it.
client_command() {
    case $1 in
        dhclient)
            command -v dhclient >/dev/null || die "dhclient missing (apt-get install isc-dhcp-client)"
            # -d: stay in the foreground; -1: one try; -sf /bin/true: never configure.
            echo "exec dhclient -4 -1 -d -v -sf /bin/true -lf '$TMP/dhclient.leases' -pf '$TMP/dhclient.pid' '$IF_CLI'"
            ;;
        udhcpc)
            command -v busybox >/dev/null || die "busybox missing (apt-get install busybox-static)"
            echo "exec busybox udhcpc -i '$IF_CLI' -n -q -f -t 5 -T 3 -s /bin/true"
            ;;
        dhcpcd)
            command -v dhcpcd >/dev/null || die "dhcpcd missing (apt-get install dhcpcd-base)"
            # Not -T: dhcpcd 9.4.1's test mode stops after the OFFER (and
            # segfaults), so no REQUEST. Run it normally instead: -c /bin/true
            # runs no hooks (no resolv.conf etc.); the address it sets is on the
            # client veth inside the namespace; its state dirs (/var/lib/dhcpcd,
            # /run) are tmpfs mounts private to it.
            echo "mount -t tmpfs tmpfs /var/lib/dhcpcd && mount -t tmpfs tmpfs /run && exec dhcpcd -4 -1 -B -c /bin/true -t 20 '$IF_CLI'"
            ;;
    esac
}

# ---------------------------------------------------------------- capture loop
mkdir -p "$OUT_DIR"
[[ -z $PCAP_DIR ]] || mkdir -p "$PCAP_DIR"
CAPTURE_DATE=$(date -u +%Y-%m-%d)

for client in "${CLIENTS[@]}"; do
    mac=${MAC[$client]}
    cmd=$(client_command "$client")
    version=$(client_version "$client")
    pcap="$TMP/$client.pcap"
    log "--- $client: $version, MAC $mac"

    ip -n "$NS_CLI" link set "$IF_CLI" down
    ip -n "$NS_CLI" addr flush dev "$IF_CLI"
    ip -n "$NS_CLI" link set "$IF_CLI" address "$mac"
    ip -n "$NS_CLI" link set "$IF_CLI" up

    ip netns exec "$NS_SRV" tcpdump -i "$IF_SRV" -n -U -s 0 -w "$pcap" \
        'udp and (port 67 or port 68)' 2>"$TMP/$client.tcpdump.err" &
    tcpdump_pid=$!
    PIDS+=("$tcpdump_pid")
    wait_for 10 grep -q 'listening on' "$TMP/$client.tcpdump.err" ||
        die "tcpdump did not start: $(cat "$TMP/$client.tcpdump.err")"

    # unshare gives the client its own hostname, mounts and PID namespace;
    # timeout (the namespace's init) bounds it. --kill-child: when unshare dies,
    # the namespace's init is SIGKILLed and the kernel kills everything left in
    # it, including helpers that detached themselves (dhcpcd's privsep
    # processes). unshare ignores SIGTERM, so it is stopped with SIGKILL.
    ip netns exec "$NS_CLI" \
        unshare --uts --mount --propagation private --pid --kill-child --mount-proc \
        timeout -k 2 "$CLIENT_TIMEOUT" \
        sh -c "hostname '$CLI_HOSTNAME' && $cmd" \
        >"$TMP/$client.out" 2>&1 &
    client_pid=$!
    PIDS+=("$client_pid")

    got_ack() { [[ -s $pcap ]] && pcap_has_ack "$pcap"; }
    if ! wait_for "$((CLIENT_TIMEOUT + 5))" got_ack; then
        cat "$TMP/$client.out" >&2 || true
        die "$client: no DHCPACK within ${CLIENT_TIMEOUT}s"
    fi
    sleep 0.5   # let a client that exits by itself do so
    stop_client "$client_pid"
    stop_pid "$tcpdump_pid"

    [[ -z $PCAP_DIR ]] || cp "$pcap" "$PCAP_DIR/$client.pcap"
    extract "$pcap" "$client" "client: $version
captured: $CAPTURE_DATE by tests/data/dhcp/capture.sh (server: dnsmasq $DNSMASQ_VERSION, veth in network namespaces)
client MAC $mac, hostname $CLI_HOSTNAME"
done

log "done"
