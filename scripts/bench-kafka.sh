#!/usr/bin/env bash
# Kafka-protocol benchmark: confluent-kafka against a release build of rill, 1 broker
# RF 1 (acks=1) and 3 brokers RF 3 (acks=all), each on 3 controllers. Prints one JSON
# line per setup; runs it RUNS times (default 3) so medians can be quoted.
# Usage: scripts/bench-kafka.sh [records]
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/setup.sh >/dev/null
cargo build --release --quiet
records="${1:-200000}"
runs="${RUNS:-3}"
rill="$PWD/target/release/rill"
py="$PWD/.venv/bin/python"
work=$(mktemp -d)
pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; wait 2>/dev/null || true; rm -rf "$work"; }
trap cleanup EXIT
free_port() { "$py" -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }

# Sets $boot; runs in this shell (not a $(...) subshell) so $pids keeps every process.
start_cluster() { # $1 = broker count, $2 = dir
  local n=$1 dir=$2 voters="" cs=""
  boot=""
  local c1 c2 c3; c1=$(free_port); c2=$(free_port); c3=$(free_port)
  voters="1@127.0.0.1:$c1,2@127.0.0.1:$c2,3@127.0.0.1:$c3"; cs="127.0.0.1:$c1,127.0.0.1:$c2,127.0.0.1:$c3"
  for i in 1 2 3; do
    local p; p=$(eval echo "\$c$i")
    "$rill" controller --node-id "$i" --data-dir "$dir/c$i" --voters "$voters" --listen "127.0.0.1:$p" >"$dir/c$i.log" 2>&1 &
    pids+=($!)
  done
  for i in $(seq 1 "$n"); do
    local g k; g=$(free_port); k=$(free_port)
    "$rill" broker --broker-id "$i" --data-dir "$dir/b$i" --listen "127.0.0.1:$g" --kafka-listen "127.0.0.1:$k" --controllers "$cs" >"$dir/b$i.log" 2>&1 &
    pids+=($!)
    boot="${boot:+$boot,}127.0.0.1:$k"
  done
  for _ in $(seq 1 100); do
    if [ "$(kcat -b "$boot" -L -J 2>/dev/null | "$py" -c 'import json,sys; print(len(json.load(sys.stdin)["brokers"]))' 2>/dev/null)" = "$n" ]; then
      return
    fi
    sleep 0.2
  done
  echo "bench: the cluster did not come up (logs in $dir)" >&2; exit 1
}

create_topic() { # bootstrap topic rf
  "$py" - "$1" "$2" "$3" <<'PY'
import sys
from confluent_kafka.admin import AdminClient, NewTopic
a = AdminClient({"bootstrap.servers": sys.argv[1]})
for f in a.create_topics([NewTopic(sys.argv[2], 3, int(sys.argv[3]))]).values():
    f.result(30)
PY
}

for setup in "1 1 1" "3 3 all"; do
  read -r brokers rf acks <<<"$setup"
  for run in $(seq 1 "$runs"); do
    dir="$work/$brokers-$run"; mkdir -p "$dir"
    start_cluster "$brokers" "$dir"
    create_topic "$boot" bench "$rf"
    printf '{"brokers": %s, "rf": %s, "run": %s, "result": ' "$brokers" "$rf" "$run"
    "$py" tests/kafka/bench_confluent.py --bootstrap "$boot" --topic bench --acks "$acks" --records "$records" | tr -d '\n'
    echo "}"
    for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
    for p in "${pids[@]}"; do wait "$p" 2>/dev/null || true; done
    pids=()
  done
done
