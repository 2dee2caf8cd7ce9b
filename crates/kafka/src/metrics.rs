//! The Kafka listener's metrics, through the `metrics` facade (the binary installs the
//! Prometheus recorder; without one these are no-ops).

use std::time::Duration;

use kafka_protocol::messages::ApiKey;
use metrics::{Unit, counter, describe_counter, describe_histogram, histogram};

/// Counter, labels `api` (e.g. `Produce`) and `outcome` (`ok` / `error`: the request
/// could not be decoded or answered): requests handled (Kafka's RequestsPerSec).
pub const REQUESTS: &str = "rill_kafka_requests_total";
/// Histogram, label `api`: seconds from a decoded request to its encoded answer
/// (Kafka's TotalTimeMs, without the time queued in the socket).
pub const REQUEST_SECONDS: &str = "rill_kafka_request_duration_seconds";
/// The histogram buckets of [`REQUEST_SECONDS`], in seconds: 100 µs to 30 s (a fetch
/// long-polls up to its max wait).
pub const REQUEST_BUCKETS: &[f64] = &[
    0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5,
    5.0, 10.0, 30.0,
];

fn api_name(key: ApiKey) -> String {
    format!("{key:?}")
}

/// Records one request to `key` that took `took`.
pub fn request(key: ApiKey, ok: bool, took: Duration) {
    let api = api_name(key);
    let outcome = if ok { "ok" } else { "error" };
    counter!(REQUESTS, "api" => api.clone(), "outcome" => outcome).increment(1);
    histogram!(REQUEST_SECONDS, "api" => api).record(took.as_secs_f64());
}

/// Registers the help text and unit of every Kafka listener metric (once, at start-up).
pub fn describe() {
    describe_counter!(REQUESTS, "Kafka requests handled, per API and outcome.");
    describe_histogram!(
        REQUEST_SECONDS,
        Unit::Seconds,
        "Kafka request handling time, per API."
    );
}
