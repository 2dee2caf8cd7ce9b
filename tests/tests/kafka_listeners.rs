//! Named Kafka listeners (Kafka's `listeners` / `advertised.listeners`): brokers with two
//! listeners, PLAINTEXT on 127.0.0.1 and SECOND on 127.0.0.2 (rill-testkit's
//! `second_kafka_listener`), and real clients against each (kcat, confluent-kafka): every
//! answer that names brokers — Metadata, DescribeCluster, FindCoordinator — names them
//! by the addresses of the listener the client connected to.

// Not every helper of the shared driver is used here.
#[allow(dead_code)]
#[path = "support/kafka_script.rs"]
mod kafka_script;

use std::time::Duration;

use kafka_script::{require_kcat, run_plain};
use rill_testkit::{Cluster, ClusterSpec};

#[test]
fn each_listener_answers_with_its_own_advertised_addresses() {
    require_kcat();
    let spec = ClusterSpec::new()
        .nodes(1, 2)
        .second_kafka_listener("SECOND");
    let mut cluster = Cluster::start(spec).expect("cluster starts");
    let ids = cluster.broker_ids();
    let map = |addr: &dyn Fn(&Cluster, rill_testkit::BrokerId) -> String| {
        let items: Vec<String> = ids
            .iter()
            .map(|&id| format!("\"{id}\": \"{}\"", addr(&cluster, id)))
            .collect();
        format!("{{{}}}", items.join(", "))
    };
    let plaintext = map(&|c, id| c.kafka_addr(id));
    let second = map(&|c, id| c.kafka_addr_of_second(id));
    assert_ne!(plaintext, second);
    let expect = format!("{{\"PLAINTEXT\": {plaintext}, \"SECOND\": {second}}}");
    let plaintext_bootstrap = format!("PLAINTEXT={}", cluster.kafka_bootstrap());
    let second_bootstrap = format!("SECOND={}", cluster.kafka_addr_of_second(ids[0]));
    let s = run_plain(
        &mut cluster,
        "listeners.py",
        &[
            "--listener",
            &plaintext_bootstrap,
            "--listener",
            &second_bootstrap,
            "--expect",
            &expect,
        ],
        Duration::from_secs(60),
    );
    assert_eq!(s.int("listeners"), 2);
}
