//! One post: its full text or image (decoded off the UI thread) and its comments, with a box
//! to add one.

use crate::client::posts::{AuthoredPost, Comment, PostBody};

use super::super::backend::{Backend, Pending, take};
use super::super::thumbs;
use super::super::{Cx, Nav, Screen, View, theme, widgets};

/// A post and its comments, with their authors.
type Loaded = (AuthoredPost, Vec<(String, Comment)>);

/// The post screen (inside Content).
#[derive(Default)]
pub struct PostView {
    id: String,
    post: Option<AuthoredPost>,
    comments: Vec<(String, Comment)>,
    loading: Option<Pending<Loaded>>,
    full: Option<Pending<egui::ColorImage>>,
    texture: Option<egui::TextureHandle>,
    comment: String,
    sending: Option<Pending<Comment>>,
}

impl PostView {
    /// Opens post `id`.
    pub fn open(&mut self, backend: &Backend, id: &str) {
        *self = PostView {
            id: id.to_owned(),
            ..PostView::default()
        };
        let id = id.to_owned();
        self.loading = Some(backend.request(move |c| async move {
            let post = c.post(&id).await?;
            let comments = c.comments(&id).await?;
            Ok((post, comments))
        }));
    }

    fn poll(&mut self, cx: &mut Cx<'_>, ctx: &egui::Context) {
        if let Some(result) = take(&mut self.loading) {
            match result {
                Ok((post, comments)) => {
                    if let PostBody::Image { image, .. } = &post.post.body {
                        self.full = Some(thumbs::load_full(cx.backend, image.blob));
                    }
                    self.post = Some(post);
                    self.comments = comments;
                }
                Err(e) => cx.error(e),
            }
        }
        if let Some(result) = take(&mut self.full) {
            match result {
                Ok(image) => {
                    self.texture = Some(ctx.load_texture(
                        format!("full-{}", self.id),
                        image,
                        egui::TextureOptions::LINEAR,
                    ))
                }
                Err(e) => cx.error(format!("Image not loaded: {e}")),
            }
        }
        if let Some(result) = take(&mut self.sending) {
            match result {
                Ok(comment) => {
                    self.comments.push((cx.me.to_owned(), comment));
                    self.comment.clear();
                }
                Err(e) => cx.error(format!("Comment not sent: {e}")),
            }
        }
    }

    fn comments_ui(&mut self, ui: &mut egui::Ui, cx: &mut Cx<'_>) {
        ui.label(theme::strong(format!("Comments ({})", self.comments.len())));
        for (author, comment) in &self.comments {
            ui.horizontal_wrapped(|ui| {
                if ui.link(theme::strong(author)).clicked() {
                    cx.go(Nav::Profile(author.clone()));
                }
                ui.label(&comment.text);
            });
        }
        widgets::field(ui, "Your comment", &mut self.comment);
        if ui
            .add_enabled(self.sending.is_none(), egui::Button::new("Send comment"))
            .clicked()
        {
            let (id, text) = (self.id.clone(), self.comment.trim().to_owned());
            self.sending = Some(
                cx.backend
                    .request(move |c| async move { c.comment(&id, &text).await }),
            );
        }
    }
}

impl View for PostView {
    fn ui(&mut self, ui: &mut egui::Ui, cx: &mut Cx<'_>) {
        self.poll(cx, &ui.ctx().clone());
        if ui.button("⬅ Back to feed").clicked() {
            cx.go(Nav::Screen(Screen::Content));
        }
        let Some(post) = self.post.clone() else {
            widgets::working(ui, "Loading the post…");
            return;
        };
        egui::ScrollArea::vertical().show(ui, |ui| {
            widgets::card(ui, |ui| {
                ui.label(theme::strong(&post.author));
                match &post.post.body {
                    PostBody::Image { caption, .. } => {
                        match &self.texture {
                            Some(t) => {
                                let size = super::content::fit(
                                    t.size_vec2(),
                                    ui.available_width().min(900.0),
                                );
                                ui.add(egui::Image::new((t.id(), size)).alt_text(caption.clone()));
                            }
                            None => widgets::working(ui, "Loading the image…"),
                        }
                        ui.label(caption);
                    }
                    PostBody::Link { url, title } => {
                        ui.hyperlink_to(if title.is_empty() { url } else { title }, url);
                    }
                    other => {
                        ui.label(other.summary());
                    }
                }
            });
            self.comments_ui(ui, cx);
        });
    }
}
