//! Figures for the desktop app: first frame, frame time while scrolling 10,000 posts, memory
//! with 1,000 image posts, and (under Xvfb, if installed) idle CPU of the real binary.
//! Run: `cargo run -p whatsup --example gui_bench` (prints one line per figure).

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::print_stdout)]

use std::sync::Arc;
use std::time::{Duration, Instant};

use egui_kittest::Harness;
use whatsup::client::feed::{FeedItem, FeedKind};
use whatsup::client::media::prepare;
use whatsup::client::posts::{Post, PostBody};
use whatsup::client::{Client, Identity, MemoryDht};
use whatsup::gui::backend::Backend;
use whatsup::gui::settings::Settings;
use whatsup::gui::{Boot, WhatsUpApp};

#[path = "../tests/support/xvfb.rs"]
mod xvfb;

fn block<F: std::future::Future>(f: F) -> F::Output {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
        .block_on(f)
}

fn rss_kib() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .unwrap_or_default()
        .lines()
        .find_map(|l| {
            l.strip_prefix("VmRSS:")
                .map(|v| v.trim().trim_end_matches(" kB").parse().unwrap_or(0))
        })
        .unwrap_or(0)
}

fn app(client: Client) -> Harness<'static, WhatsUpApp> {
    let app = WhatsUpApp::new(
        Backend::new().unwrap(),
        Boot::Fixed {
            client: Box::new(client),
            home: None,
        },
        Settings::default(),
    );
    Harness::builder()
        .with_size(egui::vec2(1100.0, 720.0))
        .build_ui_state(|ui, app: &mut WhatsUpApp| app.draw(ui), app)
}

fn user(dht: &Arc<MemoryDht>, name: &str) -> Client {
    let client = Client::new(dht.clone(), None).as_user(Identity::from_seed(name, [9; 32]));
    block(client.claim_username()).unwrap();
    client
}

fn text_items(n: usize) -> Vec<FeedItem> {
    (0..n)
        .map(|i| FeedItem {
            at: 1_767_225_600_000 - i as u64 * 1000,
            author: format!("user{}", i % 50),
            kind: FeedKind::Post {
                post: Post {
                    id: format!("{i:016x}"),
                    body: PostBody::Text(format!("Post number {i}: see you at the booth")),
                    at: 0,
                },
            },
        })
        .collect()
}

/// Mean and worst frame time (layout + paint + render) while wheel-scrolling through the feed.
fn scroll(
    h: &mut Harness<'static, WhatsUpApp>,
    frames: usize,
    until_images: bool,
) -> (Duration, Duration) {
    h.hover_at(egui::pos2(600.0, 500.0));
    let (mut total, mut worst) = (Duration::ZERO, Duration::ZERO);
    let (mut ui_total, mut ui_worst) = (Duration::ZERO, Duration::ZERO);
    for _ in 0..frames {
        h.event(egui::Event::MouseWheel {
            unit: egui::MouseWheelUnit::Point,
            delta: egui::vec2(0.0, -400.0),
            modifiers: egui::Modifiers::NONE,
            phase: egui::TouchPhase::Move,
            source: egui::MouseWheelSource::Wheel,
        });
        let t = Instant::now();
        h.step();
        let ui_dt = t.elapsed();
        ui_total += ui_dt;
        ui_worst = ui_worst.max(ui_dt);
        let _ = h.render();
        let dt = t.elapsed();
        total += dt;
        worst = worst.max(dt);
        if until_images {
            let deadline = Instant::now() + Duration::from_secs(2);
            while h.state().thumbs().loading() && Instant::now() < deadline {
                std::thread::sleep(Duration::from_millis(2));
                h.step();
            }
        }
    }
    println!(
        "  egui frame alone (layout + tessellation): mean {:?}, worst {ui_worst:?}",
        ui_total / frames as u32
    );
    (total / frames as u32, worst)
}

