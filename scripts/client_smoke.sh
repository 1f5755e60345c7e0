#!/usr/bin/env bash
# Brings up a local cluster on a tiny random-weight model (`tpserve up --random-preset tiny`) and
# streams one chat through tools/client/chat_client.py (Python, grpcio). Fails if the stream does not
# end with a final message and at least one generated token.
set -euo pipefail
cd "$(dirname "$0")/.."
py=$(tools/client/setup_venv.sh)
run_dir=$(mktemp -d /tmp/tpserve_client_smoke_XXXXXX)
build/bin/tpserve up --random-preset tiny --port 0 --threads 1 --ready-file "$run_dir/ready.json" \
    --log-dir "$run_dir/logs" > "$run_dir/up.out" 2>&1 &
up_pid=$!
trap 'kill $up_pid 2>/dev/null; wait $up_pid 2>/dev/null || true' EXIT
for _ in $(seq 600); do
  [ -s "$run_dir/ready.json" ] && break
  if ! kill -0 $up_pid 2>/dev/null; then
    echo "client smoke: tpserve up failed:" >&2; cat "$run_dir/up.out" >&2
    tail -n 20 "$run_dir"/logs/*.log >&2 || true
    exit 1
  fi
  sleep 0.2
done
addr=$("$py" -c "import json,sys; print(json.load(open(sys.argv[1]))['address'])" "$run_dir/ready.json")
"$py" tools/client/chat_client.py --addr "$addr" --prompt "Hello from Python" --max-tokens 16
echo "client smoke: ok"
