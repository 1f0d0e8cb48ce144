//! The top bar: the app's name, my own presence (changeable), and the bell with its count.

use crate::client::presence::State;

use super::super::backend::Backend;
use super::super::{Cx, Nav, Screen, theme, widgets};
use super::Views;

/// Marks me online when the app becomes ready (fire and forget; failure is harmless).
pub fn announce_online(backend: &Backend) {
    let _ = backend.request(|c| async move { c.set_presence(State::Online, "").await });
}

/// Draws the top bar.
pub fn show(ui: &mut egui::Ui, views: &mut Views, cx: &mut Cx<'_>) {
    egui::Panel::top("top").show(ui, |ui| {
        ui.horizontal(|ui| {
            theme::logo(ui, 24.0);
            ui.label(theme::strong("What's UP"));
            ui.with_layout(egui::Layout::right_to_left(egui::Align::Center), |ui| {
                bell(ui, views, cx);
                presence_picker(ui, cx);
                ui.label(theme::strong(cx.me));
            });
        });
    });
}

fn bell(ui: &mut egui::Ui, views: &mut Views, cx: &mut Cx<'_>) {
    let count = views.alerts.unread();
    let text = if count > 0 {
        format!("⚑ {count}")
    } else {
        "⚑".to_owned()
    };
    let button = egui::Button::new(egui::RichText::new(text).color(if count > 0 {
        theme::ACCENT
    } else {
        ui.visuals().text_color()
    }));
    let response = ui.add(button);
    let name = format!("Alerts: {count} new");
    response.widget_info(move || egui::WidgetInfo::labeled(egui::Role::Button, true, name.clone()));
    if response.clicked() {
        cx.go(Nav::Screen(Screen::Alerts));
    }
}

fn presence_picker(ui: &mut egui::Ui, cx: &mut Cx<'_>) {
    let id = egui::Id::unique("my-presence");
    let mut state = ui
        .ctx()
        .data(|d| d.get_temp::<State>(id))
        .unwrap_or(State::Online);
    let before = state;
    // No visible label (the box sits by my name and says "online"), but an accessible name
    // and a tooltip, so screen readers and tests find it as "Presence".
    let shown = egui::ComboBox::from_id_salt("my-presence")
        .selected_text(widgets::presence_word(state))
        .show_ui(ui, |ui| {
            for s in [State::Online, State::Away, State::Busy, State::Offline] {
                ui.selectable_value(&mut state, s, widgets::presence_word(s));
            }
        });
    let word = widgets::presence_word(state);
    shown.response.widget_info(move || {
        egui::WidgetInfo::labeled(egui::Role::ComboBox, true, format!("Presence: {word}"))
    });
    shown
        .response
        .on_hover_text("Your presence, as others see it");
    if state != before {
        ui.ctx().data_mut(|d| d.insert_temp(id, state));
        let _ = cx
            .backend
            .request(move |c| async move { c.set_presence(state, "").await });
    }
}
