"""What every script in tests/kafka/ shares: arguments, a bounded run, the driver protocol,
the records written and the exactly-once check.

Contract with the Rust driver (tests/tests/kafka_clients.rs):
- stdout carries the protocol, one line each: `PHASE <name>` (progress), `AWAIT <action>
  <json>` (the driver does <action>, e.g. kills a broker, then writes `DONE <json>` to
  stdin), and, last, the one-line JSON summary of a success. Anything else goes to stderr.
- exit 0 only after the summary; any mismatch prints `FAIL <script>: <why>` to stderr and
  exits 1; the watchdog exits 2 when the whole run exceeds --timeout. Exits are os._exit,
  so no client's shutdown (which may wait for a dead broker) can outlast the budget.
- every random choice comes from --seed (printed first; pass it again to replay).
"""

import argparse
import json
import os
import random
import select
import subprocess
import sys
import threading
import time
import traceback

_state = {"script": os.path.basename(sys.argv[0]), "phase": "start"}


def parse_args(description, extra=None, timeout=90.0):
    """The common arguments (--bootstrap, --seed, --timeout) plus the script's own
    (`extra(parser)`); prints the seed and starts the watchdog."""
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("--bootstrap", required=True, help="HOST:PORT[,HOST:PORT...]")
    parser.add_argument("--seed", type=int, default=None, help="replay a run")
    parser.add_argument("--timeout", type=float, default=timeout,
                        help="seconds the whole run may take (default %(default)s)")
    if extra:
        extra(parser)
    args = parser.parse_args()
    if args.seed is None:
        args.seed = random.SystemRandom().randrange(1 << 31)
    log(f"seed={args.seed} bootstrap={args.bootstrap} timeout={args.timeout}s")
    args.rng = random.Random(args.seed)
    args.deadline = time.monotonic() + args.timeout
    timer = threading.Timer(args.timeout, _expired, [args.timeout])
    timer.daemon = True
    timer.start()
    return args


def topic_args(topic, records, partitions=3):
    """The `extra` of parse_args for a script writing `records` records to one topic:
    --topic, --records, --partitions."""
    def extra(parser):
        parser.add_argument("--topic", default=topic)
        parser.add_argument("--records", type=int, default=records)
        parser.add_argument("--partitions", type=int, default=partitions)
    return extra


def _expired(seconds):
    log(f"FAIL {_state['script']}: timed out after {seconds:.0f}s in phase "
        f"'{_state['phase']}'")
    _exit(2)


def _exit(code):
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code)


def run(main):
    """Runs the script's `main`; an exception (a client error, a refused connection)
    becomes a FAIL line naming it, after its traceback."""
    try:
        main()
    except SystemExit:
        raise
    except BaseException as e:  # noqa: BLE001 - every error is the script's failure
        traceback.print_exc()
        fail(f"{type(e).__name__}: {e}")
    fail("the script ended without a summary")


def log(message):
    """A progress or diagnostic line (stderr: stdout is the protocol)."""
    print(f"[{_state['script']}] {message}", file=sys.stderr, flush=True)


def phase(name):
    """Announces a phase (the watchdog names the last one if it fires)."""
    _state["phase"] = name
    print(f"PHASE {name}", flush=True)


def fail(message):
    """A mismatch or an error: says why and exits 1 (from any thread)."""
    log(f"FAIL {_state['script']}: {message} (phase '{_state['phase']}')")
    _exit(1)


def check(condition, message):
    if not condition:
        fail(message)


def done(summary):
    """Prints the one-line JSON summary and exits 0."""
    summary = {"script": _state["script"], "ok": True, **summary}
    print(json.dumps(summary, sort_keys=True), flush=True)
    _exit(0)


def remaining(args):
    """Seconds left of the run's budget (at least a little, so calls stay bounded)."""
    return max(0.5, args.deadline - time.monotonic())


