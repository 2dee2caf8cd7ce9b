//! The fault proxy against a local echo server: each mode, on open and new connections,
//! every step bounded in time.

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use rill_testkit::{FaultProxy, ProxyMode};
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
use tokio::net::{TcpListener, TcpStream};
use tokio::time::timeout;

/// Long enough for anything that should happen; a test waiting this long has failed.
const PROMPTLY: Duration = Duration::from_secs(5);
/// How long "nothing arrives" is watched for.
const QUIET: Duration = Duration::from_millis(300);

/// An echo server on a free port; it runs until the test's runtime ends.
async fn echo_server() -> SocketAddr {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        while let Ok((mut socket, _)) = listener.accept().await {
            tokio::spawn(async move {
                let (mut r, mut w) = socket.split();
                let _ = tokio::io::copy(&mut r, &mut w).await;
            });
        }
    });
    addr
}

async fn proxy() -> FaultProxy {
    let target = echo_server().await;
    FaultProxy::start(&tokio::runtime::Handle::current(), target).unwrap()
}

async fn connect(proxy: &FaultProxy) -> TcpStream {
    timeout(PROMPTLY, TcpStream::connect(proxy.addr()))
        .await
        .expect("connect in time")
        .unwrap()
}

/// Writes `msg` and reads the echo, within [`PROMPTLY`].
async fn round_trip(socket: &mut TcpStream, msg: &[u8]) {
    socket.write_all(msg).await.unwrap();
    let mut got = vec![0; msg.len()];
    timeout(PROMPTLY, socket.read_exact(&mut got))
        .await
        .expect("echo in time")
        .unwrap();
    assert_eq!(got, msg);
}

/// Whether the peer closed the connection (EOF or reset) within [`PROMPTLY`].
async fn closed(socket: &mut TcpStream) -> bool {
    let mut buf = [0u8; 64];
    loop {
        match timeout(PROMPTLY, socket.read(&mut buf)).await {
            Err(_) => return false,
            Ok(Ok(0)) | Ok(Err(_)) => return true,
            Ok(Ok(_)) => continue,
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pass_forwards_both_ways_including_large_writes() {
    let proxy = proxy().await;
    assert_eq!(proxy.mode(), ProxyMode::Pass);
    let mut socket = connect(&proxy).await;
    round_trip(&mut socket, b"hello").await;
    let big: Vec<u8> = (0..1_000_000u32).map(|i| i as u8).collect();
    let (mut r, mut w) = socket.into_split();
    let writer = tokio::spawn(async move { w.write_all(&big).await.map(|()| big) });
    let mut got = vec![0; 1_000_000];
    timeout(PROMPTLY, r.read_exact(&mut got))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(got, writer.await.unwrap().unwrap());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn drop_closes_open_connections_and_refuses_new_ones_until_healed() {
    let proxy = proxy().await;
    let mut open = connect(&proxy).await;
    round_trip(&mut open, b"before").await;

    proxy.set_mode(ProxyMode::Drop);
    assert!(closed(&mut open).await, "open connection closed");
    let mut new = connect(&proxy).await;
    assert!(closed(&mut new).await, "new connection closed on accept");

    proxy.set_mode(ProxyMode::Pass);
    let mut after = connect(&proxy).await;
    round_trip(&mut after, b"after").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn delay_adds_latency_each_way_without_reordering() {
    let proxy = proxy().await;
    let mut socket = connect(&proxy).await;
    round_trip(&mut socket, b"warm").await;

    let delay = Duration::from_millis(150);
    proxy.set_mode(ProxyMode::Delay(delay));
    let start = Instant::now();
    // Several writes in flight at once: latency, not a per-chunk throughput limit.
    for part in [b"one".as_slice(), b"two", b"three"] {
        socket.write_all(part).await.unwrap();
    }
    let mut got = vec![0; 11];
    timeout(PROMPTLY, socket.read_exact(&mut got))
        .await
        .unwrap()
        .unwrap();
    let took = start.elapsed();
    assert_eq!(got, b"onetwothree");
    assert!(
        took >= 2 * delay,
        "took {took:?}, less than a delay each way"
    );
    assert!(took < 2 * delay + Duration::from_secs(2), "took {took:?}");

    proxy.set_mode(ProxyMode::Pass);
    round_trip(&mut socket, b"fast again").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn blackhole_holds_bytes_on_open_and_new_connections_until_healed() {
    let proxy = proxy().await;
    let mut open = connect(&proxy).await;
    round_trip(&mut open, b"before").await;

    proxy.set_mode(ProxyMode::Blackhole);
    open.write_all(b"held").await.unwrap();
    let mut buf = [0u8; 4];
    assert!(
        timeout(QUIET, open.read_exact(&mut buf)).await.is_err(),
        "nothing moves through a blackhole"
    );
    let mut new = connect(&proxy).await;
    new.write_all(b"late").await.unwrap();
    assert!(timeout(QUIET, new.read_exact(&mut buf)).await.is_err());

    // Healing delivers what waited, on the same connections (they were never closed).
    proxy.set_mode(ProxyMode::Pass);
    timeout(PROMPTLY, open.read_exact(&mut buf))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(&buf, b"held");
    timeout(PROMPTLY, new.read_exact(&mut buf))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(&buf, b"late");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dropping_the_proxy_closes_its_connections_and_listener() {
    let proxy = proxy().await;
    let addr = proxy.addr();
    let mut open = connect(&proxy).await;
    round_trip(&mut open, b"x").await;
    drop(proxy);
    assert!(closed(&mut open).await);
    let refused = timeout(PROMPTLY, async {
        loop {
            // The listener closes once the aborted accept task is dropped.
            if TcpStream::connect(addr).await.is_err() {
                return;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    })
    .await;
    assert!(refused.is_ok(), "listener still accepting");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_client_half_close_is_forwarded() {
    let proxy = proxy().await;
    let mut socket = connect(&proxy).await;
    socket.write_all(b"bye").await.unwrap();
    socket.shutdown().await.unwrap();
    let mut got = Vec::new();
    timeout(PROMPTLY, socket.read_to_end(&mut got))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(got, b"bye");
}

#[test]
fn works_from_sync_code_on_a_runtime_of_its_own() {
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let target = runtime.block_on(echo_server());
    let proxy = FaultProxy::start(runtime.handle(), target).unwrap();
    assert_eq!(proxy.target(), target);
    let mut socket = std::net::TcpStream::connect(proxy.addr()).unwrap();
    socket.set_read_timeout(Some(PROMPTLY)).unwrap();
    use std::io::{Read as _, Write as _};
    socket.write_all(b"sync").unwrap();
    let mut got = [0u8; 4];
    socket.read_exact(&mut got).unwrap();
    assert_eq!(&got, b"sync");
}
