//! The real `whatsup` binary: argument errors, `--json` output, and a few commands against a
//! real super-node (one clear message and a non-zero exit on bad input).

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn whatsup(home: &Path, gateway: &str, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_whatsup"))
        .arg("--home")
        .arg(home)
        .arg("--gateway")
        .arg(gateway)
        .args(args)
        .output()
        .unwrap()
}

async fn run(home: &Path, gateway: &str, args: &[&str]) -> Output {
    let (home, gateway) = (home.to_owned(), gateway.to_owned());
    let args: Vec<String> = args.iter().map(|s| (*s).to_owned()).collect();
    tokio::task::spawn_blocking(move || {
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        whatsup(&home, &gateway, &args)
    })
    .await
    .unwrap()
}

fn temp_home(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("whatsup-cli-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    dir
}

fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

#[test]
fn capability_prints_json() {
    let out = whatsup(
        &temp_home("cap"),
        "http://127.0.0.1:9",
        &["--json", "capability"],
    );
    assert!(out.status.success(), "{}", stderr(&out));
    let value: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert!(value["cores"].as_u64().unwrap() >= 1);
    assert!(value["super_node"].is_boolean());
    assert!(!value["reasons"].as_array().unwrap().is_empty());
}

#[test]
fn argument_errors_exit_non_zero_with_one_message() {
    let home = temp_home("args");
    for args in [
        &["people"][..],
        &["feed", "--page", "0"],
        &["frobnicate"],
        &["search", "planets", "x"],
    ] {
        let out = whatsup(&home, "http://127.0.0.1:9", args);
        assert!(!out.status.success(), "{args:?} succeeded");
        assert!(!stderr(&out).is_empty());
    }
    let out = whatsup(&home, "http://127.0.0.1:9", &[]);
    assert!(out.status.success() && String::from_utf8_lossy(&out.stdout).contains("Usage"));
    let out = whatsup(&home, "http://127.0.0.1:9", &["profile", "show"]);
    assert!(!out.status.success() && stderr(&out).contains("whatsup init"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn commands_against_a_gateway() {
    let overlay = tokio::task::spawn_blocking(|| support::Overlay::start("cli-commands", 1))
        .await
        .unwrap();
    let url = overlay.url(0);
    let (alice, mallory) = (temp_home("alice"), temp_home("mallory"));
    assert!(run(&alice, &url, &["init", "alice"]).await.status.success());
    let taken = run(&mallory, &url, &["init", "alice"]).await;
    assert!(!taken.status.success() && stderr(&taken).contains("username taken"));
    let out = run(
        &alice,
        &url,
        &[
            "profile",
            "set",
            "--name",
            "Alice L",
            "--interests",
            "rust,p2p",
        ],
    )
    .await;
    assert!(out.status.success(), "{}", stderr(&out));
    let found = run(&alice, &url, &["--json", "people", "--interest", "RUST"]).await;
    let hits: serde_json::Value = serde_json::from_slice(&found.stdout).unwrap();
    assert_eq!(hits[0]["target"], "alice");
    let bad = run(&alice, &url, &["post", "image", "/nonexistent.png"]).await;
    assert!(!bad.status.success() && stderr(&bad).contains("unreadable image"));
    let none = run(&alice, &url, &["--json", "posts", "alice"]).await;
    assert_eq!(String::from_utf8_lossy(&none.stdout).trim(), "[]");
    let dead = run(&alice, "http://127.0.0.1:9/RPC2", &["posts", "alice"]).await;
    assert!(!dead.status.success() && stderr(&dead).contains("no super-node reachable"));
    let _ = std::fs::remove_dir_all(&alice);
    let _ = std::fs::remove_dir_all(&mallory);
}

fn stdout(out: &Output) -> String {
    String::from_utf8_lossy(&out.stdout).trim().to_owned()
}

/// Runs a command that must succeed; returns its stdout.
async fn ok(home: &Path, gateway: &str, args: &[&str]) -> String {
    let out = run(home, gateway, args).await;
    assert!(out.status.success(), "{args:?}: {}", stderr(&out));
    stdout(&out)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_command_group_runs() {
    let overlay = tokio::task::spawn_blocking(|| support::Overlay::start("cli-groups", 1))
        .await
        .unwrap();
    let url = overlay.url(0);
    let (a, b) = (temp_home("flow-a"), temp_home("flow-b"));
    ok(&a, &url, &["init", "ann"]).await;
    ok(&b, &url, &["init", "ben"]).await;
    ok(
        &a,
        &url,
        &[
            "profile",
            "set",
            "--company",
            "Acme",
            "--name",
            "Ann Example",
        ],
    )
    .await;
    assert!(
        ok(&b, &url, &["profile", "show", "ann"])
            .await
            .contains("Acme")
    );
    let card = ok(&b, &url, &["card", "export", "ann"]).await;
    let card_file = b.join("ann.vcf");
    std::fs::write(&card_file, &card).unwrap();
    ok(&b, &url, &["card", "import", card_file.to_str().unwrap()]).await;
    assert!(
        ok(&a, &url, &["people", "--company", "acme"])
            .await
            .contains("ben")
    );
    let post = ok(
        &a,
        &url,
        &["post", "link", "https://example.org", "--title", "Site"],
    )
    .await;
    ok(&b, &url, &["comment", &post, "nice"]).await;
    assert!(
        ok(&a, &url, &["comments", &post])
            .await
            .contains("ben: nice")
    );
    ok(&b, &url, &["follow", "ann"]).await;
    ok(
        &a,
        &url,
        &["community", "create", "Expo Hall", "--description", "d"],
    )
    .await;
    ok(&b, &url, &["community", "join", "expo-hall"]).await;
    assert!(
        ok(&a, &url, &["community", "list"])
            .await
            .contains("expo-hall")
    );
    assert!(
        ok(&a, &url, &["community", "show", "expo-hall"])
            .await
            .contains("ben")
    );
    ok(&a, &url, &["news", "post", "expo-hall", "doors open"]).await;
    assert!(
        ok(&b, &url, &["news", "list", "expo-hall"])
            .await
            .contains("doors open")
    );
    let at = "2030-01-01T10:00:00Z";
    let event = ok(
        &a,
        &url,
        &[
            "event",
            "create",
            "expo-hall",
            "--title",
            "Talk",
            "--at",
            at,
        ],
    )
    .await;
    ok(&b, &url, &["event", "subscribe", &event]).await;
    assert!(
        ok(&b, &url, &["event", "list", "expo-hall"])
            .await
            .contains("starts in")
    );
    let poll = ok(
        &a,
        &url,
        &[
            "poll",
            "create",
            "expo-hall",
            "Lunch?",
            "--option",
            "A",
            "--option",
            "B",
        ],
    )
    .await;
    ok(&b, &url, &["poll", "vote", &poll, "B"]).await;
    ok(&b, &url, &["poll", "vote", &poll, "B"]).await;
    let results = ok(&a, &url, &["--json", "poll", "results", &poll]).await;
    let results: serde_json::Value = serde_json::from_str(&results).unwrap();
    assert_eq!(results["voters"], 1);
    assert!(ok(&b, &url, &["feed"]).await.contains("doors open"));
    ok(&a, &url, &["message", "ben", "psst"]).await;
    assert!(ok(&b, &url, &["inbox"]).await.contains("ann: psst"));
    ok(&b, &url, &["presence", "set", "busy", "--note", "talking"]).await;
    assert!(ok(&a, &url, &["presence", "ben"]).await.contains("busy"));
    assert!(
        ok(&a, &url, &["search", "content", "doors"])
            .await
            .contains("expo-hall")
    );
    assert!(
        ok(&a, &url, &["search", "communities", "expo"])
            .await
            .contains("expo-hall")
    );
    assert!(
        ok(&a, &url, &["search", "people", "ann"])
            .await
            .contains("ann")
    );
    ok(&a, &url, &["services"]).await;
    ok(&b, &url, &["alerts"]).await;
    let bad = run(&b, &url, &["news", "post", "nowhere", "x"]).await;
    assert!(!bad.status.success() && stderr(&bad).contains("no such community"));
    let _ = std::fs::remove_dir_all(&a);
    let _ = std::fs::remove_dir_all(&b);
}
