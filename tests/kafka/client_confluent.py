"""confluent-kafka (librdkafka): create a topic with the admin API, produce keyed records
with the idempotent producer (acks=all), read them back, and check each partition holds
exactly the acknowledged records, once each, at their offsets, in send order."""

import ck
from common import check, done, run, parse_args, phase, records, remaining, verify_exactly_once


def main():
    args = parse_args(__doc__, lambda p: (
        p.add_argument("--topic", default="confluent-roundtrip"),
        p.add_argument("--records", type=int, default=10000),
        p.add_argument("--partitions", type=int, default=3),
    ))
    phase("create-topic")
    ck.create_topic(args.bootstrap, args.topic, args.partitions, 3, 30)
    phase("produce")
    recs = records(args.rng, args.records, "confluent")
    acked, failed = ck.produce(args.bootstrap, args.topic, recs, remaining(args))
    check(not failed, f"{len(failed)} deliveries failed, e.g. {failed[:3]}")
    phase("consume")
    consumed = ck.read_all(args.bootstrap, args.topic, args.partitions, remaining(args))
    checked = verify_exactly_once(acked, consumed)
    check(checked == args.records, f"read {checked} records, produced {args.records}")
    done({
        "seed": args.seed,
        "produced": len(recs),
        "acknowledged": sum(len(v) for v in acked.values()),
        "consumed": checked,
        "partitions_used": len([p for p in consumed.values() if p]),
    })


if __name__ == "__main__":
    run(main)
