//! HQ's ingest of the two documents kiosks sign, through the real router
//! (`shelftalk::hq::router`) on a real SQLite store: signature first (by the kiosk the request's
//! kiosk header names, always `kiosk-01` here), then the JSON document, then the store. `POST /v1/batches` (feedback batches) and `POST /v1/audit-heads` (the head of
//! a kiosk's audit log).
//!
//! Input: the first byte chooses how the request is made, the rest is the body (the document):
//! - bit 0 clear: the harness signs the body with the enrolled kiosks' key (for the endpoint's
//!   context), so the fuzzer reaches the JSON parser, validation and the store with any
//!   document; set: the next 64 bytes are the signature as sent (hex in the header), or none
//!   when the input is shorter — such a request can never verify;
//! - bit 1: the next 8 bytes (little-endian) are sent as the informational backlog header;
//! - bit 2: the audit-head endpoint instead of the batch endpoint.
//!
//! The store starts from the same template every time: `kiosk-01` (store `store-001`, enabled),
//! `kiosk-02` (disabled) and `kiosk-03` (store `store-002`), all with the test key; one batch of
//! `kiosk-01` already received (the golden document of `tests/feedback_wire.rs`, seq 42) and one
//! audit head report of it (report 5).
//!
//! Invariants:
//! - HQ stores the whole document or nothing: an accepted batch is in the store with its cells
//!   counted once in the roll-up and the kiosk's new sequence number; a recorded audit head changes the store; any
//!   other answer (a duplicate, every refusal) leaves every table as it was, row for row;
//! - a refusal is a 4xx with `{"error": {"code", "message"}}`, never a 5xx;
//! - nothing unsigned is stored, and a well-signed, valid document of `kiosk-01` for its store
//!   that is new (a batch: new id, seq above 42; an audit head: report above 5) is taken (HQ
//!   does not refuse good documents).

use std::path::PathBuf;
use std::sync::Arc;

use axum::body::Body;
use axum::http::{Request, StatusCode};
use ring::signature::{Ed25519KeyPair, KeyPair};
use shelftalk::crypto::{from_hex, hex};
use shelftalk::hq::key::HqKey;
use shelftalk::hq::store::{AuditHeadReport, HqStore, IngestBatch, SqliteHq};
use shelftalk::hq::{router, ServeOptions};
use shelftalk::wire::{
    Ack, ApiError, AuditHeadAck, AuditHeadDocument, BatchDocument, BACKLOG_HEADER, KIOSK_HEADER,
    SIGNATURE_HEADER,
};
use tower::ServiceExt;

use crate::NOW;

/// The test device key of `tests/feedback_wire.rs` (PKCS#8 v2), for the enrolled kiosks.
pub const TEST_PKCS8: &str = "3051020101300506032b657004220420c52b7525083850f75be5d74194a156346d589ddad0027c7a805fff6b3def9900812100df48df7b8d3f8df0e2c77b68e038fb3da9f0ab8568e476323464d2e423f3d213";

/// The golden batch document of `tests/feedback_wire.rs`, stored in the template.
pub const GOLDEN: &str = r#"{"version":1,"batch_id":"0b7f4c2e-5d0a-4f7e-9a51-3c2d1e0f9a8b","kiosk_id":"kiosk-01","store_id":"store-001","seq":42,"created_day":"2026-09-21","software":"0.1.0","k_anonymity":5,"noise_epsilon":0.0,"dropped":{"batches":0,"counts":{"impressions":0,"taps":0,"thumbs_up":0,"thumbs_down":0,"whys":0,"opt_outs":0,"dwells":0,"dwell_ms":0,"conversions":0}},"cells":[{"day":"2026-09-20","sku":"SKU-1","style":"playful","segment":"footwear:mid","content_kind":"blurb","sessions":7,"counts":{"impressions":12,"taps":3,"thumbs_up":1,"thumbs_down":0,"whys":1,"opt_outs":0,"dwells":9,"dwell_ms":21500,"conversions":1},"ipw":{"impressions":48.0,"taps":12.0,"conversions":4.0}}]}"#;
const GOLDEN_BATCH_ID: &str = "0b7f4c2e-5d0a-4f7e-9a51-3c2d1e0f9a8b";

