#!/usr/bin/env bash
# The docker-compose cluster end to end: builds the image (deploy/build-image.sh), brings
# deploy/docker-compose.yml up under a project of its own with host ports picked free,
# waits for all six containers to be healthy, then, from the host, through the brokers'
# EXTERNAL listeners:
#   1. creates a topic (RF 3, min.insync.replicas 2) with the host's `rill` over the
#      controllers' published gRPC admin port;
#   2. checks the INTERNAL listener from inside the compose network (kcat in a container
#      on the project's network) and the EXTERNAL one from the host: each advertises its
#      own addresses;
#   3. produces (acks=all, confluent-kafka with per-record delivery reports) while one
#      broker container is stopped (docker stop) and started again, then 500 more
#      records with kcat (acks=all, idempotent);
#   4. consumes everything with kcat and checks that every acknowledged record is there
#      (at least once; duplicates are counted, not failed).
# `docker-compose down -v` of its own project runs on every exit. Each step is bounded;
# timings are printed. Exit 0 only when every check passed.
#
# Environment: RILL_IMAGE (default rill:compose-test), RILL_IMAGE_PROFILE (the cargo
# profile of the image's binary, default image-test: the one scripts/test.sh builds
# before the suite, so the build here finds it up to date), COMPOSE (default
# docker-compose, or `docker compose` when that is what exists), CARGO_TARGET_DIR.
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
compose_file="$root/deploy/docker-compose.yml"
python="$root/.venv/bin/python"
export RILL_IMAGE="${RILL_IMAGE:-rill:compose-test}"
export RILL_IMAGE_PROFILE="${RILL_IMAGE_PROFILE:-image-test}"
project="rilltest$$$(date +%s)"
t0=$(date +%s)
work="$(mktemp -d)"

say() { printf '[compose-test %3ds] %s\n' "$(($(date +%s) - t0))" "$*"; }
die() { say "FAIL: $*" >&2; exit 1; }

if [ -n "${COMPOSE:-}" ]; then
    read -r -a compose <<<"$COMPOSE"
elif command -v docker-compose >/dev/null; then
    compose=(docker-compose)
elif docker compose version >/dev/null 2>&1; then
    compose=(docker compose)
else
    die "neither docker-compose nor docker compose is installed"
fi
dc() { "${compose[@]}" -p "$project" -f "$compose_file" "$@"; }

docker info >/dev/null 2>&1 || die "no Docker engine answers (docker info)"
command -v kcat >/dev/null || die "kcat is not installed: run scripts/setup.sh"
"$python" -c 'import confluent_kafka' 2>/dev/null || die "no confluent-kafka in .venv: run scripts/setup.sh"

cleanup() {
    local rc=$?
    if [ "$rc" -ne 0 ]; then
        say "failed; the containers' last log lines:"
        timeout 30 "${compose[@]}" -p "$project" -f "$compose_file" logs --no-color --tail 40 || true
    fi
    say "tearing down project $project (down -v)"
    timeout 120 "${compose[@]}" -p "$project" -f "$compose_file" down -v --timeout 10 >/dev/null 2>&1 \
        || say "warning: down -v of $project failed"
    rm -rf "$work"
    say "done, exit $rc"
}
trap cleanup EXIT
trap 'exit 143' TERM INT

# --- image -------------------------------------------------------------------------------
say "building the image $RILL_IMAGE"
timeout 900 "$root/deploy/build-image.sh" "$RILL_IMAGE"
rill="${CARGO_TARGET_DIR:-$root/target}/x86_64-unknown-linux-gnu/$RILL_IMAGE_PROFILE/rill"
t_image=$(($(date +%s) - t0))

