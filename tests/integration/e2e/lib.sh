# Helpers for the end-to-end tests that PXE-boot a real client (QEMU's iPXE ROM on an e1000 NIC)
# from pinetboot-server. Source after lib/netns.sh.
#
#   e2e_require_tools [dnsmasq]   FAIL (exit 1) naming the missing Debian packages
#   e2e_kernel                    prints the path of a cached Debian vmlinuz (downloads it once)
#   e2e_initramfs OUT             builds a busybox initramfs whose /init prints the marker
#   e2e_setup_lan [router]        namespaces: $PNB_CLI holds bridge br0 + tap0 (QEMU runs there),
#                                 $PNB_SRV (10.77.0.1) the server, $PNB_MID (10.77.0.254) a router
#   e2e_start_qemu LOG [MAC] [TAP] boots QEMU in $PNB_CLI, serial console to LOG (MAC: $E2E_MAC,
#                                 TAP: tap0); E2E_QEMU_PID is its PID
#   e2e_add_tap TAP               one more tap on br0 (for a second VM at the same time)
#   e2e_wait_marker LOG SECONDS   waits for the marker on the serial console (or QEMU's exit)
#   e2e_wait_line LOG SECONDS RE  the same for any extended regex RE
#   e2e_stop_qemu [SECONDS]       waits that long for QEMU to power off by itself, then kills it
#   e2e_nfs_modules               prints a folder with the kernel's NFS client + e1000 modules
#                                 and their load order (file `order`), cached beside the kernel
#   e2e_nfs_initramfs OUT MODDIR  a busybox initramfs that mounts the NFS root named by the
#                                 kernel command line (root=/dev/nfs nfsroot= ip=), runs its init
#   e2e_start_ganesha CONF DIR    rpcbind + NFS-Ganesha in $PNB_SRV, in a private mount namespace
#                                 where DIR is bind-mounted on /srv (the paths provision wrote)
#   e2e_start_ra                  IPv6 router advertisements on the LAN (dnsmasq, RA only), so
#                                 iPXE does not wait ~13 s for IPv6 autoconfiguration
#   e2e_tftp_root DIR [per-client] kernel, initramfs and boot.ipxe for iPXE in DIR (or its MAC dir)
#   e2e_start_server TOML         pinetboot-server --verbose in $PNB_SRV, log $PNB_WORK/server.log
#   e2e_boot NAME                 QEMU boots; FAIL unless the marker shows in $E2E_BOOT_TIMEOUT s
#   fail MSG                      prints MSG and the logs' tails, exits 1
#
# Nothing touches the host's interfaces: the bridge, the tap and all veths live in the
# namespaces the test owns, which pnb_cleanup deletes (killing QEMU, the server and dnsmasq).

E2E_CACHE=${PINETBOOT_CACHE:-/var/cache/pinetboot-test}
E2E_MARKER=PINETBOOT-E2E-OK
E2E_ROM=/usr/lib/ipxe/qemu/pxe-e1000.rom
E2E_MAC=52:54:00:e2:e0:01
E2E_QEMU_PID=

