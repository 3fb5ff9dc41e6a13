#!/usr/bin/env bash
# The whole boot of a board provisioned by pinetboot-provision, on its NFS root:
#   golden trees (a busybox root whose /sbin/init prints a marker; a boot tree with Debian's
#   kernel and an initramfs) -> pinetboot-provision add (copy model: the board gets its own rw
#   root) -> exports --format ganesha --apply -> NFS-Ganesha serves the file it generated ->
#   pinetboot-server (full DHCP mode, the board's address from the provision registry) ->
#   QEMU's iPXE boots the board's boot.ipxe, kernel and initramfs over TFTP; the initramfs
#   mounts the root named by the generated cmdline.txt (nfsroot=, ip= parsed from
#   /proc/cmdline) and switch_roots into it.
# Cases: first boot (marker, host name, root rw, a file written into the root), second boot
# (the file from the first boot is there), a second VM with another MAC, hence another
# address, booting the same files: the exports refuse its mount; then that VM is added as a
# board of its own (the first board's Export_Id stays), Ganesha and pinetboot-server reload on
# SIGHUP, and it boots on its own root; last the first board boots once more with
# pinetboot-server in proxy mode beside a stand-in router (dnsmasq) that leases the addresses.
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
board_host=nfs-board-1
folder=${board_mac//:/-}
timeout=${E2E_BOOT_TIMEOUT:-120}
ok_re='PINETBOOT-NFSROOT-OK'
fail_re='PINETBOOT-NFSROOT-FAIL'

kernel=$(e2e_kernel) || fail "no kernel"
modules=$(e2e_nfs_modules) || fail "no kernel modules"

# --- golden trees ---------------------------------------------------------------------------
golden=$PNB_WORK/golden
mkdir -p "$golden"/boot "$golden"/root/{bin,sbin,etc,dev,proc,sys,tmp,var}
cp "$kernel" "$golden/boot/vmlinuz"
e2e_nfs_initramfs "$golden/boot/initrd.img" "$modules"
# As on a Raspberry Pi OS image: an SD-card root that provisioning must replace.
echo "console=ttyS0,115200 panic=-1 root=PARTUUID=e2e0e2e0-02 rootfstype=ext4 fsck.repair=yes rootwait quiet ${E2E_CMDLINE_EXTRA:-}" \
  > "$golden/boot/cmdline.txt"
cp /bin/busybox "$golden/root/bin/busybox"
for a in $(/bin/busybox --list); do
  [[ $a == busybox ]] || ln -sf busybox "$golden/root/bin/$a"
done
echo golden-root > "$golden/root/etc/hostname"
printf 'proc /proc proc defaults 0 0\nPARTUUID=e2e0e2e0-01 /boot/firmware vfat defaults 0 2\nPARTUUID=e2e0e2e0-02 / ext4 defaults,noatime 0 1\n' \
  > "$golden/root/etc/fstab"
cat > "$golden/root/sbin/init" <<'EOT'
#!/bin/sh
# The board's userland: says who and where it is, leaves a mark in its root, powers off.
export PATH=/bin
mount -t proc proc /proc
exec >/dev/console 2>&1
set -- $(awk '$2 == "/" { l = $0 } END { print l }' /proc/mounts)
src=$1 type=$3
case ,$4, in *,ro,*) root=ro ;; *) root=rw ;; esac
me=$(cat /proc/sys/kernel/random/boot_id)
state=/var/lib/pinetboot-e2e
earlier=none
[ -f $state/first-boot ] && earlier=$(cat $state/first-boot)
wrote=no
if mkdir -p $state 2>/dev/null && echo "$me" >> $state/boots 2>/dev/null; then
  [ -f $state/first-boot ] || echo "$me" > $state/first-boot
  wrote=yes
fi
sync
echo "PINETBOOT-NFSROOT-OK hostname=$(cat /etc/hostname) kernel-hostname=$(hostname) root=$root type=$type src=$src boot=$me wrote=$wrote earlier=$earlier generation=$(cat /etc/pinetboot-generation 2>/dev/null || echo none)"
poweroff -f
EOT
chmod 755 "$golden/root/sbin/init"

# --- provision ------------------------------------------------------------------------------
prefix=$PNB_WORK/p
P() { "$provision" --prefix "$prefix" "$@"; }
P add --mac "$board_mac" --scheme mac-dash --hostname "$board_host" --ip "$board_ip" --server-ip "$PNB_SRV_IP" \
  --from-tree "$golden/boot" "$golden/root" > "$PNB_WORK/provision.out" 2>&1 ||
  fail "provision add: $(cat "$PNB_WORK/provision.out")"
boot=$prefix/srv/tftp/$folder
root=$prefix/srv/nfs/$folder
[[ -s $boot/cmdline.txt && -x $root/sbin/init ]] || fail "provision did not create $boot and $root"
cmdline=$(cat "$boot/cmdline.txt")
echo "generated cmdline.txt: $cmdline"
grep -q 'root=/dev/nfs' <<< "$cmdline" || fail "generated cmdline.txt has no root=/dev/nfs"
# iPXE cannot read cmdline.txt; the Pi firmware would hand the kernel exactly this line.
printf '#!ipxe\necho e2e: ip ${net0/ip}\nkernel vmlinuz %s\ninitrd initrd.img\nboot\n' "$cmdline" > "$boot/boot.ipxe"
# The other VM gets the same boot files (a board moved to another NIC, or a stranger that
# copied them): only the exports stand between it and the board's root.
cp -a "$boot" "$prefix/srv/tftp/${other_mac//:/-}"

