//! Replication under failure, against real processes (3 controllers, 3 brokers, RF 3,
//! min.insync.replicas 2, acks=all). Each scenario ends with the history check: 0 lost,
//! 0 inconsistent and 0 reordered acknowledged records, and identical replicas below the
//! high watermark after healing.
//!
//! Fault durations (how long a broker stays down or stopped) are the scenario's
//! definition, so they are plain sleeps; every wait for a *condition* polls with a
//! deadline.

mod support;

use std::time::{Duration, Instant};

use rill_client::{Producer, ProducerConfig, ProducerRecord};
use rill_testkit::{Cluster, ProxyMode};
use rill_types::ErrorCode;
use support::scenario::{
    TOPIC, create_topic, leader_of, partitions, spec, start_load, start_load_with, verify,
};

const PARTITIONS: i32 = 3;

fn start() -> Cluster {
    let cluster = Cluster::start(spec()).expect("cluster starts");
    create_topic(&cluster, PARTITIONS);
    cluster
}

/// a. kill -9 partition 0's leader every 5 s for 60 s while producing (each killed
/// broker comes back before the next kill).
#[test]
fn leader_killed_every_five_seconds() {
    let mut cluster = start();
    let load = start_load(&cluster, 3, PARTITIONS);
    let began = Instant::now();
    let mut kills = 0;
    while began.elapsed() < Duration::from_secs(60) {
        let leader = leader_of(&cluster, 0);
        cluster.broker(leader).kill9().expect("kill -9");
        kills += 1;
        std::thread::sleep(Duration::from_secs(5));
        cluster.broker(leader).restart().expect("restart");
    }
    let history = load.stop(&cluster);
    println!("{kills} leaders killed");
    verify(&cluster, &history, PARTITIONS, 100);
}

/// b. kill -9 a follower, cut its log back to what was flushed (power loss), restart:
/// it catches up, truncating by leader epoch, and re-enters the ISR.
#[test]
fn follower_power_loss_then_catch_up() {
    let mut cluster = start();
    let load = start_load(&cluster, 3, PARTITIONS);
    std::thread::sleep(Duration::from_secs(3));
    let leader = leader_of(&cluster, 0);
    let follower = cluster
        .broker_ids()
        .into_iter()
        .find(|b| *b != leader)
        .expect("a follower");
    cluster.broker(follower).kill9().expect("kill -9");
    let mut cut = 0;
    for p in 0..PARTITIONS {
        cut += cluster
            .cut_to_flushed(follower, TOPIC, p)
            .expect("cut to flushed");
    }
    println!("broker {follower}: {cut} unflushed bytes cut");
    std::thread::sleep(Duration::from_secs(3));
    cluster.broker(follower).restart().expect("restart");
    std::thread::sleep(Duration::from_secs(5));
    let history = load.stop(&cluster);
    verify(&cluster, &history, PARTITIONS, 100);
}

/// c. SIGSTOP partition 0's leader past the session timeout, then SIGCONT: the zombie
/// acknowledges nothing after it was replaced and truncates its divergent suffix.
#[test]
fn stopped_leader_becomes_a_zombie_and_recovers() {
    let mut cluster = start();
    let load = start_load(&cluster, 3, PARTITIONS);
    std::thread::sleep(Duration::from_secs(2));
    let leader = leader_of(&cluster, 0);
    cluster.broker(leader).sigstop().expect("SIGSTOP");
    rill_testkit::wait_until(
        Duration::from_secs(30),
        "a new leader for partition 0",
        || partitions(&cluster)[&0].0.is_some_and(|l| l != leader),
    );
    std::thread::sleep(Duration::from_secs(3));
    cluster.broker(leader).sigcont().expect("SIGCONT");
    std::thread::sleep(Duration::from_secs(5));
    let history = load.stop(&cluster);
    verify(&cluster, &history, PARTITIONS, 100);
}

/// d. Both followers of a partition cut off from its leader: acks=all fails with
/// NOT_ENOUGH_REPLICAS once the ISR has shrunk below 2, and succeeds after healing.
#[test]
fn isolated_leader_refuses_acks_all_until_healed() {
    let cluster = Cluster::start(spec().with_fault_proxies()).expect("cluster starts");
    create_topic(&cluster, 1);
    let leader = leader_of(&cluster, 0);
    let followers: Vec<_> = cluster
        .broker_ids()
        .into_iter()
        .filter(|b| *b != leader)
        .collect();
    let load = start_load_with(&cluster, 2, 1, Duration::from_secs(3));
    std::thread::sleep(Duration::from_secs(2));
    for f in &followers {
        cluster.set_link(*f, leader, ProxyMode::Blackhole);
    }
    // The ISR shrinks after replica.lag.time.max.ms (3 s); then a produce is refused.
    rill_testkit::wait_until(
        Duration::from_secs(30),
        "the ISR shrinks to the leader",
        || partitions(&cluster)[&0].1.len() == 1,
    );
    let producer = Producer::connect(
        &cluster.broker_addrs(),
        ProducerConfig {
            delivery_timeout: Duration::from_secs(2),
            ..ProducerConfig::default()
        },
    )
    .expect("producer");
    let record = ProducerRecord {
        key: None,
        value: Some(bytes::Bytes::from_static(b"refused")),
        headers: vec![],
        timestamp: None,
    };
    let p = producer.clone();
    let r = record.clone();
    let refused = cluster.block_on(async move { p.send(TOPIC, 0, vec![r]).await });
    let code = refused.as_ref().err().and_then(|e| e.kafka_code());
    assert_eq!(code, Some(ErrorCode::NotEnoughReplicas), "{refused:?}");
    cluster.heal_all();
    rill_testkit::wait_until(Duration::from_secs(30), "the ISR grows back", || {
        partitions(&cluster)[&0].1.len() == 3
    });
    let p = producer.clone();
    let accepted = cluster.block_on(async move {
        let mut record = record;
        record.value = Some(bytes::Bytes::from_static(b"accepted"));
        p.send(TOPIC, 0, vec![record]).await
    });
    assert!(accepted.is_ok(), "{accepted:?}");
    let history = load.stop(&cluster);
    verify(&cluster, &history, 1, 20);
}

/// e. A rolling restart of every broker with SIGTERM (controlled shutdown) under load,
/// twice.
#[test]
fn rolling_restart_twice_under_load() {
    let mut cluster = start();
    let load = start_load(&cluster, 3, PARTITIONS);
    for round in 0..2 {
        for b in cluster.broker_ids() {
            let status = cluster
                .broker(b)
                .terminate(Duration::from_secs(30))
                .expect("controlled shutdown");
            assert!(
                status.success(),
                "broker {b} exited with {status} (round {round})"
            );
            cluster.broker(b).restart().expect("restart");
            cluster
                .wait_unfenced(&[b], Duration::from_secs(30))
                .expect("broker back");
            support::scenario::wait_full_isr(&cluster, Duration::from_secs(30));
        }
    }
    let history = load.stop(&cluster);
    verify(&cluster, &history, PARTITIONS, 100);
}
