//! Communities: the list (filtered as you type), create one, join or leave, open its page.

use crate::client::communities::Community;

use super::super::backend::{Backend, Pending, take};
use super::super::{Cx, Nav, View, theme, widgets};

/// The Communities screen.
#[derive(Default)]
pub struct CommunitiesView {
    list: Vec<Community>,
    joined: Vec<String>,
    loading: Option<Pending<(Vec<Community>, Vec<String>)>>,
    filter: String,
    name: String,
    description: String,
    creating: Option<Pending<Community>>,
    membership: Option<Pending<()>>,
}

impl CommunitiesView {
    /// Reloads the list and my memberships.
    pub fn refresh(&mut self, backend: &Backend) {
        self.loading = Some(backend.request(|c| async move {
            let me = c.me()?.username.clone();
            Ok((c.communities().await?, c.joined(&me).await?))
        }));
    }

    /// The communities listed.
    #[must_use]
    pub fn list(&self) -> &[Community] {
        &self.list
    }

    fn poll(&mut self, cx: &mut Cx<'_>) {
        if let Some(result) = take(&mut self.loading) {
            match result {
                Ok((list, joined)) => {
                    self.list = list;
                    self.joined = joined;
                }
                Err(e) => cx.error(e),
            }
        }
        if let Some(result) = take(&mut self.creating) {
            match result {
                Ok(c) => {
                    cx.info(format!("Created {}", c.name));
                    self.name.clear();
                    self.description.clear();
                    self.refresh(cx.backend);
                }
                Err(e) => cx.error(format!("Not created: {e}")),
            }
        }
        if let Some(result) = take(&mut self.membership) {
            if let Err(e) = result {
                cx.error(e);
            }
            self.refresh(cx.backend);
        }
    }

    fn create_ui(&mut self, ui: &mut egui::Ui, cx: &mut Cx<'_>) {
        egui::CollapsingHeader::new("Create a community").show(ui, |ui| {
            widgets::field(ui, "Name", &mut self.name);
            widgets::field(ui, "Description", &mut self.description);
            if ui
                .add_enabled(self.creating.is_none(), egui::Button::new("Create"))
                .clicked()
            {
                let (name, description) = (
                    self.name.trim().to_owned(),
                    self.description.trim().to_owned(),
                );
                self.creating = Some(cx.backend.request(move |c| async move {
                    c.create_community(&name, &description).await
                }));
            }
        });
    }

    fn row(&mut self, ui: &mut egui::Ui, cx: &mut Cx<'_>, community: &Community) {
        let member = self.joined.contains(&community.id);
        widgets::card(ui, |ui| {
            ui.horizontal(|ui| {
                ui.vertical(|ui| {
                    if ui.link(theme::strong(&community.name)).clicked() {
                        cx.go(Nav::Community(community.name.clone()));
                    }
                    ui.weak(&community.description);
                });
                ui.with_layout(egui::Layout::right_to_left(egui::Align::Center), |ui| {
                    let label = if member {
                        format!("Leave {}", community.name)
                    } else {
                        format!("Join {}", community.name)
                    };
                    let text = if member { "Leave" } else { "Join" };
                    let button = ui.button(text);
                    button.widget_info(move || {
                        egui::WidgetInfo::labeled(egui::Role::Button, true, label.clone())
                    });
                    if button.clicked() && self.membership.is_none() {
                        let name = community.name.clone();
                        self.membership = Some(cx.backend.request(move |c| async move {
                            if member {
                                c.leave(&name).await
                            } else {
                                c.join(&name).await
                            }
                            .map(|_| ())
                        }));
                    }
                });
            });
        });
    }
}

impl View for CommunitiesView {
    fn ui(&mut self, ui: &mut egui::Ui, cx: &mut Cx<'_>) {
        self.poll(cx);
        ui.label(theme::heading("Communities"));
        self.create_ui(ui, cx);
        widgets::search_box(
            ui,
            "Filter communities",
            "Filter by name or description…",
            &mut self.filter,
        );
        if self.loading.is_some() {
            widgets::working(ui, "Loading communities…");
        }
        let filter = self.filter.to_lowercase();
        let shown: Vec<Community> = self
            .list
            .iter()
            .filter(|c| {
                filter.is_empty()
                    || c.name.to_lowercase().contains(&filter)
                    || c.description.to_lowercase().contains(&filter)
            })
            .cloned()
            .collect();
        egui::ScrollArea::vertical().show(ui, |ui| {
            for community in &shown {
                self.row(ui, cx, community);
            }
        });
    }
}
