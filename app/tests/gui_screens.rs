//! Every screen of the desktop app, driven by label with egui_kittest against a real client
//! over an in-memory DHT (no mock: the same library code the app runs), with snapshot images
//! of the main screens under `tests/snapshots/` (`UPDATE_SNAPSHOTS=1` rewrites them).

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use std::sync::Arc;
use std::time::{Duration, Instant};

use egui_kittest::kittest::{NodeT as _, Queryable as _};
use support::ui::{self, App, block, click, settle, type_into};
use whatsup::client::media::prepare;
use whatsup::client::profile::ProfileUpdate;
use whatsup::client::{Client, Identity, MemoryDht};
use whatsup::gui::backend::Backend;
use whatsup::gui::settings::Settings;
use whatsup::gui::{Boot, Nav, Screen, WhatsUpApp};

/// A network of claimed users on one memory DHT.
struct Net {
    dht: Arc<MemoryDht>,
}

impl Net {
    fn new() -> Net {
        Net {
            dht: Arc::new(MemoryDht::new()),
        }
    }

    fn anonymous(&self) -> Client {
        Client::new(self.dht.clone(), None)
    }

    fn user(&self, name: &str) -> Client {
        let mut seed = [7u8; 32];
        seed[..name.len().min(32)].copy_from_slice(&name.as_bytes()[..name.len().min(32)]);
        let client = self.anonymous().as_user(Identity::from_seed(name, seed));
        block(client.claim_username()).unwrap();
        client
    }
}

fn profile(client: &Client, full: &str, company: &str, interests: &[&str]) {
    let update = ProfileUpdate {
        full_name: Some(full.into()),
        company: Some(company.into()),
        title: Some("Engineer".into()),
        interests: Some(interests.iter().map(|s| (*s).to_owned()).collect()),
        about: Some("Here for the talks on peer-to-peer systems.".into()),
        ..ProfileUpdate::default()
    };
    block(client.set_profile(update)).unwrap();
}

fn harness(client: Client) -> App {
    let backend = Backend::new().unwrap();
    let app = WhatsUpApp::new(
        backend,
        Boot::Fixed {
            client: Box::new(client),
            home: None,
        },
        Settings::default(),
    );
    ui::harness(app)
}

#[test]
fn first_run_claims_a_name_shows_taken_inline_and_saves_the_card() {
    let net = Net::new();
    net.user("alice");
    let mut h = harness(net.anonymous());
    h.get_by_label_contains("Pick the name");
    type_into(&mut h, "Username", "alice");
    click(&mut h, "Claim");
    h.get_by_label_contains("is taken");
    h.snapshot("first_run_taken");
    h.get_by_label("Username").focus();
    h.key_press_modifiers(egui::Modifiers::COMMAND, egui::Key::A);
    h.step();
    h.get_by_label("Username").type_text("bob");
    click(&mut h, "Claim");
    h.get_by_label_contains("is yours");
    type_into(&mut h, "Full name", "Bob Builder");
    type_into(&mut h, "Company", "Acme");
    click(&mut h, "Done");
    assert_eq!(h.state().me(), "bob");
    assert_eq!(h.state().screen(), Screen::Content);
    let card = block(net.anonymous().profile("bob")).unwrap().unwrap();
    assert_eq!(card.full_name, "Bob Builder");
}

/// The label of the widget that has keyboard focus.
fn focused(h: &App) -> String {
    h.root()
        .children_recursive()
        .find(|n| n.accesskit_node().is_focused())
        .and_then(|n| n.accesskit_node().label())
        .unwrap_or_default()
}

#[test]
fn keyboard_alone_gets_through_the_first_run() {
    let net = Net::new();
    let mut h = harness(net.anonymous());
    type_into(&mut h, "Username", "kim");
    h.key_press(egui::Key::Tab);
    h.step();
    assert_eq!(focused(&h), "Claim");
    h.key_press(egui::Key::Enter);
    settle(&mut h);
    h.get_by_label_contains("is yours");
    h.get_by_label("Full name").focus();
    h.step();
    h.get_by_label("Full name").type_text("Kim Keys");
    h.key_press(egui::Key::Tab);
    h.step();
    assert_eq!(focused(&h), "Company");
}

