//! Look and feel: the bundled fonts, the accent colour, spacing, and the app icon, all from
//! `assets/` so the app looks the same on every machine.

use std::sync::Arc;

/// The accent colour of buttons, chips and the bell badge (What's UP orange).
pub const ACCENT: egui::Color32 = egui::Color32::from_rgb(0xF2, 0x6B, 0x1D);
/// Presence: online.
pub const ONLINE: egui::Color32 = egui::Color32::from_rgb(0x2E, 0xB8, 0x5C);
/// Presence: away.
pub const AWAY: egui::Color32 = egui::Color32::from_rgb(0xF2, 0xC1, 0x1D);
/// Presence: busy.
pub const BUSY: egui::Color32 = egui::Color32::from_rgb(0xD9, 0x3A, 0x3A);
/// Presence: offline.
pub const OFFLINE: egui::Color32 = egui::Color32::from_rgb(0x9A, 0x9A, 0x9A);

const FONT_REGULAR: &[u8] = include_bytes!("../../../assets/fonts/DejaVuSans.ttf");
const FONT_BOLD: &[u8] = include_bytes!("../../../assets/fonts/DejaVuSans-Bold.ttf");
const ICON_PNG: &[u8] = include_bytes!("../../../assets/icons/whatsup-256.png");

/// The name of the bold font family (for headings).
pub const BOLD: &str = "bold";

/// Installs the bundled fonts (egui's own stay as fallbacks for the emoji icons) and the
/// spacing used throughout.
pub fn install(ctx: &egui::Context) {
    let mut fonts = egui::FontDefinitions::default();
    fonts.font_data.insert(
        "dejavu".into(),
        Arc::new(egui::FontData::from_static(FONT_REGULAR)),
    );
    fonts.font_data.insert(
        "dejavu-bold".into(),
        Arc::new(egui::FontData::from_static(FONT_BOLD)),
    );
    if let Some(list) = fonts.families.get_mut(&egui::FontFamily::Proportional) {
        list.insert(0, "dejavu".into());
    }
    let mut bold = vec!["dejavu-bold".to_owned()];
    bold.extend(
        fonts
            .families
            .get(&egui::FontFamily::Proportional)
            .cloned()
            .unwrap_or_default(),
    );
    fonts
        .families
        .insert(egui::FontFamily::Name(BOLD.into()), bold);
    ctx.set_fonts(fonts);
    ctx.all_styles_mut(|style| {
        style.spacing.item_spacing = egui::vec2(8.0, 6.0);
        style.spacing.button_padding = egui::vec2(10.0, 4.0);
        style.spacing.interact_size.y = 26.0;
        style.visuals.selection.bg_fill = ACCENT;
        style.visuals.hyperlink_color = ACCENT;
    });
}

/// A bold heading.
#[must_use]
pub fn heading(text: impl Into<String>) -> egui::RichText {
    egui::RichText::new(text)
        .size(20.0)
        .family(egui::FontFamily::Name(BOLD.into()))
}

/// A bold label of normal size.
#[must_use]
pub fn strong(text: impl Into<String>) -> egui::RichText {
    egui::RichText::new(text).family(egui::FontFamily::Name(BOLD.into()))
}

/// The window icon, decoded from the bundled PNG.
#[must_use]
pub fn app_icon() -> Option<egui::IconData> {
    let image = image::load_from_memory(ICON_PNG).ok()?.into_rgba8();
    let (width, height) = image.dimensions();
    Some(egui::IconData {
        rgba: image.into_raw(),
        width,
        height,
    })
}

/// Draws the app's logo at `size` points (decoded once, kept in egui's memory).
pub fn logo(ui: &mut egui::Ui, size: f32) {
    let id = egui::Id::unique("whatsup-logo");
    let texture = ui.ctx().data(|d| d.get_temp::<egui::TextureHandle>(id));
    let texture = texture.or_else(|| {
        let icon = app_icon()?;
        let image = egui::ColorImage::from_rgba_unmultiplied(
            [icon.width as usize, icon.height as usize],
            &icon.rgba,
        );
        let handle = ui
            .ctx()
            .load_texture("logo", image, egui::TextureOptions::LINEAR);
        ui.ctx().data_mut(|d| d.insert_temp(id, handle.clone()));
        Some(handle)
    });
    if let Some(texture) = texture {
        ui.add(egui::Image::new((texture.id(), egui::vec2(size, size))).alt_text("What's UP logo"));
    }
}
