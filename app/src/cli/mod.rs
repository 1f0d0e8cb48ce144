//! The `whatsup` command line: parses arguments, connects, calls the client library and prints
//! text or (`--json`) JSON. All checks of user input happen in the library before any write.

pub mod args;
mod commands;
mod output;

use std::path::PathBuf;
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

/// A client on the gateways given or discovered, as the identity in `home` if there is one.
pub async fn connect(cli: &Cli, me: Option<Identity>) -> Result<Client> {
    let gateways: Vec<String> = match &cli.gateway {
        Some(list) => list
            .split(',')
            .map(|s| s.trim().to_owned())
            .filter(|s| !s.is_empty())
            .collect(),
        None => tokio::task::spawn_blocking(|| discovery::discover(DISCOVERY_WAIT))
            .await
            .context("discovery task failed")?
            .unwrap_or_else(|e| {
                tracing::warn!(%e, "mDNS discovery failed");
                Vec::new()
            }),
    };
    if gateways.is_empty() {
        bail!("no super-node reachable: none found by mDNS; give --gateway URL");
    }
    let dht = GatewayDht::new(gateways)?;
    Ok(Client::new(Arc::new(dht), me))
}

/// Runs the parsed command.
pub async fn run(cli: Cli) -> Result<Output> {
    commands::run(cli).await
}
