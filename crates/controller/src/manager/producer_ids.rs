//! Producer ids: blocks handed to brokers (KRaft's ProducerIdControlManager). The next
//! free id is in the image; a block is taken by committing a record that moves it.

use rill_metadata::records::ProducerIdsRecord;
use rill_metadata::{MetadataImage, Record};
use rill_types::{BrokerId, ProducerId};

use super::{Write, dry_run, rec};
use crate::refusal::{ErrorCode, Refusal};

/// Ids per block (Kafka's `ProducerIdsBlock.PRODUCER_ID_BLOCK_SIZE`).
pub const BLOCK_SIZE: i64 = 1000;

/// A block: `count` ids from `first`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Block {
    /// The first id.
    pub first: ProducerId,
    /// How many.
    pub count: i32,
}

/// Hands the next block to a registered broker at its current epoch.
pub fn allocate(
    image: &MetadataImage,
    broker: BrokerId,
    broker_epoch: i64,
) -> Result<Write<Block>, Refusal> {
    let b = image.broker(broker).ok_or_else(|| {
        Refusal::new(
            ErrorCode::BrokerIdNotRegistered,
            format!("broker {broker} is not registered"),
        )
    })?;
    if b.epoch != broker_epoch {
        return Err(Refusal::new(
            ErrorCode::StaleBrokerEpoch,
            format!(
                "broker {broker} epoch {broker_epoch} is not the current {}",
                b.epoch
            ),
        ));
    }
    let first = image.next_producer_id();
    let next = first
        .get()
        .checked_add(BLOCK_SIZE)
        .filter(|n| *n > 0)
        .ok_or_else(|| {
            Refusal::new(
                ErrorCode::UnknownServerError,
                "the producer id space is exhausted",
            )
        })?;
    let records = vec![rec(Record::ProducerIds(ProducerIdsRecord {
        broker_id: Some(broker.into()),
        broker_epoch,
        next_producer_id: Some(ProducerId::new(next).into()),
    }))];
    dry_run(image, &records)?;
    Ok(Write::new(
        records,
        Block {
            first,
            count: BLOCK_SIZE as i32,
        },
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::manager::testing::{apply, brokers};

    #[test]
    fn blocks_never_overlap() {
        let mut image = brokers(&[(1, None), (2, None)]);
        let mut last_end = 0;
        for i in 0..5 {
            let id = BrokerId::new(1 + i % 2);
            let epoch = image.broker(id).unwrap().epoch;
            let w = allocate(&image, id, epoch).unwrap();
            assert_eq!(w.response.first.get(), last_end);
            last_end = w.response.first.get() + i64::from(w.response.count);
            image = apply(&image, &w.records);
        }
        assert_eq!(
            allocate(&image, BrokerId::new(1), -5).unwrap_err().code,
            ErrorCode::StaleBrokerEpoch
        );
    }
}
