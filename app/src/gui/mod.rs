//! The What's UP desktop app: every screen of the social network over [`crate::client`], and
//! the "Serve as super-node" toggle.
//!
//! Layout: [`app::WhatsUpApp`] owns the shared pieces ([`backend::Backend`], settings, the
//! thumbnail cache, the connection) and one struct per screen; each screen lives in its own
//! module under [`views`] and implements [`View`]. Screens keep plain state and draw it;
//! anything slow is a [`backend::Pending`] they poll, so the UI thread never waits.

pub mod adapter;
pub mod app;
pub mod backend;
pub mod connection;
pub mod notify;
pub mod settings;
pub mod theme;
pub mod thumbs;
pub mod views;
pub mod widgets;

pub use app::{Boot, WhatsUpApp};

/// Where a click asks the app to go next (screens never switch screens themselves).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Nav {
    /// A top-level screen.
    Screen(Screen),
    /// Someone's v-card.
    Profile(String),
    /// A post, with its comments and full image.
    Post(String),
    /// A community's page (by name or id).
    Community(String),
    /// The chat with a user.
    Chat(String),
}

/// The top-level screens, in the order of the side bar.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
pub enum Screen {
    /// The feed and composer.
    Content,
    /// Find people.
    People,
    /// Communities, their news, events and polls.
    Communities,
    /// One search box over everything.
    Search,
    /// Contacts and chats.
    Messages,
    /// Alerts as they arrive.
    Alerts,
    /// My v-card, or someone else's.
    Profile,
    /// The "Serve as super-node" toggle and the node's state.
    SuperNode,
    /// Data directory, theme, ports, notifications.
    Settings,
}

impl Screen {
    /// Every screen in side-bar order.
    pub const ALL: [Screen; 9] = [
        Screen::Content,
        Screen::People,
        Screen::Communities,
        Screen::Search,
        Screen::Messages,
        Screen::Alerts,
        Screen::Profile,
        Screen::SuperNode,
        Screen::Settings,
    ];

    /// The name shown in the side bar (also its accessible name).
    #[must_use]
    pub fn title(self) -> &'static str {
        match self {
            Screen::Content => "Feed",
            Screen::People => "People",
            Screen::Communities => "Communities",
            Screen::Search => "Search",
            Screen::Messages => "Messages",
            Screen::Alerts => "Alerts",
            Screen::Profile => "My card",
            Screen::SuperNode => "Super-node",
            Screen::Settings => "Settings",
        }
    }

    /// The side-bar icon (from the bundled icon font range of the default fonts).
    #[must_use]
    pub fn icon(self) -> &'static str {
        match self {
            Screen::Content => "⌂",
            Screen::People => "⚇",
            Screen::Communities => "❖",
            Screen::Search => "⚲",
            Screen::Messages => "✍",
            Screen::Alerts => "⚑",
            Screen::Profile => "☺",
            Screen::SuperNode => "⬢",
            Screen::Settings => "⚙",
        }
    }
}

/// What every screen may use while drawing: the backend, who I am, where to go next, the
/// thumbnail cache and the non-modal message line.
pub struct Cx<'a> {
    /// Runs requests off the UI thread.
    pub backend: &'a backend::Backend,
    /// My username.
    pub me: &'a str,
    /// Set by a click that leads elsewhere; the app applies it after the frame.
    pub nav: &'a mut Option<Nav>,
    /// Decoded thumbnails, shared by every screen.
    pub thumbs: &'a mut thumbs::Thumbs,
    /// The last message for the user (an error or a confirmation), shown non-modally.
    pub notice: &'a mut Option<widgets::Notice>,
}

impl Cx<'_> {
    /// Asks the app to go to `nav` after this frame.
    pub fn go(&mut self, nav: Nav) {
        *self.nav = Some(nav);
    }

    /// Shows an error in the message line (never a dialog).
    pub fn error(&mut self, text: impl Into<String>) {
        *self.notice = Some(widgets::Notice::error(text));
    }

    /// Shows a confirmation in the message line.
    pub fn info(&mut self, text: impl Into<String>) {
        *self.notice = Some(widgets::Notice::info(text));
    }
}

/// One screen: plain state that draws itself (as in egui's demo library).
pub trait View {
    /// Draws the screen into `ui`, polling its pending requests first.
    fn ui(&mut self, ui: &mut egui::Ui, cx: &mut Cx<'_>);
}

/// Starts the desktop app (the `whatsup` binary with no subcommand) and returns when the
/// window is closed.
pub fn run(home: Option<std::path::PathBuf>) -> anyhow::Result<()> {
    let icon = theme::app_icon();
    let mut viewport = egui::ViewportBuilder::default()
        .with_title("What's UP")
        .with_app_id("org.scope.whatsup")
        .with_inner_size([1100.0, 720.0])
        .with_min_inner_size([720.0, 480.0]);
    if let Some(icon) = icon {
        viewport = viewport.with_icon(icon);
    }
    let options = eframe::NativeOptions {
        viewport,
        ..Default::default()
    };
    eframe::run_native(
        "whatsup",
        options,
        Box::new(move |cc| Ok(Box::new(WhatsUpApp::from_creation(cc, home)?))),
    )
    .map_err(|e| anyhow::anyhow!("the window could not be opened: {e}"))
}
