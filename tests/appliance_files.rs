//! The appliance's configuration files parse and carry what the kiosk depends on: the ARM cross
//! builds, the release profile, the systemd unit (the daemon in foot inside the cage kiosk
//! compositor, hardened), foot's config (a CJK font) and the tmpfiles entry.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::HashMap;
use std::path::Path;

fn read(rel: &str) -> String {
    std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join(rel)).unwrap()
}

#[test]
fn cross_toml_configures_both_arm_targets() {
    let cross: toml::Table = read("cross.toml").parse().unwrap();
    let targets = cross["target"].as_table().unwrap();
    for t in ["aarch64-unknown-linux-gnu", "armv7-unknown-linux-gnueabihf"] {
        let target = targets[t].as_table().unwrap();
        let image = target["image"].as_str().unwrap();
        assert!(
            image.contains(t) && image.contains(':'),
            "{t}: image pinned by tag"
        );
        let pre: Vec<&str> = target["pre-build"]
            .as_array()
            .unwrap()
            .iter()
            .map(|v| v.as_str().unwrap())
            .collect();
        let all = pre.join(" ");
        for pkg in ["cmake", "libclang", "clang", "g++"] {
            assert!(all.contains(pkg), "{t}: pre-build installs {pkg}");
        }
        let env = target["env"]["passthrough"].as_array().unwrap();
        assert!(
            env.iter().any(|v| v.as_str() == Some("GGML_NATIVE=OFF")),
            "{t}: no host CPU flags"
        );
    }
}

#[test]
fn cargo_config_sets_cpu_features_per_target() {
    let cfg: toml::Table = read(".cargo/config.toml").parse().unwrap();
    let t = cfg["target"].as_table().unwrap();
    let flags = |name: &str| -> String {
        t[name]["rustflags"]
            .as_array()
            .unwrap()
            .iter()
            .map(|v| v.as_str().unwrap())
            .collect::<Vec<_>>()
            .join(" ")
    };
    // No target-cpu for aarch64: llama-cpp-sys-2 hands it to gcc as `-march=`, which takes an
    // architecture, not a core (`cortex-a72` broke the cross build).
    assert!(!flags("aarch64-unknown-linux-gnu").contains("target-cpu="));
    assert!(flags("armv7-unknown-linux-gnueabihf").contains("+neon"));
    assert!(flags("x86_64-unknown-linux-gnu").contains("x86-64-v3"));
}

#[test]
fn release_profile_is_tuned_for_the_appliance() {
    let manifest: toml::Table = read("Cargo.toml").parse().unwrap();
    let release = manifest["profile"]["release"].as_table().unwrap();
    assert_eq!(release["lto"].as_str(), Some("fat"));
    assert_eq!(release["codegen-units"].as_integer(), Some(1));
    assert_eq!(release["strip"].as_bool(), Some(true));
    let dev_llama = &manifest["profile"]["dev"]["package"]["llama-cpp-sys-2"];
    assert_eq!(dev_llama["opt-level"].as_integer(), Some(3));
}

/// `[Section]` → key → values, as systemd reads unit files (later assignments add values).
fn parse_unit(text: &str) -> HashMap<String, HashMap<String, Vec<String>>> {
    let mut out: HashMap<String, HashMap<String, Vec<String>>> = HashMap::new();
    let mut section = String::new();
    for line in text.lines().map(str::trim) {
        if line.is_empty() || line.starts_with('#') || line.starts_with(';') {
            continue;
        }
        if let Some(name) = line.strip_prefix('[').and_then(|l| l.strip_suffix(']')) {
            section = name.to_string();
            continue;
        }
        let (k, v) = line.split_once('=').expect("key=value");
        assert!(!section.is_empty(), "assignment outside a section: {line}");
        out.entry(section.clone())
            .or_default()
            .entry(k.trim().to_string())
            .or_default()
            .push(v.trim().to_string());
    }
    out
}

