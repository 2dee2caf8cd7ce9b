//! Broker lifecycle (KRaft's ClusterControlManager with the heartbeat manager):
//! registration, heartbeats, fencing on lease expiry, unfencing once caught up, and
//! controlled shutdown.
//!
//! A new incarnation of a broker registers fenced, with a new broker epoch (the offset
//! of its registration record), and its old incarnation's leaderships move away in the
//! same write. A fenced broker is unfenced by the first heartbeat that reports it has
//! applied the metadata log at least up to its own registration. A broker that asks to
//! shut down is marked so, its leaderships and ISR places move to other live replicas,
//! and once it leads nothing it is fenced and its heartbeat answers "may shut down".

use rill_metadata::records::{
    BrokerShutdownRecord, FenceBrokerRecord, RegisterBrokerRecord, UnfenceBrokerRecord,
};
use rill_metadata::{MetadataImage, MetadataRecord, Record};
use rill_proto::common::Endpoint;
use rill_types::{BrokerId, MetadataOffset};

use super::{Write, dry_run, is_active, rec, reelect};
use crate::heartbeats::Heartbeats;
use crate::refusal::{ErrorCode, Refusal};

/// A broker's registration request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Registration {
    /// The broker id.
    pub broker_id: BrokerId,
    /// The process incarnation (random per start).
    pub incarnation_id: Vec<u8>,
    /// Its listeners.
    pub listeners: Vec<Endpoint>,
    /// Its rack.
    pub rack: Option<String>,
}

/// The outcome of a registration.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Registered {
    /// A new registration: the epoch is the offset its record commits at.
    New,
    /// The same incarnation registered again (a retry): its epoch stands.
    Existing(i64),
}

/// Registers a broker. `lease_alive` says whether the broker's current registration
/// still holds a live heartbeat lease (fenced or not): a different incarnation is then
/// refused (DUPLICATE_BROKER_REGISTRATION), as KRaft refuses it, until the lease expires.
pub fn register(
    image: &MetadataImage,
    request: &Registration,
    lease_alive: bool,
) -> Result<Write<Registered>, Refusal> {
    if request.broker_id.get() < 0 {
        return Err(Refusal::new(
            ErrorCode::InvalidRequest,
            format!("broker id {} is negative", request.broker_id),
        ));
    }
    if request.incarnation_id.len() != 16 {
        return Err(Refusal::new(
            ErrorCode::InvalidRequest,
            "the incarnation id must be 16 bytes (a UUID)",
        ));
    }
    if let Some(current) = image.broker(request.broker_id) {
        if current.incarnation_id == request.incarnation_id {
            return Ok(Write::new(vec![], Registered::Existing(current.epoch)));
        }
        if lease_alive {
            return Err(Refusal::new(
                ErrorCode::DuplicateBrokerRegistration,
                format!(
                    "broker {} is registered by another live incarnation (epoch {}); \
                     retry once its session expires",
                    request.broker_id, current.epoch
                ),
            ));
        }
    }
    let id = request.broker_id;
    let mut records = vec![rec(Record::RegisterBroker(RegisterBrokerRecord {
        broker_id: Some(id.into()),
        incarnation_id: request.incarnation_id.clone(),
        listeners: request.listeners.clone(),
        rack: request.rack.clone(),
        broker_epoch: None,
    }))];
    // The old incarnation is gone: move its leaderships and ISR places away.
    records.extend(reelect(
        image,
        |p| p.replicas.contains(&id),
        |b| b != id && is_active(image, b),
    ));
    dry_run(image, &records)?;
    Ok(Write::new(records, Registered::New))
}

/// A heartbeat.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Heartbeat {
    /// The broker.
    pub broker_id: BrokerId,
    /// Its epoch.
    pub broker_epoch: i64,
    /// The last metadata offset it applied.
    pub applied_offset: MetadataOffset,
    /// Whether it asks to shut down.
    pub want_shutdown: bool,
}

/// The answer to a heartbeat.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HeartbeatReply {
    /// Whether the broker is fenced after this heartbeat's records.
    pub is_fenced: bool,
    /// Whether its controlled shutdown may complete.
    pub should_shutdown: bool,
}

