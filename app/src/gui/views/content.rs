//! Content: the feed (posts of people I follow, news and events of my communities) as a
//! virtualised list — only the rows on screen are laid out, so 10,000 posts scroll as fast as
//! ten — and the composer for text, link and image posts.

use std::path::PathBuf;

use crate::client::feed::{FeedItem, FeedKind};
use crate::client::media;
use crate::client::posts::{Post, PostBody};

use super::super::backend::{Backend, Pending, take};
use super::super::{Cx, Nav, View, theme, widgets};

/// Height of one feed row: fixed, which is what lets `show_rows` skip the rows off screen.
pub const ROW_HEIGHT: f32 = 92.0;
/// Side of a thumbnail in a row.
const THUMB: f32 = 72.0;

/// What the composer posts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
enum Kind {
    #[default]
    Text,
    Link,
    Image,
}

/// The Content screen.
#[derive(Default)]
pub struct ContentView {
    items: Vec<FeedItem>,
    loading: Option<Pending<Vec<FeedItem>>>,
    next_page: usize,
    exhausted: bool,
    kind: Kind,
    text: String,
    url: String,
    image_path: String,
    posting: Option<Pending<Post>>,
}

impl ContentView {
    /// Reloads the feed from its first page.
    pub fn refresh(&mut self, backend: &Backend) {
        self.next_page = 1;
        self.exhausted = false;
        self.items.clear();
        self.load_more(backend);
    }

    /// Replaces the feed (benchmarks and tests seed it with many posts).
    pub fn set_items(&mut self, items: Vec<FeedItem>) {
        self.items = items;
        self.exhausted = true;
        self.loading = None;
    }

    /// The items shown.
    #[must_use]
    pub fn items(&self) -> &[FeedItem] {
        &self.items
    }

    fn load_more(&mut self, backend: &Backend) {
        if self.loading.is_some() || self.exhausted {
            return;
        }
        let page = self.next_page.max(1);
        self.loading = Some(backend.request(move |c| async move { c.feed(page).await }));
    }

    fn poll(&mut self, cx: &mut Cx<'_>) {
        if let Some(result) = take(&mut self.loading) {
            match result {
                Ok(page) => {
                    self.exhausted = page.is_empty();
                    self.next_page = self.next_page.max(1) + 1;
                    self.items.extend(page);
                }
                Err(e) => {
                    self.exhausted = true;
                    cx.error(format!("Feed not loaded: {e}"));
                }
            }
        }
        if let Some(result) = take(&mut self.posting) {
            match result {
                Ok(post) => {
                    self.items.insert(
                        0,
                        FeedItem {
                            at: post.at,
                            author: cx.me.to_owned(),
                            kind: FeedKind::Post { post },
                        },
                    );
                    self.text.clear();
                    self.url.clear();
                    self.image_path.clear();
                    cx.info("Posted");
                }
                Err(e) => cx.error(format!("Not posted: {e}")),
            }
        }
    }

    fn composer(&mut self, ui: &mut egui::Ui, cx: &mut Cx<'_>) {
        widgets::card(ui, |ui| {
            ui.horizontal(|ui| {
                ui.selectable_value(&mut self.kind, Kind::Text, "Text");
                ui.selectable_value(&mut self.kind, Kind::Link, "Link");
                ui.selectable_value(&mut self.kind, Kind::Image, "Image");
            });
            let label = match self.kind {
                Kind::Text => "What's up?",
                Kind::Link => "Title",
                Kind::Image => "Caption",
            };
            widgets::multiline(ui, label, &mut self.text, 2);
            match self.kind {
                Kind::Text => {}
                Kind::Link => {
                    widgets::field(ui, "URL", &mut self.url);
                }
                Kind::Image => {
                    widgets::field(ui, "Image file", &mut self.image_path);
                }
            }
            ui.horizontal(|ui| {
                let busy = self.posting.is_some();
                if ui
                    .add_enabled(!busy, egui::Button::new(theme::strong("Post")))
                    .clicked()
                {
                    self.posting = Some(self.publish(cx.backend));
                }
                if busy {
                    widgets::working(ui, "Posting…");
                }
            });
        });
    }

    fn publish(&self, backend: &Backend) -> Pending<Post> {
        let text = self.text.trim().to_owned();
        let url = self.url.trim().to_owned();
        let path = PathBuf::from(self.image_path.trim());
        match self.kind {
            Kind::Text => backend.request(move |c| async move { c.post_text(&text).await }),
            Kind::Link => backend.request(move |c| async move { c.post_link(&url, &text).await }),
            Kind::Image => backend.request(move |c| async move {
                let image = tokio::task::spawn_blocking(move || media::prepare_file(&path))
                    .await
                    .map_err(|e| crate::client::ClientError::BadImage(e.to_string()))??;
                c.post_image(image, &text).await
            }),
        }
    }

