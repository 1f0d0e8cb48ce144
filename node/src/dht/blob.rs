//! Blobs (images up to 8 MiB) as content-addressed chunks. Not implemented yet: requests
//! complete at once with an error, and chunk messages are counted and ignored.

use std::time::Instant;

use super::api::{DhtError, Outcome};
use super::wire::Msg;
use super::{Dht, ReqId};
use crate::overlay::NodeInfo;
use crate::store::Hash;

/// Blob transfers in flight.
#[derive(Debug, Default)]
pub(super) struct Blobs {}

impl Dht {
    /// `scope.put_blob`: not implemented yet; completes with [`DhtError::Invalid`].
    pub fn put_blob(&mut self, _now: Instant, _data: Vec<u8>, _ttl_secs: u32) -> ReqId {
        let id = self.fresh_id();
        self.finish(
            id,
            Outcome::PutBlob(Err(DhtError::Invalid("blobs not implemented"))),
        );
        ReqId(id)
    }

    /// `scope.get_blob`: not implemented yet; completes with [`DhtError::NotFound`].
    pub fn get_blob(&mut self, _now: Instant, _hash: Hash) -> ReqId {
        let id = self.fresh_id();
        self.finish(id, Outcome::GetBlob(Err(DhtError::NotFound)));
        ReqId(id)
    }

    pub(super) fn on_chunk_msg(&mut self, _now: Instant, _from: NodeInfo, _msg: Msg) {}

    pub(super) fn on_chunk_failed(&mut self, _now: Instant, _token: u64) {}
}
