#!/usr/bin/env bash
# Starts the stack (demo model) on a free port through `cai up`, runs the verifiability benchmarks
# against it, and stops it. Usage: bench/run.sh [build dir]
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
bin="${1:-$root/build}/bin"
work="$(mktemp -d)"
trap 'kill -INT $up 2>/dev/null; wait $up 2>/dev/null; rm -rf "$work"' EXIT
"$bin/cai" up --port 0 --runtime-dir "$work/run" --ready-file "$work/ready.json" >"$work/up.log" 2>&1 &
up=$!
for _ in $(seq 600); do [ -f "$work/ready.json" ] && break; sleep 0.1; done
[ -f "$work/ready.json" ] || { cat "$work/up.log"; exit 1; }
url=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["url"])' "$work/ready.json")
model=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["model"])' "$work/ready.json")
echo "machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs)"
"$bin/cai-bench-signing-overhead" --signer "unix:$work/run/signer.sock"
"$bin/cai-bench-chat-load" --url "$url" --model "$model"
echo "reproduce: bench/run.sh"
