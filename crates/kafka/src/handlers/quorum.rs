//! Reading the controller quorum's answers to forwarded admin requests, for every
//! handler that forwards one: per-item `rill.common.Error`s become Kafka refusals, a
//! short answer (a controller bug) refuses the missing items instead of indexing past
//! it, and a call the quorum did not answer refuses every item with REQUEST_TIMED_OUT.

use rill_types::ErrorCode;

/// A refusal: Kafka's code and the message the client sees.
pub type Refusal = (ErrorCode, String);

/// A refusal from the controller's `rill.common.Error`.
pub fn refusal(e: rill_proto::common::Error) -> Refusal {
    (
        ErrorCode::from_code(e.code).unwrap_or(ErrorCode::UnknownServerError),
        e.message,
    )
}

/// A refusal for every item of a call the quorum did not answer (logged once).
pub fn unavailable(api: &str, e: &impl std::fmt::Display) -> Refusal {
    tracing::warn!(error = %e, "{api}: the controller quorum did not answer");
    (
        ErrorCode::RequestTimedOut,
        format!("the controller quorum did not answer: {e}"),
    )
}

/// One outcome per item from a controller answer of per-item errors (`None`: done), or
/// every item refused when the quorum did not answer.
pub fn outcomes<E: std::fmt::Display>(
    answer: Result<Vec<Option<rill_proto::common::Error>>, E>,
    n: usize,
    api: &str,
) -> Vec<Result<(), Refusal>> {
    match answer {
        Ok(errors) => {
            let mut out: Vec<_> = errors
                .into_iter()
                .map(|e| e.map_or(Ok(()), |e| Err(refusal(e))))
                .collect();
            // A short answer is the controller's bug; never index past it.
            out.resize_with(n, || {
                Err((
                    ErrorCode::UnknownServerError,
                    "no answer for this item".into(),
                ))
            });
            out
        }
        Err(e) => vec![Err(unavailable(api, &e)); n],
    }
}
