//! People: find by interest, company or name as you type; results as cards with photo and
//! presence.

use crate::client::search::Index;

use super::super::adapter::{self, Person};
use super::super::backend::{Pending, take};
use super::super::{Cx, Nav, View, theme, widgets};
use super::profile::{display_name, job_line};

/// The People screen.
pub struct PeopleView {
    query: String,
    searched: String,
    index: Index,
    results: Vec<Person>,
    pending: Option<Pending<Vec<Person>>>,
    again: bool,
}

impl Default for PeopleView {
    fn default() -> Self {
        PeopleView {
            query: String::new(),
            searched: String::new(),
            index: Index::People,
            results: Vec::new(),
            pending: None,
            again: false,
        }
    }
}

impl PeopleView {
    /// The cards shown.
    #[must_use]
    pub fn results(&self) -> &[Person] {
        &self.results
    }

    /// Starts a search when the query or index changed (one in flight at a time; the latest
    /// query is searched when it returns).
    fn search(&mut self, cx: &mut Cx<'_>) {
        let query = self.query.trim().to_owned();
        if query.chars().count() < 2 || (query == self.searched && !self.again) {
            return;
        }
        if self.pending.is_some() {
            return;
        }
        self.again = false;
        self.searched.clone_from(&query);
        let index = self.index;
        self.pending = Some(
            cx.backend
                .request(move |c| async move { adapter::find_people(&c, index, &query).await }),
        );
    }

    fn card(ui: &mut egui::Ui, cx: &mut Cx<'_>, person: &Person) {
        let p = &person.profile;
        widgets::card(ui, |ui| {
            ui.horizontal(|ui| {
                widgets::avatar(
                    ui,
                    cx.thumbs,
                    cx.backend,
                    display_name(p),
                    p.photo.as_ref(),
                    56.0,
                );
                ui.vertical(|ui| {
                    if ui.link(theme::strong(display_name(p))).clicked() {
                        cx.go(Nav::Profile(p.username.clone()));
                    }
                    ui.weak(job_line(p));
                    widgets::presence(ui, person.presence.state);
                    ui.horizontal_wrapped(|ui| {
                        for interest in p.interests.iter().take(6) {
                            widgets::chip(ui, interest, false);
                        }
                    });
                });
            });
        });
    }
}

impl View for PeopleView {
    fn ui(&mut self, ui: &mut egui::Ui, cx: &mut Cx<'_>) {
        if let Some(result) = take(&mut self.pending) {
            match result {
                Ok(people) => self.results = people,
                Err(e) => cx.error(e),
            }
        }
        ui.label(theme::heading("People"));
        ui.horizontal(|ui| {
            for (index, label) in [
                (Index::People, "Anything"),
                (Index::Name, "Name"),
                (Index::Interest, "Interest"),
                (Index::Company, "Company"),
            ] {
                if ui.selectable_value(&mut self.index, index, label).clicked() {
                    self.again = true;
                }
            }
        });
        widgets::search_box(
            ui,
            "Find people",
            "Type a name, an interest or a company…",
            &mut self.query,
        );
        self.search(cx);
        if self.pending.is_some() {
            widgets::working(ui, "Searching…");
        } else if self.results.is_empty() && self.searched.len() >= 2 {
            ui.weak(format!("No one matches “{}” yet.", self.searched));
        }
        egui::ScrollArea::vertical().show(ui, |ui| {
            for person in self.results.clone() {
                Self::card(ui, cx, &person);
            }
        });
    }
}
