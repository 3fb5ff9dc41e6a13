#!/usr/bin/env bash
# End-to-end test of pinetboot-provision against a temporary --prefix (no root needed; device
# nodes are checked only as root). Usage: provision.sh [path/to/pinetboot-provision]
set -uo pipefail
tool=${1:-${PINETBOOT_BUILD_DIR:-build}/examples/provision/pinetboot-provision}
[[ -x $tool ]] || { echo "SKIP: $tool not built"; exit 77; }
work=$(mktemp -d /tmp/pinetboot-provision-test.XXXXXX)
bgpid=
cleanup() {
  [[ -n $bgpid ]] && kill -9 "$bgpid" 2>/dev/null
  chmod -R u+w "$work" 2>/dev/null
  rm -rf "$work"
}
trap cleanup EXIT
source "$(dirname "$0")/lib/checks.sh"

prefix=$work/p
P() { "$tool" --prefix "$prefix" "$@"; }
# Everything the idempotence checks compare: names, types, modes, sizes, mtimes, inodes, bytes.
fingerprint() { (cd "$prefix" && find . -printf '%p %y %m %s %T@ %i\n' | grep -v '\.lock ' | sort &&
                 find . -type f ! -name '*.lock' -exec md5sum {} + | sort); }

# --- golden trees ---------------------------------------------------------------------------
g=$work/golden
mkdir -p "$g/boot/overlays" "$g/root/etc" "$g/root/usr/lib" "$g/root/var"
echo "console=serial0,115200 console=tty1 root=PARTUUID=5e3da3da-02 rootfstype=ext4 fsck.repair=yes rootwait quiet init=/usr/lib/raspberrypi-sys-mods/firstboot" >"$g/boot/cmdline.txt"
echo firmware >"$g/boot/start4.elf"
echo dtbo >"$g/boot/overlays/vc4.dtbo"
printf 'proc /proc proc defaults 0 0\nPARTUUID=5e3da3da-01 /boot/firmware vfat defaults 0 2\nPARTUUID=5e3da3da-02 / ext4 defaults,noatime 0 1\n' >"$g/root/etc/fstab"
ln -s /etc/passwd "$g/root/etc/abs-link"
ln -s ../../x "$g/root/etc/rel-link"
echo pair >"$g/root/usr/lib/a"
ln "$g/root/usr/lib/a" "$g/root/usr/lib/b"
mkfifo "$g/root/var/fifo"
truncate -s 100M "$g/root/var/sparse"
echo data | dd of="$g/root/var/sparse" bs=1 seek=50000000 conv=notrunc status=none
[[ $(id -u) == 0 ]] && mknod "$g/root/var/null" c 1 3
xattr=0
if command -v setfattr >/dev/null && setfattr -n user.pinetboot -v yes "$g/root/usr/lib/a" 2>/dev/null; then xattr=1; fi
touch -d '2001-02-03 04:05:06.123456789' "$g/root/etc/fstab"

add1=(add --serial 10000000abcd1234 --mac dc:a6:32:01:36:c2 --hostname pi1 --ip 10.0.0.5 --server-ip 10.0.0.1
      --from-tree "$g/boot" "$g/root")

# --- usage and dry run ----------------------------------------------------------------------
expect_rc 1 "unknown option is a usage error" P add --bogus
expect_rc 1 "bad serial is a usage error" P add --serial xyz
expect_rc 0 "--help" P --help
expect_rc 0 "dry run" P --dry-run "${add1[@]}"
check "dry run changed nothing" test ! -e "$prefix/srv"
check "dry run printed the plan" grep -q '^stage abcd1234' "$work/out"

