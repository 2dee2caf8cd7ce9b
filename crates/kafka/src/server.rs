//! The listener's I/O shell: accepts connections on an already-bound listener and serves
//! each on its own task until the shutdown signal.
//!
//! One request at a time per connection, answered in order — what Kafka does (it mutes
//! a connection while a request is in flight), and what every client expects: responses
//! carry only a correlation id, and clients match them to requests in order. A bad frame
//! or request closes that connection only; nothing is allocated for a frame before its
//! size has been checked.
//!
//! A broker may have several named listeners (Kafka's `listeners`); each is served by its
//! own `serve` with a context naming it, so every connection answers with the endpoints
//! of the listener it came in on.

use std::sync::Arc;

use tokio::io::{AsyncWriteExt, BufReader};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{Semaphore, watch};

use crate::apis;
use crate::codec::{self, Parsed};
use crate::context::KafkaContext;
use crate::error::KafkaError;
use crate::frame;

/// Serves Kafka clients on `listener` (the one `ctx.listener` names) until `shutdown`
/// turns true.
pub async fn serve(
    listener: TcpListener,
    ctx: Arc<KafkaContext>,
    mut shutdown: watch::Receiver<bool>,
) {
    let slots = Arc::new(Semaphore::new(ctx.config.max_connections));
    loop {
        let permit = tokio::select! {
            p = slots.clone().acquire_owned() => match p { Ok(p) => p, Err(_) => return },
            _ = shutdown.wait_for(|s| *s) => return,
        };
        let (stream, peer) = tokio::select! {
            a = listener.accept() => match a {
                Ok(a) => a,
                Err(e) => {
                    tracing::warn!(listener = %ctx.listener, error = %e, "kafka listener: accept failed");
                    continue;
                }
            },
            _ = shutdown.wait_for(|s| *s) => return,
        };
        let ctx = ctx.clone();
        let stop = shutdown.clone();
        tokio::spawn(async move {
            let _permit = permit;
            let served =
                CLIENT_HOST.scope(format!("/{}", peer.ip()), connection(stream, &ctx, stop));
            match served.await {
                Ok(()) => {
                    tracing::debug!(%peer, listener = %ctx.listener, "kafka connection closed")
                }
                Err(e) => {
                    tracing::info!(%peer, listener = %ctx.listener, error = %e, "kafka connection closed")
                }
            }
        });
    }
}

tokio::task_local! {
    /// The client's address as Kafka writes it (`/10.0.0.7`), for the request being
    /// served on this connection's task (group members report it as their host).
    static CLIENT_HOST: String;
}

/// The host of the client whose request is being served, or "" outside a connection
/// (tests calling handlers directly).
pub(crate) fn client_host() -> String {
    CLIENT_HOST.try_with(Clone::clone).unwrap_or_default()
}

async fn connection(
    stream: TcpStream,
    ctx: &KafkaContext,
    mut shutdown: watch::Receiver<bool>,
) -> Result<(), KafkaError> {
    stream.set_nodelay(true)?;
    let (read, mut write) = stream.into_split();
    let mut read = BufReader::new(read);
    loop {
        let frame = tokio::select! {
            f = frame::read_frame(&mut read, ctx.config.max_request_bytes) => f?,
            _ = shutdown.wait_for(|s| *s) => return Ok(()),
        };
        let Some(frame) = frame else { return Ok(()) };
        if let Some(reply) = handle(ctx, frame).await? {
            write.write_all(&reply).await?;
        }
    }
}

/// Parses and serves one frame; `None` when the request wants no answer.
pub async fn handle(
    ctx: &KafkaContext,
    frame: bytes::Bytes,
) -> Result<Option<bytes::BytesMut>, KafkaError> {
    match codec::parse(frame)? {
        Parsed::Reply(reply) => Ok(Some(reply)),
        Parsed::Request(req) => {
            tracing::trace!(
                api = ?req.key,
                version = req.header.request_api_version,
                correlation_id = req.header.correlation_id,
                "kafka request"
            );
            apis::route(ctx, &req.header, req.key, req.body).await
        }
    }
}
