"""A real consumer group for `rill group` (driven by tests/tests/cli.rs).

1. produce 50 records to each of the 2 partitions of --topic (created by the driver);
2. member A (confluent-kafka) joins --group, gets both partitions, commits offsets
   30 (partition 0) and 20 (partition 1) and stays live: AWAIT live (the driver
   describes the group and checks that resets and deletes are refused);
3. A leaves the group (close): AWAIT left (the driver resets the offsets);
4. member B joins the same group and reads everything from the committed offsets
   (which the driver moved to --expect-p0 / --expect-p1) to the end.

Summary: the offsets B started at and how many records it read.
"""

import time

from confluent_kafka import TopicPartition

import ck
from common import await_driver, check, done, log, parse_args, phase, remaining, run

PER_PARTITION = 50


def extra(parser):
    parser.add_argument("--topic", required=True)
    parser.add_argument("--group", required=True)


def wait_assigned(c, topic, args):
    end = time.monotonic() + min(30, remaining(args))
    while time.monotonic() < end:
        c.poll(0.1)
        if {tp.partition for tp in c.assignment() if tp.topic == topic} == {0, 1}:
            return
    check(False, "member was not assigned both partitions within 30 s")


def main():
    args = parse_args("a consumer group for rill group", extra, timeout=60)
    phase("produce")
    p = ck.producer(args.bootstrap)
    for part in (0, 1):
        for i in range(PER_PARTITION):
            p.produce(args.topic, key=f"k{part}-{i}".encode(), value=f"v{i}".encode(),
                      partition=part)
    check(p.flush(remaining(args)) == 0, "records undelivered")

    phase("member-a")
    a = ck.consumer(args.bootstrap, args.group, client_id="cli-member-a")
    a.subscribe([args.topic])
    wait_assigned(a, args.topic, args)
    a.commit(offsets=[TopicPartition(args.topic, 0, 30), TopicPartition(args.topic, 1, 20)],
             asynchronous=False)
    log("member A committed 30 / 20")
    await_driver("live", {"group": args.group}, remaining(args), tick=lambda: a.poll(0))
    a.close()
    log("member A left")
    answer = await_driver("left", {"group": args.group}, remaining(args))

    phase("member-b")
    b = ck.consumer(args.bootstrap, args.group, client_id="cli-member-b")
    b.subscribe([args.topic])
    want = 2 * PER_PARTITION - answer["p0"] - answer["p1"]
    first, read = {}, 0
    end = time.monotonic() + min(30, remaining(args))
    while read < want and time.monotonic() < end:
        m = b.poll(0.2)
        if m is None or m.error():
            continue
        first.setdefault(m.partition(), m.offset())
        read += 1
    b.close()
    check(read == want, f"member B read {read} records, expected {want}")
    done({"first_p0": first.get(0, -1), "first_p1": first.get(1, -1), "read": read})


run(main)
