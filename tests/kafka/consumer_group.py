"""A consumer group over a 6-partition topic: two confluent-kafka members and one
kafka-python member (classic protocol, range assignor), each committing synchronously
after every batch it processes. A record counts as consumed once the commit covering it
succeeds. Phases, each ending when every produced record is counted:
  1. three members consume a first batch;
  2. a confluent member leaves (close: LeaveGroup); the two left take over its
     partitions from its committed offsets;
  3. a new confluent member joins and gets partitions;
  4. the driver kill -9s the group coordinator's broker (AWAIT kill-coordinator, the
     broker the kafka-python member uses); the group carries on with the new one.
Then: every record produced was counted exactly once (by one member, once), and the
group's committed offsets equal the high watermarks."""

import threading
import time

from confluent_kafka import KafkaError, KafkaException, TopicPartition as CTopicPartition
from kafka import KafkaConsumer, TopicPartition
from kafka.consumer.subscription_state import ConsumerRebalanceListener
from kafka.coordinator.assignors.range import RangePartitionAssignor
from kafka.structs import OffsetAndMetadata

import ck
from common import await_driver, check, done, fail, log, parse_args, phase, remaining, run

PARTITIONS = 6


class Member(threading.Thread):
    """One group member in its own thread. `counted` (shared, under `lock`) maps
    (partition, offset) -> [member names]: the records whose commit succeeded."""

    def __init__(self, name, args, counted, lock):
        super().__init__(name=name, daemon=True)
        self.args, self.counted, self.lock = args, counted, lock
        self.assignment = set()
        self.stop = threading.Event()
        self.closed = threading.Event()
        self.commits_failed = 0

    def run(self):
        try:
            self.loop()
        except BaseException as e:  # noqa: BLE001 - any error fails the script
            fail(f"member {self.name}: {type(e).__name__}: {e}")

    def credit(self, batch):
        """The commit covering `batch` [(partition, offset, key)] succeeded."""
        with self.lock:
            for p, o, k in batch:
                self.counted.setdefault((p, o), []).append((self.name, k))

    def commit_or_rewind(self, batch):
        """Commits the batch's next offsets; on failure rewinds to the batch's first
        offsets (if still owned) so the records are read and committed again."""
        nexts, firsts = {}, {}
        for p, o, _ in batch:
            nexts[p] = max(nexts.get(p, 0), o + 1)
            firsts[p] = min(firsts.get(p, o), o)
        try:
            self.commit(nexts)
        except Exception as e:  # noqa: BLE001 - a refused commit is part of the test
            self.commits_failed += 1
            log(f"member {self.name}: commit failed ({type(e).__name__}: {e}); rewinding")
            self.rewind(firsts)
            return
        self.credit(batch)


class ConfluentMember(Member):
    def loop(self):
        c = ck.consumer(self.args.bootstrap, self.args.group,
                        partition_assignment_strategy="range", session_timeout_ms=10000,
                        heartbeat_interval_ms=1000, max_poll_interval_ms=60000)
        self.consumer = c
        c.subscribe([self.args.topic], on_assign=self.on_assign, on_revoke=self.on_revoke)
        while not self.stop.is_set():
            batch = []
            for m in c.consume(num_messages=500, timeout=0.2):
                if m.error():
                    if m.error().code() != KafkaError._PARTITION_EOF:
                        log(f"member {self.name}: {m.error()}")
                    continue
                batch.append((m.partition(), m.offset(), m.key()))
            if batch:
                self.commit_or_rewind(batch)
        c.close()  # leaves the group
        self.closed.set()

    def on_assign(self, _consumer, partitions):
        self.assignment = {p.partition for p in partitions}

    def on_revoke(self, _consumer, _partitions):
        self.assignment = set()

    def commit(self, nexts):
        self.consumer.commit(offsets=[CTopicPartition(self.args.topic, p, o)
                                      for p, o in nexts.items()], asynchronous=False)

    def rewind(self, firsts):
        for p, o in firsts.items():
            try:
                self.consumer.seek(CTopicPartition(self.args.topic, p, o))
            except KafkaException:
                pass  # no longer ours: its next owner starts at the committed offset


