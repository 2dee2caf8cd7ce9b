//! [`ProducerIds`]: producer ids for InitProducerId, taken one at a time from a block the
//! controller allocated to this broker (KRaft's AllocateProducerIds). A block is never
//! handed out twice: the controller records every block in the metadata log before it
//! answers, so ids stay unique across brokers and restarts.

use tokio::sync::Mutex;

use rill_proto::controller::AllocateProducerIdsRequest;
use rill_proto::controller_client::ControllerClient;
use rill_types::{BrokerId, ErrorCode, ProducerId};

/// The unused rest of this broker's current block.
#[derive(Debug, Default)]
pub struct ProducerIds {
    block: Mutex<Option<(i64, i64)>>,
}

impl ProducerIds {
    /// The next unused producer id, fetching a new block when this one is used up.
    pub async fn next(
        &self,
        controllers: &ControllerClient,
        broker_id: BrokerId,
        broker_epoch: i64,
    ) -> Result<ProducerId, ErrorCode> {
        let mut block = self.block.lock().await;
        if let Some((next, end)) = *block
            && next < end
        {
            *block = Some((next + 1, end));
            return Ok(ProducerId::new(next));
        }
        let request = AllocateProducerIdsRequest {
            broker_id: Some(broker_id.into()),
            broker_epoch,
        };
        let answer = controllers
            .clone()
            .call(move |mut c| async move { c.allocate_producer_ids(request).await })
            .await
            .map_err(|e| {
                tracing::warn!(error = %e, "could not allocate producer ids");
                ErrorCode::CoordinatorNotAvailable
            })?;
        if let Some(e) = answer.error {
            tracing::warn!(code = e.code, message = %e.message, "producer id allocation refused");
            return Err(ErrorCode::from_code(e.code).unwrap_or(ErrorCode::UnknownServerError));
        }
        let first = answer
            .first_producer_id
            .map(|p| ProducerId::from(p).get())
            .ok_or(ErrorCode::UnknownServerError)?;
        let count = i64::from(answer.count.max(1));
        *block = Some((first + 1, first + count));
        Ok(ProducerId::new(first))
    }
}
