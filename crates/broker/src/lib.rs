//! rill-broker: a broker process's core.
