#!/usr/bin/env bash
# Semantic checks in --check-config (issue 16), each naming file:line. Binds nothing, so it
# needs no namespace:
#  - a metrics port out of range or with trailing junk is refused ("127.0.0.1:99999" used to
#    listen on 34463); good ones pass;
#  - two [[dhcp.host]] with the same MAC (in another case/spelling) or address are refused;
#  - a run user, interface or TFTP root that does not exist here, or a root the run user cannot
#    read, is a warning with the fix (exit 0: the configuration may be meant for another machine);
#  - DHCP (proxy or full, the default being proxy) without server.interface is refused;
#  - overlapping subnets, a reservation in no subnet, "24abc" as a prefix, a registry that is a
#    directory, a bad [provision] scheme and a misspelt key ("did you mean") are refused.
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

hosts() {  # hosts MAC1 ADDR1 MAC2 ADDR2
  printf '[server]\ninterface = "lo"\nuser = ""\n[dhcp]\nmode = "full"\n[[dhcp.subnet]]\nnetwork = "10.77.0.0/24"\nrange = ["10.77.0.100", "10.77.0.120"]\n' > "$work/h.toml"
  printf '[[dhcp.host]]\nmac = "%s"\naddress = "%s"\n[[dhcp.host]]\nmac = "%s"\naddress = "%s"\n' "$@" >> "$work/h.toml"
  printf '[tftp]\nroot = "%s"\n' "$work/tftp" >> "$work/h.toml"
  rc=0
  out=$("$bin" --config "$work/h.toml" --check-config 2>&1) || rc=$?
}
hosts dc:a6:32:01:36:c2 10.77.0.21 DC-A6-32-01-36-C2 10.77.0.22
((rc == 2)) || fail "duplicate MAC accepted: $out"
echo "$out" | grep -q 'h.toml:13: dhcp.host\[1\].mac dc:a6:32:01:36:c2 is already reserved on line 10' || fail "duplicate MAC: $out"
hosts dc:a6:32:01:36:c2 10.77.0.21 dc:a6:32:01:36:c3 10.77.0.21
((rc == 2)) || fail "duplicate address accepted: $out"
echo "$out" | grep -q 'h.toml:14: dhcp.host\[1\].address 10.77.0.21 is already reserved on line 11' || fail "duplicate address: $out"
hosts dc:a6:32:01:36:c2 10.77.0.21 dc:a6:32:01:36:c3 10.77.0.22
((rc == 0)) || fail "distinct reservations refused: $out"

printf '[server]\nuser = "pnb-no-such-user"\n[dhcp]\nmode = "off"\n[tftp]\nroot = "%s"\n' "$work/missing" > "$work/w.toml"
rc=0
out=$("$bin" --config "$work/w.toml" --check-config 2>&1) || rc=$?
((rc == 0)) || fail "warnings made --check-config fail: $out"
echo "$out" | grep -q 'w.toml:2: warning: server.user "pnb-no-such-user" does not exist here.*useradd --system' || fail "no user warning: $out"
echo "$out" | grep -q "w.toml:6: warning: tftp.root $work/missing is not a directory here" || fail "no tftp.root warning: $out"

refused() {  # refused NAME EXPECTED-REGEX: the file $work/$NAME.toml must fail with that message
  rc=0
  out=$("$bin" --config "$work/$1.toml" --check-config 2>&1) || rc=$?
  ((rc == 2)) || fail "$1: accepted (exit $rc): $out"
  echo "$out" | grep -Eq "$2" || fail "$1: unexpected message: $out"
}
full_head() { printf '[server]\ninterface = "lo"\nuser = ""\n[dhcp]\nmode = "full"\n'; }
{ full_head; printf '[[dhcp.subnet]]\nnetwork = "10.77.0.0/24"\nrange = ["10.77.0.100", "10.77.0.120"]\n'
  printf '[[dhcp.subnet]]\nnetwork = "10.77.0.128/25"\nrange = ["10.77.0.200", "10.77.0.210"]\n'; } > "$work/overlap.toml"
