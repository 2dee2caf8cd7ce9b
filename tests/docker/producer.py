"""The compose test's producer: confluent-kafka (librdkafka) with acks=all and
idempotence, writing values r-00000000, r-00000001, ... at a steady rate until
--stop-file exists, then flushing. Only records whose delivery report says success count
as acknowledged: they are written, one a line, to --acked at the end; --progress holds
the running count (rewritten about every 200 ms) so the driver can pace its faults.
Prints a one-line JSON summary; exits 1 if the run exceeds --timeout."""

import argparse
import json
import os
import sys
import time

from confluent_kafka import Producer

RATE = 500  # records per second


def main():
    p = argparse.ArgumentParser(description=__doc__)
    for a in ("--bootstrap", "--topic", "--acked", "--progress", "--stop-file"):
        p.add_argument(a, required=True)
    p.add_argument("--timeout", type=float, default=180)
    args = p.parse_args()
    deadline = time.monotonic() + args.timeout

    acked, errors = [], {}

    def report(err, msg):
        if err is None:
            acked.append(msg.value().decode())
        else:
            errors[err.name()] = errors.get(err.name(), 0) + 1

    producer = Producer({
        "bootstrap.servers": args.bootstrap,
        "acks": "all",
        "enable.idempotence": True,
        "linger.ms": 5,
        "message.timeout.ms": 60000,
    })

    def progress():
        tmp = args.progress + ".tmp"
        with open(tmp, "w") as f:
            f.write(f"{len(acked)}\n")
        os.replace(tmp, args.progress)

    sent, start, last = 0, time.monotonic(), 0.0
    while not os.path.exists(args.stop_file):
        now = time.monotonic()
        if now > deadline:
            sys.exit(f"producer: still running after {args.timeout} s")
        while sent < (now - start) * RATE:
            producer.produce(args.topic, value=f"r-{sent:08d}".encode(), on_delivery=report)
            sent += 1
        producer.poll(0.01)
        if now - last > 0.2:
            progress()
            last = now
    left = producer.flush(max(1.0, deadline - time.monotonic()))
    progress()
    with open(args.acked, "w") as f:
        f.writelines(v + "\n" for v in acked)
    print(json.dumps({"sent": sent, "acknowledged": len(acked), "failed": errors,
                      "unflushed": left}, sort_keys=True))
    if left:
        sys.exit(f"producer: {left} records neither delivered nor failed at the deadline")


if __name__ == "__main__":
    main()
