#!/usr/bin/env bash
# Side-by-side TFTP throughput: pinetboot-tftpd vs tftpd-hpa, atftpd and dnsmasq, fetched by the
# same real clients in network namespaces, over a plain veth pair and over pinetboot-impair
# (1 % loss + 1 ms delay per direction). Not run in CI; bounded (about 8-10 minutes).
#
#   bench/tftp_compare.sh [BUILD_DIR]        (default build/bench-rel; needs root)
#   BUILD_DIR needs pinetboot-tftpd and pinetboot-impair in Release, e.g.:
#     cmake -S . -B build/bench-rel -G Ninja -DCMAKE_BUILD_TYPE=Release -DPINETBOOT_BUILD_FUZZERS=OFF
#     cmake --build build/bench-rel -j2 --target pinetboot-tftpd pinetboot-impair
#
# Environment:
#   FULL=1          also a 512 MiB file on the plain link
#   RUNS=3          runs per cell on the plain link (median reported)
#   RUNS_IMPAIRED=1 runs per cell on the impaired link
#   CAP=25          seconds a plain-link transfer may take; CAP_IMPAIRED=15 on the impaired link.
#                   A transfer cut by the cap is scored as bytes received / cap (marked "~"),
#                   which is how servers with 1 s retransmission timers stay measurable.
#   ATFTPD=PATH     atftpd binary (default: extracted from `apt-get download atftpd` into
#                   /tmp/tftp-compare-atftpd, since the package conflicts with tftpd-hpa)
#   OUT=FILE        also write the markdown tables there
# Needs: curl tftp-hpa atftp busybox-static tftpd-hpa dnsmasq-base iperf3 python3 (and a
# policy-rc.d that exits 101 so installing tftpd-hpa does not start a daemon on the host).
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
SRC=$(cd "$HERE/.." && pwd)

