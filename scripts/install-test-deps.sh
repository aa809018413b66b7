#!/usr/bin/env bash
# Install the system tools vrsim's tests use when they are missing:
# - tshark (Debian package `tshark`), which checks the frames vrsim writes;
# - BIRD 2 (Debian package `bird2`: `bird`, `birdc`), the real BGP speaker the
#   live BGPaaS tests (tests/bird.rs) peer with;
# - Python 3 with its venv module (Debian packages `python3`, `python3-venv`),
#   which the Python package's tests (scripts/python-tests.sh) build into.
set -euo pipefail
missing=()
command -v tshark >/dev/null 2>&1 || missing+=(tshark)
{ command -v bird >/dev/null 2>&1 || [ -x /usr/sbin/bird ]; } || missing+=(bird2)
command -v python3 >/dev/null 2>&1 || missing+=(python3)
python3 -c "import venv, ensurepip" >/dev/null 2>&1 || missing+=(python3-venv)
if [ ${#missing[@]} -gt 0 ]; then
  echo "installing ${missing[*]} (Debian packages)" >&2
  sudo=""
  [ "$(id -u)" -eq 0 ] || sudo="sudo"
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq "${missing[@]}" >/dev/null
  # The package starts a system-wide bird on port 179; the tests run their own.
  { command -v systemctl >/dev/null 2>&1 && $sudo systemctl disable --now bird >/dev/null 2>&1; } || true
fi
tshark --version | head -n 1
PATH="$PATH:/usr/sbin" bird --version 2>&1 | head -n 1
python3 --version
