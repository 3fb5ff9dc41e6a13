#!/usr/bin/env bash
# Every program refuses a command line it does not understand, before it binds anything:
# unknown options (-V, --bogus), stray positional arguments, an option without its value,
# malformed values (port out of range, bad address, negative count, "67abc"). Each must exit 1
# within a few seconds with one line on stderr that names the argument, write nothing to
# stdout, and leave no socket behind. Programs run in a network namespace of this test's own,
# so "no socket" is checked with ss in a namespace where nothing else runs. Before the
# refusals, each server is started once with the same base arguments and must bind there: that
# proves the base arguments are good (only the bad argument is refused) and that the socket
# check sees a socket when there is one. Also --version and --help exit 0 for every program;
# pinetboot-server reports an unknown configuration key or section as file:line.
#
#   cli_refusal.sh VERSION     (the CMake project version that --version must print)
source "$(dirname "$0")/lib/netns.sh"
pnb_require_netns
version=${1:?usage: cli_refusal.sh PROJECT_VERSION}
B=${PINETBOOT_BUILD_DIR:?}/examples
W=$PNB_WORK
ns=$PNB_SRV  # deleted by pnb_cleanup
ip netns add "$ns"
ip -n "$ns" link set lo up

dhcpd=$B/dhcpd/pinetboot-dhcpd
tftpd=$B/tftpd/pinetboot-tftpd
server=$B/server/pinetboot-server
simulate=$B/simulate/pinetboot-simulate
decode=$B/dhcp-decode/pinetboot-dhcp-decode
for b in "$dhcpd" "$tftpd" "$server" "$simulate" "$decode"; do
  [[ -x $b ]] || { echo "FAIL: $b not built"; exit 1; }
done

failures=0
fail() { echo "FAIL: $*"; failures=$((failures + 1)); }

sockets() {  # every UDP and TCP socket in the namespace (nothing else runs there)
  ip netns exec "$ns" ss -uanpH
  ip netns exec "$ns" ss -tanpH
}

# Starts CMD in the namespace in the background; sets $pid. Output in $W/out, $W/err.
start() {
  ip netns exec "$ns" "$@" >"$W/out" 2>"$W/err" &
  pid=$!
  PNB_PIDS+=("$pid")
}

# stop_started: ends the program started by `start` (ours, by PID), waits at most 5 s.
stop_started() {
  kill "$pid" 2>/dev/null || true
  local i
  for ((i = 0; i < 50; i++)); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
  kill -9 "$pid" 2>/dev/null || true
  wait "$pid" 2>/dev/null || true
  PNB_PIDS=()
}

# must_bind WHAT CMD...: the program binds a socket within 10 s (the positive control).
must_bind() {
  local what=$1 i s=
  shift
  start "$@"
  for ((i = 0; i < 100; i++)); do
    s=$(sockets)
    [[ -n $s ]] && break
    kill -0 "$pid" 2>/dev/null || break
    sleep 0.1
  done
  if [[ -z $s ]]; then
    fail "$what: control run bound nothing (base arguments wrong?): $(head -3 "$W/err")"
  else
    echo "ok   $what: control run binds: $(echo "$s" | awk '{print $4}' | sort -u | tr '\n' ' ')"
  fi
  stop_started
  s=$(sockets)
  [[ -z $s ]] || { fail "$what: sockets left after the control run: $s"; }
}

