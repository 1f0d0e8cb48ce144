//! A lean XML-RPC load generator for the benches, in the manner of `wrk`: many keep-alive
//! connections multiplexed on one thread, each sending a call, reading the whole reply and
//! checking it before the next.
//!
//! The blocking [`Rpc`](crate::rpc::Rpc) client costs about 190 µs of CPU per call (a thread per
//! client, `ureq`'s generality), more than the node it measures; on a 2-core machine that
//! shares the cores with the nodes, the client would be what the figure measures. Here a call
//! costs the encoding, two socket operations and the decoding of the reply, so what is left
//! of the cores goes to the nodes.

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use scope_node::gateway::client::{decode_response, encode_request};
use scope_node::gateway::xmlrpc::XmlLimits;
use scope_node::gateway::{Request, Response};
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
use tokio::net::TcpStream;

/// Largest reply accepted (a get page is a few KiB).
const MAX_REPLY: usize = 1 << 20;

/// What one run of the load generator measured.
#[derive(Debug, Default)]
pub struct LoadResult {
    /// Latencies of successful calls, µs, sorted.
    pub lat_us: Vec<u64>,
    /// Calls that failed (transport error, bad reply, or the check said no).
    pub failed: usize,
    /// Wall time of the run.
    pub took: Duration,
}

/// Runs `connections` keep-alive connections to `addr` for `duration`, each making calls
/// built by `make` (given the connection number and a per-connection counter) and judged by
/// `check`. Runs on a single-threaded runtime of its own, on the calling thread.
///
/// # Errors
/// When the runtime cannot be built.
pub fn run(
    addr: SocketAddr,
    connections: usize,
    duration: Duration,
    make: impl Fn(usize, u64) -> Request + Send + Sync + 'static,
    check: impl Fn(&Response) -> bool + Send + Sync + 'static,
) -> std::io::Result<LoadResult> {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    let (make, check) = (Arc::new(make), Arc::new(check));
    let stop = Arc::new(AtomicBool::new(false));
    rt.block_on(async move {
        let started = Instant::now();
        let tasks: Vec<_> = (0..connections)
            .map(|c| {
                let (make, check, stop) = (make.clone(), check.clone(), stop.clone());
                tokio::spawn(async move { connection(addr, c, &*make, &*check, &stop).await })
            })
            .collect();
        tokio::time::sleep(duration).await;
        stop.store(true, Ordering::Relaxed);
        let mut out = LoadResult::default();
        for t in tasks {
            if let Ok((lat, failed)) = t.await {
                out.lat_us.extend(lat);
                out.failed += failed;
            }
        }
        out.took = started.elapsed();
        out.lat_us.sort_unstable();
        Ok(out)
    })
}

/// One connection's loop; reconnects after an error.
async fn connection(
    addr: SocketAddr,
    c: usize,
    make: &(dyn Fn(usize, u64) -> Request + Send + Sync),
    check: &(dyn Fn(&Response) -> bool + Send + Sync),
    stop: &AtomicBool,
) -> (Vec<u64>, usize) {
    let (mut lat, mut failed) = (Vec::new(), 0);
    let mut stream: Option<TcpStream> = None;
    let mut buf = Vec::with_capacity(8192);
    let mut n = 0u64;
    while !stop.load(Ordering::Relaxed) {
        let request = make(c, n);
        n += 1;
        let t = Instant::now();
        if stream.is_none() {
            match TcpStream::connect(addr).await {
                Ok(s) => {
                    let _ = s.set_nodelay(true);
                    stream = Some(s);
                }
                Err(_) => {
                    failed += 1;
                    tokio::time::sleep(Duration::from_millis(10)).await;
                    continue;
                }
            }
        }
        let Some(s) = stream.as_mut() else { continue };
        match call(s, addr, &request, &mut buf).await {
            Ok(resp) if check(&resp) => {
                lat.push(u64::try_from(t.elapsed().as_micros()).unwrap_or(u64::MAX));
            }
            Ok(_) => failed += 1,
            Err(_) => {
                failed += 1;
                stream = None;
            }
        }
    }
    (lat, failed)
}

/// One call over an open keep-alive connection.
async fn call(
    s: &mut TcpStream,
    addr: SocketAddr,
    request: &Request,
    buf: &mut Vec<u8>,
) -> std::io::Result<Response> {
    let body = encode_request(request);
    let mut msg = format!(
        "POST / HTTP/1.1\r\nHost: {addr}\r\nContent-Type: text/xml\r\nContent-Length: {}\r\n\r\n",
        body.len()
    )
    .into_bytes();
    msg.extend_from_slice(&body);
    s.write_all(&msg).await?;
    buf.clear();
    let (head_end, length) = loop {
        if let Some(end) = find(buf, b"\r\n\r\n") {
            break (end + 4, content_length(buf.get(..end).unwrap_or_default())?);
        }
        read_more(s, buf).await?;
    };
    if !buf.starts_with(b"HTTP/1.1 200") {
        return Err(invalid("status is not 200"));
    }
    if length > MAX_REPLY {
        return Err(invalid("reply too large"));
    }
    while buf.len() < head_end + length {
        read_more(s, buf).await?;
    }
    let body = buf.get(head_end..head_end + length).unwrap_or_default();
    decode_response(request.method_name(), body, XmlLimits::default())
        .map_err(|f| invalid(&format!("{f:?}")))
}

async fn read_more(s: &mut TcpStream, buf: &mut Vec<u8>) -> std::io::Result<()> {
    if buf.len() > MAX_REPLY + 8192 {
        return Err(invalid("reply too large"));
    }
    let mut chunk = [0u8; 8192];
    let n = s.read(&mut chunk).await?;
    if n == 0 {
        return Err(std::io::ErrorKind::UnexpectedEof.into());
    }
    buf.extend_from_slice(chunk.get(..n).unwrap_or_default());
    Ok(())
}

fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
    hay.windows(needle.len()).position(|w| w == needle)
}

/// The Content-Length of a reply head (the gateway always sends one).
fn content_length(head: &[u8]) -> std::io::Result<usize> {
    let text = std::str::from_utf8(head).map_err(|_| invalid("head is not UTF-8"))?;
    text.lines()
        .filter_map(|l| l.split_once(':'))
        .find(|(name, _)| name.trim().eq_ignore_ascii_case("content-length"))
        .and_then(|(_, v)| v.trim().parse().ok())
        .ok_or_else(|| invalid("no Content-Length"))
}

fn invalid(what: &str) -> std::io::Error {
    std::io::Error::new(std::io::ErrorKind::InvalidData, what.to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_content_length_case_insensitively() {
        let head = b"HTTP/1.1 200 OK\r\ncontent-type: text/xml\r\nContent-LENGTH: 42";
        assert_eq!(content_length(head).ok(), Some(42));
        assert!(content_length(b"HTTP/1.1 200 OK\r\nX: y").is_err());
    }

    #[test]
    fn finds_the_end_of_the_head() {
        assert_eq!(find(b"ab\r\n\r\ncd", b"\r\n\r\n"), Some(2));
        assert_eq!(find(b"ab\r\n", b"\r\n\r\n"), None);
    }
}