#[test]
fn feed_shows_followed_posts_composes_and_comments() {
    let net = Net::new();
    let alice = net.user("alice");
    let bob = net.user("bob");
    profile(&alice, "Alice Liddell", "Wonder Labs", &["rust", "dht"]);
    block(alice.post_text("Keynote in hall B at ten: DHTs without the internet")).unwrap();
    let png = whatsup_png(320, 200);
    block(alice.post_image(prepare(png).unwrap(), "The expo floor")).unwrap();
    block(bob.follow("alice")).unwrap();
    let mut h = harness(bob);
    h.get_by_label_contains("Keynote in hall B");
    h.get_by_label("Image thumbnail");
    h.get_by_label("Presence: online");
    h.snapshot("feed");
    type_into(&mut h, "What's up?", "Hello expo");
    click(&mut h, "Post");
    h.get_by_label("Hello expo");
    h.get_all_by_label("✍ Comments").next().unwrap().click();
    settle(&mut h);
    h.get_by_label("⬅ Back to feed");
    type_into(&mut h, "Your comment", "See you there");
    click(&mut h, "Send comment");
    h.get_by_label("See you there");
}

#[test]
fn people_search_as_you_type_and_open_a_card() {
    let net = Net::new();
    let alice = net.user("alice");
    profile(&alice, "Alice Liddell", "Wonder Labs", &["rust", "dht"]);
    let carol = net.user("carol");
    profile(&carol, "Carol Danvers", "Acme", &["gardening"]);
    let mut h = harness(net.user("bob"));
    h.state_mut().go(Nav::Screen(Screen::People));
    settle(&mut h);
    type_into(&mut h, "⚲ Find people", "rust");
    settle(&mut h);
    h.get_by_label("Alice Liddell");
    assert!(h.query_by_label("Carol Danvers").is_none());
    h.snapshot("people");
    click(&mut h, "Alice Liddell");
    assert_eq!(h.state().screen(), Screen::Profile);
    h.get_by_label("Engineer at Wonder Labs");
    click(&mut h, "Follow");
    h.get_by_label("You now follow alice");
}

#[test]
fn my_card_edits_with_interest_chips() {
    let net = Net::new();
    let mut h = harness(net.user("dora"));
    click(&mut h, "My card");
    click(&mut h, "Edit card");
    type_into(&mut h, "Full name", "Dora Explorer");
    type_into(&mut h, "Add interest", "maps");
    click(&mut h, "Add");
    h.get_by_label("Remove maps");
    click(&mut h, "Save card");
    h.get_by_label("Dora Explorer");
    h.get_by_label("maps");
    h.snapshot("profile");
    let card = block(net.anonymous().profile("dora")).unwrap().unwrap();
    assert_eq!(card.interests, vec!["maps".to_owned()]);
}

/// A file dropped on the window, as the windowing layer hands it over.
#[derive(Debug)]
struct DroppedPath(std::path::PathBuf);

impl egui::DroppedFile for DroppedPath {
    fn path(&self) -> &std::path::Path {
        &self.0
    }

    fn bytes(&self) -> Result<Vec<u8>, String> {
        std::fs::read(&self.0).map_err(|e| e.to_string())
    }
}

#[test]
fn a_photo_dropped_on_the_window_becomes_the_cropped_card_photo() {
    let net = Net::new();
    let mut h = harness(net.user("pia"));
    click(&mut h, "My card");
    click(&mut h, "Edit card");
    let path = std::env::temp_dir().join(format!("whatsup-drop-{}.png", std::process::id()));
    std::fs::write(&path, whatsup_png(400, 250)).unwrap();
    h.input_mut()
        .dropped_files
        .push(Arc::new(DroppedPath(path.clone())));
    settle(&mut h);
    click(&mut h, "Save card");
    let card = block(net.anonymous().profile("pia")).unwrap().unwrap();
    let photo = card.photo.expect("the dropped image is the photo");
    let thumb = block(net.anonymous().fetch_blob(photo.thumbnail)).unwrap();
    let thumb = image::load_from_memory(&thumb).unwrap();
    assert_eq!(thumb.width(), thumb.height(), "cropped square");
    let _ = std::fs::remove_file(path);
}

#[test]
fn communities_create_join_news_and_poll_with_bars() {
    let net = Net::new();
    let mut h = harness(net.user("erin"));
    click(&mut h, "Communities");
    click(&mut h, "Create a community");
    type_into(&mut h, "Name", "rustaceans");
    type_into(&mut h, "Description", "Rust at the expo");
    click(&mut h, "Create");
    click(&mut h, "rustaceans");
    type_into(&mut h, "Write news", "Meetup moved to room 4");
    click(&mut h, "Publish news");
    h.get_by_label_contains("Meetup moved to room 4");
    click(&mut h, "New poll");
    type_into(&mut h, "Question", "Best talk?");
    type_into(&mut h, "Options (comma-separated)", "DHT, SIP");
    click(&mut h, "Create poll");
    click(&mut h, "Vote DHT");
    h.get_by_label_contains("1 voter");
    h.snapshot("community");
    click(&mut h, "⬅ All communities");
    // The creator is a member; leaving turns the button into "Join". (Joining again after
    // leaving is not tested: the client library re-puts an identical membership record, which
    // the DHT's removal tombstone then hides — reported to the client library.)
    click(&mut h, "Leave rustaceans");
    h.get_by_label("Join rustaceans");
}

