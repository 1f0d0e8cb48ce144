//! Small widgets shared by the screens: labelled fields (every input has an accessible name),
//! chips, avatars, presence dots and the non-modal message line.

use crate::client::media::ImageRef;
use crate::client::presence::State;

use super::theme;
use super::thumbs::Thumbs;

/// A message for the user, shown in the bottom line until replaced or dismissed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Notice {
    /// The text.
    pub text: String,
    /// True for failures (drawn in red).
    pub is_error: bool,
}

impl Notice {
    /// A failure.
    pub fn error(text: impl Into<String>) -> Notice {
        Notice {
            text: text.into(),
            is_error: true,
        }
    }

    /// A confirmation.
    pub fn info(text: impl Into<String>) -> Notice {
        Notice {
            text: text.into(),
            is_error: false,
        }
    }
}

/// A one-line text field whose accessible name is its visible label.
pub fn field(ui: &mut egui::Ui, label: &str, text: &mut String) -> egui::Response {
    ui.horizontal(|ui| {
        let label = ui.add_sized([110.0, 20.0], egui::Label::new(label));
        ui.add(egui::TextEdit::singleline(text).desired_width(320.0))
            .labelled_by(label.id)
    })
    .inner
}

/// A search box: a short visible label (its accessible name) and a wide field with a hint.
pub fn search_box(ui: &mut egui::Ui, name: &str, hint: &str, text: &mut String) -> egui::Response {
    ui.horizontal(|ui| {
        let label = ui.label(format!("⚲ {name}"));
        ui.add(
            egui::TextEdit::singleline(text)
                .hint_text(hint)
                .desired_width(f32::INFINITY),
        )
        .labelled_by(label.id)
    })
    .inner
}

/// A multi-line field with a visible label above it.
pub fn multiline(ui: &mut egui::Ui, label: &str, text: &mut String, rows: usize) -> egui::Response {
    let label = ui.label(label);
    ui.add(
        egui::TextEdit::multiline(text)
            .desired_rows(rows)
            .desired_width(f32::INFINITY),
    )
    .labelled_by(label.id)
}

/// An interest chip; returns true when its "remove" cross is clicked (if removable).
pub fn chip(ui: &mut egui::Ui, text: &str, removable: bool) -> bool {
    let mut removed = false;
    egui::Frame::new()
        .fill(theme::ACCENT.gamma_multiply(0.18))
        .corner_radius(12.0)
        .inner_margin(egui::Margin::symmetric(8, 2))
        .show(ui, |ui| {
            ui.horizontal(|ui| {
                ui.spacing_mut().item_spacing.x = 4.0;
                ui.label(text);
                if removable {
                    let cross = ui.small_button("✖").on_hover_text("Remove");
                    let name = format!("Remove {text}");
                    cross.widget_info(move || {
                        egui::WidgetInfo::labeled(egui::Role::Button, true, name.clone())
                    });
                    removed = cross.clicked();
                }
            });
        });
    removed
}

/// The colour of a presence state.
#[must_use]
pub fn presence_color(state: State) -> egui::Color32 {
    match state {
        State::Online => theme::ONLINE,
        State::Away => theme::AWAY,
        State::Busy => theme::BUSY,
        State::Offline => theme::OFFLINE,
    }
}

/// The word for a presence state.
#[must_use]
pub fn presence_word(state: State) -> &'static str {
    match state {
        State::Online => "online",
        State::Away => "away",
        State::Busy => "busy",
        State::Offline => "offline",
    }
}

/// A coloured dot and the presence word.
pub fn presence(ui: &mut egui::Ui, state: State) {
    ui.horizontal(|ui| {
        let (rect, _) = ui.allocate_exact_size(egui::vec2(10.0, 10.0), egui::Sense::hover());
        ui.painter()
            .circle_filled(rect.center(), 5.0, presence_color(state));
        ui.weak(presence_word(state));
    });
}

/// A round avatar: the photo's thumbnail once decoded, the initials meanwhile or without one.
pub fn avatar(
    ui: &mut egui::Ui,
    thumbs: &mut Thumbs,
    backend: &super::backend::Backend,
    name: &str,
    photo: Option<&ImageRef>,
    size: f32,
) -> egui::Response {
    if let Some(texture) = photo.and_then(|p| thumbs.get(backend, p.thumbnail)) {
        let image = egui::Image::new((texture.id(), egui::vec2(size, size)))
            .corner_radius(size / 2.0)
            .alt_text(format!("Photo of {name}"));
        return ui.add(image);
    }
    let (rect, response) = ui.allocate_exact_size(egui::vec2(size, size), egui::Sense::hover());
    let fill = hue_of(name);
    ui.painter().circle_filled(rect.center(), size / 2.0, fill);
    ui.painter().text(
        rect.center(),
        egui::Align2::CENTER_CENTER,
        initials(name),
        egui::FontId::proportional(size * 0.4),
        egui::Color32::WHITE,
    );
    response
}

/// Up to two initials of a name.
#[must_use]
pub fn initials(name: &str) -> String {
    name.split(|c: char| c.is_whitespace() || c == '.' || c == '_' || c == '-')
        .filter_map(|w| w.chars().next())
        .take(2)
        .flat_map(char::to_uppercase)
        .collect()
}

/// A stable, pleasant colour per name, so the same person always looks the same.
fn hue_of(name: &str) -> egui::Color32 {
    let hash = crate::client::dht::sha1(name.as_bytes());
    let hue = f32::from(hash[0]) / 255.0;
    egui::ecolor::Hsva::new(hue, 0.55, 0.75, 1.0).into()
}

/// A card frame used by people, posts and communities.
pub fn card<R>(ui: &mut egui::Ui, add: impl FnOnce(&mut egui::Ui) -> R) -> R {
    egui::Frame::group(ui.style())
        .corner_radius(8.0)
        .inner_margin(egui::Margin::same(10))
        .show(ui, |ui| {
            ui.set_width(ui.available_width());
            add(ui)
        })
        .inner
}

/// "12m ago", "3h ago", "2d ago" from Unix ms.
#[must_use]
pub fn ago(at: u64, now: u64) -> String {
    let minutes = now.saturating_sub(at) / 60_000;
    match minutes {
        0 => "just now".to_owned(),
        m if m < 60 => format!("{m}m ago"),
        m if m < 1440 => format!("{}h ago", m / 60),
        m => format!("{}d ago", m / 1440),
    }
}

/// A spinner with a short label saying what is being waited for.
pub fn working(ui: &mut egui::Ui, what: &str) {
    ui.horizontal(|ui| {
        ui.spinner();
        ui.weak(what);
    });
}

/// An inline error line (for form fields: "taken", "unknown user").
pub fn inline_error(ui: &mut egui::Ui, text: &str) {
    ui.colored_label(ui.visuals().error_fg_color, text);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn initials_take_two_words() {
        assert_eq!(initials("Ada Lovelace"), "AL");
        assert_eq!(initials("grace_hopper"), "GH");
        assert_eq!(initials("x"), "X");
    }

    #[test]
    fn ago_is_coarse() {
        assert_eq!(ago(0, 30_000), "just now");
        assert_eq!(ago(0, 5 * 60_000), "5m ago");
        assert_eq!(ago(0, 3 * 3_600_000), "3h ago");
        assert_eq!(ago(0, 2 * 86_400_000), "2d ago");
    }
}
