#!/usr/bin/env bash
# Installs everything pinetboot needs to build, test and run its demo on Debian 12 (as root).
# Daemons from the test peers (dnsmasq, tftpd-hpa, ...) must never start on the host: a
# policy-rc.d that exits 101 keeps Debian's maintainer scripts from starting them.
set -euo pipefail

packages=(
  # build
  cmake ninja-build g++ clang-14 libclang-rt-14-dev pkg-config
  libasio-dev libmsgsl-dev libgtest-dev libgmock-dev googletest libbenchmark-dev
  # SHA-256 of every file of an image generation (libcrypto)
  libssl-dev
  # real peers and network tooling for interop tests (namespaces only)
  iproute2 tcpdump curl tftp-hpa atftp busybox-static isc-dhcp-client dhcpcd-base dnsmasq-base
  util-linux iputils-ping
  # pinetboot-server configuration (TOML), its HTTP listener and `pinetboot-server status`,
  # sd_notify (Type=notify, watchdog)
  libtomlplusplus-dev libcpp-httplib-dev nlohmann-json3-dev libsystemd-dev
  # the status page loaded in a real browser (integration.server_status)
  chromium
  # systemd-analyze verify/security for the unit (installing it starts nothing in a container:
  # PID 1 stays what it is and policy-rc.d refuses service starts); man for the man pages
  systemd man-db
  # the man pages are written in scdoc(5) and converted at build time (cmake/pinetboot_man.cmake)
  scdoc
  # the Debian package (tests/integration/debian_package.sh): Debian's own tooling
  dpkg-dev debhelper lintian
  # provisioning from disk images (partitions extracted without mounting) and its tests
  mtools e2fsprogs dosfstools fdisk xz-utils attr
  # per-board ssh host keys (ssh-keygen)
  openssh-client
  # end-to-end tests: a real PXE client (iPXE in QEMU, software emulation)
  qemu-system-x86 ipxe-qemu
  # end-to-end NFS root: a user-space NFS server (NFSv3 needs rpcbind), run in namespaces only
  nfs-ganesha nfs-ganesha-vfs rpcbind
)

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
if ((${#missing[@]})); then
  if [[ $(id -u) -ne 0 ]]; then
    echo "setup: missing packages: ${missing[*]}; run as root (or: sudo apt-get install ${missing[*]})" >&2
    exit 1
  fi
  if [[ ! -e /usr/sbin/policy-rc.d ]]; then
    printf '#!/bin/sh\nexit 101\n' > /usr/sbin/policy-rc.d
    chmod +x /usr/sbin/policy-rc.d
  fi
  echo "setup: installing ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi
echo "setup: all packages present"
