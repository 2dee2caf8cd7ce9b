"""confluent-kafka (librdkafka) AdminClient against rill: describe_cluster, create_partitions,
describe_configs, incremental_alter_configs, alter_configs (replacing) and delete_records,
checking each answer's values, sources and refusals. See check_* below for what each
phase asserts; the summary names the topic and the counts checked."""

import time

from confluent_kafka import (Consumer, KafkaError, KafkaException, Producer,
                             TopicPartition)
from confluent_kafka.admin import (AdminClient, AlterConfigOpType, ConfigEntry,
                                   ConfigResource, ConfigSource, NewPartitions, NewTopic,
                                   ResourceType)

from common import check, done, fail, log, parse_args, phase, run

TIMEOUT = 15


def result(future, what):
    try:
        return future.result(timeout=TIMEOUT + 5)
    except KafkaException as e:
        fail(f"{what}: {e}")
    except Exception as e:  # the future itself timed out
        fail(f"{what}: no answer ({type(e).__name__} {e})")


def refusal(future, what):
    """The KafkaError of a call that must fail."""
    try:
        future.result(timeout=TIMEOUT + 5)
    except KafkaException as e:
        return e.args[0]
    fail(f"{what}: succeeded, expected a refusal")


def topic_configs(client, topic, keys=None):
    res = ConfigResource(ResourceType.TOPIC, topic, set_config=None)
    return result(client.describe_configs([res], request_timeout=TIMEOUT)[res],
                  f"describe_configs {topic}")


def incremental(client, resource_type, name, ops, validate_only=False):
    res = ConfigResource(resource_type, name, incremental_configs=[
        ConfigEntry(k, v, incremental_operation=op) for k, op, v in ops])
    return client.incremental_alter_configs([res], validate_only=validate_only,
                                            request_timeout=TIMEOUT)[res]


def wait_partitions(client, topic, count):
    end = time.monotonic() + TIMEOUT
    while time.monotonic() < end:
        md = client.list_topics(topic=topic, timeout=5).topics.get(topic)
        if md and md.error is None and len(md.partitions) == count and all(
                p.leader >= 0 for p in md.partitions.values()):
            return
        time.sleep(0.2)
    fail(f"{topic} did not reach {count} led partitions")


def check_cluster(client, bootstrap):
    """describe_cluster: a cluster id, a controller among the brokers, and the brokers'
    Kafka listeners include every bootstrap address."""
    c = result(client.describe_cluster(request_timeout=TIMEOUT), "describe_cluster")
    check(c.cluster_id, f"no cluster id: {c}")
    ids = {n.id for n in c.nodes}
    check(c.controller is not None and c.controller.id in ids,
          f"controller {c.controller} not among brokers {ids}")
    addrs = {f"{n.host}:{n.port}" for n in c.nodes}
    for b in bootstrap.split(","):
        check(b in addrs, f"bootstrap {b} not among described brokers {addrs}")
    return len(c.nodes)


def check_partitions(client, topic):
    """create_partitions: 1 -> 3 applied; validate_only to 5 changes nothing; shrinking
    is INVALID_PARTITIONS; a manual assignment is INVALID_REQUEST."""
    f = client.create_partitions([NewPartitions(topic, 3)], request_timeout=TIMEOUT)
    result(f[topic], "create_partitions 3")
    wait_partitions(client, topic, 3)
    f = client.create_partitions([NewPartitions(topic, 5)], validate_only=True,
                                 request_timeout=TIMEOUT)
    result(f[topic], "create_partitions 5 validate_only")
    time.sleep(0.5)
    n = len(client.list_topics(topic=topic, timeout=5).topics[topic].partitions)
    check(n == 3, f"validate_only changed the count to {n}")
    e = refusal(client.create_partitions([NewPartitions(topic, 2)], request_timeout=TIMEOUT)[topic],
                "shrink to 2")
    check(e.code() == KafkaError.INVALID_PARTITIONS, f"shrink: {e}")
    e = refusal(client.create_partitions([NewPartitions(topic, 4, [[1, 2, 3]])],
                                         request_timeout=TIMEOUT)[topic], "manual assignment")
    check(e.code() == KafkaError.INVALID_REQUEST, f"manual assignment: {e}")


