//! FetchMetadata: a follower's view of the committed metadata log, served by every
//! controller from its own applied state (KRaft brokers fetch the metadata topic the
//! same way).
//!
//! The stream sends the batches after the caller's offset, read from the Raft log in
//! sled, but never past what this controller has applied (so never an uncommitted
//! entry), and never at or below the last snapshot installed or loaded (below it the log
//! may still hold an old term's stale entries until openraft purges them). When the
//! entries the caller needs are below that floor or purged, it sends the whole image
//! first (as records, at the applied index), then continues from there.
//! Then it waits for newly applied entries (a watch notification, not polling). The
//! channel to the caller is bounded: a slow reader slows its own stream only.

use prost::Message as _;
use rill_metadata::records::MetadataBatch;
use rill_proto::controller::{
    FetchMetadataResponse, MetadataBatchAt, MetadataImageSnapshot, fetch_metadata_response::Payload,
};
use rill_types::MetadataOffset;
use tokio::sync::mpsc;
use tokio_stream::Stream;
use tokio_stream::wrappers::ReceiverStream;
use tonic::Status;

use crate::raft::{MetadataStateMachine, SledLogStore};

/// Entries read from sled per step.
const STEP: usize = 256;

/// Serves metadata streams from one controller's state.
#[derive(Debug, Clone)]
pub struct MetadataStream {
    sm: MetadataStateMachine,
    log: SledLogStore,
}

impl MetadataStream {
    /// Streams from `sm` (what is applied) and `log` (the entries).
    pub fn new(sm: MetadataStateMachine, log: SledLogStore) -> Self {
        Self { sm, log }
    }

    /// The committed records after `applied`, then live ones as they apply.
    pub fn follow(
        &self,
        applied: MetadataOffset,
    ) -> impl Stream<Item = Result<FetchMetadataResponse, Status>> + Send + 'static {
        let (tx, rx) = mpsc::channel(64);
        let this = self.clone();
        tokio::spawn(async move {
            if let Err(e) = this.pump(applied.get() + 1, &tx).await {
                let _ = tx.send(Err(e)).await;
            }
        });
        ReceiverStream::new(rx)
    }

    async fn pump(
        &self,
        mut next: u64,
        tx: &mpsc::Sender<Result<FetchMetadataResponse, Status>>,
    ) -> Result<(), Status> {
        let mut applied_rx = self.sm.subscribe();
        loop {
            let applied = self.sm.applied_index();
            if next <= applied {
                let entries = self
                    .log
                    .entries_from(next, STEP)
                    .map_err(|e| Status::internal(e.to_string()))?;
                if next <= self.sm.log_floor()
                    || entries.first().is_none_or(|e| e.log_id.index != next)
                {
                    // Below the snapshot, purged, or never had it: start the caller over
                    // from the image.
                    let (image, at) = self.sm.view();
                    let snapshot = MetadataImageSnapshot {
                        offset: Some(MetadataOffset::new(at).into()),
                        records: Some(MetadataBatch {
                            records: image.to_records(),
                        }),
                    };
                    if tx
                        .send(Ok(FetchMetadataResponse {
                            payload: Some(Payload::Image(snapshot)),
                        }))
                        .await
                        .is_err()
                    {
                        return Ok(());
                    }
                    next = at + 1;
                    continue;
                }
                for entry in entries
                    .into_iter()
                    .take_while(|e| e.log_id.index <= applied)
                {
                    let index = entry.log_id.index;
                    if index != next {
                        // A gap (never expected): start over from the image, never skip.
                        break;
                    }
                    if let openraft::EntryPayload::Normal(write) = &entry.payload {
                        let records = MetadataBatch::decode(write.batch.as_slice())
                            .map_err(|e| Status::internal(e.to_string()))?;
                        let batch = MetadataBatchAt {
                            offset: Some(MetadataOffset::new(index).into()),
                            records: Some(records),
                        };
                        if tx
                            .send(Ok(FetchMetadataResponse {
                                payload: Some(Payload::Batch(batch)),
                            }))
                            .await
                            .is_err()
                        {
                            return Ok(());
                        }
                    }
                    next = index + 1;
                }
                continue;
            }
            tokio::select! {
                changed = applied_rx.changed() => if changed.is_err() { return Ok(()) },
                _ = tx.closed() => return Ok(()),
            }
        }
    }
}
