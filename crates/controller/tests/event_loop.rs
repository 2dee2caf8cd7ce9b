//! The event loop over a one-voter Raft, with an injected clock stepped by hand: a broker
//! registers, is unfenced once caught up, is fenced exactly when its session expires
//! (its partition goes offline: no unclean election by default), and comes back with
//! its next caught-up heartbeat.

mod common;

use std::collections::BTreeMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use rill_controller::event_loop::{self, CallError, Clock, ControllerHandle, LoopConfig};
use rill_controller::manager::cluster::{self, Heartbeat, Registered, Registration};
use rill_controller::manager::topics::{NewTopic, create_topics};
use rill_controller::{ErrorCode, Refusal};
use rill_types::{BrokerId, MetadataOffset, PartitionIndex};

#[derive(Default)]
struct ManualClock(AtomicU64);

impl Clock for ManualClock {
    fn now_ms(&self) -> u64 {
        self.0.load(Ordering::SeqCst)
    }
}

async fn heartbeat(
    handle: &ControllerHandle,
    epoch: i64,
    applied: u64,
) -> Result<cluster::HeartbeatReply, CallError> {
    let hb = Heartbeat {
        broker_id: BrokerId::new(1),
        broker_epoch: epoch,
        applied_offset: MetadataOffset::new(applied),
        want_shutdown: false,
    };
    handle
        .write(move |state, image| {
            let now = state.clock.now_ms();
            cluster::heartbeat(image, &mut state.leases, &hb, now)
        })
        .await
        .map(|(reply, _)| reply)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_broker_is_fenced_exactly_when_its_session_expires() {
    let dir = tempfile::tempdir().unwrap();
    let (raft, sm) = common::start_leader(dir.path()).await;
    let clock = Arc::new(ManualClock::default());
    let (handle, _task) = event_loop::spawn(
        raft.clone(),
        sm.clone(),
        LoopConfig {
            node_id: 1,
            session_timeout_ms: 9_000,
            write_timeout: Duration::from_secs(10),
            clock: clock.clone(),
            random: Box::new(|| 42 << 64 | 7),
            expected_cluster_id: None,
        },
    );

    let registration = Registration {
        broker_id: BrokerId::new(1),
        incarnation_id: vec![1; 16],
        listeners: vec![],
        rack: None,
    };
    let (outcome, offset) = handle
        .write(move |_, image| cluster::register(image, &registration, false))
        .await
        .unwrap();
    assert_eq!(outcome, Registered::New);
    let epoch = offset.unwrap() as i64;
    assert!(
        heartbeat(&handle, epoch, epoch as u64 - 1)
            .await
            .unwrap()
            .is_fenced,
        "not caught up yet"
    );
    assert!(
        !heartbeat(&handle, epoch, epoch as u64)
            .await
            .unwrap()
            .is_fenced
    );
    let stale = heartbeat(&handle, epoch - 1, epoch as u64)
        .await
        .unwrap_err();
    assert_eq!(
        stale,
        CallError::Refused(Refusal {
            code: ErrorCode::StaleBrokerEpoch,
            message: stale_message(&stale)
        })
    );

    let topic = NewTopic {
        name: "t".into(),
        partitions: 1,
        replication_factor: 1,
        configs: BTreeMap::new(),
    };
    let (results, _) = handle
        .write(move |state, image| Ok(create_topics(image, &[topic], false, &mut *state.random)))
        .await
        .unwrap();
    let topic_id = *results[0].as_ref().unwrap();
    let p0 = PartitionIndex::new(0);

    clock.0.store(8_999, Ordering::SeqCst);
    handle.tick().await.unwrap();
    let image = handle.read().await.unwrap();
    assert!(
        !image.broker(BrokerId::new(1)).unwrap().fenced,
        "the lease still holds at 8999 ms"
    );

    clock.0.store(9_000, Ordering::SeqCst);
    handle.tick().await.unwrap();
    let image = handle.read().await.unwrap();
    assert!(
        image.broker(BrokerId::new(1)).unwrap().fenced,
        "fenced at 9000 ms"
    );
    let p = image.partition(topic_id, p0).unwrap();
    assert_eq!(
        p.leader, None,
        "the only replica is fenced: offline, no unclean election"
    );
    assert_eq!(
        p.isr,
        vec![BrokerId::new(1)],
        "the ISR keeps its last member"
    );

    let applied = sm.applied_index();
    assert!(!heartbeat(&handle, epoch, applied).await.unwrap().is_fenced);
    let image = handle.read().await.unwrap();
    assert_eq!(
        image.partition(topic_id, p0).unwrap().leader,
        Some(BrokerId::new(1)),
        "back as leader"
    );
    raft.shutdown().await.unwrap();
}

fn stale_message(e: &CallError) -> String {
    match e {
        CallError::Refused(r) => r.message.clone(),
        _ => String::new(),
    }
}
