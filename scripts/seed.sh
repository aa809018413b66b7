#!/usr/bin/env bash
# The main job: trace the seed scenario end to end, the test PC `earth`
# pinging the container 192.168.100.1 behind compute01's vRouter and the
# reply coming back (`vrsim trace --scenario seed-bgpaas --from earth --to
# 192.168.100.1`), with the frames on every link written to seed-trace.pcapng
# and dissected by tshark; then write scenario A's frames to seed.pcap (or $1)
# and dissect them with vrsim and with tshark.
set -euo pipefail
cd "$(dirname "$0")/.."
out="${1:-seed.pcap}"
capture="$(dirname "$out")/seed-trace.pcapng"
scripts/install-test-deps.sh >/dev/null
cargo build --quiet -p vrsim-cli
vrsim=target/debug/vrsim
echo "\$ vrsim trace --scenario seed-bgpaas --from earth --to 192.168.100.1 --pcap $capture"
"$vrsim" trace --scenario seed-bgpaas --from earth --to 192.168.100.1 --pcap "$capture"
echo
echo "tshark -r $capture (one frame per link crossed):"
tshark -r "$capture" -T fields -e frame.number -e frame.interface_name -e frame.protocols -e mpls.label 2>/dev/null
echo
echo "\$ vrsim show-route 192.168.100.0/26"
"$vrsim" show-route 192.168.100.0/26
echo
cargo run --quiet --example seed_frames -- "$out"
echo
echo "tshark -r $out:"
tshark -r "$out" -T fields -e frame.number -e frame.protocols -e mpls.label -e vxlan.vni 2>/dev/null
