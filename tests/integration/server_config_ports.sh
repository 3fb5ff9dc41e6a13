#!/usr/bin/env bash
# --check-config refuses a metrics port out of range or with trailing junk (issue 16: "ports out
# of range: metrics = \"127.0.0.1:99999\" is accepted today and the server listens on 34463"),
# naming file:line; a good one passes. Binds nothing, so it needs no namespace.
set -euo pipefail
bin=${PINETBOOT_BUILD_DIR:?}/examples/server/pinetboot-server
[[ -x $bin ]] || { echo "FAIL: $bin not built"; exit 1; }
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
fail() { echo "FAIL: $*"; exit 1; }
mkdir -p "$work/tftp"
check() {  # check METRICS -> output; exit status in $rc
  printf '[server]\nuser = ""\nmetrics = "%s"\n[dhcp]\nmode = "off"\n[tftp]\nroot = "%s"\n' "$1" "$work/tftp" > "$work/c.toml"
  rc=0
  out=$("$bin" --config "$work/c.toml" --check-config 2>&1) || rc=$?
}
for bad in 127.0.0.1:99999 127.0.0.1:65536 127.0.0.1:0 127.0.0.1:9110abc 127.0.0.1: 127.0.0.1:-1 "127.0.0.1: 9110"; do
  check "$bad"
  ((rc == 2)) || fail "metrics = \"$bad\" accepted (exit $rc): $out"
  echo "$out" | grep -q "c.toml:3: server.metrics = \"$bad\": want \"ADDRESS:PORT\" with a port from 1 to 65535" \
    || fail "metrics = \"$bad\": unexpected message: $out"
done
for good in 127.0.0.1:9110 0.0.0.0:65535 127.0.0.1:1; do
  check "$good"
  ((rc == 0)) || fail "metrics = \"$good\" refused: $out"
  echo "$out" | grep -q "metrics: http://$good/metrics" || fail "metrics = \"$good\": $out"
done
echo "server_config_ports: ok"
