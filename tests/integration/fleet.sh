#!/usr/bin/env bash
# The life of a fleet as an operator runs it, in a scratch --prefix: import an image, add 20
# boards (copy and shared roots), change the image with `image exec`, upgrade a canary and then
# everyone, roll back, gc, break a board and repair it; SIGKILL at every step of a move and at
# random instants, each followed by `repair` and `verify`, with every board on exactly one
# generation throughout. Usage: fleet.sh [path/to/pinetboot-provision]
set -uo pipefail
tool=${1:-${PINETBOOT_BUILD_DIR:-build}/examples/provision/pinetboot-provision}
[[ -x $tool ]] || { echo "SKIP: $tool not built"; exit 77; }
[[ $(id -u) == 0 ]] || { echo "SKIP: needs root (chroot and mount namespaces for image exec)"; exit 77; }
[[ -x /bin/busybox ]] || { echo "FAIL: /bin/busybox missing (apt-get install busybox-static)"; exit 1; }
work=$(mktemp -d /tmp/pinetboot-fleet-test.XXXXXX)
bgpid=
cleanup() {
  [[ -n $bgpid ]] && kill -9 "$bgpid" 2>/dev/null
  rm -rf "$work"
}
trap cleanup EXIT
source "$(dirname "$0")/lib/checks.sh"

prefix=$work/p
P() { "$tool" --prefix "$prefix" "$@"; }
# In the background with $bgpid the tool's own PID (not a subshell's), so kill -9 hits it.
Pbg() { "$tool" --prefix "$prefix" "$@" >"$work/bg.out" 2>&1 & bgpid=$!; }
tftp=$prefix/srv/tftp nfs=$prefix/srv/nfs images=$prefix/srv/pinetboot/images
n=20
folder() { printf 'aa%06x' "$1"; }
model_of() { if (($1 % 2)); then echo copy; else echo shared; fi; }
# The tree a board's own files live in: its root (copy) or its state tree (shared).
own_tree() { local f=$1 m=$tftp/$1/.pinetboot-board; echo "$nfs/$f/$(sed -n 's/^tree=//p' "$m")"; }
marker_gen() { sed -n 's/^gen=//p' "$tftp/$1/.pinetboot-board"; }
registry_gen() { grep "folder=$1 " "$prefix/var/lib/pinetboot/clients.conf" | sed -E 's/.* gen=([0-9]+).*/\1/'; }

# A board boots exactly one generation: its boot marker names a tree that exists, its
# cmdline.txt mounts that tree (copy) or that generation (shared), and the generation exists.
consistent() {
  local f=$1 m=$tftp/$1/.pinetboot-board gen model tree
  [[ -f $m ]] || { echo "  $f: no boot marker"; return 1; }
  gen=$(sed -n 's/^gen=//p' "$m") model=$(sed -n 's/^model=//p' "$m") tree=$(sed -n 's/^tree=//p' "$m")
  [[ -d $nfs/$f/$tree ]] || { echo "  $f: marker names $tree, which is missing"; return 1; }
  [[ -d $images/fleet/$gen/root ]] || { echo "  $f: generation $gen missing"; return 1; }
  if [[ $model == copy ]]; then
    grep -q "nfsroot=10.77.0.1:/srv/nfs/$f/$tree,vers=3 rw" "$tftp/$f/cmdline.txt" ||
      { echo "  $f: cmdline.txt does not mount $tree"; return 1; }
    [[ $(cat "$nfs/$f/$tree/etc/os-release") == "release $(cat "$images/fleet/$gen/root/etc/os-release" | sed 's/release //')" ]] ||
      { echo "  $f: root is not generation $gen's"; return 1; }
  else
    grep -q "nfsroot=10.77.0.1:/srv/pinetboot/images/fleet/$gen/root,vers=3 ro" "$tftp/$f/cmdline.txt" ||
      { echo "  $f: cmdline.txt does not mount generation $gen read-only"; return 1; }
  fi
  cmp -s "$tftp/$f/start4.elf" "$images/fleet/$gen/boot/start4.elf" || { echo "  $f: boot files not generation $gen's"; return 1; }
}
all_consistent() { local i bad=0; for ((i = 1; i <= n; ++i)); do consistent "$(folder $i)" || bad=1; done; return $bad; }
all_on() { local g=$1 i; for ((i = 1; i <= n; ++i)); do
  [[ $(marker_gen "$(folder $i)") == "$g" && $(registry_gen "$(folder $i)") == "$g" ]] || { echo "  $(folder $i) not on $g"; return 1; }; done; }
