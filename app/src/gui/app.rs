//! The app: shared pieces, the phase (connecting, first run, ready), the frame around the
//! screens (top bar with presence and bell, side bar, status bar) and navigation.

use std::path::PathBuf;
use std::sync::mpsc::Receiver;

use crate::client::Client;

use super::backend::{Backend, Pending};
use super::connection::{self, Connected};
use super::settings::Settings;
use super::thumbs::Thumbs;
use super::views::{Views, first_run::FirstRun, status_bar::StatusBar, top_bar};
use super::widgets::{self, Notice};
use super::{Cx, Nav, Screen, View as _, theme};

/// How the app gets its client.
#[derive(Debug)]
pub enum Boot {
    /// Look for super-nodes (and maybe serve); the identity lives in `home`.
    Discover {
        /// The data directory.
        home: PathBuf,
    },
    /// A client given up front (tests, benchmarks): with an identity it opens on the feed,
    /// without one on the first-run screen.
    Fixed {
        /// The client (boxed: it is much larger than a path).
        client: Box<Client>,
        /// Where a new identity is saved (none in tests).
        home: Option<PathBuf>,
    },
}

/// A change of phase found while polling.
enum Step {
    Connected(Result<Connected, String>),
    Registered(Client),
}

/// Where the app is in its life.
enum Phase {
    /// Looking for super-nodes; the string says why it still waits.
    Connecting {
        pending: Pending<Connected>,
        waiting: Receiver<String>,
        why: String,
    },
    /// Picking a username and filling the profile.
    FirstRun(Box<FirstRun>),
    /// Every screen available.
    Ready,
}

/// The What's UP desktop app.
pub struct WhatsUpApp {
    backend: Backend,
    settings: Settings,
    home: Option<PathBuf>,
    phase: Phase,
    me: String,
    screen: Screen,
    nav: Option<Nav>,
    notice: Option<Notice>,
    thumbs: Thumbs,
    views: Views,
    status: StatusBar,
    themed: bool,
}

impl WhatsUpApp {
    /// The app as eframe creates it: settings from storage, fonts, then connecting.
    pub fn from_creation(
        cc: &eframe::CreationContext<'_>,
        home: Option<PathBuf>,
    ) -> Result<WhatsUpApp, Box<dyn std::error::Error + Send + Sync>> {
        let settings = Settings::load(cc.storage);
        let home = home
            .or_else(|| settings.home())
            .ok_or("no home directory: give --home DIR")?;
        let backend = Backend::new()?;
        backend.attach(&cc.egui_ctx);
        Ok(WhatsUpApp::new(backend, Boot::Discover { home }, settings))
    }

    /// The app on `backend`, booted as `boot`.
    #[must_use]
    pub fn new(backend: Backend, boot: Boot, settings: Settings) -> WhatsUpApp {
        let (phase, home, me) = match boot {
            Boot::Discover { home } => {
                let (tx, waiting) = std::sync::mpsc::channel();
                let pending = connection::connect(&backend, settings.clone(), home.clone(), tx);
                let why = "Looking for super-nodes on the local network…".to_owned();
                (
                    Phase::Connecting {
                        pending,
                        waiting,
                        why,
                    },
                    Some(home),
                    String::new(),
                )
            }
            Boot::Fixed { client, home } => {
                let client = *client;
                let me = client.me().map(|m| m.username.clone()).unwrap_or_default();
                let phase = if me.is_empty() {
                    Phase::FirstRun(Box::new(FirstRun::new(client.clone(), home.clone())))
                } else {
                    Phase::Ready
                };
                backend.set_client(client);
                (phase, home, me)
            }
        };
        let views = Views::new(&settings, home.as_deref());
        let mut app = WhatsUpApp {
            backend,
            settings,
            home,
            phase,
            me,
            screen: Screen::Content,
            nav: None,
            notice: None,
            thumbs: Thumbs::default(),
            views,
            status: StatusBar::default(),
            themed: false,
        };
        if matches!(app.phase, Phase::Ready) {
            app.on_ready();
        }
        app
    }

