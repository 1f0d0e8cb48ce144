//! Posts (text, link, image), comments and follows.
//!
//! A post is stored twice: in its author's list `user:<name>/posts` (one `get` reads a user's
//! timeline) and under `post:<id>` (an id alone finds it). Long text goes to a blob with an
//! inline preview; images go to blobs with a thumbnail. Comments go under `post:<id>/comments`
//! and, for alerts, into the post author's `user:<name>/activity`.

use rand::RngCore as _;
use serde::{Deserialize, Serialize};

use super::media::{ImageRef, PreparedImage};
use super::records::Record;
use super::search::{Index, entries};
use super::{Client, ClientError, RECORD_TTL, keys};

/// Longest text kept inline in a post record.
pub const INLINE_TEXT: usize = 600;
/// Longest text post (the rest of it goes in a blob).
pub const MAX_TEXT: usize = 64 * 1024;
/// Longest comment, link, title or caption.
pub const MAX_SHORT: usize = 300;

/// What a post holds.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum PostBody {
    /// Short text.
    Text(String),
    /// Long text in a blob, with a preview.
    LongText {
        /// The first characters.
        preview: String,
        /// SHA-1 of the full text's blob.
        blob: [u8; 20],
    },
    /// A link.
    Link {
        /// The URL.
        url: String,
        /// Optional title.
        title: String,
    },
    /// An image.
    Image {
        /// Blobs of the image and thumbnail.
        image: ImageRef,
        /// Optional caption.
        caption: String,
    },
}

impl PostBody {
    /// A one-line summary for lists, feeds and the content index.
    #[must_use]
    pub fn summary(&self) -> String {
        match self {
            PostBody::Text(text) => text.clone(),
            PostBody::LongText { preview, .. } => format!("{preview}…"),
            PostBody::Link { url, title } if title.is_empty() => url.clone(),
            PostBody::Link { url, title } => format!("{title} <{url}>"),
            PostBody::Image { caption, image } => {
                format!("[image {}x{}] {caption}", image.width, image.height)
            }
        }
    }
}

/// A post.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Post {
    /// Random id (16 hex digits).
    pub id: String,
    /// The content.
    pub body: PostBody,
    /// When, Unix ms.
    pub at: u64,
}

impl Record for Post {
    const KIND: &'static str = "post";
}

/// A post with its verified author.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct AuthoredPost {
    /// The author's username.
    pub author: String,
    /// The post.
    pub post: Post,
}

/// A comment on a post.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Comment {
    /// The post commented on.
    pub post_id: String,
    /// The post's author (where the alert goes).
    pub post_author: String,
    /// The comment.
    pub text: String,
    /// When, Unix ms.
    pub at: u64,
}

impl Record for Comment {
    const KIND: &'static str = "comment";
}

/// "I follow `user`".
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Follow {
    /// Who is followed.
    pub user: String,
}

impl Record for Follow {
    const KIND: &'static str = "follow";
}

/// A new random id, 16 hex digits.
#[must_use]
pub fn new_id() -> String {
    let mut bytes = [0u8; 8];
    rand::rng().fill_bytes(&mut bytes);
    hex::encode(bytes)
}

pub(crate) fn check_len(what: &'static str, text: &str, limit: usize) -> Result<(), ClientError> {
    if text.len() > limit {
        return Err(ClientError::TooLarge {
            what,
            len: text.len(),
            limit,
        });
    }
    Ok(())
}

impl Client {
    /// Posts text; text longer than [`INLINE_TEXT`] goes to a blob. Returns the post.
    pub async fn post_text(&self, text: &str) -> Result<Post, ClientError> {
        check_len("post", text, MAX_TEXT)?;
        if text.trim().is_empty() {
            return Err(ClientError::Invalid("empty post".into()));
        }
        if text.len() <= INLINE_TEXT {
            return self.publish(PostBody::Text(text.to_owned())).await;
        }
        let preview: String = text.chars().take(200).collect();
        self.seal(
            keys::post("x"),
            &self.post_of(PostBody::Text(preview.clone())),
        )?;
        let blob = self
            .dht
            .put_blob(text.as_bytes().to_vec(), RECORD_TTL)
            .await?;
        self.publish(PostBody::LongText { preview, blob }).await
    }