homework_kept() { local i; for ((i = 1; i <= n; ++i)); do
  [[ $(cat "$(own_tree "$(folder $i)")/home/hw.txt" 2>/dev/null) == "homework of $i" ]] || { echo "  $(folder $i): /home/hw.txt lost"; return 1; }; done; }

# --- a small golden tree: busybox root, Pi boot files -----------------------------------------
g=$work/golden
mkdir -p "$g/boot/overlays" "$g/root/boot/firmware" "$g/root/bin" "$g/root/etc/ssh" "$g/root/home" "$g/root/var/log" "$g/root/usr/lib" "$g/root/proc" "$g/root/sys" "$g/root/dev"
cp /bin/busybox "$g/root/bin/busybox"
for a in sh cat echo ls mkdir rm sleep test touch; do ln -s busybox "$g/root/bin/$a"; done
echo "console=serial0,115200 console=tty1 root=PARTUUID=5e3da3da-02 rootfstype=ext4 fsck.repair=yes rootwait quiet init=/usr/lib/raspberrypi-sys-mods/firstboot" >"$g/boot/cmdline.txt"
echo "start4 v1" >"$g/boot/start4.elf"
echo "arm_64bit=1" >"$g/boot/config.txt"
echo dtbo >"$g/boot/overlays/vc4.dtbo"
printf 'proc /proc proc defaults 0 0\nPARTUUID=5e3da3da-01 /boot/firmware vfat defaults 0 2\nPARTUUID=5e3da3da-02 / ext4 defaults,noatime 0 1\n' >"$g/root/etc/fstab"
echo "release 1" >"$g/root/etc/os-release"
echo "PermitRootLogin no" >"$g/root/etc/ssh/sshd_config"
echo "image-wide-id" >"$g/root/etc/machine-id"
head -c 300000 /dev/urandom >"$g/root/usr/lib/big.so"

# --- import, add 20 boards ----------------------------------------------------------------------
expect_rc 0 "image import" P image import fleet --from-tree "$g/boot" "$g/root"
check "generation 1 exists with a manifest" test -s "$images/fleet/1/manifest"
check "the generation carries no machine-id" test ! -s "$images/fleet/1/root/etc/machine-id"
check "the shared root's fstab names no SD card" sh -c "! grep -q PARTUUID '$images/fleet/1/root/etc/fstab'"
t0=$(date +%s.%N)
for ((i = 1; i <= n; ++i)); do
  P add --serial "$(folder $i)" --hostname "pi-$i" --ip "10.77.1.$i" --server-ip 10.77.0.1 --image fleet \
    --root-model "$(model_of $i)" >"$work/out" 2>&1 || { fail "add board $i"; cat "$work/out"; }
done
echo "added $n boards in $(echo "$(date +%s.%N) - $t0" | bc 2>/dev/null || echo '?') s"
check "nothing was extracted again (still one generation)" test "$(ls "$images/fleet" | grep -c '^[0-9]')" = 1
expect_rc 0 "list" P list
check "list shows $n boards ok on fleet@1" test "$(grep -Ec ' fleet@1 +(copy|shared) +ok$' "$work/out")" = $n
check "every board boots generation 1" all_consistent
expect_rc 3 "a second board with the same IP is refused" P add --serial bb000001 --ip 10.77.1.3 --server-ip 10.77.0.1 --image fleet
expect_rc 3 "a second board with the same host name is refused" P add --serial bb000002 --hostname pi-4 --server-ip 10.77.0.1 --image fleet
expect_rc 0 "adding the same board again" P add --serial "$(folder 1)" --image fleet --server-ip 10.77.0.1
check "said unchanged" grep -q '^unchanged' "$work/out"