def check_describe(client, topic):
    """describe_configs: every declared topic key (at least retention.ms, cleanup.policy,
    segment.bytes, min.insync.replicas) with its default value, DEFAULT_CONFIG, not
    read-only or sensitive; an unknown topic is UNKNOWN_TOPIC_OR_PARTITION; broker 1's
    configs include log.retention.ms and auto.create.topics.enable."""
    cfg = topic_configs(client, topic)
    for key, default in [("retention.ms", "604800000"), ("cleanup.policy", "delete"),
                         ("segment.bytes", "1073741824"), ("min.insync.replicas", "1")]:
        e = cfg.get(key)
        check(e is not None, f"{key} missing from {sorted(cfg)}")
        check(e.value == default and e.source == ConfigSource.DEFAULT_CONFIG.value
              and e.is_default, f"{key}: {e.value} source {e.source}")
        check(not e.is_read_only and not e.is_sensitive, f"{key}: read-only or sensitive")
    missing = ConfigResource(ResourceType.TOPIC, topic + "-missing")
    e = refusal(client.describe_configs([missing], request_timeout=TIMEOUT)[missing],
                "describe unknown topic")
    check(e.code() == KafkaError.UNKNOWN_TOPIC_OR_PART, f"unknown topic: {e}")
    broker = ConfigResource(ResourceType.BROKER, "1")
    b = result(client.describe_configs([broker], request_timeout=TIMEOUT)[broker],
               "describe broker 1")
    for key in ("log.retention.ms", "auto.create.topics.enable"):
        check(key in b, f"broker 1: {key} missing from {sorted(b)}")
    return len(cfg), len(b)


def check_alter(client, topic):
    """incremental_alter_configs: SET shows as DYNAMIC_TOPIC_CONFIG; validate_only changes
    nothing; APPEND on cleanup.policy gives delete,compact and SUBTRACT takes it back;
    APPEND on retention.ms is INVALID_REQUEST; an unknown key or a bad value is
    INVALID_CONFIG; DELETE goes back to the default. alter_configs (replacing) sets the
    keys given and removes the others. Broker 1: SET log.retention.ms shows as
    DYNAMIC_BROKER_CONFIG, DELETE restores DEFAULT_CONFIG."""
    T = ResourceType.TOPIC
    result(incremental(client, T, topic, [("retention.ms", AlterConfigOpType.SET, "3600000")])
           , "SET retention.ms")
    e = topic_configs(client, topic)["retention.ms"]
    check(e.value == "3600000" and e.source == ConfigSource.DYNAMIC_TOPIC_CONFIG.value,
          f"after SET: {e.value} source {e.source}")
    result(incremental(client, T, topic, [("retention.ms", AlterConfigOpType.SET, "1")],
                       validate_only=True), "validate_only SET")
    check(topic_configs(client, topic)["retention.ms"].value == "3600000",
          "validate_only changed retention.ms")
    result(incremental(client, T, topic, [("cleanup.policy", AlterConfigOpType.APPEND,
                                           "compact")]), "APPEND cleanup.policy")
    v = topic_configs(client, topic)["cleanup.policy"].value
    check(v == "delete,compact", f"after APPEND cleanup.policy is {v!r}")
    result(incremental(client, T, topic, [("cleanup.policy", AlterConfigOpType.SUBTRACT,
                                           "compact")]), "SUBTRACT cleanup.policy")
    v = topic_configs(client, topic)["cleanup.policy"].value
    check(v == "delete", f"after SUBTRACT cleanup.policy is {v!r}")
    e = refusal(incremental(client, T, topic, [("retention.ms", AlterConfigOpType.APPEND, "5")]),
                "APPEND retention.ms")
    check(e.code() == KafkaError.INVALID_REQUEST, f"APPEND on a non-list: {e}")
    e = refusal(incremental(client, T, topic, [("no.such.key", AlterConfigOpType.SET, "1")]),
                "unknown key")
    check(e.code() == KafkaError.INVALID_CONFIG and "no.such.key" in e.str(), f"unknown key: {e}")
    e = refusal(incremental(client, T, topic, [("retention.ms", AlterConfigOpType.SET, "soon")]),
                "bad value")
    check(e.code() == KafkaError.INVALID_CONFIG, f"bad value: {e}")
    result(incremental(client, T, topic, [("retention.ms", AlterConfigOpType.DELETE, None)]),
           "DELETE retention.ms")
    e = topic_configs(client, topic)["retention.ms"]
    check(e.value == "604800000" and e.source == ConfigSource.DEFAULT_CONFIG.value,
          f"after DELETE: {e.value} source {e.source}")
    # Replacing: retention.ms set, then alter_configs with only segment.ms.
    result(incremental(client, T, topic, [("retention.ms", AlterConfigOpType.SET, "7200000")]),
           "SET retention.ms again")
    res = ConfigResource(T, topic, set_config={"segment.ms": "3600000"})
    result(client.alter_configs([res], request_timeout=TIMEOUT)[res], "alter_configs")
    cfg = topic_configs(client, topic)
    check(cfg["segment.ms"].value == "3600000"
          and cfg["segment.ms"].source == ConfigSource.DYNAMIC_TOPIC_CONFIG.value,
          f"alter_configs: segment.ms {cfg['segment.ms'].value}")
    check(cfg["retention.ms"].source == ConfigSource.DEFAULT_CONFIG.value,
          f"alter_configs kept retention.ms={cfg['retention.ms'].value}")
    B = ResourceType.BROKER
    result(incremental(client, B, "1", [("log.retention.ms", AlterConfigOpType.SET,
                                         "86400000")]), "SET broker log.retention.ms")
    broker = ConfigResource(B, "1")
    e = result(client.describe_configs([broker], request_timeout=TIMEOUT)[broker],
               "describe broker 1")["log.retention.ms"]
    check(e.value == "86400000" and e.source == ConfigSource.DYNAMIC_BROKER_CONFIG.value,
          f"broker SET: {e.value} source {e.source}")
    result(incremental(client, B, "1", [("log.retention.ms", AlterConfigOpType.DELETE, None)]),
           "DELETE broker log.retention.ms")
    e = result(client.describe_configs([broker], request_timeout=TIMEOUT)[broker],
               "describe broker 1")["log.retention.ms"]
    check(e.source == ConfigSource.DEFAULT_CONFIG.value, f"broker DELETE: source {e.source}")


