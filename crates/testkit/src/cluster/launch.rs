//! Laying a cluster out: ports, fault proxies, and each process's command line.
//!
//! Each controller gets one port; each broker two: its gRPC `--listen` port and its
//! Kafka listener's (`--kafka-listen 127.0.0.1:<port>`, which it advertises to Kafka
//! clients as `127.0.0.1:<port>`), and with a second Kafka listener one more, on
//! 127.0.0.2; every process also gets an HTTP endpoint port
//! (`--http-listen`: /metrics, /healthz, /readyz). Ports are found by binding 127.0.0.1:0. The reservations are held until every proxy
//! is bound (so no proxy takes a port meant for a server) and released just before the
//! servers start; another program could still take one in that gap, which `start`
//! detects (a server exits with "Address already in use") and retries.

use std::collections::BTreeMap;
use std::ffi::OsString;
use std::net::TcpListener;
use std::path::Path;

use rill_types::{BrokerId, NodeId};
use tokio::runtime::Handle;

use crate::error::{IoContext as _, Result};
use crate::process::Process;
use crate::proxy::FaultProxy;
use crate::spec::ClusterSpec;

/// The children's log filter unless the test's environment sets `RILL_LOG`.
const DEFAULT_LOG_FILTER: &str = "info,openraft=warn";

/// Everything a cluster runs, not yet started.
pub(super) struct Layout {
    pub(super) controllers: BTreeMap<NodeId, Process>,
    pub(super) brokers: BTreeMap<BrokerId, Process>,
    /// Each broker's Kafka listener address ("127.0.0.1:port").
    pub(super) kafka_addrs: BTreeMap<BrokerId, String>,
    /// Each broker's second Kafka listener address ("127.0.0.2:port"), if any.
    pub(super) second_kafka_addrs: BTreeMap<BrokerId, String>,
    /// Each controller's HTTP endpoint address.
    pub(super) controller_http: BTreeMap<NodeId, String>,
    /// Each broker's HTTP endpoint address.
    pub(super) broker_http: BTreeMap<BrokerId, String>,
    /// (follower, leader) → the proxy the follower reaches the leader through.
    pub(super) links: BTreeMap<(BrokerId, BrokerId), FaultProxy>,
}

