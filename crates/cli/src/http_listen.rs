//! The HTTP endpoint of every server process (`rill controller`, `rill broker`,
//! `rill server`): `GET /metrics` (Prometheus text format), `/healthz` (200 while the
//! process runs) and `/readyz` (200 once every role it runs is ready, else 503 with the
//! reason, one line per role).
//!
//! The endpoint is bound before the roles start, so a probe can tell "starting" from
//! "dead": until a role has started, `/readyz` says it is starting. Gauges that are
//! computed from state (under-replicated partitions, Raft indexes) are refreshed on
//! each scrape; counters are bumped where things happen, in the library crates, through
//! the `metrics` facade.

use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;

use anyhow::Context as _;
use axum::Router;
use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::IntoResponse;
use axum::routing::get;
use metrics_exporter_prometheus::{Matcher, PrometheusBuilder, PrometheusHandle};
use rill_broker::node::BrokerProbe;
use rill_controller::node::ControllerProbe;
use tokio::net::TcpListener;
use tokio::sync::watch;
use tokio::task::JoinHandle;

/// A role's probe, once the role has started.
#[derive(Debug, Clone)]
enum Probe {
    Controller(ControllerProbe),
    Broker(BrokerProbe),
}

impl Probe {
    fn name(&self) -> &'static str {
        match self {
            Probe::Controller(_) => "controller",
            Probe::Broker(_) => "broker",
        }
    }

    fn readiness(&self) -> Result<(), String> {
        match self {
            Probe::Controller(p) => p.readiness(),
            Probe::Broker(p) => p.readiness(),
        }
    }

    fn refresh(&self) {
        match self {
            Probe::Controller(p) => p.refresh_metrics(),
            Probe::Broker(p) => p.refresh_metrics(),
        }
    }
}

/// What the endpoints report: the roles this process runs and, for each started one,
/// its probe. Cheap to clone.
#[derive(Debug, Clone, Default)]
pub struct Roles {
    inner: Arc<Mutex<RolesInner>>,
}

#[derive(Debug, Default)]
struct RolesInner {
    controller: Option<Slot>,
    broker: Option<Slot>,
}

/// A role this process runs: started (with its probe), or still starting.
#[derive(Debug, Clone)]
enum Slot {
    Starting,
    Started(Probe),
    Stopping,
}

