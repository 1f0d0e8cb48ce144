//! The `whatsup` command line: parses arguments, connects, calls the client library and prints
//! text or (`--json`) JSON. All checks of user input happen in the library before any write.

pub mod args;
mod commands;
mod output;

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
}

impl Connection {
    /// Saves the gateways that worked for the next run (only when found without `--gateway`).
    pub fn remember(&self) {
        if let Some(path) = &self.remember {
            let text = self.dht.gateways().join("\n");
            if let Err(e) = std::fs::write(path, text) {
                tracing::warn!(%e, "cannot remember gateways");
            }
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
    Ok(Connection {
        client,
        dht,
        remember,
    })
}

/// Runs the parsed command.
pub async fn run(cli: Cli) -> Result<Output> {
    commands::run(cli).await
}