# --- add ------------------------------------------------------------------------------------
expect_rc 0 "add" P "${add1[@]}"
b=$prefix/srv/tftp/abcd1234 r=$prefix/srv/nfs/abcd1234
check "boot tree" test "$(cat "$b/start4.elf")" = firmware
check "cmdline.txt rewritten for NFS" grep -q 'root=/dev/nfs nfsroot=10.0.0.1:/srv/nfs/abcd1234,vers=3' "$b/cmdline.txt"
check "fstab mounts the boot folder" grep -q '^10.0.0.1:/srv/tftp/abcd1234 /boot/firmware nfs' "$r/etc/fstab"
check "SD card lines dropped from fstab" bash -c "! grep -q PARTUUID '$r/etc/fstab'"
check "absolute symlink kept" test "$(readlink "$r/etc/abs-link")" = /etc/passwd
check "relative symlink kept" test "$(readlink "$r/etc/rel-link")" = ../../x
check "nothing escaped the tree" test ! -e "$prefix/srv/x" -a ! -e "$work/x"
check "hard link pair kept" test "$(stat -c %i "$r/usr/lib/a")" = "$(stat -c %i "$r/usr/lib/b")"
check "hard link not shared with golden" test "$(stat -c %i "$r/usr/lib/a")" != "$(stat -c %i "$g/root/usr/lib/a")"
check "fifo kept" test -p "$r/var/fifo"
check "sparse file size" test "$(stat -c %s "$r/var/sparse")" = 104857600
check "sparse file stays sparse" test "$(stat -c %b "$r/var/sparse")" -lt 2048
[[ $(id -u) == 0 ]] && check "device node kept" test -c "$r/var/null"
[[ $xattr == 1 ]] && check "xattr kept" test "$(getfattr --only-values -n user.pinetboot "$r/usr/lib/a" 2>/dev/null)" = yes
check "exports lines" grep -q '^/srv/nfs/abcd1234 10.0.0.5(rw,sync,no_subtree_check,no_root_squash)' "$prefix/etc/exports"
expect_rc 0 "list" P list
check "list line" grep -Eq '^abcd1234 +dc:a6:32:01:36:c2 +abcd1234 +pi1 +10.0.0.5 +- +copy +ok$' "$work/out"
expect_rc 0 "verify clean layout" P verify

# --- idempotence ----------------------------------------------------------------------------
before=$(fingerprint)
expect_rc 0 "add again" P "${add1[@]}"
check "add again said unchanged" grep -q '^unchanged: abcd1234' "$work/out"
expect_rc 0 "exports --apply" P exports --apply
expect_rc 0 "exports --apply again" P exports --apply
check "second exports --apply is a no-op" grep -q '^unchanged' "$work/out"
check "add twice + exports twice changed nothing" test "$before" = "$(fingerprint)"

# --- NFS-Ganesha exports --------------------------------------------------------------------
gf=$prefix/etc/ganesha/pinetboot-exports.conf
expect_rc 1 "exports --format bogus is a usage error" P exports --format bogus
expect_rc 0 "exports --format ganesha prints" P exports --format ganesha
check "ganesha: root export restricted to the board" \
  grep -Pzq 'Path = "/srv/nfs/abcd1234";\n    Pseudo = "/srv/nfs/abcd1234";(.|\n)*?Access_Type = None;(.|\n)*?CLIENT \{\n        Clients = 10.0.0.5;\n        Access_Type = RW;\n        Squash = No_Root_Squash;' "$work/out"
check "ganesha: print wrote nothing" test ! -e "$gf"
expect_rc 0 "exports --format ganesha --dry-run --apply" P --dry-run exports --format ganesha --apply
check "ganesha: dry run wrote nothing" test ! -e "$gf"
expect_rc 0 "exports --format ganesha --apply" P exports --format ganesha --apply
check "ganesha: file under --prefix" grep -q '^EXPORT {' "$gf"
check "ganesha: file is what was printed" bash -c "P() { \"$tool\" --prefix \"$prefix\" \"\$@\"; }; diff <(P exports --format ganesha) '$gf'"
expect_rc 0 "exports --format ganesha --apply again" P exports --format ganesha --apply
check "ganesha: second --apply is a no-op" grep -q '^unchanged' "$work/out"
expect_rc 0 "exports --format ganesha --ganesha-file" P exports --format ganesha --apply --ganesha-file /etc/g2.conf
check "ganesha: --ganesha-file honoured" cmp -s "$gf" "$prefix/etc/g2.conf"
expect_rc 1 "--ganesha-file must be absolute" P exports --format ganesha --ganesha-file rel.conf
# An export keeps the id it has in the current file (here moved by hand to 4242).
awk '/^    Export_Id = / && !done { sub(/= [0-9]+;/, "= 4242;"); done = 1 } { print }' "$gf" > "$work/g" && cat "$work/g" > "$gf"
expect_rc 0 "exports --format ganesha --apply keeps the file's ids" P exports --format ganesha --apply
check "ganesha: kept Export_Id 4242" grep -q '^unchanged' "$work/out"
check "ganesha: 4242 still in the file" grep -q 'Export_Id = 4242;' "$gf"
rm -f "$gf" "$prefix/etc/g2.conf"
rmdir "$prefix/etc/ganesha"

# --- conflicts ------------------------------------------------------------------------------
mkdir -p "$prefix/srv/tftp/00000042"
echo mine >"$prefix/srv/tftp/00000042/keep"
expect_rc 3 "unknown folder is not overwritten" P add --serial 00000042 --server-ip 10.0.0.1 --from-tree "$g/boot" "$g/root"
check "unknown folder intact" test "$(cat "$prefix/srv/tftp/00000042/keep")" = mine
expect_rc 0 "--force replaces it" P add --serial 00000042 --ip 10.0.0.42 --server-ip 10.0.0.1 --force --from-tree "$g/boot" "$g/root"
check "replaced" test ! -e "$prefix/srv/tftp/00000042/keep" -a -e "$prefix/srv/tftp/00000042/start4.elf"
expect_rc 3 "same board under another scheme" P add --mac dc:a6:32:01:36:c2 --scheme mac-dash --server-ip 10.0.0.1 --from-tree "$g/boot" "$g/root"
expect_rc 5 "remove of an unknown client" P remove --serial 12345678

