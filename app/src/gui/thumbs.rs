//! Decoded images, shared by every screen: thumbnails are fetched and decoded off the UI
//! thread, uploaded once as textures, and kept in a bounded least-recently-used cache so a feed
//! of thousands of image posts uses memory for what is on screen, not for everything seen.

use std::collections::HashMap;

use super::backend::{Backend, Pending};

/// Most textures kept; a screenful is a few dozen, so this covers scrolling back and forth.
pub const CAPACITY: usize = 256;

/// Largest side of a full image shown in the viewer (bigger ones are scaled down once).
const FULL_MAX_SIDE: u32 = 2048;

enum Slot {
    Loading(Pending<egui::ColorImage>),
    Ready {
        texture: egui::TextureHandle,
        used: u64,
    },
    Failed,
}

/// The cache.
#[derive(Default)]
pub struct Thumbs {
    slots: HashMap<[u8; 20], Slot>,
    frame: u64,
}

impl std::fmt::Debug for Thumbs {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Thumbs")
            .field("slots", &self.slots.len())
            .finish()
    }
}

impl Thumbs {
    /// Call once per frame: counts frames for the LRU and evicts over capacity.
    pub fn begin_frame(&mut self) {
        self.frame += 1;
        if self.slots.len() > CAPACITY {
            self.evict();
        }
    }

    /// The texture of the blob `hash`, starting its fetch and decode on first use.
    pub fn get(&mut self, backend: &Backend, hash: [u8; 20]) -> Option<egui::TextureHandle> {
        let frame = self.frame;
        let slot = self
            .slots
            .entry(hash)
            .or_insert_with(|| Slot::Loading(load(backend, hash, None)));
        if let Slot::Loading(pending) = slot {
            match pending.poll() {
                None => return None,
                Some(Err(e)) => {
                    tracing::debug!(error = %e, "thumbnail failed");
                    *slot = Slot::Failed;
                }
                Some(Ok(image)) => {
                    let texture = backend_ctx(backend).map(|ctx| {
                        ctx.load_texture(hex::encode(hash), image, egui::TextureOptions::LINEAR)
                    })?;
                    *slot = Slot::Ready {
                        texture,
                        used: frame,
                    };
                }
            }
        }
        match slot {
            Slot::Ready { texture, used } => {
                *used = frame;
                Some(texture.clone())
            }
            _ => None,
        }
    }

    /// How many textures are held (for the memory benchmark).
    #[must_use]
    pub fn textures(&self) -> usize {
        self.slots
            .values()
            .filter(|s| matches!(s, Slot::Ready { .. }))
            .count()
    }

    /// True while some image is still being fetched or decoded.
    #[must_use]
    pub fn loading(&self) -> bool {
        self.slots.values().any(|s| matches!(s, Slot::Loading(_)))
    }

    fn evict(&mut self) {
        let mut ages: Vec<([u8; 20], u64)> = self
            .slots
            .iter()
            .filter_map(|(k, s)| match s {
                Slot::Ready { used, .. } => Some((*k, *used)),
                Slot::Failed => Some((*k, 0)),
                Slot::Loading(_) => None,
            })
            .collect();
        ages.sort_by_key(|(_, used)| *used);
        let excess = self.slots.len().saturating_sub(CAPACITY * 3 / 4);
        for (key, _) in ages.into_iter().take(excess) {
            self.slots.remove(&key);
        }
    }
}

/// Fetches and decodes a full image (for the viewer), scaled to at most [`FULL_MAX_SIDE`].
pub fn load_full(backend: &Backend, hash: [u8; 20]) -> Pending<egui::ColorImage> {
    load(backend, hash, Some(FULL_MAX_SIDE))
}

fn load(backend: &Backend, hash: [u8; 20], max_side: Option<u32>) -> Pending<egui::ColorImage> {
    backend.request(move |client| async move {
        let bytes = client.fetch_blob(hash).await?;
        tokio::task::spawn_blocking(move || decode(&bytes, max_side))
            .await
            .map_err(|e| crate::client::ClientError::BadImage(e.to_string()))?
    })
}

/// Decodes image bytes into egui's format (runs on the blocking pool).
pub fn decode(
    bytes: &[u8],
    max_side: Option<u32>,
) -> Result<egui::ColorImage, crate::client::ClientError> {
    let mut image = image::load_from_memory(bytes)
        .map_err(|e| crate::client::ClientError::BadImage(e.to_string()))?;
    if let Some(max) = max_side
        && (image.width() > max || image.height() > max)
    {
        image = image.thumbnail(max, max);
    }
    let rgba = image.into_rgba8();
    let size = [rgba.width() as usize, rgba.height() as usize];
    Ok(egui::ColorImage::from_rgba_unmultiplied(
        size,
        rgba.as_raw(),
    ))
}

fn backend_ctx(backend: &Backend) -> Option<egui::Context> {
    backend.context()
}
