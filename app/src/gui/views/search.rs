//! Search: one box over people, content, services and communities, results grouped.

use super::super::adapter::{self, Grouped};
use super::super::backend::{Pending, take};
use super::super::{Cx, Nav, View, theme, widgets};

/// The Search screen.
#[derive(Default)]
pub struct SearchView {
    query: String,
    searched: String,
    results: Option<Grouped>,
    pending: Option<Pending<Grouped>>,
}

impl SearchView {
    /// The grouped results, once there.
    #[must_use]
    pub fn results(&self) -> Option<&Grouped> {
        self.results.as_ref()
    }

    fn group(
        ui: &mut egui::Ui,
        title: &str,
        hits: &[crate::client::search::Hit],
        cx: &mut Cx<'_>,
        to: fn(&str) -> Nav,
    ) {
        ui.label(theme::strong(format!("{title} ({})", hits.len())));
        for hit in hits {
            if ui.link(&hit.label).clicked() {
                cx.go(to(&hit.target));
            }
        }
        ui.add_space(6.0);
    }
}

impl View for SearchView {
    fn ui(&mut self, ui: &mut egui::Ui, cx: &mut Cx<'_>) {
        if let Some(result) = take(&mut self.pending) {
            match result {
                Ok(found) => self.results = Some(found),
                Err(e) => cx.error(e),
            }
        }
        ui.label(theme::heading("Search"));
        widgets::search_box(
            ui,
            "Search everything",
            "People, posts, communities, services…",
            &mut self.query,
        );
        let query = self.query.trim().to_owned();
        if query.chars().count() >= 2 && query != self.searched && self.pending.is_none() {
            self.searched.clone_from(&query);
            self.pending = Some(
                cx.backend
                    .request(move |c| async move { adapter::search_all(&c, &query).await }),
            );
        }
        if self.pending.is_some() {
            widgets::working(ui, "Searching…");
        }
        let Some(found) = self.results.clone() else {
            return;
        };
        egui::ScrollArea::vertical().show(ui, |ui| {
            Self::group(ui, "People", &found.people, cx, |t| {
                Nav::Profile(t.to_owned())
            });
            Self::group(ui, "Posts and news", &found.content, cx, |t| {
                Nav::Post(t.to_owned())
            });
            Self::group(ui, "Communities", &found.communities, cx, |t| {
                Nav::Community(t.to_owned())
            });
            ui.label(theme::strong(format!(
                "Services ({})",
                found.services.len()
            )));
            for service in &found.services {
                ui.label(format!(
                    "{} — {} provider(s)",
                    service.id,
                    service.providers.len()
                ));
            }
        });
    }
}
