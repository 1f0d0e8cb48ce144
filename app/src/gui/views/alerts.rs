//! Alerts: a long-poll on the super-node's watch call running on the runtime; alerts arrive
//! through a channel, raise the bell's count, and each opens what it is about. While the
//! window is unfocused, a desktop notification is shown too.

use std::sync::mpsc::{Receiver, Sender, channel};
use std::sync::{Arc, Mutex, PoisonError};

use crate::client::alerts::{Alert, Alerts};

use super::super::backend::{Backend, Waker};
use super::super::settings::Settings;
use super::super::{Cx, Nav, View, notify, theme, widgets};

/// Seconds one watch call may wait on the super-node.
const WATCH_S: u32 = 25;
/// Most alerts kept on screen.
const KEEP: usize = 200;

/// The Alerts screen and the bell's state.
#[derive(Default)]
pub struct AlertsView {
    list: Vec<(u64, Alert)>,
    unread: usize,
    rx: Option<Receiver<(u64, Alert)>>,
    task: Option<tokio::task::JoinHandle<()>>,
    cursor: Arc<Mutex<String>>,
    message_hint: bool,
}

impl AlertsView {
    /// Starts following my alerts from `cursor`.
    pub fn start(&mut self, backend: &Backend, cursor: &str) {
        self.stop();
        let Some(client) = backend.client() else {
            return;
        };
        let (tx, rx) = channel();
        self.rx = Some(rx);
        *self.cursor.lock().unwrap_or_else(PoisonError::into_inner) = cursor.to_owned();
        let saved = Arc::clone(&self.cursor);
        let waker = backend.waker();
        let start = cursor.to_owned();
        self.task = Some(
            backend
                .handle()
                .spawn(async move { follow(client, start, tx, saved, waker).await }),
        );
    }

    /// Stops following (on exit).
    pub fn stop(&mut self) {
        if let Some(task) = self.task.take() {
            task.abort();
        }
    }

    /// The cursor to persist.
    #[must_use]
    pub fn cursor(&self) -> String {
        self.cursor
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    /// Alerts not yet seen.
    #[must_use]
    pub fn unread(&self) -> usize {
        self.unread
    }

    /// The alerts shown, newest first.
    #[must_use]
    pub fn list(&self) -> &[(u64, Alert)] {
        &self.list
    }

    /// Marks everything seen.
    pub fn mark_read(&mut self) {
        self.unread = 0;
    }

    /// True once after a message alert (the Messages screen then reloads).
    pub fn take_message_hint(&mut self) -> bool {
        std::mem::take(&mut self.message_hint)
    }

    /// Adds an alert as if it had arrived (tests).
    pub fn push(&mut self, at: u64, alert: Alert) {
        self.message_hint |= matches!(alert, Alert::Message { .. });
        self.list.insert(0, (at, alert));
        self.list.truncate(KEEP);
        self.unread += 1;
    }

    /// Drains arrived alerts; notifies the desktop when the window is not focused.
    pub fn poll(&mut self, settings: &Settings, ctx: &egui::Context) {
        let arrived: Vec<(u64, Alert)> = self
            .rx
            .as_ref()
            .map(|rx| rx.try_iter().collect())
            .unwrap_or_default();
        let focused = ctx.input(|i| i.viewport().focused.unwrap_or(true));
        for (at, alert) in arrived {
            if settings.notifications && !focused {
                notify::desktop("What's UP", &alert.to_string());
            }
            self.push(at, alert);
        }
    }
}

/// The long-poll loop: restarts after failures with a pause, never ends by itself.
async fn follow(
    client: crate::client::Client,
    cursor: String,
    tx: Sender<(u64, Alert)>,
    saved: Arc<Mutex<String>>,
    waker: Waker,
) {
    let mut alerts = loop {
        match Alerts::start(&client, &cursor).await {
            Ok(a) => break a,
            Err(e) => {
                tracing::debug!(error = %e, "alerts not started; retrying");
                tokio::time::sleep(std::time::Duration::from_secs(5)).await;
            }
        }
    };
    loop {
        match alerts.next(WATCH_S).await {
            Ok(found) => {
                *saved.lock().unwrap_or_else(PoisonError::into_inner) = alerts.cursor().to_owned();
                let now = client.now_ms();
                let any = !found.is_empty();
                for alert in found {
                    if tx.send((now, alert)).is_err() {
                        return;
                    }
                }
                if any {
                    waker.wake();
                }
            }
            Err(e) => {
                tracing::debug!(error = %e, "alerts failed; retrying");
                tokio::time::sleep(std::time::Duration::from_secs(5)).await;
            }
        }
    }
}

/// Where an alert leads.
#[must_use]
pub fn target(alert: &Alert) -> Nav {
    match alert {
        Alert::News { news, .. } => Nav::Community(news.community.clone()),
        Alert::Event { event, .. } | Alert::EventSoon { event, .. } => {
            Nav::Community(event.community.clone())
        }
        Alert::Comment { comment, .. } => Nav::Post(comment.post_id.clone()),
        Alert::Message { from, .. } => Nav::Chat(from.clone()),
    }
}

impl View for AlertsView {
    fn ui(&mut self, ui: &mut egui::Ui, cx: &mut Cx<'_>) {
        self.unread = 0;
        ui.label(theme::heading("Alerts"));
        if self.list.is_empty() {
            ui.weak("No alerts yet. News, events, comments on your posts and messages show up here as they happen.");
        }
        let now = cx.backend.client().map_or(0, |c| c.now_ms());
        egui::ScrollArea::vertical().show(ui, |ui| {
            for (at, alert) in &self.list {
                widgets::card(ui, |ui| {
                    ui.horizontal(|ui| {
                        ui.weak(widgets::ago(*at, now));
                        if ui.link(alert.to_string()).clicked() {
                            cx.go(target(alert));
                        }
                    });
                });
            }
        });
    }
}

impl Drop for AlertsView {
    fn drop(&mut self) {
        self.stop();
    }
}
