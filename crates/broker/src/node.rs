//! [`BrokerNode`]: a whole broker — registration and lease, the metadata follower, the
//! reconciler, ISR maintenance, the flush scheduler and the gRPC services — started on an
//! already-bound listener, and stopped by a controlled shutdown.
//!
//! Start-up order: follow the metadata log, register (a fresh incarnation id), serve
//! gRPC, reconcile once the image has reached this registration, then report that
//! offset in heartbeats so the controller unfences the broker. Shutdown: ask the
//! controller to move leaderships away and wait (bounded) until it says they have, stop
//! the follower sessions, stop serving, and close every log cleanly.

use std::sync::Arc;
use std::time::Duration;

use rill_proto::common::Endpoint;
use rill_proto::controller_client::ControllerClient;
use rill_proto::reflection::BROKER_SERVICES;
use rill_storage::{Clock, SystemClock};
use rill_types::MetadataOffset;
use tokio::net::TcpListener;
use tokio::sync::watch;
use tokio::task::JoinHandle;

use crate::config::BrokerConfig;
use crate::error::BrokerError;
use crate::fetcher::FetchContext;
use crate::grpc::{DataGrpc, ReplicationGrpc};
use crate::lifecycle::{self, LeaseStatus, Registration};
use crate::metadata_follower::{self, MetadataView};
use crate::replica_manager::{GRPC_LISTENER, ReplicaManager};

/// A running broker.
#[derive(Debug)]
pub struct BrokerNode {
    rm: Arc<ReplicaManager>,
    controllers: ControllerClient,
    stop: watch::Sender<bool>,
    want_shutdown: watch::Sender<bool>,
    lease: watch::Receiver<LeaseStatus>,
    tasks: Vec<JoinHandle<()>>,
    server: JoinHandle<Result<(), tonic::transport::Error>>,
}

impl BrokerNode {
    /// Starts a broker serving gRPC on `listener`. Returns once registered.
    pub async fn start(config: BrokerConfig, listener: TcpListener) -> Result<Self, BrokerError> {
        Self::start_with(config, listener, |_| tonic::service::Routes::default()).await
    }

