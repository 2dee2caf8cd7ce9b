//! Every process's HTTP endpoint on a real 3-controller, 3-broker cluster: `/metrics`
//! passes Prometheus's own linter (`promtool check metrics`, installed by
//! scripts/setup.sh), `/healthz` and `/readyz` answer, and the values move as they
//! should — records produced show up per topic, a killed broker shows up as
//! under-replicated partitions, ISR shrinks, leader elections and a fenced broker, and
//! all of it heals when the broker comes back.

use std::io::Write as _;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use rill_testkit::{BrokerId, Cluster, ClusterSpec, http_get, rill_binary, wait_for, wait_until};

const TOPIC: &str = "metered";
const PARTITIONS: i32 = 3;
const RECORDS: usize = 300;
const STEP: Duration = Duration::from_secs(3);

/// The sum of every sample of `name` in a Prometheus text page whose labels contain
/// `label` (e.g. `topic="metered"`; empty: any). `None` when there is no such sample.
fn sample(page: &str, name: &str, label: &str) -> Option<f64> {
    let mut found = None;
    for line in page.lines().filter(|l| !l.starts_with('#')) {
        let Some((series, value)) = line.rsplit_once(' ') else {
            continue;
        };
        let (metric, labels) = series.split_once('{').unwrap_or((series, ""));
        if metric == name && labels.contains(label) {
            let v: f64 = value.parse().expect("a sample value");
            *found.get_or_insert(0.0) += v;
        }
    }
    found
}

fn metrics_of(addr: &str) -> Option<String> {
    match http_get(addr, "/metrics", STEP) {
        Ok((200, body)) => Some(body),
        _ => None,
    }
}

/// The sum of `name` over the running brokers' pages.
fn broker_sum(cluster: &mut Cluster, name: &str, label: &str) -> f64 {
    let mut total = 0.0;
    for id in cluster.broker_ids() {
        if !cluster.broker(id).is_running() {
            continue;
        }
        if let Some(page) = metrics_of(&cluster.broker_http_addr(id)) {
            total += sample(&page, name, label).unwrap_or(0.0);
        }
    }
    total
}

/// The sum of `name` over every controller's page.
fn controller_sum(cluster: &Cluster, name: &str) -> f64 {
    cluster
        .controller_ids()
        .into_iter()
        .filter_map(|id| metrics_of(&cluster.controller_http_addr(id)))
        .map(|page| sample(&page, name, "").unwrap_or(0.0))
        .sum()
}

