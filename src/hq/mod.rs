//! The HQ server (axum): kiosk enrolment, batch ingest, reports, fleet status, priors, a
//! dashboard page and the OpenAPI document.
//!
//! Invariants:
//! - Ingest stores a batch only after its signature verifies against the enrolled key of an
//!   enabled kiosk and its document validates; every refusal is a 4xx with
//!   `{"error": {"code", "message"}}` and stores nothing.
//! - A re-sent batch id is acknowledged (`duplicate`) without being counted again; an old batch
//!   id (`replay`) or a new id with a sequence number not above the kiosk's last
//!   (`sequence_regression`) is refused with 409.
//! - An audit head report (`POST /v1/audit-heads`) is authenticated like a batch (enrolled,
//!   enabled kiosk; signature over the exact body; its store) and recorded with a verdict against
//!   the head recorded before ([`store::judge`]); a report number not above the last is refused
//!   with 409 `stale_report` unless it is the same report again. A head that went backwards,
//!   changed at the same seq or whose chain the kiosk finds broken is logged as a warning and
//!   shown in `/v1/kiosks` and on the dashboard (health `audit_alarm` until `hq audit-ack`).
//! - A full disk under HQ's database (`SQLITE_FULL`) rolls the request's transaction back and
//!   answers 503 `storage_full` (retryable): the kiosk keeps the batch and sends it again; it is
//!   stored once when space returns.
//! - Bodies above `max_body` bytes are refused with 413 before they are buffered whole.
//! - Analyst endpoints require a bearer token (stored hashed); `/` also accepts `?token=`.
//!   `/v1/priors` accepts a bearer token or a kiosk-signed request. `/openapi.json` and
//!   `/healthz` are public.
//! - The listener and the clock are injected ([`serve`]), so tests bind port 0 and need no sleeps.

// Handlers answer refusals with a ready `Response` as the error value (the axum idiom).
#![allow(clippy::result_large_err)]

pub mod page;
pub mod pg;
pub mod pg_cluster;
pub mod report;
pub mod retention;
pub mod rollup;
pub mod store;

