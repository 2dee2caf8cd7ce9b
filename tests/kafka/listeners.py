"""Named Kafka listeners: a client is told the addresses of the listener it connected to.
For each listener given (--listener NAME=HOST:PORT,..., the bootstrap of that listener),
three answers must name exactly that listener's advertised addresses (--expect JSON:
{"NAME": {"1": "host:port", ...}}): Metadata (kcat -L -J), DescribeCluster
(confluent-kafka's describe_cluster) and FindCoordinator (the coordinator that
describe_consumer_groups reports for a group, which must be one of those addresses)."""

import json
import time

from confluent_kafka import KafkaError, KafkaException
from confluent_kafka.admin import AdminClient

from common import check, done, log, parse_args, phase, remaining, run, tool


RETRY = {KafkaError.NOT_COORDINATOR, KafkaError.COORDINATOR_LOAD_IN_PROGRESS,
         KafkaError.COORDINATOR_NOT_AVAILABLE}


def metadata_brokers(bootstrap):
    out = tool(["kcat", "-L", "-J", "-b", bootstrap, "-m", "15"], 30)
    return {str(b["id"]): b["name"].rsplit("/", 1)[0]
            for b in json.loads(out).get("brokers", [])}


def describe_coordinator(admin, group, args):
    """The group's coordinator, once one answers: right after __consumer_offsets is
    created its partitions are still loading (NOT_COORDINATOR / COORDINATOR_LOAD...)."""
    while True:
        futures = admin.describe_consumer_groups([group], request_timeout=remaining(args))
        try:
            return futures[group].result().coordinator
        except KafkaException as e:
            check(e.args[0].retriable() or e.args[0].code() in RETRY,
                  f"describe_consumer_groups({group}): {e}")
            log(f"describe_consumer_groups({group}): {e}; retrying")
            time.sleep(0.2)


def main():
    def extra(p):
        p.add_argument("--listener", action="append", required=True)
        p.add_argument("--expect", required=True)
    args = parse_args(__doc__, extra)
    expect = json.loads(args.expect)
    checked = 0
    for item in args.listener:
        name, bootstrap = item.split("=", 1)
        want = expect[name]
        phase(f"metadata-{name}")
        got = metadata_brokers(bootstrap)
        check(got == want, f"{name}: Metadata brokers {got}, expected {want}")

        phase(f"describe-cluster-{name}")
        admin = AdminClient({"bootstrap.servers": bootstrap, "socket.timeout.ms": 10000})
        cluster = admin.describe_cluster(request_timeout=remaining(args)).result()
        got = {str(n.id): f"{n.host}:{n.port}" for n in cluster.nodes}
        check(got == want, f"{name}: DescribeCluster brokers {got}, expected {want}")

        phase(f"find-coordinator-{name}")
        group = f"listeners-{name.lower()}-{args.seed}"
        coordinator = describe_coordinator(admin, group, args)
        addr = f"{coordinator.host}:{coordinator.port}"
        log(f"{name}: coordinator of {group} is {coordinator.id} at {addr}")
        check(want.get(str(coordinator.id)) == addr,
              f"{name}: coordinator {coordinator.id} at {addr}, expected one of {want}")
        checked += 1
    done({"seed": args.seed, "listeners": checked})


if __name__ == "__main__":
    run(main)
