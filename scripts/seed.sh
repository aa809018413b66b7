#!/usr/bin/env bash
# The main job: trace the seed scenario end to end, the test PC `earth`
# pinging the container 192.168.100.1 behind compute01's vRouter and the
# reply coming back (`vrsim trace --scenario seed-bgpaas --from earth --to
# 192.168.100.1`), with the frames on every link written to seed-trace.pcapng
# and dissected by vrsim (`vrsim dissect`); the same over IPv6 (the seed is
# dual-stack: earth 2001:db8:113::10 to the container fd80:24e2:f998:72d6::1);
# then write scenario A's frames to seed.pcap (or $1) and dissect them with
# vrsim. tshark's view of both captures is shown when tshark is installed
# and said to be skipped when it is not: the job needs only a Rust toolchain,
# runs as any user, and finds the binaries wherever CARGO_TARGET_DIR puts them.
set -euo pipefail
cd "$(dirname "$0")/.."
out="${1:-seed.pcap}"
capture="$(dirname "$out")/seed-trace.pcapng"
vrsim() { cargo run --quiet -p vrsim-cli -- "$@"; }
have_tshark=false
command -v tshark >/dev/null 2>&1 && have_tshark=true
tshark_view() {
  local file=$1
  shift
  if $have_tshark; then
    echo "tshark -r $file:"
    tshark -r "$file" -T fields "$@" 2>/dev/null
  else
    echo "(tshark is not installed: its view of $file is skipped; scripts/install-test-deps.sh installs it)"
  fi
}

echo "\$ vrsim trace --scenario seed-bgpaas --from earth --to 192.168.100.1 --pcap $capture"
vrsim trace --scenario seed-bgpaas --from earth --to 192.168.100.1 --pcap "$capture"
echo
echo "\$ vrsim dissect $capture   (one frame per link crossed)"
vrsim dissect "$capture"
tshark_view "$capture" -e frame.number -e frame.interface_name -e frame.protocols -e mpls.label
echo
echo "\$ vrsim show-route 192.168.100.0/26"
vrsim show-route 192.168.100.0/26
echo
echo "\$ vrsim trace --scenario seed-bgpaas --from earth --to fd80:24e2:f998:72d6::1   (the same over IPv6)"
vrsim trace --scenario seed-bgpaas --from earth --to fd80:24e2:f998:72d6::1
echo
cargo run --quiet --example seed_frames -- "$out"
echo
tshark_view "$out" -e frame.number -e frame.protocols -e mpls.label -e vxlan.vni
