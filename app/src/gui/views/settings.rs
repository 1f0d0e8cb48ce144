//! Settings: data directory, theme, notifications, how to find super-nodes and ports, saved with eframe's storage.

use super::super::settings::{Settings, ThemeChoice};
use super::super::{Cx, theme, widgets};

/// The Settings screen: edits a draft, applied on "Save".
pub struct SettingsView {
    draft: Settings,
    overlay: String,
    gateway: String,
    sip: String,
}

impl SettingsView {
    /// The screen, starting from `settings`.
    #[must_use]
    pub fn new(settings: &Settings) -> SettingsView {
        SettingsView {
            draft: settings.clone(),
            overlay: settings.overlay_port.to_string(),
            gateway: settings.gateway_port.to_string(),
            sip: settings.sip_port.to_string(),
        }
    }

    /// Draws the screen; "Save" writes into `settings` (persisted by eframe on its next save).
    pub fn show(&mut self, ui: &mut egui::Ui, cx: &mut Cx<'_>, settings: &mut Settings) {
        ui.label(theme::heading("Settings"));
        widgets::field(ui, "Data directory", &mut self.draft.data_dir);
        ui.weak("Empty means the platform's default. Your secret key lives here: back it up.");
        ui.horizontal(|ui| {
            ui.label("Theme");
            ui.selectable_value(&mut self.draft.theme, ThemeChoice::System, "System");
            ui.selectable_value(&mut self.draft.theme, ThemeChoice::Light, "Light");
            ui.selectable_value(&mut self.draft.theme, ThemeChoice::Dark, "Dark");
        });
        ui.checkbox(
            &mut self.draft.notifications,
            "Desktop notifications when the window is in the background",
        );
        ui.checkbox(
            &mut self.draft.mdns,
            "Find super-nodes on the local network (mDNS)",
        );
        widgets::field(ui, "Other super-nodes", &mut self.draft.gateways);
        ui.weak("Comma-separated host:port of super-node gateways, for networks that block mDNS.");
        widgets::field(ui, "Overlay UDP port", &mut self.overlay);
        widgets::field(ui, "Gateway TCP port", &mut self.gateway);
        widgets::field(ui, "SIP port", &mut self.sip);
        if ui.button(theme::strong("Save settings")).clicked() {
            match self.apply(settings) {
                Ok(()) => {
                    settings.apply_theme(ui.ctx());
                    cx.info("Settings saved; new ports apply the next time the super-node starts");
                }
                Err(e) => cx.error(e),
            }
        }
    }

    fn apply(&mut self, settings: &mut Settings) -> Result<(), String> {
        let port = |text: &str, what: &str| {
            text.trim()
                .parse::<u16>()
                .map_err(|_| format!("{what} must be a port number (1-65535)"))
        };
        self.draft.overlay_port = port(&self.overlay, "Overlay UDP port")?;
        self.draft.gateway_port = port(&self.gateway, "Gateway TCP port")?;
        self.draft.sip_port = port(&self.sip, "SIP port")?;
        self.draft.serve_super_node = settings.serve_super_node;
        self.draft.alerts_cursor.clone_from(&settings.alerts_cursor);
        *settings = self.draft.clone();
        Ok(())
    }
}
