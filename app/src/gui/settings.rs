//! What the user chose, persisted with eframe's storage (the platform's config directory).

use std::path::PathBuf;

/// The storage key the settings are saved under.
pub const STORAGE_KEY: &str = "whatsup.settings";

/// Light, dark or whatever the system says.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub enum ThemeChoice {
    /// Follow the desktop.
    System,
    /// Always light.
    Light,
    /// Always dark.
    Dark,
}

/// Everything on the Settings and Super-node screens that survives a restart.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(default)]
pub struct Settings {
    /// Where the identity (secret key) and the embedded node's data live; empty = default.
    pub data_dir: String,
    /// Colours.
    pub theme: ThemeChoice,
    /// Desktop notifications when the window is not focused.
    pub notifications: bool,
    /// Serve as a super-node whenever the app runs (if the device is capable).
    pub serve_super_node: bool,
    /// Overlay UDP port of the embedded node.
    pub overlay_port: u16,
    /// Gateway TCP port of the embedded node.
    pub gateway_port: u16,
    /// SIP port of the embedded node.
    pub sip_port: u16,
    /// Find super-nodes and announce this one by mDNS (off where multicast is blocked or
    /// unwanted; then only `gateways` are used).
    pub mdns: bool,
    /// Gateways to use besides those mDNS finds: comma-separated `host:port` or URLs.
    pub gateways: String,
    /// Alerts cursor, so a restart resumes where the last run stopped.
    pub alerts_cursor: String,
}

impl Default for Settings {
    fn default() -> Self {
        Settings {
            data_dir: String::new(),
            theme: ThemeChoice::System,
            notifications: true,
            serve_super_node: false,
            overlay_port: 3630,
            gateway_port: 5851,
            sip_port: 5060,
            mdns: true,
            gateways: String::new(),
            alerts_cursor: String::new(),
        }
    }
}

impl Settings {
    /// The data directory in use: the one chosen, else the platform default.
    #[must_use]
    pub fn home(&self) -> Option<PathBuf> {
        if self.data_dir.trim().is_empty() {
            crate::client::identity::default_home()
        } else {
            Some(PathBuf::from(self.data_dir.trim()))
        }
    }

    /// The gateways typed in Settings, as URLs.
    #[must_use]
    pub fn gateway_urls(&self) -> Vec<String> {
        self.gateways
            .split(',')
            .map(str::trim)
            .filter(|g| !g.is_empty())
            .map(|g| {
                if g.contains("://") {
                    g.to_owned()
                } else {
                    format!("http://{g}/RPC2")
                }
            })
            .collect()
    }

    /// Loads from eframe storage (defaults if absent or from an older version).
    #[must_use]
    pub fn load(storage: Option<&dyn eframe::Storage>) -> Settings {
        storage
            .and_then(|s| eframe::get_value(s, STORAGE_KEY))
            .unwrap_or_default()
    }

    /// Saves to eframe storage.
    pub fn save(&self, storage: &mut dyn eframe::Storage) {
        eframe::set_value(storage, STORAGE_KEY, self);
    }

    /// Applies the theme choice to `ctx`.
    pub fn apply_theme(&self, ctx: &egui::Context) {
        let preference = match self.theme {
            ThemeChoice::System => egui::ThemePreference::System,
            ThemeChoice::Light => egui::ThemePreference::Light,
            ThemeChoice::Dark => egui::ThemePreference::Dark,
        };
        ctx.set_theme(preference);
    }
}
