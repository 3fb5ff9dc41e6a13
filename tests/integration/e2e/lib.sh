# Helpers for the end-to-end tests that PXE-boot a real client (QEMU's iPXE ROM on an e1000 NIC)
# from pinetboot-server. Source after lib/netns.sh.
#
#   e2e_require_tools [dnsmasq]   FAIL (exit 1) naming the missing Debian packages
#   e2e_kernel                    prints the path of a cached Debian vmlinuz (downloads it once)
#   e2e_initramfs OUT             builds a busybox initramfs whose /init prints the marker
#   e2e_setup_lan [router]        namespaces: $PNB_CLI holds bridge br0 + tap0 (QEMU runs there),
#                                 $PNB_SRV (10.77.0.1) the server, $PNB_MID (10.77.0.254) a router
#   e2e_start_qemu LOG            boots QEMU in $PNB_CLI, serial console to LOG
#   e2e_wait_marker LOG SECONDS   waits for the marker on the serial console (or QEMU's exit)
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
# to $1. -no-reboot turns a kernel panic into an exit instead of a second PXE boot.
e2e_start_qemu() {
  local log=$1
  : > "$log"
  ip netns exec "$PNB_CLI" qemu-system-x86_64 -accel tcg -m 256 -nographic -no-reboot -boot n \
    -monitor none -serial "file:$log" \
    -netdev tap,id=n0,ifname=tap0,script=no,downscript=no \
    -device "e1000,netdev=n0,mac=$E2E_MAC,romfile=$E2E_ROM" \
    > "$PNB_WORK/qemu.out" 2>&1 < /dev/null &
  E2E_QEMU_PID=$!
  PNB_PIDS+=("$E2E_QEMU_PID")
}

# Waits up to $2 seconds for the marker on serial log $1. Returns 0 when seen, 1 on timeout,
# 2 when QEMU exited without printing it, 3 when the firmware gave up on booting.
e2e_wait_marker() {
  local log=$1 end=$((SECONDS + $2))
  while ((SECONDS < end)); do
    grep -aq "$E2E_MARKER kernel=" "$log" 2>/dev/null && return 0
    if ! kill -0 "$E2E_QEMU_PID" 2>/dev/null; then
      grep -aq "$E2E_MARKER kernel=" "$log" 2>/dev/null && return 0
      return 2
    fi
    grep -aq 'No more network devices\|No bootable device' "$log" 2>/dev/null && return 3
    sleep 0.5
  done
  return 1
}

fail() {
  echo "FAIL: $*"
  local f
  for f in server.log dnsmasq.log serial.log qemu.out; do
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
