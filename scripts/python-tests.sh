#!/usr/bin/env bash
# The Python package (crates/vrsim-py, module `vrsim`): build it with maturin
# into a virtual environment of its own (under the cargo target directory,
# so CARGO_TARGET_DIR is honoured and nothing is installed system-wide), then
# run its pytest suite, whose packets scapy builds. Installs maturin, pytest
# and scapy into that environment from PyPI when they are missing.
set -euo pipefail
cd "$(dirname "$0")/.."
# An absolute path: the build below runs from crates/vrsim-py.
target="$(realpath -m "${CARGO_TARGET_DIR:-target}")"
mkdir -p "$target"
venv="$target/python-venv"
# A venv whose interpreter went away (Python upgraded) is made anew.
if ! "$venv/bin/python" -c "import sys" >/dev/null 2>&1; then
  rm -rf "$venv"
  python3 -m venv "$venv"
fi
"$venv/bin/python" -m pip install --quiet --disable-pip-version-check \
  "maturin>=1.5,<2" "pytest>=7" "scapy>=2.5"
# The root's target directory: the package shares the crates it builds.
(cd crates/vrsim-py && CARGO_TARGET_DIR="$target" VIRTUAL_ENV="$venv" PATH="$venv/bin:$PATH" \
  maturin develop --quiet)
"$venv/bin/python" -m pytest -q crates/vrsim-py/tests "$@"
