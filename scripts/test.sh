#!/usr/bin/env bash
# The whole test suite: installs what the tests need (tshark), then runs every
# unit, integration, property and doc test of the workspace.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-test-deps.sh
cargo test --workspace --all-features "$@"
