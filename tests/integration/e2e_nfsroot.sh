#!/usr/bin/env bash
# The whole boot of boards provisioned by pinetboot-provision from an image, on their NFS roots:
#   golden trees (a busybox root whose /sbin/init prints a marker; a boot tree with Debian's
#   kernel and an initramfs) -> image import (generation 1) -> add: one board with a `copy`
#   root (its own rw root.g<N>), later one with a `shared` root (the generation read-only plus
#   a writable state tree, set up by board-init) -> exports --format ganesha --apply ->
#   NFS-Ganesha serves the file it generated -> pinetboot-server (full DHCP mode, addresses from
#   the provision registry) -> QEMU's iPXE boots the board's boot.ipxe, kernel and initramfs
#   over TFTP; the initramfs mounts the root named by the generated cmdline.txt (nfsroot=, ip=,
#   ro/rw, init= parsed from /proc/cmdline) and switch_roots into it.
# The marker: /etc/hostname, the generation label the image carries, whether / is ro (from
# /proc/mounts, and a write probe), whether /home is writable and what a previous boot left there.
# Cases (a pair in brackets boots side by side, one VM on tap0, one on tap1):
#   [copy-first: rw root, host name, a file written into /home | other-mac: a second VM with
#   another MAC, hence another address, booting the same files: the exports refuse its mount];
#   that VM is then added as a shared board (the first board's Export_Id stays, the image store
#   is exported ro to it only), Ganesha and pinetboot-server reload on SIGHUP;
#   [shared-first: / ro, /home and /var/log writable from the state tree, /tmp a tmpfs, identity
#   bound from the state tree | copy-second: the first boot's file is there];
#   image exec (generation 2) -> upgrade --boards both -> [shared-upgraded | copy-upgraded]:
#   both on g2 with /home kept (the shared board's second boot: its first boot's file is there);
#   rollback -> pinetboot-server in proxy mode beside a stand-in router (dnsmasq) that leases
#   the addresses -> [shared-rolled-back-proxy | copy-rolled-back-proxy]: both on g1 again.
# Everything runs in namespaces the test creates; one Ganesha instance serves all cases.
# Environment: PINETBOOT_CACHE (kernel cache), E2E_BOOT_TIMEOUT (seconds per boot, default 120),
# E2E_CMDLINE_EXTRA (added to the golden cmdline.txt; "pinetboot.debug" traces the initramfs).
set -euo pipefail  # before sourcing: a missing helper file must fail the test
source "$(dirname "$0")/lib/netns.sh"
source "$(dirname "$0")/e2e/lib.sh"
pnb_require_netns
e2e_require_tools dnsmasq  # dnsmasq only sends IPv6 router advertisements (e2e_start_ra)
command -v ganesha.nfsd >/dev/null && [[ -e /usr/lib/x86_64-linux-gnu/ganesha/libfsalvfs.so ]] &&
  command -v rpcbind >/dev/null ||
  { echo "FAIL: missing Debian packages: nfs-ganesha nfs-ganesha-vfs rpcbind"; exit 1; }
provision=${PINETBOOT_BUILD_DIR:?}/examples/provision/pinetboot-provision
[[ -x $provision ]] || fail "$provision not built (PINETBOOT_BUILD_EXAMPLES=ON)"

