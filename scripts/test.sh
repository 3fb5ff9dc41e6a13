#!/usr/bin/env bash
# The whole test suite: one clang build with ASan+UBSan and libFuzzer instrumentation, then
#   1. every unit, corpus-regression and integration test (ctest),
#   2. a short bounded libFuzzer run of every fuzz target (FUZZ_SECONDS each, default 20).
# Usage: scripts/test.sh            (as root on Debian 12; installs packages first)
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
fuzz_seconds=${FUZZ_SECONDS:-20}
jobs=${JOBS:-$(nproc)}

bash scripts/setup.sh
cmake --preset fuzz >/dev/null
cmake --build --preset fuzz -j "$jobs"

export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
ctest --preset fuzz -j "$jobs"

# The Debian package, built with dpkg-buildpackage (one Release build, no tests) and unpacked
# into a scratch root (not installed on this machine): 5-8 minutes on two cores.
if [[ ${PINETBOOT_SKIP_DEB:-0} != 1 ]]; then
  rc=0
  bash tests/integration/debian_package.sh "$root" || rc=$?
  ((rc == 0 || rc == 77)) || exit "$rc"
fi

build=$root/build/fuzz
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
passed=0 failed=0
for exe in "$build"/fuzz/*_fuzz; do
  [[ -x $exe ]] || continue
  name=$(basename "$exe" _fuzz)
  corpus=$work/$name
  mkdir -p "$corpus"
  [[ -d fuzz/corpus/$name ]] && cp -r fuzz/corpus/"$name"/. "$corpus"/
  args=(-max_total_time="$fuzz_seconds" -timeout=10 -rss_limit_mb=2048 -print_final_stats=0
        -artifact_prefix="$work/$name-")
  [[ -f fuzz/dict/$name.dict ]] && args+=(-dict="fuzz/dict/$name.dict")
  echo "fuzz: $name for ${fuzz_seconds}s"
  if "$exe" "${args[@]}" "$corpus" >"$work/$name.log" 2>&1; then
    passed=$((passed + 1))
  else
    failed=$((failed + 1))
    echo "fuzz: $name FAILED; last lines of its log:"
    tail -40 "$work/$name.log"
    mkdir -p "$root/build/fuzz-artifacts"
    cp "$work/$name-"* "$root/build/fuzz-artifacts/" 2>/dev/null || true
  fi
done
echo "fuzz: $passed passed, $failed failed"
((failed == 0))
