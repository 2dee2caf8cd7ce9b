"""confluent-kafka (librdkafka): create a topic with the admin API, produce keyed records
with the idempotent producer (acks=all), read them back, and check each partition holds
exactly the acknowledged records, once each, at their offsets, in send order."""

import ck
from common import (check, done, parse_args, phase, records, remaining, round_trip_summary,
                    run, topic_args, verify_exactly_once)


def main():
    args = parse_args(__doc__, topic_args("confluent-roundtrip", 10000))
    phase("create-topic")
    ck.create_topic(args.bootstrap, args.topic, args.partitions, 3, 30)
    phase("produce")
    recs = records(args.rng, args.records, "confluent")
    acked, failed = ck.produce(args.bootstrap, args.topic, recs, remaining(args))
    check(not failed, f"{len(failed)} deliveries failed, e.g. {failed[:3]}")
    phase("consume")
    consumed = ck.read_all(args.bootstrap, args.topic, args.partitions, remaining(args))
    done(round_trip_summary(args, acked, consumed, verify_exactly_once(acked, consumed)))


if __name__ == "__main__":
    run(main)
