#!/usr/bin/env bash
# Builds and installs pinetboot (library only) into a temporary prefix, then builds a separate
# consumer project against it twice: with find_package(pinetboot CONFIG) and with pkg-config.
set -euo pipefail
src=${1:?source dir}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
unset CXXFLAGS LDFLAGS
cmake -S "$src" -B "$work/build" -G Ninja -DCMAKE_BUILD_TYPE=Release -DCMAKE_CXX_COMPILER=g++ \
  -DPINETBOOT_BUILD_TESTS=OFF -DPINETBOOT_BUILD_FUZZERS=OFF -DPINETBOOT_BUILD_EXAMPLES=OFF \
  -DPINETBOOT_BUILD_BENCH=OFF -DCMAKE_INSTALL_PREFIX="$work/prefix" >/dev/null
cmake --build "$work/build" -j 2 >/dev/null
cmake --install "$work/build" >/dev/null
here=$(cd "$(dirname "$0")" && pwd)
cmake -S "$here/consumer" -B "$work/consumer" -G Ninja -DCMAKE_CXX_COMPILER=g++ \
  -DCMAKE_PREFIX_PATH="$work/prefix" >/dev/null
cmake --build "$work/consumer" >/dev/null
"$work/consumer/consumer" | tee "$work/out-cmake"
grep -qx 'mac b8-27-eb-9d-c1-5a' "$work/out-cmake"

export PKG_CONFIG_PATH=$work/prefix/lib/pkgconfig:$work/prefix/lib/x86_64-linux-gnu/pkgconfig
# shellcheck disable=SC2046
g++ -o "$work/consumer-pc" "$here/consumer/main.cpp" $(pkg-config --cflags --libs pinetboot)
"$work/consumer-pc" | tee "$work/out-pc"
cmp "$work/out-cmake" "$work/out-pc"
echo "install_consumer: ok"
