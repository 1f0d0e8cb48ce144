//! The node's secret key on disk, so a restarted node keeps its ID (and with it its place on the
//! ring and the values it is root for).
//!
//! The file holds the 32-byte ed25519 secret as 64 hex digits and a newline. It is created with
//! mode 0600 (owner only) and written through a temporary file and a rename, so a crash while
//! writing never leaves a half-written key behind.

use std::io::Write as _;
use std::path::{Path, PathBuf};

use crate::overlay::Identity;

/// Name of the key file inside the data directory.
pub const KEY_FILE: &str = "node.key";

/// Why the key could not be loaded or created.
#[derive(Debug, thiserror::Error)]
pub enum IdentityFileError {
    /// The data directory or key file could not be read or written.
    #[error("{path}")]
    Io {
        /// The file or directory concerned.
        path: PathBuf,
        /// What the OS said.
        source: std::io::Error,
    },
    /// The key file exists but does not hold 64 hex digits.
    #[error("{path}: not a node key (expected 64 hex digits)")]
    Corrupt {
        /// The key file.
        path: PathBuf,
    },
    /// No randomness for a new key.
    #[error("cannot draw a new key")]
    Random(#[from] rand::rand_core::OsError),
}

/// Loads the identity kept in `data_dir`, or creates (and keeps) a new one.
///
/// # Errors
/// [`IdentityFileError`] when the directory or file is unusable, or the file is not a key.
pub fn load_or_create(data_dir: &Path) -> Result<Identity, IdentityFileError> {
    let path = data_dir.join(KEY_FILE);
    match std::fs::read_to_string(&path) {
        Ok(text) => parse(&text).ok_or(IdentityFileError::Corrupt { path }),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            let identity = Identity::from_secret_bytes(&super::os_random()?);
            write(data_dir, &identity)?;
            Ok(identity)
        }
        Err(source) => Err(IdentityFileError::Io { path, source }),
    }
}

fn parse(text: &str) -> Option<Identity> {
    let bytes = hex::decode(text.trim()).ok()?;
    let secret: [u8; 32] = bytes.try_into().ok()?;
    Some(Identity::from_secret_bytes(&secret))
}

fn write(data_dir: &Path, identity: &Identity) -> Result<(), IdentityFileError> {
    let io = |path: &Path| {
        let path = path.to_path_buf();
        move |source| IdentityFileError::Io { path, source }
    };
    private_dir().create(data_dir).map_err(io(data_dir))?;
    let tmp = data_dir.join(format!("{KEY_FILE}.tmp"));
    let _ = std::fs::remove_file(&tmp);
    let mut file = owner_only()
        .write(true)
        .create_new(true)
        .open(&tmp)
        .map_err(io(&tmp))?;
    let text = format!("{}\n", hex::encode(identity.secret_bytes()));
    file.write_all(text.as_bytes()).map_err(io(&tmp))?;
    file.sync_all().map_err(io(&tmp))?;
    let path = data_dir.join(KEY_FILE);
    std::fs::rename(&tmp, &path).map_err(io(&path))
}

/// A directory builder that creates missing directories for the owner only (the data
/// directory holds the key now and users' data later).
fn private_dir() -> std::fs::DirBuilder {
    let mut builder = std::fs::DirBuilder::new();
    builder.recursive(true);
    #[cfg(unix)]
    std::os::unix::fs::DirBuilderExt::mode(&mut builder, 0o700);
    builder
}

/// Open options that create files readable and writable by the owner only.
fn owner_only() -> std::fs::OpenOptions {
    #[allow(unused_mut)] // mutated on Unix only
    let mut options = std::fs::OpenOptions::new();
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    options
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn creates_then_reloads_the_same_identity() {
        let dir = std::env::temp_dir().join(format!("scope-key-test-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        let first = load_or_create(&dir).unwrap();
        let second = load_or_create(&dir).unwrap();
        assert_eq!(first.node_id(), second.node_id());
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt as _;
            let mode = std::fs::metadata(dir.join(KEY_FILE))
                .unwrap()
                .permissions()
                .mode();
            assert_eq!(mode & 0o777, 0o600);
        }
        std::fs::write(dir.join(KEY_FILE), "not a key").unwrap();
        assert!(matches!(
            load_or_create(&dir),
            Err(IdentityFileError::Corrupt { .. })
        ));
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
