//! The Kafka listeners of `rill broker` and `rill server`: parsing, binding, and the
//! tasks that serve them beside the broker.
//!
//! As Kafka's `listeners` / `advertised.listeners`: `kafka.listen` is a comma list of
//! `NAME://HOST:PORT` (a bare `HOST:PORT` is the `PLAINTEXT` listener, so one-listener
//! setups read as before), and `kafka.advertised` names, per listener, the address
//! clients are told to use. A client is told every broker's endpoint of the listener it
//! connected to, so one cluster can serve clients inside a container network
//! (`INTERNAL://…`, advertised as `broker1:9092`) and on the host (`EXTERNAL://…`,
//! advertised as `127.0.0.1:19091`) at once.

use std::sync::Arc;

use anyhow::{Context as _, bail};
use rill_broker::config::AdvertisedListener;
use rill_broker::replica_manager::KAFKA_LISTENER;
use rill_broker::{BrokerConfig, BrokerNode};
use rill_kafka::{KafkaConfig, KafkaContext};
use tokio::net::TcpListener;
use tokio::sync::watch;
use tokio::task::JoinHandle;

/// One `NAME://HOST:PORT` item of a listener list.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NamedAddr {
    /// The listener name (upper case, as Kafka's).
    pub name: String,
    /// `HOST:PORT`; the host may be empty (all interfaces / the advertised host).
    pub addr: String,
}

/// Parses a comma list of `NAME://HOST:PORT` or bare `HOST:PORT` (`PLAINTEXT`); names are
/// unique.
pub fn parse_listeners(list: &str) -> anyhow::Result<Vec<NamedAddr>> {
    let mut out: Vec<NamedAddr> = Vec::new();
    for item in list.split(',').map(str::trim).filter(|i| !i.is_empty()) {
        let (name, addr) = match item.split_once("://") {
            Some((n, a)) => (n.to_ascii_uppercase(), a),
            None => (KAFKA_LISTENER.to_owned(), item),
        };
        if name.is_empty() || !name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') {
            bail!("Kafka listener {item:?}: the name must be letters, digits or _");
        }
        if !addr.contains(':') {
            bail!("Kafka listener {item:?}: the address has no port (HOST:PORT)");
        }
        if out.iter().any(|l| l.name == name) {
            bail!("Kafka listener {name} is named twice in {list:?}");
        }
        out.push(NamedAddr {
            name,
            addr: addr.to_owned(),
        });
    }
    if out.is_empty() {
        bail!("no Kafka listener in {list:?} (say \"none\" to serve none)");
    }
    Ok(out)
}

/// What each listener advertises: its entry in `advertised` when there is one, else, as
/// Kafka defaults `advertised.listeners` to `listeners`, the address it listens on —
/// with `default_host` for a wildcard host (0.0.0.0, `::`, empty) and the port it is
/// bound to (`bound`: each listener as asked for, and its port). An advertised name that
/// is not a listener is refused (a typo would otherwise go unnoticed).
pub fn advertise(
    bound: &[(NamedAddr, u16)],
    advertised: &[NamedAddr],
    default_host: &str,
) -> anyhow::Result<Vec<AdvertisedListener>> {
    if let Some(a) = advertised
        .iter()
        .find(|a| !bound.iter().any(|(l, _)| l.name == a.name))
    {
        bail!(
            "Kafka advertised listener {} has no Kafka listener of that name",
            a.name
        );
    }
    bound
        .iter()
        .map(|(listen, bound_port)| {
            let name = &listen.name;
            let (host, port) = match advertised.iter().find(|a| a.name == *name) {
                Some(a) => {
                    let (h, p) = a.addr.rsplit_once(':').expect("checked by parse");
                    let p = p
                        .parse()
                        .with_context(|| format!("Kafka advertised port of {name}: {p:?}"))?;
                    (if h.is_empty() { default_host } else { h }, p)
                }
                None => match listen.addr.rsplit_once(':').expect("checked by parse").0 {
                    "" | "0.0.0.0" | "[::]" | "::" => (default_host, *bound_port),
                    h => (h, *bound_port),
                },
            };
            Ok(AdvertisedListener {
                name: name.clone(),
                host: host.to_owned(),
                port,
            })
        })
        .collect()
}

/// Bound Kafka listeners, not yet serving.
#[derive(Debug)]
pub struct BoundKafka {
    listeners: Vec<(String, TcpListener)>,
    config: KafkaConfig,
}

/// Serving Kafka listeners.
#[derive(Debug)]
pub struct RunningKafka {
    stop: watch::Sender<bool>,
    tasks: Vec<JoinHandle<()>>,
}

/// Checks `kafka.advertised` against `kafka.listen` before anything binds: every
/// advertised name must be a listener (a typo would otherwise go unnoticed).
pub fn check_advertised(listen: &str, advertised: Option<&str>) -> anyhow::Result<()> {
    let Some(advertised) = advertised else {
        return Ok(());
    };
    if listen == "none" {
        bail!("kafka.advertised is set but kafka.listen is none");
    }
    let listeners = parse_listeners(listen)?;
    for a in parse_listeners(advertised)? {
        if !listeners.iter().any(|l| l.name == a.name) {
            bail!(
                "kafka.advertised names the listener {}, which kafka.listen does not have",
                a.name
            );
        }
    }
    Ok(())
}

