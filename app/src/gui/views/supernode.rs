//! Super-node: the "Serve as super-node" toggle with the capability verdict and its reasons;
//! when on, the embedded node's ID, leaf set, routing state and traffic. Turning it off leaves
//! the overlay gracefully (the node hands its keys to its neighbours) on a background thread.

use std::path::{Path, PathBuf};

use scope_node::embedded::EmbeddedNode;
use scope_node::runtime::Status;

use crate::client::capability::Assessment;

use super::super::backend::{Backend, Pending, take};
use super::super::connection;
use super::super::settings::Settings;
use super::super::{Cx, theme, widgets};

/// The Super-node screen and the embedded node it controls.
#[derive(Default)]
pub struct SuperNodeView {
    home: Option<PathBuf>,
    verdict: Option<Assessment>,
    node: Option<EmbeddedNode>,
    starting: Option<Pending<EmbeddedNode>>,
    stopping: Option<Pending<()>>,
    status: Option<Status>,
    polling: Option<Pending<Status>>,
}

impl SuperNodeView {
    /// The screen for a device whose data lives in `home`.
    #[must_use]
    pub fn new(home: Option<&Path>) -> SuperNodeView {
        SuperNodeView {
            home: home.map(Path::to_path_buf),
            verdict: Some(connection::assess(
                home.map_or_else(std::env::temp_dir, Path::to_path_buf)
                    .as_path(),
            )),
            ..SuperNodeView::default()
        }
    }

    /// True while this machine serves.
    #[must_use]
    pub fn serving(&self) -> bool {
        self.node.is_some()
    }

    /// Takes over a node started while connecting.
    pub fn adopt(&mut self, node: EmbeddedNode, settings: &mut Settings) {
        self.node = Some(node);
        let _ = settings;
    }

    /// Asks the node for a fresh status.
    pub fn refresh(&mut self, backend: &Backend) {
        if let (Some(node), None) = (&self.node, &self.polling) {
            self.polling = Some(connection::node_status(backend, node));
        }
    }

    /// Stops the node synchronously (on exit; the leave is bounded to a few seconds).
    pub fn shutdown(&mut self) {
        if let Some(node) = self.node.take() {
            node.stop();
        }
    }

    fn poll(&mut self, cx: &mut Cx<'_>) {
        if let Some(result) = take(&mut self.starting) {
            match result {
                Ok(node) => {
                    cx.info(format!("Serving as super-node {}", node.node_id));
                    self.node = Some(node);
                    self.refresh(cx.backend);
                }
                Err(e) => cx.error(e),
            }
        }
        if let Some(result) = take(&mut self.stopping) {
            self.status = None;
            match result {
                Ok(()) => cx.info("Left the overlay; your neighbours took over the data"),
                Err(e) => cx.error(e),
            }
        }
        if let Some(result) = take(&mut self.polling) {
            match result {
                Ok(status) => self.status = Some(status),
                Err(e) => cx.error(e),
            }
        }
    }

    fn toggle(&mut self, cx: &mut Cx<'_>, settings: &mut Settings, on: bool) {
        settings.serve_super_node = on;
        if on && self.node.is_none() && self.starting.is_none() {
            let Some(home) = self.home.clone() else {
                settings.serve_super_node = false;
                cx.error("No data directory to keep the super-node's data in (see Settings)");
                return;
            };
            let mut config = connection::node_config(settings, &home);
            let client = cx.backend.client();
            self.starting = Some(cx.backend.run(async move {
                // Join the overlay this app already uses, even where mDNS does not reach.
                if let Some(client) = client {
                    config.bootstrap = client.dht().overlay_seeds().await;
                }
                connection::start_node(config).await
            }));
        } else if !on && let Some(node) = self.node.take() {
            self.stopping = Some(cx.backend.compute(move || {
                node.stop();
                Ok(())
            }));
        }
    }

