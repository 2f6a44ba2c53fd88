//! `shelftalk run`'s logging set-up against a journald stand-in: a `UnixDatagram` bound in a temp
//! dir, reached the way systemd announces the journal (`INVOCATION_ID` and the socket present),
//! with the kiosk id read from a config file. The datagrams carry the documented fields, and a
//! field not on the allow-list never reaches the journal, while the console's ring still gets
//! the whole line with a dated time.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::os::unix::net::UnixDatagram;
use std::time::Duration;

use shelftalk::daemon::logs::{self, journal, LogSetup};

fn env(socket: &std::path::Path) -> Vec<(String, String)> {
    vec![
        ("INVOCATION_ID".into(), "0123456789abcdef".into()),
        (journal::SOCKET_ENV.into(), socket.display().to_string()),
    ]
}

fn recv(sock: &UnixDatagram) -> Vec<(String, String)> {
    let mut buf = vec![0u8; 1 << 16];
    let n = sock.recv(&mut buf).expect("a datagram within the timeout");
    journal::decode(&buf[..n]).expect("well-formed native protocol")
}

fn get<'a>(fields: &'a [(String, String)], key: &str) -> Option<&'a str> {
    fields
        .iter()
        .find(|(k, _)| k == key)
        .map(|(_, v)| v.as_str())
}

#[test]
fn run_logs_to_the_journal_with_allowed_fields_only() {
    let dir = tempfile::tempdir().unwrap();
    let socket = dir.path().join("journal.sock");
    let journald = UnixDatagram::bind(&socket).unwrap();
    journald
        .set_read_timeout(Some(Duration::from_secs(5)))
        .unwrap();
    let config = dir.path().join("kiosk.toml");
    std::fs::write(&config, "kiosk_id = \"aisle-7\"\n").unwrap();

    let setup = LogSetup::for_run_from(0, Some(&config), &env(&socket), None, socket.exists());
    let target = setup.journal.clone().expect("journald detected");
    assert_eq!(target.socket, socket);
    assert_eq!(target.kiosk_id.as_deref(), Some("aisle-7"));

    tracing::subscriber::with_default(setup.subscriber(), || {
        tracing::warn!(
            target: "shelftalk::copy::engine",
            rows = 3,
            shopper = "sh-4f2a",
            loyalty = "LC55501234",
            error = "line one\nline two",
            "journal test: fell back to template"
        );
        tracing::debug!(target: "shelftalk::copy::engine", "journal test: filtered out");
        tracing::error!(target: "llama-cpp-2", "journal test: model failed");
    });

    let first = recv(&journald);
    assert_eq!(
        get(&first, "MESSAGE"),
        Some("journal test: fell back to template")
    );
    assert_eq!(get(&first, "PRIORITY"), Some("4"));
    assert_eq!(get(&first, "SYSLOG_IDENTIFIER"), Some("shelftalk"));
    assert_eq!(get(&first, "SHELFTALK_COMPONENT"), Some("copy::engine"));
    assert_eq!(get(&first, "SHELFTALK_KIOSK"), Some("aisle-7"));
    assert_eq!(get(&first, "SHELFTALK_F_ROWS"), Some("3"));
    // A value with a newline travels in the binary form and comes back whole.
    assert_eq!(get(&first, "SHELFTALK_F_ERROR"), Some("line one\nline two"));
    assert!(get(&first, "CODE_FILE").is_some_and(|f| f.ends_with("journald.rs")));
    assert!(get(&first, "CODE_LINE").is_some_and(|l| l.parse::<u32>().is_ok()));
    // Not on the allow-list: neither the name nor the value appears anywhere.
    for (k, v) in &first {
        assert!(!k.contains("SHOPPER") && !k.contains("LOYALTY"), "{k}");
        assert!(
            !v.contains("sh-4f2a") && !v.contains("LC55501234"),
            "{k}={v}"
        );
    }

    // The debug line is below the filter; the next datagram is the error.
    let second = recv(&journald);
    assert_eq!(get(&second, "MESSAGE"), Some("journal test: model failed"));
    assert_eq!(get(&second, "PRIORITY"), Some("3"));
    assert_eq!(get(&second, "SHELFTALK_COMPONENT"), Some("llama-cpp-2"));
    journald.set_nonblocking(true).unwrap();
    assert!(
        journald.recv(&mut [0u8; 64]).is_err(),
        "nothing else was sent"
    );

    // The console's ring got the whole line, dated.
    let line = logs::buffer()
        .after(0, usize::MAX)
        .into_iter()
        .find(|r| r.message.starts_with("journal test: fell back"))
        .expect("the ring has the line");
    assert!(line.message.contains("shopper=sh-4f2a"), "{}", line.message);
    let at = line.at.as_bytes();
    assert_eq!(line.at.len(), "2026-11-30 06:00:00".len(), "{}", line.at);
    assert_eq!((at[4], at[7], at[10], at[13]), (b'-', b'-', b' ', b':'));
}

#[test]
fn no_journal_without_systemd_or_with_a_foreign_stream() {
    let dir = tempfile::tempdir().unwrap();
    let socket = dir.path().join("journal.sock");
    // Socket present but not a unit.
    let setup = LogSetup::for_run_from(0, None, &[], None, true);
    assert_eq!(setup.journal, None);
    // A JOURNAL_STREAM that is not our stderr.
    let env = vec![
        ("JOURNAL_STREAM".to_string(), "1:2".to_string()),
        (
            journal::SOCKET_ENV.to_string(),
            socket.display().to_string(),
        ),
    ];
    assert_eq!(
        LogSetup::for_run_from(0, None, &env, Some((3, 4)), false).journal,
        None
    );
    // The same one when it is: the journal, kiosk id from the defaults.
    let setup = LogSetup::for_run_from(2, None, &env, Some((1, 2)), false);
    assert_eq!(setup.filter, "debug");
    let target = setup.journal.unwrap();
    assert_eq!(target.socket, socket);
    assert_eq!(
        target.kiosk_id,
        Some(shelftalk::config::Config::default().kiosk_id)
    );
}

#[test]
fn a_missing_journald_drops_lines_without_blocking() {
    let dir = tempfile::tempdir().unwrap();
    let layer = journal::JournalLayer::new(&journal::JournalTarget {
        socket: dir.path().join("absent.sock"),
        kiosk_id: None,
    })
    .unwrap();
    let probe = layer.clone();
    let subscriber =
        tracing_subscriber::layer::SubscriberExt::with(tracing_subscriber::registry(), layer);
    tracing::subscriber::with_default(subscriber, || {
        tracing::info!("journal test: nobody listening");
    });
    assert_eq!(probe.dropped(), 1);
}