ids=$(for ((i = 1; i <= n; ++i)); do cat "$(own_tree "$(folder $i)")/etc/machine-id"; done | sort -u | wc -l)
check "20 distinct machine-ids" test "$ids" = $n
if command -v ssh-keygen >/dev/null; then
  keys=$(for ((i = 1; i <= n; ++i)); do cat "$(own_tree "$(folder $i)")/etc/ssh/ssh_host_ed25519_key.pub"; done | cut -d' ' -f2 | sort -u | wc -l)
  check "20 distinct ssh host keys" test "$keys" = $n
fi
check "host names are the boards' own" test "$(cat "$(own_tree "$(folder 7)")/etc/hostname")" = pi-7
for ((i = 1; i <= n; ++i)); do echo "homework of $i" >"$(own_tree "$(folder $i)")/home/hw.txt"; done
grep -q "10.77.1.2(ro" "$prefix/etc/exports" && grep -q "^/srv/pinetboot/images " "$prefix/etc/exports"
check "the image store is exported read-only to the shared boards" test $? = 0
check "a copy board is not given the image store" sh -c "! grep '^/srv/pinetboot/images ' '$prefix/etc/exports' | grep -q '10.77.1.1('"

# --- add --image with --from-tree: an implicit import, only when the tree is new ------------
expect_rc 0 "add --image --from-tree of the imported tree" P add --serial bb0000aa --ip 10.77.2.1 --server-ip 10.77.0.1 --image fleet --from-tree "$g/boot" "$g/root"
check "it said nothing to import" grep -q "nothing to import" "$work/out"
check "still one generation" test "$(ls "$images/fleet" | grep -c '^[0-9]')" = 1
g2=$work/golden2
cp -a "$g" "$g2"
echo "release 1b" >"$g2/root/etc/os-release"
expect_rc 0 "add --image --from-tree of a changed tree" P add --serial bb0000ab --ip 10.77.2.2 --server-ip 10.77.0.1 --image side --from-tree "$g2/boot" "$g2/root"
check "it imported a generation" test -s "$images/side/1/manifest"
expect_rc 0 "the same again for another board" P add --serial bb0000ac --ip 10.77.2.3 --server-ip 10.77.0.1 --image side --from-tree "$g2/boot" "$g2/root"
check "no second import" test ! -d "$images/side/2"
for f in bb0000aa bb0000ab bb0000ac; do P remove --folder $f >/dev/null 2>&1 || fail "remove $f"; done
check "removed boards are gone" sh -c "! ls '$tftp' | grep -q bb0000a"

# --- change the image -----------------------------------------------------------------------
expect_rc 4 "a failing exec makes no generation" P image exec fleet -- sh -c 'echo half >/etc/os-release; exit 3'
check "still one generation" test "$(ls "$images/fleet" | grep -c '^[0-9]')" = 1
expect_rc 0 "image exec" P image exec fleet -- sh -c 'echo "release 2" >/etc/os-release && echo "start4 v2" >/boot/firmware/start4.elf && test -d /proc/self'
check "exec changed the boot tree through the bound boot folder" grep -q "v2" "$images/fleet/2/boot/start4.elf"
check "generation 1 untouched" grep -q "release 1" "$images/fleet/1/root/etc/os-release"
check "unchanged files are shared with generation 1" test "$(stat -c %i "$images/fleet/1/root/usr/lib/big.so")" = "$(stat -c %i "$images/fleet/2/root/usr/lib/big.so")"
check "no mount left behind" sh -c "! grep -q '$work' /proc/self/mountinfo"
expect_rc 0 "image list" P image list
check "image list shows 2 generations" grep -q "fleet: 2 generations" "$work/out"

# --- canary, then the fleet -----------------------------------------------------------------
expect_rc 0 "upgrade --canary 2 --dry-run" P upgrade --canary 2 --dry-run
check "dry run names 2 boards" test "$(grep -c '^would ' "$work/out")" = 2
check "dry run changed nothing" all_on 1
expect_rc 0 "upgrade --canary 2" P upgrade --canary 2
on2=0; for ((i = 1; i <= n; ++i)); do [[ $(marker_gen "$(folder $i)") == 2 ]] && on2=$((on2 + 1)); done
check "exactly 2 boards on generation 2" test $on2 = 2
t0=$(date +%s.%N)
expect_rc 0 "upgrade --all" P upgrade --all
echo "upgraded the rest in $(echo "$(date +%s.%N) - $t0" | bc 2>/dev/null || echo '?') s"
check "every board on generation 2" all_on 2
check "every board consistent" all_consistent
check "every board kept its /home" homework_kept
check "copy board's root is release 2" grep -q "release 2" "$(own_tree "$(folder 1)")/etc/os-release"
check "copy board kept its machine-id across the upgrade" test -s "$(own_tree "$(folder 1)")/etc/machine-id"
expect_rc 0 "upgrade --all again is a no-op" P upgrade --all
check "nothing moved" sh -c "! grep -q '^\[' '$work/out'"
expect_rc 0 "verify" P verify

