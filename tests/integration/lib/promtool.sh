# Prometheus's promtool for `promtool check metrics`. Source this file, then call pnb_promtool
# (sets $PROMTOOL, or skips the test with exit 77 if no promtool can be had) or
# pnb_find_promtool (the same, but returns 1 instead, for tests where the lint is one check of many).
# Where it comes from, in order:
#   1. promtool on $PATH (Debian package prometheus, or $PROMTOOL already set);
#   2. a copy extracted earlier into the cache ($PNB_CACHE, default ~/.cache/pinetboot-tests);
#   3. `apt-get download prometheus` and `dpkg-deb -x` into that cache: nothing is installed,
#      so no daemon, user or unit comes with it.

PNB_CACHE=${PNB_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/pinetboot-tests}

# pnb_find_promtool: sets $PROMTOOL and returns 0, or returns 1 with the reason in $PNB_PROMTOOL_WHY.
pnb_find_promtool() {
  if [[ -n ${PROMTOOL:-} && -x $PROMTOOL ]]; then return 0; fi
  if PROMTOOL=$(command -v promtool); then return 0; fi
  PROMTOOL=$PNB_CACHE/prometheus/usr/bin/promtool
  [[ -x $PROMTOOL ]] && return 0
  if ! command -v apt-get >/dev/null || ! command -v dpkg-deb >/dev/null; then
    PNB_PROMTOOL_WHY="promtool not found and no apt-get/dpkg-deb to fetch it (apt-get install prometheus)"
    return 1
  fi
  local dl=$PNB_CACHE/download deb
  mkdir -p "$dl"
  rm -f "$dl"/prometheus_*.deb
  # _apt cannot write into root's home: download without the sandbox (it only fetches a file).
  if ! (cd "$dl" && timeout 300 apt-get download -o APT::Sandbox::User=root prometheus >"$dl/apt.log" 2>&1); then
    PNB_PROMTOOL_WHY="promtool not found and apt-get download prometheus failed: $(tail -n 2 "$dl/apt.log")"
    return 1
  fi
  deb=$(ls "$dl"/prometheus_*.deb 2>/dev/null | head -n 1)
  [[ -n $deb ]] || { PNB_PROMTOOL_WHY="apt-get download prometheus left no .deb"; return 1; }
  rm -rf "$PNB_CACHE/prometheus.tmp"
  if ! dpkg-deb -x "$deb" "$PNB_CACHE/prometheus.tmp" || ! mv "$PNB_CACHE/prometheus.tmp" "$PNB_CACHE/prometheus"; then
    PNB_PROMTOOL_WHY="dpkg-deb -x $deb failed"
    return 1
  fi
  rm -f "$deb"
  [[ -x $PROMTOOL ]] || { PNB_PROMTOOL_WHY="$deb has no usr/bin/promtool"; return 1; }
}

# pnb_promtool: pnb_find_promtool, or skip the test (exit 77) when promtool cannot be had.
pnb_promtool() {
  pnb_find_promtool || { echo "SKIP: $PNB_PROMTOOL_WHY"; exit 77; }
}

# pnb_check_metrics FILE: promtool's lint of a /metrics document; prints its findings, fails on any.
pnb_check_metrics() {
  local out
  out=$("$PROMTOOL" check metrics <"$1" 2>&1) || { echo "$out"; return 1; }
  [[ -z $out ]] || { echo "$out"; return 1; }
}