    /// Posts a link (http or https).
    pub async fn post_link(&self, url: &str, title: &str) -> Result<Post, ClientError> {
        check_len("link", url, MAX_SHORT)?;
        check_len("title", title, MAX_SHORT)?;
        if !(url.starts_with("http://") || url.starts_with("https://"))
            || url.contains(char::is_whitespace)
        {
            return Err(ClientError::Invalid(format!("not an http(s) URL: {url}")));
        }
        let body = PostBody::Link {
            url: url.to_owned(),
            title: title.to_owned(),
        };
        self.publish(body).await
    }

    /// Posts an image already read and thumbnailed ([`super::media::prepare_file`]).
    pub async fn post_image(
        &self,
        image: PreparedImage,
        caption: &str,
    ) -> Result<Post, ClientError> {
        check_len("caption", caption, MAX_SHORT)?;
        let image = self.store_image(image).await?;
        let body = PostBody::Image {
            image,
            caption: caption.to_owned(),
        };
        self.publish(body).await
    }

    fn post_of(&self, body: PostBody) -> Post {
        Post {
            id: new_id(),
            body,
            at: self.now_ms(),
        }
    }

    /// Seals everything first (so a size error writes nothing), then stores and indexes.
    async fn publish(&self, body: PostBody) -> Result<Post, ClientError> {
        let post = self.post_of(body);
        let me = self.me()?.username.clone();
        let list = keys::user_list(&me, "posts");
        let sealed = [
            (list, self.seal(list, &post)?),
            (
                keys::post(&post.id),
                self.seal(keys::post(&post.id), &post)?,
            ),
        ];
        let index = entries(
            Index::Content,
            &post.body.summary(),
            &post.id,
            &post.body.summary(),
            post.at,
        );
        let index = self.seal_entries(&index)?;
        let mut writes: Vec<_> = sealed.into_iter().map(|(k, v)| (k, v, None)).collect();
        writes.extend(self.removable(index)?);
        self.put_many(writes).await?;
        Ok(post)
    }

    /// `user`'s posts, newest first.
    pub async fn posts_of(&self, user: &str) -> Result<Vec<Post>, ClientError> {
        let user = self.require_user(user).await?;
        let mut posts: Vec<Post> = self
            .read::<Post>(keys::user_list(&user, "posts"))
            .await?
            .into_iter()
            .filter(|r| r.author == user)
            .map(|r| r.body)
            .collect();
        posts.sort_by_key(|post| std::cmp::Reverse(post.at));
        posts.dedup_by(|a, b| a.id == b.id);
        Ok(posts)
    }

    /// The post with this id (the first valid one if several claim it).
    pub async fn post(&self, id: &str) -> Result<AuthoredPost, ClientError> {
        let found = self.read::<Post>(keys::post(id)).await?;
        found
            .into_iter()
            .find(|r| r.body.id == id)
            .map(|r| AuthoredPost {
                author: r.author,
                post: r.body,
            })
            .ok_or_else(|| ClientError::NotFound {
                what: "post",
                id: id.to_owned(),
            })
    }

    /// The full text of a post (fetching the blob of a long one).
    pub async fn full_text(&self, post: &Post) -> Result<String, ClientError> {
        match &post.body {
            PostBody::LongText { blob, .. } => {
                let bytes = self.fetch_blob(*blob).await?;
                Ok(String::from_utf8_lossy(&bytes).into_owned())
            }
            body => Ok(body.summary()),
        }
    }

