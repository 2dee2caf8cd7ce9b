"""An idempotent confluent-kafka producer (acks=all) keeps producing while the driver
kill -9s partition 0's leader (AWAIT kill-leader). Afterwards the topic is read from the
start: every acknowledged record (delivery report without error) is there exactly once,
at its acknowledged offset, in send order per partition; nothing is duplicated (not even
records whose delivery failed), and nothing appears that was never sent."""

import time

import ck
from common import (await_driver, check, done, index_of, log, parse_args, phase, records,
                    remaining, run)


def main():
    args = parse_args(__doc__, lambda p: (
        p.add_argument("--topic", default="acked"),
        p.add_argument("--partitions", type=int, default=3),
        p.add_argument("--rate", type=int, default=1000, help="records per second"),
        p.add_argument("--before", type=int, default=2000,
                       help="acknowledged records before the kill"),
        p.add_argument("--after", type=float, default=5.0,
                       help="seconds of producing after the kill"),
    ), timeout=120.0)
    phase("create-topic")
    ck.create_topic(args.bootstrap, args.topic, args.partitions, 3, 30,
                    configs={"min.insync.replicas": "2"})
    client = ck.admin(args.bootstrap)
    leader_before = ck.wait_led(client, args.topic, args.partitions, 10).partitions[0].leader

    producer = ck.producer(args.bootstrap, delivery_timeout_ms=60000, request_timeout_ms=5000)
    recs = records(args.rng, args.rate * 120, "acked")
    acked, failed, sent = {}, {}, [0]
    started = time.monotonic()

    def report(err, msg):
        if err is not None:
            failed[msg.key()] = str(err)
        else:
            acked.setdefault(msg.partition(), []).append((msg.offset(), msg.key(), msg.value()))

    def tick():
        """Produces up to the paced count, then serves delivery reports."""
        due = min(len(recs), int((time.monotonic() - started) * args.rate))
        while sent[0] < due:
            key, value = recs[sent[0]]
            try:
                producer.produce(args.topic, key=key, value=value,
                                 partition=sent[0] % args.partitions, on_delivery=report)
            except BufferError:
                break
            sent[0] += 1
        producer.poll(0.05)

    def acked_count(partition=None):
        if partition is None:
            return sum(len(v) for v in acked.values())
        return len(acked.get(partition, []))

    phase("produce-before-kill")
    end = time.monotonic() + 30
    while acked_count() < args.before:
        check(time.monotonic() < end, f"only {acked_count()} records acknowledged in 30 s "
              f"before the kill")
        tick()
    answer = await_driver("kill-leader", {"topic": args.topic, "partition": 0}, 30, tick)
    killed = answer["killed"]
    log(f"the driver killed broker {killed} (partition 0's leader before: {leader_before})")

    phase("produce-after-kill")
    at_kill = acked_count(0)
    resumed = time.monotonic()
    while time.monotonic() - resumed < args.after or acked_count(0) < at_kill + 100:
        check(time.monotonic() < resumed + 40, f"partition 0: {acked_count(0) - at_kill} "
              f"records acknowledged in 40 s after the kill (100 expected)")
        tick()
    phase("flush")
    left = producer.flush(max(1, min(65, remaining(args) - 20)))
    check(left == 0, f"{left} records without a delivery report at the deadline")
    leader_after = ck.wait_led(client, args.topic, args.partitions, 10).partitions[0].leader
    check(leader_after != killed, f"partition 0 still led by the killed broker {killed}")

    phase("read-back")
    consumed = ck.read_all(args.bootstrap, args.topic, args.partitions,
                           max(1, remaining(args) - 5))
    sent_keys = {k for k, _ in recs[:sent[0]]}
    total = 0
    for partition in range(args.partitions):
        got = consumed.get(partition, [])
        keys = [k for _, k, _ in got]
        check(len(keys) == len(set(keys)), f"partition {partition}: "
              f"{len(keys) - len(set(keys))} duplicated records")
        stray = set(keys) - sent_keys
        check(not stray, f"partition {partition}: records never sent, e.g. {sorted(stray)[:3]}")
        at = {o: (k, v) for o, k, v in got}
        for offset, key, value in acked.get(partition, []):
            check(at.get(offset) == (key, value), f"partition {partition}: acknowledged "
                  f"{key!r} at offset {offset}, read {at.get(offset, ('nothing',))[0]!r}")
        unacked = set(keys) - {k for _, k, _ in acked.get(partition, [])}
        check(unacked <= set(failed), f"partition {partition}: records present, neither "
              f"acknowledged nor failed: {sorted(unacked - set(failed))[:3]}")
        indexes = [index_of(k) for k in keys]
        check(indexes == sorted(indexes), f"partition {partition}: out of send order")
        total += len(got)
    done({
        "seed": args.seed,
        "killed": killed,
        "leader_before": leader_before,
        "leader_after": leader_after,
        "sent": sent[0],
        "acknowledged": acked_count(),
        "acknowledged_after_kill": acked_count(0) - at_kill,
        "failed": len(failed),
        "consumed": total,
        "duplicates": 0,
        "lost": 0,
    })


if __name__ == "__main__":
    run(main)