# refused WHAT WORD [RC] -- CMD...: CMD exits RC (default 1) within 5 s without ever holding a
# socket, prints nothing on stdout and one stderr line that contains WORD.
refused() {
  local what=$1 word=$2 want=1 i s rc=0 alive=1
  shift 2
  if [[ $1 != -- ]]; then want=$1; shift; fi
  shift
  start "$@"
  for ((i = 0; i < 50; i++)); do
    s=$(sockets)
    if [[ -n $s ]]; then
      stop_started
      fail "$what: opened a socket: $s"
      return
    fi
    if ! kill -0 "$pid" 2>/dev/null; then alive=0; break; fi
    sleep 0.1
  done
  if ((alive)); then
    stop_started
    fail "$what: still running after 5 s (it did not refuse); stderr: $(head -3 "$W/err")"
    return
  fi
  wait "$pid" || rc=$?
  PNB_PIDS=()
  local err lines
  err=$(cat "$W/err")
  lines=$(wc -l <"$W/err")
  if ((rc != want)); then fail "$what: exit $rc, expected $want; stderr: $err"; return; fi
  if [[ $lines -ne 1 ]]; then fail "$what: expected one line on stderr, got $lines: $err"; return; fi
  if ! grep -qF -- "$word" "$W/err"; then fail "$what: the error does not name '$word': $err"; return; fi
  if [[ -s $W/out ]]; then fail "$what: wrote to stdout: $(head -3 "$W/out")"; return; fi
  echo "ok   $what: $err"
}

# version_re NAME: what --version must print, whole: "NAME VERSION", then, when built from a
# git checkout, " (git DESCRIPTION)", where DESCRIPTION is `git describe --tags --long --always
# --dirty`: an abbreviated commit, after TAG-N-g when there is a tag, with -dirty at the end
# ("pinetboot-server 0.1.0 (git 385757d-dirty)", "... (git v0.1.0-3-g385757d)").
version_re() {
  printf '^%s %s( \\(git ([0-9A-Za-z._+-]+-[0-9]+-g)?[0-9a-f]{7,40}(-dirty)?\\))?$' "$1" "${version//./\\.}"
}

# version_and_help PROGRAM NAME: --version prints "NAME VERSION [(git ...)]", --help the usage;
# both exit 0.
version_and_help() {
  local bin=$1 name=$2 out rc=0 re
  re=$(version_re "$name")
  out=$("$bin" --version 2>&1) || rc=$?
  if ((rc != 0)) || ! [[ $out =~ $re ]]; then
    fail "$name --version: exit $rc, printed '$out', expected '$name $version' or '$name $version (git DESCRIPTION)'"
  else
    echo "ok   $name --version: $out"
  fi
  rc=0
  out=$("$bin" --help 2>&1) || rc=$?
  if ((rc != 0)) || [[ $out != "usage: $name "* ]] || ! grep -q -- '--version' <<<"$out" ||
    ! grep -q -- '--help' <<<"$out"; then
    fail "$name --help: exit $rc, printed: $(head -3 <<<"$out")"
  else
    echo "ok   $name --help"
  fi
}

mkdir -p "$W/tftp"
echo hello >"$W/tftp/hello.txt"

# --- pinetboot-dhcpd: base arguments serve proxyDHCP on lo (ports 67 and 4011).
leases=$W/dhcpd.leases
D=("$dhcpd" --interface lo --user= --lease-file "$leases")
must_bind dhcpd "${D[@]}"
rm -f "$leases"
refused "dhcpd without --interface" "--interface IF" -- "$dhcpd" --user= --lease-file "$leases"
refused "dhcpd -V" "'-V'" -- "${D[@]}" -V
refused "dhcpd --bogus" "'--bogus'" -- "${D[@]}" --bogus
refused "dhcpd stray positional" "'stray'" -- "${D[@]}" stray
refused "dhcpd --port without value" "--port" -- "${D[@]}" --port
refused "dhcpd --mode without value (next is an option)" "--mode" -- "${D[@]}" --mode --verbose
refused "dhcpd --port 99999" "99999" -- "${D[@]}" --port 99999
refused "dhcpd --port 67abc" "67abc" -- "${D[@]}" --port 67abc
refused "dhcpd --pxe-port -1" "-1" -- "${D[@]}" --pxe-port -1
refused "dhcpd --listen 300.1.1.1" "300.1.1.1" -- "${D[@]}" --listen 300.1.1.1
refused "dhcpd --verbose=1" "--verbose" -- "${D[@]}" --verbose=1
refused "dhcpd --subnet prefix 24abc" "24abc" -- "${D[@]}" --mode full --subnet 10.0.0.0/24abc,range=10.0.0.1-10.0.0.9
refused "dhcpd --host with a bad address" "10.0.0.300" -- "${D[@]}" --host dc:a6:32:01:36:c2,10.0.0.300
[[ -e $leases ]] && fail "dhcpd: a refused command line created the lease file $leases"
version_and_help "$dhcpd" pinetboot-dhcpd

