"""Kafka-protocol benchmark with confluent-kafka (librdkafka): produce and consume
throughput of 1 KiB records, and end-to-end latency at a moderate rate with the client's
default settings. Prints figures; asserts nothing but that every record arrived.

Usage: bench_confluent.py --bootstrap HOST:PORT --topic T --acks all --records N
"""
import argparse
import json
import statistics
import sys
import time

from confluent_kafka import Consumer, Producer, TopicPartition


def produce_throughput(bootstrap, topic, acks, n, size):
    p = Producer({"bootstrap.servers": bootstrap, "acks": acks, "enable.idempotence": acks == "all"})
    payload = b"x" * size
    failed = []

    def cb(err, _msg):
        if err is not None:
            failed.append(err)

    start = time.perf_counter()
    for i in range(n):
        while True:
            try:
                p.produce(topic, payload, key=str(i % 1000).encode(), callback=cb)
                break
            except BufferError:
                p.poll(0.01)
        if i % 1000 == 0:
            p.poll(0)
    left = p.flush(120)
    elapsed = time.perf_counter() - start
    if left or failed:
        sys.exit(f"FAIL bench: {left} undelivered, {len(failed)} failed: {failed[:3]}")
    return n / elapsed, n * size / elapsed / 2**20


def consume_throughput(bootstrap, topic, partitions, n):
    c = Consumer({"bootstrap.servers": bootstrap, "group.id": f"bench-{time.time()}",
                  "enable.auto.commit": False, "auto.offset.reset": "earliest"})
    c.assign([TopicPartition(topic, p, 0) for p in range(partitions)])
    got = 0
    start = time.perf_counter()
    deadline = start + 120
    while got < n and time.perf_counter() < deadline:
        for m in c.consume(10000, 1.0):
            if m.error() is None:
                got += 1
    elapsed = time.perf_counter() - start
    c.close()
    if got < n:
        sys.exit(f"FAIL bench: consumed {got} of {n}")
    return n / elapsed, n * 1024 / elapsed / 2**20


def latency(bootstrap, topic, partitions, acks, rate, seconds):
    c = Consumer({"bootstrap.servers": bootstrap, "group.id": f"lat-{time.time()}",
                  "enable.auto.commit": False, "auto.offset.reset": "latest"})
    c.assign([TopicPartition(topic, p, -1) for p in range(partitions)])  # OFFSET_END
    # Let the consumer resolve its positions before producing.
    warm = time.perf_counter() + 3
    while time.perf_counter() < warm:
        c.consume(100, 0.2)
    p = Producer({"bootstrap.servers": bootstrap, "acks": acks})
    n = rate * seconds
    samples = []
    interval = 1.0 / rate
    next_send = time.perf_counter()
    sent = 0
    while sent < n or len(samples) < n:
        now = time.perf_counter()
        if sent < n and now >= next_send:
            p.produce(topic, json.dumps({"t": time.perf_counter()}).encode().ljust(1024))
            p.poll(0)
            sent += 1
            next_send += interval
        for m in c.consume(1000, 0.0005):
            if m.error() is None:
                samples.append(time.perf_counter() - json.loads(m.value().decode().strip())["t"])
        if now > next_send + 60:
            break
    p.flush(10)
    c.close()
    samples.sort()
    if len(samples) < n:
        sys.exit(f"FAIL bench: latency run got {len(samples)} of {n}")
    q = lambda f: samples[min(len(samples) - 1, int(f * len(samples)))] * 1000
    return q(0.50), q(0.99), statistics.mean(samples) * 1000


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--bootstrap", required=True)
    ap.add_argument("--topic", required=True)
    ap.add_argument("--partitions", type=int, default=3)
    ap.add_argument("--acks", default="all")
    ap.add_argument("--records", type=int, default=200_000)
    ap.add_argument("--rate", type=int, default=1000)
    ap.add_argument("--seconds", type=int, default=10)
    a = ap.parse_args()
    prod, prod_mib = produce_throughput(a.bootstrap, a.topic, a.acks, a.records, 1024)
    cons, cons_mib = consume_throughput(a.bootstrap, a.topic, a.partitions, a.records)
    p50, p99, mean = latency(a.bootstrap, a.topic, a.partitions, a.acks, a.rate, a.seconds)
    print(json.dumps({
        "records": a.records, "acks": a.acks,
        "produce_msgs_per_s": round(prod), "produce_mib_per_s": round(prod_mib, 1),
        "consume_msgs_per_s": round(cons), "consume_mib_per_s": round(cons_mib, 1),
        "e2e_rate_per_s": a.rate, "e2e_p50_ms": round(p50, 2), "e2e_p99_ms": round(p99, 2),
        "e2e_mean_ms": round(mean, 2),
    }))


if __name__ == "__main__":
    main()