/// Handles a heartbeat: renews the lease (soft state in `leases`), and unfences or
/// starts a controlled shutdown when due.
pub fn heartbeat(
    image: &MetadataImage,
    leases: &mut Heartbeats,
    request: &Heartbeat,
    now_ms: u64,
) -> Result<Write<HeartbeatReply>, Refusal> {
    let id = request.broker_id;
    let broker = image.broker(id).ok_or_else(|| {
        Refusal::new(
            ErrorCode::BrokerIdNotRegistered,
            format!("broker {id} is not registered"),
        )
    })?;
    if broker.epoch != request.broker_epoch {
        return Err(Refusal::new(
            ErrorCode::StaleBrokerEpoch,
            format!(
                "broker {id} heartbeat names epoch {}, the registration in force has {}",
                request.broker_epoch, broker.epoch
            ),
        ));
    }
    leases.touch(id, broker.epoch, now_ms);
    let mut records = Vec::new();
    if request.want_shutdown {
        if !broker.in_controlled_shutdown {
            records.push(rec(Record::BrokerShutdown(BrokerShutdownRecord {
                broker_id: Some(id.into()),
                broker_epoch: broker.epoch,
            })));
            records.extend(reelect(
                image,
                |p| p.replicas.contains(&id),
                |b| b != id && is_active(image, b),
            ));
        }
    } else if broker.fenced
        && !broker.in_controlled_shutdown
        && request.applied_offset.get() >= broker.epoch as u64
    {
        records.push(rec(Record::UnfenceBroker(UnfenceBrokerRecord {
            broker_id: Some(id.into()),
            broker_epoch: broker.epoch,
        })));
        // Partitions left offline (or with a shrunken-to-last ISR) may lead again.
        records.extend(reelect(
            image,
            |p| p.replicas.contains(&id),
            |b| b == id || is_active(image, b),
        ));
    }
    let mut after = dry_run(image, &records)?;
    let now = after.broker(id).expect("registered");
    // Scanning every partition is only needed (and only paid) during a controlled
    // shutdown, not on every routine heartbeat.
    let leads_anything = now.in_controlled_shutdown
        && after
            .topics()
            .any(|t| t.partitions.values().any(|p| p.leader == Some(id)));
    if now.in_controlled_shutdown && !leads_anything && !now.fenced {
        // Done moving away: fence it now (KRaft does the same), so that its next
        // incarnation may register at once instead of waiting out this session.
        records.push(rec(Record::FenceBroker(FenceBrokerRecord {
            broker_id: Some(id.into()),
            broker_epoch: broker.epoch,
        })));
        leases.remove(id);
        after = dry_run(image, &records)?;
    }
    let now = after.broker(id).expect("registered");
    let reply = HeartbeatReply {
        is_fenced: now.fenced,
        should_shutdown: now.in_controlled_shutdown && !leads_anything,
    };
    Ok(Write::new(records, reply))
}

/// Fences every broker whose lease expired (per the lease table) and is still
/// unfenced at the epoch it heartbeated with, and moves its leaderships and ISR places to
/// live replicas. Returns no records when nothing is due. The table is not changed: an
/// expired lease stays expired, and is skipped once the broker is fenced, so nothing is
/// forgotten if the fencing write fails.
pub fn fence_expired(
    image: &MetadataImage,
    leases: &Heartbeats,
    now_ms: u64,
) -> Vec<MetadataRecord> {
    let mut gone = Vec::new();
    let mut records = Vec::new();
    for (id, epoch) in leases.expired(now_ms) {
        match image.broker(id) {
            Some(b) if b.epoch == epoch && !b.fenced => {
                records.push(rec(Record::FenceBroker(FenceBrokerRecord {
                    broker_id: Some(id.into()),
                    broker_epoch: epoch,
                })));
                gone.push(id);
            }
            _ => {}
        }
    }
    if gone.is_empty() {
        return records;
    }
    records.extend(reelect(
        image,
        |p| gone.iter().any(|g| p.replicas.contains(g)),
        |b| !gone.contains(&b) && is_active(image, b),
    ));
    records
}

#[cfg(test)]
mod tests {
    use rill_types::{PartitionIndex, TopicId};

    use super::*;
    use crate::manager::testing::{apply, brokers, counter};
    use crate::manager::topics::{NewTopic, create_topics};

    fn b(id: i32) -> BrokerId {
        BrokerId::new(id)
    }

    fn with_topic(image: &MetadataImage) -> (MetadataImage, TopicId) {
        let w = create_topics(
            image,
            &[NewTopic {
                name: "t".into(),
                partitions: 3,
                replication_factor: 3,
                configs: Default::default(),
            }],
            false,
            &mut counter(),
        );
        let image = apply(image, &w.records);
        let id = image.topic_by_name("t").unwrap().id;
        (image, id)
    }

    #[test]
    fn a_new_incarnation_gets_a_new_epoch_and_starts_fenced() {
        let image = brokers(&[(1, None)]);
        let old = image.broker(b(1)).unwrap().epoch;
        let req = Registration {
            broker_id: b(1),
            incarnation_id: vec![9; 16],
            listeners: vec![],
            rack: None,
        };
        assert_eq!(
            register(&image, &req, true).unwrap_err().code,
            ErrorCode::DuplicateBrokerRegistration
        );
        let w = register(&image, &req, false).unwrap();
        assert_eq!(w.response, Registered::New);
        let after = apply(&image, &w.records);
        let now = after.broker(b(1)).unwrap();
        assert!(now.epoch > old && now.fenced);
        // The same incarnation again is a retry.
        let again = register(&after, &req, true).unwrap();
        assert!(again.records.is_empty());
        assert_eq!(again.response, Registered::Existing(now.epoch));
    }

