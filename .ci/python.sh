#!/usr/bin/env bash
# Installs the Python gRPC client example's requirements (grpcio,
# grpcio-tools, protobuf; pinned in docs/examples/python/requirements.txt)
# into docs/examples/python/.venv. cmd/eventrunner's TestPythonGRPCClient
# generates the Python code with grpc_tools.protoc and runs the example;
# without the environment it skips, except in CI, where it fails.
set -euo pipefail
cd "$(dirname "$0")/.."
dir=docs/examples/python
echo "== python venv ($dir/.venv): $(python3 --version)"
if ! command -v python3 >/dev/null 2>&1 || ! python3 -m venv --help >/dev/null 2>&1 || ! python3 -c 'import ensurepip' 2>/dev/null; then
  echo "== python3 with venv missing: installing python3 and python3-venv (apt)"
  source .ci/apt.sh
  apt_install python3 python3-venv
fi
python3 -m venv "$dir/.venv"
"$dir/.venv/bin/python" -m pip install --quiet --disable-pip-version-check -r "$dir/requirements.txt"
"$dir/.venv/bin/python" -c 'import grpc, grpc_tools; print("grpcio", grpc.__version__)'
