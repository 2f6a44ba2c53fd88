//! Signed documents with numbers above what HQ stores (SQLite integers are signed 64-bit), against
//! the real server on 127.0.0.1 port 0. Caught by the `hq_ingest` fuzz target's invariant (a
//! refusal is a 4xx, never a 5xx; `fuzz/`): HQ answered 500 `internal` to a validly signed batch
//! with `seq` or a count above `i64::MAX`, to such an audit head, and to such a backlog header.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

#[macro_use]
mod sync_support;

use ring::signature::{Ed25519KeyPair, KeyPair};
use shelftalk::crypto::hex;
use shelftalk::feedback::cells::{Counts, Ipw};
use shelftalk::wire::{self, AuditHeadDocument, BatchDocument};
use sync_support::{Backend, Hq};

const TOO_BIG: u64 = i64::MAX as u64 + 1;

fn device() -> Ed25519KeyPair {
    sync_support::device_key()
}

fn batch(seq: u64, impressions: u64) -> BatchDocument {
    let counts = Counts {
        impressions,
        ..Counts::default()
    };
    let ipw = Ipw {
        impressions: 1.0,
        taps: 0.0,
        conversions: 0.0,
    };
    sync_support::one_cell_batch(("kiosk-9", "store-9"), seq, counts, ipw)
}

fn audit_head(report_seq: u64, head_seq: u64) -> AuditHeadDocument {
    AuditHeadDocument {
        version: wire::AUDIT_HEAD_VERSION,
        kiosk_id: "kiosk-9".into(),
        store_id: "store-9".into(),
        report_seq,
        head_seq,
        head_hash: "3a1c64871a08e513a76fc0d10a629c5778df0523514926c7ea897d318a490069".into(),
        chain_intact: true,
    }
}

/// Posts signed bytes; (status, error code or ack status).
async fn post(
    http: &reqwest::Client,
    hq: &Hq,
    path: &str,
    (body, sig): (Vec<u8>, [u8; 64]),
    backlog: Option<&str>,
) -> (u16, String) {
    let mut req = http
        .post(format!("{}{path}", hq.url))
        .header(wire::KIOSK_HEADER, "kiosk-9")
        .header(wire::SIGNATURE_HEADER, hex(&sig))
        .body(body);
    if let Some(b) = backlog {
        req = req.header(wire::BACKLOG_HEADER, b);
    }
    let resp = req.send().await.unwrap();
    let status = resp.status().as_u16();
    let v: serde_json::Value = resp.json().await.unwrap();
    let code = v["error"]["code"].as_str().or(v["status"].as_str());
    (status, code.unwrap_or_default().to_string())
}

on_both_backends!(numbers_above_what_hq_stores_are_refused_not_a_server_error);

async fn numbers_above_what_hq_stores_are_refused_not_a_server_error(backend: Backend) {
    let dir = tempfile::tempdir().unwrap();
    let Some(hq) = Hq::start_on(backend, dir.path(), module_path!()).await else {
        return;
    };
    let key = device();
    hq.store
        .enroll("kiosk-9", "store-9", key.public_key().as_ref(), 0)
        .unwrap();
    let http = reqwest::Client::new();
    let invalid = (422, "invalid_document".to_string());

    for doc in [batch(TOO_BIG, 1), batch(u64::MAX, 1), batch(1, TOO_BIG)] {
        let sent = post(&http, &hq, "/v1/batches", doc.sign(&key).unwrap(), None).await;
        assert_eq!(sent, invalid);
    }
    for doc in [audit_head(TOO_BIG, 1), audit_head(1, u64::MAX)] {
        let sent = post(&http, &hq, "/v1/audit-heads", doc.sign(&key).unwrap(), None).await;
        assert_eq!(sent, invalid);
    }
    assert_eq!(hq.rows(), (0, 0), "nothing stored");

    // The backlog header is informational: a huge one is read as the most HQ stores.
    let doc = batch(i64::MAX as u64, 1);
    let big = u64::MAX.to_string();
    let sent = post(
        &http,
        &hq,
        "/v1/batches",
        doc.sign(&key).unwrap(),
        Some(&big),
    )
    .await;
    assert_eq!(sent, (200, "accepted".to_string()));
    let kiosk = hq.store.kiosk("kiosk-9").unwrap().unwrap();
    assert_eq!(
        (kiosk.last_seq, kiosk.backlog),
        (i64::MAX as u64, i64::MAX as u64)
    );
    let doc = audit_head(i64::MAX as u64, i64::MAX as u64);
    let sent = post(&http, &hq, "/v1/audit-heads", doc.sign(&key).unwrap(), None).await;
    assert_eq!(sent, (200, "recorded".to_string()));
    hq.stop().await;
}