    #[test]
    fn a_broker_is_fenced_after_its_lease_expires_and_loses_its_leaderships() {
        let image = brokers(&[(1, None), (2, None), (3, None)]);
        let (image, topic) = with_topic(&image);
        let mut leases = Heartbeats::new(9_000);
        for id in 1..=3 {
            let epoch = image.broker(b(id)).unwrap().epoch;
            let hb = Heartbeat {
                broker_id: b(id),
                broker_epoch: epoch,
                applied_offset: image.offset(),
                want_shutdown: false,
            };
            assert!(
                heartbeat(&image, &mut leases, &hb, 0)
                    .unwrap()
                    .records
                    .is_empty()
            );
        }
        // Brokers 2 and 3 keep heartbeating; 1 goes quiet.
        for now in [3_000, 6_000, 8_999] {
            for id in 2..=3 {
                let epoch = image.broker(b(id)).unwrap().epoch;
                let hb = Heartbeat {
                    broker_id: b(id),
                    broker_epoch: epoch,
                    applied_offset: image.offset(),
                    want_shutdown: false,
                };
                heartbeat(&image, &mut leases, &hb, now).unwrap();
            }
            assert!(
                fence_expired(&image, &leases, now).is_empty(),
                "at {now} ms"
            );
        }
        let records = fence_expired(&image, &leases, 9_000);
        let after = apply(&image, &records);
        assert!(after.broker(b(1)).unwrap().fenced);
        for p in 0..3 {
            let state = after.partition(topic, PartitionIndex::new(p)).unwrap();
            assert_ne!(state.leader, Some(b(1)));
            assert!(!state.isr.contains(&b(1)));
        }
    }

    #[test]
    fn unfenced_only_once_caught_up_to_its_registration() {
        let image = brokers(&[(1, None)]);
        let req = Registration {
            broker_id: b(1),
            incarnation_id: vec![7; 16],
            listeners: vec![],
            rack: None,
        };
        let image = apply(&image, &register(&image, &req, false).unwrap().records);
        let epoch = image.broker(b(1)).unwrap().epoch;
        let mut leases = Heartbeats::new(9_000);
        let behind = Heartbeat {
            broker_id: b(1),
            broker_epoch: epoch,
            applied_offset: MetadataOffset::new(epoch as u64 - 1),
            want_shutdown: false,
        };
        let w = heartbeat(&image, &mut leases, &behind, 0).unwrap();
        assert!(w.records.is_empty() && w.response.is_fenced);
        let caught_up = Heartbeat {
            applied_offset: MetadataOffset::new(epoch as u64),
            ..behind
        };
        let w = heartbeat(&image, &mut leases, &caught_up, 0).unwrap();
        assert!(!w.response.is_fenced);
        assert!(!apply(&image, &w.records).broker(b(1)).unwrap().fenced);
        let stale = Heartbeat {
            broker_epoch: epoch - 1,
            ..caught_up
        };
        assert_eq!(
            heartbeat(&image, &mut leases, &stale, 0).unwrap_err().code,
            ErrorCode::StaleBrokerEpoch
        );
    }

    #[test]
    fn controlled_shutdown_moves_leaderships_first() {
        let image = brokers(&[(1, None), (2, None), (3, None)]);
        let (image, topic) = with_topic(&image);
        let mut leases = Heartbeats::new(9_000);
        let epoch = image.broker(b(1)).unwrap().epoch;
        let leads_before = (0..3)
            .filter(|p| {
                image
                    .partition(topic, PartitionIndex::new(*p))
                    .unwrap()
                    .leader
                    == Some(b(1))
            })
            .count();
        assert!(leads_before > 0);
        let hb = Heartbeat {
            broker_id: b(1),
            broker_epoch: epoch,
            applied_offset: image.offset(),
            want_shutdown: true,
        };
        let w = heartbeat(&image, &mut leases, &hb, 0).unwrap();
        assert!(
            w.response.should_shutdown,
            "leaderships moved in the same write"
        );
        let after = apply(&image, &w.records);
        assert!(after.broker(b(1)).unwrap().in_controlled_shutdown);
        assert!(
            after.broker(b(1)).unwrap().fenced,
            "fenced once it leads nothing"
        );
        // Its next incarnation may register at once: the old session is over.
        let next = Registration {
            broker_id: b(1),
            incarnation_id: vec![42; 16],
            listeners: vec![],
            rack: None,
        };
        assert!(register(&after, &next, leases.is_alive(b(1), 1)).is_ok());
        for p in 0..3 {
            assert_ne!(
                after
                    .partition(topic, PartitionIndex::new(p))
                    .unwrap()
                    .leader,
                Some(b(1))
            );
        }
        // Asking again changes nothing more.
        assert!(
            heartbeat(&after, &mut leases, &hb, 1)
                .unwrap()
                .records
                .is_empty()
        );
    }
}
