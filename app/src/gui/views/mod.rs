//! One module per screen. [`Views`] holds them all and routes navigation to the right one.

pub mod alerts;
pub mod communities;
pub mod community;
pub mod content;
pub mod first_run;
pub mod messages;
pub mod people;
pub mod post;
pub mod profile;
pub mod search;
pub mod settings;
pub mod status_bar;
pub mod supernode;
pub mod top_bar;

use std::path::Path;

use super::backend::Backend;
use super::settings::Settings;
use super::{Cx, Nav, Screen, View as _};

/// Which sub-page of a screen is open (a post inside Content, a community inside
/// Communities, someone's card inside Profile).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
enum Detail {
    #[default]
    None,
    Post,
    Community,
}

/// Every screen's state.
pub struct Views {
    /// Feed and composer.
    pub content: content::ContentView,
    /// One post.
    pub post: post::PostView,
    /// People search.
    pub people: people::PeopleView,
    /// Community list.
    pub communities: communities::CommunitiesView,
    /// One community.
    pub community: community::CommunityView,
    /// Search everything.
    pub search: search::SearchView,
    /// Contacts and chats.
    pub messages: messages::MessagesView,
    /// Alerts.
    pub alerts: alerts::AlertsView,
    /// V-cards.
    pub profile: profile::ProfileView,
    /// Super-node toggle.
    pub supernode: supernode::SuperNodeView,
    /// Settings.
    pub settings: settings::SettingsView,
    detail: Detail,
}

impl Views {
    /// Fresh screens.
    #[must_use]
    pub fn new(settings: &Settings, home: Option<&Path>) -> Views {
        Views {
            content: content::ContentView::default(),
            post: post::PostView::default(),
            people: people::PeopleView::default(),
            communities: communities::CommunitiesView::default(),
            community: community::CommunityView::default(),
            search: search::SearchView::default(),
            messages: messages::MessagesView::default(),
            alerts: alerts::AlertsView::default(),
            profile: profile::ProfileView::default(),
            supernode: supernode::SuperNodeView::new(home),
            settings: settings::SettingsView::new(settings),
            detail: Detail::None,
        }
    }

    /// Draws `screen`.
    pub fn show(
        &mut self,
        screen: Screen,
        ui: &mut egui::Ui,
        cx: &mut Cx<'_>,
        settings: &mut Settings,
    ) {
        match (screen, self.detail) {
            (Screen::Content, Detail::Post) => self.post.ui(ui, cx),
            (Screen::Content, _) => self.content.ui(ui, cx),
            (Screen::People, _) => self.people.ui(ui, cx),
            (Screen::Communities, Detail::Community) => self.community.ui(ui, cx),
            (Screen::Communities, _) => self.communities.ui(ui, cx),
            (Screen::Search, _) => self.search.ui(ui, cx),
            (Screen::Messages, _) => self.messages.ui(ui, cx),
            (Screen::Alerts, _) => self.alerts.ui(ui, cx),
            (Screen::Profile, _) => self.profile.ui(ui, cx),
            (Screen::SuperNode, _) => self.supernode.show(ui, cx, settings),
            (Screen::Settings, _) => self.settings.show(ui, cx, settings),
        }
    }

    /// Opens what `nav` names and returns the screen that shows it.
    pub fn open(&mut self, nav: &Nav, backend: &Backend, me: &str) -> Screen {
        self.detail = Detail::None;
        match nav {
            Nav::Screen(screen) => {
                self.entered(*screen, backend, me);
                *screen
            }
            Nav::Profile(name) => {
                self.profile.open(backend, name, me);
                Screen::Profile
            }
            Nav::Post(id) => {
                self.post.open(backend, id);
                self.detail = Detail::Post;
                Screen::Content
            }
            Nav::Community(name) => {
                self.community.open(backend, name);
                self.detail = Detail::Community;
                Screen::Communities
            }
            Nav::Chat(name) => {
                self.messages.open_chat(backend, name);
                Screen::Messages
            }
        }
    }

    /// Loads what a screen needs when the user enters it.
    fn entered(&mut self, screen: Screen, backend: &Backend, me: &str) {
        match screen {
            Screen::Content => self.content.refresh(backend),
            Screen::Communities => self.communities.refresh(backend),
            Screen::Messages => self.messages.refresh(backend),
            Screen::Alerts => self.alerts.mark_read(),
            Screen::Profile => self.profile.open(backend, me, me),
            Screen::SuperNode => self.supernode.refresh(backend),
            Screen::People | Screen::Search | Screen::Settings => {}
        }
    }
}
