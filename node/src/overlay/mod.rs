//! The Pastry overlay, as Bamboo built it: 160-bit IDs, prefix routing with b = 4, a leaf set of
//! `L/2` nodes per side, proximity neighbour selection, and recursive routing with per-hop
//! acknowledgement. Everything here is sans-IO; see [`Node`] for how it is driven.

pub mod config;
pub mod congestion;
pub mod id;
pub mod identity;
pub mod leaf_set;
pub mod metrics;
pub mod node;
pub mod node_info;
pub mod routing_table;
pub mod rtt;
pub mod timer;
pub mod wire;

pub use config::Config;
pub use id::{Key, NodeId};
pub use identity::Identity;
pub use metrics::Metrics;
pub use node::{Event, LookupError, LookupId, Node, Route, SendError, Transmit};
pub use node_info::NodeInfo;

/// Bits per routing digit (Pastry's b): 16 columns per routing-table row.
pub const B: u32 = 4;
/// Default leaf-set members per side (Pastry's L/2).
pub const LEAF_HALF: usize = 8;
/// Default number of copies of each stored value (root plus r − 1 leaf-set neighbours).
pub const REPLICAS: usize = 4;
