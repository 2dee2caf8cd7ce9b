"""kcat's JSON metadata (`kcat -L -J`) against what the cluster says: every broker with
its Kafka address, every expected topic with each partition's leader, replicas and ISR,
and no topic beyond those but internal ones (`__*`). The driver passes the cluster's
view as --expect (JSON: {"brokers": {"1": "host:port"}, "topics": {"name": {"0":
{"leader": 1, "replicas": [1, 2], "isr": [1, 2]}}}})."""

import json

from common import check, done, log, parse_args, phase, run, tool


def ids(items):
    return sorted(i["id"] for i in items)


def main():
    args = parse_args(__doc__, lambda p: p.add_argument("--expect", required=True))
    expect = json.loads(args.expect)
    phase("kcat-metadata")
    out = tool(["kcat", "-L", "-J", "-b", args.bootstrap, "-m", "15"], 30)
    md = json.loads(out)
    log(f"kcat says: {json.dumps(md, sort_keys=True)[:4000]}")

    brokers = {str(b["id"]): b["name"] for b in md.get("brokers", [])}
    check(brokers == expect["brokers"], f"brokers {brokers}, expected {expect['brokers']}")
    topics = {t["topic"]: t for t in md.get("topics", [])}
    extra = {n for n in topics if n not in expect["topics"] and not n.startswith("__")}
    check(not extra, f"topics the cluster does not have: {sorted(extra)}")
    partitions = 0
    for name, want in sorted(expect["topics"].items()):
        check(name in topics, f"topic {name} missing from the metadata")
        topic = topics[name]
        check("error" not in topic, f"topic {name}: error {topic.get('error')}")
        got = {str(p["partition"]): p for p in topic["partitions"]}
        check(sorted(got) == sorted(want), f"topic {name}: partitions {sorted(got)}, "
              f"expected {sorted(want)}")
        for index, w in want.items():
            g = got[index]
            check("error" not in g, f"{name}/{index}: error {g.get('error')}")
            check(g["leader"] == w["leader"], f"{name}/{index}: leader {g['leader']}, "
                  f"expected {w['leader']}")
            check(ids(g["replicas"]) == sorted(w["replicas"]), f"{name}/{index}: replicas "
                  f"{ids(g['replicas'])}, expected {sorted(w['replicas'])}")
            check(ids(g["isrs"]) == sorted(w["isr"]), f"{name}/{index}: ISR "
                  f"{ids(g['isrs'])}, expected {sorted(w['isr'])}")
            partitions += 1
    done({"seed": args.seed, "brokers": len(brokers), "topics": len(expect["topics"]),
          "partitions": partitions})


if __name__ == "__main__":
    run(main)
