#!/usr/bin/env bash
# Builds and installs pinetboot (library only) into a temporary prefix, then builds a separate
# consumer project against it twice: with find_package(pinetboot CONFIG) and with pkg-config.
# The simulators (pinetboot::sim, include/pinetboot/sim) are not installed, and a project that
# adds pinetboot with add_subdirectory installs nothing of it unless PINETBOOT_INSTALL=ON.
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
if [[ -e $work/prefix/include/pinetboot/sim ]] || find "$work/prefix" -name '*pinetboot_sim*' | grep -q .; then
  echo "FAIL: the simulators were installed"; exit 1
fi
[[ -f $work/prefix/include/pinetboot/net/tftp_server.hpp ]] || { echo "FAIL: headers not installed"; exit 1; }

mkdir -p "$work/outer"
cat >"$work/outer/CMakeLists.txt" <<EOF
cmake_minimum_required(VERSION 3.25)
project(outer LANGUAGES CXX)
add_subdirectory("$src" pinetboot)
EOF
cmake -S "$work/outer" -B "$work/outer-build" -G Ninja -DCMAKE_CXX_COMPILER=g++ \
  -DCMAKE_INSTALL_PREFIX="$work/outer-prefix" >/dev/null
cmake --install "$work/outer-build" >/dev/null
if [[ -e $work/outer-prefix ]] && find "$work/outer-prefix" -type f | grep -q .; then
  echo "FAIL: pinetboot as a subproject installed files: $(find "$work/outer-prefix" -type f | head -3)"; exit 1
fi
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