if [[ ${1:-} != --phase ]]; then
  BUILD=$(cd "${1:-$SRC/build/bench-rel}" && pwd)
  export PINETBOOT_BUILD_DIR=$BUILD
  for t in curl tftp atftp busybox in.tftpd dnsmasq iperf3 python3; do
    command -v "$t" >/dev/null || { echo "missing $t"; exit 1; }
  done
  [[ -x $BUILD/examples/tftpd/pinetboot-tftpd ]] || { echo "build pinetboot-tftpd in $BUILD (Release)"; exit 1; }
  [[ -x $BUILD/tests/support/pinetboot-impair ]] || { echo "build pinetboot-impair in $BUILD"; exit 1; }
  if [[ -z ${ATFTPD:-} ]]; then
    ATFTPD=/tmp/tftp-compare-atftpd/usr/sbin/atftpd
    if [[ ! -x $ATFTPD ]]; then
      tmp=$(mktemp -d)
      (cd "$tmp" && apt-get download atftpd >/dev/null && dpkg-deb -x atftpd_*.deb /tmp/tftp-compare-atftpd)
      rm -rf "$tmp"
    fi
  fi
  export ATFTPD
  DATA=$(mktemp -d /tmp/tftp-compare.XXXXXX)
  trap 'rm -rf "$DATA"' EXIT
  chmod 755 "$DATA"
  mkdir -m 755 "$DATA/root"
  # Incompressible and fast to make: 1 MiB of random bytes repeated (the servers read files; none
  # of them caches by content).
  head -c $((1 << 20)) /dev/urandom >"$DATA/chunk"
  mkfile() {
    local f=$1 mib=$2 i
    : >"$f"
    for ((i = 0; i < mib; ++i)); do cat "$DATA/chunk"; done >>"$f"
  }
  mkfile "$DATA/root/f64.bin" "${MIB:-64}"
  SIZES=(f64.bin)
  if [[ ${FULL:-0} == 1 ]]; then
    mkfile "$DATA/root/f512.bin" 512
    SIZES+=(f512.bin)
  fi
  chmod 644 "$DATA"/root/*
  RES=$DATA/results.tsv
  : >"$RES"
  START=$(date +%s)
  bash "$0" --phase plain "$DATA" "${SIZES[*]}"
  bash "$0" --phase impaired "$DATA" "f64.bin"
  python3 - "$RES" "$(date -u '+%Y-%m-%d %H:%M UTC')" "$(($(date +%s) - START))" <<'PY' | tee "${OUT:-/dev/null}"
import sys, collections, statistics
res, when, secs = sys.argv[1], sys.argv[2], sys.argv[3]
rows = collections.OrderedDict()
ceiling = {}
for line in open(res):
    f = line.rstrip('\n').split('\t')
    if f[0] == 'ceiling':
        ceiling[f[1]] = float(f[2]); continue
    link, file, client, server, mbps, done = f[0], f[1], f[2], f[3], float(f[4]), f[5] == '1'
    rows.setdefault((link, file, client), collections.OrderedDict()).setdefault(server, []).append((mbps, done))
servers = ['pinetboot', 'tftpd-hpa', 'atftpd', 'dnsmasq']
def med(v):
    m = statistics.median([x for x, _ in v])
    return m, all(d for _, d in v)
print(f"Run {when}, {secs} s in all. Machine: 2 shared cores (other builds running), Debian 12.")
print()
for link in ('plain', 'impaired'):
    print(f"### {link} link" + ("" if link == 'plain' else " (1 % loss + 1 ms delay each way, pinetboot-impair)"))
    if link in ceiling:
        print(f"Raw UDP ceiling (iperf3 -u, 1472-byte datagrams, server to client): {ceiling[link]:.1f} MB/s")
    print()
    print("| file | client | " + " | ".join(servers) + " |")
    print("|---|---|" + "---|" * len(servers))
    for (l, file, client), cells in rows.items():
        if l != link: continue
        base = med(cells['pinetboot'])[0] if 'pinetboot' in cells else None
        out = []
        for s in servers:
            if s not in cells:
                out.append('-'); continue
            m, done = med(cells[s])
            txt = f"{m:.2f}" + ("" if done else "~")
            if s != 'pinetboot' and base and m > 0:
                txt += f" ({base / m:.1f}x)"
            out.append(txt)
        print(f"| {file} | {client} | " + " | ".join(out) + " |")
    print()
print("MB/s = 10^6 bytes/s, median of the runs; (Nx) = pinetboot / that server; ~ = at least one run")
print("was cut by the time cap and scored as bytes received / cap.")
print()
print("### Targets")
def cell(link, client, server):
    for (l, f, c), cells in rows.items():
        if l == link and c == client and server in cells and f == 'f64.bin':
            return med(cells[server])[0]
    return None
for client in ('curl-512', 'busybox-1024', 'hpa-512', 'atftp-w1-1428'):
    p = cell('plain', client, 'pinetboot')
    for s in ('tftpd-hpa', 'dnsmasq'):
        o = cell('plain', client, s)
        if p is not None and o:
            print(f"- window 1, {client}: pinetboot {p:.2f} vs {s} {o:.2f} MB/s -> {'met' if p >= o else 'MISSED by %.0f %%' % (100 * (1 - p / o))}")
for client in ('curl-512', 'busybox-1024', 'atftp-w64-1428'):
    p = cell('impaired', client, 'pinetboot')
    others = [cell('impaired', client, s) for s in ('tftpd-hpa', 'atftpd', 'dnsmasq')]
    others = [o for o in others if o]
    if p is not None and others:
        b = max(others)
        print(f"- impaired, {client}: pinetboot {p:.2f} vs best other {b:.2f} MB/s = {p / b:.1f}x -> {'met' if p >= 10 * b else 'MISSED (target 10x)'}")
p, a = cell('plain', 'atftp-w64-1428', 'pinetboot'), cell('plain', 'atftp-w64-1428', 'atftpd')
if p and a:
    print(f"- blksize 1428 window 64: pinetboot {p:.2f} vs atftpd {a:.2f} MB/s = {p / a:.1f}x -> {'met' if p >= 2 * a else 'MISSED (target 2x)'}")
PY
  exit 0
fi

# --- One phase: its own namespaces ------------------------------------------------------------
PHASE=$2
DATA=$3
read -r -a FILES <<<"$4"
source "$SRC/tests/integration/lib/netns.sh"
source "$SRC/tests/integration/tftp_common.sh"
pnb_require_netns
TFTPD=$PINETBOOT_BUILD_DIR/examples/tftpd/pinetboot-tftpd
ROOT=$DATA/root
RES=$DATA/results.tsv
mkdir -p "$PNB_WORK/out"
if [[ $PHASE == plain ]]; then
  pnb_setup_veth
  DEV=veth0
  RUNS=${RUNS:-3}
  CAPS=${CAP:-25}
  CLIENTS=(curl-512 busybox-1024 hpa-512 atftp-w1-1428 atftp-w64-1428)
  [[ ${FULL:-0} == 1 ]] && CLIENTS+=(curl-1024 busybox-512)
else
  pnb_setup_impair --loss 0.01 --delay-ms 1 --seed 5
  DEV=taps
  RUNS=${RUNS_IMPAIRED:-1}
  CAPS=${CAP_IMPAIRED:-15}
  CLIENTS=(curl-512 busybox-1024 atftp-w64-1428)
fi

# Raw UDP ceiling of this link, server -> client.
pnb_bg ip netns exec "$PNB_SRV" iperf3 -s -1 -B "$PNB_SRV_IP" >/dev/null 2>&1
sleep 0.5
ceiling=$(pnb_in_cli iperf3 -c "$PNB_SRV_IP" -u -b 0 -l 1472 -t 4 -R --json 2>/dev/null |
  python3 -c 'import json,sys; d=json.load(sys.stdin); print("%.1f" % (d["end"]["sum"]["bytes"] / d["end"]["sum"]["seconds"] / 1e6 * (1 - d["end"]["sum"].get("lost_percent", 0) / 100)))' ||
  echo 0)
printf 'ceiling\t%s\t%s\n' "$PHASE" "$ceiling" >>"$RES"
echo "[$PHASE] raw UDP ceiling ${ceiling} MB/s"

start_server() {
  local name=$1 log=$PNB_WORK/$1.log
  case $name in
    pinetboot) pnb_bg ip netns exec "$PNB_SRV" "$TFTPD" --root "$ROOT" --listen "$PNB_SRV_IP" >"$log" 2>&1 ;;
    tftpd-hpa) pnb_bg ip netns exec "$PNB_SRV" in.tftpd -L -s "$ROOT" -a "$PNB_SRV_IP:69" -u nobody >"$log" 2>&1 ;;
    atftpd)
      pnb_bg ip netns exec "$PNB_SRV" "$ATFTPD" --daemon --no-fork --user nobody --group nogroup \
        --bind-address "$PNB_SRV_IP" --port 69 --logfile /dev/null "$ROOT" >"$log" 2>&1
      ;;
    dnsmasq)
      pnb_bg ip netns exec "$PNB_SRV" dnsmasq --no-daemon --port=0 --enable-tftp --tftp-root="$ROOT" \
        --conf-file=/dev/null --pid-file="$PNB_WORK/dnsmasq.pid" --user=nobody --group=nogroup \
        --interface="$DEV" --bind-interfaces --log-facility="$log" >"$log.out" 2>&1
      ;;
  esac
  SERVER_PID=${PNB_PIDS[-1]}
  local i
  for i in $(seq 1 50); do
    ip netns exec "$PNB_SRV" ss -Hlun 'sport = :69' | grep -q . && return 0
    sleep 0.1
  done
  echo "$name did not start"
  cat "$log"* || true
  return 1
}

stop_server() {
  kill "$SERVER_PID" 2>/dev/null || true
  wait "$SERVER_PID" 2>/dev/null || true
  # tftpd-hpa forks per transfer: let stragglers finish or die.
  ip netns pids "$PNB_SRV" | xargs -r kill 2>/dev/null || true
  sleep 0.3
}

for server in pinetboot tftpd-hpa atftpd dnsmasq; do
  start_server "$server"
  for file in "${FILES[@]}"; do
    size=$(stat -c %s "$ROOT/$file")
    cap=$CAPS
    [[ $file == f512.bin ]] && cap=$((CAPS * 8))
    for client in "${CLIENTS[@]}"; do
      kind=${client%%-*}
      blk=${client##*-}
      TFTP_ATFTP_WINDOW=64
      [[ $client == atftp-w1-* ]] && TFTP_ATFTP_WINDOW=1
      for ((run = 1; run <= RUNS; ++run)); do
        out=$PNB_WORK/out/x
        TFTP_TIMEOUT=$cap
        t0=$(date +%s%N)
        rc=0
        tftp_get "$kind" "$blk" "$file" "$out" || rc=$?
        t1=$(date +%s%N)
        got=$(stat -c %s "$out" 2>/dev/null || echo 0)
        done=0
        if ((rc == 0)) && ((got == size)) && cmp -s "$out" "$ROOT/$file"; then
          done=1
          secs_ns=$((t1 - t0))
        else
          # Cut by the cap (or failed): score what arrived over the whole cap.
          secs_ns=$(((t1 - t0) > cap * 1000000000 ? (t1 - t0) : cap * 1000000000))
          if ((rc == 0)) && ((got == size)); then
            echo "[$PHASE] $server $client: WRONG CONTENT" >&2
            got=0
          fi
        fi
        mbps=$(python3 -c "print('%.3f' % ($got / ($secs_ns / 1e9) / 1e6))")
        printf '%s\t%s\t%s\t%s\t%s\t%s\n' "$PHASE" "$file" "$client" "$server" "$mbps" "$done" >>"$RES"
        echo "[$PHASE] $server $file $client run $run: $mbps MB/s$( ((done)) || echo " (incomplete: rc $rc, $got of $size bytes)")"
        rm -f "$out" "$out.log"
      done
    done
  done
  stop_server
done
