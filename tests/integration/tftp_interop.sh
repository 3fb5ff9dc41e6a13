#!/usr/bin/env bash
# pinetboot-tftpd against the real TFTP clients of Debian 12, over a veth pair between two
# network namespaces (server 10.77.0.1 in $PNB_SRV, clients in $PNB_CLI; the host's
# interfaces are never touched):
#   * curl (lockstep, blksize 512 and 1468), tftp-hpa (plain RFC 1350), atftp 0.8 (windowsize
#     64, blksize 1428, tsize 0) and busybox tftp (-b 512 / -b 1024) fetch an empty file, 1 byte,
#     exact multiples of 512/1024/1428/1468 and off-by-one sizes; the bytes must match;
#   * a missing file: the client reports an error, the server logs "not found";
#   * traversal (`../`, curl --path-as-is) and symlinks out of the root (absolute and relative)
#     are refused and the secret outside the root never reaches the client; an in-root symlink
#     is served;
#   * a file longer than 65535 blocks of 512 (block number rollover to 0) via curl and tftp-hpa
#     (busybox and atftp are checked and reported, not required: see the log);
#   * per-client roots (--per-client mac): the client's MAC folder (dash form) serves it when
#     present, the shared root when absent; the MAC comes from the server namespace's neighbour
#     table, flushed first, so the very first request has to find it there;
#   * single-port mode (--single-port): every client, several file sizes, the rollover file, a
#     refusal, and four clients at once, all answered from the listening port.
# Under ASan+UBSan the server is a few times slower; the rollover file alone is ~68k round trips.
TFTP_TIMEOUT=${TFTP_TIMEOUT:-90}
source "$(dirname "$0")/lib/netns.sh"
source "$(dirname "$0")/tftp_common.sh"
pnb_require_netns
tftp_require_tools curl tftp atftp busybox cmp sha256sum
TFTPD=${PINETBOOT_BUILD_DIR:?}/examples/tftpd/pinetboot-tftpd
[[ -x $TFTPD ]] || { echo "SKIP: $TFTPD not built"; exit 77; }

pnb_setup_veth
ROOT=$PNB_WORK/root
mkdir -p "$ROOT/sub" "$PNB_WORK/outside" "$PNB_WORK/out"
chmod 755 "$ROOT" "$ROOT/sub"  # the server drops root privileges to nobody after binding

# --- Files -----------------------------------------------------------------------------------
mkfile() { head -c "$2" /dev/urandom >"$ROOT/$1"; }
: >"$ROOT/empty.bin"
mkfile one.bin 1
mkfile b511.bin 511
mkfile b512.bin 512
mkfile b513.bin 513
mkfile b512x2048.bin $((512 * 2048))
mkfile b1024x700.bin $((1024 * 700))
mkfile b1428x700.bin $((1428 * 700))
mkfile b1468x1.bin 1468
mkfile b1468x700.bin $((1468 * 700))
mkfile sub/nested.bin 3000
ln -s sub/nested.bin "$ROOT/inside-link.bin"
SECRET="PNB-SECRET-$RANDOM$RANDOM"
echo "$SECRET" >"$PNB_WORK/outside/secret.txt"
chmod 755 "$PNB_WORK/outside"
ln -s "$PNB_WORK/outside/secret.txt" "$ROOT/abs-link.txt"
ln -s ../outside/secret.txt "$ROOT/rel-link.txt"
ln -s ../../outside/secret.txt "$ROOT/sub/rel-link2.txt"
ln -s "$PNB_WORK/outside" "$ROOT/outdir"
# Rollover: more than 65535 blocks of 512 bytes (33553920), not a multiple of 512.
ROLL_SIZE=$((65535 * 512 + 1024 * 1024 + 77))
head -c "$ROLL_SIZE" /dev/urandom >"$ROOT/rollover.bin"
chmod -R a+rX "$ROOT"

LOG=$PNB_WORK/tftpd.log
tftp_start_server "$LOG" --root "$ROOT"