class KafkaPythonMember(Member, ConsumerRebalanceListener):
    def loop(self):
        c = KafkaConsumer(bootstrap_servers=self.args.bootstrap.split(","),
                          group_id=self.args.group, enable_auto_commit=False,
                          auto_offset_reset="earliest",
                          partition_assignment_strategy=[RangePartitionAssignor],
                          session_timeout_ms=10000, heartbeat_interval_ms=1000,
                          max_poll_interval_ms=60000, request_timeout_ms=20000)
        self.consumer = c
        c.subscribe(topics=[self.args.topic], listener=self)
        while not self.stop.is_set():
            batch = []
            for tp, records in c.poll(timeout_ms=200, max_records=500).items():
                batch.extend((tp.partition, r.offset, r.key) for r in records)
            if batch:
                self.commit_or_rewind(batch)
        c.close(autocommit=False)
        self.closed.set()

    def on_partitions_assigned(self, assigned):
        self.assignment = {tp.partition for tp in assigned}

    def on_partitions_revoked(self, revoked):
        self.assignment = set()

    def commit(self, nexts):
        self.consumer.commit({TopicPartition(self.args.topic, p): OffsetAndMetadata(o, "", -1)
                              for p, o in nexts.items()})

    def rewind(self, firsts):
        for p, o in firsts.items():
            try:
                self.consumer.seek(TopicPartition(self.args.topic, p), o)
            except Exception:  # noqa: BLE001 - no longer ours
                pass

    def coordinator(self):
        """The broker id this member uses as the group coordinator, if it knows one."""
        # kafka-python 3.0 names the coordinator's connection "coordinator-<broker id>".
        cid = getattr(self.consumer._coordinator, "coordinator_id", None)
        if isinstance(cid, str):
            cid = int(cid.rsplit("-", 1)[-1]) if cid.rsplit("-", 1)[-1].isdigit() else None
        return cid


