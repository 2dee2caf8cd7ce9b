//! rill-testkit: multi-process cluster tests.
