//! Images: checked and thumbnailed locally before anything is stored, then put as blobs.

use std::io::Cursor;
use std::path::Path;

use serde::{Deserialize, Serialize};

use super::{Client, ClientError, RECORD_TTL};

/// Largest image accepted (the blob limit of `scope.put_blob`).
pub const MAX_IMAGE_BYTES: usize = 8 * 1024 * 1024;
/// Thumbnails fit in this square, in pixels.
pub const THUMBNAIL_PX: u32 = 256;

/// A stored image: the original and its thumbnail, both content-addressed blobs.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ImageRef {
    /// SHA-1 of the original file.
    pub blob: [u8; 20],
    /// SHA-1 of the PNG thumbnail.
    pub thumbnail: [u8; 20],
    /// Original size in pixels.
    pub width: u32,
    /// Original size in pixels.
    pub height: u32,
}

/// An image read and thumbnailed, not yet stored.
#[derive(Debug, Clone)]
pub struct PreparedImage {
    /// The original bytes.
    pub original: Vec<u8>,
    /// PNG thumbnail bytes.
    pub thumbnail: Vec<u8>,
    /// Original width.
    pub width: u32,
    /// Original height.
    pub height: u32,
}

/// Reads, decodes and thumbnails an image file; fails on anything unreadable or too large.
pub fn prepare_file(path: &Path) -> Result<PreparedImage, ClientError> {
    let shown = path.display().to_string();
    let size = std::fs::metadata(path)
        .map_err(|e| ClientError::BadImage(format!("{shown}: {e}")))?
        .len();
    if size > MAX_IMAGE_BYTES as u64 {
        return Err(ClientError::TooLarge {
            what: "image",
            len: usize::try_from(size).unwrap_or(usize::MAX),
            limit: MAX_IMAGE_BYTES,
        });
    }
    let bytes = std::fs::read(path).map_err(|e| ClientError::BadImage(format!("{shown}: {e}")))?;
    prepare(bytes).map_err(|e| ClientError::BadImage(format!("{shown}: {e}")))
}

/// Decodes `bytes` and makes the thumbnail.
pub fn prepare(original: Vec<u8>) -> Result<PreparedImage, image::ImageError> {
    let decoded = image::ImageReader::new(Cursor::new(&original))
        .with_guessed_format()?
        .decode()?;
    let thumb = decoded.thumbnail(THUMBNAIL_PX, THUMBNAIL_PX);
    let mut thumbnail = Vec::new();
    thumb.write_to(&mut Cursor::new(&mut thumbnail), image::ImageFormat::Png)?;
    Ok(PreparedImage {
        width: decoded.width(),
        height: decoded.height(),
        original,
        thumbnail,
    })
}

impl Client {
    /// Stores a prepared image's two blobs.
    pub async fn store_image(&self, image: PreparedImage) -> Result<ImageRef, ClientError> {
        let thumbnail = self.dht.put_blob(image.thumbnail, RECORD_TTL).await?;
        let blob = self.dht.put_blob(image.original, RECORD_TTL).await?;
        Ok(ImageRef {
            blob,
            thumbnail,
            width: image.width,
            height: image.height,
        })
    }

    /// Fetches a blob and checks it is the content its hash names.
    pub async fn fetch_blob(&self, hash: [u8; 20]) -> Result<Vec<u8>, ClientError> {
        match self.dht.get_blob(hash).await? {
            Some(data) if super::dht::sha1(&data) == hash => Ok(data),
            _ => Err(ClientError::NotFound {
                what: "blob",
                id: hex::encode(hash),
            }),
        }
    }
}

/// A small PNG for tests.
#[cfg(test)]
pub fn test_png(width: u32, height: u32) -> Vec<u8> {
    let img = image::RgbImage::from_fn(width, height, |x, y| image::Rgb([x as u8, y as u8, 9]));
    let mut out = Vec::new();
    image::DynamicImage::ImageRgb8(img)
        .write_to(&mut Cursor::new(&mut out), image::ImageFormat::Png)
        .unwrap();
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn thumbnails_fit_the_box_and_garbage_is_refused() {
        let prepared = prepare(test_png(600, 300)).unwrap();
        let thumb = image::load_from_memory(&prepared.thumbnail).unwrap();
        assert_eq!((thumb.width(), thumb.height()), (256, 128));
        assert!(prepare(b"not an image".to_vec()).is_err());
        assert!(prepare_file(Path::new("/nonexistent.png")).is_err());
    }
}
