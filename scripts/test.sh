#!/usr/bin/env bash
# The whole test suite: installs what the tests need (tshark), then runs every
# unit, integration, property and doc test of the workspace, then builds the
# Python package and runs its pytest suite (scripts/python-tests.sh).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-test-deps.sh
cargo test --workspace --all-features "$@"
# The Python package and its pytest suite.
scripts/python-tests.sh
