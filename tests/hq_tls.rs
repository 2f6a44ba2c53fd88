//! HQ over real TLS on loopback, with certificates generated for the test: kiosks sync over
//! https:// trusting only the CA they pin (`hq_ca_file`), refuse an HQ whose certificate another
//! CA issued, and refuse plain http:// to anything but loopback; `hq serve` refuses unusable
//! certificate and key files naming the file; one client's failed handshake never stops HQ.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

#[macro_use]
mod sync_support;

use std::process::Command;

use shelftalk::config::Config;
use shelftalk::hq::ServeOptions;
use shelftalk::sync::{self, SyncContext, SyncError};
use sync_support::tls::TestPki;
use sync_support::{context, kiosk, kiosk_for, simulate, status, Backend, Hq, NOW};
use tokio::io::AsyncWriteExt;

on_both_backends!(sync_over_https_with_the_pinned_ca_reaches_hq_whole);

async fn sync_over_https_with_the_pinned_ca_reaches_hq_whole(backend: Backend) {
    let tmp = tempfile::tempdir().unwrap();
    let opts = ServeOptions {
        clock: std::sync::Arc::new(|| NOW),
        ..ServeOptions::default()
    };
    let Some(hq) = Hq::start_tls_on_with(backend, tmp.path(), module_path!(), opts).await else {
        return;
    };
    assert!(hq.url.starts_with("https://127.0.0.1:"), "{}", hq.url);
    let (config, keys) = kiosk_for(tmp.path(), "kiosk-tls", &hq);
    hq.enroll(&config, &keys);
    simulate(&config, 200, 5, NOW, 3);

    let ctx = context(&config, &keys);
    let report = sync::run_once(&ctx, NOW).await.unwrap();
    assert!(report.batches_sent >= 1, "{report:?}");
    assert_eq!(report.outbox_left, 0);
    assert!(
        report.audit_head.is_some(),
        "the audit head went over TLS too"
    );
    let after = status(&config);
    assert_eq!(hq.totals(), after.acknowledged.counts);
    assert!(after.acknowledged.counts.impressions > 0);
    let priors = sync::pull_priors(&ctx, NOW).await.unwrap();
    assert!(priors > 0, "signed priors came back over TLS");

    // Plain HTTP to the TLS port is no way in.
    let plain = reqwest::Client::new()
        .get(hq.url.replace("https://", "http://") + "/healthz")
        .send()
        .await;
    assert!(plain.is_err() || !plain.unwrap().status().is_success());
    hq.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_kiosk_pinned_to_another_ca_refuses_and_hq_survives_bad_handshakes() {
    let tmp = tempfile::tempdir().unwrap();
    let hq = Hq::start_tls_on(Backend::Sqlite, tmp.path(), module_path!())
        .await
        .unwrap();
    let addr = hq.url.trim_start_matches("https://").to_string();

    // A client that opens a connection and never says anything holds its own handshake only.
    let _silent = tokio::net::TcpStream::connect(&addr).await.unwrap();
    // One that speaks garbage fails its handshake; HQ goes on.
    let mut garbage = tokio::net::TcpStream::connect(&addr).await.unwrap();
    garbage
        .write_all(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
        .await
        .unwrap();
    drop(garbage);

    // A kiosk that pins another CA: HQ's certificate does not chain to it.
    let other = TestPki::generate(&tmp.path().join("other-ca"), "impostor");
    let (mut config, keys) = kiosk_for(tmp.path(), "kiosk-pinned", &hq);
    config.hq_ca_file = Some(other.ca_file.clone());
    hq.enroll(&config, &keys);
    simulate(&config, 120, 3, NOW, 2);
    let err = sync::run_once(&context(&config, &keys), NOW)
        .await
        .unwrap_err();
    assert!(
        matches!(err, SyncError::Unreachable { .. }),
        "a certificate of another CA is a failed connection: {err}"
    );
    let source = format!("{:?}", std::error::Error::source(&err));
    assert!(
        source.contains("UnknownIssuer") || source.contains("certificate"),
        "{source}"
    );
    let refused = status(&config);
    assert!(
        refused.outbox.batches >= 1,
        "the batches wait in the outbox"
    );
    assert_eq!(refused.acknowledged.batches, 0);
    assert_eq!(hq.rows(), (0, 0), "nothing reached HQ");

    // Pinned to HQ's own CA, the same kiosk gets through: the failed handshakes (the other CA,
    // the garbage, the silent client still connected) did not stop the server.
    config.hq_ca_file = hq.ca_file.clone();
    let report = sync::run_once(&context(&config, &keys), NOW).await.unwrap();
    assert_eq!(report.outbox_left, 0);
    assert_eq!(hq.totals(), status(&config).acknowledged.counts);
    hq.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_self_signed_hq_certificate_can_be_pinned_itself() {
    let tmp = tempfile::tempdir().unwrap();
    let pki = TestPki::self_signed(&tmp.path().join("self"));
    let opts = ServeOptions {
        tls: Some(shelftalk::hq::tls::server_config(&pki.cert_file, &pki.key_file).unwrap()),
        ..ServeOptions::default()
    };
    let hq = Hq::start_on_with(Backend::Sqlite, tmp.path(), module_path!(), opts)
        .await
        .unwrap();
    let (mut config, keys) = kiosk_for(tmp.path(), "kiosk-self", &hq);
    config.hq_ca_file = Some(pki.ca_file.clone());
    hq.enroll(&config, &keys);
    simulate(&config, 120, 4, NOW, 2);
    let report = sync::run_once(&context(&config, &keys), NOW).await.unwrap();
    assert_eq!(report.outbox_left, 0);
    assert_eq!(hq.totals(), status(&config).acknowledged.counts);
    hq.stop().await;
}

#[tokio::test]
async fn plain_http_is_refused_unless_hq_is_loopback_and_https_needs_a_pinned_ca() {
    // The config check names the key and says what to do.
    for url in [
        "http://hq.example.com:8787",
        "http://10.0.0.7",
        "http://[::2]",
    ] {
        let err = Config::load(None, vec![("SHELFTALK_HQ_URL".into(), url.into())])
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("`hq_url`") && err.contains("https://") && err.contains(url),
            "{err}"
        );
    }
    for url in [
        "http://127.0.0.1:8787",
        "http://localhost:8787",
        "http://[::1]:8787",
    ] {
        Config::load(None, vec![("SHELFTALK_HQ_URL".into(), url.into())]).unwrap();
    }

    // The client refuses too, whatever config it is handed.
    let tmp = tempfile::tempdir().unwrap();
    let (mut config, keys) = kiosk(tmp.path(), "kiosk-url", "http://127.0.0.1:9");
    config.hq_url = "http://hq.example.com".into();
    let err = SyncContext::new(config.clone(), keys.clone())
        .err()
        .unwrap();
    assert!(matches!(err, SyncError::HqUrl { .. }), "{err}");
    assert!(
        err.to_string().contains("`hq_url`") && err.to_string().contains("not loopback"),
        "{err}"
    );

    // https:// without a pinned CA: the system's roots are not trusted for HQ.
    config.hq_url = "https://hq.example.com".into();
    let err = SyncContext::new(config.clone(), keys.clone())
        .err()
        .unwrap();
    assert!(matches!(err, SyncError::NoHqCa { .. }), "{err}");
    assert!(err.to_string().contains("hq_ca_file"), "{err}");
    // A CA file that is missing or not PEM is named.
    config.hq_ca_file = Some(tmp.path().join("missing.pem"));
    let err = SyncContext::new(config.clone(), keys.clone())
        .err()
        .unwrap();
    assert!(err.to_string().contains("missing.pem"), "{err}");
    let junk = tmp.path().join("junk.pem");
    std::fs::write(&junk, "not a certificate\n").unwrap();
    config.hq_ca_file = Some(junk);
    let err = SyncContext::new(config.clone(), keys.clone())
        .err()
        .unwrap();
    assert!(
        err.to_string().contains("junk.pem") && err.to_string().contains("no PEM certificate"),
        "{err}"
    );

    // Without HQ's public key there is no sync at all.
    config.hq_public_key = None;
    config.hq_ca_file = None;
    config.hq_url = "http://127.0.0.1:9".into();
    let err = SyncContext::new(config, keys).err().unwrap();
    assert!(matches!(err, SyncError::NoHqPublicKey), "{err}");
    assert!(err.to_string().contains("hq_public_key"), "{err}");
}

fn shelftalk(args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_shelftalk"))
        .args(args)
        .env_remove("SHELFTALK_HQ_DATABASE_URL")
        .env_remove("SHELFTALK_HQ_KEY_FILE")
        .output()
        .unwrap()
}

#[test]
fn hq_keys_init_once_and_serve_refuses_unusable_tls_files_naming_them() {
    let tmp = tempfile::tempdir().unwrap();
    let path = |name: &str| tmp.path().join(name).to_str().unwrap().to_string();
    let key_file = path("hq.pk8");

    let init = shelftalk(&["hq", "keys", "init", "--key-file", &key_file, "--json"]);
    assert!(init.status.success(), "{init:?}");
    let made: serde_json::Value = serde_json::from_slice(&init.stdout).unwrap();
    let public = made["public_key"].as_str().unwrap().to_string();
    assert_eq!(public.len(), 64);
    let shown = shelftalk(&["hq", "keys", "show-public", "--key-file", &key_file]);
    assert_eq!(String::from_utf8_lossy(&shown.stdout).trim(), public);
    let again = shelftalk(&["hq", "keys", "init", "--key-file", &key_file]);
    assert!(!again.status.success());
    assert!(
        String::from_utf8_lossy(&again.stderr).contains("refusing to overwrite"),
        "{again:?}"
    );

    let pki = TestPki::generate(&tmp.path().join("tls"), "HQ");
    let other = TestPki::generate(&tmp.path().join("other"), "other");
    let (junk, no_key) = (path("junk.pem"), path("no-such.pk8"));
    std::fs::write(&junk, "this is no certificate\n").unwrap();
    let cert = pki.cert_file.to_str().unwrap();
    let key = pki.key_file.to_str().unwrap();
    let serve = |extra: &[&str]| {
        let db = path("hq.db");
        let mut args = vec!["hq", "serve", "--listen", "127.0.0.1:0", "--db", &db];
        args.extend_from_slice(extra);
        shelftalk(&args)
    };
    let cases: [(Vec<&str>, &[&str]); 5] = [
        (
            vec![
                "--key-file",
                &key_file,
                "--tls-cert",
                "/no/such/cert.pem",
                "--tls-key",
                key,
            ],
            &["TLS certificate file /no/such/cert.pem"],
        ),
        (
            vec![
                "--key-file",
                &key_file,
                "--tls-cert",
                &junk,
                "--tls-key",
                key,
            ],
            &["junk.pem", "no PEM certificate"],
        ),
        (
            vec![
                "--key-file",
                &key_file,
                "--tls-cert",
                cert,
                "--tls-key",
                cert,
            ],
            &["TLS key file", "cert.pem", "no PEM private key"],
        ),
        (
            vec![
                "--key-file",
                &key_file,
                "--tls-cert",
                cert,
                "--tls-key",
                other.key_file.to_str().unwrap(),
            ],
            &["does not match the certificate", "other/key.pem"],
        ),
        (
            vec!["--key-file", &no_key],
            &["HQ's signing key", "no-such.pk8"],
        ),
    ];
    for (args, wanted) in cases {
        let out = serve(&args);
        assert!(!out.status.success(), "{args:?} served");
        let stderr = String::from_utf8_lossy(&out.stderr);
        for w in wanted {
            assert!(stderr.contains(w), "{args:?}: {w:?} not in {stderr}");
        }
    }
    // --tls-cert without --tls-key is a usage error.
    let out = serve(&["--key-file", &key_file, "--tls-cert", cert]);
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("--tls-key"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hq_serve_over_tls_with_its_key_file_serves_a_pinned_kiosk() {
    use std::io::BufRead;

    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    let key_file = dir.join("hq.pk8");
    let init = shelftalk(&[
        "hq",
        "keys",
        "init",
        "--key-file",
        key_file.to_str().unwrap(),
    ]);
    assert!(init.status.success(), "{init:?}");
    let public = String::from_utf8(
        shelftalk(&[
            "hq",
            "keys",
            "show-public",
            "--key-file",
            key_file.to_str().unwrap(),
        ])
        .stdout,
    )
    .unwrap()
    .trim()
    .to_string();
    let pki = TestPki::generate(&dir.join("tls"), "HQ");
    let db = dir.join("hq.db");
    let mut child = Command::new(env!("CARGO_BIN_EXE_shelftalk"))
        .args(["hq", "serve", "--listen", "127.0.0.1:0", "--db"])
        .arg(&db)
        .arg("--key-file")
        .arg(&key_file)
        .arg("--tls-cert")
        .arg(&pki.cert_file)
        .arg("--tls-key")
        .arg(&pki.key_file)
        .env_remove("SHELFTALK_HQ_DATABASE_URL")
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    // HQ says where it listens once it does.
    let mut lines = std::io::BufReader::new(child.stderr.take().unwrap()).lines();
    let line = lines
        .find_map(|l| l.ok().filter(|l| l.contains("listening on")))
        .unwrap();
    assert!(line.contains(&public), "{line}");
    let url = line
        .split_whitespace()
        .find(|w| w.starts_with("https://"))
        .unwrap()
        .to_string();

    // The kiosk: enrolled with the CLI, pinned to the CA, trusting the key file's public key.
    let (mut config, keys) = kiosk(dir, "kiosk-cli", &url);
    config.hq_ca_file = Some(pki.ca_file.clone());
    config.hq_public_key = Some(public);
    let enrolled = shelftalk(&[
        "hq",
        "enroll",
        "--db",
        db.to_str().unwrap(),
        "--kiosk",
        "kiosk-cli",
        "--store",
        &config.store_id,
        "--pubkey",
        &keys.device_public_hex(),
    ]);
    assert!(enrolled.status.success(), "{enrolled:?}");
    // The real clock: HQ's clock checks the priors request's time.
    let now = time::OffsetDateTime::now_utc().unix_timestamp();
    simulate(&config, 150, 9, now, 2);
    let ctx = context(&config, &keys);
    let report = sync::run_once(&ctx, now).await;
    let priors = sync::pull_priors(&ctx, now).await;
    child.kill().unwrap();
    child.wait().unwrap();
    let report = report.unwrap();
    assert!(
        report.batches_sent >= 1 && report.outbox_left == 0,
        "{report:?}"
    );
    assert!(priors.unwrap() > 0);
}
