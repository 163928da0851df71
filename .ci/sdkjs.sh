#!/usr/bin/env bash
# Installs the JavaScript CloudEvents SDK (npm cloudevents) from its
# package-lock.json into cmd/eventrunner/testdata/sdkjs/node_modules. The
# Go test TestSDKsAcceptEvents runs node over it to check that the SDK
# accepts every sample and processed event; without it that part skips,
# except under CI=true, where it fails.
set -euo pipefail
cd "$(dirname "$0")/.."
source .ci/apt.sh
need_node
dir=cmd/eventrunner/testdata/sdkjs
echo "== npm ci ($dir): node $(node --version), npm $(npm --version)"
npm ci --prefix "$dir" --no-audit --no-fund
node -e 'console.log("cloudevents " + require(process.argv[1]).version)' "$PWD/$dir/node_modules/cloudevents/package.json"