    /// The backend (tests wait on it).
    #[must_use]
    pub fn backend(&self) -> &Backend {
        &self.backend
    }

    /// The screen shown.
    #[must_use]
    pub fn screen(&self) -> Screen {
        self.screen
    }

    /// My username ("" before first run is done).
    #[must_use]
    pub fn me(&self) -> &str {
        &self.me
    }

    /// The settings in use.
    #[must_use]
    pub fn settings(&self) -> &Settings {
        &self.settings
    }

    /// The screens' state (tests and benchmarks read and seed it).
    pub fn views_mut(&mut self) -> &mut Views {
        &mut self.views
    }

    /// The thumbnail cache (the memory benchmark counts its textures).
    #[must_use]
    pub fn thumbs(&self) -> &Thumbs {
        &self.thumbs
    }

    /// Goes somewhere, as a click would.
    pub fn go(&mut self, nav: Nav) {
        self.nav = Some(nav);
        self.apply_nav();
    }

    /// Draws one frame into `ui` (the whole window).
    pub fn draw(&mut self, ui: &mut egui::Ui) {
        self.backend.attach(ui.ctx());
        if !self.themed {
            theme::install(ui.ctx());
            self.settings.apply_theme(ui.ctx());
            self.themed = true;
        }
        self.thumbs.begin_frame();
        if ui.input_mut(|i| i.consume_key(egui::Modifiers::COMMAND, egui::Key::Q)) {
            ui.ctx().send_viewport_cmd(egui::ViewportCommand::Close);
        }
        self.advance_phase();
        match &mut self.phase {
            Phase::Connecting { why, .. } => connecting_ui(ui, why),
            Phase::FirstRun(first) => {
                let mut cx = Cx {
                    backend: &self.backend,
                    me: &self.me,
                    nav: &mut self.nav,
                    thumbs: &mut self.thumbs,
                    notice: &mut self.notice,
                };
                egui::CentralPanel::default().show(ui, |ui| first.ui(ui, &mut cx));
            }
            Phase::Ready => self.ready_ui(ui),
        }
        self.apply_nav();
    }

    /// Moves from connecting to first run or ready, and from first run to ready.
    fn advance_phase(&mut self) {
        let step = match &mut self.phase {
            Phase::Connecting {
                pending,
                waiting,
                why,
            } => {
                while let Ok(reason) = waiting.try_recv() {
                    *why = reason;
                }
                pending.poll().map(Step::Connected)
            }
            Phase::FirstRun(first) => first.finished().map(Step::Registered),
            Phase::Ready => None,
        };
        match step {
            None => return,
            Some(Step::Connected(result)) => self.phase = self.connected(result),
            Some(Step::Registered(client)) => {
                self.me = client.me().map(|m| m.username.clone()).unwrap_or_default();
                self.backend.set_client(client);
                self.phase = Phase::Ready;
            }
        }
        if matches!(self.phase, Phase::Ready) {
            self.on_ready();
        }
    }

    fn connected(&mut self, result: Result<Connected, String>) -> Phase {
        let connected = match result {
            Ok(c) => c,
            Err(e) => {
                // Nothing to fall back on that would keep the user's data: say why and look
                // again. (Only a discovering app connects, so it has a home.)
                self.notice = Some(Notice::error(e.clone()));
                let home = self.home.clone().unwrap_or_default();
                let (tx, waiting) = std::sync::mpsc::channel();
                let pending = connection::connect(&self.backend, self.settings.clone(), home, tx);
                return Phase::Connecting {
                    pending,
                    waiting,
                    why: format!("{e}. Looking again…"),
                };
            }
        };
        self.notice = Some(Notice::info(connected.note.clone()));
        self.status.set_link(
            connected.dht.clone(),
            connected.gateway.clone(),
            connected.known,
        );
        if let Some(node) = connected.node {
            self.views.supernode.adopt(node, &mut self.settings);
        }
        let identity = self
            .home
            .as_deref()
            .and_then(|h| crate::client::Identity::load(h).ok());
        let client = Client::new(connected.dht, identity);
        if let Ok(me) = client.me() {
            self.me = me.username.clone();
            self.backend.set_client(client);
            Phase::Ready
        } else {
            self.backend.set_client(client.clone());
            Phase::FirstRun(Box::new(FirstRun::new(client, self.home.clone())))
        }
    }

