"""kcat round trip: keyed lines produced with `kcat -P` (idempotent, acks=all) and read
back with `kcat -C -e` (exits at the end of every partition): each key once, offsets
0..n-1 per partition, send order kept per partition, and the same records a
confluent-kafka read returns."""

import ck
from common import check, done, index_of, parse_args, phase, remaining, run, tool, topic_args


def main():
    args = parse_args(__doc__, topic_args("kcat-roundtrip", 1000))
    phase("create-topic")
    ck.create_topic(args.bootstrap, args.topic, args.partitions, 3, 30)

    phase("kcat-produce")
    lines = [(f"kcat-{i:06d}", "%x" % args.rng.getrandbits(128)) for i in range(args.records)]
    stdin = "".join(f"{k}\t{v}\n" for k, v in lines).encode()
    tool(["kcat", "-P", "-b", args.bootstrap, "-t", args.topic, "-K", "\t",
          "-X", "enable.idempotence=true", "-X", "acks=all"], 60, stdin)

    phase("kcat-consume")
    out = tool(["kcat", "-C", "-b", args.bootstrap, "-t", args.topic, "-o", "beginning",
                "-e", "-f", "%p\t%o\t%k\t%s\n"], min(60, remaining(args)))
    read = {}
    for line in out.decode().splitlines():
        p, o, k, v = line.split("\t")
        read.setdefault(int(p), []).append((int(o), k.encode(), v.encode()))
    got = [(k.decode(), v.decode()) for recs in read.values() for _, k, v in recs]
    check(len(got) == len(set(got)), f"{len(got) - len(set(got))} records read twice")
    check(sorted(got) == sorted(lines), f"read {len(got)} records, produced "
          f"{len(lines)}; missing e.g. {sorted(set(lines) - set(got))[:3]}")
    for p, recs in read.items():
        offsets = [o for o, _, _ in recs]
        check(offsets == list(range(len(recs))), f"partition {p}: offsets not 0..n-1")
        indexes = [index_of(k) for _, k, _ in recs]
        check(indexes == sorted(indexes), f"partition {p}: out of send order")

    phase("compare-with-confluent")
    theirs = ck.read_all(args.bootstrap, args.topic, args.partitions, min(30, remaining(args)))
    theirs = {p: recs for p, recs in theirs.items() if recs}
    check(theirs == read, "confluent-kafka reads other records than kcat")
    done({"seed": args.seed, "produced": len(lines), "consumed": len(got),
          "partitions_used": len(read)})


if __name__ == "__main__":
    run(main)
