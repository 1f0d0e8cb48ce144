//! The `whatsup` command line: parses arguments, connects, calls the client library and prints
//! text or (`--json`) JSON. All checks of user input happen in the library before any write.

pub mod args;
mod commands;
mod output;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context as _, Result, bail};
use whatsup::client::{Client, GatewayDht, Identity, discovery, identity};

pub use args::Cli;
pub use output::Output;

/// How long to listen for super-nodes by mDNS when no `--gateway` is given.
const DISCOVERY_WAIT: Duration = Duration::from_millis(1500);

/// The home directory: `--home`, else the platform's data directory.
pub fn home(cli: &Cli) -> Result<PathBuf> {
    match &cli.home {
        Some(home) => Ok(home.clone()),
        None => identity::default_home().context("no home directory: give --home DIR"),
    }
}

/// File in the home that remembers the gateways that worked, so the next run need not wait
/// for mDNS.
const GATEWAYS_FILE: &str = "gateways.txt";

/// The gateways to try: `--gateway`, else those remembered in `home`, else found by mDNS.
async fn gateways(cli: &Cli, home: &Path) -> Result<Vec<String>> {
    if let Some(list) = &cli.gateway {
        return Ok(split(list));
    }
    let remembered = std::fs::read_to_string(home.join(GATEWAYS_FILE)).unwrap_or_default();
    let remembered: Vec<String> = remembered.lines().flat_map(split).collect();
    if !remembered.is_empty() {
        return Ok(remembered);
    }
    let found = tokio::task::spawn_blocking(|| discovery::discover(DISCOVERY_WAIT))
        .await
        .context("discovery task failed")?;
    Ok(found.unwrap_or_else(|e| {
        tracing::warn!(%e, "mDNS discovery failed");
        Vec::new()
    }))
}

fn split(list: &str) -> Vec<String> {
    list.split(',')
        .map(|s| s.trim().to_owned())
        .filter(|s| !s.is_empty())
        .collect()
}

/// A connection: the client, and the gateway DHT underneath (to remember what worked).
pub struct Connection {
    /// The client.
    pub client: Client,
    dht: Arc<GatewayDht>,
    remember: Option<PathBuf>,
    owners: Option<(PathBuf, OwnerCache)>,
}

impl Connection {
    /// Saves the gateways that worked for the next run (only when found without `--gateway`),
    /// and the username bindings verified during this one.
    pub fn remember(&self) {
        if let Some(path) = &self.remember {
            let text = self.dht.gateways().join("\n");
            if let Err(e) = std::fs::write(path, text) {
                tracing::warn!(%e, "cannot remember gateways");
            }
        }
        if let Some((path, cache)) = &self.owners {
            cache.save(path, &self.client);
        }
    }
}

/// File in the home caching verified username→key bindings between runs.
const OWNERS_FILE: &str = "owners.json";
/// A cached binding is trusted this long after it was verified in the DHT (a day: a claim
/// whose owner stopped refreshing it lives a week, so a name cannot change hands sooner).
const OWNERS_MAX_AGE_MS: u64 = 24 * 3600 * 1000;

/// Username bindings verified by earlier runs: name → (hex key, when verified, Unix ms). They
/// save each command one claim look-up per author it shows.
#[derive(Debug, Default, serde::Serialize, serde::Deserialize)]
struct OwnerCache {
    owners: BTreeMap<String, (String, u64)>,
}

impl OwnerCache {
    /// The bindings in `path` still young enough, taught to `client`.
    fn load(path: &Path, client: &Client) -> OwnerCache {
        let now = client.now_ms();
        let mut cache: OwnerCache = std::fs::read_to_string(path)
            .ok()
            .and_then(|text| serde_json::from_str(&text).ok())
            .unwrap_or_default();
        cache
            .owners
            .retain(|_, (_, at)| now.saturating_sub(*at) < OWNERS_MAX_AGE_MS);
        client.learn_owners(cache.owners.iter().filter_map(|(name, (key, _))| {
            let bytes: [u8; 32] = hex::decode(key).ok()?.try_into().ok()?;
            Some((name.clone(), bytes))
        }));
        cache
    }

    /// Writes the bindings `client` knows, keeping when each was first verified.
    fn save(&self, path: &Path, client: &Client) {
        let now = client.now_ms();
        let mut owners = BTreeMap::new();
        for (name, key) in client.known_owners() {
            let key = hex::encode(key);
            let at = match self.owners.get(&name) {
                Some((old, at)) if *old == key => *at,
                _ => now,
            };
            owners.insert(name, (key, at));
        }
        let text = serde_json::to_string(&OwnerCache { owners }).unwrap_or_default();
        if let Err(e) = std::fs::write(path, text) {
            tracing::warn!(%e, "cannot save the username cache");
        }
    }
}

/// A client on the gateways given, remembered or discovered, acting as `me`.
pub async fn connect(cli: &Cli, home: &Path, me: Option<Identity>) -> Result<Connection> {
    let list = gateways(cli, home).await?;
    if list.is_empty() {
        bail!("no super-node reachable: none found by mDNS; give --gateway URL");
    }
    let mut dht = GatewayDht::new(list)?;
    let mut remember = None;
    if cli.gateway.is_none() {
        dht = dht.with_rediscovery();
        remember = home.exists().then(|| home.join(GATEWAYS_FILE));
    }
    let dht = Arc::new(dht);
    let client = Client::new(dht.clone(), me);
    let owners = home.exists().then(|| {
        let path = home.join(OWNERS_FILE);
        let cache = OwnerCache::load(&path, &client);
        (path, cache)
    });
    Ok(Connection {
        client,
        dht,
        remember,
        owners,
    })
}

/// Runs the parsed command.
pub async fn run(cli: Cli) -> Result<Output> {
    commands::run(cli).await
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use whatsup::client::{Client, Identity, ManualClock, MemoryDht};

    use super::{OWNERS_MAX_AGE_MS, OwnerCache};

    #[tokio::test]
    async fn verified_bindings_are_kept_for_a_day() {
        let dir = std::env::temp_dir().join(format!("whatsup-owners-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("owners.json");
        let clock = Arc::new(ManualClock::new(1_767_225_600_000));
        let dht = Arc::new(MemoryDht::new());
        let alice = Client::new(dht.clone(), Some(Identity::from_seed("alice", [1; 32])))
            .with_clock(clock.clone());
        alice.claim_username().await.unwrap();
        OwnerCache::default().save(&path, &alice);
        // A later run knows alice's key without asking the DHT.
        let later = Client::new(dht.clone(), None).with_clock(clock.clone());
        let cache = OwnerCache::load(&path, &later);
        let before = dht.ops();
        let key = later.owner_of("alice").await.unwrap().unwrap();
        assert_eq!(key, alice.me().unwrap().verifying_key());
        assert_eq!(dht.ops(), before);
        // Saving again keeps when the binding was first verified, so it still ages out.
        clock.advance_ms(OWNERS_MAX_AGE_MS / 2);
        cache.save(&path, &later);
        clock.advance_ms(OWNERS_MAX_AGE_MS / 2 + 1);
        let next_day = Client::new(dht.clone(), None).with_clock(clock.clone());
        let cache = OwnerCache::load(&path, &next_day);
        assert!(cache.owners.is_empty());
        let before = dht.ops();
        assert!(next_day.owner_of("alice").await.unwrap().is_some());
        assert!(dht.ops() > before, "an expired binding is looked up again");
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
