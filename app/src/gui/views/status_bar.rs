//! The status bar: which super-node serves this client, its round-trip time, how many are
//! known, and the last message for the user. Failover happens inside the gateway client; the
//! bar just shows where calls go now.

use std::sync::Arc;
use std::time::Duration;

use crate::client::{Dht, GatewayDht};

use super::super::backend::{Pending, take};
use super::super::connection::{self, LinkStatus};
use super::super::{Cx, theme};

/// How often the link is probed while the app is open (one small `get`).
const PROBE_EVERY: Duration = Duration::from_secs(15);

/// The status bar's state.
#[derive(Default)]
pub struct StatusBar {
    dht: Option<Arc<dyn Dht>>,
    gateway: Option<Arc<GatewayDht>>,
    known: usize,
    status: LinkStatus,
    probing: Option<Pending<LinkStatus>>,
    last: Option<std::time::Instant>,
}

impl StatusBar {
    /// Starts showing the link through `dht`.
    pub fn set_link(&mut self, dht: Arc<dyn Dht>, gateway: Option<Arc<GatewayDht>>, known: usize) {
        self.dht = Some(dht);
        self.known = known;
        self.gateway = gateway;
        self.last = None;
    }

    fn probe(&mut self, cx: &Cx<'_>) {
        let due = self.last.is_none_or(|t| t.elapsed() >= PROBE_EVERY);
        if let (true, None, Some(dht)) = (due, &self.probing, &self.dht) {
            let known = self.known;
            self.probing = Some(connection::probe(
                cx.backend,
                dht.clone(),
                self.gateway.clone(),
                known,
            ));
            self.last = Some(std::time::Instant::now());
        }
    }

    /// Draws the bar at the bottom of the window.
    pub fn show(&mut self, ui: &mut egui::Ui, cx: &mut Cx<'_>, serving: bool) {
        if let Some(Ok(status)) = take(&mut self.probing) {
            self.status = status;
        }
        self.probe(cx);
        if self.dht.is_some() {
            ui.ctx().request_repaint_after(PROBE_EVERY);
        }
        egui::Panel::bottom("status").show(ui, |ui| {
            ui.horizontal(|ui| {
                ui.label(link_text(&self.status, self.dht.is_some()));
                if serving {
                    ui.separator();
                    ui.colored_label(theme::ONLINE, "⬢ serving as super-node");
                }
                if let Some(notice) = cx.notice.clone() {
                    ui.separator();
                    let color = if notice.is_error {
                        ui.visuals().error_fg_color
                    } else {
                        ui.visuals().text_color()
                    };
                    ui.colored_label(color, &notice.text);
                    if ui.small_button("✖").on_hover_text("Dismiss").clicked() {
                        *cx.notice = None;
                    }
                }
            });
        });
    }
}

/// "Super-node 10.0.0.5:5851 · 4 ms · 3 known".
#[must_use]
pub fn link_text(status: &LinkStatus, has_link: bool) -> String {
    if !has_link {
        return "Local store (no network)".into();
    }
    let Some(serving) = &status.serving else {
        return "Checking the super-node…".into();
    };
    let host = serving
        .trim_start_matches("http://")
        .trim_end_matches("/RPC2");
    match (status.rtt, &status.error) {
        (Some(rtt), _) => format!(
            "Super-node {host} · {} ms · {} known",
            rtt.as_millis(),
            status.known
        ),
        (None, Some(e)) => format!(
            "Super-node {host} unreachable ({e}) · {} known",
            status.known
        ),
        (None, None) => format!("Super-node {host} · {} known", status.known),
    }
}