#[test]
fn systemd_unit_has_the_hardening_and_watchdog_the_appliance_needs() {
    let unit = parse_unit(&read("firmware-config/shelftalk.service"));
    let service = &unit["Service"];
    let one = |k: &str| service.get(k).and_then(|v| v.last()).map(String::as_str);
    assert_eq!(one("Type"), Some("notify"));
    assert!(one("WatchdogSec").is_some_and(|v| v.parse::<u32>().is_ok_and(|s| s > 0)));
    assert_eq!(one("Restart"), Some("always"));
    assert_eq!(one("User"), Some("shelftalk"));
    assert_eq!(one("NoNewPrivileges"), Some("yes"));
    assert_eq!(one("PrivateTmp"), Some("yes"));
    assert_eq!(one("ProtectSystem"), Some("strict"));
    assert_eq!(
        service["ReadWritePaths"],
        vec!["/var/lib/shelftalk", "-/run/user/%U"]
    );
    assert!(one("MemoryMax").is_some());
    // Private files whatever the umask, and no core dump holding keys, rows or a typed PIN.
    assert_eq!(one("UMask"), Some("0077"));
    assert_eq!(one("LimitCORE"), Some("0"));
    assert_eq!(one("TTYPath"), Some("/dev/tty1"));
    // The daemon in foot in cage, on a login session's seat; it reports to systemd itself.
    let exec = one("ExecStart").unwrap();
    assert!(exec.starts_with("/usr/bin/cage -- /usr/bin/foot --config=/etc/shelftalk/foot.ini --"));
    assert!(
        exec.contains("env -u WATCHDOG_PID /usr/local/bin/shelftalk") && exec.ends_with(" run")
    );
    assert_eq!(one("NotifyAccess"), Some("all"));
    assert_eq!(one("PAMName"), Some("login"));
    assert_eq!(unit["Unit"]["Conflicts"], vec!["getty@tty1.service"]);
    assert_eq!(unit["Install"]["WantedBy"], vec!["multi-user.target"]);
    let known = [
        "Type",
        "NotifyAccess",
        "ExecStart",
        "WatchdogSec",
        "Restart",
        "RestartSec",
        "TimeoutStopSec",
        "KillSignal",
        "User",
        "Group",
        "Environment",
        "StandardInput",
        "StandardOutput",
        "StandardError",
        "TTYPath",
        "TTYReset",
        "TTYVHangup",
        "TTYVTDisallocate",
        "PAMName",
        "UtmpIdentifier",
        "NoNewPrivileges",
        "PrivateTmp",
        "ProtectSystem",
        "ProtectHome",
        "ReadWritePaths",
        "ProtectKernelTunables",
        "ProtectKernelModules",
        "ProtectControlGroups",
        "RestrictSUIDSGID",
        "LockPersonality",
        "MemoryMax",
        "UMask",
        "LimitCORE",
    ];
    for key in service.keys() {
        assert!(
            known.contains(&key.as_str()),
            "unexpected [Service] key {key}"
        );
    }
}

#[test]
fn foot_draws_chinese_on_the_kiosk_display() {
    let text = read("firmware-config/foot.ini");
    let font = text
        .lines()
        .find_map(|l| l.strip_prefix("font="))
        .expect("a font line");
    assert!(font.starts_with("DejaVu Sans Mono:"), "{font}");
    assert!(font.contains("Noto Sans Mono CJK SC"), "{font}");
    assert!(font.contains("Noto Color Emoji"), "{font}");
    assert!(text.contains("[main]") && text.contains("lines=0"));
}

#[test]
fn tmpfiles_entry_creates_private_directories() {
    let text = read("firmware-config/shelftalk.tmpfiles.conf");
    let entries: Vec<Vec<&str>> = text
        .lines()
        .filter(|l| !l.trim().is_empty() && !l.starts_with('#'))
        .map(|l| l.split_whitespace().collect())
        .collect();
    assert_eq!(entries.len(), 2);
    for e in &entries {
        assert_eq!(e[0], "d");
        assert_eq!(e[2], "0700");
        assert_eq!(e[3], "shelftalk");
    }
    assert!(entries.iter().any(|e| e[1] == "/var/lib/shelftalk/keys"));
}
