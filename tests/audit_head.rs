//! End to end: a kiosk's technician audit log, its signed head reported with every sync to the
//! real HQ on loopback, and HQ telling a rewritten log apart — a head that went backwards, one
//! that changed at the same seq, a chain the kiosk finds broken — in `/v1/kiosks` and on the
//! dashboard. Played-back and forged reports are refused.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

#[macro_use]
mod sync_support;

use ring::signature::Ed25519KeyPair;
use serde_json::Value;
use shelftalk::audit::AuditLog;
use shelftalk::crypto::hex;
use shelftalk::sync::{self, SyncReport};
use shelftalk::wire::{AuditHeadDocument, AuditVerdict, AUDIT_HEAD_VERSION, SIGNATURE_HEADER};
use sync_support::{context, kiosk, Backend, Hq, NOW};

fn http() -> reqwest::Client {
    shelftalk::crypto::install_tls_provider();
    reqwest::Client::new()
}

/// The kiosk's entry in HQ's fleet document.
async fn fleet_entry(hq: &Hq, kiosk: &str) -> Value {
    let fleet: Value = http()
        .get(format!("{}/v1/kiosks", hq.url))
        .bearer_auth(&hq.token)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    fleet["kiosks"]
        .as_array()
        .unwrap()
        .iter()
        .find(|k| k["kiosk_id"] == kiosk)
        .cloned()
        .unwrap_or_else(|| panic!("{kiosk} not in {fleet}"))
}

fn append(log: &AuditLog, n: usize, what: &str) {
    for i in 0..n {
        log.append(
            1_700_000_000 + i as i64,
            "console",
            what,
            &format!("{what} {i}"),
        )
        .unwrap();
    }
}

fn verdict_of(report: &SyncReport) -> AuditVerdict {
    report.audit_head.as_ref().expect("head reported").verdict
}

/// `shelftalk audit verify --head SEQ:HASH` on a data dir (the real binary).
fn audit_verify(data_dir: &std::path::Path, head: &str) -> std::process::Output {
    std::process::Command::new(env!("CARGO_BIN_EXE_shelftalk"))
        .arg("--data-dir")
        .arg(data_dir)
        .args(["audit", "verify", "--head", head])
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output()
        .unwrap()
}

/// Posts raw bytes as an audit head report; returns (status, body).
/// Posts a signed head as its kiosk does: the kiosk it names in the kiosk header.
async fn post_head(hq: &Hq, bytes: Vec<u8>, sig: &[u8]) -> (u16, Value) {
    let doc: Value = serde_json::from_slice(&bytes).unwrap();
    let resp = http()
        .post(format!("{}/v1/audit-heads", hq.url))
        .header("content-type", "application/json")
        .header(
            shelftalk::wire::KIOSK_HEADER,
            doc["kiosk_id"].as_str().unwrap(),
        )
        .header(SIGNATURE_HEADER, hex(sig))
        .body(bytes)
        .send()
        .await
        .unwrap();
    let status = resp.status().as_u16();
    (status, resp.json().await.unwrap_or(Value::Null))
}

on_both_backends!(hq_records_signed_audit_heads_and_flags_a_rewritten_log);