    /// [`BrokerNode::start`], also serving on the gRPC listener the services `extra`
    /// builds over the broker's replica manager. This is how layers above the broker
    /// (the Kafka layer's group admin service) add services without the broker
    /// depending on them. `extra` runs once, inside the runtime, before serving starts.
    pub async fn start_with(
        config: BrokerConfig,
        listener: TcpListener,
        extra: impl FnOnce(&Arc<ReplicaManager>) -> tonic::service::Routes,
    ) -> Result<Self, BrokerError> {
        std::fs::create_dir_all(&config.data_dir)?;
        let controllers = ControllerClient::new(&config.controllers, Duration::from_secs(5))
            .map_err(|e| BrokerError::Controller(e.to_string()))?;
        let (stop, stop_rx) = watch::channel(false);
        let mut tasks = Vec::new();

        let (meta_tx, meta_rx) = watch::channel(MetadataView::default());
        tasks.push(tokio::spawn(metadata_follower::run(
            controllers.clone(),
            meta_tx,
            stop_rx.clone(),
        )));

        let reg = Registration {
            broker_id: config.broker_id,
            incarnation_id: uuid::Uuid::new_v4().as_bytes().to_vec(),
            listeners: std::iter::once(Endpoint {
                name: GRPC_LISTENER.to_owned(),
                host: config.advertised_host.clone(),
                port: u32::from(config.advertised_port),
            })
            .chain(config.kafka_advertised.iter().map(|l| Endpoint {
                name: l.name.clone(),
                host: l.host.clone(),
                port: u32::from(l.port),
            }))
            .collect(),
            rack: config.rack.clone(),
        };
        let mut stop_wait = stop_rx.clone();
        let epoch = lifecycle::register(&mut controllers.clone(), &reg, &mut stop_wait).await?;
        let (lease_tx, lease_rx) = watch::channel(LeaseStatus {
            broker_epoch: epoch,
            fenced: true,
            may_shut_down: false,
        });

        let clock: Arc<dyn Clock> = Arc::new(SystemClock);
        let rm = ReplicaManager::new(config.clone(), clock, meta_rx.clone(), lease_rx.clone());
        let ctx = FetchContext {
            broker_id: config.broker_id,
            lease: lease_rx.clone(),
            max_wait_ms: i32::try_from(config.get("replica.fetch.wait.max.ms")).unwrap_or(500),
            partition_max_bytes: i32::try_from(config.get("replica.fetch.max.bytes"))
                .unwrap_or(1 << 20),
            response_max_bytes: i32::try_from(config.get("replica.fetch.response.max.bytes"))
                .unwrap_or(10 << 20),
        };

        let (applied_tx, applied_rx) = watch::channel(MetadataOffset::default());
        tasks.push(tokio::spawn(reconcile_loop(
            rm.clone(),
            ctx,
            meta_rx,
            lease_rx.clone(),
            applied_tx,
            stop_rx.clone(),
        )));

        let (want_shutdown, want_rx) = watch::channel(false);
        let interval = Duration::from_millis(config.get("broker.heartbeat.interval.ms"));
        tasks.push(tokio::spawn(lifecycle::heartbeat_loop(
            controllers.clone(),
            reg,
            interval,
            applied_rx,
            want_rx,
            lease_tx,
            stop_rx.clone(),
        )));
        tasks.push(tokio::spawn(
            rm.clone()
                .run_isr_maintenance(controllers.clone(), stop_rx.clone()),
        ));
        tasks.push(tokio::spawn(flush_loop(rm.clone(), stop_rx.clone())));

        let mut server_stop = stop_rx.clone();
        let server = tokio::spawn(
            tonic::transport::Server::builder()
                .tcp_nodelay(true)
                .add_routes(extra(&rm))
                .add_service(DataGrpc::new(rm.clone()).into_server())
                .add_service(ReplicationGrpc::new(rm.clone()).into_server())
                .add_service(rill_proto::reflection::v1(BROKER_SERVICES))
                .add_service(rill_proto::reflection::v1alpha(BROKER_SERVICES))
                .serve_with_incoming_shutdown(rill_proto::incoming(listener), async move {
                    let _ = server_stop.wait_for(|s| *s).await;
                }),
        );
        tracing::info!(
            broker_id = config.broker_id.get(),
            broker_epoch = epoch,
            "broker started"
        );
        Ok(Self {
            rm,
            controllers,
            stop,
            want_shutdown,
            lease: lease_rx,
            tasks,
            server,
        })
    }

    /// The replica manager (for tests and the CLI's status output).
    pub fn replicas(&self) -> &Arc<ReplicaManager> {
        &self.rm
    }

    /// A client of the controller quorum (the Kafka listener forwards admin requests).
    pub fn controllers(&self) -> &ControllerClient {
        &self.controllers
    }

    /// The lease as last heard from the controller.
    pub fn lease(&self) -> LeaseStatus {
        *self.lease.borrow()
    }

    /// What the health endpoints and metrics read of this broker; usable after it stops.
    pub fn probe(&self) -> BrokerProbe {
        BrokerProbe {
            rm: self.rm.clone(),
            lease: self.lease.clone(),
        }
    }

    /// Controlled shutdown: moves leaderships away (waiting at most
    /// `controlled.shutdown.timeout.ms`), then stops and closes every log cleanly.
    pub async fn shutdown(mut self) {
        let timeout = Duration::from_millis(self.rm.config.get("controlled.shutdown.timeout.ms"));
        let _ = self.want_shutdown.send(true);
        tracing::info!("controlled shutdown: asking the controller to move leaderships away");
        let mut lease = self.lease.clone();
        match tokio::time::timeout(timeout, lease.wait_for(|l| l.may_shut_down)).await {
            Ok(Ok(_)) => tracing::info!("controlled shutdown: no leaderships left"),
            _ => tracing::warn!(
                ?timeout,
                "controlled shutdown: leaderships did not all move in time; stopping anyway"
            ),
        }
        self.stop_and_close().await;
    }

