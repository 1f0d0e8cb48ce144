//! The real `whatsup` binary: argument errors, `--json` output, and a few commands against the
//! local stub gateway (one clear message and a non-zero exit on bad input).

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::Arc;

use whatsup::client::MemoryDht;

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
    let (url, _task) = support::serve(Arc::new(MemoryDht::new())).await;
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
