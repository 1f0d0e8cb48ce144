//! Profile / v-card: my card (edit, interests as chips, photo from disk cropped to a
//! thumbnail) and anyone's card (follow, message, export as `.vcf`).

use std::path::PathBuf;

use crate::client::media::{self, ImageRef, PreparedImage};
use crate::client::profile::{Profile, ProfileUpdate};
use crate::client::vcard;

use super::super::adapter::{self, Person};
use super::super::backend::{Backend, Pending, take};
use super::super::widgets::{self, card};
use super::super::{Cx, Nav, View, theme};

/// The editable fields of a v-card, as text.
#[derive(Debug, Default)]
pub struct ProfileForm {
    /// Full name.
    pub full_name: String,
    /// Company.
    pub company: String,
    /// Job title.
    pub title: String,
    /// Interests (chips).
    pub interests: Vec<String>,
    /// The interest being typed.
    pub new_interest: String,
    /// E-mail.
    pub email: String,
    /// Phone.
    pub phone: String,
    /// About me.
    pub about: String,
    /// Path of a photo to use.
    pub photo_path: String,
    photo: Option<ImageRef>,
    photo_pending: Option<Pending<ImageRef>>,
}

impl ProfileForm {
    /// The form filled from `profile`.
    #[must_use]
    pub fn from_profile(profile: &Profile) -> ProfileForm {
        ProfileForm {
            full_name: profile.full_name.clone(),
            company: profile.company.clone(),
            title: profile.title.clone(),
            interests: profile.interests.clone(),
            email: profile.email.clone(),
            phone: profile.phone.clone(),
            about: profile.about.clone(),
            photo: profile.photo.clone(),
            ..ProfileForm::default()
        }
    }

    /// The update to send.
    #[must_use]
    pub fn update(&self) -> ProfileUpdate {
        ProfileUpdate {
            full_name: Some(self.full_name.trim().to_owned()),
            company: Some(self.company.trim().to_owned()),
            title: Some(self.title.trim().to_owned()),
            interests: Some(self.interests.clone()),
            email: Some(self.email.trim().to_owned()),
            phone: Some(self.phone.trim().to_owned()),
            about: Some(self.about.trim().to_owned()),
            photo: self.photo.clone(),
        }
    }

    /// Draws the form; `me` names the avatar.
    pub fn ui(&mut self, ui: &mut egui::Ui, cx: &mut Cx<'_>, me: &str) {
        if let Some(result) = take(&mut self.photo_pending) {
            match result {
                Ok(photo) => self.photo = Some(photo),
                Err(e) => cx.error(format!("Photo not used: {e}")),
            }
        }
        // An image file dropped on the window is picked as the photo, as in a file manager.
        let dropped = ui.input(|i| i.raw.dropped_files.first().map(|f| f.path().to_path_buf()));
        let busy = self.photo_pending.is_some();
        if let Some(path) = dropped
            && !busy
        {
            self.photo_path = path.display().to_string();
            self.photo_pending = Some(load_photo(cx.backend, path));
        }
        ui.horizontal(|ui| {
            widgets::avatar(ui, cx.thumbs, cx.backend, me, self.photo.as_ref(), 72.0);
            ui.vertical(|ui| {
                widgets::field(ui, "Photo file", &mut self.photo_path);
                ui.weak("Type its path, or drop an image file on the window.");
                let busy = self.photo_pending.is_some();
                if ui
                    .add_enabled(!busy, egui::Button::new("Use photo"))
                    .clicked()
                {
                    self.photo_pending = Some(load_photo(
                        cx.backend,
                        PathBuf::from(self.photo_path.trim()),
                    ));
                }
                if busy {
                    widgets::working(ui, "Cropping and uploading…");
                }
            });
        });
        widgets::field(ui, "Full name", &mut self.full_name);
        widgets::field(ui, "Company", &mut self.company);
        widgets::field(ui, "Title", &mut self.title);
        widgets::field(ui, "E-mail", &mut self.email);
        widgets::field(ui, "Phone", &mut self.phone);
        self.interests_ui(ui);
        widgets::multiline(ui, "About", &mut self.about, 3);
    }

