#!/usr/bin/env bash
# The main job: write scenario A's frames to seed.pcap (or $1) and dissect
# them with vrsim and with tshark.
set -euo pipefail
cd "$(dirname "$0")/.."
out="${1:-seed.pcap}"
scripts/install-test-deps.sh >/dev/null
cargo run --quiet --example seed_frames -- "$out"
echo
echo "tshark -r $out:"
tshark -r "$out" -T fields -e frame.number -e frame.protocols -e mpls.label -e vxlan.vni 2>/dev/null
echo
echo "compute01's vRouter, trace 1 (gw-01 -> container) and trace 2 (the reply):"
cargo run --quiet -p vrsim-cli -- inject --vif 0 --frame mx-to-compute01-gre
cargo run --quiet -p vrsim-cli -- inject --vif 37 --frame container-reply-from-vm
