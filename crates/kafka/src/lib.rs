//! rill-kafka: the Kafka listener of a broker.
