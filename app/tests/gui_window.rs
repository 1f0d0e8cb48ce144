//! The real `whatsup` binary under Xvfb: the window renders (a screenshot that is not blank);
//! with no super-node to find, a capable machine starts serving as one by itself (its gateway
//! answers `/status`); and the app exits cleanly, stopping that node, when the window is
//! closed. Skipped, saying so, without Xvfb.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

#[path = "support/xvfb.rs"]
mod xvfb;

fn have(tool: &str) -> bool {
    Command::new("sh")
        .arg("-c")
        .arg(format!("command -v {tool}"))
        .stdout(Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}

struct Kill(Child);
impl Drop for Kill {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn wait_for(what: &str, timeout: Duration, mut ok: impl FnMut() -> bool) {
    let deadline = Instant::now() + timeout;
    while !ok() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(100));
    }
}

fn window_id(display: &str) -> Option<String> {
    let out = Command::new("xdotool")
        .args(["search", "--name", "What's UP"])
        .env("DISPLAY", display)
        .output()
        .ok()?;
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .next()
        .map(str::to_owned)
}

/// A TCP port free right now on 127.0.0.1.
fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// The body of `GET /status` on 127.0.0.1:`port`, if something answers.
fn gateway_status(port: u16) -> Option<String> {
    use std::io::{Read as _, Write as _};
    let mut stream = std::net::TcpStream::connect(("127.0.0.1", port)).ok()?;
    stream.set_read_timeout(Some(Duration::from_secs(5))).ok()?;
    stream
        .write_all(b"GET /status HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n")
        .ok()?;
    let mut reply = String::new();
    stream.read_to_string(&mut reply).ok()?;
    reply
        .split_once("\r\n\r\n")
        .map(|(_, body)| body.to_owned())
}

/// The machine's own verdict, as the app computes it.
fn capable(home: &Path) -> bool {
    let out = Command::new(env!("CARGO_BIN_EXE_whatsup"))
        .arg("--home")
        .arg(home)
        .args(["--json", "capability"])
        .output()
        .unwrap();
    let verdict: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    verdict["super_node"].as_bool().unwrap()
}

/// Distinct colours in a screenshot: a blank screen has one.
fn colours(path: &Path) -> usize {
    let image = image::open(path).unwrap().into_rgb8();
    let mut seen = std::collections::HashSet::new();
    for pixel in image.pixels().step_by(7) {
        seen.insert(pixel.0);
    }
    seen.len()
}

#[test]
fn the_window_renders_and_closes_cleanly_under_xvfb() {
    for tool in ["Xvfb", "xdotool", "import"] {
        if !have(tool) {
            eprintln!(
                "SKIPPED: {tool} is not installed (apt-get install xvfb xdotool imagemagick)"
            );
            return;
        }
    }
    let xvfb = xvfb::Xvfb::start(1280, 800).expect("Xvfb is installed but did not start");
    let display = xvfb.display.clone();
    let home = std::env::temp_dir().join(format!("whatsup-xvfb-{}", std::process::id()));
    std::fs::create_dir_all(&home).unwrap();
    // Settings as eframe stores them: no mDNS (so nothing else on this machine is found) and a
    // known gateway port for the node the app starts.
    let gateway_port = free_port();
    let storage = home.join("data").join("org.scope.whatsup");
    std::fs::create_dir_all(&storage).unwrap();
    std::fs::write(
        storage.join("app.ron"),
        format!(
            "{{\"whatsup.settings\":\"(mdns:false,overlay_port:0,gateway_port:{gateway_port},sip_port:0)\"}}"
        ),
    )
    .unwrap();
    let started = Instant::now();
    let mut app = Kill(
        Command::new(env!("CARGO_BIN_EXE_whatsup"))
            .arg("--home")
            .arg(&home)
            .env("DISPLAY", &display)
            .env_remove("WAYLAND_DISPLAY")
            .env("XDG_CONFIG_HOME", home.join("config"))
            .env("XDG_DATA_HOME", home.join("data"))
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap(),
    );
    let mut id = None;
    wait_for("the window", Duration::from_secs(30), || {
        id = window_id(&display);
        id.is_some()
    });
    eprintln!("window mapped after {:?}", started.elapsed());
    std::thread::sleep(Duration::from_secs(2));
    let shot = home.join("shot.png");
    let status = Command::new("import")
        .args(["-window", "root"])
        .arg(&shot)
        .env("DISPLAY", &display)
        .status()
        .unwrap();
    assert!(status.success());
    let n = colours(&shot);
    assert!(n > 8, "the screenshot looks blank ({n} colours)");
    if capable(&home) {
        let mut body = None;
        wait_for(
            "the app to serve as a super-node",
            Duration::from_secs(30),
            || {
                body = gateway_status(gateway_port);
                body.is_some()
            },
        );
        let body: serde_json::Value = serde_json::from_str(&body.unwrap()).unwrap();
        assert!(
            body["node_id"].as_str().is_some_and(|id| id.len() == 40),
            "{body}"
        );
    } else {
        eprintln!("this machine is not capable of serving: the app waits for a super-node");
    }
    let id = id.unwrap();
    // No window manager under Xvfb: focus by hand, then the app's own Ctrl+Q closes it.
    Command::new("xdotool")
        .args(["windowfocus", "--sync", &id])
        .env("DISPLAY", &display)
        .status()
        .unwrap();
    Command::new("xdotool")
        .args(["key", "--window", &id, "ctrl+q"])
        .env("DISPLAY", &display)
        .status()
        .unwrap();
    let mut code = None;
    wait_for("the app to exit", Duration::from_secs(15), || {
        code = app.0.try_wait().unwrap();
        code.is_some()
    });
    assert!(code.unwrap().success(), "the app exited with {code:?}");
    assert!(
        gateway_status(gateway_port).is_none(),
        "the node stopped with the app"
    );
    let _ = std::fs::remove_dir_all(&home);
}