async fn hq_records_signed_audit_heads_and_flags_a_rewritten_log(backend: Backend) {
    let tmp = tempfile::tempdir().unwrap();
    let Some(hq) = Hq::start_on(backend, tmp.path(), module_path!()).await else {
        return;
    };
    let (config, keys) = kiosk(tmp.path(), "kiosk-audit", &hq.url);
    hq.enroll(&config, &keys);
    // A kiosk that never reports a head (older software) is listed without one.
    let (quiet, quiet_keys) = kiosk(tmp.path(), "kiosk-quiet", &hq.url);
    hq.enroll(&quiet, &quiet_keys);
    let ctx = context(&config, &keys);
    let log = AuditLog::in_dir(&config.data_dir);

    // The head goes with the sync, even with no batch to send.
    append(&log, 3, "rotate_keys");
    let r = sync::run_once(&ctx, NOW).await.unwrap();
    assert_eq!(r.batches_sent, 0);
    let head = r.audit_head.clone().unwrap();
    assert_eq!((head.report_seq, head.head_seq), (1, 3));
    assert!(head.chain_intact);
    assert_eq!(head.verdict, AuditVerdict::Advanced);
    let k = fleet_entry(&hq, "kiosk-audit").await;
    assert_eq!(k["audit"]["head_seq"], 3);
    assert_eq!(k["audit"]["head_hash"], log.verify().unwrap().head.as_str());
    assert_eq!(k["audit"]["alarms"], 0);
    assert_ne!(k["health"], "audit_alarm");
    assert!(fleet_entry(&hq, "kiosk-quiet").await["audit"].is_null());

    // Nothing new: unchanged. Two more entries: advanced.
    let r = sync::run_once(&ctx, NOW + 60).await.unwrap();
    assert_eq!(verdict_of(&r), AuditVerdict::Unchanged);
    append(&log, 2, "erase_shopper");
    let r = sync::run_once(&ctx, NOW + 120).await.unwrap();
    assert_eq!(verdict_of(&r), AuditVerdict::Advanced);
    assert_eq!(r.audit_head.as_ref().unwrap().head_seq, 5);
    let honest = std::fs::read_to_string(log.path()).unwrap();
    // The head HQ recorded, as an auditor reads it from /v1/kiosks, checks out on the kiosk.
    let k = fleet_entry(&hq, "kiosk-audit").await;
    let hq_head = format!(
        "{}:{}",
        k["audit"]["head_seq"],
        k["audit"]["head_hash"].as_str().unwrap()
    );
    assert!(audit_verify(&config.data_dir, &hq_head).status.success());

    // Someone drops the last three lines (the chain that is left verifies): backwards.
    let first_two: String = honest.lines().take(2).map(|l| format!("{l}\n")).collect();
    std::fs::write(log.path(), &first_two).unwrap();
    assert!(log.verify().is_ok());
    let r = sync::run_once(&ctx, NOW + 180).await.unwrap();
    assert_eq!(verdict_of(&r), AuditVerdict::Regressed);
    let k = fleet_entry(&hq, "kiosk-audit").await;
    assert_eq!(k["health"], "audit_alarm");
    assert_eq!(k["audit"]["alarms"], 1);
    assert_eq!(k["audit"]["last_alarm"]["verdict"], "regressed");
    assert_eq!(k["audit"]["last_alarm"]["head_seq"], 2);
    assert_eq!(k["audit"]["last_alarm"]["previous_seq"], 5);

    // ... and replaces it with a chain of its own of the same length: changed at the same seq.
    let other = tempfile::tempdir().unwrap();
    append(&AuditLog::in_dir(other.path()), 2, "self_test");
    std::fs::copy(AuditLog::in_dir(other.path()).path(), log.path()).unwrap();
    let r = sync::run_once(&ctx, NOW + 240).await.unwrap();
    assert_eq!(verdict_of(&r), AuditVerdict::Forked);

    // Grown past the head HQ saw before the rewrite, the forged log looks like progress to HQ,
    // but the kiosk's log no longer holds that head: `audit verify --head` says so.
    append(&AuditLog::in_dir(other.path()), 4, "self_test");
    std::fs::copy(AuditLog::in_dir(other.path()).path(), log.path()).unwrap();
    let r = sync::run_once(&ctx, NOW + 270).await.unwrap();
    assert_eq!(verdict_of(&r), AuditVerdict::Advanced);
    let out = audit_verify(&config.data_dir, &hq_head);
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("was rewritten"), "{stderr}");

    // Editing a line in place breaks the chain, which the kiosk reports itself.
    let forged = std::fs::read_to_string(log.path()).unwrap();
    std::fs::write(log.path(), forged.replacen("self_test 0", "self_test 9", 1)).unwrap();
    let r = sync::run_once(&ctx, NOW + 300).await.unwrap();
    assert_eq!(verdict_of(&r), AuditVerdict::Broken);
    assert!(!r.audit_head.as_ref().unwrap().chain_intact);
    let k = fleet_entry(&hq, "kiosk-audit").await;
    assert_eq!(k["audit"]["alarms"], 3);
    assert_eq!(k["audit"]["open_alarms"], 3);
    assert_eq!(k["audit"]["chain_intact"], false);
    assert_eq!(k["audit"]["last_alarm"]["verdict"], "broken");

    // The dashboard shows the alarm.
    let page = http()
        .get(format!("{}/", hq.url))
        .bearer_auth(&hq.token)
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(page.contains("<tr class=\"audit_alarm\">"), "{page}");
    assert!(page.contains("last: broken"), "{page}");

    // HQ kept the signed reports as evidence; they carry a seq and a hash, no log content.
    let reports = hq.audit_reports();
    assert_eq!(
        reports.iter().map(|r| r.0).collect::<Vec<_>>(),
        vec![1, 3, 4, 5, 6, 7],
        "every report but the unchanged one"
    );
    for (_, doc, _) in &reports {
        let text = String::from_utf8(doc.clone()).unwrap();
        for word in ["console", "rotate_keys", "erase_shopper", "self_test"] {
            assert!(!text.contains(word), "{text}");
        }
    }

    // A report played back to HQ is refused; the last one again is a duplicate.
    let (old_doc, old_sig) = (reports[0].1.clone(), reports[0].2.clone());
    let (status, body) = post_head(&hq, old_doc, &old_sig).await;
    assert_eq!(status, 409, "{body}");
    assert_eq!(body["error"]["code"], "stale_report");
    let (last_doc, last_sig) = (reports[5].1.clone(), reports[5].2.clone());
    let (status, body) = post_head(&hq, last_doc, &last_sig).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["status"], "duplicate");
    assert_eq!(body["verdict"], "broken");

    // A head signed by another key, or by a kiosk HQ does not know, is refused.
    let forged = AuditHeadDocument {
        version: AUDIT_HEAD_VERSION,
        kiosk_id: "kiosk-audit".into(),
        store_id: "store-7".into(),
        report_seq: 100,
        head_seq: 99,
        head_hash: "0".repeat(64),
        chain_intact: true,
    };
    let stranger = Ed25519KeyPair::generate_pkcs8(&ring::rand::SystemRandom::new()).unwrap();
    let stranger = Ed25519KeyPair::from_pkcs8(stranger.as_ref()).unwrap();
    let (bytes, sig) = forged.sign(&stranger).unwrap();
    let (status, body) = post_head(&hq, bytes, &sig).await;
    assert_eq!(status, 401, "{body}");
    assert_eq!(body["error"]["code"], "unauthenticated");
    let unknown = AuditHeadDocument {
        kiosk_id: "kiosk-nobody".into(),
        ..forged.clone()
    };
    let (bytes, sig) = unknown.sign(&keys.device).unwrap();
    let (status, unknown_body) = post_head(&hq, bytes, &sig).await;
    assert_eq!(status, 401, "{unknown_body}");
    assert_eq!(
        unknown_body, body,
        "an unknown kiosk is answered as a bad signature"
    );
    let k = fleet_entry(&hq, "kiosk-audit").await;
    assert_eq!(k["audit"]["report_seq"], 7, "nothing refused was recorded");

    // Looked into and acknowledged at HQ (the real binary on HQ's database): on record still,
    // the kiosk's health is back.
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_shelftalk"))
        .args(["hq", "audit-ack"])
        .args(hq.db_args())
        .args(["--kiosk", "kiosk-audit"])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(String::from_utf8_lossy(&out.stdout).contains("3 audit alarm(s) acknowledged"));
    let k = fleet_entry(&hq, "kiosk-audit").await;
    assert_eq!(
        (
            k["audit"]["alarms"].as_u64(),
            k["audit"]["open_alarms"].as_u64()
        ),
        (Some(3), Some(0))
    );
    assert_ne!(k["health"], "audit_alarm");
    assert!(fleet_entry(&hq, "kiosk-quiet").await["audit"].is_null());
    hq.stop().await;
}