P exports --format ganesha --apply > "$PNB_WORK/provision.out" 2>&1 ||
  fail "exports --format ganesha --apply: $(cat "$PNB_WORK/provision.out")"
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
%include "$exports"
EOT
mkdir -p "$PNB_WORK/ganesha-recovery"
e2e_setup_lan router  # $PNB_MID stays idle until the proxy-mode case
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
# boot_vm NAME MAC: boots, waits for the OK or FAIL marker, lets the VM power off, keeps its
# console as serial-NAME.log; sets $line (the marker line) and $secs (QEMU start to marker).
times=()
boot_vm() {
  local name=$1 mac=$2 t0=$SECONDS rc=0
  e2e_start_qemu "$PNB_WORK/serial.log" "$mac"
  e2e_wait_line "$PNB_WORK/serial.log" "$timeout" "$ok_re|$fail_re" || rc=$?
  secs=$((SECONDS - t0))
  case $rc in
    0) ;;
    1) fail "$name: no marker on the serial console within $timeout s" ;;
    3) fail "$name: the firmware gave up booting" ;;
    *) fail "$name: QEMU exited without a marker" ;;
  esac
  e2e_stop_qemu 20
  line=$(grep -aoE "($ok_re|$fail_re).*" "$PNB_WORK/serial.log" | head -1 | tr -d '\r')
  cp "$PNB_WORK/serial.log" "$PNB_WORK/serial-$name.log"
  times+=("$name ${secs}s")
  echo "$name: marker after $secs s: $line"
}
field() { grep -oE "(^| )$1=[^ ]*" <<< "$line" | head -1 | sed "s/^ *$1=//"; }

boot_vm first-boot "$board_mac"
[[ $line == PINETBOOT-NFSROOT-OK* ]] || fail "first boot did not reach the NFS root: $line"
grep -aq "pinetboot-initramfs: ip $board_ip " "$PNB_WORK/serial.log" || fail "the board did not get $board_ip"
[[ $(field kernel-hostname) == "$board_host" ]] || fail "kernel host name $(field kernel-hostname), want $board_host"
if [[ $(cat "$root/etc/hostname") != golden-root ]]; then  # provision writes etc/hostname
  [[ $(field hostname) == "$board_host" ]] || fail "/etc/hostname is $(field hostname), want $board_host"
else
  echo "note: pinetboot-provision keeps the golden /etc/hostname ($(field hostname)); the host name comes from DHCP"
  [[ $(field hostname) == golden-root ]] || fail "/etc/hostname is $(field hostname), not the tree's"
fi
[[ $(field root) == rw ]] || fail "the copy-model root is mounted $(field root), want rw"
[[ $(field type) == nfs* ]] || fail "/ is $(field type), not NFS"
[[ $(field src) == "$PNB_SRV_IP:/srv/nfs/$folder" ]] || fail "/ comes from $(field src)"
[[ $(field wrote) == yes ]] || fail "the board could not write into its root"
[[ $(field earlier) == none ]] || fail "a fresh root already had a mark: $(field earlier)"
first_id=$(field boot)
[[ $(cat "$root/var/lib/pinetboot-e2e/first-boot" 2>/dev/null) == "$first_id" ]] ||
  fail "the file the board wrote is not in its tree on the server"
grep -q "board $board_mac.*tftp boot.ipxe sent" "$PNB_WORK/server.log" || fail "no 'tftp boot.ipxe sent' to $board_mac"

boot_vm second-boot "$board_mac"
[[ $line == PINETBOOT-NFSROOT-OK* ]] || fail "second boot did not reach the NFS root: $line"
[[ $(field earlier) == "$first_id" ]] || fail "second boot sees '$(field earlier)', not the first boot's mark $first_id"
[[ $(field boot) != "$first_id" ]] || fail "second boot has the first boot's id: not a new boot"
[[ $(wc -l < "$root/var/lib/pinetboot-e2e/boots") == 2 ]] || fail "the root does not record two boots"

boot_vm other-mac "$other_mac"
[[ $line == PINETBOOT-NFSROOT-FAIL* ]] || fail "a VM with another MAC mounted the board's root: $line"
other_ip=$(grep -aoE 'pinetboot-initramfs: ip [0-9.]+' "$PNB_WORK/serial.log" | awk '{print $3}')
[[ -n $other_ip && $other_ip != "$board_ip" ]] || fail "the other VM got address '$other_ip'"
grep -aq "$fail_re mount $PNB_SRV_IP:/srv/nfs/$folder from $other_ip: .*\(denied\|ermission\)" "$PNB_WORK/serial.log" ||
  fail "the other VM's mount did not fail with access denied: $line"
