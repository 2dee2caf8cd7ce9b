//! One direction of a proxied connection: read chunks from one socket, write them to
//! the other, obeying the proxy mode between every step.

use std::collections::VecDeque;

use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
use tokio::net::tcp::{OwnedReadHalf, OwnedWriteHalf};
use tokio::sync::watch;
use tokio::time::Instant;

use super::ProxyMode;

/// Bytes read at once.
pub(super) const CHUNK_BYTES: usize = 16 << 10;
/// Chunks held per direction (waiting out a delay); reading pauses when full.
pub(super) const MAX_QUEUED_CHUNKS: usize = 64;

/// The direction ended abnormally (mode `Drop`, proxy dropped, or a socket error): the
/// whole connection must close.
#[derive(Debug)]
pub(super) struct Aborted;

/// Waits until the mode lets traffic through; `Err` if it says drop or the proxy is gone.
pub(super) async fn wait_while_blackholed(
    modes: &mut watch::Receiver<ProxyMode>,
) -> Result<ProxyMode, Aborted> {
    loop {
        let mode = *modes.borrow_and_update();
        match mode {
            ProxyMode::Drop => return Err(Aborted),
            ProxyMode::Blackhole => modes.changed().await.map_err(|_| Aborted)?,
            ProxyMode::Pass | ProxyMode::Delay(_) => return Ok(mode),
        }
    }
}

/// What woke the pump.
enum Step {
    ModeChanged,
    Read(std::io::Result<usize>),
    Wrote(std::io::Result<usize>),
}

/// Forwards `from` to `to` until `from` ends (then shuts `to`'s write side: `Ok`) or the
/// connection must close (`Err`).
pub(super) async fn pump(
    mut from: OwnedReadHalf,
    mut to: OwnedWriteHalf,
    mut modes: watch::Receiver<ProxyMode>,
) -> Result<(), Aborted> {
    let mut buf = vec![0u8; CHUNK_BYTES];
    // Chunks read and not yet written, each with the time it may be written; the front
    // one may be partly written (`written` bytes of it).
    let mut queue: VecDeque<(Instant, Vec<u8>)> = VecDeque::new();
    let mut written = 0;
    let mut eof = false;
    loop {
        let mode = wait_while_blackholed(&mut modes).await?;
        if eof && queue.is_empty() {
            let _ = to.shutdown().await;
            return Ok(());
        }
        let delay = match mode {
            ProxyMode::Delay(d) => d,
            _ => std::time::Duration::ZERO,
        };
        let can_read = !eof && queue.len() < MAX_QUEUED_CHUNKS;
        let step = {
            let front = queue.front();
            // Both branches are cancel safe: a read or write that loses the race has
            // moved no bytes.
            let write_front = async {
                let (due, chunk) = front.expect("guarded by is_some");
                tokio::time::sleep_until(*due).await;
                to.write(&chunk[written..]).await
            };
            tokio::select! {
                changed = modes.changed() => {
                    changed.map_err(|_| Aborted)?;
                    Step::ModeChanged
                }
                r = from.read(&mut buf), if can_read => Step::Read(r),
                r = write_front, if front.is_some() => Step::Wrote(r),
            }
        };
        match step {
            Step::ModeChanged => {}
            Step::Read(Ok(0)) => eof = true,
            Step::Read(Ok(n)) => queue.push_back((Instant::now() + delay, buf[..n].to_vec())),
            Step::Wrote(Ok(n)) if n > 0 => {
                written += n;
                if written == queue.front().expect("just written").1.len() {
                    queue.pop_front();
                    written = 0;
                }
            }
            Step::Read(Err(_)) | Step::Wrote(_) => return Err(Aborted),
        }
    }
}