t_start=$SECONDS
board_mac=$E2E_MAC
other_mac=52:54:00:e2:e0:02
board_ip=10.77.0.50
board_host="nfs-board-1"
folder=${board_mac//:/-}
timeout=${E2E_BOOT_TIMEOUT:-120}
ok_re='PINETBOOT-NFSROOT-OK'
fail_re='PINETBOOT-NFSROOT-FAIL'

kernel=$(e2e_kernel) || fail "no kernel"
modules=$(e2e_nfs_modules) || fail "no kernel modules"

# --- golden trees, imported as an image ----------------------------------------------------
golden=$PNB_WORK/golden
# The mount points board-init and the marker need exist in the root (a shared root is read-only).
mkdir -p "$golden"/boot "$golden"/root/{bin,sbin,etc,dev,proc,sys,tmp,run,home,var/log,var/tmp,usr/lib}
cp "$kernel" "$golden/boot/vmlinuz"
e2e_nfs_initramfs "$golden/boot/initrd.img" "$modules"
# As on a Raspberry Pi OS image: an SD-card root that provisioning must replace.
echo "console=ttyS0,115200 panic=-1 root=PARTUUID=e2e0e2e0-02 rootfstype=ext4 fsck.repair=yes rootwait quiet ${E2E_CMDLINE_EXTRA:-}" \
  > "$golden/boot/cmdline.txt"
cp /bin/busybox "$golden/root/bin/busybox"
for a in $(/bin/busybox --list); do
  [[ $a == busybox ]] || ln -sf busybox "$golden/root/bin/$a"
done
# What board-init runs. (Debian's busybox has no mountpoint applet; board-init does without.)
for a in sh mount mkdir cat hostname; do
  [[ -L $golden/root/bin/$a ]] || fail "busybox has no $a applet"
done
echo golden-root > "$golden/root/etc/hostname"
printf '127.0.0.1\tlocalhost\n' > "$golden/root/etc/hosts"
: > "$golden/root/etc/machine-id"
echo g1 > "$golden/root/etc/pinetboot-test-generation"
printf 'proc /proc proc defaults 0 0\nPARTUUID=e2e0e2e0-01 /boot/firmware vfat defaults 0 2\nPARTUUID=e2e0e2e0-02 / ext4 defaults,noatime 0 1\n' \
  > "$golden/root/etc/fstab"
cat > "$golden/root/sbin/init" <<'EOT'
#!/bin/sh
# The board's userland: says who and where it is, leaves a mark in /home, powers off.
export PATH=/bin
[ -e /proc/mounts ] || mount -t proc proc /proc
exec >/dev/console 2>&1
set -- $(awk '$2 == "/" { l = $0 } END { print l }' /proc/mounts)
src=$1 type=$3
case ,$4, in *,ro,*) root=ro ;; *) root=rw ;; esac
rootwrite=no
touch /.pinetboot-e2e-probe 2>/dev/null && rm -f /.pinetboot-e2e-probe && rootwrite=yes
homesrc=$(awk '$2 == "/home" { l = $1 } END { if (l == "") l = "-"; print l }' /proc/mounts)
me=$(cat /proc/sys/kernel/random/boot_id)
mark=/home/pinetboot-e2e
earlier=none
[ -f $mark/first-boot ] && earlier=$(cat $mark/first-boot)
home=ro
if mkdir -p $mark 2>/dev/null && echo "$me" >> $mark/boots 2>/dev/null; then
  [ -f $mark/first-boot ] || echo "$me" > $mark/first-boot
  home=rw
fi
varlog=ro
echo "$me" >> /var/log/pinetboot-e2e 2>/dev/null && varlog=rw
tmp=$(awk '$2 == "/tmp" { t = $3 } END { if (t == "") t = "-"; print t }' /proc/mounts)
sync
echo "PINETBOOT-NFSROOT-OK hostname=$(cat /etc/hostname) kernel-hostname=$(hostname) root=$root rootwrite=$rootwrite type=$type src=$src home=$home home-src=$homesrc varlog=$varlog tmp=$tmp boot=$me earlier=$earlier generation=$(cat /etc/pinetboot-test-generation 2>/dev/null || echo none) machine-id=$(cat /etc/machine-id 2>/dev/null || echo none)"
poweroff -f
EOT
chmod 755 "$golden/root/sbin/init"

# --- provision ------------------------------------------------------------------------------
prefix=$PNB_WORK/p
tftp=$prefix/srv/tftp nfs=$prefix/srv/nfs images=$prefix/srv/pinetboot/images
P() { "$provision" --prefix "$prefix" "$@" > "$PNB_WORK/provision.out" 2>&1 || fail "provision $*: $(cat "$PNB_WORK/provision.out")"; }
P image import fleet --from-tree "$golden/boot" "$golden/root"
[[ -x $images/fleet/1/root/sbin/init && -x $images/fleet/1/root/usr/lib/pinetboot/board-init ]] ||
  fail "image import made no generation 1 with /sbin/init and board-init"
P add --mac "$board_mac" --scheme mac-dash --hostname "$board_host" --ip "$board_ip" --server-ip "$PNB_SRV_IP" \
  --image fleet --root-model copy
