#!/usr/bin/env bash
# Installs Debian's rustc with the wasm32 standard library, which the
# runtime/wasm tests use to build the Rust example guest
# (runtime/wasm/testdata/rustguest, rustc alone: no cargo, no crates).
set -euo pipefail
if [ -d /usr/lib/rustlib/wasm32-unknown-unknown ] && [ -x /usr/bin/rustc ]; then
  echo "== rust: $(/usr/bin/rustc --version) with wasm32-unknown-unknown"
  exit 0
fi
echo "== rust: installing rustc and libstd-rust-dev-wasm32 (apt)"
source "$(dirname "$0")/apt.sh"
apt_install rustc libstd-rust-dev-wasm32
/usr/bin/rustc --version
test -d /usr/lib/rustlib/wasm32-unknown-unknown
