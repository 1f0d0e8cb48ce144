//! Capability: what this device has, and whether it should serve as a super-node.
//!
//! [`read`] gathers the facts from the OS (cores, `/proc/meminfo`, free disk of the home,
//! `/sys/class/power_supply`); [`assess`] is a pure function of those facts, so the decision
//! rules are tested without the machine they run on.

use std::path::Path;

use serde::Serialize;

/// Least memory available for a super-node, bytes.
pub const MIN_MEMORY: u64 = 1 << 30;
/// Least free disk for a super-node's store, bytes.
pub const MIN_DISK: u64 = 2 << 30;
/// Least battery level to serve while not on mains, percent.
pub const MIN_BATTERY: u8 = 80;

/// Where the power comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(tag = "source", rename_all = "lowercase")]
pub enum Power {
    /// Plugged in (or no battery at all, as a desktop).
    Mains,
    /// On battery.
    Battery {
        /// Charge, percent.
        level: u8,
    },
    /// Could not tell.
    Unknown,
}

/// The facts about this device.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Capability {
    /// Logical CPU cores.
    pub cores: usize,
    /// Total memory, bytes.
    pub memory_total: u64,
    /// Memory available, bytes.
    pub memory_available: u64,
    /// Free disk where the home is, bytes.
    pub disk_free: u64,
    /// Power source.
    pub power: Power,
}

/// The verdict with its reasons.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Assessment {
    /// The facts.
    #[serde(flatten)]
    pub capability: Capability,
    /// Should this device serve as a super-node?
    pub super_node: bool,
    /// Why (or why not), one reason per rule.
    pub reasons: Vec<String>,
}

/// Applies the rules: at least 2 cores, 1 GiB of memory available, 2 GiB of free disk, and
/// mains power or a battery at 80 % or more.
#[must_use]
pub fn assess(capability: Capability) -> Assessment {
    let gib = |b: u64| b as f64 / f64::from(1u32 << 30);
    let rules = [
        (
            capability.cores >= 2,
            format!("{} CPU cores (need 2)", capability.cores),
        ),
        (
            capability.memory_available >= MIN_MEMORY,
            format!(
                "{:.1} GiB memory available (need 1)",
                gib(capability.memory_available)
            ),
        ),
        (
            capability.disk_free >= MIN_DISK,
            format!("{:.1} GiB disk free (need 2)", gib(capability.disk_free)),
        ),
        match capability.power {
            Power::Mains => (true, "on mains power".to_owned()),
            Power::Battery { level } => (
                level >= MIN_BATTERY,
                format!("on battery at {level}% (need mains or {MIN_BATTERY}%)"),
            ),
            Power::Unknown => (true, "power source unknown (assumed mains)".to_owned()),
        },
    ];
    let super_node = rules.iter().all(|(ok, _)| *ok);
    let reasons = rules
        .into_iter()
        .map(|(ok, text)| format!("{} {text}", if ok { "ok:" } else { "no:" }))
        .collect();
    Assessment {
        capability,
        super_node,
        reasons,
    }
}

/// Reads the facts from the OS; `home` is where free disk is measured.
#[must_use]
pub fn read(home: &Path) -> Capability {
    let meminfo = std::fs::read_to_string("/proc/meminfo").unwrap_or_default();
    let (memory_total, memory_available) = parse_meminfo(&meminfo);
    let existing = home
        .ancestors()
        .find(|p| p.exists())
        .unwrap_or(Path::new("/"));
    Capability {
        cores: std::thread::available_parallelism().map_or(1, usize::from),
        memory_total,
        memory_available,
        disk_free: fs4::available_space(existing).unwrap_or(0),
        power: read_power(Path::new("/sys/class/power_supply")),
    }
}

/// `(MemTotal, MemAvailable)` in bytes from `/proc/meminfo` text.
#[must_use]
pub fn parse_meminfo(text: &str) -> (u64, u64) {
    let field = |name: &str| {
        text.lines()
            .find_map(|l| l.strip_prefix(name))
            .and_then(|rest| {
                rest.trim()
                    .trim_end_matches("kB")
                    .trim()
                    .parse::<u64>()
                    .ok()
            })
            .map_or(0, |kb| kb * 1024)
    };
    (field("MemTotal:"), field("MemAvailable:"))
}

/// Power source from a `power_supply` directory: mains if any supply of type Mains is online
/// or there is no battery; otherwise the first battery's capacity.
#[must_use]
pub fn read_power(dir: &Path) -> Power {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return Power::Unknown;
    };
    let attr = |p: &Path, name: &str| {
        std::fs::read_to_string(p.join(name))
            .map(|s| s.trim().to_owned())
            .unwrap_or_default()
    };
    let mut battery = None;
    let mut mains_online = false;
    for entry in entries.flatten() {
        let path = entry.path();
        match attr(&path, "type").as_str() {
            "Mains" | "USB" => mains_online |= attr(&path, "online") == "1",
            "Battery" if battery.is_none() => battery = attr(&path, "capacity").parse::<u8>().ok(),
            _ => {}
        }
    }
    match battery {
        Some(_) if mains_online => Power::Mains,
        Some(level) => Power::Battery {
            level: level.min(100),
        },
        None => Power::Mains,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn facts(power: Power) -> Capability {
        Capability {
            cores: 4,
            memory_total: 8 << 30,
            memory_available: 4 << 30,
            disk_free: 50 << 30,
            power,
        }
    }

    #[test]
    fn rules_decide_and_explain() {
        assert!(assess(facts(Power::Mains)).super_node);
        let low = assess(facts(Power::Battery { level: 30 }));
        assert!(!low.super_node);
        assert!(
            low.reasons
                .iter()
                .any(|r| r.starts_with("no:") && r.contains("battery"))
        );
        let small = assess(Capability {
            cores: 1,
            ..facts(Power::Mains)
        });
        assert!(!small.super_node);
    }

    #[test]
    fn os_facts_parse() {
        let (total, avail) =
            parse_meminfo("MemTotal:  2048 kB\nMemFree: 1 kB\nMemAvailable: 1024 kB\n");
        assert_eq!((total, avail), (2048 * 1024, 1024 * 1024));
        let dir = std::env::temp_dir().join(format!("whatsup-power-{}", std::process::id()));
        let bat = dir.join("BAT0");
        std::fs::create_dir_all(&bat).unwrap();
        std::fs::write(bat.join("type"), "Battery\n").unwrap();
        std::fs::write(bat.join("capacity"), "42\n").unwrap();
        assert_eq!(read_power(&dir), Power::Battery { level: 42 });
        let ac = dir.join("AC");
        std::fs::create_dir_all(&ac).unwrap();
        std::fs::write(ac.join("type"), "Mains\n").unwrap();
        std::fs::write(ac.join("online"), "1\n").unwrap();
        assert_eq!(read_power(&dir), Power::Mains);
        std::fs::remove_dir_all(&dir).unwrap();
        assert_eq!(read_power(Path::new("/nonexistent")), Power::Unknown);
    }
}