    /// Starts what runs while the app is open: alerts, presence, the first feed load.
    fn on_ready(&mut self) {
        self.views
            .alerts
            .start(&self.backend, &self.settings.alerts_cursor);
        top_bar::announce_online(&self.backend);
        self.views.content.refresh(&self.backend);
    }

    fn ready_ui(&mut self, ui: &mut egui::Ui) {
        self.views.alerts.poll(&self.settings, ui.ctx());
        if self.views.alerts.take_message_hint() {
            self.views.messages.refresh(&self.backend);
        }
        let mut cx = Cx {
            backend: &self.backend,
            me: &self.me,
            nav: &mut self.nav,
            thumbs: &mut self.thumbs,
            notice: &mut self.notice,
        };
        top_bar::show(ui, &mut self.views, &mut cx);
        self.status
            .show(ui, &mut cx, self.views.supernode.serving());
        side_bar(ui, self.screen, &self.views, &mut cx);
        egui::CentralPanel::default().show(ui, |ui| {
            self.views
                .show(self.screen, ui, &mut cx, &mut self.settings);
        });
    }

    /// Applies a navigation request made during the frame.
    fn apply_nav(&mut self) {
        let Some(nav) = self.nav.take() else {
            return;
        };
        self.screen = self.views.open(&nav, &self.backend, &self.me);
        self.notice = None;
    }
}

fn connecting_ui(ui: &mut egui::Ui, why: &str) {
    egui::CentralPanel::default().show(ui, |ui| {
        ui.vertical_centered(|ui| {
            ui.add_space(ui.available_height() / 3.0);
            ui.label(theme::heading("What's UP"));
            ui.add_space(12.0);
            widgets::working(ui, why);
        });
    });
}

/// The screens, with unread counts on Messages and Alerts.
fn side_bar(ui: &mut egui::Ui, current: Screen, views: &Views, cx: &mut Cx<'_>) {
    egui::Panel::left("screens")
        .resizable(false)
        .exact_size(180.0)
        .show(ui, |ui| {
            ui.add_space(8.0);
            for screen in Screen::ALL {
                let count = match screen {
                    Screen::Messages => views.messages.unread(),
                    Screen::Alerts => views.alerts.unread(),
                    _ => 0,
                };
                let text = if count > 0 {
                    format!("{}  {} ({count})", screen.icon(), screen.title())
                } else {
                    format!("{}  {}", screen.icon(), screen.title())
                };
                let button = egui::Button::selectable(current == screen, text)
                    .min_size(egui::vec2(ui.available_width(), 30.0));
                let response = ui.add(button);
                let name = screen.title();
                response.widget_info(move || {
                    egui::WidgetInfo::selected(egui::Role::Button, true, current == screen, name)
                });
                if response.clicked() {
                    cx.go(Nav::Screen(screen));
                }
            }
        });
}

impl eframe::App for WhatsUpApp {
    fn ui(&mut self, ui: &mut egui::Ui, _frame: &mut eframe::Frame) {
        self.draw(ui);
    }

    fn save(&mut self, storage: &mut dyn eframe::Storage) {
        self.settings.alerts_cursor = self.views.alerts.cursor();
        self.settings.save(storage);
    }

    fn on_exit(&mut self) {
        self.views.alerts.stop();
        self.views.supernode.shutdown();
    }
}
