# shellcheck shell=bash
# Helpers shared by the TFTP script tests (tftp_interop.sh, tftp_impaired.sh) and sourced by
# bench/tftp_compare.sh: the four real Debian clients behind one calling convention, and
# pass/fail bookkeeping. Source tests/integration/lib/netns.sh first.
#
#   tftp_get CLIENT BLKSIZE FILE OUT [PORT]
#     Fetches FILE from $PNB_SRV_IP inside $PNB_CLI. CLIENT is one of
#       curl      curl tftp:// --tftp-blksize BLKSIZE --path-as-is (lockstep)
#       hpa       tftp-hpa, plain RFC 1350 (BLKSIZE ignored: always 512)
#       atftp     atftp 0.8 with windowsize $TFTP_ATFTP_WINDOW (default 64), blksize, tsize 0
#       busybox   busybox tftp -b BLKSIZE (lockstep)
#     Returns 0 when the client says it succeeded; the client's output goes to OUT.log.
#     tftp-hpa exits 0 even after an ERROR packet, so its output is checked as well.

TFTP_TIMEOUT=${TFTP_TIMEOUT:-60}
TFTP_ATFTP_WINDOW=${TFTP_ATFTP_WINDOW:-64}
TFTP_PASSED=0
TFTP_FAILED=0
TFTP_FAILURES=()

tftp_require_tools() {
  local missing=() t
  for t in "$@"; do
    command -v "$t" >/dev/null || missing+=("$t")
  done
  if ((${#missing[@]})); then
    echo "SKIP: missing ${missing[*]} (packages: curl tftp-hpa atftp busybox-static)"
    exit 77
  fi
}

tftp_get() {
  local client=$1 blksize=$2 file=$3 out=$4 port=${5:-69}
  local log=$out.log rc
  rm -f "$out" "$log"
  set +e
  case $client in
    curl)
      pnb_in_cli timeout "$TFTP_TIMEOUT" curl -sS --path-as-is --max-time "$TFTP_TIMEOUT" \
        --tftp-blksize "$blksize" -o "$out" "tftp://$PNB_SRV_IP:$port/$file" >"$log" 2>&1
      rc=$?
      ;;
    hpa)
      pnb_in_cli timeout "$TFTP_TIMEOUT" tftp -m binary "$PNB_SRV_IP" "$port" -c get "$file" "$out" >"$log" 2>&1
      rc=$?
      # tftp-hpa reports "Error code N: ..." or "Transfer timed out." and still exits 0.
      if ((rc == 0)) && grep -qE 'Error code|timed out|Transfer failed' "$log"; then rc=1; fi
      ;;
    atftp)
      pnb_in_cli timeout "$TFTP_TIMEOUT" atftp --option "windowsize $TFTP_ATFTP_WINDOW" --option "blksize $blksize" \
        --option "tsize 0" -g -r "$file" -l "$out" "$PNB_SRV_IP" "$port" >"$log" 2>&1
      rc=$?
      ;;
    atftp-plain)  # atftp without windowsize (lockstep), for blksize/rollover checks
      pnb_in_cli timeout "$TFTP_TIMEOUT" atftp --option "blksize $blksize" --option "tsize 0" \
        -g -r "$file" -l "$out" "$PNB_SRV_IP" "$port" >"$log" 2>&1
      rc=$?
      ;;
    busybox)
      pnb_in_cli timeout "$TFTP_TIMEOUT" busybox tftp -g -b "$blksize" -r "$file" -l "$out" "$PNB_SRV_IP" "$port" \
        >"$log" 2>&1
      rc=$?
      ;;
    *)
      echo "tftp_get: unknown client $client" >&2
      rc=2
      ;;
  esac
  set -e
  return "$rc"
}

tftp_pass() {
  TFTP_PASSED=$((TFTP_PASSED + 1))
  echo "PASS $*"
}

tftp_fail() {
  TFTP_FAILED=$((TFTP_FAILED + 1))
  TFTP_FAILURES+=("$*")
  echo "FAIL $*"
}

