//! `rill health [HOST:PORT] [--live]`: asks a server process's HTTP endpoint whether it
//! is ready (`/readyz`) or alive (`/healthz`), and exits 0 only on a 200 answer. It
//! needs no shell, curl or TLS, so container images built FROM scratch can use it as
//! their HEALTHCHECK.

use std::io::{Read as _, Write as _};
use std::net::{TcpStream, ToSocketAddrs};
use std::time::Duration;

use anyhow::{Context as _, bail};
use clap::Args;

/// Arguments of `rill health`.
#[derive(Debug, Args)]
pub struct HealthArgs {
    /// The process's HTTP endpoint (its --http-listen address).
    #[arg(default_value = "127.0.0.1:9644", env = "RILL_HEALTH_ADDR")]
    pub addr: String,
    /// Ask whether the process is alive (/healthz) rather than ready (/readyz).
    #[arg(long)]
    pub live: bool,
    /// How long to wait for the answer, in seconds.
    #[arg(long, default_value_t = 3)]
    pub timeout_secs: u64,
}

/// Largest answer read: the readiness text is a few lines.
const MAX_ANSWER: u64 = 64 << 10;

impl HealthArgs {
    /// Probes once; Ok when the answer is 200.
    pub fn run(self) -> anyhow::Result<()> {
        let path = if self.live { "/healthz" } else { "/readyz" };
        let timeout = Duration::from_secs(self.timeout_secs.max(1));
        let (status, body) = get(&self.addr, path, timeout)
            .with_context(|| format!("asking http://{}{path}", self.addr))?;
        let body = body.trim();
        if status == 200 {
            if !body.is_empty() {
                println!("{body}");
            }
            return Ok(());
        }
        bail!("http://{}{path} answered {status}: {body}", self.addr)
    }
}

/// One HTTP/1.0 GET (the server closes the connection after the answer): the status
/// code and the body.
fn get(addr: &str, path: &str, timeout: Duration) -> anyhow::Result<(u16, String)> {
    let target = addr
        .to_socket_addrs()
        .with_context(|| format!("resolving {addr}"))?
        .next()
        .with_context(|| format!("{addr} resolves to no address"))?;
    let mut stream = TcpStream::connect_timeout(&target, timeout).context("connecting")?;
    stream.set_read_timeout(Some(timeout))?;
    stream.set_write_timeout(Some(timeout))?;
    write!(
        stream,
        "GET {path} HTTP/1.0\r\nHost: {addr}\r\nConnection: close\r\n\r\n"
    )?;
    let mut answer = Vec::new();
    stream
        .take(MAX_ANSWER)
        .read_to_end(&mut answer)
        .context("reading the answer")?;
    parse_answer(&String::from_utf8_lossy(&answer))
}

fn parse_answer(text: &str) -> anyhow::Result<(u16, String)> {
    let status_line = text.lines().next().context("empty answer")?;
    let code = status_line
        .split_whitespace()
        .nth(1)
        .and_then(|c| c.parse().ok())
        .with_context(|| format!("not an HTTP answer: {status_line:?}"))?;
    let body = text
        .split_once("\r\n\r\n")
        .map(|(_, b)| b.to_owned())
        .unwrap_or_default();
    Ok((code, body))
}

#[cfg(test)]
mod tests {
    use super::parse_answer;

    #[test]
    fn parses_status_and_body() {
        let (code, body) =
            parse_answer("HTTP/1.1 503 Service Unavailable\r\ncontent-length: 9\r\n\r\nbroker: x")
                .unwrap();
        assert_eq!(code, 503);
        assert_eq!(body, "broker: x");
        assert!(parse_answer("garbage").is_err());
        assert!(parse_answer("").is_err());
    }
}