boot=$tftp/$folder
# The tree a board's own files live in, as the boot marker names it: root.g<N> (copy), state (shared).
own_tree() { echo "$nfs/$1/$(sed -n 's/^tree=//p' "$tftp/$1/.pinetboot-board")"; }
root=$(own_tree "$folder")
[[ -s $boot/cmdline.txt && -x $root/sbin/init && $root == */root.g1.1 ]] || fail "provision did not create $boot and $nfs/$folder/root.g1.1"
# iPXE cannot read cmdline.txt; the Pi firmware would hand the kernel exactly this line. The
# boot tree is replaced by upgrade and rollback, so this is redone after each.
ipxe_for() {
  printf '#!ipxe\necho e2e: ip ${net0/ip}\nkernel vmlinuz %s\ninitrd initrd.img\nboot\n' "$(cat "$tftp/$1/cmdline.txt")" \
    > "$tftp/$1/boot.ipxe"
}
ipxe_for "$folder"
cmdline=$(cat "$boot/cmdline.txt")
echo "generated cmdline.txt (copy): $cmdline"
copy_path=/srv/nfs/$folder/root.g1.1
grep -q 'root=/dev/nfs' <<< "$cmdline" || fail "generated cmdline.txt has no root=/dev/nfs"
grep -q "nfsroot=$PNB_SRV_IP:${copy_path}[, ]" <<< "$cmdline" || fail "the copy board's cmdline.txt does not mount $copy_path"
# The other VM gets the same boot files (a board moved to another NIC, or a stranger that
# copied them): only the exports stand between it and the board's root.
cp -a "$boot" "$tftp/${other_mac//:/-}"

P exports --format ganesha --apply
exports=$prefix/etc/ganesha/pinetboot-exports.conf
grep -q "Path = \"/srv/nfs/$folder\";" "$exports" || fail "no export of /srv/nfs/$folder in $exports"
grep -q "Clients = $board_ip;" "$exports" || fail "the export is not restricted to $board_ip"

# --- servers --------------------------------------------------------------------------------
cat > "$PNB_WORK/ganesha.conf" <<EOT
NFS_CORE_PARAM {
    Protocols = 3, 4;
    Enable_UDP = false;
    Enable_NLM = false;
    Enable_RQUOTA = false;
    MNT_Port = 20048;
    Bind_addr = $PNB_SRV_IP;
}
NFSV4 {
    Graceless = true;
    RecoveryRoot = "$PNB_WORK/ganesha-recovery";
    Only_Numeric_Owners = true;
}
NFS_KRB5 {
    Active_krb5 = false;
}
# No MDCACHE { Dir_Chunk = 0; } here on purpose: a rollback once made a copy board's root anew
# under the name it had before, and Ganesha's directory cache resolved it to the deleted tree.
# pinetboot now never reuses a tree name (root.g<N>.<K>), and this test proves it without it.
%include "$exports"
EOT
mkdir -p "$PNB_WORK/ganesha-recovery"
e2e_setup_lan router  # $PNB_MID stays idle until the proxy-mode case
e2e_add_tap tap1      # the two boards boot side by side where their cases allow
e2e_start_ra
t0=$SECONDS
e2e_start_ganesha "$PNB_WORK/ganesha.conf" "$prefix/srv"
echo "ganesha: serving $(grep -c '^EXPORT {' "$exports") exports after $((SECONDS - t0)) s"
cat > "$PNB_WORK/server.toml" <<EOT
[server]
interface = "veth0"
user = ""
[dhcp]
mode = "full"
lease_file = "$PNB_WORK/leases.journal"
[[dhcp.subnet]]
network = "10.77.0.0/24"
range = ["10.77.0.100", "10.77.0.120"]
routers = ["$PNB_SRV_IP"]
[tftp]
root = "$prefix/srv/tftp"
per_client = "mac"
[provision]
registry = "$prefix/var/lib/pinetboot/clients.conf"
EOT
e2e_start_server "$PNB_WORK/server.toml"
server_pid=${PNB_PIDS[-1]}