on_both_backends!(while_hq_is_unreachable_the_head_waits_and_report_numbers_are_never_reused);

async fn while_hq_is_unreachable_the_head_waits_and_report_numbers_are_never_reused(
    backend: Backend,
) {
    let tmp = tempfile::tempdir().unwrap();
    // An address nothing listens on: bind, note it, close.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let (config, keys) = kiosk(
        tmp.path(),
        "kiosk-offline",
        &format!("http://127.0.0.1:{port}"),
    );
    append(&AuditLog::in_dir(&config.data_dir), 1, "rotate_keys");
    let err = sync::run_once(&context(&config, &keys), NOW)
        .await
        .unwrap_err();
    assert!(err.retryable(), "{err}");

    // HQ up: the head arrives. The number the failed attempt took is not used again.
    let Some(hq) = Hq::start_on(backend, tmp.path(), module_path!()).await else {
        return;
    };
    hq.enroll(&config, &keys);
    let config = shelftalk::config::Config {
        hq_url: hq.url.clone(),
        ..config
    };
    let ctx = context(&config, &keys);
    let first = sync::run_once(&ctx, NOW + 60).await.unwrap();
    let second = sync::run_once(&ctx, NOW + 120).await.unwrap();
    let (a, b) = (first.audit_head.unwrap(), second.audit_head.unwrap());
    assert_eq!((a.report_seq, a.head_seq), (2, 1));
    assert_eq!(a.verdict, AuditVerdict::Advanced);
    assert_eq!(b.report_seq, 3);
    hq.stop().await;
}