def main():
    args = parse_args(__doc__, lambda p: (
        p.add_argument("--topic", default="group-events"),
        p.add_argument("--batch", type=int, default=2000, help="records per phase"),
    ), timeout=170.0)
    args.group = f"group-{args.seed}"
    counted, lock = {}, threading.Lock()
    produced = {}  # (partition, offset) -> key
    producer = ck.producer(args.bootstrap, delivery_timeout_ms=60000)
    sent = [0]

    def produce_batch(tag):
        failed = []

        def report(err, msg):
            if err is not None:
                failed.append(str(err))
            else:
                produced[(msg.partition(), msg.offset())] = msg.key()
        for i in range(args.batch):
            producer.produce(args.topic, key=f"{tag}-{sent[0]:06d}".encode(),
                             value=b"v%d" % sent[0], on_delivery=report)
            sent[0] += 1
            producer.poll(0)
        left = producer.flush(min(70, remaining(args)))
        check(left == 0 and not failed, f"{tag}: {left} undelivered, {len(failed)} failed "
              f"({failed[:3]})")

    def wait_stable(members, what):
        """Waits until the live members' assignments split all partitions among them,
        each holding some."""
        end = time.monotonic() + min(60, remaining(args))
        while time.monotonic() < end:
            sets = [m.assignment for m in members]
            union = set().union(*sets)
            if all(sets) and len(union) == PARTITIONS and sum(map(len, sets)) == PARTITIONS:
                log(f"{what}: " + ", ".join(f"{m.name}={sorted(m.assignment)}"
                                           for m in members))
                return
            time.sleep(0.1)
        fail(f"{what}: no stable assignment within the deadline: "
             + ", ".join(f"{m.name}={sorted(m.assignment)}" for m in members))

    def wait_counted(what, timeout=60):
        end = time.monotonic() + min(timeout, remaining(args))
        while time.monotonic() < end:
            with lock:
                if len(counted) >= len(produced):
                    return
            time.sleep(0.1)
        with lock:
            fail(f"{what}: {len(counted)} of {len(produced)} records consumed and committed")

    def counted_by(member):
        with lock:
            return sum(1 for names in counted.values() for n, _ in names if n == member.name)

    phase("create-topic")
    ck.create_topic(args.bootstrap, args.topic, PARTITIONS, 3, 30)

    phase("1-three-members")
    a = ConfluentMember("confluent-a", args, counted, lock)
    b = ConfluentMember("confluent-b", args, counted, lock)
    k = KafkaPythonMember("kafka-python", args, counted, lock)
    for m in (a, b, k):
        m.start()
    wait_stable([a, b, k], "three members")
    produce_batch("one")
    wait_counted("three members")

    phase("2-member-leaves")
    b.stop.set()
    check(b.closed.wait(30), "confluent-b did not close within 30 s")
    wait_stable([a, k], "after confluent-b left")
    produce_batch("two")
    wait_counted("after confluent-b left")

    phase("3-member-joins")
    c = ConfluentMember("confluent-c", args, counted, lock)
    c.start()
    wait_stable([a, k, c], "after confluent-c joined")
    before = counted_by(c)
    produce_batch("three")
    wait_counted("after confluent-c joined")
    check(counted_by(c) > before, "confluent-c joined but consumed nothing")

    phase("4-coordinator-killed")
    end = time.monotonic() + 20
    while k.coordinator() is None:
        check(time.monotonic() < end, "the kafka-python member knows no coordinator")
        time.sleep(0.1)
    coordinator = k.coordinator()
    await_driver("kill-coordinator", {"broker": coordinator, "group": args.group}, 30)
    log(f"the driver killed broker {coordinator}, the group coordinator")
    produce_batch("four")
    wait_counted("after the coordinator was killed", timeout=90)
    new_coordinator = k.coordinator()

    phase("verify")
    for m in (a, k, c):
        m.stop.set()
    for m in (a, k, c):
        check(m.closed.wait(30), f"{m.name} did not close within 30 s")
    with lock:
        dupes = {po: names for po, names in counted.items() if len(names) > 1}
        check(not dupes, f"{len(dupes)} records consumed and committed more than once, e.g. "
              f"{sorted(dupes.items())[:3]}")
        stray = set(counted) - set(produced)
        check(not stray, f"consumed records never produced at {sorted(stray)[:3]}")
        missing = set(produced) - set(counted)
        check(not missing, f"{len(missing)} produced records never consumed, e.g. "
              f"{sorted(missing)[:3]}")
        for po, names in counted.items():
            check(names[0][1] == produced[po], f"{po}: consumed key {names[0][1]!r}, "
                  f"produced {produced[po]!r}")
    reader = ck.consumer(args.bootstrap, args.group)
    tps = [CTopicPartition(args.topic, p) for p in range(PARTITIONS)]
    committed = {tp.partition: tp.offset for tp in reader.committed(tps, timeout=20)}
    highs = {p: reader.get_watermark_offsets(CTopicPartition(args.topic, p), timeout=10)[1]
             for p in range(PARTITIONS)}
    check(committed == highs, f"committed offsets {committed} != high watermarks {highs}")
    done({
        "seed": args.seed,
        "produced": len(produced),
        "consumed": len(counted),
        "duplicates": 0,
        "committed": sum(committed.values()),
        "members": 4,
        "killed_coordinator": coordinator,
        "new_coordinator": new_coordinator if new_coordinator is not None else -1,
        "commits_failed": a.commits_failed + b.commits_failed + c.commits_failed
        + k.commits_failed,
        **{f"consumed_by_{m.name.replace('-', '_')}": counted_by(m) for m in (a, b, k, c)},
    })


if __name__ == "__main__":
    run(main)
