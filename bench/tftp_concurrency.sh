#!/usr/bin/env bash
# 1000 simultaneous lockstep downloads (blksize 1024, as a Raspberry Pi 4 asks) of a ~1 MB file
# from ONE pinetboot-tftpd process, over a veth pair between two network namespaces. The load
# comes from pinetboot-tftp-load (bench/tools/tftp_load.cpp: tftp::client_reader per transfer,
# one epoll thread, bytes hashed and compared with the served file). Reports whether every
# transfer completed with the right checksum, and the server's memory per live transfer:
# (peak VmRSS while all transfers are live - idle VmRSS after a warm-up transfer) / N.
# Target: <= 64 KiB per live transfer. Not run in CI.
#
#   bench/tftp_concurrency.sh [BUILD_DIR]     (default build/bench-rel; Release; root)
#   BUILD_DIR needs pinetboot-tftpd and pinetboot-impair in Release, e.g.:
#     cmake -S . -B build/bench-rel -G Ninja -DCMAKE_BUILD_TYPE=Release -DPINETBOOT_BUILD_FUZZERS=OFF
#     cmake --build build/bench-rel -j2 --target pinetboot-tftpd pinetboot-impair
#   CLIENTS=1000 BLKSIZE=1024 SIZE=1000000 TIMEOUT=300
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
SRC=$(cd "$HERE/.." && pwd)
BUILD=$(cd "${1:-$SRC/build/bench-rel}" && pwd)
export PINETBOOT_BUILD_DIR=$BUILD
CLIENTS=${CLIENTS:-1000}
BLKSIZE=${BLKSIZE:-1024}
SIZE=${SIZE:-1000000}
TIMEOUT=${TIMEOUT:-300}
TFTPD=$BUILD/examples/tftpd/pinetboot-tftpd
[[ -x $TFTPD ]] || { echo "build pinetboot-tftpd in $BUILD first"; exit 1; }
LOAD=$BUILD/bench/tools/pinetboot-tftp-load
if [[ ! -x $LOAD ]]; then
  # Until bench/CMakeLists.txt adds tools/: build it against the tree's TFTP library.
  [[ -f $BUILD/src/tftp/libpinetboot_tftp.a ]] || { echo "build pinetboot_tftp in $BUILD first"; exit 1; }
  LOAD=$BUILD/pinetboot-tftp-load
  g++ -std=c++20 -O2 -Wall -Wextra -Wconversion -Wsign-conversion -Wshadow -I"$SRC/include" \
    "$SRC/bench/tools/tftp_load.cpp" "$BUILD/src/tftp/libpinetboot_tftp.a" -o "$LOAD"
fi

source "$SRC/tests/integration/lib/netns.sh"
pnb_require_netns
ulimit -n "$(ulimit -Hn)" 2>/dev/null || true  # one socket per transfer on both sides
pnb_setup_veth
ROOT=$PNB_WORK/root
mkdir -m 755 "$ROOT"
head -c "$SIZE" /dev/urandom >"$ROOT/kernel8.img"
chmod 644 "$ROOT/kernel8.img"
LOG=$PNB_WORK/tftpd.log
# All load comes from one address, so the per-client cap (64 by default) is lifted.
pnb_bg ip netns exec "$PNB_SRV" "$TFTPD" --root "$ROOT" --listen "$PNB_SRV_IP" \
  --max-transfers $((CLIENTS + 100)) --max-per-client $((CLIENTS + 100)) >"$LOG" 2>&1
PID=${PNB_PIDS[-1]}
for _ in $(seq 1 100); do
  grep -q serving "$LOG" && break
  sleep 0.1
done
grep -q serving "$LOG" || { cat "$LOG"; exit 1; }

kib() { awk -v k="$2" '$1 == k":" {print $2}' "/proc/$1/status"; }
# Warm-up: one transfer, so the idle figure includes what the first transfer sets up once.
pnb_in_cli "$LOAD" --server "$PNB_SRV_IP" --file kernel8.img --clients 1 --blksize "$BLKSIZE" \
  --expect "$ROOT/kernel8.img" >/dev/null
sleep 0.5
IDLE=$(kib "$PID" VmRSS)
echo 5 >"/proc/$PID/clear_refs"  # reset VmHWM to the current RSS

READY=$PNB_WORK/ready
SAMPLES=$PNB_WORK/rss
: >"$SAMPLES"
T0=$(date +%s%N)
pnb_bg ip netns exec "$PNB_CLI" "$LOAD" --server "$PNB_SRV_IP" --file kernel8.img --clients "$CLIENTS" \
  --blksize "$BLKSIZE" --expect "$ROOT/kernel8.img" --timeout "$TIMEOUT" --ready-file "$READY" \
  >"$PNB_WORK/load.out" 2>&1
LPID=${PNB_PIDS[-1]}
AT_READY=""
while kill -0 "$LPID" 2>/dev/null; do
  r=$(kib "$PID" VmRSS)
  echo "$r" >>"$SAMPLES"
  if [[ -z $AT_READY && -f $READY ]]; then
    AT_READY=$r
    LIVE_AT_READY=$(ip netns exec "$PNB_SRV" ss -Hun state all "src $PNB_SRV_IP" | wc -l)
  fi
  sleep 0.05
done
rc=0
wait "$LPID" || rc=$?
T1=$(date +%s%N)
HWM=$(kib "$PID" VmHWM)
PEAK=$(sort -n "$SAMPLES" | tail -1)
COMPLETE=$(grep -c 'kernel8.img: .* complete$' "$LOG" || true)
kill "$PID"
wait "$PID" 2>/dev/null || true

echo "--- pinetboot-tftpd, $CLIENTS x $SIZE bytes, blksize $BLKSIZE, lockstep ---"
cat "$PNB_WORK/load.out"
echo "load tool exit $rc; server log: $((COMPLETE - 1)) load transfers complete (+1 warm-up)"
tail -1 "$LOG"
echo "wall $(((T1 - T0) / 1000000)) ms"
echo "server RSS: idle $IDLE KiB, when all $CLIENTS were live ${AT_READY:-?} KiB (${LIVE_AT_READY:-?} UDP sockets)," \
  "sampled peak $PEAK KiB, VmHWM $HWM KiB"
awk -v i="$IDLE" -v p="$HWM" -v n="$CLIENTS" \
  'BEGIN { printf "per live transfer: %.1f KiB (VmHWM - idle) / %d; target <= 64 KiB: %s\n", (p - i) / n, n, ((p - i) / n <= 64 ? "met" : "MISSED") }'
((rc == 0)) || exit 1