    /// Draws the screen (it edits the persisted choice, so it takes the settings).
    pub fn show(&mut self, ui: &mut egui::Ui, cx: &mut Cx<'_>, settings: &mut Settings) {
        self.poll(cx);
        ui.label(theme::heading("Super-node"));
        ui.label("A super-node keeps part of the network's data and routes for the phones and laptops around it.");
        verdict_ui(ui, self.verdict.as_ref());
        let mut on = self.node.is_some() || self.starting.is_some();
        let response = ui.toggle_value(&mut on, "Serve as super-node");
        if response.changed() {
            self.toggle(cx, settings, on);
        }
        if self.starting.is_some() {
            widgets::working(ui, "Starting the super-node…");
        }
        if self.stopping.is_some() {
            widgets::working(ui, "Leaving the overlay gracefully…");
        }
        if let Some(node) = &self.node {
            node_ui(ui, node, self.status.as_ref());
            if ui.button("⟳ Refresh status").clicked() {
                self.refresh(cx.backend);
            }
            // While shown and serving, refresh every few seconds (no repaint otherwise).
            ui.ctx()
                .request_repaint_after(std::time::Duration::from_secs(3));
            if self.polling.is_none() {
                self.refresh(cx.backend);
            }
        }
        ui.weak(format!(
            "Ports: overlay UDP {}, gateway TCP {}, SIP {} (change them in Settings).",
            settings.overlay_port, settings.gateway_port, settings.sip_port
        ));
    }
}

fn verdict_ui(ui: &mut egui::Ui, verdict: Option<&Assessment>) {
    let Some(verdict) = verdict else {
        return;
    };
    widgets::card(ui, |ui| {
        if verdict.super_node {
            ui.colored_label(theme::ONLINE, "✔ This device can serve as a super-node");
        } else {
            ui.colored_label(
                ui.visuals().warn_fg_color,
                "⚠ This device is not suited to serve as a super-node",
            );
        }
        for reason in &verdict.reasons {
            let (ok, text) = reason.split_once(": ").unwrap_or(("", reason));
            ui.label(format!("{} {text}", if ok == "ok" { "✔" } else { "✖" }));
        }
    });
}

fn node_ui(ui: &mut egui::Ui, node: &EmbeddedNode, status: Option<&Status>) {
    widgets::card(ui, |ui| {
        egui::Grid::new("node-facts").num_columns(2).show(ui, |ui| {
            ui.label("Node ID");
            ui.monospace(node.node_id.to_string());
            ui.end_row();
            ui.label("Overlay");
            ui.monospace(node.overlay_addr.to_string());
            ui.end_row();
            ui.label("Gateway");
            ui.monospace(format!("http://{}", node.gateway_addr));
            ui.end_row();
            ui.label("mDNS");
            ui.label(if node.advertised {
                "advertised on the LAN"
            } else {
                "not advertised"
            });
            ui.end_row();
            if let Some(s) = status {
                ui.label("Joined");
                ui.label(if s.joined { "yes" } else { "joining…" });
                ui.end_row();
                ui.label("Routing table");
                ui.label(format!("{} entries", s.routing_table_entries));
                ui.end_row();
                ui.label("Traffic");
                ui.label(format!(
                    "{} datagrams in ({} B), {} out ({} B); {} lookups",
                    s.metrics.datagrams_in,
                    s.metrics.bytes_in,
                    s.metrics.datagrams_out,
                    s.metrics.bytes_out,
                    s.metrics.lookups_started
                ));
                ui.end_row();
                ui.label("Uptime");
                ui.label(format!("{} s", s.uptime.as_secs()));
                ui.end_row();
            }
        });
        if let Some(s) = status {
            ui.label(theme::strong(format!("Leaf set ({})", s.leaf_set.len())));
            for peer in &s.leaf_set {
                ui.monospace(format!("{}  {}", peer.id, peer.addr));
            }
            ui.weak("Stored values and the SIP service appear here once the DHT and SIP layers run in the node.");
        }
    });
}
