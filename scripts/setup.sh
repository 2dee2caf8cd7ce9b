#!/usr/bin/env bash
# Installs what the tests need beyond the Rust toolchain, under ignored folders of the
# repository (.venv/ for Python clients, .tools/ for built tools), and only what is
# missing, so running it again is cheap and installs nothing:
# - .venv/: the Kafka clients pinned in tests/kafka/requirements.txt (kafka-python,
#   confluent-kafka, aiokafka), for tests/tests/kafka_clients.rs, and the gRPC client
#   pinned in tests/python/requirements.txt (grpcio, grpcio-reflection, protobuf), for
#   tests/tests/admin_api_python.rs. A stamp file holds the requirement lists last
#   installed; pip runs only when they differ.
# - kcat, from the distribution's packages, when it is not on PATH.
# - promtool (Debian's prometheus package), when it is not on PATH: the metrics test
#   checks /metrics with Prometheus's own linter.
# Runs unattended (CI: no stdin, as root) and exits non-zero when an install fails.
set -euo pipefail
cd "$(dirname "$0")/.."

command -v cargo >/dev/null || { echo "setup: cargo is not on PATH" >&2; exit 1; }
mkdir -p .tools

requirement_files=(tests/kafka/requirements.txt tests/python/requirements.txt)
venv=.venv
stamp=$venv/.requirements-installed
wanted=$(cat "${requirement_files[@]}")

# Runs apt-get as root (directly, or through sudo without a password prompt).
apt_get() {
  if [ "$(id -u)" -eq 0 ]; then
    DEBIAN_FRONTEND=noninteractive apt-get "$@"
  elif command -v sudo >/dev/null; then
    sudo -n env DEBIAN_FRONTEND=noninteractive apt-get "$@"
  else
    echo "setup: apt-get $* needs root (or sudo)" >&2
    return 1
  fi
}

apt_updated=false
apt_install() {
  command -v apt-get >/dev/null || {
    echo "setup: $* is missing and there is no apt-get to install it; install it by hand" >&2
    exit 1
  }
  if [ "$apt_updated" = false ]; then
    echo "setup: apt-get update"
    apt_get update -qq || { echo "setup: apt-get update failed" >&2; exit 1; }
    apt_updated=true
  fi
  echo "setup: installing $* (apt-get)"
  apt_get install -y -qq --no-install-recommends "$@" >/dev/null \
    || { echo "setup: apt-get install $* failed" >&2; exit 1; }
}

# --- Python Kafka clients in .venv/ ---------------------------------------------------
# A venv whose interpreter no longer runs (its base Python was removed) is rebuilt.
if [ -e "$venv" ] && ! "$venv/bin/python" -c 'import sys' >/dev/null 2>&1; then
  echo "setup: $venv is broken (its interpreter does not run); recreating it"
  rm -rf "$venv"
fi
if [ -x "$venv/bin/python" ] && [ -f "$stamp" ] && [ "$wanted" = "$(cat "$stamp")" ]; then
  echo "setup: Python Kafka and gRPC clients up to date in $venv"
else
  command -v python3 >/dev/null || apt_install python3
  if [ ! -x "$venv/bin/python" ]; then
    # Debian's python3 lacks ensurepip (what venv needs) without python3-venv.
    python3 -c 'import ensurepip' 2>/dev/null || apt_install python3-venv
    echo "setup: creating $venv ($(python3 --version))"
    python3 -m venv "$venv" || { echo "setup: python3 -m venv $venv failed" >&2; exit 1; }
  fi
  echo "setup: installing into $venv: $(cat "${requirement_files[@]}" | grep -v '^#' | xargs)"
  PIP_NO_INPUT=1 PIP_DISABLE_PIP_VERSION_CHECK=1 "$venv/bin/python" -m pip install \
    --quiet "${requirement_files[@]/#/--requirement=}" \
    || { echo "setup: pip install of ${requirement_files[*]} failed" >&2; exit 1; }
  "$venv/bin/python" -c 'import aiokafka, confluent_kafka, kafka' \
    || { echo "setup: the Kafka clients do not import after installing" >&2; exit 1; }
  "$venv/bin/python" -c 'import grpc, grpc_reflection, google.protobuf' \
    || { echo "setup: grpcio does not import after installing" >&2; exit 1; }
  printf '%s' "$wanted" > "$stamp"
fi

# --- kcat -----------------------------------------------------------------------------
if command -v kcat >/dev/null; then
  echo "setup: kcat up to date ($(command -v kcat))"
else
  apt_install kcat
  command -v kcat >/dev/null || { echo "setup: kcat is not on PATH after installing" >&2; exit 1; }
fi

# --- promtool ---------------------------------------------------------------------------
if command -v promtool >/dev/null; then
  echo "setup: promtool up to date ($(command -v promtool))"
else
  apt_install prometheus
  command -v promtool >/dev/null || { echo "setup: promtool is not on PATH after installing" >&2; exit 1; }
fi

# --- cargo-fuzz (the fuzz targets in fuzz/, run briefly by scripts/test.sh) -----------
fuzz_version=0.13.2
if [ -x .tools/bin/cargo-fuzz ] && .tools/bin/cargo-fuzz --version 2>/dev/null | grep -q "$fuzz_version"; then
  echo "setup: cargo-fuzz up to date (.tools/bin/cargo-fuzz)"
else
  echo "setup: installing cargo-fuzz $fuzz_version into .tools/ (about a minute)"
  cargo install --quiet --locked --root .tools cargo-fuzz --version "$fuzz_version" \
    || { echo "setup: cargo install cargo-fuzz failed" >&2; exit 1; }
fi