# --- rollback --------------------------------------------------------------------------------
expect_rc 0 "rollback --all" P rollback --all
check "every board back on generation 1" all_on 1
check "consistent after rollback" all_consistent
check "/home kept through rollback" homework_kept
expect_rc 0 "list after rollback" P list
check "list shows the previous generation" grep -q "fleet@1 (2)" "$work/out"

# --- change a board's root model, and back ---------------------------------------------------
f1=$(folder 1)
expect_rc 0 "copy board to the shared model" P add --serial "$f1" --image fleet --server-ip 10.77.0.1 --root-model shared
check "it is shared now" grep -q "^model=shared" "$tftp/$f1/.pinetboot-board"
check "its /home moved into its state tree" grep -q "homework of 1" "$nfs/$f1/state/home/hw.txt"
check "its old root was deleted" sh -c "! ls '$nfs/$f1' | grep -q '^root.g'"
mid=$(cat "$nfs/$f1/state/etc/machine-id")
expect_rc 0 "and back to copy" P add --serial "$f1" --image fleet --server-ip 10.77.0.1 --root-model copy
check "it is a copy again with its /home" grep -q "homework of 1" "$(own_tree "$f1")/home/hw.txt"
check "its machine-id stayed the same through both moves" test "$(cat "$(own_tree "$f1")/etc/machine-id")" = "$mid"
check "consistent after the model changes" all_consistent

# --- gc -------------------------------------------------------------------------------------
expect_rc 0 "exec generation 3" P image exec fleet -- sh -c 'echo "release 3" >/etc/os-release'
expect_rc 0 "gc --keep 1 (2 is every board's rollback target)" P image gc fleet --keep 1
check "gc kept generation 2 (rollback target)" test -d "$images/fleet/2"
check "gc kept generation 1 (in use)" test -d "$images/fleet/1"
expect_rc 0 "upgrade all to 3" P upgrade --all
expect_rc 0 "gc --keep 1" P image gc fleet --keep 1
check "gc removed generation 2 (nobody on it or rolling back to it)" test ! -d "$images/fleet/2"
check "gc kept 1 (rollback target) and 3 (in use)" test -d "$images/fleet/1" -a -d "$images/fleet/3"
check "consistent after gc" all_consistent

# --- a broken board --------------------------------------------------------------------------
rm "$tftp/$(folder 5)/start4.elf"
echo tampered >>"$(own_tree "$(folder 3)")/usr/lib/big.so"
echo "root=/dev/mmcblk0p2" >"$tftp/$(folder 6)/cmdline.txt"
expect_rc 2 "verify finds the damage" P verify
check "verify names the edited cmdline.txt" grep -q "$(folder 6): cmdline.txt differs" "$work/out"
check "verify names the deleted start4.elf" grep -q "$(folder 5): missing boot/start4.elf" "$work/out"
check "verify names the changed file" grep -q "$(folder 3): changed root/usr/lib/big.so (content)" "$work/out"
expect_rc 0 "list" P list
check "list says broken, not ok" grep -Eq "^$(folder 5) .* broken$" "$work/out"
expect_rc 0 "repair" P repair
expect_rc 0 "verify after repair" P verify
check "repair kept the boards' /home" homework_kept