    fn interests_ui(&mut self, ui: &mut egui::Ui) {
        let response = widgets::field(ui, "Add interest", &mut self.new_interest);
        let entered = response.lost_focus() && ui.input(|i| i.key_pressed(egui::Key::Enter));
        if (entered || ui.button("Add").clicked()) && !self.new_interest.trim().is_empty() {
            let word = self.new_interest.trim().to_lowercase();
            if !self.interests.contains(&word) {
                self.interests.push(word);
            }
            self.new_interest.clear();
        }
        let mut remove = None;
        ui.horizontal_wrapped(|ui| {
            for (i, interest) in self.interests.iter().enumerate() {
                if widgets::chip(ui, interest, true) {
                    remove = Some(i);
                }
            }
        });
        if let Some(i) = remove {
            self.interests.remove(i);
        }
    }
}

/// Reads, crops (square, centred) and stores a photo, all off the UI thread.
fn load_photo(backend: &Backend, path: PathBuf) -> Pending<ImageRef> {
    backend.request(move |client| async move {
        let prepared = tokio::task::spawn_blocking(move || crop_square(&path))
            .await
            .map_err(|e| crate::client::ClientError::BadImage(e.to_string()))??;
        client.store_image(prepared).await
    })
}

/// A square crop of the image's centre, then the library's thumbnailing.
fn crop_square(path: &std::path::Path) -> Result<PreparedImage, crate::client::ClientError> {
    let prepared = media::prepare_file(path)?;
    let image = image::load_from_memory(&prepared.original)
        .map_err(|e| crate::client::ClientError::BadImage(e.to_string()))?;
    let side = image.width().min(image.height());
    let cropped = image.crop_imm(
        (image.width() - side) / 2,
        (image.height() - side) / 2,
        side,
        side,
    );
    let mut png = Vec::new();
    cropped
        .write_to(&mut std::io::Cursor::new(&mut png), image::ImageFormat::Png)
        .map_err(|e| crate::client::ClientError::BadImage(e.to_string()))?;
    media::prepare(png).map_err(|e| crate::client::ClientError::BadImage(e.to_string()))
}

/// The Profile screen.
#[derive(Default)]
pub struct ProfileView {
    name: String,
    mine: bool,
    person: Option<Person>,
    loading: Option<Pending<Person>>,
    form: Option<ProfileForm>,
    saving: Option<Pending<Profile>>,
    following: Option<Pending<()>>,
}

impl ProfileView {
    /// Shows `name`'s card (`me` decides whether it is editable).
    pub fn open(&mut self, backend: &Backend, name: &str, me: &str) {
        self.name = name.to_owned();
        self.mine = name == me;
        self.form = None;
        self.person = None;
        let name = name.to_owned();
        self.loading =
            Some(backend.request(move |c| async move { adapter::person(&c, &name).await }));
    }

    /// The card shown, once loaded.
    #[must_use]
    pub fn person(&self) -> Option<&Person> {
        self.person.as_ref()
    }

    fn poll(&mut self, cx: &mut Cx<'_>) {
        if let Some(result) = take(&mut self.loading) {
            match result {
                Ok(person) => self.person = Some(person),
                Err(e) => cx.error(e),
            }
        }
        if let Some(result) = take(&mut self.saving) {
            match result {
                Ok(profile) => {
                    if let Some(p) = &mut self.person {
                        p.profile = profile;
                    }
                    self.form = None;
                    cx.info("Your card is saved");
                }
                Err(e) => cx.error(format!("Not saved: {e}")),
            }
        }
        if let Some(result) = take(&mut self.following) {
            match result {
                Ok(()) => cx.info(format!("You now follow {}", self.name)),
                Err(e) => cx.error(e),
            }
        }
    }

