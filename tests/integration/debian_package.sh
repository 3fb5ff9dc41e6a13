#!/usr/bin/env bash
# The Debian package (issue 16): builds pinetboot and pinetboot-dev with Debian's own tooling
# (dpkg-buildpackage -b, debhelper, the cmake+ninja build system) from a copy of the source
# tree, runs lintian (errors fail, warnings are listed), then unpacks both packages into a
# scratch root with dpkg -x (never installed on the host) and checks what an operator gets:
#  - pinetboot-server --version and --check-config on the installed /etc/pinetboot/pinetboot.toml;
#  - the configuration is a conffile, the postinst creates the system user, the unit is
#    handled by dh_installsystemd, names /usr/sbin and /etc, and passes systemd-analyze;
#  - man pages; the -dev package builds a consumer with find_package(pinetboot) from the root.
# One Release-style build, no tests (DEB_BUILD_OPTIONS=nocheck), -j2: about 5-8 minutes on two
# cores; the time is printed. Usage: debian_package.sh SOURCE_DIR   (skips (77) without the tools)
set -euo pipefail
src=$(cd "${1:?source dir}" && pwd)
for tool in dpkg-buildpackage dh lintian; do
  command -v "$tool" >/dev/null || { echo "SKIP: $tool not installed (scripts/setup.sh installs it)"; exit 77; }
done
# PINETBOOT_DEB_WORK=DIR keeps the build there (and reuses packages already built in it).
if [[ -n ${PINETBOOT_DEB_WORK:-} ]]; then
  work=$PINETBOOT_DEB_WORK
  mkdir -p "$work"
else
  work=$(mktemp -d /tmp/pnb-deb.XXXXXX)
  trap 'rm -rf "$work"' EXIT
fi
fail() { echo "FAIL: $*"; exit 1; }

version=$(dpkg-parsechangelog -l "$src/debian/changelog" -S Version)
arch=$(dpkg --print-architecture)
deb=$work/pinetboot_${version}_${arch}.deb
devdeb=$work/pinetboot-dev_${version}_${arch}.deb
start=$SECONDS
if [[ ! -f $deb || ! -f $devdeb ]]; then
  tree=$work/pinetboot-$version
  rm -rf "$tree"
  mkdir -p "$tree"
  tar -C "$src" --exclude=./build --exclude=./.git --exclude='./obj-*' --exclude=./debian/.debhelper -cf - . | tar -C "$tree" -xf -
  # noautodbgsym: CI has no use for the -dbgsym packages.
  if ! (cd "$tree" && DEB_BUILD_OPTIONS="nocheck noautodbgsym parallel=${JOBS:-2}" dpkg-buildpackage -b -us -uc) >"$work/build.log" 2>&1; then
    tail -60 "$work/build.log"
    fail "dpkg-buildpackage"
  fi
  echo "debian_package: dpkg-buildpackage -b took $((SECONDS - start)) s"
fi
[[ -f $deb && -f $devdeb ]] || { ls "$work"; fail "packages not built"; }

# lintian: errors fail the test; warnings and the rest are listed.
lintian --tag-display-limit 0 "$work"/pinetboot_"${version}"_"${arch}".changes >"$work/lintian.log" 2>&1 || true
echo "--- lintian"
cat "$work/lintian.log"
echo "---"
if grep -q '^E: ' "$work/lintian.log"; then fail "lintian reports errors"; fi

# Control data: conffile, system user, systemd maintainer snippets.
rm -rf "$work/control" "$work/root"
dpkg-deb -e "$deb" "$work/control"
grep -qx '/etc/pinetboot/pinetboot.toml' "$work/control/conffiles" || fail "the configuration is not a conffile"
tr -d '\\\n' < "$work/control/postinst" | grep -q 'adduser .*--system .*--group .* pinetboot' \
  || fail "postinst does not create the system user"
grep -q 'deb-systemd-helper' "$work/control/postinst" || fail "postinst has no dh_installsystemd snippet"
grep -q 'deb-systemd-invoke start' "$work/control/postinst" && fail "the package starts the server on install"

root=$work/root
dpkg -x "$deb" "$root"
dpkg -x "$devdeb" "$root"
server=$root/usr/sbin/pinetboot-server
[[ -x $server ]] || fail "no /usr/sbin/pinetboot-server"
"$server" --version | tee "$work/version"
grep -q "^pinetboot-server $version" "$work/version" || fail "--version does not say $version"
conf=$root/etc/pinetboot/pinetboot.toml
"$server" --config "$conf" --check-config >"$work/check.log" 2>&1 || { cat "$work/check.log"; fail "--check-config on the installed configuration"; }
head -3 "$work/check.log"
"$root/usr/bin/pinetboot-provision" --version >/dev/null || fail "pinetboot-provision --version"
for page in pinetboot-server.8 pinetboot.toml.5 pinetboot-provision.8 pinetboot-dhcpd.8 pinetboot-tftpd.8 \
  pinetboot-simulate.1 pinetboot-make-demo-tree.1 pinetboot-dhcp-decode.1; do
  [[ -f $root/usr/share/man/man${page##*.}/$page.gz ]] || fail "no man page $page"
done
unit=$root/lib/systemd/system/pinetboot-server.service
[[ -f $unit ]] || fail "no unit in /lib/systemd/system"
grep -qx 'ExecStart=/usr/sbin/pinetboot-server --config /etc/pinetboot/pinetboot.toml' "$unit" \
  || fail "the unit does not run the packaged binary on the packaged configuration: $(grep ^ExecStart= "$unit")"
if command -v systemd-analyze >/dev/null; then
  mkdir -p "$root/usr/lib/systemd"
  cp -a /usr/lib/systemd/system/. "$root/usr/lib/systemd/system/"
  MANPATH=$root/usr/share/man: systemd-analyze verify --root="$root" /lib/systemd/system/pinetboot-server.service \
    || fail "systemd-analyze verify on the packaged unit"
  systemd-analyze security --offline=true --root="$root" /lib/systemd/system/pinetboot-server.service 2>&1 | tail -1
fi

# pinetboot-dev: headers, static libraries, CMake package and pkg-config file, usable.
multiarch=$(dpkg-architecture -qDEB_HOST_MULTIARCH)
for f in usr/include/pinetboot/pinetboot.hpp usr/lib/$multiarch/libpinetboot_dhcp.a \
         usr/lib/$multiarch/cmake/pinetboot/pinetboot-config.cmake usr/lib/$multiarch/pkgconfig/pinetboot.pc; do
  [[ -e $root/$f ]] || fail "pinetboot-dev lacks /$f"
done
here=$(cd "$(dirname "$0")" && pwd)
cmake -S "$here/consumer" -B "$work/consumer" -G Ninja -DCMAKE_CXX_COMPILER=g++ -DCMAKE_PREFIX_PATH="$root/usr" >/dev/null \
  || fail "find_package(pinetboot) from the -dev package"
cmake --build "$work/consumer" >/dev/null || fail "consumer build against the -dev package"
"$work/consumer/consumer" | grep -qx 'mac b8-27-eb-9d-c1-5a' || fail "consumer output"
PKG_CONFIG_SYSROOT_DIR=$root PKG_CONFIG_PATH=$root/usr/lib/$multiarch/pkgconfig pkg-config --libs pinetboot | grep -q -- '-lpinetboot_dhcp' \
  || fail "pkg-config pinetboot"
echo "debian_package: ok ($((SECONDS - start)) s in all)"
