//! [`incoming`]: the connection stream a tonic server is given when it serves on an
//! already-bound listener (every rill server does, so tests can bind port 0).
//!
//! tonic applies `tcp_nodelay` only to listeners it binds itself, so accepted streams
//! are set here: without it, Nagle's algorithm and delayed ACKs add about 40 ms to small
//! replies (produce acknowledgements, follower fetch rounds).

use tokio::net::{TcpListener, TcpStream};
use tokio_stream::wrappers::TcpListenerStream;
use tokio_stream::{Stream, StreamExt as _};

/// Accepted connections of `listener`, each with TCP_NODELAY set.
pub fn incoming(listener: TcpListener) -> impl Stream<Item = std::io::Result<TcpStream>> {
    TcpListenerStream::new(listener).map(|stream| {
        if let Ok(s) = &stream {
            // Best effort: a socket that refuses the option still works.
            let _ = s.set_nodelay(true);
        }
        stream
    })
}
