//! The console's side of the daemon, in-process: the real control socket and handler on a temp
//! data dir, a real SQLite file and the real model manifest.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use shelftalk::config::Config;
use shelftalk::control::{self, Action, Client, Request, Response};
use shelftalk::copy::Manifest;
use shelftalk::crypto::keyfiles::KeyDir;
use shelftalk::daemon::handler::ActionBody;
use shelftalk::daemon::{socket_path, Daemon};
use shelftalk::profile::{self, Vault};
use shelftalk::ui::console::StatusView;
use shelftalk::vocab::LoyaltyNumber;

const PIN: &str = "246810";
const LOYALTY: &str = "LC55501234";

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

async fn connect(path: &std::path::Path) -> Client {
    for _ in 0..200 {
        if let Ok(c) = Client::connect(path).await {
            return c;
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    panic!("control socket never came up at {}", path.display());
}

fn body<T: serde::de::DeserializeOwned>(r: Response) -> T {
    match r {
        Response::Ok { body } => serde_json::from_value(body).unwrap(),
        other => panic!("expected ok, got {other:?}"),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn console_pin_status_erase_and_audit() {
    let dir = tempfile::tempdir().unwrap();
    let config = Config {
        data_dir: dir.path().to_path_buf(),
        model_path: root().join("models/gemma-3-270m-q4_k_m-en-zh.gguf"),
        console_pin_hash: Some(control::hash_pin(PIN, &shelftalk::crypto::rng()).unwrap()),
        experiment: shelftalk::experiment::ExperimentConfig::off(),
        ..Config::default()
    };
    KeyDir::new(config.key_dir())
        .init(&shelftalk::crypto::rng())
        .unwrap();
    {
        let mut vault = Vault::open(&config).unwrap();
        vault
            .enroll(
                &LoyaltyNumber::parse(LOYALTY).unwrap(),
                profile::parse_consent("personalise").unwrap(),
                false,
                1_790_000_000,
            )
            .unwrap();
    }

    let (answers, _screen) = tokio::sync::mpsc::unbounded_channel();
    let daemon = Daemon::open(config.clone(), None, answers).unwrap();
    let (stop, stop_rx) = tokio::sync::watch::channel(false);
    let server = {
        let d = Arc::clone(&daemon);
        tokio::spawn(async move { d.serve_control(stop_rx).await })
    };
    let sock = socket_path(dir.path());
    let mut client = connect(&sock).await;

    // The socket: mode 0600, owned by us; the peer check refuses any other non-root uid.
    let meta = std::fs::metadata(&sock).unwrap();
    assert_eq!(meta.permissions().mode() & 0o777, 0o600);
    assert!(control::peer_allowed(&sock, meta.uid()));
    let stranger = if meta.uid() == 4242 { 4243 } else { 4242 };
    assert!(!control::peer_allowed(&sock, stranger));

    // Nothing before the PIN; a wrong PIN is refused.
    assert!(matches!(
        client.call(&Request::Status).await.unwrap(),
        Response::Denied { .. }
    ));
    let wrong = client
        .call(&Request::Pin {
            pin: "135790".into(),
        })
        .await
        .unwrap();
    assert!(matches!(wrong, Response::Denied { .. }), "{wrong:?}");
    assert!(matches!(
        client.call(&Request::Status).await.unwrap(),
        Response::Denied { .. }
    ));

    // The right PIN: Status names the real model and its hash from models/manifest.toml.
    let ok = client
        .call(&Request::Pin { pin: PIN.into() })
        .await
        .unwrap();
    assert!(matches!(ok, Response::Ok { .. }), "{ok:?}");
    let status: StatusView = body(client.call(&Request::Status).await.unwrap());
    let manifest = Manifest::load(&root().join("models/manifest.toml")).unwrap();
    assert_eq!(status.model_hash, manifest.sha256);
    assert_eq!(status.model_name, manifest.name);
    assert!(status
        .db_counts
        .iter()
        .any(|(k, n)| k == "shoppers" && *n == 1));

    // Config is redacted.
    let lines: Vec<(String, String)> = body(client.call(&Request::Config).await.unwrap());
    assert!(lines
        .iter()
        .any(|(k, v)| k == "console_pin_hash" && v == "***"));
    assert!(lines.iter().all(|(_, v)| !v.contains("pbkdf2")));

    // Erase: the shopper is gone and the action is audited without the loyalty number.
    let done: ActionBody = body(
        client
            .call(&Request::Action {
                action: Action::EraseShopper {
                    loyalty: LOYALTY.into(),
                },
            })
            .await
            .unwrap(),
    );
    assert!(done.ok, "{}", done.message);
    assert!(Vault::open(&config)
        .unwrap()
        .find(&LoyaltyNumber::parse(LOYALTY).unwrap())
        .unwrap()
        .is_none());
    let audit_path = shelftalk::audit::AuditLog::in_dir(dir.path())
        .path()
        .to_path_buf();
    let audit = std::fs::read_to_string(&audit_path).unwrap();
    assert!(audit.contains("erase_shopper"), "{audit}");
    assert!(!audit.contains(LOYALTY));
    assert!(!audit.contains("55501234"));

    // Logs carry the action but never the loyalty number.
    let logs: Vec<shelftalk::daemon::logs::LogRecord> =
        body(client.call(&Request::Logs { after: 0 }).await.unwrap());
    assert!(logs.iter().all(|l| !l.message.contains("55501234")));

    let _ = stop.send(true);
    server.await.unwrap().unwrap();
    daemon.stop();

    // `audit verify` passes, then fails once one line is tampered with.
    let verify = || {
        std::process::Command::new(env!("CARGO_BIN_EXE_shelftalk"))
            .arg("--data-dir")
            .arg(dir.path())
            .args(["audit", "verify"])
            .current_dir(root())
            .output()
            .unwrap()
    };
    let before = verify();
    assert!(
        before.status.success(),
        "{}",
        String::from_utf8_lossy(&before.stderr)
    );
    std::fs::write(&audit_path, audit.replacen("erased", "ERASED", 1)).unwrap();
    let after = verify();
    assert!(!after.status.success(), "tampering went unnoticed");
}