# --- Matrix: every client, its block sizes, every file -----------------------------------------
FILES=(empty.bin one.bin b511.bin b512.bin b513.bin b512x2048.bin b1024x700.bin b1428x700.bin
       b1468x1.bin b1468x700.bin sub/nested.bin inside-link.bin)
for f in "${FILES[@]}"; do
  tag=${f//\//_}
  tftp_expect_file "curl-512-$tag" curl 512 "$f" "$ROOT/$f"
  tftp_expect_file "curl-1468-$tag" curl 1468 "$f" "$ROOT/$f"
  tftp_expect_file "hpa-$tag" hpa 512 "$f" "$ROOT/$f"
  tftp_expect_file "atftp-w64-1428-$tag" atftp 1428 "$f" "$ROOT/$f"
  tftp_expect_file "busybox-512-$tag" busybox 512 "$f" "$ROOT/$f"
  tftp_expect_file "busybox-1024-$tag" busybox 1024 "$f" "$ROOT/$f"
done
# atftp at the largest block that fits a 1500-byte MTU, and with exact multiples of it.
tftp_expect_file "atftp-w64-1468-b1468x700" atftp 1468 b1468x700.bin "$ROOT/b1468x700.bin"
tftp_expect_file "atftp-w64-1468-b1468x1" atftp 1468 b1468x1.bin "$ROOT/b1468x1.bin"

# --- Refusals --------------------------------------------------------------------------------
for c in curl hpa atftp busybox; do
  tftp_expect_refused "$c-missing" "$c" missing.bin "$LOG" "not found"
  tftp_expect_refused "$c-traversal" "$c" ../outside/secret.txt "$LOG" "access violation" 69 "$SECRET"
done
tftp_expect_refused "curl-traversal-deep" curl sub/../../outside/secret.txt "$LOG" "access violation" 69 "$SECRET"
tftp_expect_refused "hpa-traversal-etc" hpa ../../../../../../etc/passwd "$LOG" "access violation"
# An absolute name is relative to the root: /etc/passwd means <root>/etc/passwd, which is absent.
tftp_expect_refused "hpa-absolute-etc" hpa /etc/passwd "$LOG" "not found"
for c in curl hpa; do
  tftp_expect_refused "$c-symlink-absolute" "$c" abs-link.txt "$LOG" "access violation" 69 "$SECRET"
  tftp_expect_refused "$c-symlink-relative" "$c" rel-link.txt "$LOG" "access violation" 69 "$SECRET"
  tftp_expect_refused "$c-symlink-relative-nested" "$c" sub/rel-link2.txt "$LOG" "access violation" 69 "$SECRET"
  tftp_expect_refused "$c-symlink-dir" "$c" outdir/secret.txt "$LOG" "access violation" 69 "$SECRET"
done
# A directory is not a file.
tftp_expect_refused "curl-directory" curl sub "$LOG" "FAILED"

# --- Block number rollover -------------------------------------------------------------------
tftp_expect_file "rollover-curl-512" curl 512 rollover.bin "$ROOT/rollover.bin"
tftp_expect_file "rollover-hpa-512" hpa 512 rollover.bin "$ROOT/rollover.bin"
# Informational: whether busybox and atftp cope with the wrap (not required by the issue).
for c in busybox atftp-plain; do
  if tftp_get "$c" 512 rollover.bin "$PNB_WORK/out/roll-$c" && cmp -s "$PNB_WORK/out/roll-$c" "$ROOT/rollover.bin"; then
    echo "INFO rollover-$c-512: ok"
  else
    echo "INFO rollover-$c-512: not ok ($(tail -c 200 "$PNB_WORK/out/roll-$c.log" | tr '\n' ' '))"
  fi
  rm -f "$PNB_WORK/out/roll-$c"
done
grep -F 'rollover.bin' "$LOG" | sed 's/^/  server: /'

# --- Per-client roots by MAC -----------------------------------------------------------------
ROOT2=$PNB_WORK/root2
CMAC=$(ip -n "$PNB_CLI" -br link show veth0 | awk '{print $3}')
CDIR=${CMAC//:/-}
mkdir -p "$ROOT2/$CDIR"
echo "shared copy" >"$ROOT2/who.txt"
echo "per-client copy for $CDIR" >"$ROOT2/$CDIR/who.txt"
chmod -R a+rX "$ROOT2"
LOG2=$PNB_WORK/tftpd-mac.log
tftp_start_server "$LOG2" --root "$ROOT2" --port 1069 --per-client mac
# Forget the neighbours so the server learns the client's MAC from this very exchange.
ip -n "$PNB_SRV" neigh flush dev veth0
ip -n "$PNB_CLI" neigh flush dev veth0
tftp_expect_file "perclient-mac-first-request-curl" curl 512 who.txt "$ROOT2/$CDIR/who.txt" 1069
tftp_expect_file "perclient-mac-hpa" hpa 512 who.txt "$ROOT2/$CDIR/who.txt" 1069
if grep -F 'who.txt' "$LOG2" | grep -qF "root $CDIR"; then
  tftp_pass "perclient-mac-log: server logged root $CDIR"
else
  tftp_fail "perclient-mac-log: no 'root $CDIR' in $(grep -F who.txt "$LOG2" | tail -1)"
fi
# The client's folder is absent: the shared root serves it.
mv "$ROOT2/$CDIR" "$ROOT2/not-$CDIR"
tftp_expect_file "perclient-mac-absent-curl" curl 512 who.txt "$ROOT2/who.txt" 1069
tftp_expect_file "perclient-mac-absent-busybox" busybox 1024 who.txt "$ROOT2/who.txt" 1069
# Colon spelling is accepted too by --per-client mac.
mkdir -p "$ROOT2/$CMAC"
echo "colon copy" >"$ROOT2/$CMAC/who.txt"
chmod -R a+rX "$ROOT2"
tftp_expect_file "perclient-mac-colon-curl" curl 512 who.txt "$ROOT2/$CMAC/who.txt" 1069

# --- Single-port mode (--single-port): every transfer answers from the listening port ---------
# The clients must accept DATA from port 2069 itself (the TID they requested from), and the
# batched receive and send paths must serve several clients at once.
LOG3=$PNB_WORK/tftpd-single.log
tftp_start_server "$LOG3" --root "$ROOT" --port 2069 --single-port
for f in empty.bin one.bin b512x2048.bin b1468x700.bin; do
  tag=single-${f//\//_}
  tftp_expect_file "$tag-curl-1468" curl 1468 "$f" "$ROOT/$f" 2069
  tftp_expect_file "$tag-hpa" hpa 512 "$f" "$ROOT/$f" 2069
  tftp_expect_file "$tag-atftp-w64-1428" atftp 1428 "$f" "$ROOT/$f" 2069
  tftp_expect_file "$tag-busybox-1024" busybox 1024 "$f" "$ROOT/$f" 2069
done
tftp_expect_file "single-rollover-curl-512" curl 512 rollover.bin "$ROOT/rollover.bin" 2069
tftp_expect_refused "single-missing-curl" curl missing.bin "$LOG3" "not found" 2069
tftp_expect_refused "single-traversal-hpa" hpa ../outside/secret.txt "$LOG3" "access violation" 2069 "$SECRET"
# Four clients at once, all on the one server port.
pids=()
for c in curl hpa atftp busybox; do
  tftp_get "$c" 1024 b1024x700.bin "$PNB_WORK/out/single-parallel-$c" 2069 & pids+=($!)
done
for i in "${!pids[@]}"; do
  c=(curl hpa atftp busybox); c=${c[$i]}
  if wait "${pids[$i]}" && cmp -s "$PNB_WORK/out/single-parallel-$c" "$ROOT/b1024x700.bin"; then
    tftp_pass "single-parallel-$c: concurrent fetch on one port matches"
  else
    tftp_fail "single-parallel-$c: $(tail -c 200 "$PNB_WORK/out/single-parallel-$c.log" 2>/dev/null | tr '\n' ' ')"
  fi
done

echo "--- server log (last lines) ---"
tail -5 "$LOG"
tftp_summary tftp_interop
