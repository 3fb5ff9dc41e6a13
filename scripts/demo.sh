#!/usr/bin/env bash
# The README's first command: install packages, build, and run the demo.
# The demo decodes DHCP packets captured from real clients (dhclient, busybox udhcpc, dhcpcd)
# and the Raspberry Pi boot ROM/bootloader vectors with pinetboot's codec, like `tshark -V`,
# and shows how each client is classified (which boot answer it would get).
set -euo pipefail
cd "$(dirname "$0")/.."

bash scripts/setup.sh
cmake --preset dev -DPINETBOOT_BUILD_TESTS=OFF -DPINETBOOT_BUILD_FUZZERS=OFF >/dev/null
cmake --build --preset dev -j "$(nproc)" --target pinetboot-dhcp-decode >/dev/null
decode=build/dev/examples/dhcp-decode/pinetboot-dhcp-decode

shopt -s nullglob
for f in tests/data/dhcp/*.hex; do
  echo "================================================================"
  echo "== $f"
  echo "================================================================"
  "$decode" "$f"
  echo
done