# --- boots ----------------------------------------------------------------------------------
# boot_vms NAME MAC [NAME2 MAC2]: boots one VM, or two side by side (the second on tap1), waits
# for each one's OK or FAIL marker, lets them power off, keeps the consoles as serial-NAME.log;
# records the time from QEMU's start to each marker. `use NAME` then sets $line (the marker
# line) and $serial (the console log) for the checks.
times=()
declare -A line_of=()
boot_vms() {
  local t0=$SECONDS names=() pids=() logs=() secs=() i lg pending
  while (($#)); do
    lg=$PNB_WORK/serial.log
    ((${#names[@]})) && lg=$PNB_WORK/serial2.log
    e2e_start_qemu "$lg" "$2" "tap${#names[@]}"
    names+=("$1") pids+=("$E2E_QEMU_PID") logs+=("$lg") secs+=("")
    shift 2
  done
  while ((SECONDS - t0 < timeout)); do
    pending=0
    for i in "${!names[@]}"; do
      [[ -n ${secs[i]} ]] && continue
      if grep -aEq "$ok_re|$fail_re" "${logs[i]}" 2>/dev/null || ! kill -0 "${pids[i]}" 2>/dev/null; then
        secs[i]=$((SECONDS - t0))
      else
        pending=1
      fi
    done
    ((pending)) || break
    sleep 0.2
  done
  for i in "${!names[@]}"; do
    E2E_QEMU_PID=${pids[i]}
    e2e_stop_qemu 20
    cp "${logs[i]}" "$PNB_WORK/serial-${names[i]}.log"
    line_of[${names[i]}]=$(grep -aoE "($ok_re|$fail_re).*" "${logs[i]}" | head -1 | tr -d '\r')
  done
  for i in "${!names[@]}"; do
    if [[ -z ${line_of[${names[i]}]} ]]; then
      grep -aq 'No more network devices\|No bootable device' "${logs[i]}" && fail "${names[i]}: the firmware gave up booting"
      [[ -n ${secs[i]} ]] && fail "${names[i]}: QEMU exited without a marker"
      fail "${names[i]}: no marker on the serial console within $timeout s"
    fi
    times+=("${names[i]}=${secs[i]}s")
    echo "${names[i]}: marker after ${secs[i]} s: ${line_of[${names[i]}]}"
  done
}
use() { line=${line_of[$1]} serial=$PNB_WORK/serial-$1.log; }
field() { grep -oE "(^| )$1=[^ ]*" <<< "$line" | head -1 | sed "s/^ *$1=//"; }
# want FIELD VALUE WHAT: FAIL unless the marker's FIELD is VALUE.
want() { [[ $(field "$1") == "$2" ]] || fail "$3: $1=$(field "$1"), want $2 (marker: $line)"; }
marks() { wc -l < "$1/home/pinetboot-e2e/boots" 2>/dev/null || echo 0; }

# The copy board, generation 1: its own rw root; beside it the other VM, refused by the exports.
boot_vms copy-first "$board_mac" other-mac "$other_mac"
use copy-first
[[ $line == PINETBOOT-NFSROOT-OK* ]] || fail "copy board: first boot did not reach the NFS root: $line"
grep -aq "pinetboot-initramfs: ip $board_ip " "$serial" || fail "the board did not get $board_ip"
want kernel-hostname "$board_host" "copy board, first boot"
want hostname "$board_host" "copy board: /etc/hostname"
want root rw "copy board: its root is mounted"
want rootwrite yes "copy board: writing into /"
[[ $(field type) == nfs* ]] || fail "/ is $(field type), not NFS"
want src "$PNB_SRV_IP:$copy_path" "copy board: / comes from"
want home rw "copy board: /home"
want earlier none "copy board: a fresh root already had a mark"
want generation g1 "copy board, first boot"
want machine-id "$(cat "$root/etc/machine-id")" "copy board: its own machine-id"
first_id=$(field boot)
copy_mid=$(field machine-id)
[[ $(cat "$root/home/pinetboot-e2e/first-boot" 2>/dev/null) == "$first_id" ]] ||
  fail "the file the board wrote is not in its tree on the server"
grep -q "board $board_mac.*tftp boot.ipxe sent" "$PNB_WORK/server.log" || fail "no 'tftp boot.ipxe sent' to $board_mac"

use other-mac
[[ $line == PINETBOOT-NFSROOT-FAIL* ]] || fail "a VM with another MAC mounted the board's root: $line"
other_ip=$(grep -aoE 'pinetboot-initramfs: ip [0-9.]+' "$serial" | awk '{print $3}')
[[ -n $other_ip && $other_ip != "$board_ip" ]] || fail "the other VM got address '$other_ip'"
grep -aq "$fail_re mount $PNB_SRV_IP:$copy_path from $other_ip: .*\(denied\|ermission\)" "$serial" ||
  fail "the other VM's mount did not fail with access denied: $line"
[[ $(marks "$root") == 1 ]] || fail "the refused VM changed the board's root"

# --- that VM becomes a shared-root board; both servers reload on SIGHUP ----------------------
export_id() { awk -v p="Path = \"$1\";" '/Export_Id =/ { id = $3 } index($0, p) { sub(";", "", id); print id }' "$exports"; }
id_before=$(export_id "/srv/nfs/$folder")
folder2=${other_mac//:/-} board2_ip=10.77.0.51 board2_host=nfs-board-2
rm -rf "${tftp:?}/$folder2"
P add --mac "$other_mac" --scheme mac-dash --hostname "$board2_host" --ip "$board2_ip" --server-ip "$PNB_SRV_IP" \
  --image fleet --root-model shared
ipxe_for "$folder2"
state2=$nfs/$folder2/state
[[ $(own_tree "$folder2") == "$state2" ]] || fail "the shared board's own tree is $(own_tree "$folder2"), not $state2"
cmdline2=$(cat "$tftp/$folder2/cmdline.txt")
echo "generated cmdline.txt (shared): $cmdline2"
for w in "nfsroot=$PNB_SRV_IP:/srv/pinetboot/images/fleet/1/root" " ro " "init=/usr/lib/pinetboot/board-init" \
         "pinetboot.state=$PNB_SRV_IP:/srv/nfs/$folder2/state" "pinetboot.persist=/home,/var/log"; do
  grep -qF -- "$w" <<< " $cmdline2 " || fail "the shared board's cmdline.txt lacks '$w'"
done
P exports --format ganesha --apply
[[ -n $id_before && $(export_id "/srv/nfs/$folder") == "$id_before" ]] ||
  fail "the first board's Export_Id changed from '$id_before' to '$(export_id "/srv/nfs/$folder")' when a board was added"
[[ -n $(export_id /srv/pinetboot/images) ]] || fail "no export of the image store for the shared board"
awk '/^EXPORT \{/ { b = "" } { b = b $0 "\n" } /^\}/ && b ~ /Path = "\/srv\/pinetboot\/images";/ { print b }' "$exports" \
  > "$PNB_WORK/images-export"
grep -q "Clients = $board2_ip;" "$PNB_WORK/images-export" || fail "the image store is not exported to $board2_ip"
grep -qi 'Access_Type = RO' "$PNB_WORK/images-export" || fail "the image store is not exported read-only: $(cat "$PNB_WORK/images-export")"
! grep -q "Access_Type = RW" "$PNB_WORK/images-export" || fail "the image store is exported read-write"
! grep -q "Clients = $board_ip;" "$PNB_WORK/images-export" || fail "the image store is exported to the copy board too"
lines=$(wc -l < "$PNB_WORK/ganesha.log")
kill -HUP "$E2E_GANESHA_PID"
kill -HUP "$server_pid"
ganesha_reloaded() { tail -n +"$((lines + 1))" "$PNB_WORK/ganesha.log" | grep -q 'Reread exports complete'; }
for _ in $(seq 1 100); do
  grep -q 'reload: configuration reloaded, 2 host' "$PNB_WORK/server.log" && ganesha_reloaded && break
  sleep 0.1
done
grep -q 'reload: configuration reloaded, 2 host' "$PNB_WORK/server.log" || fail "pinetboot-server did not reload the registry"
ganesha_reloaded || fail "NFS-Ganesha did not reread its exports on SIGHUP"

# check_shared NAME GEN: the shared board's marker: generation GEN read-only, state writable.
check_shared() {
  [[ $line == PINETBOOT-NFSROOT-OK* ]] || fail "$1: the shared board did not reach its NFS root: $line"
  grep -aq "pinetboot-initramfs: ip $board2_ip " "$serial" || fail "$1: the shared board did not get $board2_ip"
  ! grep -aq 'pinetboot board-init: cannot mount' "$serial" || fail "$1: board-init could not mount the state tree"
  want src "$PNB_SRV_IP:/srv/pinetboot/images/fleet/$2/root" "$1: / comes from"
  want root ro "$1: the shared root is mounted"
  want rootwrite no "$1: writing into the shared /"
  want home rw "$1: /home from the state tree"
  want home-src "$PNB_SRV_IP:/srv/nfs/$folder2/state/home" "$1: /home is bound from"
  want varlog rw "$1: /var/log from the state tree"
  want tmp tmpfs "$1: /tmp (volatile)"
  want hostname "$board2_host" "$1: /etc/hostname (bound from the state tree)"
  want kernel-hostname "$board2_host" "$1"
  want machine-id "$(cat "$state2/etc/machine-id")" "$1: /etc/machine-id (bound from the state tree)"
  want generation "g$2" "$1"
}
# The shared board's first boot, beside the copy board's second (the same root, its mark there).
boot_vms shared-first "$other_mac" copy-second "$board_mac"
use shared-first
check_shared shared-first 1
want earlier none "shared board: a fresh state tree already had a mark"
shared_id=$(field boot)
[[ $(cat "$state2/home/pinetboot-e2e/first-boot" 2>/dev/null) == "$shared_id" ]] ||
  fail "the file the shared board wrote into /home is not in its state tree on the server"
[[ ! -e $images/fleet/1/root/home/pinetboot-e2e ]] || fail "the shared board wrote into the generation"
use copy-second
[[ $line == PINETBOOT-NFSROOT-OK* ]] || fail "copy board: second boot did not reach the NFS root: $line"
want src "$PNB_SRV_IP:$copy_path" "copy board, second boot: / comes from"
want root rw "copy board, second boot: its root"
want generation g1 "copy board, second boot"
want earlier "$first_id" "copy board, second boot: the first boot's file in /home"
[[ $(field boot) != "$first_id" ]] || fail "copy board: second boot has the first boot's id: not a new boot"
[[ $(marks "$root") == 2 ]] || fail "the copy board's root does not record two boots"

# --- lifecycle: image exec -> upgrade -> reboot; rollback -> reboot ----------------------------
P image exec fleet -- sh -c 'echo g2 > /etc/pinetboot-test-generation'
[[ $(cat "$images/fleet/2/root/etc/pinetboot-test-generation") == g2 ]] || fail "image exec made no generation 2 with g2"
[[ $(cat "$images/fleet/1/root/etc/pinetboot-test-generation") == g1 ]] || fail "image exec changed generation 1"
P upgrade --boards "$folder,$folder2"
ipxe_for "$folder"
ipxe_for "$folder2"
grep -q "nfsroot=$PNB_SRV_IP:/srv/pinetboot/images/fleet/2/root[, ]" "$tftp/$folder2/cmdline.txt" ||
  fail "after the upgrade the shared board's cmdline.txt does not mount generation 2: $(cat "$tftp/$folder2/cmdline.txt")"
root=$(own_tree "$folder")
[[ $root == */root.g2.2 ]] || fail "after the upgrade the copy board's tree is $root, not root.g2.2"
grep -q "nfsroot=$PNB_SRV_IP:/srv/nfs/$folder/root.g2.2[, ]" "$tftp/$folder/cmdline.txt" ||
  fail "after the upgrade the copy board's cmdline.txt does not mount root.g2.2: $(cat "$tftp/$folder/cmdline.txt")"

boot_vms shared-upgraded "$other_mac" copy-upgraded "$board_mac"
use shared-upgraded
# The shared board's second boot: the upgrade changed its read-only root, not its state tree.
check_shared shared-upgraded 2
want earlier "$shared_id" "shared board, second boot (after the upgrade): the first boot's file in /home"
[[ $(field boot) != "$shared_id" ]] || fail "shared board: second boot has the first boot's id: not a new boot"
[[ $(marks "$state2") == 2 ]] || fail "the state tree does not record two boots"

# The copy board on the root the upgrade built: /home came along.
use copy-upgraded
[[ $line == PINETBOOT-NFSROOT-OK* ]] || fail "copy board after the upgrade did not reach its NFS root: $line"
want src "$PNB_SRV_IP:/srv/nfs/$folder/root.g2.2" "copy board after the upgrade: / comes from"
want root rw "copy board after the upgrade: its root"
want generation g2 "copy board after the upgrade"
want hostname "$board_host" "copy board after the upgrade: /etc/hostname"
want machine-id "$copy_mid" "copy board after the upgrade: its machine-id"
want earlier "$first_id" "copy board after the upgrade: the first boot's file in /home"
[[ $(marks "$root") == 3 ]] || fail "the copy board's root.g2.2 does not record three boots"

P rollback --boards "$folder,$folder2"
ipxe_for "$folder"
ipxe_for "$folder2"
root=$(own_tree "$folder")
[[ $root == */root.g1.3 && -x $root/sbin/init && $(cat "$root/etc/pinetboot-test-generation") == g1 ]] ||
  fail "after the rollback the copy board's tree $root is not generation 1's"

# --- after the rollback, in proxy mode beside the site's router ------------------------------
# The router (dnsmasq in $PNB_MID) leases the addresses, with reservations for the boards as a
# site would have; pinetboot-server only adds the boot menu/file (proxyDHCP) and TFTP.
kill "$server_pid"
wait "$server_pid" 2>/dev/null || true
ip netns exec "$PNB_MID" dnsmasq --no-daemon --port=0 --conf-file=/dev/null --pid-file= \
  --interface=veth0 --bind-interfaces --dhcp-range=10.77.0.150,10.77.0.199,255.255.255.0,1h \
  --dhcp-host="$board_mac,$board_ip" --dhcp-host="$other_mac,$board2_ip" \
  --dhcp-option=option:router,10.77.0.254 --leasefile-ro --no-ping \
  --dhcp-authoritative --log-dhcp --log-facility=- > "$PNB_WORK/dnsmasq.log" 2>&1 &
PNB_PIDS+=($!)
sed -i 's/^mode = "full"/mode = "proxy"/; /^lease_file/d; /^\[\[dhcp.subnet\]\]/,/^routers/d' "$PNB_WORK/server.toml"
e2e_start_server "$PNB_WORK/server.toml"
for _ in $(seq 1 50); do grep -q 'DHCP, sockets bound' "$PNB_WORK/dnsmasq.log" && break; sleep 0.1; done
grep -q 'DHCP, sockets bound' "$PNB_WORK/dnsmasq.log" || fail "dnsmasq did not start"
boot_vms shared-rolled-back-proxy "$other_mac" copy-rolled-back-proxy "$board_mac"
use shared-rolled-back-proxy
# No host name from the router: the kernel's comes from board-init (/etc/hostname).
check_shared shared-rolled-back-proxy 1
want earlier "$shared_id" "shared board after the rollback: its /home"
[[ $(marks "$state2") == 3 ]] || fail "the state tree does not record three boots"
use copy-rolled-back-proxy
[[ $line == PINETBOOT-NFSROOT-OK* ]] || fail "proxy mode: the board did not reach its NFS root: $line"
for m in "$board_mac" "$other_mac"; do
  grep -q "board $m (ipxe): dhcp DISCOVER -> proxy offer file boot.ipxe" "$PNB_WORK/server.log" || fail "proxy mode: no proxy offer to $m in the server log"
done
grep -aq "Next server: $PNB_SRV_IP" "$serial" || fail "proxy mode: iPXE did not take next-server $PNB_SRV_IP"
grep -q "DHCPACK(veth0) $board_ip $board_mac" "$PNB_WORK/dnsmasq.log" || fail "proxy mode: the router did not ack $board_ip"
grep -aq "pinetboot-initramfs: ip $board_ip " "$serial" || fail "proxy mode: the board's kernel did not get $board_ip"
want src "$PNB_SRV_IP:/srv/nfs/$folder/root.g1.3" "copy board after the rollback: / comes from"
want root rw "copy board after the rollback: its root"
want generation g1 "copy board after the rollback"
want hostname "$board_host" "copy board after the rollback: /etc/hostname"
want machine-id "$copy_mid" "copy board after the rollback: its machine-id"
want earlier "$first_id" "copy board after the rollback: the first boot's file in /home"
[[ $(marks "$root") == 4 ]] || fail "the copy board's root.g1.3 does not record four boots"
# The boards wrote into their persistent paths only: pinetboot-provision finds no drift (once
# the test's own boot.ipxe files, which it would report, are gone).
rm -f "$tftp/$folder/boot.ipxe" "$tftp/$folder2/boot.ipxe"
P verify

echo "times to marker: ${times[*]}; whole test $((SECONDS - t_start)) s"
echo "e2e_nfsroot: ok"
