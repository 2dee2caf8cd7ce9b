"""Every compression codec through confluent-kafka: for each of none, gzip, snappy, lz4
and zstd, a topic of its own, keyed records produced with compression.type set (the
idempotent producer, acks=all), read back and checked record for record (exactly the
acknowledged records, once each, at their offsets, in send order; CRCs checked)."""

import ck
from common import check, done, parse_args, phase, records, remaining, run, verify_exactly_once

CODECS = ["none", "gzip", "snappy", "lz4", "zstd"]


def main():
    args = parse_args(__doc__, lambda p: (
        p.add_argument("--records", type=int, default=2000, help="per codec"),
        p.add_argument("--partitions", type=int, default=3),
    ))
    per_codec = {}
    for codec in CODECS:
        topic = f"codec-{codec}"
        phase(f"{codec}-create-topic")
        ck.create_topic(args.bootstrap, topic, args.partitions, 3, 30)
        phase(f"{codec}-produce")
        recs = records(args.rng, args.records, codec)
        acked, failed = ck.produce(args.bootstrap, topic, recs, min(60, remaining(args)),
                                   compression_type=codec, linger_ms=20)
        check(not failed, f"{codec}: {len(failed)} deliveries failed, e.g. {failed[:3]}")
        phase(f"{codec}-consume")
        consumed = ck.read_all(args.bootstrap, topic, args.partitions,
                               min(60, remaining(args)))
        checked = verify_exactly_once(acked, consumed)
        check(checked == args.records, f"{codec}: read {checked} records, produced "
              f"{args.records}")
        per_codec[codec] = checked
    done({"seed": args.seed, "codecs": len(per_codec), "consumed": sum(per_codec.values()),
          **{f"consumed_{c}": n for c, n in per_codec.items()}})


if __name__ == "__main__":
    run(main)