refused overlap 'overlap.toml:10: dhcp.subnet\[1\].network 10.77.0.128/25 overlaps dhcp.subnet\[0\] 10.77.0.0/24 \(line 7\)'
{ full_head; printf '[[dhcp.subnet]]\nnetwork = "10.77.0.0/24"\nrange = ["10.77.0.100", "10.77.0.120"]\n'
  printf '[[dhcp.host]]\nmac = "dc:a6:32:01:36:c2"\naddress = "10.78.0.5"\n'; } > "$work/outside.toml"
refused outside 'outside.toml:11: reserved address 10.78.0.5 is in no \[\[dhcp.subnet\]\]'
{ full_head; printf '[[dhcp.subnet]]\nnetwork = "10.77.0.0/24abc"\nrange = ["10.77.0.100", "10.77.0.120"]\n'; } > "$work/prefix.toml"
refused prefix 'prefix.toml:7: .*expected NETWORK/PREFIX'
printf '[server]\nuser = ""\n[dhcp]\nmode = "off"\n[tftp]\nroot = "%s"\nmax_windw = 8\n' "$work/tftp" > "$work/typo.toml"
refused typo 'typo.toml:7: unknown key tftp.max_windw: did you mean tftp.max_window\?'
mkdir -p "$work/regdir"
printf '[server]\nuser = ""\n[dhcp]\nmode = "off"\n[tftp]\nroot = "%s"\n[provision]\nregistry = "%s"\n' "$work/tftp" "$work/regdir" > "$work/reg.toml"
refused reg 'reg.toml:8: provision.registry .*regdir is not a file'
# DHCP only on an interface named explicitly (dnsmasq does no DHCP without a dhcp-range).
printf '[server]\nuser = ""\n[dhcp]\nmode = "proxy"\n[tftp]\nroot = "%s"\n' "$work/tftp" > "$work/noif.toml"
refused noif 'noif.toml:4: dhcp.mode = "proxy" needs server.interface: name the LAN the boards are on'
printf '[server]\nuser = ""\n[tftp]\nroot = "%s"\n' "$work/tftp" > "$work/noif2.toml"
refused noif2 'dhcp.mode = "proxy" needs server.interface'
printf '[server]\nuser = ""\nstuck_after = 1\n[dhcp]\nmode = "off"\n[tftp]\nroot = "%s"\n' "$work/tftp" > "$work/stuck.toml"
refused stuck 'stuck.toml:3: server.stuck_after: 1 is outside 5\.\.86400'
printf '[server]\nuser = ""\n[dhcp]\nmode = "off"\n[tftp]\nroot = "%s"\n[provision]\nscheme = "serail"\n' "$work/tftp" > "$work/scheme.toml"
refused scheme 'scheme.toml:8: provision.scheme "serail": want serial, mac-dash, mac-colon or hostname'

# Warnings: an interface that is not here; a root the run user cannot read.
mkdir -m 0700 "$work/private"
printf '[server]\ninterface = "pnbnosuch0"\nuser = "nobody"\n[dhcp]\nmode = "off"\n[tftp]\nroot = "%s"\n' "$work/private" > "$work/w2.toml"
rc=0
out=$("$bin" --config "$work/w2.toml" --check-config 2>&1) || rc=$?
((rc == 0)) || fail "w2: warnings made --check-config fail: $out"
echo "$out" | grep -q 'w2.toml:2: warning: server.interface "pnbnosuch0" does not exist here' || fail "no interface warning: $out"
echo "$out" | grep -q "w2.toml:7: warning: tftp.root $work/private is not readable by server.user \"nobody\"" \
  || fail "no readability warning: $out"
chmod 0755 "$work" "$work/private"  # mktemp -d made $work 0700: a parent counts too
out=$("$bin" --config "$work/w2.toml" --check-config 2>&1) || true
echo "$out" | grep -q "not readable" && fail "readable root reported unreadable: $out"
check 127.0.0.1:9110
echo "$out" | grep -q warning && fail "warned about a good configuration: $out"
echo "server_config_checks: ok"
