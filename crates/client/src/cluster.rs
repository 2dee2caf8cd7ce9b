//! [`Cluster`]: the metadata cache and broker connections that a [`Producer`] or
//! [`Consumer`] (and all its clones) share.
//!
//! - One lazily connected tonic `Channel` per broker address (connect timeout 1 s),
//!   dropped once the address is neither a bootstrap address nor in the metadata.
//! - One merged [`ClusterView`] for the topics this client has used, refreshed when a
//!   topic is missing, when older than `metadata_max_age`, and after a failed attempt.
//! - Refreshes are single-flight: a caller that needs a refresh waits for the one in
//!   progress and uses its result if it began after the caller's view was taken
//!   (tracked by a generation counter), so a burst of failures costs one `Metadata` call.
//! - Each refresh asks the next broker in turn (bootstrap and known brokers, sorted), so
//!   one lagging or partitioned broker cannot pin the client to a stale view.
//!
//! The lock over the state is never held across an await.
//!
//! [`Producer`]: crate::Producer
//! [`Consumer`]: crate::Consumer

use std::collections::{BTreeMap, BTreeSet};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use rill_proto::data::MetadataRequest;
use tokio::time::Instant;
use tonic::transport::{Channel, Endpoint};

use crate::call::{Target, call, data_client};
use crate::{ClusterView, DataError};

/// How long a connection attempt to one broker may take.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(1);

/// The cache's timing.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Settings {
    /// The longest wait for one `Metadata` answer.
    pub request_timeout: Duration,
    /// Views older than this are refreshed before use.
    pub metadata_max_age: Duration,
}

/// A view and the generation it belongs to; an attempt that fails with it passes the
/// generation back to [`Cluster::view_for`] to ask for a newer one.
#[derive(Debug, Clone)]
pub(crate) struct Snapshot {
    pub view: Arc<ClusterView>,
    pub generation: u64,
}

/// The shared cache; see the module docs.
#[derive(Debug)]
pub(crate) struct Cluster {
    bootstrap: Vec<String>,
    settings: Settings,
    state: Mutex<State>,
    /// Held by the one refresh in flight.
    refresh_gate: tokio::sync::Mutex<()>,
}

#[derive(Debug)]
struct State {
    view: Arc<ClusterView>,
    /// Bumped by every refresh; 0 before the first.
    generation: u64,
    refreshed_at: Option<Instant>,
    /// Topics each refresh asks about: every topic this client has used (bounded by
    /// what the caller uses).
    wanted: BTreeSet<String>,
    /// By address, "host:port".
    channels: BTreeMap<String, Channel>,
    /// Which metadata source the next refresh starts with.
    next_source: usize,
}

