#!/usr/bin/env bash
# Installs the Python reference tools (torch CPU, transformers, safetensors, tokenizers, numpy,
# Pillow for the vision fixture)
# into a virtualenv OUTSIDE the repository. Only needed to regenerate fixtures under tests/golden;
# the build and the tests never need it (CI does not run this).
#   scripts/setup_reference.sh            -> venv at $TPS_REF_VENV (default ~/.cache/tpserve/ref-venv)
set -euo pipefail
VENV="${TPS_REF_VENV:-$HOME/.cache/tpserve/ref-venv}"
PY="${PYTHON:-python3}"
if [ ! -x "$VENV/bin/python" ]; then
  mkdir -p "$(dirname "$VENV")"
  "$PY" -m venv "$VENV"
fi
# PyPI is the only index reachable on the build machines; its torch wheel also pulls CUDA runtime
# wheels (large, unused on CPU). Versions are pinned so fixtures regenerate bit for bit.
"$VENV/bin/pip" install -q --upgrade pip
"$VENV/bin/pip" install -q \
  "torch==2.15.0" "transformers==5.23.0" "safetensors==0.8.0" "tokenizers==0.23.3" "numpy" \
  "pillow==13.0.0"
"$VENV/bin/python" -c "import torch, transformers; print('reference venv ok:', torch.__version__, transformers.__version__)"
echo "$VENV"
