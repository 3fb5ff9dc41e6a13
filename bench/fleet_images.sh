#!/usr/bin/env bash
# Fleet images benchmark: what generations cost in time and disk, in a scratch --prefix.
#   1. image import of a synthetic SIZE_MB image (files of 100 KiB, random data, plus a boot
#      tree of 40 MiB), 2. add BOARDS shared-root boards, 3. image exec changing CHANGE_PCT %
#      of the files, 4. upgrade --all and rollback --all of the shared boards, 5. the same for
#      COPY_BOARDS copy-root boards (each a full copy: reflinks only where the file system has
#      them). Reports wall time per step and bytes on disk (du, hard links counted once).
#
#   bench/fleet_images.sh [BUILD_DIR]   (default build/bench-img; root; not run in CI)
#     cmake --preset bench -DPINETBOOT_BUILD_EXAMPLES=ON -B build/bench-img
#     cmake --build build/bench-img --target pinetboot-provision
#   SIZE_MB (1024), BOARDS (100), COPY_BOARDS (10), CHANGE_PCT (5), WORK (a mktemp dir in /var/tmp)
set -euo pipefail
build=${1:-build/bench-img}
tool=$build/examples/provision/pinetboot-provision
[[ -x $tool ]] || { echo "build $tool first (see the header of $0)"; exit 1; }
[[ $(id -u) == 0 ]] || { echo "needs root (image exec chroots)"; exit 1; }
size_mb=${SIZE_MB:-1024} boards=${BOARDS:-100} copy_boards=${COPY_BOARDS:-10} pct=${CHANGE_PCT:-5}
work=${WORK:-$(mktemp -d /var/tmp/pinetboot-bench-img.XXXXXX)}
trap 'rm -rf "$work"' EXIT
prefix=$work/p
P() { "$tool" --prefix "$prefix" "$@"; }
now() { date +%s.%N; }
secs() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", b - a }'; }
# Bytes on disk of the paths together (one du: an inode linked from two of them counts once).
du_b() { du -scB1 "$@" 2>/dev/null | awk 'END { printf "%.0f\n", $1 }'; }
mib() { awk -v b="$1" 'BEGIN { printf "%.1f MiB", b / 1048576 }'; }
kib() { awk -v b="$1" 'BEGIN { printf "%.1f KiB", b / 1024 }'; }

echo "# fleet images: ${size_mb} MiB image, $boards shared boards, $copy_boards copy boards, exec changes $pct % of files"
echo "# $(uname -r), $(nproc) cores, $(df -T "$work" | awk 'NR==2 { print $2 }') at $work, $(date -u +%FT%TZ)"
g=$work/golden
mkdir -p "$g/boot" "$g/root/bin" "$g/root/etc" "$g/root/boot/firmware" "$g/root/proc" "$g/root/sys" "$g/root/dev" "$g/root/usr/lib"
cp /bin/busybox "$g/root/bin/busybox"
for a in sh cat echo; do ln -s busybox "$g/root/bin/$a"; done
echo "console=serial0,115200 root=PARTUUID=1-02 rootwait" >"$g/boot/cmdline.txt"
for ((i = 0; i < 20; ++i)); do head -c 2097152 /dev/urandom >"$g/boot/firmware$i.bin"; done
files=$((size_mb * 1024 / 100))
for ((d = 0; d < files / 500 + 1; ++d)); do mkdir -p "$g/root/usr/lib/d$d"; done
head -c $((files * 102400)) /dev/urandom | split -b 102400 -a 6 - "$g/root/usr/lib/chunk."
i=0
for f in "$g/root/usr/lib"/chunk.*; do mv "$f" "$g/root/usr/lib/d$((i / 500))/f$i"; i=$((i + 1)); done
changes=$((files * pct / 100))
# The list of files exec will change: every (100/pct)th one.
for ((i = 0; i < files; i += 100 / pct)); do echo "/usr/lib/d$((i / 500))/f$i"; done >"$g/root/etc/bench-changes"
echo "golden tree: $files files, $(mib "$(du_b "$g")")"

t=$(now); P image import img --from-tree "$g/boot" "$g/root" >/dev/null; t1=$(now)
gen1=$(du_b "$prefix/srv/pinetboot/images/img/1")
echo "import:                         $(secs "$t" "$t1") s, generation 1 $(mib "$gen1") on disk"
rm -rf "$g"

t=$(now)
for ((i = 1; i <= boards; ++i)); do
  P add --serial "$(printf 'ab%06x' "$i")" --ip "10.77.$((i / 250 + 1)).$((i % 250 + 1))" --server-ip 10.77.0.1 \
    --image img --root-model shared >/dev/null
done
t1=$(now)
all=$(du_b "$prefix/srv/pinetboot/images" "$prefix/srv/tftp" "$prefix/srv/nfs")
per=$(( (all - gen1) / boards ))
echo "add $boards shared boards:          $(secs "$t" "$t1") s, $(kib $per) per board = $(awk -v a=$per -v b=$gen1 'BEGIN { printf "%.3f", 100 * a / b }') % of one full copy (target <= 2 %)"

t=$(now)
P image exec img -- sh -c 'while read f; do echo changed >>"$f"; done </etc/bench-changes' >/dev/null
t1=$(now)
gen2=$(( $(du_b "$prefix/srv/pinetboot/images/img") - $(du_b "$prefix/srv/pinetboot/images/img/1") ))
echo "exec changing $changes files:      $(secs "$t" "$t1") s, generation 2 adds $(mib $gen2)"

t=$(now); P upgrade --all >/dev/null; t1=$(now)
echo "upgrade --all ($boards shared):     $(secs "$t" "$t1") s (target < 10 s)"
t=$(now); P rollback --all >/dev/null; t1=$(now)
echo "rollback --all ($boards shared):    $(secs "$t" "$t1") s"

t=$(now)
for ((i = 1; i <= copy_boards; ++i)); do
  P add --serial "$(printf 'cd%06x' "$i")" --ip "10.78.0.$i" --server-ip 10.77.0.1 --image img --root-model copy >/dev/null
done
t1=$(now)
before=$all
all=$(du_b "$prefix/srv/pinetboot/images" "$prefix/srv/tftp" "$prefix/srv/nfs")
echo "add $copy_boards copy boards:            $(secs "$t" "$t1") s, $(mib $(( (all - before) / copy_boards ))) per board ($(mib "$(du_b "$prefix/srv/nfs/cd000001")") in the first board's folder)"
list=$(for ((i = 1; i <= copy_boards; ++i)); do printf 'cd%06x,' "$i"; done)
t=$(now); P upgrade --boards "$list" --to 1 >/dev/null; t1=$(now)
echo "move $copy_boards copy boards to @1:     $(secs "$t" "$t1") s"
t=$(now); P rollback --boards "$list" >/dev/null; t1=$(now)
echo "rollback $copy_boards copy boards to @2: $(secs "$t" "$t1") s"
t=$(now); P verify >/dev/null; t1=$(now)
echo "verify (all boards, every file hashed): $(secs "$t" "$t1") s"
