//! Issue 6's end-to-end scenario: three What's UP users drive the real `whatsup` binary against
//! an overlay of five `scope-node` daemons on 127.0.0.1, each user through a different
//! super-node (and a second one as fallback). Everything the issue lists is exercised through
//! the command line with `--json`, and every answer is checked for its content. Forgeries put
//! through raw XML-RPC are ignored, a super-node is killed mid-scenario and the users carry on,
//! and bad input gives one clear message and a non-zero exit.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::too_many_lines)]

use std::collections::BTreeSet;
use std::io::{BufRead as _, BufReader};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use scope_tests::rpc::Rpc;
use scope_tests::{Daemon, poll_until, start_overlay, whatsup_binary};
use serde_json::Value;
use whatsup::client::keys;
use whatsup::client::polls::Vote;
use whatsup::client::profile::Profile;
use whatsup::client::records;
use whatsup::client::search::{Index, IndexEntry};

/// How long one `whatsup` command may take on a loaded machine (each call has a 10 s timeout
/// and fails over to the next gateway).
const COMMAND_TIMEOUT: Duration = Duration::from_secs(90);

/// One user: a home directory and the gateways their commands use.
struct User {
    home: PathBuf,
    gateway: String,
}

impl User {
    fn new(root: &Path, name: &str, gateways: &[&Daemon]) -> User {
        let gateway = gateways
            .iter()
            .map(|d| d.rpc_url())
            .collect::<Vec<_>>()
            .join(",");
        User {
            home: root.join(name),
            gateway,
        }
    }

    /// Runs `whatsup --home H --gateway G --json args…`.
    fn run(&self, args: &[&str]) -> Output {
        run_whatsup(&self.home, &self.gateway, args)
    }

    /// Runs a command that must succeed; its JSON output.
    fn ok(&self, args: &[&str]) -> Value {
        let out = self.run(args);
        let stdout = String::from_utf8_lossy(&out.stdout);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(
            out.status.success(),
            "whatsup {args:?} failed ({}):\nstdout: {stdout}\nstderr: {stderr}",
            out.status
        );
        serde_json::from_str(&stdout)
            .unwrap_or_else(|e| panic!("whatsup {args:?}: not JSON ({e}): {stdout}"))
    }

    /// Runs a command that must fail with one line on stderr containing `expected`.
    fn fails(&self, args: &[&str], expected: &str) -> String {
        fails_with(self.run(args), args, expected)
    }
}

fn run_whatsup(home: &Path, gateway: &str, args: &[&str]) -> Output {
    let mut child = Command::new(whatsup_binary())
        .arg("--home")
        .arg(home)
        .arg("--gateway")
        .arg(gateway)
        .arg("--json")
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start whatsup");
    // Read both pipes on threads so a chatty child never blocks, and enforce the timeout.
    let mut stdout = child.stdout.take().unwrap();
    let mut stderr = child.stderr.take().unwrap();
    let out = std::thread::spawn(move || {
        let mut buf = Vec::new();
        std::io::Read::read_to_end(&mut stdout, &mut buf).ok();
        buf
    });
    let err = std::thread::spawn(move || {
        let mut buf = Vec::new();
        std::io::Read::read_to_end(&mut stderr, &mut buf).ok();
        buf
    });
    let status = scope_tests::wait_timeout(&mut child, COMMAND_TIMEOUT);
    let Some(status) = status else {
        let _ = child.kill();
        let _ = child.wait();
        panic!("whatsup {args:?} did not finish within {COMMAND_TIMEOUT:?}");
    };
    Output {
        status,
        stdout: out.join().unwrap(),
        stderr: err.join().unwrap(),
    }
}

fn fails_with(out: Output, args: &[&str], expected: &str) -> String {
    let stderr = String::from_utf8_lossy(&out.stderr).trim().to_owned();
    assert!(
        !out.status.success(),
        "whatsup {args:?} succeeded: {}",
        String::from_utf8_lossy(&out.stdout)
    );
    assert_eq!(
        stderr.lines().count(),
        1,
        "whatsup {args:?}: want one line, got {stderr:?}"
    );
    assert!(
        stderr.starts_with("whatsup: ") && stderr.contains(expected),
        "whatsup {args:?}: want {expected:?} in {stderr:?}"
    );
    let json: Value = serde_json::from_slice(&out.stdout).expect("error as JSON");
    assert!(json["error"].as_str().unwrap().contains(expected));
    stderr
}

