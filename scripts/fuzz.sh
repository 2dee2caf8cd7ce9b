#!/usr/bin/env bash
# Runs the cargo-fuzz targets (fuzz/) for a while each. Usage: scripts/fuzz.sh [seconds]
# (default 20 per target: the brief run of the test suite; run longer by hand).
# cargo-fuzz is installed under .tools/ by scripts/setup.sh. The machine has only the
# stable toolchain: RUSTC_BOOTSTRAP lets cargo-fuzz pass its -Z flags, and the address
# sanitizer (nightly-only) is off; libFuzzer's own limits catch big allocations.
set -euo pipefail
cd "$(dirname "$0")/.."
seconds="${1:-20}"
export PATH="$PWD/.tools/bin:$PATH"
command -v cargo-fuzz >/dev/null || { echo "fuzz: cargo-fuzz missing; run scripts/setup.sh" >&2; exit 1; }
cd fuzz
for target in $(cargo fuzz list); do
  echo "fuzz: $target for ${seconds}s"
  mkdir -p "corpus/$target"
  out=$(RUSTC_BOOTSTRAP=1 cargo fuzz run --sanitizer none "$target" "corpus/$target" -- \
    -max_total_time="$seconds" -rss_limit_mb=2048 -malloc_limit_mb=512 -timeout=10 2>&1) || {
    echo "$out" | tail -40
    echo "fuzz: $target found a failure (see fuzz/artifacts/$target)" >&2
    exit 1
  }
  echo "fuzz: $target: $(echo "$out" | grep -E '^Done [0-9]+ runs' | tail -1)"
done