fn promtool_check(page: &str, who: &str) {
    let mut child = Command::new("promtool")
        .args(["check", "metrics"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("promtool is not installed (or does not run): run scripts/setup.sh");
    child
        .stdin
        .take()
        .expect("stdin")
        .write_all(page.as_bytes())
        .expect("feed promtool");
    let out = child.wait_with_output().expect("promtool runs");
    assert!(
        out.status.success(),
        "promtool check metrics refused {who}'s page:\n{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

/// Produces `n` keyed records with kcat (acks=all), bounded in time.
fn produce(cluster: &Cluster, n: usize) {
    let mut child = Command::new("kcat")
        .args(["-b", &cluster.kafka_bootstrap(), "-P", "-t", TOPIC, "-K:"])
        .args(["-X", "acks=all", "-X", "message.timeout.ms=20000"])
        .stdin(Stdio::piped())
        .spawn()
        .expect("kcat is not installed: run scripts/setup.sh");
    let mut input = String::new();
    for i in 0..n {
        input.push_str(&format!("k{i}:v{i}\n"));
    }
    child
        .stdin
        .take()
        .expect("stdin")
        .write_all(input.as_bytes())
        .expect("feed kcat");
    let status = wait_for(Duration::from_secs(60), "kcat to finish producing", || {
        child.try_wait().expect("kcat status")
    });
    assert!(status.success(), "kcat: {status}");
}

#[test]
fn metrics_and_health_endpoints_follow_the_cluster() {
    let spec = ClusterSpec::new().nodes(3, 3).quick_failover();
    let mut cluster = Cluster::start(spec).expect("cluster starts");

    // Health: every process is alive and ready once the cluster has started.
    let http: Vec<(String, String)> = cluster
        .controller_ids()
        .into_iter()
        .map(|id| (format!("controller {id}"), cluster.controller_http_addr(id)))
        .chain(
            cluster
                .broker_ids()
                .into_iter()
                .map(|id| (format!("broker {id}"), cluster.broker_http_addr(id))),
        )
        .collect();
    for (who, addr) in &http {
        let (code, _) = http_get(addr, "/healthz", STEP).expect("healthz answers");
        assert_eq!(code, 200, "{who} /healthz");
        wait_until(Duration::from_secs(20), &format!("{who} ready"), || {
            matches!(http_get(addr, "/readyz", STEP), Ok((200, _)))
        });
    }
    // `rill health`, as a container HEALTHCHECK runs it: 0 when ready, 1 otherwise.
    let rill = rill_binary().expect("the rill binary");
    let health = |addr: &str| {
        Command::new(&rill)
            .args(["health", addr])
            .stdin(Stdio::null())
            .output()
            .expect("rill health runs")
    };
    assert!(
        health(&http[0].1).status.success(),
        "rill health on a ready controller"
    );
    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let closed_addr = closed.local_addr().unwrap().to_string();
    drop(closed);
    let refused = health(&closed_addr);
    assert_eq!(
        refused.status.code(),
        Some(1),
        "rill health on a closed port"
    );
    let said = String::from_utf8_lossy(&refused.stderr);
    assert!(said.contains(&closed_addr), "names the address: {said}");

    cluster
        .create_topic(TOPIC, PARTITIONS, 3, &[("min.insync.replicas", "2")])
        .expect("create topic");
    produce(&cluster, RECORDS);

    // Every page passes the linter; the figures add up.
    for (who, addr) in &http {
        let page = metrics_of(addr).unwrap_or_else(|| panic!("{who} serves /metrics"));
        promtool_check(&page, who);
    }
    let label = format!("topic=\"{TOPIC}\"");
    let messages = broker_sum(&mut cluster, "rill_broker_messages_in_total", &label);
    assert_eq!(messages, RECORDS as f64, "messages in, summed over leaders");
    assert!(broker_sum(&mut cluster, "rill_broker_bytes_in_total", &label) > 0.0);
    assert!(
        broker_sum(&mut cluster, "rill_kafka_requests_total", "api=\"Produce\"") >= 1.0,
        "Produce requests counted"
    );
    assert_eq!(controller_sum(&cluster, "rill_controller_active"), 1.0);
    assert_eq!(
        controller_sum(&cluster, "rill_controller_offline_partitions"),
        0.0
    );
    assert!(
        controller_sum(&cluster, "rill_raft_term") >= 3.0,
        "three nodes with a term"
    );
    wait_until(Duration::from_secs(20), "the ISRs to be full", || {
        broker_sum(&mut cluster, "rill_broker_under_replicated_partitions", "") == 0.0
            && broker_sum(&mut cluster, "rill_broker_leader_partitions", "")
                >= f64::from(PARTITIONS)
    });
    let elections_before = controller_sum(&cluster, "rill_controller_leader_elections_total");
    let victim_led = metrics_of(&cluster.broker_http_addr(3))
        .and_then(|p| sample(&p, "rill_broker_leader_partitions", ""))
        .expect("broker 3's leader count");

    // A killed broker: every partition of the RF-3 topic becomes under-replicated (its
    // ISR shrinks to the two left), and the controller counts a fenced broker.
    let victim = BrokerId::new(3);
    cluster.broker(victim).kill9().expect("kill broker 3");
    let t = Instant::now();
    wait_until(
        Duration::from_secs(30),
        "under-replicated partitions",
        || {
            broker_sum(&mut cluster, "rill_broker_under_replicated_partitions", "")
                == f64::from(PARTITIONS)
        },
    );
    eprintln!(
        "under-replicated partitions reported {:?} after the kill",
        t.elapsed()
    );
    assert!(broker_sum(&mut cluster, "rill_broker_isr_shrinks_total", "") >= 1.0);
    wait_until(Duration::from_secs(20), "a fenced broker", || {
        cluster
            .controller_ids()
            .into_iter()
            .filter_map(|id| metrics_of(&cluster.controller_http_addr(id)))
            .filter_map(|p| sample(&p, "rill_controller_brokers", "state=\"fenced\""))
            .sum::<f64>()
            == 1.0
    });
    // The counter lives on the active controller; its leaderships moved, so it grew.
    let elections = controller_sum(&cluster, "rill_controller_leader_elections_total");
    if victim_led > 0.0 {
        assert!(
            elections > elections_before,
            "{elections} <= {elections_before}"
        );
    }
    assert_eq!(
        controller_sum(&cluster, "rill_controller_offline_partitions"),
        0.0
    );

    // Back: the ISRs expand again and nothing is under-replicated.
    cluster.broker(victim).restart().expect("restart broker 3");
    let addr = cluster.broker_http_addr(victim);
    wait_until(Duration::from_secs(30), "broker 3 ready again", || {
        matches!(http_get(&addr, "/readyz", STEP), Ok((200, _)))
    });
    wait_until(Duration::from_secs(30), "the ISRs to heal", || {
        broker_sum(&mut cluster, "rill_broker_under_replicated_partitions", "") == 0.0
    });
    assert!(broker_sum(&mut cluster, "rill_broker_isr_expands_total", "") >= 1.0);
}
