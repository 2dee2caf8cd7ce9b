#!/usr/bin/env bash
# The whole test suite, on a fresh machine or a used one. Anything the tests need is
# installed by scripts/setup.sh under ignored folders of this repository, idempotently.
# Usage: ./scripts/test.sh [extra nextest arguments, e.g. a test name filter]
set -euo pipefail
cd "$(dirname "$0")/.."

./scripts/setup.sh

profile=default
if [ "${CI:-}" = "true" ]; then profile=ci; fi

# nextest does not run doctests; they are part of the suite all the same. They run
# first so that the run closes on the test runner's summary of the whole suite.
if ! doc_out=$(cargo test --workspace --doc --quiet 2>&1); then
  echo "$doc_out"
  echo "doctests failed" >&2
  exit 1
fi
echo "doctests: $(echo "$doc_out" | awk '/^test result:/ {n += $4} END {print n + 0}') passed"

# The fuzz target of Kafka request decoding, briefly (RILL_FUZZ_SECONDS, default 20;
# longer runs by hand: scripts/fuzz.sh 600).
./scripts/fuzz.sh "${RILL_FUZZ_SECONDS:-20}"

# The docker-compose test (tests/tests/docker_compose.rs) needs the image; the static
# release build behind it takes minutes, more than a test's time budget, so it is built
# here, before the suite. Without a Docker engine the test skips loudly (fails on CI).
if docker info >/dev/null 2>&1; then
  RILL_IMAGE=rill:compose-test RILL_IMAGE_PROFILE=image-test ./deploy/build-image.sh
elif [ "${CI:-}" = "true" ]; then
  echo "CI=true but no Docker engine answers 'docker info'; the compose test will fail" >&2
fi

if cargo nextest --version >/dev/null 2>&1; then
  cargo nextest run --workspace --profile "$profile" "$@"
else
  echo "cargo-nextest not found; running cargo test instead" >&2
  cargo test --workspace "$@"
fi