# --- `add --force` for one board changes only that board (the data-loss regression) -----------
g2=$work/golden2
cp -a "$g" "$g2"
echo "generation two" >"$g2/root/etc/release"
expect_rc 0 "add board aaaa0001" P add --serial aaaa0001 --ip 10.0.0.51 --server-ip 10.0.0.1 --from-tree "$g/boot" "$g/root"
expect_rc 0 "add board bbbb0002" P add --serial bbbb0002 --ip 10.0.0.52 --server-ip 10.0.0.1 --from-tree "$g/boot" "$g/root"
mkdir -p "$prefix/srv/nfs/bbbb0002/home"
echo homework >"$prefix/srv/nfs/bbbb0002/home/hw.txt"
other_before=$(cd "$prefix/srv" && find tftp/bbbb0002 nfs/bbbb0002 -printf '%p %i %s %T@\n' | sort)
expect_rc 0 "add --force for aaaa0001 only" P -v add --force --serial aaaa0001 --server-ip 10.0.0.1 --from-tree "$g2/boot" "$g2/root"
check "the forced board was rebuilt from the new tree" grep -q "generation two" "$prefix/srv/nfs/aaaa0001/etc/release"
check "the other board's /home survived" test "$(cat "$prefix/srv/nfs/bbbb0002/home/hw.txt")" = homework
check "the other board was not touched at all" test "$other_before" = "$(cd "$prefix/srv" && find tftp/bbbb0002 nfs/bbbb0002 -printf '%p %i %s %T@\n' | sort)"
check "the output names no other board" sh -c "! grep -q bbbb0002 '$work/out'"
expect_rc 0 "remove the two boards again" P remove --serial aaaa0001
expect_rc 0 "remove bbbb0002" P remove --serial bbbb0002

# --- drift ----------------------------------------------------------------------------------
echo "root=/dev/mmcblk0p2" >"$prefix/srv/tftp/00000042/cmdline.txt"
expect_rc 2 "verify finds edited cmdline.txt" P verify
check "drift names the file" grep -q '00000042: cmdline.txt differs' "$work/out"
expect_rc 0 "force rebuild fixes it" P add --serial 00000042 --force --from-tree "$g/boot" "$g/root"
expect_rc 0 "verify after rebuild" P verify

sed -i 's/^\/srv\/nfs\/00000042 .*/\/srv\/nfs\/00000042 *(rw)/' "$prefix/etc/exports"
expect_rc 2 "verify finds an edited exports block" P verify
check "drift names the exports file" grep -q 'managed block out of date' "$work/out"
expect_rc 0 "exports --apply restores it" P exports --apply
expect_rc 0 "verify after exports --apply" P verify
expect_rc 0 "repair with nothing to repair" P repair
check "repair said so" grep -q '^nothing to repair' "$work/out"
expect_rc 0 "remove --dry-run" P --dry-run remove --serial 00000042
check "remove --dry-run changed nothing" test -d "$prefix/srv/nfs/00000042"

# --- SIGKILL in the middle of a copy --------------------------------------------------------
big=$work/big
mkdir -p "$big/root/data" && cp -a "$g/boot" "$big/boot" && cp -a "$g/root/etc" "$big/root/etc"
for i in $(seq 1 200); do head -c 65536 /dev/urandom >"$big/root/data/f$i"; done
PINETBOOT_PROVISION_THROTTLE_US=40000 "$tool" --prefix "$prefix" add --serial 0000beef --server-ip 10.0.0.1 \
  --from-tree "$big/boot" "$big/root" >/dev/null 2>&1 &
bgpid=$!
for _ in $(seq 1 200); do
  [[ -d $prefix/srv/nfs/.pinetboot-staging/0000beef.$bgpid/data ]] && break
  sleep 0.05
