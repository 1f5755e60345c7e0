#!/usr/bin/env bash
# The newcomer's first command: install the build dependencies, build, bring up a local cluster
# (`tpserve up`: a coordinator and one CPU worker) on the default model, and stream one chat reply
# to the terminal with `tpserve chat`. The cluster is stopped afterwards.
#
# Default model: Qwen/Qwen3.5-0.8B from the local Hugging Face cache or the hub; on machines that
# can do neither, a random-weight model of the same shape (made once under ~/.cache/tpserve), with
# a banner saying its replies are noise. TPS_MODEL=DIR serves a checkpoint of your own.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install_deps.sh
scripts/build.sh release >/dev/null
bin=build/bin
run_dir=$(mktemp -d /tmp/tpserve_quickstart_XXXXXX)
model_args=()
if [ -n "${TPS_MODEL:-}" ]; then model_args=(--model "$TPS_MODEL"); fi
"$bin/tpserve" up "${model_args[@]}" --port 0 --ready-file "$run_dir/ready.json" \
    --log-dir "$run_dir/logs" &
up_pid=$!
trap 'kill $up_pid 2>/dev/null; wait $up_pid 2>/dev/null || true' EXIT
for _ in $(seq 1200); do
  [ -s "$run_dir/ready.json" ] && break
  kill -0 $up_pid 2>/dev/null || { echo "tpserve up failed; logs in $run_dir/logs" >&2; exit 1; }
  sleep 0.5
done
addr=$(python3 -c "import json,sys; print(json.load(open(sys.argv[1]))['address'])" "$run_dir/ready.json")
echo "== tpserve chat --addr $addr --prompt 'Give me three facts about the Moon.'"
"$bin/tpserve" chat --addr "$addr" --prompt "Give me three facts about the Moon." --max-tokens 64 \
    --temperature 0.7 --top-p 0.8 --seed 7