use std::future::Future;
use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::rejection::{BytesRejection, QueryRejection};
use axum::extract::{DefaultBodyLimit, Query, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{Html, IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde::Deserialize;

use crate::crypto::from_hex;
use crate::feedback::cells::Day;
use crate::store::StoreError;
use crate::wire::{
    self, Ack, ApiError, ApiErrorBody, AuditHeadAck, AuditHeadDocument, BatchDocument, WireError,
    BACKLOG_HEADER, KIOSK_HEADER, MAX_CLOCK_SKEW_SECS, SIGNATURE_HEADER, TIME_HEADER,
};
use store::{
    token_digest, AuditHeadOutcome, AuditHeadReport, Dim, HqStore, IngestBatch, IngestOutcome,
};

/// Default largest accepted request body.
pub const DEFAULT_MAX_BODY: usize = 4 * 1024 * 1024;

#[derive(Debug, thiserror::Error)]
pub enum HqError {
    #[error(transparent)]
    Store(#[from] StoreError),
    /// The kiosk id as the request named it.
    #[error("unknown kiosk {0:?}")]
    UnknownKiosk(String),
    /// A query the analyst sent that cannot be answered; the text (composed here around the
    /// analyst's own input) says which part and what is accepted.
    #[error("{0}")]
    BadQuery(String),
    #[error("invalid public key: expected 64 hex characters (shelftalk keys show-public)")]
    BadKey,
    /// HQ's database is on a full disk: the request's transaction was rolled back.
    #[error("HQ database {path} is on a full disk; nothing of this request was stored: {source}")]
    StorageFull {
        path: std::path::PathBuf,
        #[source]
        source: StoreError,
    },
    #[error("HQ storage lock poisoned by an earlier panic")]
    Poisoned,
    /// A PostgreSQL statement failed; `target` names the database (never its password), `what`
    /// the step.
    #[error("HQ PostgreSQL database {target}: {what}: {source}")]
    Postgres {
        target: String,
        what: &'static str,
        #[source]
        source: tokio_postgres::Error,
    },
    /// No connection to HQ's PostgreSQL database could be had from the pool.
    #[error("HQ PostgreSQL database {target}: no connection: {source}")]
    PostgresPool {
        target: String,
        #[source]
        source: deadpool_postgres::PoolError,
    },
    /// HQ's PostgreSQL database URL or pool settings cannot be used.
    #[error("HQ PostgreSQL database: {0}")]
    PostgresConfig(String),
    /// The database was migrated by a newer HQ than this one.
    #[error(
        "HQ PostgreSQL database {target} has schema version {found}; this HQ knows up to {known}"
    )]
    SchemaTooNew {
        target: String,
        found: i64,
        known: i64,
    },
    /// A number HQ stores as a signed 64-bit integer is out of that range.
    #[error("internal error: {what} {value} does not fit HQ's database integer")]
    Number { what: &'static str, value: String },
    #[error("cannot serve: {0}")]
    Io(#[from] std::io::Error),
    /// ring's error carries nothing (and is no `std::error::Error` without ring's `std`).
    #[error("internal error: the system random number generator failed")]
    Random,
    #[error("internal error: background task failed: {0}")]
    Task(#[from] tokio::task::JoinError),
    #[error("internal error: cannot encode {what}: {source}")]
    Encode {
        what: &'static str,
        #[source]
        source: serde_json::Error,
    },
    #[error("internal error: cannot write the CSV report: {0}")]
    Csv(#[from] csv::Error),
    #[error("internal error: the CSV report is not UTF-8: {0}")]
    CsvText(#[source] std::string::FromUtf8Error),
}

impl HqError {
    /// True when the same call may succeed later (database busy, disk full).
    pub fn retryable(&self) -> bool {
        match self {
            Self::Store(StoreError::Sql { retryable, .. }) => *retryable,
            Self::StorageFull { .. } | Self::PostgresPool { .. } => true,
            Self::Postgres { source, .. } => pg::retryable(source),
            _ => false,
        }
    }
}

impl From<rusqlite::Error> for HqError {
    fn from(e: rusqlite::Error) -> Self {
        Self::Store(e.into())
    }
}

/// Parses an Ed25519 public key as `shelftalk keys show-public` prints it (64 hex characters).
pub fn parse_public_key(text: &str) -> Result<Vec<u8>, HqError> {
    match from_hex(text) {
        Some(bytes) if bytes.len() == 32 => Ok(bytes),
        _ => Err(HqError::BadKey),
    }
}

/// Creates a bearer token for an analyst; returns the token (shown once, stored hashed).
pub fn create_token(store: &dyn HqStore, name: &str, now: i64) -> Result<String, HqError> {
    let mut bytes = [0u8; 24];
    ring::rand::SecureRandom::fill(&crate::crypto::rng(), &mut bytes)
        .map_err(|_| HqError::Random)?;
    let token = format!("st_{}", crate::crypto::hex(&bytes));
    store.add_token(name, &token_digest(&token), now)?;
    Ok(token)
}

/// The server's clock (Unix seconds).
pub type Clock = Arc<dyn Fn() -> i64 + Send + Sync>;

#[derive(Clone)]
struct App {
    store: Arc<dyn HqStore>,
    clock: Clock,
}

/// Server options.
pub struct ServeOptions {
    pub max_body: usize,
    pub clock: Clock,
}

impl Default for ServeOptions {
    fn default() -> Self {
        Self {
            max_body: DEFAULT_MAX_BODY,
            clock: Arc::new(|| time::OffsetDateTime::now_utc().unix_timestamp()),
        }
    }
}

/// The HQ router.
pub fn router(store: Arc<dyn HqStore>, opts: ServeOptions) -> Router {
    let app = App {
        store,
        clock: opts.clock,
    };
    Router::new()
        .route("/", get(dashboard))
        .route("/healthz", get(|| async { "ok" }))
        .route("/openapi.json", get(|| async { Json(page::openapi()) }))
        .route("/v1/batches", post(ingest))
        .route("/v1/audit-heads", post(audit_head))
        .route("/v1/reports/feedback", get(feedback_report))
        .route("/v1/kiosks", get(kiosks))
        .route("/v1/priors", get(priors))
        .layer(DefaultBodyLimit::max(opts.max_body))
        .with_state(app)
}

/// Serves HQ on `listener` until `shutdown` completes.
pub async fn serve(
    listener: tokio::net::TcpListener,
    store: Arc<dyn HqStore>,
    opts: ServeOptions,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> Result<(), HqError> {
    crate::crypto::install_tls_provider();
    axum::serve(listener, router(store, opts))
        .with_graceful_shutdown(shutdown)
        .await?;
    Ok(())
}

fn error(status: StatusCode, code: &str, message: impl Into<String>) -> Response {
    (
        status,
        Json(ApiError {
            error: ApiErrorBody {
                code: code.into(),
                message: message.into(),
            },
        }),
    )
        .into_response()
}

fn internal(e: HqError) -> Response {
    tracing::error!(error = %e, "HQ request failed");
    if let HqError::StorageFull { .. } = e {
        // The kiosk keeps the batch in its outbox and sends it again (503 is retryable).
        return error(
            StatusCode::SERVICE_UNAVAILABLE,
            "storage_full",
            "HQ's database disk is full; nothing of this request was stored; send it again later",
        );
    }
    let status = if e.retryable() {
        StatusCode::SERVICE_UNAVAILABLE
    } else {
        StatusCode::INTERNAL_SERVER_ERROR
    };
    error(status, "internal", e.to_string())
}

async fn blocking<T: Send + 'static>(
    f: impl FnOnce() -> Result<T, HqError> + Send + 'static,
) -> Result<T, Response> {
    match tokio::task::spawn_blocking(f).await {
        Ok(Ok(v)) => Ok(v),
        Ok(Err(e)) => Err(internal(e)),
        Err(e) => Err(internal(HqError::Task(e))),
    }
}

fn header_str<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers.get(name).and_then(|v| v.to_str().ok())
}

/// The request body, or the refusal: 413 above the limit, 400 otherwise.
fn body_bytes(body: Result<Bytes, BytesRejection>) -> Result<Bytes, Response> {
    match body {
        Ok(b) => Ok(b),
        Err(r) if r.status() == StatusCode::PAYLOAD_TOO_LARGE => Err(error(
            StatusCode::PAYLOAD_TOO_LARGE,
            "body_too_large",
            "the request body exceeds the server's limit",
        )),
        Err(r) => Err(error(StatusCode::BAD_REQUEST, "bad_body", r.body_text())),
    }
}

/// A parsed document, or the refusal: 400 for malformed JSON, 422 for wrong fields.
fn parsed<T>(result: Result<T, WireError>) -> Result<T, Response> {
    result.map_err(|e| match e {
        WireError::Malformed(e) => error(StatusCode::BAD_REQUEST, "malformed_json", e.to_string()),
        e => error(
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid_document",
            e.to_string(),
        ),
    })
}

/// A wire signature check: (public key, document bytes, signature).
type VerifySignature = fn(&[u8], &[u8], &[u8]) -> Result<(), WireError>;

/// Checks that a signed document comes from `kiosk_id`, enrolled for `store_id` and enabled:
/// the signature header (401 when missing), the kiosk (403 unknown or disabled), the signature
/// over `body` by its enrolled key (401), its store (403). Returns the signature.
async fn signed_by_kiosk(
    app: &App,
    headers: &HeaderMap,
    body: &[u8],
    (kiosk_id, store_id): (&str, &str),
    verify: VerifySignature,
) -> Result<Vec<u8>, Response> {
    let Some(signature) = header_str(headers, SIGNATURE_HEADER)
        .and_then(from_hex)
        .filter(|s| s.len() == 64)
    else {
        return Err(error(
            StatusCode::UNAUTHORIZED,
            "missing_signature",
            format!(
                "the {SIGNATURE_HEADER} header must carry the 64-byte Ed25519 signature in hex"
            ),
        ));
    };
    let store = Arc::clone(&app.store);
    let id = kiosk_id.to_string();
    let Some(kiosk) = blocking(move || store.kiosk(&id)).await? else {
        return Err(error(
            StatusCode::FORBIDDEN,
            "unknown_kiosk",
            format!("kiosk {kiosk_id:?} is not enrolled"),
        ));
    };
    if !kiosk.enabled {
        return Err(error(
            StatusCode::FORBIDDEN,
            "kiosk_disabled",
            format!("kiosk {kiosk_id:?} is disabled"),
        ));
    }
    if verify(&kiosk.public_key, body, &signature).is_err() {
        return Err(error(
            StatusCode::UNAUTHORIZED,
            "bad_signature",
            "the signature does not verify against the kiosk's enrolled key",
        ));
    }
    if kiosk.store_id != store_id {
        return Err(error(
            StatusCode::FORBIDDEN,
            "store_mismatch",
            format!(
                "kiosk {kiosk_id:?} is enrolled for store {:?}",
                kiosk.store_id
            ),
        ));
    }
    Ok(signature)
}

async fn ingest(
    State(app): State<App>,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Response {
    let body = match body_bytes(body) {
        Ok(b) => b,
        Err(r) => return r,
    };
    let doc = match parsed(BatchDocument::parse(&body)) {
        Ok(d) => d,
        Err(r) => return r,
    };
    let ids = (doc.kiosk_id.as_str(), doc.store_id.as_str());
    let signature = match signed_by_kiosk(&app, &headers, &body, ids, wire::verify_batch).await {
        Ok(s) => s,
        Err(r) => return r,
    };
    if let Err(e) = doc.validate() {
        return error(
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid_document",
            e.to_string(),
        );
    }
    // Informational: beyond what HQ stores (a signed 64-bit integer) it is read as the most.
    let backlog = header_str(&headers, BACKLOG_HEADER)
        .and_then(|v| v.parse::<u64>().ok())
        .map_or(0, |b| b.min(wire::MAX_NUMBER));
    let now = (app.clock)();
    let store = Arc::clone(&app.store);
    let (batch_id, seq) = (doc.batch_id.clone(), doc.seq);
    let outcome = blocking(move || {
        store.ingest(&IngestBatch {
            doc: &doc,
            bytes: &body,
            signature: &signature,
            backlog,
            now,
        })
    })
    .await;
    let ack = |status: &str| {
        Json(Ack {
            status: status.into(),
            batch_id: batch_id.clone(),
            seq,
        })
        .into_response()
    };
    match outcome {
        Err(r) => r,
        Ok(IngestOutcome::Accepted) => ack("accepted"),
        Ok(IngestOutcome::Duplicate) => ack("duplicate"),
        Ok(IngestOutcome::Replay { last_seq }) => error(
            StatusCode::CONFLICT,
            "replay",
            format!(
                "batch {batch_id} (seq {seq}) was received before; the kiosk is at seq {last_seq}"
            ),
        ),
        Ok(IngestOutcome::Regression { last_seq }) => error(
            StatusCode::CONFLICT,
            "sequence_regression",
            format!("seq {seq} is not above the kiosk's last seq {last_seq}"),
        ),
        Ok(IngestOutcome::Conflict) => error(
            StatusCode::CONFLICT,
            "batch_id_conflict",
            format!("batch {batch_id} was received before with different content"),
        ),
    }
}

async fn audit_head(
    State(app): State<App>,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Response {
    let body = match body_bytes(body) {
        Ok(b) => b,
        Err(r) => return r,
    };
    let doc = match parsed(AuditHeadDocument::parse(&body)) {
        Ok(d) => d,
        Err(r) => return r,
    };
    let ids = (doc.kiosk_id.as_str(), doc.store_id.as_str());
    let signed = signed_by_kiosk(&app, &headers, &body, ids, wire::verify_audit_head).await;
    let signature = match signed {
        Ok(s) => s,
        Err(r) => return r,
    };
    if let Err(e) = doc.validate() {
        return error(
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid_document",
            e.to_string(),
        );
    }
    let now = (app.clock)();
    let store = Arc::clone(&app.store);
    let recorded = {
        let doc = doc.clone();
        blocking(move || {
            store.record_audit_head(&AuditHeadReport {
                doc: &doc,
                bytes: &body,
                signature: &signature,
                now,
            })
        })
        .await
    };
    let ack = |status: &str, verdict| {
        Json(AuditHeadAck {
            status: status.into(),
            report_seq: doc.report_seq,
            verdict,
        })
        .into_response()
    };
    match recorded {
        Err(r) => r,
        Ok(AuditHeadOutcome::Recorded { verdict, previous }) => {
            if verdict.is_alarm() {
                tracing::warn!(
                    kiosk = %doc.kiosk_id,
                    store = %doc.store_id,
                    verdict = verdict.as_str(),
                    head_seq = doc.head_seq,
                    head_hash = %doc.head_hash,
                    previous_seq = previous.as_ref().map(|p| p.0),
                    previous_hash = previous.as_ref().map(|p| p.1.as_str()),
                    "kiosk audit log rewritten: its signed head {}",
                    match verdict {
                        wire::AuditVerdict::Regressed => "went backwards",
                        wire::AuditVerdict::Forked => "changed at the same seq",
                        _ => "belongs to a chain the kiosk finds broken",
                    }
                );
            }
            ack("recorded", verdict)
        }
        Ok(AuditHeadOutcome::Duplicate { verdict }) => ack("duplicate", verdict),
        Ok(AuditHeadOutcome::Stale { last_report_seq }) => error(
            StatusCode::CONFLICT,
            "stale_report",
            format!(
                "audit head report {} is not above the kiosk's last report {last_report_seq}",
                doc.report_seq
            ),
        ),
    }
}

async fn analyst(
    app: &App,
    headers: &HeaderMap,
    query_token: Option<&str>,
) -> Result<(), Response> {
    let bearer = header_str(headers, header::AUTHORIZATION.as_str())
        .and_then(|v| v.strip_prefix("Bearer "))
        .or(query_token)
        .map(str::trim)
        .map(str::to_string);
    let Some(token) = bearer else {
        return Err(error(
            StatusCode::UNAUTHORIZED,
            "missing_token",
            "send Authorization: Bearer <token> (create one with `shelftalk hq token create`)",
        ));
    };
    let store = Arc::clone(&app.store);
    if blocking(move || store.token_valid(&token_digest(&token))).await? {
        Ok(())
    } else {
        Err(error(
            StatusCode::UNAUTHORIZED,
            "bad_token",
            "unknown bearer token",
        ))
    }
}

/// Query parameters of `/v1/reports/feedback` and `/`.
#[derive(Debug, Default, Deserialize)]
pub struct ReportParams {
    pub from: Option<String>,
    pub to: Option<String>,
    pub group_by: Option<String>,
    pub format: Option<String>,
    pub token: Option<String>,
}

fn parse_day(name: &str, v: Option<&str>) -> Result<Option<Day>, Response> {
    match v.filter(|s| !s.is_empty()) {
        None => Ok(None),
        Some(s) => Day::parse(s).map(Some).ok_or_else(|| {
            error(
                StatusCode::BAD_REQUEST,
                "bad_query",
                format!("{name} must be a YYYY-MM-DD day, got {s:?}"),
            )
        }),
    }
}

async fn feedback_report(
    State(app): State<App>,
    headers: HeaderMap,
    params: Result<Query<ReportParams>, QueryRejection>,
) -> Response {
    let Ok(Query(params)) = params else {
        return error(
            StatusCode::BAD_REQUEST,
            "bad_query",
            "cannot parse the query string",
        );
    };
    if let Err(r) = analyst(&app, &headers, None).await {
        return r;
    }
    let (from, to) = match (
        parse_day("from", params.from.as_deref()),
        parse_day("to", params.to.as_deref()),
    ) {
        (Ok(f), Ok(t)) => (f, t),
        (Err(r), _) | (_, Err(r)) => return r,
    };
    let dims = match Dim::parse_list(params.group_by.as_deref().unwrap_or("style")) {
        Ok(d) => d,
        Err(e) => return error(StatusCode::BAD_REQUEST, "bad_query", e.to_string()),
    };
    let csv = match params.format.as_deref().unwrap_or("json") {
        "json" => false,
        "csv" => true,
        other => {
            return error(
                StatusCode::BAD_REQUEST,
                "bad_query",
                format!("format must be json or csv, got {other:?}"),
            )
        }
    };
    let store = Arc::clone(&app.store);
    let report = match blocking(move || report::build(store.as_ref(), from, to, &dims)).await {
        Ok(r) => r,
        Err(r) => return r,
    };
    if csv {
        match report.to_csv() {
            Ok(text) => ([(header::CONTENT_TYPE, "text/csv; charset=utf-8")], text).into_response(),
            Err(e) => internal(e),
        }
    } else {
        Json(report.to_json()).into_response()
    }
}

async fn kiosks(State(app): State<App>, headers: HeaderMap) -> Response {
    if let Err(r) = analyst(&app, &headers, None).await {
        return r;
    }
    let store = Arc::clone(&app.store);
    let now = (app.clock)();
    match blocking(move || store.kiosks()).await {
        Ok(list) => Json(page::fleet_json(&list, now)).into_response(),
        Err(r) => r,
    }
}

async fn priors(State(app): State<App>, headers: HeaderMap) -> Response {
    let now = (app.clock)();
    let kiosk_auth = match (
        header_str(&headers, KIOSK_HEADER),
        header_str(&headers, TIME_HEADER).and_then(|t| t.parse::<i64>().ok()),
        header_str(&headers, SIGNATURE_HEADER).and_then(from_hex),
    ) {
        (Some(k), Some(t), Some(sig)) => Some((k.to_string(), t, sig)),
        _ => None,
    };
    if let Some((kiosk_id, t, sig)) = kiosk_auth {
        if (t - now).abs() > MAX_CLOCK_SKEW_SECS {
            return error(
                StatusCode::UNAUTHORIZED,
                "stale_request",
                format!("request time is more than {MAX_CLOCK_SKEW_SECS} s from HQ's clock"),
            );
        }
        let store = Arc::clone(&app.store);
        let id = kiosk_id.clone();
        let kiosk = match blocking(move || store.kiosk(&id)).await {
            Ok(k) => k,
            Err(r) => return r,
        };
        match kiosk {
            Some(k) if k.enabled => {
                if wire::verify_priors_request(&k.public_key, &kiosk_id, t, &sig).is_err() {
                    return error(
                        StatusCode::UNAUTHORIZED,
                        "bad_signature",
                        "the signature does not verify",
                    );
                }
            }
            Some(_) => return error(StatusCode::FORBIDDEN, "kiosk_disabled", "kiosk is disabled"),
            None => {
                return error(
                    StatusCode::FORBIDDEN,
                    "unknown_kiosk",
                    "kiosk is not enrolled",
                )
            }
        }
    } else if let Err(r) = analyst(&app, &headers, None).await {
        return r;
    }
    let store = Arc::clone(&app.store);
    match blocking(move || report::priors(store.as_ref(), Day::of(now))).await {
        Ok(doc) => Json(doc).into_response(),
        Err(r) => r,
    }
}

async fn dashboard(
    State(app): State<App>,
    headers: HeaderMap,
    params: Result<Query<ReportParams>, QueryRejection>,
) -> Response {
    let params = params.map(|Query(p)| p).unwrap_or_default();
    if let Err(r) = analyst(&app, &headers, params.token.as_deref()).await {
        return r;
    }
    let store = Arc::clone(&app.store);
    let now = (app.clock)();
    let built = blocking(move || {
        let by_style = report::build(store.as_ref(), None, None, &[Dim::Style])?;
        let by_segment = report::build(store.as_ref(), None, None, &[Dim::Segment, Dim::Style])?;
        let fleet = store.kiosks()?;
        Ok((by_style, by_segment, fleet))
    })
    .await;
    match built {
        Ok((by_style, by_segment, fleet)) => {
            Html(page::render(&by_style, &by_segment, &fleet, now)).into_response()
        }
        Err(r) => r,
    }
}