tftp_now_ms() { echo $(($(date +%s%N) / 1000000)); }

# tftp_expect_file LABEL CLIENT BLKSIZE FILE EXPECTED [PORT]: the fetch succeeds and the bytes
# equal EXPECTED (a local file). Prints the time taken.
tftp_expect_file() {
  local label=$1 client=$2 blksize=$3 file=$4 expected=$5 port=${6:-69}
  local out=$PNB_WORK/out/$label t0 t1 rc=0
  mkdir -p "$PNB_WORK/out"
  t0=$(tftp_now_ms)
  tftp_get "$client" "$blksize" "$file" "$out" "$port" || rc=$?
  t1=$(tftp_now_ms)
  if ((rc != 0)); then
    tftp_fail "$label: $client exit $rc: $(tail -c 300 "$out.log" | tr '\n' ' ')"
    return 0
  fi
  # A 0-byte download may leave no file behind with some clients; rc 0 and no bytes is then
  # still compared against the expected size below.
  [[ -e $out ]] || : >"$out"
  if cmp -s "$out" "$expected"; then
    tftp_pass "$label: $(stat -c %s "$out") bytes, sha256 ok, $((t1 - t0)) ms"
  else
    tftp_fail "$label: content differs ($(stat -c %s "$out") vs $(stat -c %s "$expected") bytes)"
  fi
  rm -f "$out"
}

# Lines in the server log that mention FILE (as requested).
tftp_log_count() { grep -cF " $2: " "$1" || true; }

# tftp_expect_refused LABEL CLIENT FILE SERVERLOG WHAT [PORT] [SECRET]: the client reports an
# error, saves nothing (or an empty file: tftp-hpa creates it before asking), the server logs
# WHAT ("not found" / "access violation") for FILE, and SECRET (if given) appears nowhere in
# the output.
tftp_expect_refused() {
  local label=$1 client=$2 file=$3 log=$4 what=$5 port=${6:-69} secret=${7:-}
  local out=$PNB_WORK/out/$label before rc=0 line _
  mkdir -p "$PNB_WORK/out"
  before=$(tftp_log_count "$log" "$file")
  tftp_get "$client" 512 "$file" "$out" "$port" || rc=$?
  if ((rc == 0)); then
    tftp_fail "$label: $client reported success for a refused file"
    return 0
  fi
  if [[ -s $out ]]; then
    tftp_fail "$label: $client saved $(stat -c %s "$out") bytes of a refused file"
    return 0
  fi
  if [[ -n $secret ]] && grep -rqF "$secret" "$PNB_WORK/out"; then
    tftp_fail "$label: the secret leaked into the client's output"
    return 0
  fi
  for _ in $(seq 1 50); do
    (($(tftp_log_count "$log" "$file") > before)) && break
    sleep 0.1
  done
  line=$(grep -F " $file: " "$log" | tail -1)
  if (($(tftp_log_count "$log" "$file") <= before)); then
    tftp_fail "$label: the server logged nothing for $file"
  elif [[ $line != *"$what"* ]]; then
    tftp_fail "$label: server logged '$line', expected '$what'"
  else
    tftp_pass "$label: $client exit $rc, server: ${line#* tftp }"
  fi
  rm -f "$out"
}

# Starts pinetboot-tftpd in $PNB_SRV with ARGS, logging to LOG; waits until it serves.
tftp_start_server() {
  local log=$1
  shift
  pnb_bg ip netns exec "$PNB_SRV" "$TFTPD" "$@" >"$log" 2>&1
  local _
  for _ in $(seq 1 100); do
    grep -q 'serving' "$log" 2>/dev/null && return 0
    sleep 0.1
  done
  echo "pinetboot-tftpd did not start:"
  cat "$log"
  return 1
}

tftp_summary() {
  local name=$1
  echo "$name: $TFTP_PASSED passed, $TFTP_FAILED failed"
  if ((TFTP_FAILED)); then
    printf '  failed: %s\n' "${TFTP_FAILURES[@]}"
    return 1
  fi
  return 0
}
