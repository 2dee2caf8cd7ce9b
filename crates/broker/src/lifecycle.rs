//! The broker's lease with the controller quorum (KRaft's broker lifecycle): register
//! with a fresh incarnation id, heartbeat every `broker.heartbeat.interval.ms` with the
//! metadata offset applied, start fenced and get unfenced once caught up, and on a
//! controlled shutdown ask to leave and learn when every leadership has moved away.

use std::time::Duration;

use rill_proto::common::Endpoint;
use rill_proto::controller::{BrokerHeartbeatRequest, RegisterBrokerRequest};
use rill_proto::controller_client::ControllerClient;
use rill_types::{BrokerId, ErrorCode, MetadataOffset};
use tokio::sync::watch;

use crate::error::BrokerError;

/// What the last heartbeat answer said.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct LeaseStatus {
    /// The broker epoch in force (the registration's metadata offset); 0 before.
    pub broker_epoch: i64,
    /// Whether the controller has this broker fenced.
    pub fenced: bool,
    /// Whether a requested controlled shutdown may complete.
    pub may_shut_down: bool,
}

/// Registration facts.
#[derive(Debug, Clone)]
pub struct Registration {
    /// The broker id.
    pub broker_id: BrokerId,
    /// This process's incarnation (16 random bytes).
    pub incarnation_id: Vec<u8>,
    /// Its listeners.
    pub listeners: Vec<Endpoint>,
    /// Its rack.
    pub rack: Option<String>,
}

/// Registers, retrying while another live incarnation holds the id (its lease must
/// expire first) or the quorum is unreachable, until `shutdown`.
pub async fn register(
    controllers: &mut ControllerClient,
    reg: &Registration,
    shutdown: &mut watch::Receiver<bool>,
) -> Result<i64, BrokerError> {
    let mut logged = false;
    loop {
        let request = RegisterBrokerRequest {
            broker_id: Some(reg.broker_id.into()),
            incarnation_id: reg.incarnation_id.clone(),
            listeners: reg.listeners.clone(),
            rack: reg.rack.clone(),
        };
        let answer = controllers
            .call(|mut c| {
                let request = request.clone();
                async move { c.register_broker(request).await }
            })
            .await;
        match answer {
            Ok(r) => match r.error {
                None => {
                    tracing::info!(
                        broker_epoch = r.broker_epoch,
                        "registered with the controller"
                    );
                    return Ok(r.broker_epoch);
                }
                Some(e) if e.code == ErrorCode::DuplicateBrokerRegistration.code() => {
                    if !logged {
                        tracing::info!(
                            "an earlier incarnation's session is still alive; waiting for it to expire"
                        );
                        logged = true;
                    }
                }
                Some(e) => {
                    return Err(BrokerError::Controller(format!(
                        "registration refused: {} {}",
                        e.name, e.message
                    )));
                }
            },
            Err(e) => tracing::warn!(error = %e, "cannot register yet"),
        }
        tokio::select! {
            _ = tokio::time::sleep(Duration::from_millis(250)) => {}
            _ = shutdown.changed() => {
                return Err(BrokerError::Controller("shut down before registering".into()));
            }
        }
    }
}

/// Heartbeats until `stop`: reports the applied metadata offset and `want_shutdown`,
/// publishes the answers to `status`, and re-registers if the controller no longer knows
/// this registration.
#[allow(clippy::too_many_arguments)]
pub async fn heartbeat_loop(
    mut controllers: ControllerClient,
    reg: Registration,
    interval: Duration,
    applied: watch::Receiver<MetadataOffset>,
    want_shutdown: watch::Receiver<bool>,
    status: watch::Sender<LeaseStatus>,
    mut stop: watch::Receiver<bool>,
) {
    loop {
        let epoch = status.borrow().broker_epoch;
        let request = BrokerHeartbeatRequest {
            broker_id: Some(reg.broker_id.into()),
            broker_epoch: epoch,
            applied_offset: Some((*applied.borrow()).into()),
            want_shutdown: *want_shutdown.borrow(),
        };
        let answer = tokio::select! {
            a = tokio::time::timeout(interval.max(Duration::from_secs(2)) * 2, controllers.call(|mut c| {
                async move { c.broker_heartbeat(request).await }
            })) => a,
            _ = stop.changed() => return,
        };
        match answer {
            Ok(Ok(r)) => match r.error {
                None => {
                    status.send_if_modified(|s| {
                        let next = LeaseStatus {
                            broker_epoch: epoch,
                            fenced: r.is_fenced,
                            may_shut_down: r.should_shutdown,
                        };
                        let changed = *s != next;
                        if s.fenced != next.fenced {
                            tracing::info!(fenced = next.fenced, "lease status changed");
                        }
                        *s = next;
                        changed
                    });
                }
                Some(e)
                    if e.code == ErrorCode::StaleBrokerEpoch.code()
                        || e.code == ErrorCode::BrokerIdNotRegistered.code() =>
                {
                    tracing::warn!(error = %e.message, "heartbeat refused; registering again");
                    let mut stop2 = stop.clone();
                    match register(&mut controllers, &reg, &mut stop2).await {
                        Ok(epoch) => status.send_modify(|s| {
                            *s = LeaseStatus {
                                broker_epoch: epoch,
                                fenced: true,
                                may_shut_down: false,
                            }
                        }),
                        Err(_) => return,
                    }
                    continue;
                }
                Some(e) => tracing::warn!(error = %e.message, "heartbeat refused"),
            },
            Ok(Err(e)) => tracing::warn!(error = %e, "heartbeat failed"),
            Err(_) => tracing::warn!("heartbeat timed out"),
        }
        tokio::select! {
            _ = tokio::time::sleep(interval) => {}
            _ = stop.changed() => return,
        }
    }
}
