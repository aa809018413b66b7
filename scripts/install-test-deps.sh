#!/usr/bin/env bash
# Install the system tools vrsim's tests use when they are missing:
# tshark (Debian package `tshark`), which checks the frames vrsim writes.
set -euo pipefail
if ! command -v tshark >/dev/null 2>&1; then
  echo "installing tshark (Debian package tshark)" >&2
  sudo=""
  [ "$(id -u)" -eq 0 ] || sudo="sudo"
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq tshark >/dev/null
fi
tshark --version | head -n 1
