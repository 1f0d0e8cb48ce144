//! Desktop notifications for alerts that arrive while the window is not focused.
//!
//! It runs `notify-send` (libnotify's command, present on every desktop with a notification
//! daemon) on a background thread rather than linking a D-Bus stack: with no daemon, no
//! command or no session bus — as in tests and on headless machines — it fails silently.

use std::process::{Command, Stdio};

/// Shows `summary`/`body` as a desktop notification, ignoring every failure.
pub fn desktop(summary: &str, body: &str) {
    let summary = summary.to_owned();
    let body = body.to_owned();
    let spawned = std::thread::Builder::new()
        .name("whatsup-notify".into())
        .spawn(move || {
            let _ = Command::new("notify-send")
                .args(["--app-name=What's UP", "--icon=org.scope.whatsup"])
                .arg(summary)
                .arg(body)
                .stdin(Stdio::null())
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .status();
        });
    if spawned.is_err() {
        tracing::debug!("could not start the notification thread");
    }
}