# --- SIGKILL at each point of a move ------------------------------------------------------------
for point in staged-root staged-boot switched; do
  for b in 1 2; do  # a copy board and a shared board
    f=$(folder $b)
    from=$(marker_gen "$f")
    to=$((from == 3 ? 1 : 3))
    PINETBOOT_PROVISION_KILL_AT=$point P upgrade --boards "$f" --to $to >"$work/out" 2>&1
    rc=$?
    check "killed at $point ($(model_of $b))" test $rc = 137
    got=$(marker_gen "$f")
    check "after a kill at $point the board boots $from or $to (got $got), whole" sh -c "[ '$got' = $from ] || [ '$got' = $to ]"
    check "consistent after a kill at $point" consistent "$f"
    expect_rc 0 "repair after a kill at $point" P repair
    expect_rc 0 "verify after a kill at $point" P verify
    check "registry follows the board after repair" test "$(registry_gen "$f")" = "$(marker_gen "$f")"
    [[ $point == switched ]] && check "a kill after the switch is finished by repair" test "$(marker_gen "$f")" = $to
  done
done

# --- SIGKILL at random instants of a fleet upgrade ------------------------------------------
for round in 1 2 3 4; do
  target=$(( $(marker_gen "$(folder 1)") == 3 ? 1 : 3 ))
  Pbg upgrade --all --to $target
  sleep "0.$((RANDOM % 6 + 1))"
  kill -9 "$bgpid" 2>/dev/null
  wait "$bgpid" 2>/dev/null
  bgpid=
  check "round $round: every board whole after a random kill" all_consistent
  expect_rc 0 "round $round: repair" P repair
  expect_rc 0 "round $round: verify" P verify
  check "round $round: /home kept" homework_kept
done

# --- SIGKILL during image exec ----------------------------------------------------------------
before=$(ls "$images/fleet" | grep -c '^[0-9]')
Pbg image exec fleet -- sh -c 'echo started >/tmp/pinetboot-fleet-exec; sleep 37'
for ((w = 0; w < 100; ++w)); do ls "$images/fleet/.staging"/*/root/tmp/pinetboot-fleet-exec >/dev/null 2>&1 && break; sleep 0.1; done
kill -9 "$bgpid"; wait "$bgpid" 2>/dev/null; bgpid=
sleep 0.5
check "the command in the image died with the tool" sh -c "! pgrep -f '^sleep 37$' >/dev/null"
check "no mount of the image left behind" sh -c "! grep -q '$images' /proc/self/mountinfo"
check "no generation from the killed exec" test "$(ls "$images/fleet" | grep -c '^[0-9]')" = "$before"
check "the killed exec left its draft" test "$(ls "$images/fleet/.staging" | wc -l)" -ge 1
expect_rc 0 "repair removes an unfinished generation" P repair
check "repair removed the draft" test "$(ls "$images/fleet/.staging" | wc -l)" = 0
expect_rc 0 "the next exec works" P image exec fleet -- sh -c true
check "the next generation is whole" test -s "$images/fleet/$(ls "$images/fleet" | grep '^[0-9]' | sort -n | tail -1)/info"
check "the killed exec's staging was removed" test "$(ls "$images/fleet/.staging" | wc -l)" = 0

# --- SIGKILL during import --------------------------------------------------------------------
PINETBOOT_PROVISION_KILL_AT=imported P image import other --from-tree "$g/boot" "$g/root" >"$work/out" 2>&1
check "import killed after its copy" test $? = 137
check "a killed import leaves no generation" sh -c "! ls '$images/other' 2>/dev/null | grep -q '^[0-9]'"
head -c 100000000 /dev/urandom >"$g/root/usr/lib/huge.bin"
Pbg image import other --from-tree "$g/boot" "$g/root"
sleep "0.$((RANDOM % 8 + 1))"
kill -9 "$bgpid" 2>/dev/null; wait "$bgpid" 2>/dev/null; bgpid=
whole=1
for d in "$images"/other/[0-9]*; do [[ -d $d ]] && ! [[ -s $d/info && -s $d/manifest ]] && whole=0; done
check "a randomly killed import leaves no generation or a whole one" test $whole = 1
rm "$g/root/usr/lib/huge.bin"
expect_rc 0 "import again" P image import other --from-tree "$g/boot" "$g/root"
check "its generation is whole" sh -c "test -s '$images/other/'\$(ls '$images/other' | grep '^[0-9]' | sort -n | tail -1)/manifest"
check "the killed imports' staging was removed" test "$(ls "$images/other/.staging" | wc -l)" = 0

expect_rc 0 "final verify" P verify
echo "fleet: $failures failure(s)"
((failures == 0))