# --- pinetboot-tftpd: base arguments serve $W/tftp on port 69.
T=("$tftpd" --root "$W/tftp" --user=)
must_bind tftpd "${T[@]}"
refused "tftpd -V" "'-V'" -- "${T[@]}" -V
refused "tftpd --bogus" "'--bogus'" -- "${T[@]}" --bogus
refused "tftpd stray positional" "'stray'" -- "${T[@]}" stray
refused "tftpd --max-window without value" "--max-window" -- "${T[@]}" --max-window
refused "tftpd --port 70000" "70000" -- "${T[@]}" --port 70000
refused "tftpd --listen nope" "nope" -- "${T[@]}" --listen nope
refused "tftpd --max-transfers -5" "-5" -- "${T[@]}" --max-transfers -5
refused "tftpd --port-range 1000-20x" "20x" -- "${T[@]}" --port-range 1000-20x
refused "tftpd without --root" "--root" -- "$tftpd" --user=
refused "tftpd --overwrite without --allow-write" "--overwrite" -- "${T[@]}" --overwrite
version_and_help "$tftpd" pinetboot-tftpd

# A root the run user cannot read (a mktemp folder, mode 0700) would answer every request
# "Access violation": both servers say so at start, naming the folder, the user and the fix.
# root_warning WHAT CMD...: CMD binds, and its output names the unreadable root.
root_warning() {
  local what=$1 i
  shift
  start "$@"
  for ((i = 0; i < 100; i++)); do
    grep -qs "not readable by user nobody" "$W/out" "$W/err" && break
    kill -0 "$pid" 2>/dev/null || break
    sleep 0.1
  done
  if grep -qs "TFTP root $W/private is not readable by user nobody.*chmod a+rX" "$W/out" "$W/err"; then
    echo "ok   $what: warns that the root is unreadable after dropping to nobody"
  else
    fail "$what: no warning about the unreadable root; stderr: $(head -3 "$W/err")"
  fi
  stop_started
}
mkdir -m 0700 "$W/private"
if [[ $(id -u) -eq 0 ]] && id nobody >/dev/null 2>&1; then
  root_warning "tftpd, unreadable root" "$tftpd" --root "$W/private" --listen 127.0.0.1 --port 6999 --user nobody
fi

# --- pinetboot-server: base configuration is proxy DHCP + TFTP on lo.
cat >"$W/server.toml" <<EOT
[server]
interface = "lo"
user = ""
[dhcp]
mode = "proxy"
[tftp]
root = "$W/tftp"
EOT
S=("$server" --config "$W/server.toml")
must_bind server "${S[@]}"
if [[ $(id -u) -eq 0 ]] && id nobody >/dev/null 2>&1; then
  sed -e 's|^user = ""$|user = "nobody"|' -e "s|^root = .*|root = \"$W/private\"|" "$W/server.toml" >"$W/private.toml"
  root_warning "server, unreadable root" "$server" --config "$W/private.toml"
fi
refused "server -V" "'-V'" -- "${S[@]}" -V
refused "server --bogus" "'--bogus'" -- "${S[@]}" --bogus
refused "server stray positional" "'stray'" -- "${S[@]}" stray
refused "server --check-config FILE" "'$W/server.toml'" -- "$server" --check-config "$W/server.toml"
refused "server --config without value" "--config" -- "$server" --config
refused "server --json=yes" "--json" -- "${S[@]}" --json=yes
# Configuration mistakes name file:line (exit 2: the file is wrong, not the command line).
printf '[server]\ninterface = "lo"\nuser = ""\n[tftp]\nroot = "%s"\nrot = "/x"\n' "$W/tftp" >"$W/key.toml"
refused "server unknown config key" "$W/key.toml:6: unknown key tftp.rot" 2 -- "$server" --config "$W/key.toml"
printf '[server]\ninterface = "lo"\n\n[tfpt]\nroot = "/x"\n' >"$W/section.toml"
refused "server unknown config section" "$W/section.toml:4: unknown section [tfpt]" 2 -- \
  "$server" --config "$W/section.toml"