e2e_require_tools() {
  local missing=()
  command -v qemu-system-x86_64 >/dev/null || missing+=(qemu-system-x86)
  [[ -r $E2E_ROM ]] || missing+=(ipxe-qemu)
  # The initramfs needs a static busybox (it runs with no libraries); busybox-static installs one.
  if ! [[ -x /bin/busybox ]] || ! e2e_is_static /bin/busybox; then missing+=(busybox-static); fi
  command -v dpkg-deb >/dev/null || missing+=(dpkg)
  command -v apt-get >/dev/null || missing+=(apt)
  if [[ ${1:-} == dnsmasq ]]; then command -v dnsmasq >/dev/null || missing+=(dnsmasq-base); fi
  if ((${#missing[@]})); then
    echo "FAIL: missing Debian packages: ${missing[*]} (apt-get install --no-install-recommends ${missing[*]})"
    exit 1
  fi
}

# True when ELF file $1 has no program interpreter (PT_INTERP), i.e. is statically linked.
# Reads the program headers with od, so no binutils or file(1) are needed.
e2e_is_static() {
  local f=$1 phoff phentsize phnum i type
  [[ $(od -An -tx1 -N4 "$f" | tr -d ' \n') == 7f454c46 ]] || return 1
  phoff=$(od -An -tu8 -j32 -N8 "$f" | tr -d ' ')
  phentsize=$(od -An -tu2 -j54 -N2 "$f" | tr -d ' ')
  phnum=$(od -An -tu2 -j56 -N2 "$f" | tr -d ' ')
  for ((i = 0; i < phnum; ++i)); do
    type=$(od -An -tu4 -j$((phoff + i * phentsize)) -N4 "$f" | tr -d ' ')
    [[ $type == 3 ]] && return 1
  done
  return 0
}

# Prints the path of a Debian amd64 kernel image. The package named by linux-image-amd64 is
# downloaded once with `apt-get download` (about 70 MB, ~20 s here, mostly unpacking) and only its
# /boot/vmlinuz-* is kept in $E2E_CACHE (about 8 MB); nothing is installed on the host.
# If the package lists are missing or stale, the newest cached kernel is used; with none cached,
# `apt-get update` runs once and the download is retried. Parallel runs serialise on a lock.
e2e_kernel() {
  mkdir -p "$E2E_CACHE"
  (
    flock -w 600 9 || { echo "FAIL: cannot lock $E2E_CACHE/.lock" >&2; exit 1; }
    local pkg cached
    pkg=$(_e2e_kernel_pkg)
    [[ -n $pkg ]] && _e2e_fetch_kernel "$pkg" && exit 0
    cached=$(ls -1 "$E2E_CACHE"/vmlinuz-* 2>/dev/null | sort -V | tail -1)
    if [[ -n $cached ]]; then
      echo "kernel: ${pkg:-linux-image-amd64} not available from apt, using cached $cached" >&2
      echo "$cached"
      exit 0
    fi
    echo "kernel: nothing cached; apt-get update, then retrying" >&2
    apt-get update -qq >&2 || true
    pkg=$(_e2e_kernel_pkg)
    [[ -n $pkg ]] && _e2e_fetch_kernel "$pkg" && exit 0
    echo "FAIL: cannot download the kernel package ${pkg:-(apt-cache knows no linux-image-amd64)}" >&2
    exit 1
  ) 9>"$E2E_CACHE/.lock"
}

_e2e_kernel_pkg() {
  apt-cache depends linux-image-amd64 2>/dev/null | awk '/Depends: linux-image-[0-9]/ {print $2; exit}'
}

# Prints $E2E_CACHE/vmlinuz-VER for package $1 (linux-image-VER), downloading it if needed.
_e2e_fetch_kernel() {
  local pkg=$1 ver=${1#linux-image-} tmp t0=$SECONDS
  if [[ ! -s $E2E_CACHE/vmlinuz-$ver ]]; then
    tmp=$(mktemp -d "$E2E_CACHE/.dl.XXXXXX")
    chown _apt "$tmp" 2>/dev/null || true  # else apt warns that it downloads unsandboxed
    if ! (cd "$tmp" && apt-get download -q "$pkg" >&2) ||
       ! dpkg-deb --fsys-tarfile "$tmp"/"$pkg"_*.deb | tar -x -C "$tmp" "./boot/vmlinuz-$ver"; then
      echo "kernel: apt-get download $pkg failed" >&2
      rm -rf "$tmp"
      return 1
    fi
    mv "$tmp/boot/vmlinuz-$ver" "$E2E_CACHE/vmlinuz-$ver"
    echo "kernel: downloaded $pkg ($(du -k "$tmp"/*.deb | cut -f1) KiB) in $((SECONDS - t0)) s" >&2
    rm -rf "$tmp"
  fi
  echo "$E2E_CACHE/vmlinuz-$ver"
}

# Prints a folder holding the modules an NFS root needs with e2e_kernel's kernel (e1000 for
# QEMU's NIC, sunrpc ... nfs, nfsv3, nfsv4) and a file `order` with their load order. Debian's
# kernel has NFS as modules and no CONFIG_ROOT_NFS, and its unpacked tree has no modules.dep, so
# the order is the dependency closure of each .ko's `depends=` string. The package is downloaded
# again only when the cache has the kernel but not its modules (7 MB are kept); if that fails,
# `apt-get update` runs once and the download is retried.
e2e_nfs_modules() {
  local kernel ver dir
  kernel=$(e2e_kernel) || return 1
  ver=${kernel##*/vmlinuz-}
  dir=$E2E_CACHE/nfs-modules-$ver
  [[ -s $dir/order ]] && { echo "$dir"; return 0; }
  (
    flock -w 600 9 || { echo "FAIL: cannot lock $E2E_CACHE/.lock" >&2; exit 1; }
    [[ -s $dir/order ]] && { echo "$dir"; exit 0; }
    tmp=$(mktemp -d "$E2E_CACHE/.dl.XXXXXX")
    pkg=linux-image-$ver t0=$SECONDS
    chown _apt "$tmp" 2>/dev/null || true
    k=./lib/modules/$ver/kernel
    if ! (cd "$tmp" && apt-get download -q "$pkg" >&2); then
      echo "modules: apt-get download $pkg failed; apt-get update, then retrying" >&2
      apt-get update -qq >&2 || true
    fi
    if ! (cd "$tmp" && ls "$pkg"_*.deb >/dev/null 2>&1 || apt-get download -q "$pkg" >&2) ||
       ! dpkg-deb --fsys-tarfile "$tmp"/"$pkg"_*.deb | tar -x -C "$tmp" --wildcards \
           "$k/fs/nfs/*" "$k/fs/nfs_common/*" "$k/fs/lockd/*" "$k/fs/netfs/*" "$k/fs/fscache/*" \
           "$k/net/sunrpc/*" "$k/net/dns_resolver/*" "$k/drivers/net/ethernet/intel/e1000/*"; then
      echo "FAIL: cannot get the modules of $pkg" >&2
      rm -rf "$tmp"
      exit 1
    fi
    mkdir -p "$tmp/out"
    declare -A file_of=() seen=()
    order=()
    while IFS= read -r f; do file_of[$(basename "$f" .ko)]=$f; done < <(find "$tmp/lib" -name '*.ko')
    visit() {
      local m=$1 d deps
      [[ -n ${seen[$m]:-} ]] && return 0
      seen[$m]=1
      [[ -n ${file_of[$m]:-} ]] || { echo "FAIL: module $m (a dependency) was not extracted" >&2; return 1; }
      deps=$(grep -a -o 'depends=[A-Za-z0-9_,-]*' "${file_of[$m]}" | head -1)
      deps=${deps#depends=}
      for d in ${deps//,/ }; do visit "$d" || return 1; done
      cp "${file_of[$m]}" "$tmp/out/$m.ko"
      order+=("$m")
    }
    for f in e1000 nfs nfsv3 nfsv4; do visit "$f" || { rm -rf "$tmp"; exit 1; }; done
    printf '%s\n' "${order[@]}" > "$tmp/out/order"
    rm -rf "$dir"
    mv "$tmp/out" "$dir"
    echo "modules: ${#order[@]} NFS modules of $pkg cached in $((SECONDS - t0)) s" >&2
    rm -rf "$tmp"
    echo "$dir"
  ) 9>"$E2E_CACHE/.lock"
}

# Builds a gzip'd newc initramfs at $1 that does what a kernel with CONFIG_ROOT_NFS and
# CONFIG_IP_PNP does with root=/dev/nfs: loads the modules from folder $2 (in its `order`),
# configures the network from ip= and mounts nfsroot= from /proc/cmdline, parsed as
# Documentation/admin-guide/nfs/nfsroot.rst says (the test does not tell it the values):
#   ip=<client>:<server>:<gw>:<netmask>:<hostname>:<device>:<autoconf>:...  or ip=<autoconf>;
#      autoconf dhcp|on|any|both|bootp -> DHCP (udhcpc; the lease's host name becomes the
#      kernel's, as ipconfig does), off|none or empty with a client address -> static.
#   nfsroot=[<server>:]<path>[,<options>]; no server -> ip='s <server>, else the DHCP siaddr
#      (next-server) or server id; "%s" in the path -> the client address; the kernel's nolock
#      default; ro/rw from the command line (ro if neither, as the kernel does).
#   init=<path>: the program switch_root runs in the new root (default /sbin/init), as the
#      kernel runs it after mounting an NFS root itself.
# Then it moves /dev into the new root and switch_roots to init. Every failure prints
# "PINETBOOT-NFSROOT-FAIL <why>" and powers off, so QEMU always ends by itself.
e2e_nfs_initramfs() {
  local out=$1 mods=$2 dir
  dir=$(mktemp -d "$PNB_WORK/initramfs.XXXXXX")
  mkdir -p "$dir"/{bin,dev,proc,sys,newroot,lib/modules,tmp}
  cp /bin/busybox "$dir/bin/busybox"
  ln -s busybox "$dir/bin/sh"
  cp "$mods"/*.ko "$mods/order" "$dir/lib/modules/"
  cat > "$dir/bin/udhcpc.script" <<'EOT'
#!/bin/sh
# udhcpc hook: configure the interface like the kernel's ipconfig, remember the lease.
case $1 in
  deconfig) ifconfig "$interface" 0.0.0.0 up ;;
  bound|renew)
    ifconfig "$interface" "$ip" netmask "${subnet:-255.255.255.0}" up
    [ -n "$router" ] && route add default gw "${router%% *}" dev "$interface"
    { echo "dhcp_ip=$ip"; echo "dhcp_siaddr=$siaddr"; echo "dhcp_serverid=$serverid"
      echo "dhcp_hostname=$hostname"; } > /tmp/lease
    ;;
esac
exit 0
EOT
  chmod 755 "$dir/bin/udhcpc.script"
  cat > "$dir/init" <<'EOT'
#!/bin/sh
/bin/busybox --install -s /bin
export PATH=/bin
mount -t devtmpfs dev /dev
mount -t proc proc /proc
mount -t sysfs sys /sys
exec >/dev/console 2>&1
die() { echo "PINETBOOT-NFSROOT-FAIL $*"; sync; poweroff -f; sleep 30; }
grep -q pinetboot.debug /proc/cmdline && set -x
for m in $(cat /lib/modules/order); do insmod "/lib/modules/$m.ko" || die "insmod $m"; done
root= nfsroot= ip= mode=ro init=/sbin/init
for a in $(cat /proc/cmdline); do
  case $a in
    root=*) root=${a#root=} ;;
    init=*) init=${a#init=} ;;
    nfsroot=*) nfsroot=${a#nfsroot=} ;;
    ip=*) ip=${a#ip=} ;;
    ro) mode=ro ;;
    rw) mode=rw ;;
  esac
done
[ "$root" = /dev/nfs ] || die "root=$root, not /dev/nfs"
[ -n "$nfsroot" ] || die "no nfsroot="
c_ip= c_srv= c_gw= c_mask= c_host= c_dev= c_auto=
case $ip in
  *:*)
    IFS=: read -r c_ip c_srv c_gw c_mask c_host c_dev c_auto _rest <<EOF
$ip
EOF
    ;;
  *) c_auto=$ip ;;
esac
dev=${c_dev:-eth0}
i=0
while ! ip link show "$dev" >/dev/null 2>&1; do
  i=$((i + 1))
  [ $i -gt 50 ] && die "no network device $dev"
  sleep 0.1
done
case $c_auto in
  dhcp|on|any|both|bootp)
    # udhcpc neither raises the link nor gives up on a down one ("Network is down" forever).
    ip link set "$dev" up
    timeout 30 udhcpc -i "$dev" -n -q -t 5 -T 2 -s /bin/udhcpc.script >/tmp/udhcpc.log 2>&1 ||
      die "no DHCP lease on $dev: $(tail -3 /tmp/udhcpc.log)"
    . /tmp/lease
    c_ip=$dhcp_ip
    [ -n "$c_srv" ] || c_srv=$dhcp_siaddr
    [ "$c_srv" = 0.0.0.0 ] && c_srv=
    [ -n "$c_srv" ] || c_srv=$dhcp_serverid
    [ -n "$c_host" ] || c_host=$dhcp_hostname
    ;;
  off|none|"")
    [ -n "$c_ip" ] || die "ip=$ip: no address and no autoconfiguration"
    ifconfig "$dev" "$c_ip" netmask "${c_mask:-255.255.255.0}" up || die "cannot configure $dev"
    [ -n "$c_gw" ] && route add default gw "$c_gw" dev "$dev"
    ;;
  *) die "ip=$ip: autoconfiguration '$c_auto' is not supported here" ;;
esac
[ -n "$c_host" ] && hostname "$c_host"
spec=${nfsroot%%,*}
opts=
[ "$spec" != "$nfsroot" ] && opts=${nfsroot#*,}
case $spec in
  /*) server=$c_srv path=$spec ;;
  *:*) server=${spec%%:*} path=${spec#*:} ;;
  *) die "nfsroot=$nfsroot is not [server:]path" ;;
esac
[ -n "$server" ] || die "nfsroot=$nfsroot: no server"
path=$(echo "$path" | sed "s/%s/$c_ip/g")
# busybox mount passes the text to the kernel, which needs addr= (it resolves nothing) and, for
# v3, mountproto=tcp (the server has no UDP); nolock as the kernel's nfsroot does.
o="nolock,addr=$server,$mode"
fstype=nfs
case ,$opts, in
  *,vers=4*|*,nfsvers=4*) fstype=nfs4 ;;
  *) o="$o,mountproto=tcp" ;;
esac
[ -n "$opts" ] && o="$o,$opts"
echo "pinetboot-initramfs: ip $c_ip host ${c_host:-?} mounting $server:$path ($fstype $o) at $(cut -d' ' -f1 /proc/uptime) s"
mount -t "$fstype" -o "$o" "$server:$path" /newroot 2>/tmp/mount.err ||
  die "mount $server:$path from $c_ip: $(cat /tmp/mount.err)"
[ -x "/newroot$init" ] || die "no $init in $server:$path"
mount --move /dev /newroot/dev 2>/dev/null || mount -t devtmpfs dev /newroot/dev
umount /sys /proc
exec switch_root /newroot "$init"
EOT
  chmod 755 "$dir/init"
  (cd "$dir" && find . -mindepth 1 | busybox cpio -o -H newc 2>/dev/null) | gzip -1 > "$out"
  rm -rf "$dir"
}

# Starts rpcbind and NFS-Ganesha (config $1) in $PNB_SRV. Both run in a private mount namespace
# with a tmpfs on /run (rpcbind's socket and ganesha's files must not land on the host's /run)
# and folder $2 bind-mounted on /srv, so the paths pinetboot-provision --prefix wrote into the
# exports (/srv/nfs/<folder>) are real there. Log: $PNB_WORK/ganesha.log. Returns once Ganesha
# logs NFS SERVER INITIALIZED (within 15 s); FAILs if it exits first.
e2e_start_ganesha() {
  local conf=$1 srv=$2 log=$PNB_WORK/ganesha.log i
  command -v ganesha.nfsd >/dev/null && command -v rpcbind >/dev/null ||
    fail "missing Debian packages: nfs-ganesha nfs-ganesha-vfs rpcbind"
  [[ -d /srv ]] || fail "no /srv to bind-mount $srv on (inside a private mount namespace)"
  : > "$log"
  ip netns exec "$PNB_SRV" unshare -m --propagation private sh -c '
    set -e
    mount -t tmpfs tmpfs /run
    mount --bind "$1" /srv
    rpcbind -f -w & echo $! > "$3/rpcbind.pid"
    i=0
    while [ ! -S /run/rpcbind.sock ] && [ $i -lt 50 ]; do sleep 0.1; i=$((i + 1)); done
    exec ganesha.nfsd -F -L "$2" -f "$4" -p /run/ganesha.pid' sh "$srv" "$log" "$PNB_WORK" "$conf" \
    > "$PNB_WORK/ganesha.out" 2>&1 &
  E2E_GANESHA_PID=$!
  PNB_PIDS+=("$E2E_GANESHA_PID")
  for i in $(seq 1 150); do
    if [[ -z ${E2E_RPCBIND_PID:-} && -s $PNB_WORK/rpcbind.pid ]]; then
      E2E_RPCBIND_PID=$(cat "$PNB_WORK/rpcbind.pid")
      PNB_PIDS+=("$E2E_RPCBIND_PID")
    fi
    grep -q 'NFS SERVER INITIALIZED' "$log" 2>/dev/null && return 0
    kill -0 "$E2E_GANESHA_PID" 2>/dev/null || break
    sleep 0.1
  done
  fail "NFS-Ganesha did not start"
}

# Sends IPv6 router advertisements on the LAN from $PNB_SRV: a ULA prefix on its veth0 and
# dnsmasq with RA only (no DNS, no DHCPv4/v6). Without any RA iPXE waits about 13 s for IPv6
# autoconfiguration before it fetches its script (spec: nfs-root-testing.md). Log: ra.log.
e2e_start_ra() {
  local i
  ip -n "$PNB_SRV" addr add fd77:0:0:77::1/64 dev veth0 nodad
  ip netns exec "$PNB_SRV" dnsmasq --no-daemon --port=0 --conf-file=/dev/null --pid-file= \
    --interface=veth0 --bind-interfaces --enable-ra --dhcp-range=fd77:0:0:77::,ra-only,64 \
    --ra-param=veth0,10,600 --log-facility=- > "$PNB_WORK/ra.log" 2>&1 &
  PNB_PIDS+=($!)
  for i in $(seq 1 50); do
    grep -q 'router advertisement on fd77' "$PNB_WORK/ra.log" && return 0
    sleep 0.1
  done
  fail "dnsmasq did not start sending router advertisements: $(tail -3 "$PNB_WORK/ra.log")"
}

# Builds a gzip'd newc initramfs at $1 with busybox's own cpio (no cpio package needed). /init
# mounts devtmpfs for a console, prints the marker with the running kernel's release (so the
# marker cannot come from anything but a running userland), and powers the VM off.
e2e_initramfs() {
  local out=$1 dir
  dir=$(mktemp -d "$PNB_WORK/initramfs.XXXXXX")
  mkdir -p "$dir"/{bin,dev,proc,sys}
  cp /bin/busybox "$dir/bin/busybox"
  ln -s busybox "$dir/bin/sh"
  cat > "$dir/init" <<'EOT'
#!/bin/sh
/bin/busybox mount -t devtmpfs dev /dev
/bin/busybox mount -t proc proc /proc
exec >/dev/console 2>&1
echo "PINETBOOT-E2E-$(/bin/busybox echo OK) kernel=$(/bin/busybox uname -r) cmdline=$(/bin/busybox cat /proc/cmdline)"
/bin/busybox poweroff -f
EOT
  chmod 755 "$dir/init"
  (cd "$dir" && find . -mindepth 1 | busybox cpio -o -H newc 2>/dev/null) | gzip -9 > "$out"
  rm -rf "$dir"
}

# The LAN: bridge br0 in $PNB_CLI with QEMU's tap0 and a veth to the server's namespace (and,
# with "router", one to $PNB_MID where the site's DHCP server runs).
e2e_setup_lan() {
  ip netns add "$PNB_CLI"
  ip netns add "$PNB_SRV"
  ip -n "$PNB_CLI" link set lo up
  ip -n "$PNB_CLI" link add br0 type bridge forward_delay 0 stp_state 0
  ip -n "$PNB_CLI" link set br0 up
  ip -n "$PNB_CLI" tuntap add dev tap0 mode tap
  ip -n "$PNB_CLI" link set tap0 master br0 up
  ip -n "$PNB_CLI" link add srv0 type veth peer name veth0 netns "$PNB_SRV"
  ip -n "$PNB_CLI" link set srv0 master br0 up
  _pnb_addr "$PNB_SRV" veth0 "$PNB_SRV_IP"
  if [[ ${1:-} == router ]]; then
    ip netns add "$PNB_MID"
    ip -n "$PNB_CLI" link add rtr0 type veth peer name veth0 netns "$PNB_MID"
    ip -n "$PNB_CLI" link set rtr0 master br0 up
    _pnb_addr "$PNB_MID" veth0 10.77.0.254
  fi
}

# Starts QEMU (TCG, no KVM) in $PNB_CLI booting from the network only; the serial console goes
# to $1; its NIC is on tap $3 (default tap0; another one the caller creates with e2e_add_tap).
# -no-reboot turns a kernel panic into an exit instead of a second PXE boot.
e2e_start_qemu() {
  local log=$1 mac=${2:-$E2E_MAC} tap=${3:-tap0} out=$PNB_WORK/qemu.out
  [[ $tap == tap0 ]] || out=$PNB_WORK/qemu-$tap.out
  : > "$log"
  ip netns exec "$PNB_CLI" qemu-system-x86_64 -accel tcg -m 256 -nographic -no-reboot -boot n \
    -monitor none -serial "file:$log" \
    -netdev tap,id=n0,ifname="$tap",script=no,downscript=no \
    -device "e1000,netdev=n0,mac=$mac,romfile=$E2E_ROM" \
    > "$out" 2>&1 < /dev/null &
  E2E_QEMU_PID=$!
  PNB_PIDS+=("$E2E_QEMU_PID")
}

# Another tap on the LAN's bridge, for a second QEMU running at the same time.
e2e_add_tap() {
  ip -n "$PNB_CLI" tuntap add dev "$1" mode tap
  ip -n "$PNB_CLI" link set "$1" master br0 up
}

# Waits up to $2 seconds for the marker on serial log $1. Returns 0 when seen, 1 on timeout,
# 2 when QEMU exited without printing it, 3 when the firmware gave up on booting.
e2e_wait_marker() { e2e_wait_line "$1" "$2" "$E2E_MARKER kernel="; }

# Waits up to $2 seconds for a line matching extended regex $3 on serial log $1; returns as
# e2e_wait_marker.
e2e_wait_line() {
  local log=$1 end=$((SECONDS + $2)) re=$3
  while ((SECONDS < end)); do
    grep -aEq "$re" "$log" 2>/dev/null && return 0
    if ! kill -0 "$E2E_QEMU_PID" 2>/dev/null; then
      grep -aEq "$re" "$log" 2>/dev/null && return 0
      return 2
    fi
    grep -aq 'No more network devices\|No bootable device' "$log" 2>/dev/null && return 3
    sleep 0.2
  done
  return 1
}

# Gives the guest up to $1 seconds (default 20) to power off, then kills QEMU; reaps it either way.
e2e_stop_qemu() {
  local end=$((SECONDS + ${1:-20}))
  [[ -n $E2E_QEMU_PID ]] || return 0
  while kill -0 "$E2E_QEMU_PID" 2>/dev/null && ((SECONDS < end)); do sleep 0.2; done
  kill "$E2E_QEMU_PID" 2>/dev/null || true
  wait "$E2E_QEMU_PID" 2>/dev/null || true
  E2E_QEMU_PID=
}

fail() {
  echo "FAIL: $*"
  local f
  for f in server.log dnsmasq.log ganesha.log ganesha.out serial.log qemu.out serial2.log qemu-tap1.out; do
    [[ -s $PNB_WORK/$f ]] || continue
    echo "--- $f (tail)"
    tail -40 "$PNB_WORK/$f" | tr -d '\033' || true
  done
  exit 1
}

# A TFTP root for iPXE: the cached Debian kernel, the marker initramfs and boot.ipxe. The
# script's URLs are relative, so iPXE resolves them against the script's own URL: the server
# whose siaddr and file it took. (${next-server} would not do in proxy mode: iPXE looks it up in
# the address server's ACK first, and dnsmasq puts its own address there.) The echo lines are
# short because iPXE wraps the console at 80 columns.
# With "per-client", the files go to DIR/<mac-with-dashes>/ (tftp.per_client = "mac") and the
# shared root gets a decoy boot.ipxe that gives up, so a wrong root choice fails the boot.
e2e_tftp_root() {
  local root=$1 kernel dir=$1 where="shared root"
  if [[ ${2:-} == per-client ]]; then
    dir=$root/${E2E_MAC//:/-}
    where="per-client root"
    mkdir -p "$root"
    printf '#!ipxe\necho e2e: served from the shared root\nexit 1\n' > "$root/boot.ipxe"
  fi
  mkdir -p "$dir"
  kernel=$(e2e_kernel) || fail "no kernel"
  cp "$kernel" "$dir/vmlinuz"
  e2e_initramfs "$dir/initrd.img"
  cat > "$dir/boot.ipxe" <<EOT
#!ipxe
echo e2e: ip \${net0/ip} from \${net0.dhcp/dhcp-server}
echo e2e: boot.ipxe from the $where
kernel vmlinuz console=ttyS0,115200 panic=-1 quiet rdinit=/init
initrd initrd.img
boot
EOT
}

e2e_start_server() {
  local bin=${PINETBOOT_BUILD_DIR:?}/examples/server/pinetboot-server
  [[ -x $bin ]] || fail "$bin not built"
  "$bin" --config "$1" --check-config > /dev/null || fail "config rejected: $("$bin" --config "$1" --check-config 2>&1)"
  ip netns exec "$PNB_SRV" "$bin" --config "$1" --verbose > "$PNB_WORK/server.log" 2>&1 &
  PNB_PIDS+=($!)
  local i
  for i in $(seq 1 100); do
    grep -q 'pinetboot-server started' "$PNB_WORK/server.log" && return 0
    sleep 0.1
  done
  fail "server did not start"
}

e2e_boot() {
  local name=$1 timeout=${E2E_BOOT_TIMEOUT:-240} t0=$SECONDS rc=0
  if [[ -n ${E2E_PCAP:-} ]]; then  # debugging aid: capture the LAN at the bridge
    ip netns exec "$PNB_CLI" tcpdump -i br0 -w "$E2E_PCAP" -U > /dev/null 2>&1 &
    PNB_PIDS+=($!)
    sleep 1
  fi
  e2e_start_qemu "$PNB_WORK/serial.log"
  e2e_wait_marker "$PNB_WORK/serial.log" "$timeout" || rc=$?
  case $rc in
    0) ;;
    1) fail "no $E2E_MARKER on the serial console within $timeout s" ;;
    3) fail "the firmware gave up booting" ;;
    *) fail "QEMU exited without printing $E2E_MARKER" ;;
  esac
  # What iPXE's autoboot took from our replies: siaddr and file of the DHCP or proxy offer.
  grep -aq "Next server: $PNB_SRV_IP" "$PNB_WORK/serial.log" || fail "iPXE did not take next-server $PNB_SRV_IP"
  grep -aq "Filename: boot.ipxe" "$PNB_WORK/serial.log" || fail "iPXE did not take the file boot.ipxe"
  echo "$name: booted to userland in $((SECONDS - t0)) s: $(grep -ao "$E2E_MARKER kernel=[^ ]*" "$PNB_WORK/serial.log")"
}
