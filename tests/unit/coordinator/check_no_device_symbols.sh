#!/bin/sh
# The linked tpserve-coordinator holds no device or engine code: no symbol of tpserve::ops or
# tpserve::shard (the module DAG of DESIGN.md, checked on the binary itself).
# usage: check_no_device_symbols.sh BINARY
set -eu
syms=$(nm -C "$1")
if ! printf '%s\n' "$syms" | grep -q 'tpserve::coordinator::'; then
  echo "no tpserve::coordinator symbols in $1: cannot check (stripped?)"
  exit 1
fi
bad=$(printf '%s\n' "$syms" | grep -E 'tpserve::(ops|shard)::' || true)
if [ -n "$bad" ]; then
  echo "$1 links device or engine code:"
  printf '%s\n' "$bad" | head -20
  exit 1
fi
echo "ok: $1 has no tpserve::ops / tpserve::shard symbols"
