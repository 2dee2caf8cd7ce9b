"""confluent-kafka (librdkafka) helpers the scripts share: create a topic, produce with
delivery reports, read a topic from the start to its high watermark. Each call is
bounded by the `timeout` it is given and fails the script (common.fail) on an error."""

import time

from confluent_kafka import Consumer, KafkaError, KafkaException, Producer, TopicPartition
from confluent_kafka.admin import AdminClient, NewTopic

from common import check, fail, log


def admin(bootstrap):
    return AdminClient({"bootstrap.servers": bootstrap, "socket.timeout.ms": 10000})


def create_topic(bootstrap, name, partitions, replication_factor, timeout, configs=None):
    """Creates `name` through the admin API and waits until the metadata shows every
    partition with a leader."""
    client = admin(bootstrap)
    topic = NewTopic(name, num_partitions=partitions, replication_factor=replication_factor,
                     config=configs or {})
    futures = client.create_topics([topic], operation_timeout=timeout,
                                   request_timeout=timeout)
    try:
        futures[name].result(timeout=timeout + 5)
    except KafkaException as e:
        fail(f"create topic {name}: {e}")
    except Exception as e:  # the future itself timed out
        fail(f"create topic {name}: no answer within {timeout:.0f}s ({type(e).__name__} {e})")
    wait_led(client, name, partitions, timeout)
    log(f"created topic {name} ({partitions} partitions, RF {replication_factor})")


def wait_led(client, name, partitions, timeout):
    """Waits until the metadata shows `partitions` partitions of `name`, each with a
    leader; returns that metadata's TopicMetadata."""
    end = time.monotonic() + timeout
    last = "no metadata yet"
    while time.monotonic() < end:
        try:
            md = client.list_topics(topic=name, timeout=5).topics.get(name)
        except KafkaException as e:
            md, last = None, str(e)
        if md is not None and md.error is None:
            led = [p for p in md.partitions.values() if p.leader >= 0]
            if len(led) == partitions:
                return md
            last = f"{len(led)} of {partitions} partitions led"
        elif md is not None:
            last = str(md.error)
        time.sleep(0.2)
    fail(f"topic {name} not ready within {timeout:.0f}s ({last})")


def producer(bootstrap, **conf):
    base = {
        "bootstrap.servers": bootstrap,
        "enable.idempotence": True,
        "acks": "all",
        "linger.ms": 5,
        "delivery.timeout.ms": 30000,
    }
    base.update({k.replace("_", "."): v for k, v in conf.items()})
    return Producer(base)


def produce(bootstrap, topic, recs, timeout, **conf):
    """Produces `recs` [(key, value)] and waits for every delivery report. Returns
    (acked, failed): partition -> [(offset, key, value)], and the failed reports' errors."""
    p = producer(bootstrap, **conf)
    acked, failed = {}, []

    def report(err, msg):
        if err is not None:
            failed.append(str(err))
        else:
            acked.setdefault(msg.partition(), []).append((msg.offset(), msg.key(), msg.value()))

    end = time.monotonic() + timeout
    for key, value in recs:
        while True:
            try:
                p.produce(topic, key=key, value=value, on_delivery=report)
                break
            except BufferError:  # the local queue is full: serve delivery reports
                p.poll(0.1)
                check(time.monotonic() < end, f"produce to {topic}: queue still full")
        p.poll(0)
    left = p.flush(max(0.5, end - time.monotonic()))
    check(left == 0, f"produce to {topic}: {left} records still undelivered at the deadline")
    return acked, failed


def consumer(bootstrap, group, **conf):
    base = {
        "bootstrap.servers": bootstrap,
        "group.id": group,
        "enable.auto.commit": False,
        "auto.offset.reset": "earliest",
        "check.crcs": True,
    }
    base.update({k.replace("_", "."): v for k, v in conf.items()})
    return Consumer(base)


def read_all(bootstrap, topic, partitions, timeout):
    """Every record of `topic` from offset 0 to each partition's high watermark (as of
    the call), by manual assignment: partition -> [(offset, key, value)]."""
    c = consumer(bootstrap, f"reader-{topic}")
    end = time.monotonic() + timeout
    highs = {}
    for p in range(partitions):
        low, high = c.get_watermark_offsets(TopicPartition(topic, p), timeout=10)
        check(low == 0, f"{topic}/{p}: log start offset {low}, expected 0")
        highs[p] = high
    out = {p: [] for p in range(partitions)}
    todo = {p for p, h in highs.items() if h > 0}
    c.assign([TopicPartition(topic, p, 0) for p in sorted(todo)])
    while todo:
        check(time.monotonic() < end, f"read {topic}: partitions {sorted(todo)} not read "
              f"to their high watermarks {highs} within {timeout:.0f}s")
        for m in c.consume(num_messages=1000, timeout=0.5):
            if m.error():
                if m.error().code() == KafkaError._PARTITION_EOF:
                    continue
                fail(f"read {topic}: {m.error()}")
            if m.offset() < highs[m.partition()]:
                out[m.partition()].append((m.offset(), m.key(), m.value()))
            if m.offset() + 1 >= highs[m.partition()]:
                todo.discard(m.partition())
    c.close()
    return out