/// Binds the listeners of `listen` (the checked `kafka.listen`) and records what the
/// broker advertises (`advertised`: the checked `kafka.advertised`) in `config`. `None`
/// when the listeners are turned off with "none".
pub async fn bind(
    listen: &str,
    advertised: Option<&str>,
    config: &mut BrokerConfig,
) -> anyhow::Result<Option<BoundKafka>> {
    if listen == "none" {
        return Ok(None);
    }
    let wanted = parse_listeners(listen)?;
    let advertised = match advertised {
        Some(a) => parse_listeners(a).context("kafka.advertised")?,
        None => Vec::new(),
    };
    let mut listeners = Vec::new();
    for l in &wanted {
        // Kafka's `NAME://:PORT` means every interface.
        let addr = match l.addr.strip_prefix(':') {
            Some(port) => format!("0.0.0.0:{port}"),
            None => l.addr.clone(),
        };
        let listener = TcpListener::bind(&addr)
            .await
            .with_context(|| format!("Kafka listener {}: listening on {addr}", l.name))?;
        listeners.push((l.name.clone(), listener));
    }
    let bound: Vec<(NamedAddr, u16)> = wanted
        .into_iter()
        .zip(&listeners)
        .map(|(w, (_, l))| Ok((w, l.local_addr()?.port())))
        .collect::<std::io::Result<_>>()?;
    config.kafka_advertised = advertise(&bound, &advertised, &config.advertised_host)?;
    Ok(Some(BoundKafka {
        listeners,
        config: KafkaConfig::default(),
    }))
}

impl BoundKafka {
    /// Serves Kafka clients beside `node`, each listener with its own name and all of
    /// them sharing the broker's Kafka state (groups, producer ids).
    pub fn serve(self, node: &BrokerNode) -> RunningKafka {
        let ctx = KafkaContext::new(
            node.replicas().config.broker_id,
            Arc::clone(node.replicas()),
            node.controllers().clone(),
            self.config,
        );
        let (stop, stop_rx) = watch::channel(false);
        let tasks = self
            .listeners
            .into_iter()
            .map(|(name, listener)| {
                tokio::spawn(rill_kafka::serve(
                    listener,
                    ctx.for_listener(&name),
                    stop_rx.clone(),
                ))
            })
            .collect();
        RunningKafka { stop, tasks }
    }
}

impl RunningKafka {
    /// Stops accepting and closes every connection (after the broker's controlled
    /// shutdown, as Kafka closes its socket server last).
    pub async fn stop(self) {
        let _ = self.stop.send(true);
        // In turn: every task is already stopping.
        let all = async {
            for t in self.tasks {
                let _ = t.await;
            }
        };
        let _ = tokio::time::timeout(std::time::Duration::from_secs(5), all).await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn named(name: &str, addr: &str) -> NamedAddr {
        NamedAddr {
            name: name.to_owned(),
            addr: addr.to_owned(),
        }
    }

    #[test]
    fn a_bare_address_is_the_plaintext_listener() {
        assert_eq!(
            parse_listeners("127.0.0.1:9092").unwrap(),
            vec![named("PLAINTEXT", "127.0.0.1:9092")]
        );
    }

    #[test]
    fn named_listeners_parse_in_order() {
        assert_eq!(
            parse_listeners("internal://0.0.0.0:9092, EXTERNAL://:19092").unwrap(),
            vec![
                named("INTERNAL", "0.0.0.0:9092"),
                named("EXTERNAL", ":19092")
            ]
        );
    }

    #[test]
    fn bad_lists_are_refused_with_the_item() {
        for (list, says) in [
            ("A://h:1,a://h:2", "named twice"),
            ("A://nohost", "no port"),
            ("A-B://h:1", "letters"),
            (" , ", "no Kafka listener"),
        ] {
            let e = parse_listeners(list).unwrap_err().to_string();
            assert!(e.contains(says), "{list:?}: {e}");
        }
    }

    #[test]
    fn each_listener_advertises_its_own_address_or_where_it_listens() {
        let bound = [
            (named("INTERNAL", "0.0.0.0:9092"), 9092),
            (named("EXTERNAL", "0.0.0.0:19092"), 19092),
            (named("LOCAL", "127.0.0.2:0"), 4000),
        ];
        let adv = advertise(&bound, &[named("EXTERNAL", "127.0.0.1:19091")], "broker1").unwrap();
        let got: Vec<(&str, &str, u16)> = adv
            .iter()
            .map(|l| (l.name.as_str(), l.host.as_str(), l.port))
            .collect();
        assert_eq!(
            got,
            [
                ("INTERNAL", "broker1", 9092),
                ("EXTERNAL", "127.0.0.1", 19091),
                ("LOCAL", "127.0.0.2", 4000),
            ]
        );
    }

    #[test]
    fn an_advertised_name_without_a_listener_is_refused() {
        let bound = [(named("PLAINTEXT", "0.0.0.0:9092"), 9092)];
        let e = advertise(&bound, &[named("EXTERNAL", "h:1")], "h").unwrap_err();
        assert!(e.to_string().contains("EXTERNAL"), "{e}");
    }
}
