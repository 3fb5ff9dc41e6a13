# Network namespaces for integration tests. Source this file, then call one of the setup
# functions; everything is torn down by pnb_cleanup (installed as an EXIT trap).
# Nothing here touches the host's interfaces: links are created inside namespaces that the
# test owns, and addresses come from 10.77.0.0/24 inside them only.
#
#   pnb_require_netns            skip the test (exit 77) unless we are root with ip netns
#   pnb_setup_veth               namespaces $PNB_CLI and $PNB_SRV joined by a veth pair
#   pnb_setup_impair ARGS...     the same two namespaces joined through pinetboot-impair
#                                (ARGS: --loss P --delay-ms D --dup P --reorder P --seed N)
#   pnb_in_cli CMD... / pnb_in_srv CMD...   run a command in a namespace
#   wait_for SECONDS CMD...      poll CMD every 0.1 s until it succeeds or time runs out
# Addresses: server 10.77.0.1, client 10.77.0.2 (both /24). $PNB_WORK is a temp folder.

set -euo pipefail

PNB_ID=${PNB_ID:-$$}
PNB_CLI=pnb${PNB_ID}c
PNB_SRV=pnb${PNB_ID}s
PNB_MID=pnb${PNB_ID}m
PNB_SRV_IP=10.77.0.1
PNB_CLI_IP=10.77.0.2
PNB_WORK=$(mktemp -d /tmp/pnb-it.XXXXXX)
PNB_PIDS=()

pnb_cleanup() {
  local pid
  for pid in "${PNB_PIDS[@]:-}"; do
    [[ -n $pid ]] && kill "$pid" 2>/dev/null || true
  done
  for pid in "${PNB_PIDS[@]:-}"; do
    [[ -n $pid ]] && wait "$pid" 2>/dev/null || true
  done
  local ns
  for ns in "$PNB_CLI" "$PNB_SRV" "$PNB_MID"; do
    if ip netns list 2>/dev/null | grep -qw "$ns"; then
      # Kill anything still running inside before deleting.
      ip netns pids "$ns" 2>/dev/null | xargs -r kill -9 2>/dev/null || true
      ip netns delete "$ns" 2>/dev/null || true
    fi
  done
  rm -rf "$PNB_WORK"
}
trap pnb_cleanup EXIT

pnb_require_netns() {
  if [[ $(id -u) -ne 0 ]] || ! command -v ip >/dev/null; then
    echo "SKIP: needs root and iproute2 for network namespaces"
    exit 77
  fi
  if ! ip netns add "pnb${PNB_ID}probe" 2>/dev/null; then
    echo "SKIP: cannot create network namespaces here"
    exit 77
  fi
  ip netns delete "pnb${PNB_ID}probe"
}

# wait_for SECONDS CMD...: runs CMD every 0.1 s until it succeeds (0) or SECONDS pass (1).
wait_for() {
  local deadline=$((SECONDS + $1))
  shift
  until "$@"; do
    ((SECONDS < deadline)) || return 1
    sleep 0.1
  done
}

pnb_in_cli() { ip netns exec "$PNB_CLI" "$@"; }
pnb_in_srv() { ip netns exec "$PNB_SRV" "$@"; }

# Runs a command in the background (in the caller's namespace unless prefixed), remembers it.
pnb_bg() {
  "$@" &
  PNB_PIDS+=($!)
}

_pnb_addr() {
  local ns=$1 dev=$2 ip=$3
  ip -n "$ns" link set lo up
  ip -n "$ns" addr add "$ip/24" dev "$dev"
  ip -n "$ns" link set "$dev" up
}

pnb_setup_veth() {
  ip netns add "$PNB_CLI"
  ip netns add "$PNB_SRV"
  ip -n "$PNB_SRV" link add veth0 type veth peer name veth0 netns "$PNB_CLI"
  _pnb_addr "$PNB_SRV" veth0 "$PNB_SRV_IP"
  _pnb_addr "$PNB_CLI" veth0 "$PNB_CLI_IP"
}

# Finds the impair tool in the build tree.
pnb_impair_bin() {
  local b=${PINETBOOT_BUILD_DIR:?PINETBOOT_BUILD_DIR not set}
  echo "$b/tests/support/pinetboot-impair"
}

pnb_setup_impair() {
  ip netns add "$PNB_CLI"
  ip netns add "$PNB_SRV"
  ip netns add "$PNB_MID"
  local ready=$PNB_WORK/impair.ready
  pnb_bg ip netns exec "$PNB_MID" "$(pnb_impair_bin)" --a tapc --b taps --ready-file "$ready" "$@"
  local i
  for i in $(seq 1 100); do
    [[ -f $ready ]] && break
    sleep 0.05
  done
  [[ -f $ready ]] || { echo "impair did not start"; return 1; }
  ip -n "$PNB_MID" link set tapc netns "$PNB_CLI"
  ip -n "$PNB_MID" link set taps netns "$PNB_SRV"
  _pnb_addr "$PNB_SRV" taps "$PNB_SRV_IP"
  _pnb_addr "$PNB_CLI" tapc "$PNB_CLI_IP"
  # Static neighbours: ARP through a lossy link would only add noise to measurements.
  local smac cmac
  smac=$(ip -n "$PNB_SRV" -br link show taps | awk '{print $3}')
  cmac=$(ip -n "$PNB_CLI" -br link show tapc | awk '{print $3}')
  ip -n "$PNB_CLI" neigh replace "$PNB_SRV_IP" lladdr "$smac" dev tapc
  ip -n "$PNB_SRV" neigh replace "$PNB_CLI_IP" lladdr "$cmac" dev taps
}