/// The audit head report stored in the template (report 5 of `kiosk-01`).
pub const AUDIT_HEAD: &str = r#"{"version":1,"kiosk_id":"kiosk-01","store_id":"store-001","report_seq":5,"head_seq":12,"head_hash":"7d8f1e0c2b3a4956879a0b1c2d3e4f5061728394a5b6c7d8e9f0a1b2c3d4e5f6","chain_intact":true}"#;

pub fn key() -> Ed25519KeyPair {
    Ed25519KeyPair::from_pkcs8(&from_hex(TEST_PKCS8).expect("hex")).expect("pkcs8")
}

/// Which document a request posts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Endpoint {
    Batches,
    AuditHeads,
}

impl Endpoint {
    fn path(self) -> &'static str {
        match self {
            Self::Batches => "/v1/batches",
            Self::AuditHeads => "/v1/audit-heads",
        }
    }

    fn context(self) -> &'static [u8] {
        match self {
            Self::Batches => b"shelftalk/batch/v1\0",
            Self::AuditHeads => b"shelftalk/audit-head/v1\0",
        }
    }
}

/// The signature a kiosk makes over the exact bytes it posts.
pub fn sign(key: &Ed25519KeyPair, endpoint: Endpoint, body: &[u8]) -> Vec<u8> {
    let mut msg = endpoint.context().to_vec();
    msg.extend_from_slice(body);
    key.sign(&msg).as_ref().to_vec()
}

/// An HQ database reset from its template before every input.
pub struct Hq {
    _dir: tempfile::TempDir,
    db: PathBuf,
    template: Vec<u8>,
    key: Ed25519KeyPair,
    /// HQ's own key, which signs its acknowledgements.
    answer_key: Arc<HqKey>,
    runtime: tokio::runtime::Runtime,
}

/// Every row of every table, as text (what an ingest may have changed).
fn state(db: &std::path::Path) -> String {
    let conn = rusqlite::Connection::open(db).expect("open");
    let tables: Vec<String> = conn
        .prepare("SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name")
        .expect("prepare")
        .query_map([], |r| r.get(0))
        .expect("tables")
        .collect::<Result<_, _>>()
        .expect("names");
    let mut out = String::new();
    for table in tables {
        out.push_str(&format!("== {table}\n"));
        let mut stmt = conn
            .prepare(&format!("SELECT * FROM \"{table}\" ORDER BY rowid"))
            .or_else(|_| conn.prepare(&format!("SELECT * FROM \"{table}\" ORDER BY 1")))
            .expect("prepare");
        let n = stmt.column_count();
        let mut rows = stmt.query([]).expect("query");
        while let Some(row) = rows.next().expect("row") {
            for i in 0..n {
                let v: rusqlite::types::Value = row.get(i).expect("value");
                out.push_str(&format!("{v:?}|"));
            }
            out.push('\n');
        }
    }
    out
}

fn query_i64(db: &std::path::Path, sql: &str, params: impl rusqlite::Params) -> i64 {
    rusqlite::Connection::open(db)
        .expect("open")
        .query_row(sql, params, |r| r.get(0))
        .expect("query")
}

impl Hq {
    pub fn new() -> Self {
        let dir = crate::import::scratch_dir();
        let db = dir.path().join("hq.db");
        let key = key();
        {
            let hq = SqliteHq::open(&db).expect("hq db");
            let public = key.public_key().as_ref();
            hq.enroll("kiosk-01", "store-001", public, NOW)
                .expect("enroll");
            hq.enroll("kiosk-02", "store-001", public, NOW)
                .expect("enroll");
            hq.set_enabled("kiosk-02", false).expect("disable");
            hq.enroll("kiosk-03", "store-002", public, NOW)
                .expect("enroll");
            let doc = BatchDocument::parse(GOLDEN.as_bytes()).expect("golden");
            let sig = sign(&key, Endpoint::Batches, GOLDEN.as_bytes());
            hq.ingest(&IngestBatch {
                doc: &doc,
                bytes: GOLDEN.as_bytes(),
                signature: &sig,
                backlog: 0,
                now: NOW,
            })
            .expect("golden batch");
            let head = AuditHeadDocument::parse(AUDIT_HEAD.as_bytes()).expect("audit head");
            head.validate().expect("valid audit head");
            let sig = sign(&key, Endpoint::AuditHeads, AUDIT_HEAD.as_bytes());
            hq.record_audit_head(&AuditHeadReport {
                doc: &head,
                bytes: AUDIT_HEAD.as_bytes(),
                signature: &sig,
                now: NOW,
            })
            .expect("audit head report");
        }
        // Fold the WAL into the file: the template is the one file.
        rusqlite::Connection::open(&db)
            .expect("open")
            .query_row("PRAGMA wal_checkpoint(TRUNCATE)", [], |_| Ok(()))
            .expect("checkpoint");
        let template = std::fs::read(&db).expect("template");
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("runtime");
        Self {
            _dir: dir,
            db,
            template,
            key,
            answer_key: Arc::new(HqKey::ephemeral(&shelftalk::crypto::rng()).expect("HQ key")),
            runtime,
        }
    }

