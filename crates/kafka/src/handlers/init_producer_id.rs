//! InitProducerId (key 22), v0–5: a fresh producer id (epoch 0) for an idempotent
//! producer, from this broker's block of ids (see [`crate::producer_ids`]). A re-init of
//! an existing producer (v3+, KIP-360) also gets a fresh id: without transactions there
//! is no state to fence, and a new id can never collide with the old one's sequences.
//! Transactional producers are refused: rill has no transaction coordinator.

use kafka_protocol::messages::{
    InitProducerIdRequest, InitProducerIdResponse, ProducerId, RequestHeader,
};
use rill_types::ErrorCode;

use crate::codes;
use crate::context::KafkaContext;

/// Hands out a producer id.
pub async fn handle(
    ctx: &KafkaContext,
    _header: &RequestHeader,
    req: InitProducerIdRequest,
) -> Option<InitProducerIdResponse> {
    let refused = |code| {
        InitProducerIdResponse::default()
            .with_error_code(codes::code(code))
            .with_producer_id(ProducerId(-1))
            .with_producer_epoch(-1)
    };
    if req.transactional_id.is_some() {
        tracing::info!("InitProducerId with a transactional id refused: no transactions");
        return Some(refused(ErrorCode::TransactionalIdAuthorizationFailed));
    }
    Some(
        match ctx
            .producer_ids
            .next(&ctx.controllers, ctx.broker_id, ctx.broker_epoch())
            .await
        {
            Ok(id) => InitProducerIdResponse::default()
                .with_producer_id(ProducerId(id.get()))
                .with_producer_epoch(0),
            Err(code) => refused(code),
        },
    )
}
