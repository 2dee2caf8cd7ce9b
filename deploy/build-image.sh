#!/usr/bin/env bash
# Builds rill's container image with no registry: a static `rill` binary built on this
# host, staged with a few /etc files into a temporary build context, and `docker build`
# of deploy/Dockerfile (FROM scratch) on it. Idempotent: cargo and docker rebuild only
# what changed.
#
#   deploy/build-image.sh [TAG]        TAG defaults to $RILL_IMAGE or rill:dev
#
# Environment: CARGO_TARGET_DIR (default: target/ of the workspace); RILL_IMAGE_PROFILE,
# the cargo profile (default release; the test suite uses image-test, an unoptimised
# build that compiles in a quarter of the time, see Cargo.toml).
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
tag="${1:-${RILL_IMAGE:-rill:dev}}"
triple=x86_64-unknown-linux-gnu
target_dir="${CARGO_TARGET_DIR:-$root/target}"
profile="${RILL_IMAGE_PROFILE:-release}"
bin="$target_dir/$triple/$profile/rill"

say() { printf '[build-image] %s\n' "$*"; }

say "building the static binary (cargo build --profile $profile --target $triple -p rill-cli, crt-static)"
# An explicit --target keeps these RUSTFLAGS off build scripts and proc macros (they are
# built for the host without them), and keeps this build apart from the normal one.
(cd "$root" && RUSTFLAGS="-C target-feature=+crt-static" \
    cargo build --profile "$profile" --target "$triple" -p rill-cli)

say "checking that $bin is static"
if ! file -L "$bin" | grep -Eq 'statically linked|static-pie linked'; then
    file -L "$bin" >&2
    say "error: $bin is not statically linked" >&2
    exit 1
fi
if ldd "$bin" >/dev/null 2>&1 && ! ldd "$bin" 2>&1 | grep -q 'statically linked'; then
    ldd "$bin" >&2
    say "error: ldd lists shared libraries for $bin" >&2
    exit 1
fi

ctx="$(mktemp -d)"
trap 'rm -rf "$ctx"' EXIT
say "staging the build context in $ctx"
mkdir -p "$ctx/etc" "$ctx/data"
# Without debug info (the release profile keeps it for profiling): a fifth of the size.
if command -v strip >/dev/null; then
    strip --strip-debug -o "$ctx/rill" "$bin"
else
    cp "$bin" "$ctx/rill"
fi
cp "$root/deploy/Dockerfile" "$ctx/Dockerfile"
cat >"$ctx/etc/passwd" <<'PASSWD'
root:x:0:0:root:/root:/sbin/nologin
rill:x:10001:10001:rill:/data:/sbin/nologin
PASSWD
cat >"$ctx/etc/group" <<'GROUP'
root:x:0:
rill:x:10001:
GROUP
cat >"$ctx/etc/hosts" <<'HOSTS'
127.0.0.1 localhost
::1 localhost ip6-localhost ip6-loopback
HOSTS
echo 'hosts: files dns' >"$ctx/etc/nsswitch.conf"
# Fixed times, so an unchanged binary gives docker's cache the same context.
find "$ctx" -exec touch -h -d '2000-01-01T00:00:00Z' {} +

say "docker build -t $tag"
docker build -q -t "$tag" "$ctx" >/dev/null
say "built $tag ($(docker image inspect -f '{{.Size}}' "$tag") bytes)"