fn now_ms() -> u64 {
    u64::try_from(
        SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap()
            .as_millis(),
    )
    .unwrap()
}

/// A PNG of `w`×`h` pixels with a gradient.
fn png(w: u32, h: u32) -> Vec<u8> {
    let img = image::RgbImage::from_fn(w, h, |x, y| {
        image::Rgb([(x * 7) as u8, (y * 5) as u8, ((x + y) * 3) as u8])
    });
    let mut out = Vec::new();
    image::DynamicImage::ImageRgb8(img)
        .write_to(&mut std::io::Cursor::new(&mut out), image::ImageFormat::Png)
        .unwrap();
    out
}

fn strs(value: &Value) -> Vec<String> {
    value
        .as_array()
        .unwrap_or_else(|| panic!("not an array: {value}"))
        .iter()
        .map(|v| v.as_str().unwrap().to_owned())
        .collect()
}

/// The `target`s of a list of search hits, sorted.
fn targets(hits: &Value) -> Vec<String> {
    let mut list: Vec<String> = hits
        .as_array()
        .unwrap_or_else(|| panic!("not a list of hits: {hits}"))
        .iter()
        .map(|h| h["target"].as_str().unwrap().to_owned())
        .collect();
    list.sort();
    list
}

/// A post's text as `--json` prints its body (`{"Text": …}`, `{"Link": …}`, …).
fn post_kind(post: &Value) -> &str {
    let body = post["body"].as_object().unwrap();
    body.keys().next().unwrap()
}