def await_driver(action, payload, timeout, tick=None):
    """Asks the driver to do `action` (prints `AWAIT action json`) and waits up to
    `timeout` s for its `DONE json` line on stdin, calling `tick()` about every 100 ms
    meanwhile (a producer keeps producing). Returns the driver's JSON."""
    phase(f"await-{action}")
    print(f"AWAIT {action} {json.dumps(payload, sort_keys=True)}", flush=True)
    end = time.monotonic() + timeout
    while True:
        left = end - time.monotonic()
        if left <= 0:
            fail(f"the driver did not answer '{action}' within {timeout:.0f}s")
        ready, _, _ = select.select([sys.stdin], [], [], min(0.1, left))
        if tick:
            tick()
        if not ready:
            continue
        line = sys.stdin.readline()
        if not line:
            fail(f"stdin closed while waiting for the driver to do '{action}'")
        word, _, rest = line.strip().partition(" ")
        check(word == "DONE", f"expected 'DONE <json>' from the driver, got {line!r}")
        return json.loads(rest or "{}")


def tool(argv, timeout, stdin=None):
    """Runs a command line tool (kcat) with a deadline; fails the script, with its
    stderr, unless it exits 0. Returns its stdout (bytes)."""
    log("running " + " ".join(argv))
    try:
        done_ = subprocess.run(argv, input=stdin, capture_output=True, timeout=timeout)
    except FileNotFoundError:
        fail(f"{argv[0]} is not installed: run scripts/setup.sh")
    except subprocess.TimeoutExpired:
        fail(f"{argv[0]} did not finish within {timeout:.0f}s")
    if done_.returncode != 0:
        fail(f"{argv[0]} exited {done_.returncode}: "
             f"{done_.stderr.decode(errors='replace')[-2000:]}")
    return done_.stdout


def records(rng, count, prefix):
    """`count` (key, value) byte pairs: keys are unique and carry their send index,
    values carry the seed's randomness (10 to 200 bytes)."""
    out = []
    for i in range(count):
        key = f"{prefix}-{i:06d}".encode()
        body = bytes(rng.getrandbits(8) for _ in range(rng.randint(10, 200)))
        out.append((key, key + b"=" + body.hex().encode()))
    return out


def index_of(key):
    """The send index a key from `records` carries."""
    return int(key.rsplit(b"-", 1)[1])


def verify_exactly_once(acked, consumed):
    """`acked` and `consumed` map partition -> [(offset, key, value)]: what the producer
    was told and what a read from the start to the high watermark returned. Fails
    unless each partition holds exactly the acknowledged records, once each, at their
    acknowledged offsets, in send order. Returns the number of records checked."""
    total = 0
    for partition in sorted(set(acked) | set(consumed)):
        want = sorted(acked.get(partition, []))
        got = consumed.get(partition, [])
        keys = [k for _, k, _ in got]
        dupes = len(keys) - len(set(keys))
        check(dupes == 0, f"partition {partition}: {dupes} duplicated records")
        missing = {k for _, k, _ in want} - set(keys)
        check(not missing, f"partition {partition}: {len(missing)} acknowledged records "
              f"missing, e.g. {sorted(missing)[:3]}")
        extra = set(keys) - {k for _, k, _ in want}
        check(not extra, f"partition {partition}: {len(extra)} records never "
              f"acknowledged, e.g. {sorted(extra)[:3]}")
        for i, (w, g) in enumerate(zip(want, got)):
            check(w == g, f"partition {partition}, record {i}: expected "
                  f"{_short(w)}, read {_short(g)}")
        indexes = [index_of(k) for _, k, _ in got]
        check(indexes == sorted(indexes),
              f"partition {partition}: records out of send order")
        total += len(got)
    return total


def round_trip_summary(args, acked, consumed, checked, **more):
    """The summary of a checked round trip of `args.records` records."""
    check(checked == args.records, f"read {checked} records, produced {args.records}")
    return {
        "seed": args.seed,
        "produced": args.records,
        "acknowledged": sum(len(v) for v in acked.values()),
        "consumed": checked,
        "partitions_used": len([p for p in consumed.values() if p]),
        **more,
    }


def _short(record):
    offset, key, value = record
    return f"(offset {offset}, key {key!r}, value {value[:24]!r}...)"
