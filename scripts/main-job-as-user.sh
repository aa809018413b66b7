#!/usr/bin/env bash
# Prove the main job needs neither root nor tshark: run scripts/seed.sh on a
# fresh clone as a throwaway unprivileged user (nobody), with CARGO_TARGET_DIR
# set and tshark left off the PATH. Run as root (CI does); the toolchain is
# shared read-only by hard links, crates are fetched into the user's own
# CARGO_HOME.
set -euo pipefail
cd "$(dirname "$0")/.."
[ "$(id -u)" -eq 0 ] || { echo "run as root: it switches to the user nobody" >&2; exit 2; }
work=$(mktemp -d /tmp/vrsim-user.XXXXXX)
trap 'rm -rf "$work"' EXIT
git clone --quiet . "$work/repo"
rustup_home=${RUSTUP_HOME:-$HOME/.rustup}
cargo_home=${CARGO_HOME:-$HOME/.cargo}
# Hard links where the file system allows them, copies where it does not.
cp -al "$rustup_home" "$work/rustup" 2>/dev/null || cp -a "$rustup_home" "$work/rustup"
mkdir -p "$work/cargo/bin" "$work/nobin"
cp -al "$cargo_home/bin/." "$work/cargo/bin/" 2>/dev/null || cp -a "$cargo_home/bin/." "$work/cargo/bin/"
# A PATH like the system's (the first directory wins), without tshark.
for d in /bin /usr/bin /usr/local/bin; do
  for f in "$d"/*; do
    b=$(basename "$f")
    [ "$b" = tshark ] || ln -sfn "$f" "$work/nobin/$b"
  done
done
chown -R nobody "$work/repo" "$work/cargo"
chmod 755 "$work"
runuser -u nobody -- env -i HOME="$work" PATH="$work/cargo/bin:$work/nobin" \
  RUSTUP_HOME="$work/rustup" CARGO_HOME="$work/cargo" CARGO_TARGET_DIR="$work/cargo/target" \
  bash -c 'cd "$0/repo" && ! command -v tshark >/dev/null && echo "as $(id -un), no tshark, CARGO_TARGET_DIR=$CARGO_TARGET_DIR" && scripts/seed.sh "$0/cargo/seed.pcap"' "$work" \
  > "$work/out.txt" 2>&1 || { cat "$work/out.txt"; exit 1; }
head -n 3 "$work/out.txt"
grep -q "=> delivered to centos-ssh (192.168.100.1)" "$work/out.txt"
grep -q "tshark is not installed: its view of" "$work/out.txt"
echo "the main job ran as nobody without tshark"
