//! Exit codes scripts can trust, and the reachability check behind code 3.
//!
//! | code | meaning |
//! |---|---|
//! | 0 | success |
//! | 1 | the cluster refused, or the operation failed (topic exists, group not empty, ...) |
//! | 2 | usage error: clap's own, or an argument the command could not use |
//! | 3 | the cluster could not be reached (no address answered) |
//!
//! Commands return `anyhow` errors; [`code`] reads the chain for the marker types
//! [`Unreachable`] and [`Usage`] and for the clients' own "could not reach" errors.

use std::fmt;
use std::time::Duration;

use rill_client::{ClientError, DataError};
use tokio::net::TcpStream;
use tokio::task::JoinSet;

/// Success.
pub const OK: u8 = 0;
/// Refused by the cluster, or failed.
pub const FAILED: u8 = 1;
/// Usage error (clap exits with this code too).
pub const USAGE: u8 = 2;
/// The cluster could not be reached.
pub const UNREACHABLE: u8 = 3;

/// How long the connection attempt to the given addresses may take, name lookup
/// included, before the command gives up with code 3.
pub const CONNECT_TIMEOUT: Duration = Duration::from_secs(3);

/// No address of `what` could be connected to: each address tried and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Unreachable {
    /// "controllers" or "brokers".
    pub what: &'static str,
    /// (address, what failed), in the order given.
    pub tried: Vec<(String, String)>,
}

impl fmt::Display for Unreachable {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let tried: Vec<String> = self
            .tried
            .iter()
            .map(|(addr, why)| format!("{addr} ({why})"))
            .collect();
        write!(f, "could not reach the {}: {}", self.what, tried.join(", "))
    }
}

impl std::error::Error for Unreachable {}

/// An argument the command could not use (exit code 2, as clap's usage errors).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Usage(pub String);

impl fmt::Display for Usage {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for Usage {}

/// A usage error as an `anyhow` error.
pub fn usage(message: impl Into<String>) -> anyhow::Error {
    anyhow::Error::new(Usage(message.into()))
}

/// The exit code of a failed command.
pub fn code(err: &anyhow::Error) -> u8 {
    for cause in err.chain() {
        if cause.is::<Unreachable>() {
            return UNREACHABLE;
        }
        if cause.is::<Usage>() {
            return USAGE;
        }
        if let Some(ClientError::NoController { .. }) = cause.downcast_ref::<ClientError>() {
            return UNREACHABLE;
        }
        if let Some(DataError::Unreachable { .. }) = cause.downcast_ref::<DataError>() {
            return UNREACHABLE;
        }
    }
    FAILED
}

/// Succeeds once any of `addrs` ("host:port", or a URI with a scheme) accepts a TCP
/// connection within [`CONNECT_TIMEOUT`]; otherwise names every address and what
/// failed for it: the name not resolved, the connection refused, or timed out.
pub async fn probe(what: &'static str, addrs: &[String]) -> Result<(), Unreachable> {
    let mut attempts = JoinSet::new();
    for (i, addr) in addrs.iter().enumerate() {
        let host_port = addr
            .split_once("://")
            .map_or(addr.as_str(), |(_, rest)| rest)
            .trim_end_matches('/')
            .to_owned();
        attempts.spawn(async move {
            let r = tokio::time::timeout(CONNECT_TIMEOUT, connect(&host_port)).await;
            (
                i,
                r.unwrap_or_else(|_| Err(format!("timed out after {CONNECT_TIMEOUT:?}"))),
            )
        });
    }
    let mut tried: Vec<(usize, String)> = Vec::new();
    while let Some(joined) = attempts.join_next().await {
        match joined {
            Ok((_, Ok(()))) => return Ok(()),
            Ok((i, Err(why))) => tried.push((i, why)),
            Err(e) => tried.push((usize::MAX, format!("probe failed: {e}"))),
        }
    }
    tried.sort();
    Err(Unreachable {
        what,
        tried: tried
            .into_iter()
            .map(|(i, why)| (addrs.get(i).cloned().unwrap_or_default(), why))
            .collect(),
    })
}

/// One address: resolve, then try each resolved address.
async fn connect(addr: &str) -> Result<(), String> {
    let resolved: Vec<_> = tokio::net::lookup_host(addr)
        .await
        .map_err(|e| format!("name not resolved: {e}"))?
        .collect();
    let mut last = "name resolved to no address".to_owned();
    for a in resolved {
        match TcpStream::connect(a).await {
            Ok(_) => return Ok(()),
            Err(e) if e.kind() == std::io::ErrorKind::ConnectionRefused => {
                last = "connection refused".to_owned();
            }
            Err(e) if e.kind() == std::io::ErrorKind::TimedOut => last = "timed out".to_owned(),
            Err(e) => last = e.to_string(),
        }
    }
    Err(last)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn markers_and_client_errors_map_to_their_codes() {
        let unreachable = anyhow::Error::new(Unreachable {
            what: "brokers",
            tried: vec![("h:1".into(), "connection refused".into())],
        })
        .context("listing groups");
        assert_eq!(code(&unreachable), UNREACHABLE);
        assert_eq!(code(&usage("bad").context("x")), USAGE);
        let no_controller = anyhow::Error::new(ClientError::NoController {
            deadline: Duration::from_secs(1),
            last: "x".into(),
        });
        assert_eq!(code(&no_controller), UNREACHABLE);
        let data = anyhow::Error::new(DataError::Unreachable {
            broker: "h:1".into(),
            message: "refused".into(),
            maybe_written: false,
        });
        assert_eq!(code(&data), UNREACHABLE);
        assert_eq!(code(&anyhow::anyhow!("TOPIC_ALREADY_EXISTS")), FAILED);
    }

    #[test]
    fn the_message_names_every_address_and_its_failure() {
        let u = Unreachable {
            what: "controllers",
            tried: vec![
                ("a:1".into(), "connection refused".into()),
                ("b:2".into(), "name not resolved: x".into()),
            ],
        };
        assert_eq!(
            u.to_string(),
            "could not reach the controllers: a:1 (connection refused), b:2 (name not resolved: x)"
        );
    }

    #[tokio::test]
    async fn a_closed_port_is_refused_and_an_open_one_passes() {
        let open = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let closed_addr = closed.local_addr().unwrap().to_string();
        drop(closed);
        let err = probe("brokers", std::slice::from_ref(&closed_addr))
            .await
            .unwrap_err();
        assert_eq!(
            err.tried,
            vec![(closed_addr.clone(), "connection refused".into())]
        );
        let both = [closed_addr, open.local_addr().unwrap().to_string()];
        probe("brokers", &both).await.unwrap();
        let bad = probe("brokers", &["no-such-host.invalid:1".to_owned()])
            .await
            .unwrap_err();
        assert!(bad.tried[0].1.starts_with("name not resolved"), "{bad}");
    }
}
