# Shared helpers of the DHCP integration tests (dhcp_full, dhcp_proxy, dhcp_pi_models,
# dhcp_durability). Source it; it sources lib/netns.sh (namespaces, cleanup on exit).
# Nothing here touches the host's interfaces or files: every link lives in namespaces the test
# creates, every file under $PNB_WORK.

source "$(dirname "${BASH_SOURCE[0]}")/lib/netns.sh"

DHCP_BUILD=${PINETBOOT_BUILD_DIR:?PINETBOOT_BUILD_DIR not set}
DHCPD=$DHCP_BUILD/examples/dhcpd/pinetboot-dhcpd
DRIVER=$DHCP_BUILD/tests/integration/tools/pinetboot-dhcp-driver

# Extra namespaces a test creates beyond $PNB_CLI/$PNB_SRV/$PNB_MID (removed on exit).
DHCP_EXTRA_NS=()
dhcp_cleanup() {
  local rc=$? ns pid
  set +e
  for pid in "${PNB_PIDS[@]:-}"; do
    [[ -n $pid ]] && kill "$pid" 2>/dev/null
  done
  for pid in "${PNB_PIDS[@]:-}"; do
    [[ -n $pid ]] && wait "$pid" 2>/dev/null
  done
  for ns in "${DHCP_EXTRA_NS[@]:-}"; do
    [[ -n $ns ]] || continue
    ip netns pids "$ns" 2>/dev/null | xargs -r kill -9 2>/dev/null
    ip netns delete "$ns" 2>/dev/null
  done
  pnb_cleanup
  exit "$rc"
}
trap dhcp_cleanup EXIT

fail() {
  echo "FAIL: $*"
  local f
  for f in "$PNB_WORK"/*.log; do
    [[ -f $f ]] || continue
    echo "---- $f (last 40 lines)"
    tail -n 40 "$f"
  done
  exit 1
}

# need_cmd COMMAND PACKAGE: a missing client or server is a failure, not a skip.
need_cmd() { command -v "$1" >/dev/null || fail "missing $1 (install Debian package $2)"; }

need_build() {
  [[ -x $DHCPD ]] || fail "missing $DHCPD (build target pinetboot-dhcpd)"
  [[ -x $DRIVER ]] || fail "missing $DRIVER (build target pinetboot-dhcp-driver)"
}

# wait_for SECONDS CMD...: poll CMD every 0.1 s until it succeeds or time runs out.

# start_dhcpd NS LOG ARGS...: runs pinetboot-dhcpd in NS, waits until it listens; sets DHCPD_PID.
start_dhcpd() {
  local ns=$1 log=$2
  shift 2
  : >"$log"
  ip netns exec "$ns" "$DHCPD" --user "" "$@" >>"$log" 2>&1 &
  DHCPD_PID=$!
  PNB_PIDS+=("$DHCPD_PID")
  wait_for 20 grep -q 'pinetboot-dhcpd: .* mode on' "$log" || fail "pinetboot-dhcpd did not start"
}

# stop_dhcpd [SIGNAL]: stops the last started server (TERM by default) and waits for it.
# After TERM the server must exit 0 (a sanitizer report or a leak makes it fail).
stop_dhcpd() {
  local sig=${1:-TERM} rc=0
  kill "-$sig" "$DHCPD_PID" 2>/dev/null || true
  wait "$DHCPD_PID" 2>/dev/null || rc=$?
  [[ $sig != TERM || $rc == 0 ]] || fail "pinetboot-dhcpd exited with status $rc"
}

dhcpd_alive() { kill -0 "$DHCPD_PID" 2>/dev/null; }

# set_mac NS DEV MAC: gives a client interface the MAC a client should use.
set_mac() {
  ip -n "$1" link set "$2" down
  ip -n "$1" link set "$2" address "$3"
  ip -n "$1" link set "$2" up
}

# Lines of a server log about one MAC.
log_for_mac() { grep -i "mac $2" "$1" || true; }
# has PATTERN: stdin has a matching line. Reads all of stdin (unlike grep -q), so that a
# writer never dies of SIGPIPE, which pipefail would turn into a failure.
has() { grep -c -- "$1" >/dev/null; }

# lan_setup NS...: a bridge in $PNB_MID and one veth to each NS, named eth0 there (up, no
# address). The namespaces are created here; add any beyond $PNB_CLI/$PNB_SRV to
# DHCP_EXTRA_NS first so that they are removed on exit.
lan_setup() {
  local ns i=0
  for ns in "$PNB_MID" "$@"; do
    ip netns add "$ns"
    ip -n "$ns" link set lo up
  done
  ip -n "$PNB_MID" link add br0 type bridge
  ip -n "$PNB_MID" link set br0 up
  for ns in "$@"; do
    # Created inside the LAN namespace, the peer goes straight into its namespace: nothing on the host.
    ip -n "$PNB_MID" link add "p$i" type veth peer name eth0 netns "$ns"
    ip -n "$PNB_MID" link set "p$i" master br0
    ip -n "$PNB_MID" link set "p$i" up
    ip -n "$ns" link set eth0 up
    i=$((i + 1))
  done
}

# start_router NS: dnsmasq as "the site's router" on NS's eth0, handing out 10.77.0.100-150
# (log in $PNB_WORK/dnsmasq.log); waits until it listens.
start_router() {
  ip netns exec "$1" dnsmasq --no-daemon --port=0 --conf-file=/dev/null --interface=eth0 --bind-interfaces \
    --dhcp-range=10.77.0.100,10.77.0.150,255.255.255.0,1h --dhcp-authoritative --leasefile-ro --no-ping \
    --log-dhcp --log-facility=- --pid-file="$PNB_WORK/dnsmasq.pid" --user=root --group=root \
    >"$PNB_WORK/dnsmasq.log" 2>&1 &
  PNB_PIDS+=($!)
  wait_for 10 bash -c "ip netns exec '$1' ss -Hlun 'sport = :67' | grep -q ." || fail "dnsmasq did not start"
}
