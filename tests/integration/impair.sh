#!/usr/bin/env bash
# The impairment tool itself. Mode "clean": every ping passes and the configured delay shows
# in the round-trip time. Mode "lossy": through 50 % loss per crossing, some echoes come back
# and most do not.
source "$(dirname "$0")/lib/netns.sh"
pnb_require_netns
command -v ping >/dev/null || { echo "SKIP: no ping"; exit 77; }
mode=${1:-clean}

if [[ $mode == clean ]]; then
  pnb_setup_impair --loss 0 --delay-ms 20 --seed 7
  out=$(pnb_in_cli ping -c 5 -i 0.2 -W 2 "$PNB_SRV_IP")
  echo "$out" | tail -2
  echo "$out" | grep -q ' 0% packet loss' || { echo "FAIL: loss on a clean link"; exit 1; }
  avg=$(echo "$out" | awk -F/ '/^rtt/ {print int($5)}')
  ((avg >= 38)) || { echo "FAIL: rtt $avg ms, expected >= 40 ms with 20 ms each way"; exit 1; }
else
  pnb_setup_impair --loss 0.5 --seed 3
  out=$(pnb_in_cli ping -c 40 -i 0.05 -W 1 "$PNB_SRV_IP" || true)
  echo "$out" | tail -2
  recv=$(echo "$out" | awk '/packets transmitted/ {print $4}')
  # An echo needs two crossings, so about 25 % should come back.
  ((recv > 0 && recv < 30)) || { echo "FAIL: $recv of 40 replies through a 50 % lossy link"; exit 1; }
fi
echo "impair $mode: ok"