impl Cluster {
    /// A cache that starts from `bootstrap` ("host:port" of any brokers). Contacts
    /// nothing; fails on an empty list or a malformed address.
    pub(crate) fn new(bootstrap: &[String], settings: Settings) -> Result<Cluster, DataError> {
        if bootstrap.is_empty() {
            return Err(DataError::InvalidArgument(
                "no bootstrap broker given".into(),
            ));
        }
        for addr in bootstrap {
            endpoint(addr)?;
        }
        Ok(Cluster {
            bootstrap: bootstrap.to_vec(),
            settings,
            state: Mutex::new(State {
                view: Arc::default(),
                generation: 0,
                refreshed_at: None,
                wanted: BTreeSet::new(),
                channels: BTreeMap::new(),
                next_source: 0,
            }),
            refresh_gate: tokio::sync::Mutex::new(()),
        })
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        // A panic while holding the lock leaves consistent data (every update is one
        // assignment), so a poisoned lock is still usable.
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The connection to `addr`, created on first use (within the caller's runtime).
    pub(crate) fn channel(&self, addr: &str) -> Result<Channel, DataError> {
        let mut state = self.lock();
        if let Some(channel) = state.channels.get(addr) {
            return Ok(channel.clone());
        }
        let channel = endpoint(addr)?.connect_lazy();
        state.channels.insert(addr.to_owned(), channel.clone());
        Ok(channel)
    }

    /// A view that describes `topic`: the cached one when it has the topic, is younger
    /// than `metadata_max_age` and is newer than `failed` (the generation of a view an
    /// attempt just failed with); otherwise a refreshed one.
    pub(crate) async fn view_for(
        &self,
        topic: &str,
        failed: Option<u64>,
        deadline: Instant,
    ) -> Result<Snapshot, DataError> {
        let seen = {
            let mut state = self.lock();
            if !state.wanted.contains(topic) {
                state.wanted.insert(topic.to_owned());
            }
            let max_age = self.settings.metadata_max_age;
            let fresh = state.refreshed_at.is_some_and(|t| t.elapsed() < max_age);
            let known = state.view.topics.contains_key(topic);
            let invalidated = failed.is_some_and(|g| g >= state.generation);
            if fresh && known && !invalidated {
                return Ok(snapshot(&state));
            }
            state.generation
        };
        self.refresh(seen, deadline).await
    }

    /// A `Metadata` answer for `topics` (all topics when empty) from any broker, merged
    /// into the cache as well.
    pub(crate) async fn metadata(
        &self,
        topics: &[String],
        deadline: Instant,
    ) -> Result<ClusterView, DataError> {
        let view = self.query(topics.to_vec(), deadline).await?;
        let mut state = self.lock();
        Arc::make_mut(&mut state.view).merge(view.clone());
        Ok(view)
    }

    /// Refreshes the view unless a refresh that began after generation `seen` did so.
    async fn refresh(&self, seen: u64, deadline: Instant) -> Result<Snapshot, DataError> {
        let waited_from = Instant::now();
        let _gate = tokio::time::timeout_at(deadline, self.refresh_gate.lock())
            .await
            .map_err(|_| DataError::Timeout {
                operation: "waiting for another caller's metadata refresh".into(),
                after: waited_from.elapsed(),
                maybe_written: false,
            })?;
        let topics: Vec<String> = {
            let state = self.lock();
            if state.generation > seen {
                return Ok(snapshot(&state));
            }
            state.wanted.iter().cloned().collect()
        };
        let answer = self.query(topics, deadline).await?;
        let mut state = self.lock();
        Arc::make_mut(&mut state.view).merge(answer);
        state.generation += 1;
        state.refreshed_at = Some(Instant::now());
        let live: BTreeSet<String> = self
            .bootstrap
            .iter()
            .cloned()
            .chain(state.view.brokers.values().map(|b| b.addr.clone()))
            .collect();
        state.channels.retain(|addr, _| live.contains(addr));
        Ok(snapshot(&state))
    }

    /// Asks the metadata sources in turn, starting with the next one, until one answers
    /// or the deadline passes; returns the last failure if none answers.
    async fn query(
        &self,
        topics: Vec<String>,
        deadline: Instant,
    ) -> Result<ClusterView, DataError> {
        let started = Instant::now();
        let sources: Vec<String> = {
            let mut state = self.lock();
            let all: BTreeSet<&String> = self
                .bootstrap
                .iter()
                .chain(state.view.brokers.values().map(|b| &b.addr))
                .collect();
            let mut all: Vec<String> = all.into_iter().cloned().collect();
            let start = state.next_source % all.len();
            all.rotate_left(start);
            state.next_source = state.next_source.wrapping_add(1);
            all
        };
        let mut last = None;
        for addr in &sources {
            let now = Instant::now();
            if now >= deadline {
                break;
            }
            let wait = self.settings.request_timeout.min(deadline - now);
            let mut client = match self.channel(addr) {
                Ok(channel) => data_client(channel),
                Err(e) => {
                    last = Some(e); // a malformed address in an answer: try the others
                    continue;
                }
            };
            let target = Target {
                rpc: "Metadata",
                broker: addr,
                writes: false,
            };
            let request = MetadataRequest {
                topics: topics.clone(),
            };
            match call(target, wait, client.metadata(request)).await {
                Ok(answer) => return ClusterView::from_response(answer),
                Err(e) => last = Some(e),
            }
        }
        // No source was tried: the deadline had passed.
        Err(last.unwrap_or_else(|| DataError::Timeout {
            operation: format!("Metadata from any of {sources:?}"),
            after: started.elapsed(),
            maybe_written: false,
        }))
    }
}

fn snapshot(state: &State) -> Snapshot {
    Snapshot {
        view: Arc::clone(&state.view),
        generation: state.generation,
    }
}

/// The endpoint of a broker address: "host:port", or a full "http://host:port" URI.
fn endpoint(addr: &str) -> Result<Endpoint, DataError> {
    let uri = if addr.contains("://") {
        addr.to_owned()
    } else {
        format!("http://{addr}")
    };
    Endpoint::from_shared(uri)
        .map(|e| e.connect_timeout(CONNECT_TIMEOUT).tcp_nodelay(true))
        .map_err(|e| DataError::InvalidArgument(format!("bad broker address {addr:?}: {e}")))
}