    fn actions(&mut self, ui: &mut egui::Ui, cx: &mut Cx<'_>, profile: &Profile) {
        ui.horizontal(|ui| {
            if self.mine {
                if ui.button("Edit card").clicked() {
                    self.form = Some(ProfileForm::from_profile(profile));
                }
            } else {
                if ui.button("Follow").clicked() {
                    let name = self.name.clone();
                    self.following = Some(
                        cx.backend
                            .request(move |c| async move { c.follow(&name).await }),
                    );
                }
                if ui.button("Message").clicked() {
                    cx.go(Nav::Chat(self.name.clone()));
                }
            }
            if ui.button("Export .vcf").clicked() {
                match export(profile) {
                    Ok(path) => cx.info(format!("Saved {}", path.display())),
                    Err(e) => cx.error(format!("Not exported: {e}")),
                }
            }
        });
    }
}

/// Writes the card to the downloads folder (or the home directory).
fn export(profile: &Profile) -> std::io::Result<PathBuf> {
    let dir = directories::UserDirs::new()
        .and_then(|d| d.download_dir().map(std::path::Path::to_path_buf))
        .or_else(|| directories::BaseDirs::new().map(|d| d.home_dir().to_path_buf()))
        .unwrap_or_else(std::env::temp_dir);
    let path = dir.join(format!("{}.vcf", profile.username));
    std::fs::write(&path, vcard::export(profile))?;
    Ok(path)
}

impl ProfileView {
    /// The editor for my card.
    fn edit_ui(&mut self, ui: &mut egui::Ui, cx: &mut Cx<'_>) {
        let (mut save, mut cancel) = (false, false);
        egui::ScrollArea::vertical().show(ui, |ui| {
            ui.label(theme::heading("Edit your card"));
            if let Some(form) = &mut self.form {
                form.ui(ui, cx, &self.name);
            }
            ui.horizontal(|ui| {
                save = ui.button(theme::strong("Save card")).clicked();
                cancel = ui.button("Cancel").clicked();
            });
            if self.saving.is_some() {
                widgets::working(ui, "Saving…");
            }
        });
        if cancel {
            self.form = None;
        } else if let (true, Some(form)) = (save, &self.form) {
            let update = form.update();
            self.saving = Some(
                cx.backend
                    .request(move |c| async move { c.set_profile(update).await }),
            );
        }
    }
}

impl View for ProfileView {
    fn ui(&mut self, ui: &mut egui::Ui, cx: &mut Cx<'_>) {
        self.poll(cx);
        if self.form.is_some() {
            self.edit_ui(ui, cx);
            return;
        }
        let Some(person) = self.person.clone() else {
            widgets::working(ui, &format!("Loading {}'s card…", self.name));
            return;
        };
        egui::ScrollArea::vertical().show(ui, |ui| {
            card_ui(ui, cx, &person);
            self.actions(ui, cx, &person.profile);
        });
    }
}

/// A full v-card.
pub fn card_ui(ui: &mut egui::Ui, cx: &mut Cx<'_>, person: &Person) {
    let p = &person.profile;
    card(ui, |ui| {
        ui.horizontal(|ui| {
            widgets::avatar(
                ui,
                cx.thumbs,
                cx.backend,
                display_name(p),
                p.photo.as_ref(),
                96.0,
            );
            ui.vertical(|ui| {
                ui.label(theme::heading(display_name(p)));
                ui.weak(format!("@{}", p.username));
                if !p.title.is_empty() || !p.company.is_empty() {
                    ui.label(job_line(p));
                }
                widgets::presence(ui, person.presence.state);
            });
        });
        ui.horizontal_wrapped(|ui| {
            for interest in &p.interests {
                widgets::chip(ui, interest, false);
            }
        });
        if !p.email.is_empty() {
            ui.label(format!("✉ {}", p.email));
        }
        if !p.phone.is_empty() {
            ui.label(format!("☎ {}", p.phone));
        }
        if !p.about.is_empty() {
            ui.separator();
            ui.label(&p.about);
        }
    });
}

/// The full name, else the username.
#[must_use]
pub fn display_name(p: &Profile) -> &str {
    if p.full_name.is_empty() {
        &p.username
    } else {
        &p.full_name
    }
}

/// "Title at Company".
#[must_use]
pub fn job_line(p: &Profile) -> String {
    match (p.title.is_empty(), p.company.is_empty()) {
        (false, false) => format!("{} at {}", p.title, p.company),
        (false, true) => p.title.clone(),
        (true, false) => p.company.clone(),
        (true, true) => String::new(),
    }
}