[[ $(wc -l < "$root/var/lib/pinetboot-e2e/boots") == 2 ]] || fail "the refused VM changed the board's root"

# --- that VM becomes a board of its own; both servers reload on SIGHUP ------------------------
export_id() { awk -v p="Path = \"/srv/nfs/$1\";" '/Export_Id =/ { id = $3 } index($0, p) { sub(";", "", id); print id }' "$exports"; }
id_before=$(export_id "$folder")
rm -rf "$prefix/srv/tftp/${other_mac//:/-}"
P add --mac "$other_mac" --scheme mac-dash --hostname nfs-board-2 --ip 10.77.0.51 --server-ip "$PNB_SRV_IP" \
  --from-tree "$golden/boot" "$golden/root" > "$PNB_WORK/provision.out" 2>&1 ||
  fail "provision add (second board): $(cat "$PNB_WORK/provision.out")"
boot2=$prefix/srv/tftp/${other_mac//:/-}
printf '#!ipxe\nkernel vmlinuz %s\ninitrd initrd.img\nboot\n' "$(cat "$boot2/cmdline.txt")" > "$boot2/boot.ipxe"
P exports --format ganesha --apply > "$PNB_WORK/provision.out" 2>&1 || fail "exports --apply: $(cat "$PNB_WORK/provision.out")"
[[ $(grep -c '^EXPORT {' "$exports") == 4 ]] || fail "want 4 exports after the second board"
[[ -n $id_before && $(export_id "$folder") == "$id_before" ]] ||
  fail "the first board's Export_Id changed from '$id_before' to '$(export_id "$folder")' when a board was added"
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
boot_vm second-board "$other_mac"
[[ $line == PINETBOOT-NFSROOT-OK* ]] || fail "the second board did not reach its NFS root after the reloads: $line"
[[ $(field kernel-hostname) == nfs-board-2 ]] || fail "second board's host name is $(field kernel-hostname)"
[[ $(field src) == "$PNB_SRV_IP:/srv/nfs/${other_mac//:/-}" ]] || fail "the second board's / comes from $(field src)"
[[ $(field earlier) == none ]] || fail "the second board's fresh root has a mark from $(field earlier)"
grep -aq "pinetboot-initramfs: ip 10.77.0.51 " "$PNB_WORK/serial.log" || fail "the second board did not get 10.77.0.51"

# --- proxy mode beside the site's router -----------------------------------------------------
# The router (dnsmasq in $PNB_MID) leases the addresses, with a reservation for the first board
# as a site would have; pinetboot-server only adds the boot menu/file (proxyDHCP) and TFTP.
kill "$server_pid"
wait "$server_pid" 2>/dev/null || true
ip netns exec "$PNB_MID" dnsmasq --no-daemon --port=0 --conf-file=/dev/null --pid-file= \
  --interface=veth0 --bind-interfaces --dhcp-range=10.77.0.150,10.77.0.199,255.255.255.0,1h \
  --dhcp-host="$board_mac,$board_ip" --dhcp-option=option:router,10.77.0.254 --leasefile-ro --no-ping \
  --dhcp-authoritative --log-dhcp --log-facility=- > "$PNB_WORK/dnsmasq.log" 2>&1 &
PNB_PIDS+=($!)
sed -i 's/^mode = "full"/mode = "proxy"/; /^lease_file/d; /^\[\[dhcp.subnet\]\]/,/^routers/d' "$PNB_WORK/server.toml"
e2e_start_server "$PNB_WORK/server.toml"
for _ in $(seq 1 50); do grep -q 'DHCP, sockets bound' "$PNB_WORK/dnsmasq.log" && break; sleep 0.1; done
grep -q 'DHCP, sockets bound' "$PNB_WORK/dnsmasq.log" || fail "dnsmasq did not start"
boot_vm proxy-mode "$board_mac"
[[ $line == PINETBOOT-NFSROOT-OK* ]] || fail "proxy mode: the board did not reach its NFS root: $line"
grep -aq "Next server: $PNB_SRV_IP" "$PNB_WORK/serial.log" || fail "proxy mode: iPXE did not take next-server $PNB_SRV_IP"
grep -q "board $board_mac (ipxe): dhcp DISCOVER -> proxy offer file boot.ipxe" "$PNB_WORK/server.log" || fail "proxy mode: no proxy offer to $board_mac in the server log"
grep -q "DHCPACK(veth0) $board_ip $board_mac" "$PNB_WORK/dnsmasq.log" || fail "proxy mode: the router did not ack $board_ip"
grep -aq "pinetboot-initramfs: ip $board_ip " "$PNB_WORK/serial.log" || fail "proxy mode: the board's kernel did not get $board_ip"
[[ $(field root) == rw && $(field earlier) == "$first_id" ]] || fail "proxy mode: root $(field root), mark $(field earlier)"
[[ $(wc -l < "$root/var/lib/pinetboot-e2e/boots") == 3 ]] || fail "the root does not record three boots"

echo "times to marker: ${times[*]}; whole test $((SECONDS - t_start)) s"
echo "e2e_nfsroot: ok"
