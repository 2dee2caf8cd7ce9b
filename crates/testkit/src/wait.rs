//! Waiting for a condition with a deadline, by polling: the only way tests here wait.
//! A timeout is a test failure, so these panic with the description of what was awaited.

use std::future::Future;
use std::time::{Duration, Instant};

/// How often a condition is polled.
pub const POLL_INTERVAL: Duration = Duration::from_millis(25);

/// Polls `condition` every [`POLL_INTERVAL`] until it holds; panics naming `what` if it
/// does not within `deadline`. The condition is always tried at least once.
pub fn wait_until(deadline: Duration, what: &str, mut condition: impl FnMut() -> bool) {
    wait_for(deadline, what, || condition().then_some(()));
}

/// Polls `probe` until it returns `Some`, and returns that value; panics naming `what`
/// if it does not within `deadline`.
pub fn wait_for<T>(deadline: Duration, what: &str, mut probe: impl FnMut() -> Option<T>) -> T {
    let end = Instant::now() + deadline;
    loop {
        if let Some(value) = probe() {
            return value;
        }
        assert!(
            Instant::now() < end,
            "timed out after {deadline:?} waiting for {what}"
        );
        std::thread::sleep(POLL_INTERVAL);
    }
}

/// [`wait_until`] for async conditions; sleeps with tokio between polls.
pub async fn wait_until_async<F, Fut>(deadline: Duration, what: &str, mut condition: F)
where
    F: FnMut() -> Fut,
    Fut: Future<Output = bool>,
{
    wait_for_async(deadline, what, || {
        let fut = condition();
        async move { fut.await.then_some(()) }
    })
    .await;
}

/// [`wait_for`] for async probes.
pub async fn wait_for_async<T, F, Fut>(deadline: Duration, what: &str, mut probe: F) -> T
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Option<T>>,
{
    let end = tokio::time::Instant::now() + deadline;
    loop {
        if let Some(value) = probe().await {
            return value;
        }
        assert!(
            tokio::time::Instant::now() < end,
            "timed out after {deadline:?} waiting for {what}"
        );
        tokio::time::sleep(POLL_INTERVAL).await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn returns_once_the_condition_holds() {
        let mut calls = 0;
        wait_until(Duration::from_secs(5), "three calls", || {
            calls += 1;
            calls == 3
        });
        assert_eq!(calls, 3);
    }

    #[test]
    #[should_panic(expected = "waiting for the impossible")]
    fn panics_with_the_description() {
        wait_until(Duration::from_millis(60), "the impossible", || false);
    }

    #[tokio::test]
    async fn the_async_variant_returns_the_value() {
        let mut calls = 0;
        let got = wait_for_async(Duration::from_secs(5), "a value", || {
            calls += 1;
            let ready = calls >= 2;
            async move { ready.then_some(7) }
        })
        .await;
        assert_eq!((got, calls), (7, 2));
    }
}
