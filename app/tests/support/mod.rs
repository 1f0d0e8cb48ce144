//! A small local XML-RPC gateway stub backed by `MemoryDht`: enough to test `GatewayDht` and
//! the binary over real HTTP until the super-node's own gateway server exists.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::sync::Arc;

use tokio::io::{AsyncBufReadExt as _, AsyncReadExt as _, AsyncWriteExt as _, BufReader};

use scope_node::gateway::opendht::{DetailedValue, GetDetailsResult, GetResult, Status};
use scope_node::gateway::scope_methods::{Change, ChangeKind, WatchResult};
use scope_node::gateway::{Fault, Limits, Request, Response, decode_request, encode_response};
use whatsup::client::MemoryDht;
use whatsup::client::dht::{self, Dht as _};

/// Serves the stub on an ephemeral port; returns its URL and the task. Aborting the task
/// closes the listener and every open connection, as a killed super-node would.
pub async fn serve(dht: Arc<MemoryDht>) -> (String, tokio::task::JoinHandle<()>) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/RPC2", listener.local_addr().unwrap());
    let task = tokio::spawn(async move {
        let mut connections = tokio::task::JoinSet::new();
        while let Ok((stream, _)) = listener.accept().await {
            connections.spawn(connection(stream, dht.clone()));
        }
    });
    (url, task)
}

/// A minimal HTTP/1.1 keep-alive loop: POST with Content-Length in, 200 text/xml out.
async fn connection(stream: tokio::net::TcpStream, dht: Arc<MemoryDht>) {
    let mut stream = BufReader::new(stream);
    loop {
        let mut length = 0usize;
        let mut line = String::new();
        loop {
            line.clear();
            if stream.read_line(&mut line).await.unwrap_or(0) == 0 {
                return;
            }
            let lower = line.to_ascii_lowercase();
            if let Some(value) = lower.strip_prefix("content-length:") {
                length = value.trim().parse().unwrap_or(0);
            }
            if line == "\r\n" {
                break;
            }
        }
        let mut body = vec![0; length];
        if stream.read_exact(&mut body).await.is_err() {
            return;
        }
        let reply = handle(&dht, &body).await;
        let head = format!(
            "HTTP/1.1 200 OK\r\nContent-Type: text/xml\r\nContent-Length: {}\r\n\r\n",
            reply.len()
        );
        let out = stream.get_mut();
        if out.write_all(head.as_bytes()).await.is_err() || out.write_all(&reply).await.is_err() {
            return;
        }
    }
}

async fn handle(dht: &MemoryDht, body: &[u8]) -> Vec<u8> {
    let response = match decode_request(body, &Limits::default()) {
        Ok(request) => execute(dht, request).await,
        Err(e) => Response::Fault(e.to_fault()),
    };
    encode_response(&response)
}

fn key(k: &scope_node::gateway::opendht::Key) -> dht::Key {
    k.to_id()
}

fn status(result: Result<(), dht::DhtError>) -> Response {
    Response::Status(if result.is_ok() {
        Status::Success
    } else {
        Status::OverCapacity
    })
}

async fn execute(dht: &MemoryDht, request: Request) -> Response {
    match request {
        Request::Put(p) => status(dht.put(key(&p.key), p.value, p.ttl.secs()).await),
        Request::PutRemovable(p) => {
            let hash = p.secret_hash.as_slice().try_into().unwrap_or_default();
            status(
                dht.put_removable(key(&p.key), p.value, hash, p.ttl.secs())
                    .await,
            )
        }
        Request::Rm(r) => {
            let hash = r.value_hash.as_slice().try_into().unwrap_or_default();
            status(dht.rm(key(&r.key), hash, r.secret, r.ttl.secs()).await)
        }
        Request::Get(g) => {
            let page = dht.get_page(key(&g.key), g.placemark).await.unwrap();
            Response::Get(GetResult {
                values: page.values,
                placemark: page.placemark,
            })
        }
        Request::GetDetails(g) => {
            let page = dht
                .get_details_page(key(&g.key), g.placemark)
                .await
                .unwrap();
            let values = page.values.into_iter().map(|d| DetailedValue {
                value: d.value,
                ttl_remaining: d.ttl_remaining,
                hash_alg: if d.secret_hash.is_some() {
                    "SHA".into()
                } else {
                    String::new()
                },
                secret_hash: d.secret_hash.map(|h| h.to_vec()).unwrap_or_default(),
            });
            Response::GetDetails(GetDetailsResult {
                values: values.collect(),
                placemark: page.placemark,
            })
        }
        Request::PutBlob(b) => {
            Response::BlobHash(dht.put_blob(b.data, b.ttl.secs()).await.unwrap().to_vec())
        }
        Request::GetBlob(b) => {
            let hash = b.hash.as_slice().try_into().unwrap_or_default();
            match dht.get_blob(hash).await.unwrap() {
                Some(data) => Response::Blob(data),
                None => Response::Fault(Fault::new(3, "no such blob")),
            }
        }
        Request::Watch(w) => {
            let keys: Vec<dht::Key> = w.keys.iter().map(key).collect();
            match dht.watch(&keys, &w.cursor, w.timeout_s).await {
                Ok(result) => Response::Watch(WatchResult {
                    cursor: result.cursor,
                    changes: result.changes.into_iter().map(change).collect(),
                }),
                Err(_) => Response::Fault(Fault::new(-32602, "bad cursor")),
            }
        }
        other => other
            .local_response()
            .unwrap_or(Response::Fault(Fault::new(-32601, "not in stub"))),
    }
}

fn change(c: dht::Change) -> Change {
    match c {
        dht::Change::Put { key, value } => Change {
            key: key.to_vec(),
            kind: ChangeKind::Put { value },
        },
        dht::Change::Rm { key, value_hash } => Change {
            key: key.to_vec(),
            kind: ChangeKind::Rm { value_hash },
        },
    }
}