    fn fresh(&self) -> Arc<SqliteHq> {
        for suffix in ["", "-wal", "-shm"] {
            let mut path = self.db.clone().into_os_string();
            path.push(suffix);
            let _ = std::fs::remove_file(PathBuf::from(path));
        }
        std::fs::write(&self.db, &self.template).expect("copy template");
        Arc::new(SqliteHq::open(&self.db).expect("open hq"))
    }
}

impl Default for Hq {
    fn default() -> Self {
        Self::new()
    }
}

/// The HQ target.
pub fn check_request(hq: &Hq, data: &[u8]) {
    let Some((&mode, mut rest)) = data.split_first() else {
        return;
    };
    let signed = mode & 1 == 0;
    let endpoint = if mode & 4 == 0 {
        Endpoint::Batches
    } else {
        Endpoint::AuditHeads
    };
    let mut signature = None;
    if !signed && rest.len() >= 64 {
        signature = Some(rest[..64].to_vec());
        rest = &rest[64..];
    }
    let mut backlog = None;
    if mode & 2 != 0 && rest.len() >= 8 {
        let mut le = [0u8; 8];
        le.copy_from_slice(&rest[..8]);
        backlog = Some(u64::from_le_bytes(le));
        rest = &rest[8..];
    }
    let body = rest;
    if signed {
        signature = Some(sign(&hq.key, endpoint, body));
    }

    let store = hq.fresh();
    let before = state(&hq.db);
    let app = router(
        store,
        ServeOptions {
            max_body: 64 * 1024,
            clock: Arc::new(|| NOW + 60),
            kiosk_rate: None,
            answer_key: Some(Arc::clone(&hq.answer_key)),
            ..ServeOptions::default()
        },
    );
    // Every request names `kiosk-01`, whose key signs: HQ verifies before it decodes.
    let mut request = Request::post(endpoint.path())
        .header("content-type", "application/json")
        .header(KIOSK_HEADER, "kiosk-01");
    if let Some(sig) = &signature {
        request = request.header(SIGNATURE_HEADER, hex(sig));
    }
    if let Some(backlog) = backlog {
        request = request.header(BACKLOG_HEADER, backlog.to_string());
    }
    let request = request.body(Body::from(body.to_vec())).expect("request");
    let (status, answer) = hq.runtime.block_on(async {
        let response = app.oneshot(request).await.expect("infallible router");
        let status = response.status();
        let bytes = axum::body::to_bytes(response.into_body(), 1 << 20)
            .await
            .expect("body");
        (status, bytes)
    });
    let answer_text = String::from_utf8_lossy(&answer).into_owned();
    assert!(
        !status.is_server_error(),
        "HQ answered {status} to a kiosk's {endpoint:?} request: {answer_text}"
    );
    let after = state(&hq.db);
    if status != StatusCode::OK {
        assert!(status.is_client_error(), "unexpected status {status}");
        if status != StatusCode::PAYLOAD_TOO_LARGE {
            let error: ApiError =
                serde_json::from_slice(&answer).expect("a refusal is an ApiError");
            assert!(!error.error.code.is_empty() && !error.error.message.is_empty());
        }
        assert_eq!(
            before, after,
            "a refused request changed the store ({status})"
        );
    }
    match endpoint {
        Endpoint::Batches => check_batch(hq, signed, body, status, &answer, &before, &after),
        Endpoint::AuditHeads => check_audit_head(signed, body, status, &answer, &before, &after),
    }
}