done
sleep 0.3
kill -9 "$bgpid"; wait "$bgpid" 2>/dev/null; bgpid=
staged() { find "$prefix/srv/nfs/.pinetboot-staging" "$prefix/srv/tftp/.pinetboot-staging" -mindepth 1 -maxdepth 1 2>/dev/null; }
check "killed run left staging data" test -n "$(staged)"
check "no half client visible" test ! -e "$prefix/srv/nfs/0000beef" -a ! -e "$prefix/srv/tftp/0000beef"
expect_rc 0 "list after kill" P list
check "list shows no half client" bash -c "! grep -q 0000beef '$work/out'"
expect_rc 2 "verify reports the interrupted run" P verify
expect_rc 0 "re-run completes" P add --serial 0000beef --server-ip 10.0.0.1 --from-tree "$big/boot" "$big/root"
check "completed tree" cmp -s "$big/root/data/f200" "$prefix/srv/nfs/0000beef/data/f200"
check "staging cleaned" test -z "$(staged)"
expect_rc 0 "verify after completion" P verify

# --- remove ---------------------------------------------------------------------------------
expect_rc 0 "remove" P remove --serial 0000beef
check "trees gone" test ! -e "$prefix/srv/nfs/0000beef" -a ! -e "$prefix/srv/tftp/0000beef"
check "exports line gone" bash -c "! grep -q 0000beef '$prefix/etc/exports'"
expect_rc 0 "list after remove" P list
check "registry line gone" bash -c "! grep -q 0000beef '$work/out'"

# --- --link-boot and hostile golden trees ---------------------------------------------------
expect_rc 0 "add --link-boot" P add --serial 0000b007 --server-ip 10.0.0.1 --link-boot --from-tree "$g/boot" "$g/root"
check "boot firmware hard-linked to golden" test "$(stat -c %i "$prefix/srv/tftp/0000b007/start4.elf")" = "$(stat -c %i "$g/boot/start4.elf")"
check "generated cmdline.txt is not written through the link" grep -q PARTUUID "$g/boot/cmdline.txt"
evil=$work/evil
mkdir -p "$evil/boot" "$work/outside" && cp "$g/boot/cmdline.txt" "$evil/boot/" && echo untouched >"$work/outside/fstab"
mkdir -p "$evil/root" && ln -s "$work/outside" "$evil/root/etc"
expect_rc 1 "golden root with etc -> outside is refused" P add --serial 0000e111 --server-ip 10.0.0.1 --from-tree "$evil/boot" "$evil/root"
check "file outside the tree untouched" test "$(cat "$work/outside/fstab")" = untouched
check "refused client not visible" test ! -e "$prefix/srv/nfs/0000e111" -a -z "$(staged)"

# --- from an OS image -----------------------------------------------------------------------
if command -v sfdisk >/dev/null && command -v mkfs.vfat >/dev/null && command -v mcopy >/dev/null &&
   command -v mkfs.ext4 >/dev/null && command -v debugfs >/dev/null && command -v xz >/dev/null; then
  img=$work/pi.img
  truncate -s 48M "$img"
  printf 'label: dos\nstart=2048, size=16384, type=c\nstart=18432, type=83\n' | sfdisk -q "$img"
  mkfs.vfat -C "$work/boot.fat" 8192 >/dev/null
  mcopy -s -i "$work/boot.fat" "$g/boot/"* ::/
  mkfs.ext4 -q -F -d "$g/root" "$work/root.ext4" 24M >/dev/null 2>&1
  dd if="$work/boot.fat" of="$img" bs=512 seek=2048 conv=notrunc status=none
  dd if="$work/root.ext4" of="$img" bs=512 seek=18432 conv=notrunc status=none
  xz -0 -T1 -k "$img"
  expect_rc 0 "add from .img" P add --hostname imgpi --scheme hostname --ip 10.0.0.7 --server-ip 10.0.0.1 --from-image "$img"
  check "boot from FAT partition" test "$(cat "$prefix/srv/tftp/imgpi/overlays/vc4.dtbo")" = dtbo
  check "root from ext4 partition" grep -q '^10.0.0.1:/srv/tftp/imgpi /boot/firmware' "$prefix/srv/nfs/imgpi/etc/fstab"
  check "symlink from image" test "$(readlink "$prefix/srv/nfs/imgpi/etc/abs-link")" = /etc/passwd
  expect_rc 0 "add from .img.xz" P add --mac dc:a6:32:00:00:09 --scheme mac-dash --server-ip 10.0.0.1 --from-image "$img.xz"
  check "xz image extracted" test -e "$prefix/srv/tftp/dc-a6-32-00-00-09/start4.elf"
  check "no leftover extraction" test -z "$(staged)"
  expect_rc 4 "not an image" P add --serial 00000077 --server-ip 10.0.0.1 --from-image "$g/boot/start4.elf"
else
  echo "note: image tools missing (fdisk dosfstools mtools e2fsprogs xz-utils); image part skipped"
fi

expect_rc 0 "final verify" P verify
expect_rc 0 "eeprom-config" P eeprom-config --scheme mac-dash
check "eeprom prefix mode" grep -q '^TFTP_PREFIX=2' "$work/out"

echo "provision: $failures failure(s)"
((failures == 0))
