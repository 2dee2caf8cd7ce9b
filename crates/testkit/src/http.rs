//! A minimal HTTP GET for tests of the servers' HTTP endpoints (/metrics, /healthz,
//! /readyz): HTTP/1.0, so the server closes the connection after its answer, bounded by
//! a timeout on every step.

use std::io::{Read as _, Write as _};
use std::net::TcpStream;
use std::time::Duration;

/// Most bytes read of an answer.
const LIMIT: u64 = 16 << 20;

/// GETs `path` from `addr` ("127.0.0.1:port"): the status code and the body, or why
/// the request failed (refused, timed out, not HTTP).
pub fn http_get(addr: &str, path: &str, timeout: Duration) -> Result<(u16, String), String> {
    let socket = addr.parse().map_err(|e| format!("{addr}: {e}"))?;
    let mut s = TcpStream::connect_timeout(&socket, timeout).map_err(|e| e.to_string())?;
    s.set_read_timeout(Some(timeout))
        .map_err(|e| e.to_string())?;
    s.write_all(format!("GET {path} HTTP/1.0\r\nHost: {addr}\r\n\r\n").as_bytes())
        .map_err(|e| e.to_string())?;
    let mut raw = Vec::new();
    s.take(LIMIT)
        .read_to_end(&mut raw)
        .map_err(|e| e.to_string())?;
    let text = String::from_utf8_lossy(&raw);
    let (head, body) = text.split_once("\r\n\r\n").unwrap_or((&text, ""));
    let code = head
        .split(' ')
        .nth(1)
        .and_then(|c| c.parse().ok())
        .ok_or_else(|| format!("not an HTTP answer from {addr}: {head:?}"))?;
    Ok((code, body.to_owned()))
}