    /// Comments on post `id`; the post must exist.
    pub async fn comment(&self, id: &str, text: &str) -> Result<Comment, ClientError> {
        check_len("comment", text, MAX_SHORT)?;
        if text.trim().is_empty() {
            return Err(ClientError::Invalid("empty comment".into()));
        }
        let post = self.post(id).await?;
        let comment = Comment {
            post_id: id.to_owned(),
            post_author: post.author.clone(),
            text: text.to_owned(),
            at: self.now_ms(),
        };
        let activity = keys::user_list(&post.author, "activity");
        self.seal(activity, &comment)?;
        self.write(keys::comments(id), &comment).await?;
        self.write(activity, &comment).await?;
        Ok(comment)
    }

    /// Comments on post `id`, oldest first, as (author, comment).
    pub async fn comments(&self, id: &str) -> Result<Vec<(String, Comment)>, ClientError> {
        let mut list: Vec<_> = self
            .read::<Comment>(keys::comments(id))
            .await?
            .into_iter()
            .filter(|r| r.body.post_id == id)
            .map(|r| (r.author, r.body))
            .collect();
        list.sort_by_key(|(_, c)| c.at);
        Ok(list)
    }

    /// Follows `user`: their posts appear in my feed.
    pub async fn follow(&self, user: &str) -> Result<(), ClientError> {
        let user = self.require_user(user).await?;
        let me = self.me()?.username.clone();
        self.write(keys::user_list(&me, "follows"), &Follow { user })
            .await
    }

    /// Whom `name` follows.
    pub async fn follows(&self, name: &str) -> Result<Vec<String>, ClientError> {
        let mut list: Vec<String> = self
            .read::<Follow>(keys::user_list(name, "follows"))
            .await?
            .into_iter()
            .filter(|r| r.author == name)
            .map(|r| r.body.user)
            .collect();
        list.sort();
        list.dedup();
        Ok(list)
    }
}

#[cfg(test)]
mod tests {
    use super::super::media::{prepare, test_png};
    use super::super::test_support::{network, user};
    use super::*;

    #[tokio::test]
    async fn text_link_and_image_posts_with_comments() {
        let net = network();
        let alice = user(&net, "alice").await;
        let bob = user(&net, "bob").await;
        let text = alice.post_text("Hello SCOPE").await.unwrap();
        let long = alice.post_text(&"word ".repeat(300)).await.unwrap();
        alice
            .post_link("https://example.org", "Example")
            .await
            .unwrap();
        let image = alice
            .post_image(prepare(test_png(64, 32)).unwrap(), "cat")
            .await
            .unwrap();
        let posts = bob.posts_of("alice").await.unwrap();
        assert_eq!(posts.len(), 4);
        assert_eq!(posts[0].id, image.id);
        assert_eq!(bob.full_text(&long).await.unwrap(), "word ".repeat(300));
        let PostBody::Image { image: img, .. } = &image.body else {
            panic!()
        };
        assert!(bob.fetch_blob(img.thumbnail).await.is_ok());
        bob.comment(&text.id, "Nice!").await.unwrap();
        let comments = alice.comments(&text.id).await.unwrap();
        assert_eq!(
            (comments[0].0.as_str(), comments[0].1.text.as_str()),
            ("bob", "Nice!")
        );
        assert!(matches!(
            bob.comment("feedbeef", "x").await,
            Err(ClientError::NotFound { .. })
        ));
        let hits = net.search(Index::Content, "hello").await.unwrap();
        assert_eq!(hits[0].target, text.id);
    }

    #[tokio::test]
    async fn bad_posts_write_nothing() {
        let net = network();
        let alice = user(&net, "alice").await;
        assert!(alice.post_text(&"x".repeat(MAX_TEXT + 1)).await.is_err());
        assert!(alice.post_link("ftp://x", "").await.is_err());
        assert!(alice.post_text("  ").await.is_err());
        assert!(alice.follow("nobody").await.is_err());
        assert!(alice.posts_of("alice").await.unwrap().is_empty());
    }
}
