//! [`ProducerConfig`] and [`ConsumerConfig`]: the knobs of the data-plane clients, with
//! Kafka's defaults and names where Kafka has the same knob.

use std::time::Duration;

/// How a [`Producer`](crate::Producer) sends.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProducerConfig {
    /// Kafka's `acks`: 0 (no answer awaited, no offsets), 1 (the leader's append) or -1
    /// (every in-sync replica). Sent as is: the broker refuses other values with
    /// INVALID_REQUIRED_ACKS. Default -1.
    pub acks: i32,
    /// Kafka's `request.timeout.ms`: how long one attempt waits for its answer; also sent
    /// as the produce's `timeout_ms` (the broker's wait for replication). Default 30 s.
    pub request_timeout: Duration,
    /// Kafka's `delivery.timeout.ms`: the whole send, every retry included. When it
    /// passes, the send returns the last attempt's error. No retry starts with less than
    /// `min(request_timeout, 1 s)` left, so that the last error is a whole attempt's
    /// answer, not one cut short by this deadline. Default 120 s.
    pub delivery_timeout: Duration,
    /// Kafka's `retry.backoff.ms`: the first pause between attempts. Default 100 ms.
    pub retry_backoff: Duration,
    /// Kafka's `retry.backoff.max.ms`: pauses double up to this. Default 1 s.
    pub retry_backoff_max: Duration,
    /// Kafka's `metadata.max.age.ms`: cached leaders older than this are looked up again
    /// before use, even without an error. Default 5 min.
    pub metadata_max_age: Duration,
}

impl Default for ProducerConfig {
    fn default() -> Self {
        ProducerConfig {
            acks: -1,
            request_timeout: Duration::from_secs(30),
            delivery_timeout: Duration::from_secs(120),
            retry_backoff: Duration::from_millis(100),
            retry_backoff_max: Duration::from_secs(1),
            metadata_max_age: Duration::from_secs(300),
        }
    }
}

/// How a [`Consumer`](crate::Consumer) reads.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConsumerConfig {
    /// Kafka's `fetch.max.wait.ms`: how long the broker may hold a fetch that has fewer
    /// than `min_bytes` ready. Default 500 ms.
    pub max_wait: Duration,
    /// Kafka's `fetch.min.bytes`. Default 1.
    pub min_bytes: i32,
    /// Kafka's `fetch.max.bytes` (also the partition's limit: one partition per fetch).
    /// A first batch larger than this is still returned whole. Default 8 MiB.
    pub max_bytes: i32,
    /// How long one attempt waits for its answer beyond `max_wait`. Default 30 s.
    pub request_timeout: Duration,
    /// The whole of one fetch or offset lookup, retries included; for
    /// [`Consumer::read_all`](crate::Consumer::read_all), the longest it waits without
    /// progress. Default 30 s.
    pub fetch_timeout: Duration,
    /// The first pause between attempts. Default 100 ms.
    pub retry_backoff: Duration,
    /// Pauses double up to this. Default 1 s.
    pub retry_backoff_max: Duration,
    /// Cached leaders older than this are looked up again before use. Default 5 min.
    pub metadata_max_age: Duration,
}

impl Default for ConsumerConfig {
    fn default() -> Self {
        ConsumerConfig {
            max_wait: Duration::from_millis(500),
            min_bytes: 1,
            max_bytes: 8 << 20,
            request_timeout: Duration::from_secs(30),
            fetch_timeout: Duration::from_secs(30),
            retry_backoff: Duration::from_millis(100),
            retry_backoff_max: Duration::from_secs(1),
            metadata_max_age: Duration::from_secs(300),
        }
    }
}

/// A duration as the `int32` milliseconds of the wire, saturating.
pub(crate) fn millis_i32(d: Duration) -> i32 {
    i32::try_from(d.as_millis()).unwrap_or(i32::MAX)
}