    async fn stop_and_close(&mut self) {
        self.rm.stop_fetchers();
        let _ = self.stop.send(true);
        for t in self.tasks.drain(..) {
            let _ = tokio::time::timeout(Duration::from_secs(5), t).await;
        }
        let _ = tokio::time::timeout(Duration::from_secs(5), &mut self.server).await;
        let rm = self.rm.clone();
        let _ = tokio::task::spawn_blocking(move || rm.close_all()).await;
        tracing::info!("broker stopped; logs closed cleanly");
    }
}

/// A read-only view of a broker for `/readyz` and `/metrics`.
#[derive(Debug, Clone)]
pub struct BrokerProbe {
    rm: Arc<ReplicaManager>,
    lease: watch::Receiver<LeaseStatus>,
}

impl BrokerProbe {
    /// Ready to serve clients: registered and unfenced. The controller unfences a broker
    /// only once its heartbeats report it has caught up with the metadata log, so this
    /// also means the broker's view of the cluster is current. The error says why not.
    pub fn readiness(&self) -> Result<(), String> {
        let lease = *self.lease.borrow();
        if lease.fenced {
            return Err(format!(
                "fenced by the controller (broker epoch {}): catching up with the metadata log, shutting down, or out of touch with the quorum",
                lease.broker_epoch
            ));
        }
        Ok(())
    }

    /// Sets the gauges computed from the broker's state (called before each scrape).
    pub fn refresh_metrics(&self) {
        crate::metrics::refresh(&self.rm, self.lease.borrow().fenced);
    }
}

/// Reconciles every new image at or after this broker's registration, then reports the
/// offset reconciled (what heartbeats tell the controller).
async fn reconcile_loop(
    rm: Arc<ReplicaManager>,
    ctx: FetchContext,
    mut metadata: watch::Receiver<MetadataView>,
    lease: watch::Receiver<LeaseStatus>,
    applied: watch::Sender<MetadataOffset>,
    mut stop: watch::Receiver<bool>,
) {
    loop {
        let view = metadata.borrow_and_update().clone();
        let epoch = lease.borrow().broker_epoch;
        if i64::try_from(view.applied.get()).unwrap_or(i64::MAX) >= epoch {
            let rm2 = rm.clone();
            let ctx2 = ctx.clone();
            let image = view.image.clone();
            // Fetcher sessions are tokio tasks: give the blocking thread the runtime.
            let handle = tokio::runtime::Handle::current();
            let done = tokio::task::spawn_blocking(move || {
                let _guard = handle.enter();
                rm2.reconcile(&image, &ctx2);
            })
            .await;
            if let Err(e) = done {
                tracing::error!(error = %e, "reconciler panicked");
            }
            metrics::gauge!(crate::metrics::METADATA_APPLIED).set(view.applied.get() as f64);
            applied.send_replace(view.applied);
        }
        tokio::select! {
            r = metadata.changed() => if r.is_err() { return },
            _ = stop.changed() => return,
        }
    }
}

/// Applies each log's flush.ms policy and writes checkpoints periodically.
async fn flush_loop(rm: Arc<ReplicaManager>, mut stop: watch::Receiver<bool>) {
    let every = Duration::from_millis(rm.config.get("log.flush.scheduler.interval.ms"));
    loop {
        tokio::select! {
            _ = tokio::time::sleep(every) => {}
            _ = stop.changed() => return,
        }
        let rm2 = rm.clone();
        let _ = tokio::task::spawn_blocking(move || {
            for p in rm2.all() {
                if let Err(e) = p.flush_and_checkpoint() {
                    tracing::error!(topic = %p.topic, partition = p.index.get(), leader_epoch = %p.hw_view().leader_epoch, error = %e, "flush failed");
                }
            }
        })
        .await;
    }
}