/// Lays out the cluster `spec` describes: data and logs under `dir`, proxies on
/// `runtime`, every server running `binary`.
pub(super) fn layout(
    spec: &ClusterSpec,
    binary: &Path,
    runtime: &Handle,
    dir: &Path,
) -> Result<Layout> {
    let reserved = reserve_ports(2 * spec.controllers + 3 * spec.brokers)?;
    let addrs: Vec<String> = reserved
        .iter()
        .map(|l| {
            Ok(l.local_addr()
                .io("read port of", "127.0.0.1:0")?
                .to_string())
        })
        .collect::<Result<_>>()?;
    let (controller_addrs, rest) = addrs.split_at(spec.controllers);
    let (broker_addrs, rest) = rest.split_at(spec.brokers);
    let (kafka_addrs, rest) = rest.split_at(spec.brokers);
    let (controller_http, broker_http) = rest.split_at(spec.controllers);
    let controller_http: BTreeMap<NodeId, String> = (1..)
        .map(NodeId::new)
        .zip(controller_http.iter().cloned())
        .collect();
    let broker_http: BTreeMap<BrokerId, String> = (1..)
        .map(BrokerId::new)
        .zip(broker_http.iter().cloned())
        .collect();
    let broker_addrs: BTreeMap<BrokerId, &String> =
        (1..).map(BrokerId::new).zip(broker_addrs).collect();
    let kafka_addrs: BTreeMap<BrokerId, String> = (1..)
        .map(BrokerId::new)
        .zip(kafka_addrs.iter().cloned())
        .collect();
    let second = match spec.second_kafka_listener {
        Some(_) => reserve_ports_on("127.0.0.2", spec.brokers)?,
        None => Vec::new(),
    };
    let second_kafka_addrs = (1..)
        .map(BrokerId::new)
        .zip(&second)
        .map(|(id, l)| {
            Ok((
                id,
                l.local_addr()
                    .io("read port of", "127.0.0.2:0")?
                    .to_string(),
            ))
        })
        .collect::<Result<BTreeMap<_, _>>>()?;

    let mut links = BTreeMap::new();
    if spec.fault_proxies {
        for &follower in broker_addrs.keys() {
            for (&leader, leader_addr) in &broker_addrs {
                if follower != leader {
                    let target = leader_addr.parse().expect("a socket address");
                    let proxy = FaultProxy::start(runtime, target)
                        .io("start fault proxy", "127.0.0.1:0")?;
                    links.insert((follower, leader), proxy);
                }
            }
        }
    }
    drop(reserved);
    drop(second);

    let process = |name: String, file: String, argv: Vec<OsString>, listen: &str| {
        let mut argv = argv;
        argv.extend(["--data-dir".into(), dir.join(&file).into_os_string()]);
        let log = dir.join(format!("{file}.log"));
        Process::new(
            name,
            binary.to_owned(),
            argv,
            child_env(&spec.env),
            listen.to_owned(),
            log,
        )
    };
    let voters = controller_addrs
        .iter()
        .enumerate()
        .map(|(i, a)| format!("{}@{a}", i + 1))
        .collect::<Vec<_>>()
        .join(",");
    let mut controllers = BTreeMap::new();
    for (i, listen) in controller_addrs.iter().enumerate() {
        let id = NodeId::new(i as u64 + 1);
        let mut argv = args(&["controller", "--node-id", &id.to_string()]);
        argv.extend(args(&["--listen", listen, "--voters", &voters]));
        argv.extend(args(&["--http-listen", &controller_http[&id]]));
        if let Some(ms) = spec.broker_session_timeout_ms {
            argv.extend(args(&["--broker-session-timeout-ms", &ms.to_string()]));
        }
        let name = format!("controller {id}");
        controllers.insert(id, process(name, format!("controller-{id}"), argv, listen));
    }
    let mut brokers = BTreeMap::new();
    for (i, (&id, listen)) in broker_addrs.iter().enumerate() {
        let mut argv = args(&["broker", "--broker-id", &id.to_string()]);
        let kafka_listen = match (&spec.second_kafka_listener, second_kafka_addrs.get(&id)) {
            (Some(name), Some(addr)) => format!("{},{name}://{addr}", kafka_addrs[&id]),
            _ => kafka_addrs[&id].clone(),
        };
        argv.extend(args(&[
            "--listen",
            listen,
            "--kafka-listen",
            &kafka_listen,
            "--controllers",
            &controller_addrs.join(","),
            "--http-listen",
            &broker_http[&id],
        ]));
        if let Some(racks) = &spec.racks {
            argv.extend(args(&["--rack", &racks[i]]));
        }
        for ((follower, leader), proxy) in &links {
            if *follower == id {
                argv.extend(args(&[
                    "--peer-address",
                    &format!("{leader}={}", proxy.addr()),
                ]));
            }
        }
        for (key, value) in &spec.broker_settings {
            argv.extend(args(&["--set", &format!("{key}={value}")]));
        }
        let name = format!("broker {id}");
        brokers.insert(id, process(name, format!("broker-{id}"), argv, listen));
    }
    Ok(Layout {
        controllers,
        brokers,
        kafka_addrs,
        second_kafka_addrs,
        controller_http,
        broker_http,
        links,
    })
}

/// `n` listeners on distinct free ports of 127.0.0.1, held until dropped.
fn reserve_ports(n: usize) -> Result<Vec<TcpListener>> {
    reserve_ports_on("127.0.0.1", n)
}

/// `n` listeners on distinct free ports of `host`, held until dropped.
fn reserve_ports_on(host: &str, n: usize) -> Result<Vec<TcpListener>> {
    let any = format!("{host}:0");
    (0..n)
        .map(|_| TcpListener::bind(&any).io("bind", any.as_str()))
        .collect()
}

fn args(items: &[&str]) -> Vec<OsString> {
    items.iter().map(OsString::from).collect()
}

/// Environment for the children: the test's own, plus a log filter unless it sets one,
/// no colour codes (the logs are files), and the spec's `extra` variables.
fn child_env(extra: &[(String, String)]) -> Vec<(String, String)> {
    let mut env = vec![("NO_COLOR".to_owned(), "1".to_owned())];
    env.extend(extra.iter().cloned());
    if std::env::var_os("RILL_LOG").is_none() {
        env.push(("RILL_LOG".to_owned(), DEFAULT_LOG_FILTER.to_owned()));
    }
    env
}
