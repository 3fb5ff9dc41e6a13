#!/usr/bin/env bash
# The README's "Using it on a real network" block, run line by line (issue 16): every line of
# the block must be known here, so a README change that this test does not follow fails it.
#
# What stands for what (nothing on the host is touched; all networking is inside namespaces):
#   the server's file system  $S (a scratch root: `cmake --install` goes there by DESTDIR, and
#                             the installed pinetboot.toml's paths are pointed below it)
#   the LAN 192.168.1.0/24    a bridge in a namespace: a stand-in router (dnsmasq, .1), this
#                             server (.3, eth0, as the README's sed sets) and the board
#   the system user           `nobody` (the test adds no user to the machine)
#   raspios.img.xz            a small image made here (FAT boot partition with the simulator's
#                             boot files, ext4 root)
#   systemctl                 the installed unit's ExecStartPre and ExecStart, run in the
#                             server's namespace
#   exportfs -ra              a check of the exports file (no kernel NFS server here)
#   the Pi 4 (1a2b3c4d)       pinetboot-simulate, powered on after the server starts
# Usage: readme_flow.sh SOURCE_DIR (PINETBOOT_BUILD_DIR: the build to install)
set -euo pipefail
src=${1:?source dir}
build=${PINETBOOT_BUILD_DIR:?}
fail() { echo "FAIL: $*" >&2; exit 1; }
[[ -x $build/examples/server/pinetboot-server && -x $build/examples/simulate/pinetboot-simulate ]] \
  || { echo "SKIP: examples not built"; exit 77; }
if [[ $(id -u) -ne 0 ]] || ! command -v dnsmasq >/dev/null; then echo "SKIP: needs root and dnsmasq"; exit 77; fi
for t in sfdisk mkfs.vfat mcopy mkfs.ext4 xz; do
  command -v "$t" >/dev/null || { echo "SKIP: $t missing (fdisk dosfstools mtools e2fsprogs xz-utils)"; exit 77; }
done

id=rf$$
lan=pnb${id}lan router=pnb${id}rtr server=pnb${id}srv board=pnb${id}brd
work=$(mktemp -d /tmp/pnb-readme.XXXXXX)
chmod 0755 "$work"  # the server reads the boot trees as `nobody`
S=$work/root
pids=()
cleanup() {
  for p in "${pids[@]:-}"; do [[ -n $p ]] && kill "$p" 2>/dev/null || true; done
  for p in "${pids[@]:-}"; do [[ -n $p ]] && wait "$p" 2>/dev/null || true; done
  for ns in "$board" "$server" "$router" "$lan"; do
    ip netns pids "$ns" 2>/dev/null | xargs -r kill -9 2>/dev/null || true
    ip netns delete "$ns" 2>/dev/null || true
  done
  rm -rf "$work"
}
trap cleanup EXIT

