//! [`ControllerClient`]: calls to the active controller, following NOT_CONTROLLER.
//!
//! It lives here, beside the generated client, because both sides of the cluster call
//! the controller: brokers (which must not depend on rill-client) and rill-client,
//! which re-exports it.

use std::future::Future;
use std::time::Duration;

use crate::controller::controller_service_client::ControllerServiceClient;
use tonic::transport::{Channel, Endpoint};
use tonic::{Code, Status};

/// Why a call failed.
#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    /// No controller address given, or one that is not a valid address.
    #[error("bad controller address {0:?}: {1}")]
    Address(String, String),
    /// No active controller answered within the deadline.
    #[error("no active controller answered within {deadline:?} (last error: {last})")]
    NoController {
        /// The deadline.
        deadline: Duration,
        /// The last error seen.
        last: String,
    },
    /// The active controller refused the call.
    #[error("{}: {}", .0.code(), .0.message())]
    Status(Status),
}

fn channel(addr: &str) -> Result<Channel, ClientError> {
    Endpoint::from_shared(format!("http://{addr}"))
        .map(|e| {
            e.connect_timeout(Duration::from_secs(1))
                .timeout(Duration::from_secs(30))
                .tcp_nodelay(true)
                .connect_lazy()
        })
        .map_err(|e| ClientError::Address(addr.to_owned(), e.to_string()))
}

/// A client of the controller quorum.
#[derive(Debug, Clone)]
pub struct ControllerClient {
    addrs: Vec<String>,
    channels: Vec<Channel>,
    current: usize,
    /// Where the round of the known addresses is: the next one to try when the current
    /// one fails. Kept apart from `current` because a leader hint may name an
    /// address this client cannot reach (a container name, seen from the host); failing
    /// it must move on to the next listed address, not back to the one that hinted.
    round: usize,
    deadline: Duration,
}

impl ControllerClient {
    /// A client of the controllers at `addrs` ("host:port"), giving each call up to
    /// `deadline` to find the active controller.
    pub fn new(addrs: &[String], deadline: Duration) -> Result<Self, ClientError> {
        if addrs.is_empty() {
            return Err(ClientError::Address(
                String::new(),
                "no controller address given".into(),
            ));
        }
        let channels = addrs.iter().map(|a| channel(a)).collect::<Result<_, _>>()?;
        Ok(Self {
            addrs: addrs.to_vec(),
            channels,
            current: 0,
            round: 0,
            deadline,
        })
    }

    /// The index of `addr`, adding it (a leader the caller did not list) if new.
    fn index_of(&mut self, addr: &str) -> Result<usize, ClientError> {
        if let Some(i) = self.addrs.iter().position(|a| a == addr) {
            return Ok(i);
        }
        self.channels.push(channel(addr)?);
        self.addrs.push(addr.to_owned());
        Ok(self.addrs.len() - 1)
    }

    /// Moves on to the next known address in the round.
    fn next_listed(&mut self) {
        self.round = (self.round + 1) % self.addrs.len();
        self.current = self.round;
    }

    /// Calls `f` on the active controller, following NOT_CONTROLLER answers and skipping
    /// unreachable controllers until the deadline.
    pub async fn call<T, F, Fut>(&mut self, mut f: F) -> Result<T, ClientError>
    where
        F: FnMut(ControllerServiceClient<Channel>) -> Fut,
        Fut: Future<Output = Result<tonic::Response<T>, Status>>,
    {
        let start = tokio::time::Instant::now();
        let mut backoff = Duration::from_millis(20);
        // Leader hints followed without a pause; two controllers naming each other (a
        // moment during an election) must not make this spin.
        let mut hops = 0;
        loop {
            let client = ControllerServiceClient::new(self.channels[self.current].clone())
                .max_decoding_message_size(64 << 20)
                .max_encoding_message_size(64 << 20);
            let err = match f(client).await {
                Ok(r) => return Ok(r.into_inner()),
                Err(s) => s,
            };
            let retry = match err.code() {
                Code::FailedPrecondition if err.message().starts_with("NOT_CONTROLLER") => {
                    let leader = err
                        .metadata()
                        .get("rill-leader-addr")
                        .and_then(|v| v.to_str().ok());
                    match leader.map(|l| self.index_of(l)) {
                        Some(Ok(i)) if i != self.current && hops < 2 => {
                            self.current = i;
                            hops += 1;
                            continue;
                        }
                        Some(Ok(i)) if i != self.current => self.current = i,
                        _ => self.next_listed(),
                    }
                    true
                }
                // The controller could not be reached, or the connection broke (the
                // controller died mid-call): try the others. A write that did take effect
                // then answers as a repeat does in Kafka (e.g. TOPIC_ALREADY_EXISTS).
                // A deadline is not retried: the controller is alive but stuck.
                Code::Unavailable | Code::Unknown | Code::Cancelled => {
                    self.next_listed();
                    true
                }
                _ => false,
            };
            if !retry {
                return Err(ClientError::Status(err));
            }
            if start.elapsed() + backoff > self.deadline {
                return Err(ClientError::NoController {
                    deadline: self.deadline,
                    last: err.message().to_owned(),
                });
            }
            tokio::time::sleep(backoff).await;
            backoff = (backoff * 2).min(Duration::from_millis(100));
            hops = 0;
        }
    }
}
