//! Contact information for a node: its ID and where it listens.

use std::net::SocketAddr;

use serde::{Deserialize, Serialize};

use super::id::NodeId;

/// A node's ID and overlay (UDP) address.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug, Serialize, Deserialize)]
pub struct NodeInfo {
    /// The node's ID.
    pub id: NodeId,
    /// The node's overlay address.
    pub addr: SocketAddr,
}