#[test]
fn three_users_use_every_feature_over_five_super_nodes() {
    let started = Instant::now();
    let nodes = start_overlay(5, &[]);
    let mut nodes: Vec<Option<Daemon>> = nodes.into_iter().map(Some).collect();
    let node =
        |nodes: &[Option<Daemon>], i: usize| -> SocketAddr { nodes[i].as_ref().unwrap().gateway };
    let root = tempfile::tempdir().unwrap();
    let files = root.path().join("files");
    std::fs::create_dir_all(&files).unwrap();
    let by =
        |i: &[usize]| -> Vec<&Daemon> { i.iter().map(|&i| nodes[i].as_ref().unwrap()).collect() };
    // Each user prefers a different super-node and knows a second one. Node 1 is killed later:
    // it is bob's preferred gateway and alice's fallback.
    let alice = User::new(root.path(), "alice", &by(&[0, 1]));
    let bob = User::new(root.path(), "bob", &by(&[1, 2]));
    let carol = User::new(root.path(), "carol", &by(&[2, 3]));
    let mallory = User::new(root.path(), "mallory", &by(&[3]));
    let rpc = Rpc::new();
    let raw = node(&nodes, 4);

    eprintln!("{:6.1} s  Identity", started.elapsed().as_secs_f64());
    // --- Identity: init, and a second claim of a taken name fails.
    for (user, name) in [(&alice, "alice"), (&bob, "bob"), (&carol, "carol")] {
        let me = user.ok(&["init", name]);
        assert_eq!(me["username"], name);
        assert_eq!(me["key"].as_str().unwrap().len(), 64);
        assert!(user.home.join("identity.json").exists());
    }
    assert_eq!(
        alice.ok(&["init", "alice"])["username"],
        "alice",
        "re-init is harmless"
    );
    mallory.fails(&["init", "alice"], "username taken: alice");
    assert!(!mallory.home.join("identity.json").exists());

    eprintln!(
        "{:6.1} s  Profiles, with a photo",
        started.elapsed().as_secs_f64()
    );
    // --- Profiles, with a photo.
    let photo = files.join("alice.png");
    std::fs::write(&photo, png(320, 200)).unwrap();
    let profile = alice.ok(&[
        "profile",
        "set",
        "--name",
        "Alice Liddell",
        "--company",
        "Acme Corp",
        "--title",
        "Engineer",
        "--interests",
        "Rust,P2P networks",
        "--email",
        "alice@example.org",
        "--phone",
        "+33 1 23 45 67 89",
        "--about",
        "Builds overlays",
        "--photo",
        photo.to_str().unwrap(),
    ]);
    assert_eq!(profile["full_name"], "Alice Liddell");
    assert_eq!(
        (
            profile["photo"]["width"].as_u64(),
            profile["photo"]["height"].as_u64()
        ),
        (Some(320), Some(200))
    );
    bob.ok(&[
        "profile",
        "set",
        "--name",
        "Bob Martin",
        "--company",
        "Initech",
        "--interests",
        "rust,sip",
    ]);
    carol.ok(&[
        "profile",
        "set",
        "--name",
        "Carol Danvers",
        "--company",
        "Acme Corp",
        "--interests",
        "photography,RUST",
    ]);
    let shown = bob.ok(&["profile", "show", "alice"]);
    assert_eq!(shown["company"], "Acme Corp");
    assert_eq!(shown["title"], "Engineer");
    assert_eq!(strs(&shown["interests"]), ["Rust", "P2P networks"]);
    assert_eq!(shown["email"], "alice@example.org");
    assert_eq!(shown["photo"]["width"], 320);
    assert_eq!(carol.ok(&["profile", "show"])["full_name"], "Carol Danvers");

    eprintln!("{:6.1} s  Finding people", started.elapsed().as_secs_f64());
    // --- Finding people.
    assert_eq!(
        targets(&carol.ok(&["people", "--interest", "rust"])),
        ["alice", "bob", "carol"]
    );
    assert_eq!(
        targets(&alice.ok(&["people", "--interest", "SIP"])),
        ["bob"]
    );
    assert_eq!(
        targets(&bob.ok(&["people", "--company", "acme"])),
        ["alice", "carol"]
    );
    let by_name = bob.ok(&["people", "--name", "liddell"]);
    assert_eq!(targets(&by_name), ["alice"]);
    assert_eq!(by_name[0]["label"], "Alice Liddell");
    assert!(
        bob.ok(&["people", "--interest", "cobol"])
            .as_array()
            .unwrap()
            .is_empty()
    );

    eprintln!("{:6.1} s  Posts", started.elapsed().as_secs_f64());
    // --- Posts: text, link, image; a user's posts newest first.
    let text = alice.ok(&["post", "text", "Hello SCOPE from the keynote hall"]);
    let text_id = text["id"].as_str().unwrap().to_owned();
    let link = alice.ok(&[
        "post",
        "link",
        "https://example.org/scope",
        "--title",
        "The SCOPE paper",
    ]);
    let picture = files.join("venue.png");
    std::fs::write(&picture, png(640, 480)).unwrap();
    let image = alice.ok(&[
        "post",
        "image",
        picture.to_str().unwrap(),
        "--caption",
        "The venue",
    ]);
    assert_eq!(image["body"]["Image"]["image"]["width"], 640);
    let posts = carol.ok(&["posts", "alice"]);
    let posts = posts.as_array().unwrap();
    assert_eq!(posts.len(), 3);
    assert_eq!(
        posts.iter().map(post_kind).collect::<Vec<_>>(),
        ["Image", "Link", "Text"]
    );
    assert_eq!(posts[0]["id"], image["id"]);
    assert_eq!(posts[1]["body"]["Link"]["url"], "https://example.org/scope");
    assert_eq!(posts[1]["body"]["Link"]["title"], "The SCOPE paper");
    assert_eq!(
        posts[2]["body"]["Text"],
        "Hello SCOPE from the keynote hall"
    );
    assert_eq!(posts[1]["id"], link["id"]);

    eprintln!(
        "{:6.1} s  Comments and follows",
        started.elapsed().as_secs_f64()
    );
    // --- Comments and follows.
    let comment = bob.ok(&["comment", &text_id, "Great talk, Alice!"]);
    assert_eq!(comment["post_author"], "alice");
    carol.ok(&["comment", &text_id, "Slides please"]);
    let comments = alice.ok(&["comments", &text_id]);
    let comments: Vec<(String, String)> = comments
        .as_array()
        .unwrap()
        .iter()
        .map(|c| {
            (
                c["author"].as_str().unwrap().into(),
                c["text"].as_str().unwrap().into(),
            )
        })
        .collect();
    assert_eq!(
        comments,
        [
            ("bob".into(), "Great talk, Alice!".into()),
            ("carol".into(), "Slides please".into())
        ]
    );
    assert_eq!(bob.ok(&["follow", "alice"])["following"], "alice");
    carol.ok(&["follow", "alice"]);

    eprintln!("{:6.1} s  Communities", started.elapsed().as_secs_f64());
    // --- Communities: create, join, leave, re-join, list, show.
    let created = alice.ok(&[
        "community",
        "create",
        "Rust Devs",
        "--description",
        "All about Rust",
    ]);
    assert_eq!(created["id"], "rust-devs");
    alice.fails(
        &["community", "create", "rust devs"],
        "community already exists",
    );
    bob.ok(&["community", "join", "Rust Devs"]);
    carol.ok(&["community", "join", "rust-devs"]);
    carol.ok(&["community", "leave", "rust-devs"]);
    let info = alice.ok(&["community", "show", "rust-devs"]);
    assert_eq!(strs(&info["members"]), ["alice", "bob"]);
    assert_eq!(
        carol.ok(&["community", "join", "rust-devs"])["id"],
        "rust-devs",
        "re-join after leave"
    );
    let info = bob.ok(&["community", "show", "Rust Devs"]);
    assert_eq!(info["creator"], "alice");
    assert_eq!(info["community"]["description"], "All about Rust");
    assert_eq!(strs(&info["members"]), ["alice", "bob", "carol"]);
    carol.ok(&[
        "community",
        "create",
        "Photo Walk",
        "--description",
        "Cameras at dawn",
    ]);
    let list = bob.ok(&["community", "list"]);
    let ids: Vec<&str> = list
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["id"].as_str().unwrap())
        .collect();
    assert_eq!(ids, ["photo-walk", "rust-devs"]);

    eprintln!(
        "{:6.1} s  News, events, polls",
        started.elapsed().as_secs_f64()
    );
    // --- News, events, polls.
    bob.fails(
        &["news", "post", "photo-walk", "hi"],
        "not a member of photo-walk",
    );
    let news = bob.ok(&["news", "post", "rust-devs", "Meetup tonight in hall C"]);
    assert_eq!(news["community"], "rust-devs");
    let news_list = carol.ok(&["news", "list", "rust-devs"]);
    assert_eq!(news_list[0]["author"], "bob");
    assert_eq!(news_list[0]["news"]["text"], "Meetup tonight in hall C");
    let start = time_in(2 * 3600);
    let event = alice.ok(&[
        "event",
        "create",
        "rust-devs",
        "--title",
        "Rust Workshop",
        "--at",
        &start,
        "--place",
        "Room 101",
    ]);
    let event_id = event["id"].as_str().unwrap().to_owned();
    assert_eq!(
        bob.ok(&["event", "subscribe", &event_id])["title"],
        "Rust Workshop"
    );
    let events = carol.ok(&["event", "list", "rust-devs"]);
    assert_eq!(events[0]["event"]["id"], event_id.as_str());
    assert_eq!(events[0]["event"]["place"], "Room 101");
    assert!(
        events[0]["starts_in"]
            .as_str()
            .unwrap()
            .starts_with("starts in 1h 5")
            || events[0]["starts_in"]
                .as_str()
                .unwrap()
                .starts_with("starts in 2h")
    );
    let poll = alice.ok(&[
        "poll",
        "create",
        "rust-devs",
        "Lunch?",
        "--option",
        "Pizza",
        "--option",
        "Sushi",
    ]);
    let poll_id = poll["id"].as_str().unwrap().to_owned();
    bob.ok(&["poll", "vote", &poll_id, "Pizza"]);
    bob.ok(&["poll", "vote", &poll_id, "pizza"]); // a double vote counts once
    carol.ok(&["poll", "vote", &poll_id, "Pizza"]);
    carol.ok(&["poll", "vote", &poll_id, "Sushi"]); // a changed vote replaces the first
    alice.ok(&["poll", "vote", &poll_id, "2"]);
    let counts = |results: &Value| -> Vec<(String, u64)> {
        results["counts"]
            .as_array()
            .unwrap()
            .iter()
            .map(|c| (c[0].as_str().unwrap().to_owned(), c[1].as_u64().unwrap()))
            .collect()
    };
    let results = bob.ok(&["poll", "results", &poll_id]);
    assert_eq!(counts(&results), [("Pizza".into(), 1), ("Sushi".into(), 2)]);
    assert_eq!(results["voters"], 3);
    bob.fails(&["poll", "vote", &poll_id, "Tacos"], "no option \"Tacos\"");

    eprintln!(
        "{:6.1} s  Forgeries through raw XML-RPC are ignored",
        started.elapsed().as_secs_f64()
    );
    // --- Forgeries through raw XML-RPC are ignored.
    let mallory_id = forger(66);
    let mallory_key = mallory_id.signing_key();
    let profile_key = keys::user_list("alice", "profile");
    let forged = Profile {
        username: "alice".into(),
        full_name: "Alice Liddell".into(),
        company: "Evil Corp".into(),
        at: u64::MAX,
        ..Profile::default()
    };
    let forged = records::seal(mallory_key, "alice", &profile_key, &forged).unwrap();
    assert_eq!(rpc.put(raw, &profile_key, &forged, 3600).unwrap(), 0);
    let entry = IndexEntry {
        index: Index::Company,
        word: "evil".into(),
        target: "alice".into(),
        label: "Alice".into(),
        version: u64::MAX,
    };
    let entry_key = keys::keyword("company", "evil");
    let sealed = records::seal(mallory_key, "alice", &entry_key, &entry).unwrap();
    assert_eq!(rpc.put(raw, &entry_key, &sealed, 3600).unwrap(), 0);
    let votes_key = keys::poll(&poll_id, Some("votes"));
    for name in ["bob", "mallory"] {
        let vote = Vote {
            poll: poll_id.clone(),
            option: 0,
            at: u64::MAX,
        };
        let sealed = records::seal(mallory_key, name, &votes_key, &vote).unwrap();
        assert_eq!(rpc.put(raw, &votes_key, &sealed, 3600).unwrap(), 0);
    }
    assert_eq!(rpc.put(raw, &votes_key, b"not a record", 3600).unwrap(), 0);
    // The forgeries are stored: the readers are the ones ignoring them.
    assert!(rpc.get(raw, &profile_key).unwrap().contains(&forged));
    assert_eq!(
        carol.ok(&["profile", "show", "alice"])["company"],
        "Acme Corp"
    );
    assert!(
        carol
            .ok(&["people", "--company", "evil"])
            .as_array()
            .unwrap()
            .is_empty()
    );
    let results = carol.ok(&["poll", "results", &poll_id]);
    assert_eq!(counts(&results), [("Pizza".into(), 1), ("Sushi".into(), 2)]);
    assert_eq!(results["voters"], 3);

    eprintln!("{:6.1} s  Feed", started.elapsed().as_secs_f64());
    // --- Feed: news, the event and the posts of followed alice, newest first.
    let feed = bob.ok(&["feed"]);
    let feed = feed.as_array().unwrap();
    let kinds: Vec<(&str, &str)> = feed
        .iter()
        .map(|i| (i["type"].as_str().unwrap(), i["author"].as_str().unwrap()))
        .collect();
    assert_eq!(
        kinds,
        [
            ("event", "alice"),
            ("news", "bob"),
            ("post", "alice"),
            ("post", "alice"),
            ("post", "alice")
        ]
    );
    assert!(
        feed.windows(2)
            .all(|w| w[0]["at"].as_u64() >= w[1]["at"].as_u64())
    );
    assert_eq!(feed[0]["event"]["title"], "Rust Workshop");
    assert_eq!(feed[1]["news"]["text"], "Meetup tonight in hall C");
    assert_eq!(feed[2]["post"]["id"], image["id"]);
    assert_eq!(feed[4]["post"]["id"], text_id.as_str());
    // Carol follows alice but, having re-joined, sees the same community items.
    assert_eq!(carol.ok(&["feed"]).as_array().unwrap().len(), 5);
    assert!(
        carol
            .ok(&["feed", "--page", "2"])
            .as_array()
            .unwrap()
            .is_empty()
    );

    eprintln!("{:6.1} s  Search", started.elapsed().as_secs_f64());
    // --- Search.
    assert_eq!(
        targets(&carol.ok(&["search", "people", "acme engineer"])),
        ["alice"]
    );
    assert_eq!(
        targets(&carol.ok(&["search", "content", "KEYNOTE hall"])),
        [text_id.as_str()]
    );
    assert_eq!(
        targets(&alice.ok(&["search", "content", "meetup"])),
        ["rust-devs"]
    );
    assert_eq!(
        targets(&alice.ok(&["search", "content", "workshop"])),
        [event_id.as_str()]
    );
    assert_eq!(
        targets(&bob.ok(&["search", "communities", "cameras"])),
        ["photo-walk"]
    );
    assert_eq!(
        targets(&bob.ok(&["search", "communities", "rust"])),
        ["rust-devs"]
    );
    eprintln!(
        "{:6.1} s  Messages (end-to-end encrypted) and presence",
        started.elapsed().as_secs_f64()
    );
    // --- Messages (end-to-end encrypted) and presence.
    assert_eq!(
        bob.ok(&["message", "carol", "secret plans at 5"])["sent"],
        true
    );
    alice.ok(&["message", "carol", "lunch?"]);
    let inbox = carol.ok(&["inbox"]);
    let inbox: Vec<(String, String)> = inbox
        .as_array()
        .unwrap()
        .iter()
        .map(|m| {
            (
                m["from"].as_str().unwrap().into(),
                m["text"].as_str().unwrap().into(),
            )
        })
        .collect();
    assert_eq!(
        inbox,
        [
            ("bob".into(), "secret plans at 5".into()),
            ("alice".into(), "lunch?".into())
        ]
    );
    let stored = rpc.get(raw, &keys::user_list("carol", "inbox")).unwrap();
    assert_eq!(stored.len(), 2, "both messages are in the DHT");
    for value in &stored {
        assert!(
            !contains(value, b"secret") && !contains(value, b"plans") && !contains(value, b"lunch")
        );
    }
    assert!(
        bob.ok(&["inbox"]).as_array().unwrap().is_empty(),
        "bob cannot read carol's mail"
    );
    assert_eq!(alice.ok(&["presence", "carol"])["state"], "offline");
    carol.ok(&["presence", "set", "online"]);
    let set = carol.ok(&["presence", "set", "busy", "--note", "in a talk"]);
    assert_eq!(set["state"], "busy");
    let presence = alice.ok(&["presence", "carol"]);
    assert_eq!(
        (presence["state"].as_str(), presence["note"].as_str()),
        (Some("busy"), Some("in a talk"))
    );

    eprintln!("{:6.1} s  Alerts", started.elapsed().as_secs_f64());
    // --- Alerts: `alerts --follow` prints a news item and a message posted meanwhile. A first
    // `alerts` call saves a cursor in bob's home, so the follower misses nothing posted after
    // it, however long it takes to start.
    bob.ok(&["alerts", "--timeout", "1"]);
    alice.ok(&["alerts", "--timeout", "1"]);
    let mut follower = Command::new(whatsup_binary())
        .arg("--home")
        .arg(&bob.home)
        .args([
            "--gateway",
            &bob.gateway,
            "--json",
            "alerts",
            "--follow",
            "--timeout",
            "5",
        ])
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let (tx, rx) = mpsc::channel();
    let stdout = follower.stdout.take().unwrap();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            let _ = tx.send(line);
        }
    });
    alice.ok(&["news", "post", "rust-devs", "Doors open at nine"]);
    carol.ok(&["message", "bob", "see you at the doors"]);
    carol.ok(&["comment", image["id"].as_str().unwrap(), "Nice venue"]);
    let mut seen: Vec<Value> = Vec::new();
    let deadline = Instant::now() + Duration::from_secs(60);
    let wanted = |seen: &[Value]| {
        let news = seen.iter().any(|a| {
            a["type"] == "news"
                && a["news"]["text"] == "Doors open at nine"
                && a["author"] == "alice"
        });
        let message = seen.iter().any(|a| {
            a["type"] == "message" && a["text"] == "see you at the doors" && a["from"] == "carol"
        });
        news && message
    };
    while !wanted(&seen) && Instant::now() < deadline {
        if let Ok(line) = rx.recv_timeout(Duration::from_millis(200)) {
            seen.push(
                serde_json::from_str(&line).unwrap_or_else(|e| panic!("alert {line:?}: {e}")),
            );
        }
    }
    let _ = follower.kill();
    let _ = follower.wait();
    assert!(wanted(&seen), "alerts --follow printed {seen:?}");
    // Alice's alerts, from her saved cursor, include carol's comment on her post.
    let alerts = alice.ok(&["alerts", "--timeout", "5"]);
    let commented = alerts.as_array().unwrap().iter().any(|a| {
        a["type"] == "comment" && a["author"] == "carol" && a["comment"]["text"] == "Nice venue"
    });
    assert!(commented, "alice's alerts: {alerts}");

    eprintln!(
        "{:6.1} s  vCards round-trip",
        started.elapsed().as_secs_f64()
    );
    // --- vCards round-trip.
    let card = carol.ok(&["card", "export", "alice"]);
    let card = card["vcard"].as_str().unwrap().to_owned();
    assert!(card.starts_with("BEGIN:VCARD\r\nVERSION:4.0\r\n"));
    assert!(card.contains("FN:Alice Liddell") && card.contains("ORG:Acme Corp"));
    let card_file = files.join("alice.vcf");
    std::fs::write(&card_file, &card).unwrap();
    let dave = User::new(root.path(), "dave", &by(&[4]));
    dave.ok(&["init", "dave"]);
    let imported = dave.ok(&["card", "import", card_file.to_str().unwrap()]);
    let original = carol.ok(&["profile", "show", "alice"]);
    assert_eq!(imported["username"], "dave");
    for field in [
        "full_name",
        "company",
        "title",
        "email",
        "phone",
        "about",
        "interests",
    ] {
        assert_eq!(
            imported[field], original[field],
            "{field} after the vCard round trip"
        );
    }

    eprintln!("{:6.1} s  Capability", started.elapsed().as_secs_f64());
    // --- Capability.
    let cap = alice.ok(&["capability"]);
    assert!(cap["cores"].as_u64().unwrap() >= 1);
    assert!(cap["super_node"].is_boolean());
    assert!(!cap["reasons"].as_array().unwrap().is_empty());

    eprintln!(
        "{:6.1} s  Long-lived records are refreshed on a start when the last refresh is old",
        started.elapsed().as_secs_f64()
    );
    // --- Long-lived records are refreshed on a start when the last refresh is old.
    std::fs::write(alice.home.join("refreshed"), "0").unwrap();
    alice.ok(&["presence", "bob"]);
    let refreshed: u64 = std::fs::read_to_string(alice.home.join("refreshed"))
        .unwrap()
        .trim()
        .parse()
        .unwrap();
    assert!(
        refreshed > now_ms() - 600_000,
        "refresh time not saved: {refreshed}"
    );

    eprintln!("{:6.1} s  Services", started.elapsed().as_secs_f64());
    // --- Services: every super-node runs SIP (the harness gives each --sip-addr 127.0.0.1:0)
    // and lists itself under P2PSIP. The first node advertised while it was alone in the
    // overlay; that copy is handed over to the key's later root on join like any value, so
    // every node is listed, and nothing else.
    let sip: BTreeSet<String> = nodes
        .iter()
        .flatten()
        .map(|d| d.sip_addr().to_string())
        .collect();
    let mut services = Value::Null;
    let listed = poll_until(Duration::from_secs(90), Duration::from_millis(500), || {
        services = carol.ok(&["services"]);
        let providers: BTreeSet<String> = services
            .as_array()
            .and_then(|s| s.iter().find(|s| s["id"] == "P2PSIP"))
            .map(|s| strs(&s["providers"]).into_iter().collect())
            .unwrap_or_default();
        providers == sip
    });
    assert!(
        listed,
        "services never listed exactly the SIP super-nodes {sip:?}: {services}"
    );
    let found = alice.ok(&["search", "services", "p2p"]);
    assert_eq!(found[0]["id"], "P2PSIP");
    assert!(strs(&found[0]["providers"]).iter().all(|p| sip.contains(p)));
    assert!(
        alice
            .ok(&["search", "services", "ftp"])
            .as_array()
            .unwrap()
            .is_empty()
    );

    eprintln!(
        "{:6.1} s  Kill bob's preferred super-node (alice's fallback) mid-scenario",
        started.elapsed().as_secs_f64()
    );
    // --- Kill bob's preferred super-node (alice's fallback) mid-scenario: everyone carries on.
    nodes[1].as_mut().unwrap().kill();
    nodes[1] = None;
    let after = bob.ok(&["post", "text", "Still here after the crash"]);
    let posts = alice.ok(&["posts", "bob"]);
    assert_eq!(posts[0]["id"], after["id"]);
    assert_eq!(
        bob.ok(&["feed"]).as_array().unwrap().len(),
        6,
        "the new news item and 5 earlier items"
    );
    bob.ok(&["message", "carol", "after the crash"]);
    let inbox = carol.ok(&["inbox"]);
    assert_eq!(
        inbox.as_array().unwrap().last().unwrap()["text"],
        "after the crash"
    );
    bob.ok(&["poll", "vote", &poll_id, "Sushi"]);
    assert_eq!(
        counts(&alice.ok(&["poll", "results", &poll_id])),
        [("Pizza".into(), 0), ("Sushi".into(), 3)]
    );
    assert_eq!(
        bob.ok(&["profile", "show", "alice"])["company"],
        "Acme Corp"
    );
    // Dave's profile is alice's card: he is found by her interests too.
    assert_eq!(
        targets(&bob.ok(&["people", "--interest", "rust"])),
        ["alice", "bob", "carol", "dave"]
    );

    eprintln!("{:6.1} s  Bad input", started.elapsed().as_secs_f64());
    // --- Bad input: one clear message, a non-zero exit, nothing written.
    bob.fails(&["posts", "nobody"], "unknown user: nobody");
    bob.fails(&["message", "nobody", "hi"], "unknown user: nobody");
    bob.fails(
        &["community", "join", "atlantis"],
        "no such community: atlantis",
    );
    bob.fails(&["news", "list", "atlantis"], "no such community: atlantis");
    let huge = "x".repeat(70_000);
    bob.fails(&["post", "text", &huge], "post is too large: 70000 bytes");
    bob.fails(
        &["post", "image", files.join("missing.png").to_str().unwrap()],
        "unreadable image",
    );
    let garbage = files.join("garbage.png");
    std::fs::write(&garbage, b"this is not a PNG at all").unwrap();
    bob.fails(
        &["post", "image", garbage.to_str().unwrap()],
        "unreadable image",
    );
    bob.fails(
        &["profile", "set", "--photo", garbage.to_str().unwrap()],
        "unreadable image",
    );
    bob.fails(&["comment", "0123456789abcdef", "hi"], "no such post");
    assert_eq!(
        alice.ok(&["posts", "bob"]).as_array().unwrap().len(),
        1,
        "nothing half-written"
    );
    assert_eq!(alice.ok(&["profile", "show", "bob"])["photo"], Value::Null);
    let nowhere = User {
        home: bob.home.clone(),
        gateway: "http://127.0.0.1:9/,http://127.0.0.1:1/".into(),
    };
    nowhere.fails(&["feed"], "no super-node reachable");

    eprintln!(
        "social scenario passed in {:.1} s",
        started.elapsed().as_secs_f64()
    );
}

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    haystack.windows(needle.len()).any(|w| w == needle)
}

fn forger(seed: u8) -> whatsup::client::Identity {
    whatsup::client::Identity::from_seed("mallory", [seed; 32])
}

/// RFC 3339 for `secs` from now (UTC).
fn time_in(secs: u64) -> String {
    whatsup::client::events::format_time(now_ms() + secs * 1000)
}
