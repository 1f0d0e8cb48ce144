//! Messages and presence: contacts with their presence and unread counts, and end-to-end
//! encrypted chats (the library seals each message for its recipient).

use std::collections::HashMap;

use crate::client::messages::Message;
use crate::client::presence::Presence;

use super::super::adapter;
use super::super::backend::{Backend, Pending, take};
use super::super::{Cx, Nav, View, theme, widgets};

type Loaded = (Vec<(String, Presence)>, Vec<Message>);

/// The Messages screen.
#[derive(Default)]
pub struct MessagesView {
    contacts: Vec<(String, Presence)>,
    inbox: Vec<Message>,
    sent: Vec<(String, Message)>,
    read_up_to: HashMap<String, u64>,
    open: Option<String>,
    loading: Option<Pending<Loaded>>,
    text: String,
    new_contact: String,
    sending: Option<Pending<Message>>,
}

impl MessagesView {
    /// Reloads contacts and inbox.
    pub fn refresh(&mut self, backend: &Backend) {
        if self.loading.is_some() {
            return;
        }
        self.loading = Some(
            backend
                .request(|c| async move { Ok((adapter::contacts(&c).await?, c.inbox().await?)) }),
        );
    }

    /// Opens the chat with `name`.
    pub fn open_chat(&mut self, backend: &Backend, name: &str) {
        self.open = Some(name.to_owned());
        self.mark_read(name);
        self.refresh(backend);
    }

    /// Unread messages over all contacts.
    #[must_use]
    pub fn unread(&self) -> usize {
        self.inbox.iter().filter(|m| self.is_unread(m)).count()
    }

    fn is_unread(&self, m: &Message) -> bool {
        self.open.as_deref() != Some(m.from.as_str())
            && m.at > self.read_up_to.get(&m.from).copied().unwrap_or(0)
    }

    fn mark_read(&mut self, name: &str) {
        let last = self
            .inbox
            .iter()
            .filter(|m| m.from == name)
            .map(|m| m.at)
            .max()
            .unwrap_or(0);
        self.read_up_to.insert(name.to_owned(), last);
    }

    fn poll(&mut self, cx: &mut Cx<'_>) {
        if let Some(result) = take(&mut self.loading) {
            match result {
                Ok((contacts, inbox)) => {
                    self.contacts = contacts;
                    self.inbox = inbox;
                    if let Some(open) = self.open.clone() {
                        self.mark_read(&open);
                    }
                }
                Err(e) => cx.error(e),
            }
        }
        if let Some(result) = take(&mut self.sending) {
            match result {
                Ok(message) => {
                    let to = self.open.clone().unwrap_or_default();
                    self.sent.push((to, message));
                    self.text.clear();
                }
                Err(e) => cx.error(format!("Not sent: {e}")),
            }
        }
    }

    fn contacts_ui(&mut self, ui: &mut egui::Ui, cx: &mut Cx<'_>) {
        ui.label(theme::strong("Contacts"));
        let unread: HashMap<&str, usize> =
            self.inbox
                .iter()
                .filter(|m| self.is_unread(m))
                .fold(HashMap::new(), |mut acc, m| {
                    *acc.entry(m.from.as_str()).or_default() += 1;
                    acc
                });
        let mut open = None;
        for (name, presence) in &self.contacts {
            ui.horizontal(|ui| {
                widgets::presence(ui, presence.state);
                let count = unread.get(name.as_str()).copied().unwrap_or(0);
                let text = if count > 0 {
                    format!("{name} ({count})")
                } else {
                    name.clone()
                };
                if ui
                    .selectable_label(self.open.as_deref() == Some(name), text)
                    .clicked()
                {
                    open = Some(name.clone());
                }
            });
        }
        widgets::field(ui, "New chat with", &mut self.new_contact);
        if ui.button("Start chat").clicked() && !self.new_contact.trim().is_empty() {
            open = Some(self.new_contact.trim().to_owned());
            self.new_contact.clear();
        }
        if let Some(name) = open {
            cx.go(Nav::Chat(name));
        }
    }

    fn chat_ui(&mut self, ui: &mut egui::Ui, cx: &mut Cx<'_>, with: &str) {
        ui.label(theme::heading(format!("Chat with {with}")));
        ui.weak("⚷ End-to-end encrypted: only you and they can read these messages.");
        let mut lines: Vec<(bool, &Message)> = self
            .inbox
            .iter()
            .filter(|m| m.from == with)
            .map(|m| (false, m))
            .collect();
        lines.extend(
            self.sent
                .iter()
                .filter(|(to, _)| to == with)
                .map(|(_, m)| (true, m)),
        );
        lines.sort_by_key(|(_, m)| m.at);
        egui::ScrollArea::vertical()
            .max_height(ui.available_height() - 70.0)
            .stick_to_bottom(true)
            .show(ui, |ui| {
                for (mine, m) in lines {
                    let layout = if mine {
                        egui::Layout::right_to_left(egui::Align::Min)
                    } else {
                        egui::Layout::left_to_right(egui::Align::Min)
                    };
                    ui.with_layout(layout, |ui| {
                        widgets::card(ui, |ui| ui.label(&m.text));
                    });
                }
            });
        let response = widgets::field(ui, "Message", &mut self.text);
        let entered = response.lost_focus() && ui.input(|i| i.key_pressed(egui::Key::Enter));
        if (ui.button("Send").clicked() || entered)
            && self.sending.is_none()
            && !self.text.trim().is_empty()
        {
            let (to, text) = (with.to_owned(), self.text.trim().to_owned());
            let from = cx.me.to_owned();
            self.sending = Some(cx.backend.request(move |c| async move {
                c.send_message(&to, &text).await?;
                Ok(Message {
                    from,
                    at: c.now_ms(),
                    text,
                })
            }));
        }
    }
}

impl View for MessagesView {
    fn ui(&mut self, ui: &mut egui::Ui, cx: &mut Cx<'_>) {
        self.poll(cx);
        egui::Panel::left("contacts")
            .resizable(false)
            .exact_size(240.0)
            .show(ui, |ui| self.contacts_ui(ui, cx));
        egui::CentralPanel::default().show(ui, |ui| match self.open.clone() {
            Some(with) => self.chat_ui(ui, cx, &with),
            None => {
                ui.weak("Pick a contact to chat with.");
            }
        });
    }
}
