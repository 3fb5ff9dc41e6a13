#!/usr/bin/env bash
# make-demo-tree.sh [--scale N] DIR SERIAL...
#
# Creates a small golden Raspberry Pi network-boot tree in DIR for demos and tests: the files of
# the Pi 3, Pi 4 and Pi 5 sequences (shared/spec/raspberry-pi-netboot.md 4.3) with the right
# names and plausible sizes (start4.elf 2 MB, kernel8.img 8 MB, ...), their contents generated
# from a fixed seed (identical on every run), plus one per-serial folder DIR/<serial>/ for each
# SERIAL (8 hex digits) whose files are hard links to the root ones (copies where links fail).
# Files a Pi probes but that are normally missing (bootsig.bin, pieeprom.sig, recover4.elf, ...)
# are deliberately absent. --scale N divides the sizes of the big binaries by N (tests use 16).
set -euo pipefail

usage() { echo "usage: $0 [--scale N] DIR SERIAL..." >&2; exit 2; }
scale=1
if [[ ${1:-} == --scale ]]; then
  [[ ${2:-} =~ ^[1-9][0-9]*$ ]] || usage
  scale=$2
  shift 2
fi
(($# >= 1)) || usage
dir=$1
shift
for s in "$@"; do
  [[ $s =~ ^[0-9a-fA-F]{8}$ ]] || { echo "$0: serial '$s' is not 8 hex digits" >&2; exit 2; }
done
command -v python3 >/dev/null || { echo "$0: needs python3" >&2; exit 1; }
mkdir -p "$dir"

python3 - "$dir" "$scale" <<'PY'
import os, random, sys
root, scale = sys.argv[1], int(sys.argv[2])
KB, MB = 1024, 1024 * 1024
# name: (size, scaled). Sizes are those of a 2024 Raspberry Pi OS boot partition, rounded.
files = {
    "bootcode.bin": (52 * KB, False),
    "start.elf": (2 * MB + 900 * KB, True),
    "fixup.dat": (7 * KB, False),
    "start4.elf": (2 * MB + 200 * KB, True),
    "fixup4.dat": (5 * KB + 400, False),
    "bcm2710-rpi-3-b.dtb": (32 * KB, False),
    "bcm2711-rpi-4-b.dtb": (55 * KB, False),
    "bcm2712-rpi-5-b.dtb": (78 * KB, False),
    "overlays/overlay_map.dtb": (5 * KB + 100, False),
    "kernel8.img": (8 * MB + 300 * KB, True),
    "kernel_2712.img": (9 * MB + 100 * KB, True),
    "initramfs_2712": (3 * MB, True),
}
for i, (name, (size, scaled)) in enumerate(sorted(files.items())):
    if scaled:
        size = max(size // scale, 4096)
    path = os.path.join(root, name)
    os.makedirs(os.path.dirname(path), exist_ok=True)
    rng = random.Random(0x5049 + i)  # fixed seed per file: the tree is identical on every run
    with open(path + ".tmp", "wb") as f:
        f.write(rng.randbytes(size))
    os.replace(path + ".tmp", path)
texts = {
    "config.txt": "# pinetboot demo tree\narm_64bit=1\nenable_uart=1\nuart_2ndstage=1\n",
    "cmdline.txt": "console=serial0,115200 console=tty1 root=/dev/nfs nfsroot=10.77.0.1:/srv/nfs/root,vers=4.1,proto=tcp rw ip=dhcp rootwait\n",
}
for name, text in texts.items():
    with open(os.path.join(root, name), "w") as f:
        f.write(text)
PY

# Per-serial folders: the same files, linked (spec 4.2 prefix directories).
for s in "$@"; do
  s=${s,,}
  rm -rf "${dir:?}/$s"
  mkdir -p "$dir/$s/overlays"
  (cd "$dir" && find . -path "./[0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f]" -prune -o -type f -print) |
    while read -r f; do
      f=${f#./}
      ln -f "$dir/$f" "$dir/$s/$f" 2>/dev/null || cp -f "$dir/$f" "$dir/$s/$f"
    done
done
# A fleet's worth of serials would fill a screen: name the first and last of a long list.
if (($# > 8)); then
  serials="$1 ... ${!#} ($# folders)"
else
  serials=${*:-none}
fi
echo "demo tree in $dir ($(du -sh "$dir" | cut -f1), serials: $serials)"
