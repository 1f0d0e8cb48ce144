//! The gateway's accept loop: HTTP/1.1 with keep-alive, a cap on concurrent connections and
//! timeouts for slow or idle clients.
//!
//! `axum::serve` has no knobs for these, so connections are served with hyper directly. Each
//! accepted connection holds a semaphore permit for its lifetime; when all are taken, new
//! connections are closed at once (a flood costs the server one `accept` each, not a task).
//! The peer address is put into every request as axum's [`ConnectInfo`], the fair-share
//! identity of the XML-RPC methods.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::extract::ConnectInfo;
use hyper::body::Incoming;
use hyper_util::rt::{TokioIo, TokioTimer};
use tokio::net::TcpListener;
use tokio::sync::Semaphore;
use tower_service::Service as _;

/// Bounds of the accept loop.
#[derive(Clone, Copy, Debug)]
pub struct ServeLimits {
    /// Most connections open at once.
    pub max_connections: usize,
    /// How long a connection may take to send a request's headers, counted from when the server
    /// starts waiting for it (so it also closes idle keep-alive connections).
    pub header_timeout: Duration,
}

impl Default for ServeLimits {
    fn default() -> Self {
        ServeLimits {
            max_connections: 1024,
            header_timeout: Duration::from_secs(30),
        }
    }
}

/// Serves `app` on `listener` until `stop` resolves.
pub async fn serve(
    listener: TcpListener,
    app: Router,
    limits: ServeLimits,
    stop: impl std::future::Future<Output = ()>,
) {
    let permits = Arc::new(Semaphore::new(limits.max_connections));
    tokio::pin!(stop);
    loop {
        let accepted = tokio::select! {
            () = &mut stop => return,
            a = listener.accept() => a,
        };
        let (stream, peer) = match accepted {
            Ok(a) => a,
            Err(e) => {
                // Out of file descriptors and the like: pause rather than spin.
                tracing::debug!(error = %e, "accept failed");
                tokio::time::sleep(Duration::from_millis(20)).await;
                continue;
            }
        };
        let Ok(permit) = Arc::clone(&permits).try_acquire_owned() else {
            tracing::debug!(%peer, "connection limit reached; closing");
            continue;
        };
        let _ = stream.set_nodelay(true);
        let app = app.clone();
        tokio::spawn(async move {
            connection(TokioIo::new(stream), peer, app, limits).await;
            drop(permit);
        });
    }
}

/// Serves one connection until the client closes it or a timeout fires.
async fn connection(
    io: TokioIo<tokio::net::TcpStream>,
    peer: SocketAddr,
    app: Router,
    limits: ServeLimits,
) {
    // Each request gets the peer's address as axum's ConnectInfo, then goes to the router.
    let service = hyper::service::service_fn(move |mut req: hyper::Request<Incoming>| {
        req.extensions_mut().insert(ConnectInfo(peer));
        let mut app = app.clone();
        async move { app.call(req.map(axum::body::Body::new)).await }
    });
    let mut builder = hyper::server::conn::http1::Builder::new();
    builder
        .timer(TokioTimer::new())
        .header_read_timeout(limits.header_timeout)
        .keep_alive(true);
    if let Err(e) = builder.serve_connection(io, service).await {
        tracing::trace!(%peer, error = %e, "connection ended with an error");
    }
}