# --- free host ports ---------------------------------------------------------------------
# Bound together, then released, so the twelve are distinct; Docker binds them next.
read -r -a ports <<<"$(python3 -c '
import socket
s = [socket.socket() for _ in range(12)]
for x in s: x.bind(("127.0.0.1", 0))
print(" ".join(str(x.getsockname()[1]) for x in s))')"
for n in 1 2 3; do
    export "RILL_KAFKA_PORT_$n=${ports[$((n - 1))]}"
    export "RILL_CONTROLLER_PORT_$n=${ports[$((n + 2))]}"
    export "RILL_BROKER_HTTP_PORT_$n=${ports[$((n + 5))]}"
    export "RILL_CONTROLLER_HTTP_PORT_$n=${ports[$((n + 8))]}"
done
bootstrap="127.0.0.1:$RILL_KAFKA_PORT_1,127.0.0.1:$RILL_KAFKA_PORT_2,127.0.0.1:$RILL_KAFKA_PORT_3"
controllers="127.0.0.1:$RILL_CONTROLLER_PORT_1,127.0.0.1:$RILL_CONTROLLER_PORT_2,127.0.0.1:$RILL_CONTROLLER_PORT_3"
say "project $project; Kafka $bootstrap; controllers $controllers"

# --- up and healthy ----------------------------------------------------------------------
say "${compose[*]} up -d"
timeout 180 "${compose[@]}" -p "$project" -f "$compose_file" up -d --no-build \
    || die "up -d failed"

# Polls until every service's container reports healthy (deadline: $1 seconds).
wait_healthy() {
    local deadline=$(($(date +%s) + $1)) states
    while :; do
        states=$(for id in $(dc ps -q); do
            docker inspect -f '{{.Name}}={{if .State.Health}}{{.State.Health.Status}}{{else}}{{.State.Status}}{{end}}' "$id"
        done | sort | xargs)
        if [ "$(echo "$states" | grep -o '=healthy' | wc -l)" -eq 6 ]; then
            say "healthy: $states"
            return 0
        fi
        [ "$(date +%s)" -lt "$deadline" ] || die "not all healthy after $1 s: $states"
        sleep 1
    done
}
wait_healthy 120
t_up=$(($(date +%s) - t0))

timeout 30 "$rill" cluster describe --controllers "$controllers" \
    || die "rill cluster describe through the published admin port failed"