#[test]
fn search_groups_people_posts_and_communities() {
    let net = Net::new();
    let alice = net.user("alice");
    profile(&alice, "Alice Liddell", "Wonder Labs", &["overlay"]);
    block(alice.post_text("overlay routing explained")).unwrap();
    let mut h = harness(net.user("bob"));
    click(&mut h, "Search");
    type_into(&mut h, "⚲ Search everything", "overlay");
    settle(&mut h);
    h.get_by_label("People (1)");
    h.get_by_label("Posts and news (1)");
    h.get_by_label("Communities (0)");
}

#[test]
fn messages_show_unread_counts_and_chat() {
    let net = Net::new();
    let alice = net.user("alice");
    let bob = net.user("bob");
    block(alice.send_message("bob", "Coffee at the booth?")).unwrap();
    let mut h = harness(bob);
    click(&mut h, "Messages");
    h.get_by_label("alice (1)");
    click(&mut h, "alice (1)");
    h.get_by_label("Coffee at the booth?");
    type_into(&mut h, "Message", "On my way");
    click(&mut h, "Send");
    h.get_by_label("On my way");
    h.snapshot("messages");
    let inbox = block(alice.inbox()).unwrap();
    assert_eq!(inbox[0].text, "On my way");
}

#[test]
fn alerts_ring_the_bell_and_open_what_they_are_about() {
    let net = Net::new();
    let alice = net.user("alice");
    let mut h = harness(net.user("bob"));
    block(alice.send_message("bob", "ping")).unwrap();
    // The alerts task long-polls the memory DHT; wait for the bell.
    let deadline = Instant::now() + Duration::from_secs(10);
    while h.query_by_label("Alerts: 1 new").is_none() && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(20));
        h.step();
    }
    click(&mut h, "Alerts: 1 new");
    assert_eq!(h.state().screen(), Screen::Alerts);
    h.get_by_label_contains("alice").click();
    settle(&mut h);
    assert_eq!(h.state().screen(), Screen::Messages);
    h.get_by_label("ping");
}

#[test]
fn super_node_toggle_shows_the_verdict_and_starts_and_stops_the_node() {
    let net = Net::new();
    let home = std::env::temp_dir().join(format!("whatsup-toggle-{}", std::process::id()));
    let settings = Settings {
        overlay_port: 0,
        gateway_port: 0,
        sip_port: 0,
        ..Settings::default()
    };
    let app = WhatsUpApp::new(
        Backend::new().unwrap(),
        Boot::Fixed {
            client: Box::new(net.user("zed")),
            home: Some(home.clone()),
        },
        settings,
    );
    let mut h = ui::harness(app);
    click(&mut h, "Super-node");
    h.get_by_label_contains("CPU cores");
    click(&mut h, "Serve as super-node");
    h.get_by_label("Node ID");
    assert!(h.state().settings().serve_super_node);
    // No snapshot here: node ID, ports, traffic and free memory differ on every run.
    click(&mut h, "Serve as super-node");
    h.get_by_label_contains("Left the overlay");
    assert!(!h.state().settings().serve_super_node);
    // The node kept its key in the app's data directory.
    assert!(home.join("super-node").is_dir());
    let _ = std::fs::remove_dir_all(&home);
}

#[test]
fn settings_validate_ports_and_save() {
    let net = Net::new();
    let mut h = harness(net.user("fay"));
    click(&mut h, "Settings");
    click(&mut h, "Dark");
    type_into(&mut h, "SIP port", "x");
    click(&mut h, "Save settings");
    h.get_by_label_contains("must be a port number");
    h.get_by_label("SIP port").focus();
    h.key_press(egui::Key::Backspace);
    h.step();
    h.get_by_label("SIP port").type_text("");
    click(&mut h, "Save settings");
    assert_eq!(
        h.state().settings().theme,
        whatsup::gui::settings::ThemeChoice::Dark
    );
}

/// A small PNG with a gradient (the feed's image post).
fn whatsup_png(width: u32, height: u32) -> Vec<u8> {
    let image = image::RgbImage::from_fn(width, height, |x, y| {
        image::Rgb([(x * 255 / width) as u8, (y * 255 / height) as u8, 0x80])
    });
    let mut out = Vec::new();
    image
        .write_to(&mut std::io::Cursor::new(&mut out), image::ImageFormat::Png)
        .unwrap();
    out
}