fn check_batch(
    hq: &Hq,
    signed: bool,
    body: &[u8],
    status: StatusCode,
    answer: &[u8],
    before: &str,
    after: &str,
) {
    let doc = BatchDocument::parse(body).ok();
    let valid = doc.as_ref().is_some_and(|d| d.validate().is_ok());
    if status != StatusCode::OK {
        // A good batch is not refused.
        if let (true, true, Some(doc)) = (signed, valid, &doc) {
            let fresh = doc.kiosk_id == "kiosk-01"
                && doc.store_id == "store-001"
                && doc.seq > 42
                && doc.batch_id != GOLDEN_BATCH_ID;
            assert!(
                !fresh,
                "a signed, valid, new batch was refused with {status}: {}",
                String::from_utf8_lossy(answer)
            );
        }
        return;
    }
    let ack: Ack = serde_json::from_slice(answer).expect("an OK answer is an Ack");
    let doc = doc.expect("acknowledged a batch that does not parse");
    assert!(
        signed,
        "acknowledged a batch that was not signed by the kiosk"
    );
    assert!(valid, "acknowledged a batch that does not validate");
    assert_eq!(
        (ack.batch_id.as_str(), ack.seq),
        (doc.batch_id.as_str(), doc.seq)
    );
    match ack.status.as_str() {
        "accepted" => {
            // Its cells are in the roll-up beside the earlier batch's (12 impressions), each
            // counted once.
            let counted = |column: &str| {
                query_i64(
                    &hq.db,
                    &format!("SELECT coalesce(sum({column}), 0) FROM rollup_kiosk_day"),
                    [],
                )
            };
            let sent = |f: fn(&shelftalk::feedback::cells::Cell) -> u64| {
                doc.cells
                    .iter()
                    .map(f)
                    .fold(0i64, |a, v| a.saturating_add(v as i64))
            };
            assert_eq!(
                counted("impressions"),
                12 + sent(|c| c.counts.impressions),
                "roll-up impressions vs the batch's"
            );
            assert_eq!(
                counted("sessions"),
                7 + sent(|c| c.sessions),
                "roll-up sessions vs the batch's"
            );
            let stored = query_i64(
                &hq.db,
                "SELECT count(*) FROM batches WHERE batch_id = ?1 AND seq = ?2",
                rusqlite::params![doc.batch_id, doc.seq as i64],
            );
            assert_eq!(stored, 1, "accepted batch not stored");
            let last_seq = query_i64(
                &hq.db,
                "SELECT last_seq FROM kiosks WHERE kiosk_id = ?1",
                [&doc.kiosk_id],
            );
            assert_eq!(last_seq, doc.seq as i64, "kiosk's sequence number");
        }
        "duplicate" => assert_eq!(before, after, "a duplicate changed the store"),
        other => panic!("unknown ack status {other:?}"),
    }
}

fn check_audit_head(
    signed: bool,
    body: &[u8],
    status: StatusCode,
    answer: &[u8],
    before: &str,
    after: &str,
) {
    let doc = AuditHeadDocument::parse(body).ok();
    let valid = doc.as_ref().is_some_and(|d| d.validate().is_ok());
    if status != StatusCode::OK {
        if let (true, true, Some(doc)) = (signed, valid, &doc) {
            let fresh =
                doc.kiosk_id == "kiosk-01" && doc.store_id == "store-001" && doc.report_seq > 5;
            assert!(
                !fresh,
                "a signed, valid, new audit head was refused with {status}: {}",
                String::from_utf8_lossy(answer)
            );
        }
        return;
    }
    let ack: AuditHeadAck = serde_json::from_slice(answer).expect("an OK answer is an ack");
    let doc = doc.expect("acknowledged an audit head that does not parse");
    assert!(signed, "acknowledged an audit head not signed by the kiosk");
    assert!(valid, "acknowledged an audit head that does not validate");
    assert_eq!(ack.report_seq, doc.report_seq);
    match ack.status.as_str() {
        "recorded" => assert_ne!(before, after, "a recorded audit head changed nothing"),
        "duplicate" => assert_eq!(before, after, "a duplicate changed the store"),
        other => panic!("unknown ack status {other:?}"),
    }
}
