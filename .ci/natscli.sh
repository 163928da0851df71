#!/usr/bin/env bash
# Installs natscli, NATS's command-line client, into .cache/bin/nats for the
# tests that run it as a tenant would (runtime/tenant/tenantnats
# TestNatsCLIAsTenant); without it they skip, except in CI, where they fail.
# Built from the Go module proxy, outside this module (no go.mod change).
set -euo pipefail
cd "$(dirname "$0")/.."
version=${NATSCLI_VERSION:-v0.5.0}
bin="$PWD/.cache/bin"
if [ -x "$bin/nats" ] && [ "$("$bin/nats" --version 2>/dev/null)" = "$version" ]; then
  echo "== natscli $version (cached in $bin)"
  exit 0
fi
echo "== natscli $version: go install github.com/nats-io/natscli/nats into $bin"
GOBIN="$bin" GOFLAGS=-mod=mod go install "github.com/nats-io/natscli/nats@$version"
"$bin/nats" --version