impl Roles {
    /// A process running a controller and/or a broker, none started yet.
    pub fn new(controller: bool, broker: bool) -> Self {
        let roles = Self::default();
        {
            let mut inner = roles.lock();
            inner.controller = controller.then_some(Slot::Starting);
            inner.broker = broker.then_some(Slot::Starting);
        }
        roles
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, RolesInner> {
        self.inner.lock().expect("roles lock poisoned")
    }

    /// The controller role has started.
    pub fn controller_started(&self, probe: ControllerProbe) {
        self.lock().controller = Some(Slot::Started(Probe::Controller(probe)));
    }

    /// The broker role has started.
    pub fn broker_started(&self, probe: BrokerProbe) {
        self.lock().broker = Some(Slot::Started(Probe::Broker(probe)));
    }

    /// The process is shutting down: no longer ready (load balancers stop sending).
    pub fn stopping(&self) {
        let mut inner = self.lock();
        let RolesInner { controller, broker } = &mut *inner;
        for slot in [controller, broker].into_iter().flatten() {
            *slot = Slot::Stopping;
        }
    }

    fn slots(&self) -> Vec<(&'static str, Slot)> {
        let inner = self.lock();
        [("controller", &inner.controller), ("broker", &inner.broker)]
            .into_iter()
            .filter_map(|(name, slot)| slot.clone().map(|s| (name, s)))
            .collect()
    }

    /// Every role's readiness: `(all ready, one line per role)`.
    pub fn readiness(&self) -> (bool, String) {
        let mut ready = true;
        let mut text = String::new();
        for (name, slot) in self.slots() {
            let line = match slot {
                Slot::Starting => Err("starting".to_owned()),
                Slot::Stopping => Err("shutting down".to_owned()),
                Slot::Started(p) => p.readiness(),
            };
            match line {
                Ok(()) => text.push_str(&format!("{name}: ready\n")),
                Err(why) => {
                    ready = false;
                    text.push_str(&format!("{name}: not ready: {why}\n"));
                }
            }
        }
        (ready, text)
    }

    fn refresh(&self) {
        for (_, slot) in self.slots() {
            if let Slot::Started(p) = slot {
                tracing::trace!(role = p.name(), "refreshing gauges");
                p.refresh();
            }
        }
    }
}

/// The process-wide Prometheus recorder, installed on first use: every metric of the
/// library crates is described, request latencies are histograms (not summaries), and
/// `rill_build_info` carries the version.
fn recorder() -> anyhow::Result<PrometheusHandle> {
    static HANDLE: OnceLock<PrometheusHandle> = OnceLock::new();
    if let Some(h) = HANDLE.get() {
        return Ok(h.clone());
    }
    let handle = PrometheusBuilder::new()
        .set_buckets_for_metric(
            Matcher::Suffix("_seconds".to_owned()),
            rill_kafka::metrics::REQUEST_BUCKETS,
        )
        .context("metrics buckets")?
        .install_recorder()
        .context("installing the metrics recorder")?;
    rill_broker::metrics::describe();
    rill_controller::metrics::describe();
    rill_kafka::metrics::describe();
    metrics::describe_gauge!(
        "rill_build_info",
        "Always 1; the label `version` is rill's."
    );
    metrics::gauge!("rill_build_info", "version" => env!("CARGO_PKG_VERSION")).set(1.0);
    Ok(HANDLE.get_or_init(|| handle).clone())
}

/// A serving HTTP endpoint.
#[derive(Debug)]
pub struct RunningHttp {
    stop: watch::Sender<bool>,
    task: JoinHandle<()>,
}

impl RunningHttp {
    /// Stops serving (bounded: at most 2 s for open requests).
    pub async fn stop(self) {
        let _ = self.stop.send(true);
        let _ = tokio::time::timeout(Duration::from_secs(2), self.task).await;
    }
}

#[derive(Clone)]
struct AppState {
    roles: Roles,
    metrics: PrometheusHandle,
}

/// Binds the endpoint at `listen` (the checked `http.listen`) and serves it for
/// `roles`. `None` when turned off with "none".
pub async fn serve(listen: &str, roles: Roles) -> anyhow::Result<Option<RunningHttp>> {
    if listen == "none" {
        return Ok(None);
    }
    let listener = TcpListener::bind(listen)
        .await
        .with_context(|| format!("HTTP endpoint: listening on {listen}"))?;
    let addr = listener.local_addr()?;
    let state = AppState {
        roles,
        metrics: recorder()?,
    };
    let upkeep = state.metrics.clone();
    let app = Router::new()
        .route("/metrics", get(metrics_page))
        .route("/healthz", get(|| async { "ok\n" }))
        .route("/readyz", get(ready_page))
        .with_state(state);
    let (stop, mut stop_rx) = watch::channel(false);
    let task = tokio::spawn(async move {
        // Histograms keep raw samples until upkeep folds them in; bound that.
        let mut stop_upkeep = stop_rx.clone();
        tokio::spawn(async move {
            loop {
                tokio::select! {
                    _ = tokio::time::sleep(Duration::from_secs(5)) => upkeep.run_upkeep(),
                    _ = stop_upkeep.changed() => return,
                }
            }
        });
        let served = axum::serve(listener, app)
            .with_graceful_shutdown(async move {
                let _ = stop_rx.wait_for(|s| *s).await;
            })
            .await;
        if let Err(e) = served {
            tracing::error!(error = %e, "HTTP endpoint failed");
        }
    });
    tracing::info!(%addr, "serving /metrics, /healthz and /readyz");
    Ok(Some(RunningHttp { stop, task }))
}

async fn metrics_page(State(state): State<AppState>) -> impl IntoResponse {
    let roles = state.roles.clone();
    // Refreshing walks every replica (brief lock per replica): off the async threads.
    let _ = tokio::task::spawn_blocking(move || roles.refresh()).await;
    (
        [(
            header::CONTENT_TYPE,
            "text/plain; version=0.0.4; charset=utf-8",
        )],
        state.metrics.render(),
    )
}

async fn ready_page(State(state): State<AppState>) -> impl IntoResponse {
    let (ready, text) = state.roles.readiness();
    let code = if ready {
        StatusCode::OK
    } else {
        StatusCode::SERVICE_UNAVAILABLE
    };
    (code, text)
}
