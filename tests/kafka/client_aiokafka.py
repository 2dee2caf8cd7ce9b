"""aiokafka (asyncio; it speaks only older, non-flexible protocol versions): create a
topic with its admin client (confluent-kafka's if aiokafka's is refused, said in the
summary), produce keyed records with its idempotent producer (acks=all), consume them as
the one member of a consumer group committing after every batch, and check each
partition holds exactly the acknowledged records, once each, in send order, and that a
new consumer of the group sees the committed offsets at the high watermarks."""

import asyncio
import time

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient, NewTopic

import ck
from common import (check, done, fail, log, parse_args, phase, records, remaining,
                    round_trip_summary, run, topic_args, verify_exactly_once)


async def create_topic(args):
    """Creates the topic with aiokafka's admin client; returns which client did it."""
    admin = AIOKafkaAdminClient(bootstrap_servers=args.bootstrap, request_timeout_ms=20000)
    try:
        await asyncio.wait_for(admin.start(), 20)
        answer = await asyncio.wait_for(admin.create_topics(
            [NewTopic(args.topic, args.partitions, 3)], timeout_ms=20000), 25)
        errors = [e for e in getattr(answer, "topic_errors", []) if e[1] != 0]
        check(not errors, f"create topic {args.topic} refused: {errors}")
        used = "aiokafka"
    except Exception as e:  # noqa: BLE001 - reported, then confluent's admin tries
        log(f"aiokafka's admin client could not create the topic ({type(e).__name__}: "
            f"{e}); using confluent-kafka's")
        used = "confluent-kafka"
    finally:
        await asyncio.wait_for(admin.close(), 10)
    if used == "confluent-kafka":
        ck.create_topic(args.bootstrap, args.topic, args.partitions, 3, 30)
    else:
        ck.wait_led(ck.admin(args.bootstrap), args.topic, args.partitions, 30)
    return used


async def produce(args, recs):
    producer = AIOKafkaProducer(bootstrap_servers=args.bootstrap, enable_idempotence=True,
                                acks="all", linger_ms=5, request_timeout_ms=10000)
    await asyncio.wait_for(producer.start(), 20)
    futures = [await producer.send(args.topic, value=v, key=k) for k, v in recs]
    results = await asyncio.wait_for(
        asyncio.gather(*futures, return_exceptions=True), remaining(args))
    await asyncio.wait_for(producer.stop(), 10)
    acked, failed = {}, []
    for (key, value), md in zip(recs, results):
        if isinstance(md, BaseException):
            failed.append(f"{type(md).__name__}: {md}")
        else:
            acked.setdefault(md.partition, []).append((md.offset, key, value))
    check(not failed, f"{len(failed)} sends failed, e.g. {failed[:3]}")
    return acked


def group_consumer(args, group):
    return AIOKafkaConsumer(bootstrap_servers=args.bootstrap, group_id=group,
                            enable_auto_commit=False, auto_offset_reset="earliest",
                            check_crcs=True, session_timeout_ms=10000,
                            heartbeat_interval_ms=1000, request_timeout_ms=20000)


async def consume(args, group):
    """Reads the topic to its high watermarks as a group member, committing after each
    batch. Returns (partition -> records, high watermarks)."""
    consumer = group_consumer(args, group)
    await asyncio.wait_for(consumer.start(), 20)
    consumer.subscribe([args.topic])
    tps = [TopicPartition(args.topic, p) for p in range(args.partitions)]
    highs = await asyncio.wait_for(consumer.end_offsets(tps), 20)
    consumed = {p: [] for p in range(args.partitions)}
    todo = {tp for tp in tps if highs[tp] > 0}
    batches = 0
    while todo:
        check(time.monotonic() < args.deadline - 5, f"partitions {sorted(todo)} not read to "
              f"{highs} in time (assignment {consumer.assignment()})")
        got = await consumer.getmany(timeout_ms=500, max_records=5000)
        for tp, batch in got.items():
            consumed[tp.partition].extend((r.offset, r.key, r.value) for r in batch)
        if got:
            await asyncio.wait_for(consumer.commit(), 20)
            batches += 1
        for tp in list(todo):
            if tp in consumer.assignment() and await consumer.position(tp) >= highs[tp]:
                todo.discard(tp)
    await asyncio.wait_for(consumer.stop(), 20)
    log(f"consumed in {batches} committed batches")
    return consumed, highs


async def committed(args, group, tps):
    consumer = group_consumer(args, group)
    await asyncio.wait_for(consumer.start(), 20)
    try:
        return {tp: await asyncio.wait_for(consumer.committed(tp), 20) for tp in tps}
    finally:
        await asyncio.wait_for(consumer.stop(), 20)


async def main_async(args):
    phase("create-topic")
    admin = await create_topic(args)
    phase("produce")
    recs = records(args.rng, args.records, "aiokafka")
    acked = await produce(args, recs)
    phase("consume-in-group")
    group = f"aiokafka-{args.seed}"
    consumed, highs = await consume(args, group)
    checked = verify_exactly_once(acked, consumed)
    phase("committed-offsets")
    offsets = await committed(args, group, list(highs))
    for tp, high in highs.items():
        check(offsets[tp] == high, f"{tp}: committed offset {offsets[tp]}, high watermark "
              f"{high}")
    done(round_trip_summary(args, acked, consumed, checked, admin=admin,
                            committed=sum(offsets.values())))


def main():
    args = parse_args(__doc__, topic_args("aiokafka-roundtrip", 10000))
    try:
        asyncio.run(main_async(args))
    except asyncio.TimeoutError:
        fail("an aiokafka call did not finish in time")


if __name__ == "__main__":
    run(main)
