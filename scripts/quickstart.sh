#!/usr/bin/env bash
# The newcomer's first command: install the build dependencies, build, and generate with a model.
# Until the cluster service lands this runs `tpserve generate` on the committed tiny test model
# (random weights made with transformers, see tests/golden/): 16 greedy tokens from 5 prompt ids.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install_deps.sh
scripts/build.sh release >/dev/null
model="${TPS_MODEL:-tests/golden/tiny_r2_untied}"
echo "== tpserve inspect --model $model"
./build/bin/tpserve inspect --model "$model"
echo "== tpserve generate --model $model --prompt-ids 11,42,7,99,3 --max-tokens 16 --json"
./build/bin/tpserve generate --model "$model" --prompt-ids 11,42,7,99,3 --max-tokens 16 --json
