//! First run: pick a username (claimed in the DHT; "taken" shown inline), fill the card, done.

use std::path::PathBuf;

use crate::client::{Client, ClientError, Identity, identity};

use super::super::backend::{Backend, Pending, take};
use super::super::{Cx, View, theme, widgets};
use super::profile::ProfileForm;

/// The first-run screen.
pub struct FirstRun {
    client: Client,
    home: Option<PathBuf>,
    username: String,
    error: Option<String>,
    claiming: Option<Pending<Client>>,
    claimed: Option<Client>,
    form: ProfileForm,
    saving: Option<Pending<()>>,
    done: Option<Client>,
}

impl FirstRun {
    /// First run over `client` (no identity yet); a new identity is saved in `home`.
    #[must_use]
    pub fn new(client: Client, home: Option<PathBuf>) -> FirstRun {
        FirstRun {
            client,
            home,
            username: String::new(),
            error: None,
            claiming: None,
            claimed: None,
            form: ProfileForm::default(),
            saving: None,
            done: None,
        }
    }

    /// The client acting as the new user, once the card is saved (or skipped).
    pub fn finished(&mut self) -> Option<Client> {
        self.done.take()
    }

    /// Claims the typed username with a new key; the identity is saved only once it is ours.
    fn claim(&mut self, backend: &Backend) {
        self.error = None;
        let name = match identity::normalize_username(&self.username) {
            Ok(name) => name,
            Err(e) => {
                self.error = Some(e.to_string());
                return;
            }
        };
        let client = self.client.clone();
        let home = self.home.clone();
        self.claiming = Some(backend.run(async move {
            let job = async move {
                let me = Identity::generate(&name)?;
                let client = client.as_user(me.clone());
                client.claim_username().await?;
                if let Some(home) = home {
                    me.save(&home)?;
                }
                Ok::<Client, ClientError>(client)
            };
            job.await.map_err(|e| match e {
                ClientError::UsernameTaken(name) => format!("“{name}” is taken: pick another"),
                other => other.to_string(),
            })
        }));
    }

    fn poll(&mut self) {
        if let Some(result) = take(&mut self.claiming) {
            match result {
                Ok(client) => self.claimed = Some(client),
                Err(e) => self.error = Some(e),
            }
        }
        if let Some(result) = take(&mut self.saving) {
            match result {
                Ok(()) => self.done = self.claimed.take(),
                Err(e) => self.error = Some(format!("Card not saved: {e}")),
            }
        }
    }

    fn name_step(&mut self, ui: &mut egui::Ui, cx: &mut Cx<'_>) {
        ui.label("Pick the name people will find you by. It is yours on this network from now on.");
        ui.add_space(8.0);
        let response = widgets::field(ui, "Username", &mut self.username);
        let entered = response.lost_focus() && ui.input(|i| i.key_pressed(egui::Key::Enter));
        if let Some(error) = &self.error {
            widgets::inline_error(ui, error);
        }
        let busy = self.claiming.is_some();
        if (ui
            .add_enabled(!busy, egui::Button::new(theme::strong("Claim")))
            .clicked()
            || entered)
            && !busy
        {
            self.claim(cx.backend);
        }
        if busy {
            widgets::working(ui, "Claiming your name…");
        }
    }

    fn card_step(&mut self, ui: &mut egui::Ui, cx: &mut Cx<'_>, client: &Client) {
        let me = client.me().map(|m| m.username.clone()).unwrap_or_default();
        ui.label(format!(
            "“{me}” is yours. Now your card: what should people know about you?"
        ));
        self.form.ui(ui, cx, &me);
        if let Some(error) = &self.error {
            widgets::inline_error(ui, error);
        }
        ui.horizontal(|ui| {
            if ui.button(theme::strong("Done")).clicked() && self.saving.is_none() {
                let update = self.form.update();
                let client = client.clone();
                self.saving = Some(cx.backend.run(async move {
                    client
                        .set_profile(update)
                        .await
                        .map(|_| ())
                        .map_err(|e| e.to_string())
                }));
            }
            if ui.button("Skip for now").clicked() {
                self.done = self.claimed.take();
            }
        });
        if self.saving.is_some() {
            widgets::working(ui, "Saving your card…");
        }
    }
}

impl View for FirstRun {
    fn ui(&mut self, ui: &mut egui::Ui, cx: &mut Cx<'_>) {
        self.poll();
        egui::ScrollArea::vertical().show(ui, |ui| {
            ui.vertical_centered(|ui| {
                ui.add_space(24.0);
                theme::logo(ui, 72.0);
                ui.label(theme::heading("Welcome to What's UP"));
            });
            ui.add_space(12.0);
            if let Some(client) = self.claimed.clone() {
                self.card_step(ui, cx, &client);
            } else {
                self.name_step(ui, cx);
            }
        });
    }
}
