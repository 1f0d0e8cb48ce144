//! A community's page: news, events (subscribe; "starts in …"), polls (vote; results as bars)
//! and members.

use crate::client::events;
use crate::client::polls::Results;

use super::super::adapter::{self, CommunityPage};
use super::super::backend::{Backend, Pending, take};
use super::super::{Cx, Nav, Screen, View, theme, widgets};

/// The community page (inside Communities).
#[derive(Default)]
pub struct CommunityView {
    name: String,
    page: Option<CommunityPage>,
    loading: Option<Pending<CommunityPage>>,
    news: String,
    event_title: String,
    event_place: String,
    event_time: String,
    question: String,
    options: String,
    action: Option<Pending<String>>,
}

impl CommunityView {
    /// Opens community `name`.
    pub fn open(&mut self, backend: &Backend, name: &str) {
        self.name = name.to_owned();
        self.page = None;
        self.reload(backend);
    }

    fn reload(&mut self, backend: &Backend) {
        let name = self.name.clone();
        self.loading =
            Some(backend.request(move |c| async move { adapter::community_page(&c, &name).await }));
    }

    /// The page, once loaded.
    #[must_use]
    pub fn page(&self) -> Option<&CommunityPage> {
        self.page.as_ref()
    }

    fn poll(&mut self, cx: &mut Cx<'_>) {
        if let Some(result) = take(&mut self.loading) {
            match result {
                Ok(page) => self.page = Some(page),
                Err(e) => cx.error(e),
            }
        }
        if let Some(result) = take(&mut self.action) {
            match result {
                Ok(done) => cx.info(done),
                Err(e) => cx.error(e),
            }
            self.reload(cx.backend);
        }
    }

    fn act<F, Fut>(&mut self, cx: &mut Cx<'_>, job: F)
    where
        F: FnOnce(crate::client::Client) -> Fut,
        Fut: std::future::Future<Output = Result<String, crate::client::ClientError>>
            + Send
            + 'static,
    {
        if self.action.is_none() {
            self.action = Some(cx.backend.request(job));
        }
    }

    fn news_ui(&mut self, ui: &mut egui::Ui, cx: &mut Cx<'_>, page: &CommunityPage, now: u64) {
        ui.label(theme::strong("News"));
        for (author, news) in page.news.iter().take(20) {
            ui.label(format!(
                "{author} · {}: {}",
                widgets::ago(news.at, now),
                news.text
            ));
        }
        widgets::field(ui, "Write news", &mut self.news);
        if ui.button("Publish news").clicked() {
            let (id, text) = (page.community.id.clone(), self.news.trim().to_owned());
            self.news.clear();
            self.act(cx, move |c| async move {
                c.post_news(&id, &text)
                    .await
                    .map(|_| "News published".to_owned())
            });
        }
    }

    fn events_ui(&mut self, ui: &mut egui::Ui, cx: &mut Cx<'_>, page: &CommunityPage, now: u64) {
        ui.label(theme::strong("Events"));
        for event in &page.events {
            ui.horizontal(|ui| {
                ui.label(format!(
                    "⚐ {} — {} · {}",
                    event.title,
                    event.place,
                    events::starts_in(event.starts_at, now)
                ));
                let label = format!("Subscribe to {}", event.title);
                let button = ui.small_button("Subscribe");
                button.widget_info(move || {
                    egui::WidgetInfo::labeled(egui::Role::Button, true, label.clone())
                });
                if button.clicked() {
                    let id = event.id.clone();
                    self.act(cx, move |c| async move {
                        c.subscribe(&id)
                            .await
                            .map(|e| format!("Subscribed to {}", e.title))
                    });
                }
            });
        }
        egui::CollapsingHeader::new("New event").show(ui, |ui| {
            widgets::field(ui, "Event title", &mut self.event_title);
            widgets::field(ui, "Place", &mut self.event_place);
            widgets::field(
                ui,
                "Starts (e.g. 2026-05-01T10:00:00Z)",
                &mut self.event_time,
            );
            if ui.button("Create event").clicked() {
                match events::parse_time(self.event_time.trim()) {
                    Ok(at) => {
                        let (id, title, place) = (
                            page.community.id.clone(),
                            self.event_title.clone(),
                            self.event_place.clone(),
                        );
                        self.act(cx, move |c| async move {
                            c.create_event(&id, &title, at, &place)
                                .await
                                .map(|_| "Event created".to_owned())
                        });
                    }
                    Err(e) => cx.error(e.to_string()),
                }
            }
        });
    }

    fn polls_ui(&mut self, ui: &mut egui::Ui, cx: &mut Cx<'_>, page: &CommunityPage) {
        ui.label(theme::strong("Polls"));
        for results in &page.polls {
            if let Some(option) = poll_ui(ui, results) {
                let id = results.poll.id.clone();
                self.act(cx, move |c| async move {
                    c.vote(&id, &option)
                        .await
                        .map(|_| "Vote counted".to_owned())
                });
            }
        }
        egui::CollapsingHeader::new("New poll").show(ui, |ui| {
            widgets::field(ui, "Question", &mut self.question);
            widgets::field(ui, "Options (comma-separated)", &mut self.options);
            if ui.button("Create poll").clicked() {
                let options = crate::client::text::split_list(&self.options);
                let (id, question) = (page.community.id.clone(), self.question.trim().to_owned());
                self.act(cx, move |c| async move {
                    c.create_poll(&id, &question, &options)
                        .await
                        .map(|_| "Poll created".to_owned())
                });
            }
        });
    }
}

/// One poll with its results as bars; returns the option voted for, if clicked.
fn poll_ui(ui: &mut egui::Ui, results: &Results) -> Option<String> {
    let mut vote = None;
    widgets::card(ui, |ui| {
        ui.label(theme::strong(&results.poll.question));
        let total = results.voters.max(1);
        for (option, count) in &results.counts {
            ui.horizontal(|ui| {
                let label = format!("Vote {option}");
                let button = ui.small_button("Vote");
                button.widget_info(move || {
                    egui::WidgetInfo::labeled(egui::Role::Button, true, label.clone())
                });
                if button.clicked() {
                    vote = Some(option.clone());
                }
                let fraction = *count as f32 / total as f32;
                ui.add(
                    egui::ProgressBar::new(fraction)
                        .desired_width(220.0)
                        .text(format!("{option}: {count}")),
                );
            });
        }
        ui.weak(format!("{} voter(s)", results.voters));
    });
    vote
}

impl View for CommunityView {
    fn ui(&mut self, ui: &mut egui::Ui, cx: &mut Cx<'_>) {
        self.poll(cx);
        if ui.button("⬅ All communities").clicked() {
            cx.go(Nav::Screen(Screen::Communities));
        }
        let Some(page) = self.page.clone() else {
            widgets::working(ui, &format!("Loading {}…", self.name));
            return;
        };
        let now = cx.backend.client().map_or(0, |c| c.now_ms());
        egui::ScrollArea::vertical().show(ui, |ui| {
            ui.label(theme::heading(&page.community.name));
            ui.label(&page.community.description);
            ui.weak(format!(
                "Created by {} · {} member(s)",
                page.creator,
                page.members.len()
            ));
            ui.separator();
            self.news_ui(ui, cx, &page, now);
            ui.separator();
            self.events_ui(ui, cx, &page, now);
            ui.separator();
            self.polls_ui(ui, cx, &page);
            ui.separator();
            ui.label(theme::strong("Members"));
            ui.horizontal_wrapped(|ui| {
                for member in &page.members {
                    if ui.link(member).clicked() {
                        cx.go(Nav::Profile(member.clone()));
                    }
                }
            });
        });
    }
}
