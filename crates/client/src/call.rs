//! One RPC to one broker, bounded by a timer, with the transport's failures turned into
//! [`DataError`]s. The only place that sees `tonic::Status`.

use std::error::Error as _;
use std::future::Future;
use std::time::Duration;

use rill_proto::common;
use rill_proto::data::data_service_client::DataServiceClient;
use rill_types::ErrorCode;
use tonic::Status;
use tonic::transport::Channel;

use crate::DataError;

/// Largest message either way: a fetch answer holds up to `max_bytes` plus one whole
/// first batch; a produce holds one batch. Brokers cap both far below this.
pub(crate) const MAX_MESSAGE_SIZE: usize = 256 << 20;

/// A data-service client on `channel` that accepts messages up to [`MAX_MESSAGE_SIZE`]
/// (tonic's default is 4 MiB, below a default fetch).
pub(crate) fn data_client(channel: Channel) -> DataServiceClient<Channel> {
    DataServiceClient::new(channel)
        .max_decoding_message_size(MAX_MESSAGE_SIZE)
        .max_encoding_message_size(MAX_MESSAGE_SIZE)
}

/// What is being called, for errors.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Target<'a> {
    /// The RPC's name, e.g. "Produce".
    pub rpc: &'static str,
    /// The broker's address.
    pub broker: &'a str,
    /// Whether the RPC may append records (a produce): its broken calls then leave the
    /// outcome unknown.
    pub writes: bool,
}

/// Runs `rpc`, waiting at most `wait` for its answer.
///
/// A call that could not connect sent nothing ([`DataError::Unreachable`]); any other
/// failure may have reached the broker ([`DataError::Transport`], [`DataError::Timeout`]),
/// which for a produce leaves the outcome unknown. Dropping the future on timeout cancels
/// the HTTP/2 stream.
pub(crate) async fn call<T>(
    target: Target<'_>,
    wait: Duration,
    rpc: impl Future<Output = Result<tonic::Response<T>, Status>>,
) -> Result<T, DataError> {
    match tokio::time::timeout(wait, rpc).await {
        Ok(Ok(response)) => Ok(response.into_inner()),
        Ok(Err(status)) => Err(from_status(target, &status)),
        Err(_) => Err(DataError::Timeout {
            operation: format!("{} to {}", target.rpc, target.broker),
            after: wait,
            maybe_written: target.writes,
        }),
    }
}

fn from_status(target: Target<'_>, status: &Status) -> DataError {
    if is_connect_error(status) {
        return DataError::Unreachable {
            broker: target.broker.to_owned(),
            message: status.message().to_owned(),
            maybe_written: false,
        };
    }
    DataError::Transport {
        broker: target.broker.to_owned(),
        code: status.code(),
        message: status.message().to_owned(),
        maybe_written: target.writes,
    }
}

/// Whether the call failed while connecting, before any byte of the request was sent:
/// tonic wraps every connector failure (refused, DNS, connect timeout) in
/// [`tonic::ConnectError`], which stays in the status's source chain.
fn is_connect_error(status: &Status) -> bool {
    let mut source = status.source();
    while let Some(err) = source {
        if err.is::<tonic::ConnectError>() {
            return true;
        }
        source = err.source();
    }
    false
}

/// The Kafka error of a partition answer, with `maybe_written` as the caller decides.
pub(crate) fn kafka_error(error: common::Error, maybe_written: bool) -> DataError {
    let name = if error.name.is_empty() {
        ErrorCode::from_code(error.code).map_or_else(|| "UNKNOWN".to_owned(), |c| c.name().into())
    } else {
        error.name
    };
    DataError::Broker {
        code: error.code,
        name,
        message: error.message,
        maybe_written,
    }
}
