//! The broker's follower of the committed metadata log: a FetchMetadata stream from any
//! controller, replayed into a new immutable image per committed batch and published
//! through a watch channel (readers always see a whole image; the swap is atomic).
//!
//! A batch whose records do not replay is skipped whole, as the controllers' state
//! machines skip it, so every replica of the metadata agrees. The stream is resumed from
//! the last applied offset after any error, with a bounded backoff.

use std::sync::Arc;
use std::time::Duration;

use rill_metadata::{MetadataDelta, MetadataImage};
use rill_proto::controller::{FetchMetadataRequest, fetch_metadata_response::Payload};
use rill_proto::controller_client::ControllerClient;
use rill_types::MetadataOffset;
use tokio::sync::watch;

/// What the broker knows of the metadata log.
#[derive(Debug, Clone, Default)]
pub struct MetadataView {
    /// The image after the last applied batch.
    pub image: Arc<MetadataImage>,
    /// The offset of the last batch applied (skipped or empty batches included).
    pub applied: MetadataOffset,
}

/// Follows the metadata log until `shutdown` turns true, publishing to `tx`.
pub async fn run(
    mut controllers: ControllerClient,
    tx: watch::Sender<MetadataView>,
    mut shutdown: watch::Receiver<bool>,
) {
    let mut backoff = Duration::from_millis(50);
    loop {
        if *shutdown.borrow() {
            return;
        }
        let applied = tx.borrow().applied;
        let stream = tokio::select! {
            s = controllers.call(move |mut c| async move {
                c.fetch_metadata(FetchMetadataRequest {
                    applied_offset: Some(applied.into()),
                })
                .await
            }) => s,
            _ = shutdown.changed() => return,
        };
        let mut stream = match stream {
            Ok(s) => s,
            Err(e) => {
                tracing::warn!(error = %e, "cannot follow the metadata log; retrying");
                tokio::select! {
                    _ = tokio::time::sleep(backoff) => {}
                    _ = shutdown.changed() => return,
                }
                backoff = (backoff * 2).min(Duration::from_secs(1));
                continue;
            }
        };
        loop {
            let message = tokio::select! {
                m = stream.message() => m,
                _ = shutdown.changed() => return,
            };
            match message {
                Ok(Some(m)) => {
                    backoff = Duration::from_millis(50);
                    apply(&tx, m.payload);
                }
                Ok(None) => break,
                Err(e) => {
                    tracing::debug!(error = %e, "metadata stream ended; resuming");
                    break;
                }
            }
        }
        tokio::select! {
            _ = tokio::time::sleep(backoff) => {}
            _ = shutdown.changed() => return,
        }
    }
}

/// Applies one stream message to the published view.
pub fn apply(tx: &watch::Sender<MetadataView>, payload: Option<Payload>) {
    match payload {
        Some(Payload::Image(snapshot)) => {
            let offset: MetadataOffset = snapshot.offset.map(Into::into).unwrap_or_default();
            let records = snapshot.records.map(|b| b.records).unwrap_or_default();
            let mut delta = MetadataDelta::new(&MetadataImage::default());
            for r in &records {
                if let Err(e) = delta.replay(offset, r) {
                    tracing::error!(error = %e, %offset, "metadata image does not replay; ignored");
                    return;
                }
            }
            let image = delta.apply().0;
            tx.send_replace(MetadataView {
                image: Arc::new(image),
                applied: offset,
            });
        }
        Some(Payload::Batch(batch)) => {
            let offset: MetadataOffset = batch.offset.map(Into::into).unwrap_or_default();
            let current = tx.borrow().clone();
            if offset <= current.applied {
                return;
            }
            let records = batch.records.map(|b| b.records).unwrap_or_default();
            let image = if records.is_empty() {
                current.image
            } else {
                let mut delta = MetadataDelta::new(&current.image);
                let mut ok = true;
                for r in &records {
                    if let Err(e) = delta.replay(offset, r) {
                        tracing::warn!(error = %e, %offset, "metadata batch does not replay; skipped whole");
                        ok = false;
                        break;
                    }
                }
                if ok {
                    Arc::new(delta.apply().0)
                } else {
                    current.image
                }
            };
            tx.send_replace(MetadataView {
                image,
                applied: offset,
            });
        }
        None => {}
    }
}
