//! [`FaultProxy`]: a TCP proxy on 127.0.0.1 that forwards to one target and misbehaves
//! on demand, for putting faults on the links between brokers.
//!
//! Modes ([`ProxyMode`]) can be changed at any time and apply to open connections at
//! once, through a `watch` channel every connection task listens to:
//!
//! * `Pass` forwards both ways;
//! * `Delay(d)` delivers every byte `d` after it was read: latency, not a throughput
//!   limit (chunks are queued with their due time);
//! * `Blackhole` keeps connections open but moves nothing either way, like a network
//!   partition: bytes wait in socket buffers (nothing is read, so nothing is lost — TCP
//!   never loses bytes mid-stream either) and flow again once the mode changes back. New
//!   connections are accepted but not forwarded to the target until then;
//! * `Drop` closes every connection and closes new ones as soon as they are accepted.
//!
//! Bounded: at most [`MAX_CONNECTIONS`] at once (more are closed on accept), and each
//! direction of a connection holds at most `pump::MAX_QUEUED_CHUNKS` chunks of
//! `pump::CHUNK_BYTES`. Every task ends when its connection closes or the proxy is
//! dropped (dropping the mode sender wakes them all).

mod pump;

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use tokio::net::{TcpListener, TcpStream};
use tokio::runtime::Handle;
use tokio::sync::{Semaphore, watch};
use tokio::task::JoinHandle;

/// Connections one proxy serves at once.
pub const MAX_CONNECTIONS: usize = 128;
/// How long a connection waits for the target to accept.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);

/// What a proxy does with traffic; see the module doc.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum ProxyMode {
    /// Forward both ways.
    #[default]
    Pass,
    /// Close every connection; close new ones on accept.
    Drop,
    /// Deliver each chunk this long after it was read.
    Delay(Duration),
    /// Keep connections open, forward nothing, connect nothing.
    Blackhole,
}

/// A running proxy. Dropping it closes its listener and every connection.
#[derive(Debug)]
pub struct FaultProxy {
    addr: SocketAddr,
    target: SocketAddr,
    mode: watch::Sender<ProxyMode>,
    accept: JoinHandle<()>,
}

impl FaultProxy {
    /// Starts a proxy to `target` on a free port of 127.0.0.1, in `Pass` mode, its tasks
    /// running on `runtime`. Callable from sync or async code.
    pub fn start(runtime: &Handle, target: SocketAddr) -> std::io::Result<Self> {
        let listener = std::net::TcpListener::bind("127.0.0.1:0")?;
        listener.set_nonblocking(true)?;
        let addr = listener.local_addr()?;
        let listener = {
            let _guard = runtime.enter();
            TcpListener::from_std(listener)?
        };
        let (mode, modes) = watch::channel(ProxyMode::Pass);
        let accept = runtime.spawn(accept_loop(listener, target, modes));
        Ok(Self {
            addr,
            target,
            mode,
            accept,
        })
    }

    /// The address to connect to instead of the target.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// The address traffic is forwarded to.
    pub fn target(&self) -> SocketAddr {
        self.target
    }

    /// The current mode.
    pub fn mode(&self) -> ProxyMode {
        *self.mode.borrow()
    }

    /// Switches mode; open connections follow at once.
    pub fn set_mode(&self, mode: ProxyMode) {
        self.mode.send_replace(mode);
    }
}

impl Drop for FaultProxy {
    fn drop(&mut self) {
        // The connection tasks end when they see the sender gone (dropped right after).
        self.accept.abort();
    }
}

async fn accept_loop(
    listener: TcpListener,
    target: SocketAddr,
    mut modes: watch::Receiver<ProxyMode>,
) {
    let slots = Arc::new(Semaphore::new(MAX_CONNECTIONS));
    loop {
        let accepted = tokio::select! {
            accepted = listener.accept() => accepted,
            changed = modes.changed() => match changed {
                Ok(()) => continue,
                Err(_) => return, // the proxy is gone
            },
        };
        let Ok((client, _)) = accepted else {
            // Out of file descriptors or similar: let it pass rather than spin.
            tokio::time::sleep(Duration::from_millis(10)).await;
            continue;
        };
        if *modes.borrow() == ProxyMode::Drop {
            continue; // `client` is dropped: closed
        }
        let Ok(slot) = slots.clone().try_acquire_owned() else {
            continue; // over the limit: closed
        };
        let modes = modes.clone();
        tokio::spawn(async move {
            connection(client, target, modes).await;
            drop(slot);
        });
    }
}

/// Serves one accepted connection until either side closes or the mode says drop.
async fn connection(client: TcpStream, target: SocketAddr, mut modes: watch::Receiver<ProxyMode>) {
    // Connect to the target only once traffic may flow: a blackholed link connects nothing.
    if pump::wait_while_blackholed(&mut modes).await.is_err() {
        return;
    }
    let server = match tokio::time::timeout(CONNECT_TIMEOUT, TcpStream::connect(target)).await {
        Ok(Ok(server)) => server,
        _ => return, // closing the client tells it the target is unreachable
    };
    let _ = client.set_nodelay(true);
    let _ = server.set_nodelay(true);
    let (client_read, client_write) = client.into_split();
    let (server_read, server_write) = server.into_split();
    let up = pump::pump(client_read, server_write, modes.clone());
    let down = pump::pump(server_read, client_write, modes);
    tokio::pin!(up, down);
    // Both directions must finish for a clean close (half-close is forwarded); an abort
    // of either ends the connection, dropping all four halves.
    let (mut up_done, mut down_done) = (false, false);
    while !(up_done && down_done) {
        let result = tokio::select! {
            r = &mut up, if !up_done => { up_done = true; r }
            r = &mut down, if !down_done => { down_done = true; r }
        };
        if result.is_err() {
            return;
        }
    }
}
