#!/usr/bin/env bash
# Installs the AssemblyScript compiler the runtime/wasm tests use to build
# the AssemblyScript example guest (runtime/wasm/testdata/asguest), from its
# package-lock.json, into that directory's node_modules. The Go guest needs
# only the Go toolchain.
set -euo pipefail
cd "$(dirname "$0")/.."
source .ci/apt.sh
need_node
dir=runtime/wasm/testdata/asguest
echo "== npm ci ($dir): node $(node --version), npm $(npm --version)"
npm ci --prefix "$dir" --no-audit --no-fund
"$dir/node_modules/.bin/asc" --version
