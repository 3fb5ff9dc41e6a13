#!/usr/bin/env bash
# The installed systemd unit (issue 16, "Install and service"): installs the build into a
# scratch DESTDIR and checks, offline (PID 1 need not be systemd):
#  - the unit names the installed binary and the installed configuration (the paths come from
#    GNUInstallDirs, so ExecStartPre/ExecStart can find them);
#  - `systemd-analyze verify` is clean, man pages included (Documentation=man:...);
#  - `systemd-analyze security --offline=true` scores <= 2.5 (Debian's dnsmasq unit: 9.6);
#  - the sandboxing the server relies on is there (Type=notify, the system user, one capability).
# Skips (77) when systemd-analyze is missing.
set -euo pipefail
build=${PINETBOOT_BUILD_DIR:?}
max_exposure=${PINETBOOT_MAX_EXPOSURE:-2.5}
command -v systemd-analyze >/dev/null || { echo "SKIP: systemd-analyze not installed"; exit 77; }
[[ -x $build/examples/server/pinetboot-server ]] || { echo "FAIL: pinetboot-server not built"; exit 1; }
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
fail() { echo "FAIL: $*"; exit 1; }

root=$work/root
DESTDIR=$root cmake --install "$build" >"$work/install.log" 2>&1 || { cat "$work/install.log"; fail "cmake --install"; }
unit=$(find "$root" -name pinetboot-server.service -path '*systemd/system*' | head -1)
[[ -n $unit ]] || fail "no unit installed"
echo "unit: ${unit#"$root"}"

# ExecStart names files that were installed (inside the scratch root).
exe=$(sed -n 's/^ExecStart=\([^ ]*\) .*/\1/p' "$unit")
conf=$(sed -n 's/^ExecStart=[^ ]* --config \([^ ]*\)$/\1/p' "$unit")
[[ -n $exe && -n $conf ]] || fail "cannot read ExecStart from the unit"
[[ -x $root$exe ]] || fail "ExecStart names $exe, which was not installed"
[[ -f $root$conf ]] || fail "ExecStart's --config $conf was not installed"
"$root$exe" --config "$root$conf" --check-config >"$work/check.log" 2>&1 \
  || { cat "$work/check.log"; fail "the installed configuration does not pass --check-config"; }
# Every page the unit's Documentation= names was installed (man:NAME(SECTION)).
docs=$(sed -n 's/^Documentation=//p' "$unit")
[[ -n $docs ]] || fail "the unit has no Documentation="
for doc in $docs; do
  [[ $doc =~ ^man:([A-Za-z0-9._-]+)\(([1-8])\)$ ]] || fail "Documentation=$doc is not man:NAME(SECTION)"
  page=${BASH_REMATCH[1]}.${BASH_REMATCH[2]}
  found=$(find "$root" -path "*/man/man${BASH_REMATCH[2]}/$page*" | head -1)
  [[ -n $found ]] || fail "man page $page (the unit's Documentation=) not installed"
  # Plain roff that renders without warnings.
  warnings=$(LC_ALL=C.UTF-8 MANROFFSEQ='' man --warnings -E UTF-8 -l "$found" 2>&1 >/dev/null || true)
  [[ -z $warnings ]] || fail "man $page: $warnings"
done

grep -qx 'Type=notify' "$unit" || fail "not Type=notify"
grep -qx 'User=pinetboot' "$unit" || fail "no User=pinetboot"
grep -qx 'CapabilityBoundingSet=CAP_NET_BIND_SERVICE' "$unit" || fail "capabilities not limited"
grep -q '^WatchdogSec=' "$unit" || fail "no watchdog"
grep -q '^ExecReload=.*--check-config' "$unit" || fail "reload does not check the configuration first"

# verify: the unit's binaries and man pages are looked up inside the scratch root, which gets
# a copy of the host's own units for the targets the unit's dependencies name.
mkdir -p "$root/usr/lib/systemd"
cp -a /usr/lib/systemd/system "$root/usr/lib/systemd/"
[[ -e $root/lib ]] || ln -s usr/lib "$root/lib"
mandir=$(dirname "$(dirname "$(find "$root" -path '*/man/man8/pinetboot-server.8*' | head -1)")")
export MANPATH=$mandir:
if ! systemd-analyze verify --root="$root" "${unit#"$root"}" >"$work/verify.log" 2>&1; then
  cat "$work/verify.log"
  fail "systemd-analyze verify"
fi
# Messages about the unit itself are failures even when verify exits 0.
if grep -i 'pinetboot' "$work/verify.log"; then fail "systemd-analyze verify complained"; fi
echo "verify: clean"

systemd-analyze security --offline=true --root="$root" "${unit#"$root"}" >"$work/security.log" 2>&1 || true
score=$(sed -n 's/.*Overall exposure level for pinetboot-server.service: \([0-9.]*\).*/\1/p' "$work/security.log")
[[ -n $score ]] || { cat "$work/security.log"; fail "no exposure score"; }
echo "security: exposure $score (at most $max_exposure)"
awk -v s="$score" -v m="$max_exposure" 'BEGIN { exit !(s <= m) }' || {
  grep '✗' "$work/security.log"
  fail "exposure $score > $max_exposure"
}
echo "systemd_unit: ok"