    fn feed_ui(&mut self, ui: &mut egui::Ui, cx: &mut Cx<'_>) {
        if self.items.is_empty() {
            if self.loading.is_some() {
                widgets::working(ui, "Loading your feed…");
            } else {
                ui.weak("Nothing here yet: follow people and join communities to fill your feed.");
            }
            return;
        }
        let now = cx.backend.client().map_or(0, |c| c.now_ms());
        let total = self.items.len();
        let mut near_end = false;
        egui::ScrollArea::vertical()
            .id_salt("feed")
            .auto_shrink([false, false])
            .show_rows(ui, ROW_HEIGHT, total, |ui, range| {
                near_end = range.end + 5 >= total;
                for item in &self.items[range] {
                    row(ui, cx, item, now);
                }
            });
        if near_end {
            self.load_more(cx.backend);
        }
    }
}

/// One feed row, exactly [`ROW_HEIGHT`] tall.
fn row(ui: &mut egui::Ui, cx: &mut Cx<'_>, item: &FeedItem, now: u64) {
    let (rect, _) = ui.allocate_exact_size(
        egui::vec2(ui.available_width(), ROW_HEIGHT),
        egui::Sense::hover(),
    );
    let mut child =
        ui.new_child(egui::UiBuilder::new().max_rect(rect.shrink2(egui::vec2(4.0, 4.0))));
    child.horizontal(|ui| {
        widgets::avatar(ui, cx.thumbs, cx.backend, &item.author, None, 36.0);
        ui.vertical(|ui| {
            ui.horizontal(|ui| {
                if ui.link(theme::strong(&item.author)).clicked() {
                    cx.go(Nav::Profile(item.author.clone()));
                }
                ui.weak(widgets::ago(item.at, now));
            });
            body(ui, cx, item, now);
        });
    });
    ui.painter().hline(
        rect.x_range(),
        rect.bottom(),
        ui.visuals().widgets.noninteractive.bg_stroke,
    );
}

fn body(ui: &mut egui::Ui, cx: &mut Cx<'_>, item: &FeedItem, now: u64) {
    match &item.kind {
        FeedKind::Post { post } => post_body(ui, cx, post),
        FeedKind::News { news } => {
            ui.add(egui::Label::new(format!("☰ {}", news.text)).truncate());
        }
        FeedKind::Event { event } => {
            ui.add(egui::Label::new(format!("⚐ {} — {}", event.title, event.place)).truncate());
            ui.weak(crate::client::events::starts_in(event.starts_at, now));
        }
    }
}

fn post_body(ui: &mut egui::Ui, cx: &mut Cx<'_>, post: &Post) {
    ui.horizontal(|ui| {
        if let PostBody::Image { image, .. } = &post.body {
            match cx.thumbs.get(cx.backend, image.thumbnail) {
                Some(texture) => {
                    let size = fit(texture.size_vec2(), THUMB - 16.0);
                    let shown = ui.add(
                        egui::Image::new((texture.id(), size))
                            .alt_text("Image thumbnail")
                            .sense(egui::Sense::click()),
                    );
                    if shown.clicked() {
                        cx.go(Nav::Post(post.id.clone()));
                    }
                }
                None => {
                    ui.add_sized([THUMB - 16.0, THUMB - 16.0], egui::Spinner::new());
                }
            }
        }
        ui.vertical(|ui| {
            match &post.body {
                PostBody::Link { url, title } => {
                    let text = if title.is_empty() { url } else { title };
                    ui.hyperlink_to(text, url);
                }
                PostBody::Image { caption, .. } => {
                    ui.add(egui::Label::new(caption).truncate());
                }
                other => {
                    ui.add(egui::Label::new(other.summary()).truncate());
                }
            }
            if ui.small_button("✍ Comments").clicked() {
                cx.go(Nav::Post(post.id.clone()));
            }
        });
    });
}

/// Scales `size` to fit a square of side `max`, keeping its aspect.
#[must_use]
pub fn fit(size: egui::Vec2, max: f32) -> egui::Vec2 {
    let scale = (max / size.x.max(size.y)).min(1.0);
    size * scale
}

impl View for ContentView {
    fn ui(&mut self, ui: &mut egui::Ui, cx: &mut Cx<'_>) {
        self.poll(cx);
        ui.horizontal(|ui| {
            ui.label(theme::heading("Feed"));
            if ui.button("⟳ Refresh").clicked() {
                self.refresh(cx.backend);
            }
        });
        self.composer(ui, cx);
        ui.add_space(6.0);
        self.feed_ui(ui, cx);
    }
}