# --- listeners ---------------------------------------------------------------------------
# From the host (EXTERNAL): every broker advertised as 127.0.0.1:<its published port>.
external=$(timeout 30 kcat -b "$bootstrap" -L -J -m 15 | "$python" -c '
import json, sys
brokers = sorted(json.load(sys.stdin)["brokers"], key=lambda b: b["id"])
print(" ".join("%s/%d" % (b["name"], b["id"]) for b in brokers))')
want="127.0.0.1:$RILL_KAFKA_PORT_1/1 127.0.0.1:$RILL_KAFKA_PORT_2/2 127.0.0.1:$RILL_KAFKA_PORT_3/3"
[ "$external" = "$want" ] || die "EXTERNAL listener advertises [$external], expected [$want]"
say "EXTERNAL listener: $external"

# From inside the compose network (INTERNAL): the host's kcat, run in a container of the
# image with the host's /usr and loader cache mounted read-only (the image has no kcat).
network="${project}_default"
internal=$(timeout 60 docker run --rm --network "$network" --entrypoint /usr/bin/kcat \
    -v /usr:/usr:ro -v /usr/lib:/lib:ro -v /lib64:/lib64:ro -v /etc/ld.so.cache:/etc/ld.so.cache:ro \
    "$RILL_IMAGE" -b broker1:9092 -L -m 15 | grep -Eo 'broker [0-9]+ at [^ ]+' | sort | xargs)
want="broker 1 at broker1:9092 broker 2 at broker2:9092 broker 3 at broker3:9092"
[ "$internal" = "$want" ] || die "INTERNAL listener advertises [$internal], expected [$want]"
say "INTERNAL listener: $internal"

# --- produce through a broker stop and start ---------------------------------------------
topic=compose-events
timeout 30 "$rill" topic create "$topic" --partitions 3 --replication-factor 3 \
    --config min.insync.replicas=2 --controllers "$controllers" \
    || die "rill topic create failed"

say "producing (acks=all) while broker2 is stopped and started"
timeout 200 "$python" -u "$root/tests/docker/producer.py" --bootstrap "$bootstrap" \
    --topic "$topic" --acked "$work/acked" --progress "$work/progress" \
    --stop-file "$work/stop" --timeout 180 >"$work/producer.out" 2>"$work/producer.err" &
producer=$!

# The number of records acknowledged so far (the producer rewrites the file each second).
acked_now() { cat "$work/progress" 2>/dev/null || echo 0; }
# Polls until at least $1 records are acknowledged (deadline: $2 seconds).
wait_acked() {
    local deadline=$(($(date +%s) + $2))
    while [ "$(acked_now)" -lt "$1" ]; do
        kill -0 "$producer" 2>/dev/null || die "the producer exited early: $(tail -5 "$work/producer.err")"
        [ "$(date +%s)" -lt "$deadline" ] || die "only $(acked_now) of $1 records acknowledged after $2 s"
        sleep 0.2
    done
}
wait_acked 500 60
broker2=$(dc ps -q broker2)
say "docker stop broker2 at $(acked_now) acknowledged"
timeout 60 docker stop -t 40 "$broker2" >/dev/null
say "broker2 stopped at $(acked_now) acknowledged"
wait_acked $(($(acked_now) + 1000)) 60
say "docker start broker2 at $(acked_now) acknowledged"
timeout 30 docker start "$broker2" >/dev/null
wait_healthy 90
wait_acked $(($(acked_now) + 1000)) 60
touch "$work/stop"
wait "$producer" || die "the producer failed: $(tail -20 "$work/producer.err")"
cat "$work/producer.out"

# kcat from the host produces too (librdkafka's own producer, acks=all), after the
# restart; kcat exits non-zero when a message fails delivery. Its values join the
# acknowledged list checked below.
seq -f 'kcat-%g' 500 >"$work/kcat-values"
timeout 60 kcat -b "$bootstrap" -P -t "$topic" -X acks=all -X enable.idempotence=true \
    <"$work/kcat-values" || die "kcat produce failed"
cat "$work/kcat-values" >>"$work/acked"
say "kcat produced 500 records (acks=all)"
t_produce=$(($(date +%s) - t0))

# --- consume and compare -----------------------------------------------------------------
acked=$(wc -l <"$work/acked")
say "consuming $topic (at least $acked records)"
timeout 90 kcat -b "$bootstrap" -C -t "$topic" -e -q -f '%s\n' -X fetch.wait.max.ms=100 \
    >"$work/consumed" || die "kcat consume failed"
sort "$work/acked" >"$work/acked.sorted"
sort "$work/consumed" >"$work/consumed.sorted"
missing=$(comm -23 "$work/acked.sorted" <(uniq "$work/consumed.sorted") | wc -l)
consumed=$(wc -l <"$work/consumed")
duplicates=$(uniq -d "$work/consumed.sorted" | wc -l)
say "acknowledged $acked, consumed $consumed, duplicates $duplicates, missing $missing"
[ "$acked" -ge 2500 ] || die "only $acked records acknowledged"
[ "$missing" -eq 0 ] || die "$missing acknowledged records are missing, e.g. $(comm -23 "$work/acked.sorted" <(uniq "$work/consumed.sorted") | head -3 | xargs)"
t_end=$(($(date +%s) - t0))

say "timings: image ${t_image}s, up+healthy $((t_up - t_image))s, produce with stop/start $((t_produce - t_up))s, consume $((t_end - t_produce))s, total ${t_end}s"
echo "COMPOSE TEST OK acknowledged=$acked consumed=$consumed duplicates=$duplicates missing=0"
