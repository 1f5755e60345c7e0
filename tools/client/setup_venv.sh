#!/usr/bin/env bash
# A virtualenv with grpcio + grpcio-tools for tools/client/chat_client.py (PyPI). Prints its python.
#   VENV=${TPS_CLIENT_VENV:-build/client-venv}
set -euo pipefail
cd "$(dirname "$0")/../.."
VENV="${TPS_CLIENT_VENV:-build/client-venv}"
if [ ! -x "$VENV/bin/python" ]; then
  python3 -m venv "$VENV" >&2
fi
if ! "$VENV/bin/python" -c "import grpc, grpc_tools" 2>/dev/null; then
  "$VENV/bin/pip" install -q "grpcio==1.85.1" "grpcio-tools==1.85.1" >&2
fi
echo "$VENV/bin/python"
