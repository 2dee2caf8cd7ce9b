"""kafka-python 3.0: create a topic with its admin client, produce keyed records with its
idempotent producer (acks=all), read them back by assignment, and check each partition
holds exactly the acknowledged records, once each, at their offsets, in send order."""

import time

from kafka import KafkaConsumer, KafkaProducer, TopicPartition
from kafka.admin import KafkaAdminClient

from common import (check, done, fail, log, parse_args, phase, records, remaining,
                    round_trip_summary, run, topic_args, verify_exactly_once)


def main():
    args = parse_args(__doc__, topic_args("kafka-python-roundtrip", 10000))
    servers = args.bootstrap.split(",")

    phase("create-topic")
    admin = KafkaAdminClient(bootstrap_servers=servers, request_timeout_ms=20000)
    spec = {"num_partitions": args.partitions, "replication_factor": 3}
    try:
        admin.create_topics({args.topic: spec}, timeout_ms=20000, wait_for_metadata=True)
    except Exception as e:
        fail(f"create topic {args.topic}: {type(e).__name__}: {e}")
    admin.close()
    log(f"created topic {args.topic}")

    phase("produce")
    producer = KafkaProducer(bootstrap_servers=servers, enable_idempotence=True, acks="all",
                             linger_ms=5, request_timeout_ms=10000,
                             delivery_timeout_ms=30000, max_block_ms=20000)
    recs = records(args.rng, args.records, "kafka-python")
    futures = [(k, v, producer.send(args.topic, key=k, value=v)) for k, v in recs]
    producer.flush(timeout=remaining(args))
    acked, failed = {}, []
    for key, value, future in futures:
        try:
            md = future.get(timeout=1)
        except Exception as e:
            failed.append(f"{type(e).__name__}: {e}")
            continue
        acked.setdefault(md.partition, []).append((md.offset, key, value))
    check(not failed, f"{len(failed)} sends failed, e.g. {failed[:3]}")
    producer.close(timeout=5)

    phase("consume")
    consumer = KafkaConsumer(bootstrap_servers=servers, enable_auto_commit=False,
                             auto_offset_reset="earliest", check_crcs=True,
                             request_timeout_ms=20000)
    tps = [TopicPartition(args.topic, p) for p in range(args.partitions)]
    consumer.assign(tps)
    consumer.seek_to_beginning(*tps)
    highs = consumer.end_offsets(tps, timeout_ms=20000)
    consumed = {p: [] for p in range(args.partitions)}
    todo = {tp for tp in tps if highs[tp] > 0}
    while todo:
        check(time.monotonic() < args.deadline - 1, f"partitions {sorted(todo)} not read to "
              f"their high watermarks in time")
        for tp, batch in consumer.poll(timeout_ms=500, max_records=5000).items():
            for r in batch:
                if r.offset < highs[tp]:
                    consumed[tp.partition].append((r.offset, r.key, r.value))
            if consumer.position(tp) >= highs[tp]:
                todo.discard(tp)
    consumer.close(autocommit=False)
    done(round_trip_summary(args, acked, consumed, verify_exactly_once(acked, consumed)))


if __name__ == "__main__":
    run(main)
