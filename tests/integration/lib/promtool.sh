# Prometheus's promtool for `promtool check metrics`. Source this file, then call pnb_promtool:
# it sets $PROMTOOL to a promtool binary, or skips the test (exit 77) if none can be had.
#   1. promtool on $PATH (Debian package prometheus, or $PROMTOOL already set);
#   2. a copy extracted earlier into the cache ($PNB_CACHE, default ~/.cache/pinetboot-tests);
#   3. `apt-get download prometheus` and `dpkg-deb -x` into that cache: nothing is installed,
#      so no daemon, user or unit comes with it.

PNB_CACHE=${PNB_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/pinetboot-tests}

pnb_promtool() {
  if [[ -n ${PROMTOOL:-} && -x $PROMTOOL ]]; then return 0; fi
  if PROMTOOL=$(command -v promtool); then return 0; fi
  PROMTOOL=$PNB_CACHE/prometheus/usr/bin/promtool
  [[ -x $PROMTOOL ]] && return 0
  if ! command -v apt-get >/dev/null || ! command -v dpkg-deb >/dev/null; then
    echo "SKIP: promtool not found and no apt-get/dpkg-deb to fetch it (apt-get install prometheus)"
    exit 77
  fi
  local dl=$PNB_CACHE/download
  mkdir -p "$dl"
  rm -f "$dl"/prometheus_*.deb
  # _apt cannot write into root's home: download without the sandbox (it only fetches a file).
  if ! (cd "$dl" && timeout 300 apt-get download -o APT::Sandbox::User=root prometheus >"$dl/apt.log" 2>&1); then
    echo "SKIP: promtool not found and apt-get download prometheus failed: $(tail -n 2 "$dl/apt.log")"
    exit 77
  fi
  local deb
  deb=$(ls "$dl"/prometheus_*.deb 2>/dev/null | head -n 1)
  [[ -n $deb ]] || { echo "SKIP: apt-get download prometheus left no .deb"; exit 77; }
  rm -rf "$PNB_CACHE/prometheus.tmp"
  dpkg-deb -x "$deb" "$PNB_CACHE/prometheus.tmp" && mv "$PNB_CACHE/prometheus.tmp" "$PNB_CACHE/prometheus" || {
    echo "SKIP: dpkg-deb -x $deb failed"
    exit 77
  }
  rm -f "$deb"
  [[ -x $PROMTOOL ]] || { echo "SKIP: $deb has no usr/bin/promtool"; exit 77; }
}

# pnb_check_metrics FILE: promtool's lint of a /metrics document; prints its findings, fails on any.
pnb_check_metrics() {
  local out
  out=$("$PROMTOOL" check metrics <"$1" 2>&1) || { echo "$out"; return 1; }
  [[ -z $out ]] || { echo "$out"; return 1; }
}
