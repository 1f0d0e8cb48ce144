//! A headless X server for the tests and benches that run the real window.
//!
//! Xvfb picks its own display (`-displayfd`) and is stopped with SIGTERM so that it removes
//! its lock file. A fixed display number, and SIGKILL, made the window test fail now and then:
//! a killed Xvfb leaves `/tmp/.X<n>-lock` behind, and once a live process has taken the PID
//! written in it, the next Xvfb on that display refuses to start.

use std::io::BufRead as _;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// A running Xvfb; stopped when dropped.
pub struct Xvfb {
    child: Child,
    /// The value for `DISPLAY`, e.g. `:3`.
    pub display: String,
}

impl Xvfb {
    /// Starts Xvfb with one `width`×`height` screen and waits until it accepts clients; `None`
    /// when it is not installed or does not come up within 20 s.
    pub fn start(width: u32, height: u32) -> Option<Xvfb> {
        let mut child = Command::new("Xvfb")
            .args(["-displayfd", "1", "-nolisten", "tcp", "-screen", "0"])
            .arg(format!("{width}x{height}x24"))
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .ok()?;
        // Xvfb writes the display number once it is ready; read it on a thread so that a
        // server that hangs cannot hang the caller.
        let stdout = child.stdout.take()?;
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            let mut line = String::new();
            let _ = std::io::BufReader::new(stdout).read_line(&mut line);
            let _ = tx.send(line);
        });
        let mut xvfb = Xvfb {
            child,
            display: String::new(),
        };
        let line = rx.recv_timeout(Duration::from_secs(20)).ok()?;
        let number: u32 = line.trim().parse().ok()?;
        xvfb.display = format!(":{number}");
        Some(xvfb)
    }
}

impl Drop for Xvfb {
    fn drop(&mut self) {
        let _ = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status();
        let deadline = Instant::now() + Duration::from_secs(5);
        while Instant::now() < deadline {
            if let Ok(Some(_)) = self.child.try_wait() {
                return;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