/// CPU used by the real binary under Xvfb over 20 s with nothing happening (serving as a
/// super-node, as a lone capable machine does), in percent of one core; `None` without Xvfb.
fn idle_cpu() -> Option<f64> {
    use std::process::{Command, Stdio};
    let xvfb = xvfb::Xvfb::start(1280, 800)?;
    let display = xvfb.display.clone();
    let home = std::env::temp_dir().join(format!("whatsup-idle-{}", std::process::id()));
    // Settings as eframe stores them: OS-chosen ports for the super-node the app starts on a
    // machine with nothing else around, so the bench never collides with a running node.
    let storage = home.join("d").join("org.scope.whatsup");
    std::fs::create_dir_all(&storage).ok()?;
    std::fs::write(
        storage.join("app.ron"),
        "{\"whatsup.settings\":\"(mdns:false,overlay_port:0,gateway_port:0,sip_port:0)\"}",
    )
    .ok()?;
    let exe = std::env::current_exe()
        .ok()?
        .parent()?
        .parent()?
        .join("whatsup");
    let mut app = Command::new(exe)
        .arg("--home")
        .arg(&home)
        .env("DISPLAY", &display)
        .env("XDG_CONFIG_HOME", home.join("c"))
        .env("XDG_DATA_HOME", home.join("d"))
        .stderr(Stdio::null())
        .spawn()
        .ok()?;
    // Start-up (first frames on the CPU rasteriser, 3 s of looking for super-nodes, starting
    // one) is over well within 20 s even on a loaded machine.
    std::thread::sleep(Duration::from_secs(20));
    let ticks = |pid: u32| -> Option<u64> {
        let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
        let fields: Vec<&str> = stat.rsplit(')').next()?.split_whitespace().collect();
        Some(fields.get(11)?.parse::<u64>().ok()? + fields.get(12)?.parse::<u64>().ok()?)
    };
    let before = ticks(app.id());
    std::thread::sleep(Duration::from_secs(20));
    let after = ticks(app.id());
    let _ = app.kill();
    drop(xvfb);
    let _ = std::fs::remove_dir_all(&home);
    // 100 clock ticks per second on Linux.
    Some((after? - before?) as f64 / 20.0)
}

fn main() {
    match idle_cpu() {
        Some(cpu) => println!(
            "idle CPU of the real window under Xvfb (20 s, after 20 s of start-up): {cpu:.1} % of one core"
        ),
        None => {
            println!("idle CPU: skipped (Xvfb or the whatsup binary not found; build it first)")
        }
    }
    let dht = Arc::new(MemoryDht::new());
    let me = user(&dht, "bench");

    let t = Instant::now();
    let mut h = app(me.clone());
    h.step();
    let _ = h.render();
    println!(
        "first frame (app created, laid out and rendered on the CPU adapter): {:?}",
        t.elapsed()
    );

    h.state_mut()
        .views_mut()
        .content
        .set_items(text_items(10_000));
    h.step();
    let (mean, worst) = scroll(&mut h, 120, false);
    println!(
        "scrolling 10,000 text posts: mean frame {mean:?}, worst {worst:?} (120 frames, 400 pt per frame)"
    );

    let before = rss_kib();
    let images: Vec<FeedItem> = (0..1000u32)
        .map(|i| {
            let png = gradient(240 + i % 64, 160 + i % 48, i);
            let post = block(me.post_image(prepare(png).unwrap(), &format!("photo {i}"))).unwrap();
            FeedItem {
                at: post.at,
                author: "bench".into(),
                kind: FeedKind::Post { post },
            }
        })
        .collect();
    let mut h = app(me);
    h.state_mut().views_mut().content.set_items(images);
    h.step();
    let (mean, worst) = scroll(&mut h, 250, true);
    let after = rss_kib();
    println!(
        "1,000 image posts scrolled end to end: mean frame {mean:?}, worst {worst:?}; RSS {} MiB -> {} MiB; {} thumbnails resident (cap {})",
        before / 1024,
        after / 1024,
        h.state().thumbs().textures(),
        whatsup::gui::thumbs::CAPACITY
    );
}

fn gradient(w: u32, h: u32, seed: u32) -> Vec<u8> {
    let image = image::RgbImage::from_fn(w, h, |x, y| {
        image::Rgb([(x * 255 / w) as u8, (y * 255 / h) as u8, (seed % 255) as u8])
    });
    let mut out = Vec::new();
    image
        .write_to(&mut std::io::Cursor::new(&mut out), image::ImageFormat::Png)
        .unwrap();
    out
}
