//! The simulated network: where each node sits, how long a datagram takes between two of them
//! and whether it is lost. Seeded, so a run replays exactly.

use std::net::{Ipv4Addr, SocketAddr};
use std::time::Duration;

use rand::Rng as _;
use rand_chacha::ChaCha8Rng;

/// Latency and loss of the emulated links.
#[derive(Clone, Copy, Debug)]
pub struct LinkModel {
    /// One-way delay between two nodes at the same spot.
    pub base: Duration,
    /// Extra one-way delay between the two farthest spots.
    pub spread: Duration,
    /// Probability that a datagram is lost.
    pub loss: f64,
}

impl Default for LinkModel {
    fn default() -> Self {
        Self {
            base: Duration::from_millis(1),
            spread: Duration::from_millis(40),
            loss: 0.0,
        }
    }
}

/// A host's position; one-way delay grows with the distance between positions, which is what
/// gives proximity neighbour selection something to choose from.
#[derive(Clone, Copy, Debug)]
pub struct Position {
    x: f64,
    y: f64,
}

impl Position {
    /// A random position in the unit square.
    pub fn random(rng: &mut ChaCha8Rng) -> Self {
        Self {
            x: rng.random(),
            y: rng.random(),
        }
    }
}

impl LinkModel {
    /// One-way delay from `a` to `b`.
    #[must_use]
    pub fn delay(&self, a: Position, b: Position) -> Duration {
        let d = ((a.x - b.x).powi(2) + (a.y - b.y).powi(2)).sqrt() / std::f64::consts::SQRT_2;
        self.base + self.spread.mul_f64(d)
    }

    /// Whether one datagram is lost.
    pub fn lost(&self, rng: &mut ChaCha8Rng) -> bool {
        self.loss > 0.0 && rng.random::<f64>() < self.loss
    }
}

/// The address of simulated host number `i` (unique for 2^24 hosts).
#[must_use]
pub fn host_addr(i: usize) -> SocketAddr {
    let i = u32::try_from(i).unwrap_or(u32::MAX) & 0x00ff_ffff;
    SocketAddr::from((Ipv4Addr::from(0x0a00_0000 | i), 3630))
}

/// The host number of a simulated address.
#[must_use]
pub fn host_index(addr: SocketAddr) -> Option<usize> {
    match addr {
        SocketAddr::V4(v4) if v4.port() == 3630 => {
            usize::try_from(u32::from(*v4.ip()) & 0x00ff_ffff).ok()
        }
        _ => None,
    }
}