printf '[server]\ninterface = "lo"\nuser = ""\n[dhcp]\nport = 99999\n' >"$W/port.toml"
refused "server config port 99999" "$W/port.toml:5: dhcp.port: 99999 is outside 1..65535" 2 -- \
  "$server" --config "$W/port.toml"
version_and_help "$server" pinetboot-server

# --- pinetboot-simulate: base arguments boot one board on lo (it binds port 68 and waits).
M=("$simulate" --interface lo --timeout 30)
must_bind simulate "${M[@]}"
refused "simulate -V" "'-V'" -- "${M[@]}" -V
refused "simulate --bogus" "'--bogus'" -- "${M[@]}" --bogus
refused "simulate stray positional" "'stray'" -- "${M[@]}" stray
refused "simulate --count without value" "--count" -- "${M[@]}" --count
refused "simulate --count -1" "-1" -- "${M[@]}" --count -1
refused "simulate --count 24abc" "24abc" -- "${M[@]}" --count 24abc
refused "simulate --tftp-server 1.2.3" "1.2.3" -- "${M[@]}" --tftp-server 1.2.3
refused "simulate --serial-base zz" "zz" -- "${M[@]}" --serial-base zz
refused "simulate without --interface" "--interface" -- "$simulate" --count 1
refused "simulate --interface without value (next is -v)" "--interface" -- "$simulate" --interface -v --count 1
refused "simulate contradictory flags" "--no-broadcast-flag" -- "${M[@]}" --broadcast-flag --no-broadcast-flag
version_and_help "$simulate" pinetboot-simulate

# --- pinetboot-dhcp-decode: FILE arguments are its positionals; options are checked.
fixture=$(dirname "$0")/../data/dhcp/rpi4-discover.hex
out=$("$decode" "$fixture") || fail "dhcp-decode: the fixture did not decode"
grep -q 'Dynamic Host Configuration Protocol (Discover)' <<<"$out" || fail "dhcp-decode: unexpected output"
refused "dhcp-decode -V" "'-V'" -- "$decode" -V "$fixture"
refused "dhcp-decode --bogus" "'--bogus'" -- "$decode" --bogus "$fixture"
refused "dhcp-decode --raw=1" "--raw" -- "$decode" --raw=1 "$fixture"
refused "dhcp-decode missing file" "$W/nope.hex" -- "$decode" "$W/nope.hex"
version_and_help "$decode" pinetboot-dhcp-decode

# --- pinetboot-provision (the same parser; it binds nothing, and must change nothing).
provision=$B/provision/pinetboot-provision
if [[ -x $provision ]]; then
  PV=("$provision" --prefix "$W/prov" --config /dev/null)
  refused "provision -V" "'-V'" -- "${PV[@]}" list -V
  refused "provision --bogus" "'--bogus'" -- "${PV[@]}" add --bogus
  refused "provision stray positional" "'stray'" -- "${PV[@]}" list stray
  refused "provision --from-tree with one value" "--from-tree" -- "${PV[@]}" add --from-tree /b --force
  refused "provision --canary 2x" "2x" -- "${PV[@]}" upgrade --canary 2x
  refused "provision --serial bad" "zz" -- "${PV[@]}" add --serial zz
  [[ -e $W/prov ]] && fail "provision: a refused command created $W/prov"
  re=$(version_re pinetboot-provision)
  out=$("$provision" --version 2>&1) && [[ $out =~ $re ]] || fail "provision --version: $out"
fi

if ((failures > 0)); then
  echo "FAIL: $failures check(s) failed"
  exit 1
fi
echo "PASS: every program refuses what it does not understand, before binding"
