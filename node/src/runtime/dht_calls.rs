//! The DHT side of a [`NodeHandle`]: typed, awaitable put / get / rm / watch / blob calls.
//!
//! Each call becomes one [`DhtOp`] sent to the driver with a oneshot channel; the driver starts
//! the request on its [`Dht`](crate::dht::Dht), remembers the channel under the request's
//! [`ReqId`](crate::dht::ReqId) and answers when `DhtEvent::Done` comes out. The gateway never
//! sees the sans-IO machinery, only these typed results.

use std::net::IpAddr;
use std::time::Duration;

use tokio::sync::oneshot;

use super::{Command, NodeHandle};
use crate::dht::{
    Cursor, DhtError, GetReq, Outcome, PutReq, RmReq, Status, UpdateReq, Updated, WatchBatch,
};
use crate::store::{DhtKey, Hash, Page, ValueDetails};

/// A client request for the driver's DHT.
#[derive(Debug)]
pub enum DhtOp {
    /// `put` or `put_removable`, with the client address fair share is accounted to.
    Put(PutReq, IpAddr),
    /// `rm`, with the client address.
    Rm(RmReq, IpAddr),
    /// A guarded update, with the client address.
    Update(UpdateReq, IpAddr),
    /// `get` / `get_details`.
    Get(GetReq),
    /// `scope.watch`.
    Watch {
        /// The keys.
        keys: Vec<DhtKey>,
        /// Where to resume; `None` means from now on.
        cursor: Option<Cursor>,
        /// The long-poll's bound.
        timeout: Duration,
    },
    /// `scope.put_blob`.
    PutBlob {
        /// The bytes.
        data: Vec<u8>,
        /// Seconds to live.
        ttl_secs: u32,
    },
    /// `scope.get_blob`.
    GetBlob(Hash),
}

/// Why a DHT call through a [`NodeHandle`] failed.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum CallError {
    /// The DHT answered with an error.
    #[error(transparent)]
    Dht(#[from] DhtError),
    /// The driver task has stopped.
    #[error("the overlay driver has stopped")]
    Stopped,
    /// The driver answered with the outcome of another kind of request (a bug).
    #[error("internal error: mismatched DHT outcome")]
    Mismatch,
}

impl NodeHandle {
    /// Runs one DHT operation and returns its raw outcome.
    ///
    /// # Errors
    /// [`CallError::Stopped`] when the driver has stopped.
    pub async fn dht(&self, op: DhtOp) -> Result<Outcome, CallError> {
        let (reply, rx) = oneshot::channel();
        self.tx
            .send(Command::Dht { op, reply })
            .await
            .map_err(|_| CallError::Stopped)?;
        rx.await.map_err(|_| CallError::Stopped)
    }

    /// `put` (no secret hash in `req`) on behalf of `client`.
    ///
    /// # Errors
    /// [`CallError`] when the DHT fails or the driver stopped.
    pub async fn put(&self, req: PutReq, client: IpAddr) -> Result<Status, CallError> {
        write_status(self.dht(DhtOp::Put(req, client)).await?)
    }

    /// `put_removable`: a put whose `secret_hash` must be set.
    ///
    /// # Errors
    /// [`CallError`] when the DHT fails, the driver stopped or the secret hash is missing.
    pub async fn put_removable(&self, req: PutReq, client: IpAddr) -> Result<Status, CallError> {
        if req.secret_hash.is_none() {
            return Err(DhtError::Invalid("put_removable needs a secret hash").into());
        }
        self.put(req, client).await
    }

    /// `rm` on behalf of `client`.
    ///
    /// # Errors
    /// [`CallError`] when the DHT fails or the driver stopped.
    pub async fn rm(&self, req: RmReq, client: IpAddr) -> Result<Status, CallError> {
        write_status(self.dht(DhtOp::Rm(req, client)).await?)
    }

    /// A guarded update on behalf of `client`: several writes under one key, applied if the
    /// key's values still match the guard.
    ///
    /// # Errors
    /// [`CallError`] when the DHT fails (an update too large for one message is
    /// [`DhtError::Invalid`]) or the driver stopped.
    pub async fn update(&self, req: UpdateReq, client: IpAddr) -> Result<Updated, CallError> {
        match self.dht(DhtOp::Update(req, client)).await? {
            Outcome::Update(r) => Ok(r?),
            _ => Err(CallError::Mismatch),
        }
    }

    /// `get`: one page of values.
    ///
    /// # Errors
    /// [`CallError`] when the DHT fails or the driver stopped.
    pub async fn get(&self, req: GetReq) -> Result<Page<Vec<u8>>, CallError> {
        let page = self.get_details(req).await?;
        Ok(Page {
            values: page.values.into_iter().map(|d| d.value).collect(),
            placemark: page.placemark,
        })
    }

    /// `get_details`: one page of values with their TTL left and secret hash.
    ///
    /// # Errors
    /// [`CallError`] when the DHT fails or the driver stopped.
    pub async fn get_details(&self, req: GetReq) -> Result<Page<ValueDetails>, CallError> {
        match self.dht(DhtOp::Get(req)).await? {
            Outcome::Get(r) => Ok(r?),
            _ => Err(CallError::Mismatch),
        }
    }

    /// `scope.watch`: the changes under `keys` after `cursor`, waiting up to `timeout` for one.
    ///
    /// # Errors
    /// [`CallError`] when the driver stopped.
    pub async fn watch(
        &self,
        keys: Vec<DhtKey>,
        cursor: Option<Cursor>,
        timeout: Duration,
    ) -> Result<WatchBatch, CallError> {
        let op = DhtOp::Watch {
            keys,
            cursor,
            timeout,
        };
        match self.dht(op).await? {
            Outcome::Watch(batch) => Ok(batch),
            _ => Err(CallError::Mismatch),
        }
    }

    /// `scope.put_blob`: the blob's content hash once every chunk is stored.
    ///
    /// # Errors
    /// [`CallError`] when the DHT fails or the driver stopped.
    pub async fn put_blob(&self, data: Vec<u8>, ttl_secs: u32) -> Result<Hash, CallError> {
        match self.dht(DhtOp::PutBlob { data, ttl_secs }).await? {
            Outcome::PutBlob(r) => Ok(r?),
            _ => Err(CallError::Mismatch),
        }
    }

    /// `scope.get_blob`: the blob's bytes, checked against `hash`.
    ///
    /// # Errors
    /// [`CallError`] when the blob is not found, the DHT fails or the driver stopped.
    pub async fn get_blob(&self, hash: Hash) -> Result<Vec<u8>, CallError> {
        match self.dht(DhtOp::GetBlob(hash)).await? {
            Outcome::GetBlob(r) => Ok(r?),
            _ => Err(CallError::Mismatch),
        }
    }

    /// How many live values this node itself holds under each of `keys` (a debug view for
    /// replica counts; it asks no other node).
    ///
    /// # Errors
    /// [`CallError::Stopped`] when the driver has stopped.
    pub async fn local_counts(&self, keys: Vec<DhtKey>) -> Result<Vec<u32>, CallError> {
        let (reply, rx) = oneshot::channel();
        self.tx
            .send(Command::LocalCounts { keys, reply })
            .await
            .map_err(|_| CallError::Stopped)?;
        rx.await.map_err(|_| CallError::Stopped)
    }
}

/// The status of a write outcome.
fn write_status(outcome: Outcome) -> Result<Status, CallError> {
    match outcome {
        Outcome::Write(r) => Ok(r?),
        _ => Err(CallError::Mismatch),
    }
}
