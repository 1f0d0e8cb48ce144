//! The user's identity: an ed25519 key kept in the profile directory, and the username it
//! claimed. The secret key is the only thing What's UP keeps solely on the device.
//!
//! The X25519 key used for messages is derived from the same secret (see [`Identity::x25519`]),
//! so publishing the ed25519 key is enough for anyone to encrypt to its owner.

use std::io::Write as _;
use std::path::{Path, PathBuf};

use ed25519_dalek::{SigningKey, VerifyingKey};
use rand::RngCore as _;
use serde::{Deserialize, Serialize};

use super::dht::{Key, sha1};

/// File holding the identity inside the home directory.
pub const IDENTITY_FILE: &str = "identity.json";

/// Why an identity could not be loaded or made.
#[derive(Debug, thiserror::Error)]
pub enum IdentityError {
    /// `whatsup init` has not been run for this home.
    #[error("no identity in {0}: run `whatsup init USERNAME` first")]
    Missing(PathBuf),
    /// This home already belongs to another username.
    #[error("this home already holds the identity of {0}")]
    OtherUser(String),
    /// The username breaks the naming rules.
    #[error("invalid username {0:?}: use 3-32 letters, digits, '.', '_' or '-'")]
    BadUsername(String),
    /// The identity file is unreadable or damaged.
    #[error("identity file {path}: {reason}")]
    File {
        /// The file.
        path: PathBuf,
        /// What went wrong.
        reason: String,
    },
}

#[derive(Serialize, Deserialize)]
struct Stored {
    username: String,
    seed: String,
}

/// A user's signing key and username.
#[derive(Clone)]
pub struct Identity {
    /// The claimed username (lower case).
    pub username: String,
    signing: SigningKey,
}

impl std::fmt::Debug for Identity {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Identity")
            .field("username", &self.username)
            .finish_non_exhaustive()
    }
}

/// Lower-cases and checks a username: 3–32 of `a-z 0-9 . _ -`.
pub fn normalize_username(name: &str) -> Result<String, IdentityError> {
    let lower = name.trim().to_lowercase();
    let ok_char = |c: char| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-');
    if (3..=32).contains(&lower.len()) && lower.chars().all(ok_char) {
        Ok(lower)
    } else {
        Err(IdentityError::BadUsername(name.chars().take(64).collect()))
    }
}

impl Identity {
    /// A new random identity for `username` (not yet saved or claimed).
    pub fn generate(username: &str) -> Result<Identity, IdentityError> {
        let mut seed = [0u8; 32];
        rand::rng().fill_bytes(&mut seed);
        Ok(Identity::from_seed(&normalize_username(username)?, seed))
    }

    /// The identity with this seed (tests and restoring from backup).
    #[must_use]
    pub fn from_seed(username: &str, seed: [u8; 32]) -> Identity {
        Identity {
            username: username.to_owned(),
            signing: SigningKey::from_bytes(&seed),
        }
    }

    /// The signing key.
    #[must_use]
    pub fn signing_key(&self) -> &SigningKey {
        &self.signing
    }

    /// The public key others verify with.
    #[must_use]
    pub fn verifying_key(&self) -> VerifyingKey {
        self.signing.verifying_key()
    }

    /// The X25519 secret for messages, derived from the ed25519 secret scalar; its public half
    /// is the Montgomery form of [`Identity::verifying_key`].
    #[must_use]
    pub fn x25519(&self) -> x25519_dalek::StaticSecret {
        x25519_dalek::StaticSecret::from(self.signing.to_scalar_bytes())
    }

    /// The secret for removable values this user puts under `key`: derived, so nothing needs
    /// remembering to remove them later, and different for every key.
    #[must_use]
    pub fn removal_secret(&self, key: &Key) -> Vec<u8> {
        let mut input = b"whatsup-rm".to_vec();
        input.extend_from_slice(self.signing.as_bytes());
        input.extend_from_slice(key);
        sha1(&input).to_vec()
    }

    /// Reads the identity saved in `home`.
    pub fn load(home: &Path) -> Result<Identity, IdentityError> {
        let path = home.join(IDENTITY_FILE);
        let text = match std::fs::read_to_string(&path) {
            Ok(text) => text,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                return Err(IdentityError::Missing(home.to_owned()));
            }
            Err(e) => return Err(file_error(&path, &e)),
        };
        let stored: Stored = serde_json::from_str(&text).map_err(|e| file_error(&path, &e))?;
        let seed = hex::decode(&stored.seed)
            .ok()
            .and_then(|s| <[u8; 32]>::try_from(s).ok())
            .ok_or_else(|| file_error(&path, &"bad seed"))?;
        Ok(Identity::from_seed(
            &normalize_username(&stored.username)?,
            seed,
        ))
    }

    /// Saves the identity in `home` (created if needed), readable by the owner only.
    pub fn save(&self, home: &Path) -> Result<(), IdentityError> {
        let path = home.join(IDENTITY_FILE);
        std::fs::create_dir_all(home).map_err(|e| file_error(&path, &e))?;
        let stored = Stored {
            username: self.username.clone(),
            seed: hex::encode(self.signing.as_bytes()),
        };
        let text = serde_json::to_string_pretty(&stored).map_err(|e| file_error(&path, &e))?;
        let mut options = std::fs::OpenOptions::new();
        options.write(true).create(true).truncate(true);
        #[cfg(unix)]
        std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
        let mut file = options.open(&path).map_err(|e| file_error(&path, &e))?;
        file.write_all(text.as_bytes())
            .map_err(|e| file_error(&path, &e))
    }

    /// The identity in `home` if it is `username`'s, or a new one; refuses a home that holds
    /// another user.
    pub fn load_or_generate(home: &Path, username: &str) -> Result<Identity, IdentityError> {
        let username = normalize_username(username)?;
        match Identity::load(home) {
            Ok(id) if id.username == username => Ok(id),
            Ok(id) => Err(IdentityError::OtherUser(id.username)),
            Err(IdentityError::Missing(_)) => Identity::generate(&username),
            Err(e) => Err(e),
        }
    }
}

fn file_error(path: &Path, reason: &dyn std::fmt::Display) -> IdentityError {
    IdentityError::File {
        path: path.to_owned(),
        reason: reason.to_string(),
    }
}

/// The default home: the platform's data directory for What's UP.
#[must_use]
pub fn default_home() -> Option<PathBuf> {
    directories::ProjectDirs::from("org", "scope", "whatsup").map(|d| d.data_dir().to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn identity_round_trips_through_its_file() {
        let dir = std::env::temp_dir().join(format!("whatsup-id-{}", std::process::id()));
        let id = Identity::generate("Alice").unwrap();
        assert_eq!(id.username, "alice");
        id.save(&dir).unwrap();
        let back = Identity::load(&dir).unwrap();
        assert_eq!(back.verifying_key(), id.verifying_key());
        assert!(matches!(
            Identity::load_or_generate(&dir, "bob"),
            Err(IdentityError::OtherUser(_))
        ));
        std::fs::remove_dir_all(&dir).unwrap();
        assert!(normalize_username("a b").is_err() && normalize_username("x").is_err());
    }

    #[test]
    fn x25519_public_is_the_montgomery_form_of_the_identity_key() {
        let id = Identity::from_seed("a", [3; 32]);
        let public = x25519_dalek::PublicKey::from(&id.x25519());
        assert_eq!(
            public.to_bytes(),
            id.verifying_key().to_montgomery().to_bytes()
        );
    }
}
