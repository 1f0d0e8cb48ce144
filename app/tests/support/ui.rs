//! Driving the app with egui_kittest: wait for quiet, type, click, wait for a label.

#![allow(clippy::unwrap_used, clippy::expect_used, dead_code)]

use std::time::{Duration, Instant};

use egui_kittest::Harness;
use egui_kittest::kittest::Queryable as _;
use whatsup::gui::WhatsUpApp;

/// The app under test.
pub type App = Harness<'static, WhatsUpApp>;

/// Runs `f` to completion on a fresh current-thread runtime.
pub fn block<F: std::future::Future>(f: F) -> F::Output {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
        .block_on(f)
}

/// The app in a 1100×720 window.
pub fn harness(app: WhatsUpApp) -> App {
    let mut harness = Harness::builder()
        .with_size(egui::vec2(1100.0, 720.0))
        .build_ui_state(|ui, app: &mut WhatsUpApp| app.draw(ui), app);
    settle(&mut harness);
    harness
}

/// Steps frames until every request has answered and the UI is still (at most 20 s).
pub fn settle(harness: &mut App) {
    let deadline = Instant::now() + Duration::from_secs(20);
    let mut quiet = 0;
    while Instant::now() < deadline {
        harness.step();
        let idle = harness.state().backend().is_idle() && !harness.state().thumbs().loading();
        quiet = if idle { quiet + 1 } else { 0 };
        if quiet >= 3 {
            break;
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    harness.step();
}

/// Steps frames until a widget whose label contains `label` is shown (at most 30 s).
pub fn wait_label(harness: &mut App, label: &str) {
    let deadline = Instant::now() + Duration::from_secs(30);
    while harness.query_by_label_contains(label).is_none() {
        assert!(Instant::now() < deadline, "timed out waiting for {label:?}");
        harness.step();
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// Focuses the field labelled `label` and types `text` into it.
pub fn type_into(harness: &mut App, label: &str, text: &str) {
    harness.get_by_label(label).focus();
    harness.step();
    harness.get_by_label(label).type_text(text);
    harness.step();
}

/// Clicks the widget labelled `label`, then waits for quiet.
pub fn click(harness: &mut App, label: &str) {
    harness.get_by_label(label).click();
    settle(harness);
}