# ---- the README block ----------------------------------------------------------------------
mapfile -t lines < <(awk '/<!-- readme-flow:/ {on = 1; next} on && /^```sh/ {inblock = 1; next}
                          inblock && /^```/ {exit} inblock {print}' "$src/README.md")
((${#lines[@]} >= 8)) || fail "README.md: no readme-flow block found (the <!-- readme-flow: --> marker before it)"

# ---- the things the README assumes: a LAN, a router, an OS image -----------------------------
ip netns add "$lan"
ip -n "$lan" link add br0 type bridge && ip -n "$lan" link set br0 up
for ns in "$router" "$server" "$board"; do
  ip netns add "$ns"
  ip -n "$lan" link add "p-$ns" type veth peer name eth0 netns "$ns"
  ip -n "$lan" link set "p-$ns" master br0 up
  ip -n "$ns" link set lo up
done
ip -n "$router" addr add 192.168.1.1/24 dev eth0 && ip -n "$router" link set eth0 up
ip -n "$server" addr add 192.168.1.3/24 dev eth0 && ip -n "$server" link set eth0 up
ip -n "$board" link set eth0 address dc:a6:32:01:36:c2
ip -n "$board" addr add 192.168.1.50/24 dev eth0 && ip -n "$board" link set eth0 up
ip -n "$board" route add local 192.168.1.96/27 dev lo  # the router's pool: the board's TFTP source
ip -n "$board" route add local 192.168.1.128/27 dev lo
ip netns exec "$router" dnsmasq --no-daemon --port=0 --conf-file=/dev/null --leasefile-ro --no-ping \
  --interface=eth0 --bind-interfaces --dhcp-range=192.168.1.100,192.168.1.150,1h \
  --dhcp-option=option:router,192.168.1.1 >"$work/router.log" 2>&1 &
pids+=($!)

img_dir=$work/cwd  # where the operator runs the commands (raspios.img.xz is there)
mkdir -p "$img_dir" "$work/g/root/etc"
bash "$src/examples/simulate/make-demo-tree.sh" --scale 8 "$work/g/boot" >/dev/null
echo "console=serial0,115200 root=PARTUUID=6c586e13-02 rootfstype=ext4 rootwait" >"$work/g/boot/cmdline.txt"
printf 'proc /proc proc defaults 0 0\nPARTUUID=6c586e13-01 /boot/firmware vfat defaults 0 2\nPARTUUID=6c586e13-02 / ext4 defaults,noatime 0 1\n' \
  >"$work/g/root/etc/fstab"
echo raspberrypi >"$work/g/root/etc/hostname"
truncate -s 64M "$work/raspios.img"
printf 'label: dos\nstart=2048, size=32768, type=c\nstart=34816, type=83\n' | sfdisk -q "$work/raspios.img"
mkfs.vfat -C "$work/boot.fat" 16384 >/dev/null
mcopy -s -i "$work/boot.fat" "$work/g/boot/"* ::/
mkfs.ext4 -q -F -d "$work/g/root" "$work/root.ext4" 24M >/dev/null 2>&1
dd if="$work/boot.fat" of="$work/raspios.img" bs=512 seek=2048 conv=notrunc status=none
dd if="$work/root.ext4" of="$work/raspios.img" bs=512 seek=34816 conv=notrunc status=none
xz -0 -T1 -c "$work/raspios.img" >"$img_dir/raspios.img.xz"

# ---- each README line, as it runs here -------------------------------------------------------
conf="" prov="" srv="" unit=""
installed() { find "$S" -path "*/$1" -type f | head -1; }
run() { echo "+ $*"; (cd "$img_dir" && "$@") >"$work/out" 2>&1 || { cat "$work/out"; fail "README line failed: $line"; }; cat "$work/out"; }
n=0
for line in "${lines[@]}"; do
  [[ -z ${line// /} || $line == \#* ]] && continue
  n=$((n + 1))
  echo "== README: $line"
  case $line in
    "cmake --preset bench "*)
      [[ $line == *"-DCMAKE_INSTALL_PREFIX=/usr"* ]] || fail "the README no longer installs to /usr: $line"
      echo "(configured already: the build under test is $build)" ;;
    "cmake --build --preset bench && cmake --install build/bench")
      DESTDIR=$S cmake --install "$build" >"$work/install.log" 2>&1 || { tail "$work/install.log"; fail "install"; }
      conf=$(installed etc/pinetboot/pinetboot.toml)
      prov=$(installed bin/pinetboot-provision)
      srv=$(installed sbin/pinetboot-server)
      unit=$(installed systemd/system/pinetboot-server.service)
      [[ -n $conf && -n $prov && -n $srv && -n $unit ]] || fail "install: config, programs or unit missing under $S"
      # The scratch root stands for /: the installed configuration's paths point below it.
      sed -i -e "s|\"/srv/|\"$S/srv/|; s|\"/var/lib/|\"$S/var/lib/|" \
        -e "s|^# exports_file = \"/etc/exports\"|exports_file = \"$S/etc/exports\"|" \
        -e "s|^# ganesha_file = \"/etc/|ganesha_file = \"$S/etc/|" "$conf"
      grep -q "^root = \"$S/srv/tftp\"" "$conf" || fail "the installed configuration does not serve /srv/tftp" ;;
    "useradd --system "*" pinetboot")
      grep -q '^user = "pinetboot"' "$conf" || fail "the README's user is not the configuration's"
      sed -i 's/^user = "pinetboot"/user = "nobody"/' "$conf"
      echo "(the system user is played by nobody)" ;;
    "sed -i "*" /etc/pinetboot/pinetboot.toml")
      run bash -c "${line//\/etc\/pinetboot\/pinetboot.toml/$conf}"
      grep -q '^interface = "eth0"' "$conf" && grep -q '^server_ip = "192.168.1.3"' "$conf" \
        || fail "the README's sed did not set interface and server_ip" ;;
    "pinetboot-provision "*" && exportfs -ra")
      read -ra args <<<"${line#pinetboot-provision }"
      args=("${args[@]:0:${#args[@]}-3}")  # drop "&& exportfs -ra"
      run "$prov" --config "$conf" "${args[@]}"
      grep -q "^$S/srv/nfs/1a2b3c4d 192.168.1.21(" "$S/etc/exports" || fail "exports: no line for pi-01's root"
      echo "(exportfs -ra: checked $S/etc/exports instead)" ;;
    "pinetboot-provision "*)
      read -ra args <<<"${line#pinetboot-provision }"
      run "$prov" --config "$conf" "${args[@]}" ;;
    "pinetboot-server --config /etc/pinetboot/pinetboot.toml --check-config")
      run "$srv" --config "$conf" --check-config
      grep -q "1 host(s) (1 from the provision registry)" "$work/out" || fail "--check-config did not see the board" ;;
    "systemctl daemon-reload && systemctl enable --now pinetboot-server")
      pre=$(sed -n 's/^ExecStartPre=//p' "$unit" | head -1)
      start=$(sed -n 's/^ExecStart=//p' "$unit")
      [[ -n $pre && -n $start ]] || fail "$unit: no ExecStartPre/ExecStart"
      inst_conf=${conf#"$S"} inst_srv=${srv#"$S"}
      pre=${pre//$inst_conf/$conf} start=${start//$inst_conf/$conf}
      pre=${pre//$inst_srv/$srv} start=${start//$inst_srv/$srv}
      [[ $start == "$srv --config $conf" ]] || fail "the unit starts something else: $start"
      read -ra cmd <<<"$pre"
      ip netns exec "$server" "${cmd[@]}" >/dev/null || fail "ExecStartPre failed: $pre"
      read -ra cmd <<<"$start"
      ip netns exec "$server" "${cmd[@]}" >"$work/server.log" 2>&1 &
      pids+=($!)
      for _ in $(seq 1 100); do grep -q 'pinetboot-server started' "$work/server.log" && break; sleep 0.1; done
      grep -q 'pinetboot-server started' "$work/server.log" || { cat "$work/server.log"; fail "the server did not start"; }
      echo "== the board is powered on (pinetboot-simulate: a Pi 4, serial 1a2b3c4d)"
      ip netns exec "$board" timeout 120 "$build/examples/simulate/pinetboot-simulate" --interface eth0 \
        --count 1 --timeout 90 --tftp-from-lease --mac-base dc:a6:32:01:36:c2 --generation pi4 \
        --serial-base 1a2b3c4d >"$work/sim.log" 2>&1 || { cat "$work/sim.log" "$work/server.log"; fail "the board did not boot"; }
      cat "$work/sim.log"
      sleep 1 ;;  # the status snapshot is refreshed every 0.5 s
    "pinetboot-server status")
      out=$(ip netns exec "$server" "$srv" status) || fail "pinetboot-server status failed"
      echo "$out"
      row=$(echo "$out" | grep -E '(^| )pi-01 ') || fail "status: no pi-01 row"
      echo "$row" | grep -q 'dc:a6:32:01:36:c2' || fail "status: pi-01 without its MAC: $row"
      echo "$row" | grep -Eq ' (kernel|up) ' || fail "status: pi-01 did not get to its kernel: $row"
      echo "$row" | grep -q 'raspios' || fail "status: pi-01's generation not shown: $row" ;;
    *)
      fail "README.md line not covered by tests/integration/readme_flow.sh: '$line' (make the test follow it)" ;;
  esac
done
((n >= 9)) || fail "only $n README lines ran"
# The board fetched its files from the folder provision built for it, from generation 1.
grep -q '1a2b3c4d/start4.elf' "$work/server.log" || fail "the server never served 1a2b3c4d/start4.elf"
echo "readme_flow: ok ($n README lines)"
