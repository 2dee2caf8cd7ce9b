#!/usr/bin/env bash
# Installs what the tests need beyond the Rust toolchain, under ignored folders of the
# repository (.venv/ for Python clients, .tools/ for built tools), and only what is
# missing, so running it again is cheap. Nothing is needed yet beyond cargo; later
# issues (real Kafka clients, kcat, Docker images) add their steps here.
set -euo pipefail
cd "$(dirname "$0")/.."

command -v cargo >/dev/null || { echo "setup: cargo is not on PATH" >&2; exit 1; }
mkdir -p .tools
