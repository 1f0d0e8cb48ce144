//! The real app logic (the same `WhatsUpApp` the window runs, driven by label with kittest)
//! against a real 2-node overlay on 127.0.0.1: two super-nodes started from the library code
//! `scope-node` runs, talking over real UDP and serving XML-RPC over real HTTP.
//!
//! A new user creates a profile, posts, finds another user, joins a community, then turns the
//! "Serve as super-node" toggle on and off; the overlay's `/status` shows the third node
//! arrive and leave.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use std::sync::Arc;
use std::time::{Duration, Instant};

use scope_node::embedded::EmbeddedNode;
use support::ui::{self, block, click, type_into, wait_label};
use support::{Overlay, leaf_ids};
use whatsup::client::posts::PostBody;
use whatsup::client::profile::ProfileUpdate;
use whatsup::client::{Client, GatewayDht, Identity};
use whatsup::gui::backend::Backend;
use whatsup::gui::settings::Settings;
use whatsup::gui::{Boot, Screen, WhatsUpApp};

fn wait_for(what: &str, mut ok: impl FnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(30);
    while !ok() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(100));
    }
}

fn client_at(node: &EmbeddedNode, identity: Option<Identity>) -> Client {
    let url = format!("http://{}/RPC2", node.gateway_addr);
    Client::new(Arc::new(GatewayDht::new(vec![url]).unwrap()), identity)
}

#[test]
fn the_app_works_on_a_real_two_node_overlay_and_serves_from_the_toggle() {
    let overlay = Overlay::start("gui", 2);
    let app_home = std::env::temp_dir().join(format!("whatsup-gui-overlay-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&app_home);
    let (a, b) = (overlay.node(0).unwrap(), overlay.node(1).unwrap());
    let (id_a, id_b) = (a.node_id.to_string(), b.node_id.to_string());

    // Another attendee, on node B.
    let bob = client_at(b, Some(Identity::from_seed("bob", [0xb0; 32])));
    block(bob.claim_username()).unwrap();
    block(bob.set_profile(ProfileUpdate {
        full_name: Some("Bob Builder".into()),
        company: Some("Acme".into()),
        interests: Some(vec!["gossip".into()]),
        ..ProfileUpdate::default()
    }))
    .unwrap();
    block(bob.create_community("expo-hackers", "Hacking at the expo")).unwrap();

    // The app, a new user on node A: first run.
    let settings = Settings {
        overlay_port: 0,
        gateway_port: 0,
        sip_port: 0,
        data_dir: app_home.display().to_string(),
        ..Settings::default()
    };
    let app = WhatsUpApp::new(
        Backend::new().unwrap(),
        Boot::Fixed {
            client: Box::new(client_at(a, None)),
            home: Some(app_home.clone()),
        },
        settings,
    );
    let mut h = ui::harness(app);
    type_into(&mut h, "Username", "alice");
    click(&mut h, "Claim");
    wait_label(&mut h, "is yours");
    type_into(&mut h, "Full name", "Alice Liddell");
    type_into(&mut h, "Company", "Wonder Labs");
    click(&mut h, "Done");
    assert_eq!(h.state().me(), "alice");
    // Read back through the other node: the profile is in the overlay, not in the app.
    let seen = block(bob.profile("alice")).unwrap().expect("alice's card");
    assert_eq!(seen.full_name, "Alice Liddell");
    assert_eq!(seen.company, "Wonder Labs");

    // Post.
    wait_label(&mut h, "What's up?");
    type_into(&mut h, "What's up?", "Hello from the expo floor");
    click(&mut h, "Post");
    wait_label(&mut h, "Hello from the expo floor");
    let posts = block(bob.posts_of("alice")).unwrap();
    assert!(
        posts
            .iter()
            .any(|p| matches!(&p.body, PostBody::Text(t) if t == "Hello from the expo floor")),
        "bob sees alice's post through node B: {posts:?}"
    );

    // Find the other user.
    click(&mut h, "People");
    type_into(&mut h, "⚲ Find people", "gossip");
    wait_label(&mut h, "Bob Builder");

    // Join a community.
    click(&mut h, "Communities");
    wait_label(&mut h, "Join expo-hackers");
    click(&mut h, "Join expo-hackers");
    wait_label(&mut h, "Leave expo-hackers");
    let members = block(bob.community_info("expo-hackers")).unwrap().members;
    assert!(members.iter().any(|m| m == "alice"), "members: {members:?}");

    // Serve as a super-node: the app's node joins this overlay, and leaves it again.
    click(&mut h, "Super-node");
    click(&mut h, "Serve as super-node");
    wait_label(&mut h, "Node ID");
    assert!(h.state().settings().serve_super_node);
    wait_for("the app's node in A's leaf set", || {
        leaf_ids(a.gateway_addr).len() == 2
    });
    let third: Vec<String> = leaf_ids(a.gateway_addr)
        .into_iter()
        .filter(|id| *id != id_b)
        .collect();
    assert_eq!(third.len(), 1, "a third node besides B");
    assert!(leaf_ids(b.gateway_addr).contains(&third[0]));
    click(&mut h, "Serve as super-node");
    wait_label(&mut h, "Left the overlay");
    assert!(!h.state().settings().serve_super_node);
    wait_for("the app's node to leave A's and B's leaf sets", || {
        leaf_ids(a.gateway_addr) == vec![id_b.clone()]
            && leaf_ids(b.gateway_addr) == vec![id_a.clone()]
    });
    assert_eq!(h.state().screen(), Screen::SuperNode);
    drop(h);
    drop(overlay);
    let _ = std::fs::remove_dir_all(&app_home);
}