def check_delete_records(client, bootstrap, topic):
    """delete_records on partition 0 holding 10 records: offset 4 answers low watermark
    4 and the earliest offset becomes 4; offset 100 is OFFSET_OUT_OF_RANGE; -1 (the high
    watermark) answers 10."""
    p = Producer({"bootstrap.servers": bootstrap, "acks": "all"})
    for i in range(10):
        p.produce(topic, value=f"r{i}".encode(), partition=0)
    check(p.flush(TIMEOUT) == 0, "records not delivered")
    tp = TopicPartition(topic, 0, 4)
    got = result(client.delete_records([tp], request_timeout=TIMEOUT)[tp], "delete_records 4")
    check(got.low_watermark == 4, f"low watermark {got.low_watermark}, expected 4")
    c = Consumer({"bootstrap.servers": bootstrap, "group.id": "admin-confluent-unused"})
    low, high = c.get_watermark_offsets(TopicPartition(topic, 0), timeout=TIMEOUT)
    c.close()
    check((low, high) == (4, 10), f"watermarks after delete ({low}, {high})")
    tp = TopicPartition(topic, 0, 100)
    e = refusal(client.delete_records([tp], request_timeout=TIMEOUT)[tp], "delete_records 100")
    check(e.code() == KafkaError.OFFSET_OUT_OF_RANGE, f"above the high watermark: {e}")
    tp = TopicPartition(topic, 0, -1)
    got = result(client.delete_records([tp], request_timeout=TIMEOUT)[tp], "delete_records -1")
    check(got.low_watermark == 10, f"-1: low watermark {got.low_watermark}, expected 10")


def main():
    args = parse_args(__doc__)
    client = AdminClient({"bootstrap.servers": args.bootstrap, "socket.timeout.ms": 10000})
    topic = f"admin-confluent-{args.seed}"
    phase("describe-cluster")
    brokers = check_cluster(client, args.bootstrap)
    phase("create-topic")
    f = client.create_topics([NewTopic(topic, num_partitions=1, replication_factor=3)],
                             operation_timeout=TIMEOUT, request_timeout=TIMEOUT)
    result(f[topic], f"create_topics {topic}")
    wait_partitions(client, topic, 1)
    phase("create-partitions")
    check_partitions(client, topic)
    phase("describe-configs")
    topic_keys, broker_keys = check_describe(client, topic)
    phase("alter-configs")
    check_alter(client, topic)
    phase("delete-records")
    check_delete_records(client, args.bootstrap, topic)
    log("all admin checks passed")
    done({"topic": topic, "brokers": brokers, "topic_keys": topic_keys,
          "broker_keys": broker_keys})


if __name__ == "__main__":
    run(main)
