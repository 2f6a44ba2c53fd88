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
//! - Analyst endpoints (and the dashboard `/`) require a bearer token or a dashboard session
//!   cookie; `/v1/priors` also accepts a kiosk-signed request. Tokens are stored as SHA-256
//!   digests, expire, and can be revoked; an expired or revoked one is answered like an unknown
//!   one (401). A token never travels in a URL: `/` without a session answers 401 with a login
//!   form, whose `POST /login` opens a server-side session (its id stored hashed in the HQ store,
//!   so every HQ process sharing the database knows it; at most [`store::SESSION_SECS`], never
//!   past its token's expiry or revocation) and sets it as an `HttpOnly; SameSite=Strict; Path=/`
//!   cookie (`Secure` with [`ServeOptions::secure_cookies`]). `POST /login` and `POST /logout`
//!   refuse cross-origin requests (`Origin` / `Sec-Fetch-Site`) with 403. `/openapi.json` and
//!   `/healthz` are public.
//! - Every answer a kiosk acts on is signed with HQ's own key ([`key::HqKey`], `hq keys init`):
//!   the acknowledgements of `POST /v1/batches` and `POST /v1/audit-heads` and the
//!   `GET /v1/priors` document carry [`wire::HQ_SIGNATURE_HEADER`] over the exact body (formats
//!   in [`crate::wire`]). [`serve`] refuses to start without the key; a router built without one
//!   answers those requests 500 rather than unsigned.
//! - With a TLS config ([`ServeOptions::tls`], `hq serve --tls-cert --tls-key`) every connection
//!   is TLS ([`tls`]); one client's failed handshake never stops the server.
//! - The OpenAPI document (`/openapi.json`) is generated from the handlers' own types: each
//!   handler carries its `#[utoipa::path]` (parameters, security, every answer it gives) and the
//!   router is built from the same list ([`openapi`]), so a route cannot exist undocumented.
//! - The listener and the clock are injected ([`serve`]), so tests bind port 0 and need no sleeps.

// Handlers answer refusals with a ready `Response` as the error value (the axum idiom).
#![allow(clippy::result_large_err)]

pub mod dashboard;
pub mod key;
pub mod lift;
pub mod limit;
pub mod page;
pub mod pg;
pub mod pg_cluster;
pub mod report;
pub mod retention;
pub mod rollup;
pub mod store;
pub mod tls;

use std::future::Future;
use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::rejection::{BytesRejection, FormRejection, QueryRejection};
use axum::extract::{DefaultBodyLimit, Query, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{Html, IntoResponse, Response};
use axum::{Form, Json, Router};
use serde::Deserialize;
use utoipa::{IntoParams, OpenApi, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::crypto::{from_hex, hex};
use crate::feedback::cells::Day;
use crate::store::StoreError;
use crate::wire::{
    self, Ack, ApiError, ApiErrorBody, AuditHeadAck, AuditHeadDocument, BatchDocument,
    PriorsDocument, PriorsRequest, WireError, BACKLOG_HEADER, HQ_SIGNATURE_HEADER, KIOSK_HEADER,
    MAX_CLOCK_SKEW_SECS, SIGNATURE_HEADER, TIME_HEADER,
};
use key::HqKey;
use page::SecuritySchemes;
use report::ReportDocument;
use store::{
    token_digest, AuditHeadOutcome, AuditHeadReport, Dim, HqStore, IngestBatch, IngestOutcome,
    SESSION_SECS,
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
    /// `hq token create` with the name of a live token.
    #[error("a live token named {0:?} exists; revoke it first (hq token revoke {0})")]
    TokenNameTaken(String),
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
    /// HQ was asked to serve without its answer-signing key.
    #[error(
        "HQ has no signing key for its answers: create one with `shelftalk hq keys init \
         --key-file FILE` and serve with --key-file FILE"
    )]
    NoAnswerKey,
    #[error("internal error: cannot sign the answer: {0}")]
    Sign(#[source] WireError),
    #[error(transparent)]
    Tls(#[from] tls::TlsError),
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

/// `n` random bytes in hex (tokens and session ids).
fn random_hex<const N: usize>() -> Result<String, HqError> {
    let mut bytes = [0u8; N];
    ring::rand::SecureRandom::fill(&crate::crypto::rng(), &mut bytes)
        .map_err(|_| HqError::Random)?;
    Ok(crate::crypto::hex(&bytes))
}

/// Creates a bearer token for an analyst, valid for `valid_days` days from `now`; returns the
/// token (shown once, stored hashed).
pub fn create_token(
    store: &dyn HqStore,
    name: &str,
    now: i64,
    valid_days: u32,
) -> Result<String, HqError> {
    let token = format!("st_{}", random_hex::<24>()?);
    store.add_token(
        name,
        &token_digest(&token),
        now,
        token_expiry(now, valid_days),
    )?;
    Ok(token)
}

/// When a token made at `now` for `valid_days` days expires.
pub fn token_expiry(now: i64, valid_days: u32) -> i64 {
    now.saturating_add(i64::from(valid_days) * 86_400)
}

/// The dashboard session cookie's name.
pub const SESSION_COOKIE: &str = "shelftalk_session";

/// The server's clock (Unix seconds).
pub type Clock = Arc<dyn Fn() -> i64 + Send + Sync>;

#[derive(Clone)]
struct App {
    store: Arc<dyn HqStore>,
    clock: Clock,
    /// `None`: no rate limit (benchmarks of HQ's own throughput).
    limiter: Option<Arc<limit::Limiter>>,
    answer_key: Option<Arc<HqKey>>,
    secure_cookies: bool,
    /// The OpenAPI document, rendered once.
    openapi: Arc<serde_json::Value>,
}

/// Server options.
pub struct ServeOptions {
    pub max_body: usize,
    pub clock: Clock,
    /// Per-kiosk limit on signed requests; `None` turns it off.
    pub kiosk_rate: Option<limit::RateLimit>,
    /// HQ's key that signs acknowledgements and priors; [`serve`] refuses to start without it.
    pub answer_key: Option<Arc<HqKey>>,
    /// Serve TLS with this config ([`tls::server_config`]); `None` serves plain HTTP.
    pub tls: Option<Arc<rustls::ServerConfig>>,
    /// Mark the session cookie `Secure` (HQ is served over TLS).
    pub secure_cookies: bool,
}

impl Default for ServeOptions {
    fn default() -> Self {
        Self {
            max_body: DEFAULT_MAX_BODY,
            clock: Arc::new(|| time::OffsetDateTime::now_utc().unix_timestamp()),
            kiosk_rate: Some(limit::RateLimit::default()),
            answer_key: None,
            tls: None,
            secure_cookies: false,
        }
    }
}

/// The title, description and security schemes of the OpenAPI document; the paths come from
/// the handlers ([`api`]).
#[derive(OpenApi)]
#[openapi(
    info(
        title = "shelftalk HQ",
        description = "Anonymised, aggregated kiosk feedback: signed ingest from kiosks; reports, \
                       fleet status and priors for analysts (bearer token or dashboard session)."
    ),
    modifiers(&SecuritySchemes)
)]
struct ApiDoc;

/// Every route with its documentation: the one list both the router and the document come from.
fn api() -> OpenApiRouter<App> {
    OpenApiRouter::with_openapi(ApiDoc::openapi())
        .routes(routes!(dashboard))
        .routes(routes!(login))
        .routes(routes!(logout))
        .routes(routes!(healthz))
        .routes(routes!(openapi_json))
        .routes(routes!(ingest))
        .routes(routes!(audit_head))
        .routes(routes!(feedback_report))
        .routes(routes!(lift_report))
        .routes(routes!(kiosks))
        .routes(routes!(priors))
}

/// The OpenAPI document HQ serves at `/openapi.json`.
pub fn openapi() -> utoipa::openapi::OpenApi {
    api().into_openapi()
}

/// The HQ router.
pub fn router(store: Arc<dyn HqStore>, opts: ServeOptions) -> Router {
    // The document is the same for every router of this build: rendered once per process.
    static DOC: std::sync::OnceLock<Arc<serde_json::Value>> = std::sync::OnceLock::new();
    let (router, doc) = api().split_for_parts();
    let app = App {
        store,
        clock: opts.clock,
        limiter: opts.kiosk_rate.map(|r| Arc::new(limit::Limiter::new(r))),
        answer_key: opts.answer_key,
        secure_cookies: opts.secure_cookies,
        openapi: Arc::clone(
            DOC.get_or_init(|| Arc::new(serde_json::to_value(&doc).unwrap_or_default())),
        ),
    };
    router
        .layer(DefaultBodyLimit::max(opts.max_body))
        .with_state(app)
}

/// Serves HQ on `listener` (TLS when `opts.tls` is set) until `shutdown` completes. Refuses
/// ([`HqError::NoAnswerKey`]) without `opts.answer_key`.
pub async fn serve(
    listener: tokio::net::TcpListener,
    store: Arc<dyn HqStore>,
    opts: ServeOptions,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> Result<(), HqError> {
    crate::crypto::install_tls_provider();
    if opts.answer_key.is_none() {
        return Err(HqError::NoAnswerKey);
    }
    match opts.tls.clone() {
        Some(config) => {
            let listener = tls::TlsListener::new(listener, config)?;
            axum::serve(listener, router(store, opts))
                .with_graceful_shutdown(shutdown)
                .await?;
        }
        None => {
            axum::serve(listener, router(store, opts))
                .with_graceful_shutdown(shutdown)
                .await?;
        }
    }
    Ok(())
}

/// A JSON answer signed by HQ: the exact signed bytes as the body, the signature in
/// [`HQ_SIGNATURE_HEADER`]. `sign` gets HQ's key; without one the answer is a 500, never
/// unsigned.
fn signed_answer(
    app: &App,
    sign: impl FnOnce(&HqKey) -> Result<(Vec<u8>, [u8; 64]), WireError>,
) -> Response {
    let Some(key) = app.answer_key.as_deref() else {
        return internal(HqError::NoAnswerKey);
    };
    match sign(key) {
        Ok((body, signature)) => (
            [
                (header::CONTENT_TYPE, "application/json".to_string()),
                (
                    header::HeaderName::from_static(HQ_SIGNATURE_HEADER),
                    hex(&signature),
                ),
            ],
            body,
        )
            .into_response(),
        Err(e) => internal(HqError::Sign(e)),
    }
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

/// The answer to a failure of HQ itself: logged in full with a reference, answered with the
/// reference only (the error's text can name files, databases and queries).
fn internal(e: HqError) -> Response {
    let reference = uuid::Uuid::new_v4().simple().to_string();
    let reference = &reference[..12];
    tracing::error!(error = %e, reference, "HQ request failed");
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
    error(
        status,
        "internal",
        format!(
            "HQ could not answer this request; its log has the details under reference {reference}"
        ),
    )
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

/// The answer to a request not signed by an enrolled, enabled kiosk: the same for an unknown
/// kiosk, a disabled one and a bad signature, so it tells a prober nothing about which ids are
/// enrolled.
fn unauthenticated() -> Response {
    error(
        StatusCode::UNAUTHORIZED,
        "unauthenticated",
        format!(
            "the request is not signed by an enrolled, enabled kiosk: {KIOSK_HEADER} must name \
             the kiosk and {SIGNATURE_HEADER} carry its Ed25519 signature over the exact body, \
             in hex"
        ),
    )
}

/// A key no kiosk has: an unknown kiosk's signature is checked against it, so that answer takes
/// as long as a bad signature's.
const NO_KIOSK_KEY: [u8; 32] = [0x5a; 32];

/// Authenticates a signed kiosk request before its body is decoded: the kiosk named by
/// [`KIOSK_HEADER`], enrolled and enabled, must have signed `body` ([`SIGNATURE_HEADER`]);
/// anything else is [`unauthenticated`]. Then charges the kiosk's rate limit (429 with
/// `Retry-After`). Returns the kiosk's credentials and the signature.
async fn signed_by_kiosk(
    app: &App,
    headers: &HeaderMap,
    body: &[u8],
    verify: VerifySignature,
) -> Result<(store::KioskCredentials, Vec<u8>), Response> {
    let signature = header_str(headers, SIGNATURE_HEADER)
        .and_then(from_hex)
        .filter(|s| s.len() == 64);
    let kiosk_id = header_str(headers, KIOSK_HEADER).filter(|id| (1..=64).contains(&id.len()));
    let (Some(signature), Some(kiosk_id)) = (signature, kiosk_id) else {
        return Err(unauthenticated());
    };
    let store = Arc::clone(&app.store);
    let id = kiosk_id.to_string();
    let kiosk = blocking(move || store.credentials(&id)).await?;
    let key = kiosk
        .as_ref()
        .map_or(&NO_KIOSK_KEY[..], |k| &k.public_key[..]);
    let verified = verify(key, body, &signature).is_ok();
    let kiosk = match kiosk {
        Some(k) if verified && k.enabled => k,
        _ => return Err(unauthenticated()),
    };
    if let Some(limiter) = &app.limiter {
        if let Err(wait) = limiter.admit(&kiosk.kiosk_id, (app.clock)()) {
            let mut r = error(
                StatusCode::TOO_MANY_REQUESTS,
                "rate_limited",
                format!("too many requests from this kiosk; try again in {wait} s"),
            );
            r.headers_mut()
                .insert(header::RETRY_AFTER, header::HeaderValue::from(wait));
            return Err(r);
        }
    }
    Ok((kiosk, signature))
}

/// Checks that a verified document names the kiosk that signed it and that kiosk's store.
fn names_its_kiosk(
    kiosk: &store::KioskCredentials,
    (kiosk_id, store_id): (&str, &str),
) -> Result<(), Response> {
    if kiosk_id != kiosk.kiosk_id {
        return Err(error(
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid_document",
            format!("the document names kiosk {kiosk_id:?}, not the kiosk that signed it"),
        ));
    }
    if store_id != kiosk.store_id {
        return Err(error(
            StatusCode::FORBIDDEN,
            "store_mismatch",
            format!("this kiosk is enrolled for store {:?}", kiosk.store_id),
        ));
    }
    Ok(())
}

/// Ingest a signed feedback batch from a kiosk.
#[utoipa::path(
    post,
    path = "/v1/batches",
    tag = "kiosk",
    request_body(
        content = BatchDocument,
        description = "The exact bytes the kiosk signed (`shelftalk/batch/v1` context)."
    ),
    params(
        ("x-shelftalk-backlog" = Option<u64>, Header,
         description = "The kiosk's outbox size (informational).")
    ),
    security(("kiosk_signature" = [], "kiosk_id" = [])),
    responses(
        (status = 200, description = "Accepted, or a duplicate of a batch received before. Signed by HQ's key.",
         body = Ack,
         headers(("x-shelftalk-hq-signature" = String,
                  description = "HQ's Ed25519 signature over the exact body, hex (README: signed answers)."))),
        (status = 400, description = "Not JSON.", body = ApiError),
        (status = 401, description = "Not signed by an enrolled, enabled kiosk: one answer \
                                        (`unauthenticated`) for an unknown or disabled kiosk and a \
                                        missing or bad signature.", body = ApiError),
        (status = 403, description = "Signed, but the document names another store.",
         body = ApiError),
        (status = 409, description = "Replay, sequence regression or batch id conflict.",
         body = ApiError),
        (status = 413, description = "Body above the server's limit.", body = ApiError),
        (status = 429, description = "Over the kiosk's rate limit; try again after Retry-After.",
         body = ApiError,
         headers(("retry-after" = u64, description = "Seconds to wait."))),
        (status = 422, description = "Fields missing, unknown or invalid.", body = ApiError),
        (status = 503, description = "Storage busy or full; nothing stored; send again later.",
         body = ApiError),
    )
)]
async fn ingest(
    State(app): State<App>,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Response {
    let body = match body_bytes(body) {
        Ok(b) => b,
        Err(r) => return r,
    };
    let (kiosk, signature) = match signed_by_kiosk(&app, &headers, &body, wire::verify_batch).await
    {
        Ok(s) => s,
        Err(r) => return r,
    };
    let doc = match parsed(BatchDocument::parse(&body)) {
        Ok(d) => d,
        Err(r) => return r,
    };
    if let Err(r) = names_its_kiosk(&kiosk, (&doc.kiosk_id, &doc.store_id)) {
        return r;
    }
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
    let (kiosk_id, batch_id, seq) = (doc.kiosk_id.clone(), doc.batch_id.clone(), doc.seq);
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
        let ack = Ack {
            status: status.into(),
            kiosk_id: kiosk_id.clone(),
            batch_id: batch_id.clone(),
            seq,
        };
        signed_answer(&app, |key| ack.sign(key.signer()))
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

/// Record a kiosk's signed technician audit-log head; a head that went backwards, changed at the
/// same seq or whose chain the kiosk finds broken raises an alarm.
#[utoipa::path(
    post,
    path = "/v1/audit-heads",
    tag = "kiosk",
    request_body(
        content = AuditHeadDocument,
        description = "The exact bytes the kiosk signed (`shelftalk/audit-head/v1` context)."
    ),
    security(("kiosk_signature" = [], "kiosk_id" = [])),
    responses(
        (status = 200, description = "Recorded with a verdict, or a duplicate of the last report. Signed by HQ's key.",
         body = AuditHeadAck,
         headers(("x-shelftalk-hq-signature" = String,
                  description = "HQ's Ed25519 signature over the exact body, hex (README: signed answers)."))),
        (status = 400, description = "Not JSON.", body = ApiError),
        (status = 401, description = "Not signed by an enrolled, enabled kiosk: one answer \
                                        (`unauthenticated`) for an unknown or disabled kiosk and a \
                                        missing or bad signature.", body = ApiError),
        (status = 403, description = "Signed, but the document names another store.",
         body = ApiError),
        (status = 409, description = "Stale report (number not above the last).", body = ApiError),
        (status = 413, description = "Body above the server's limit.", body = ApiError),
        (status = 429, description = "Over the kiosk's rate limit; try again after Retry-After.",
         body = ApiError,
         headers(("retry-after" = u64, description = "Seconds to wait."))),
        (status = 422, description = "Fields missing, unknown or invalid.", body = ApiError),
        (status = 503, description = "Storage busy or full; nothing stored; send again later.",
         body = ApiError),
    )
)]
async fn audit_head(
    State(app): State<App>,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Response {
    let body = match body_bytes(body) {
        Ok(b) => b,
        Err(r) => return r,
    };
    let signed = signed_by_kiosk(&app, &headers, &body, wire::verify_audit_head).await;
    let (kiosk, signature) = match signed {
        Ok(s) => s,
        Err(r) => return r,
    };
    let doc = match parsed(AuditHeadDocument::parse(&body)) {
        Ok(d) => d,
        Err(r) => return r,
    };
    if let Err(r) = names_its_kiosk(&kiosk, (&doc.kiosk_id, &doc.store_id)) {
        return r;
    }
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
        let ack = AuditHeadAck {
            status: status.into(),
            kiosk_id: doc.kiosk_id.clone(),
            report_seq: doc.report_seq,
            verdict,
        };
        signed_answer(&app, |key| ack.sign(key.signer()))
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

/// The value of the session cookie, if the request has one.
fn session_cookie(headers: &HeaderMap) -> Option<&str> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(name, _)| *name == SESSION_COOKIE)
        .map(|(_, value)| value)
        .filter(|v| !v.is_empty())
}

/// A credential an analyst request carries.
enum Credential {
    Token([u8; 32]),
    Session([u8; 32]),
}

/// Checks an analyst request: a bearer token, else the dashboard session cookie (401 when
/// neither is there, or it is unknown, expired or revoked: one answer for all three).
async fn analyst(app: &App, headers: &HeaderMap) -> Result<(), Response> {
    let bearer = header_str(headers, header::AUTHORIZATION.as_str())
        .and_then(|v| v.strip_prefix("Bearer "))
        .map(str::trim);
    let credential = match (bearer, session_cookie(headers)) {
        (Some(token), _) => Credential::Token(token_digest(token)),
        (None, Some(session)) => Credential::Session(token_digest(session)),
        (None, None) => {
            return Err(error(
                StatusCode::UNAUTHORIZED,
                "missing_token",
                "send Authorization: Bearer <token> (create one with `shelftalk hq token \
                 create`), or sign in at /",
            ))
        }
    };
    let store = Arc::clone(&app.store);
    let now = (app.clock)();
    let valid = blocking(move || match credential {
        Credential::Token(digest) => store.token_valid(&digest, now),
        Credential::Session(digest) => store.session_valid(&digest, now),
    })
    .await?;
    if valid {
        Ok(())
    } else {
        Err(error(
            StatusCode::UNAUTHORIZED,
            "bad_token",
            "unknown, expired or revoked token or session",
        ))
    }
}

/// `group_by`: comma-separated [`Dim`]s; empty groups everything.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GroupBy(pub Vec<Dim>);

impl<'de> Deserialize<'de> for GroupBy {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let text = String::deserialize(d)?;
        Dim::parse_list(&text)
            .map(GroupBy)
            .map_err(serde::de::Error::custom)
    }
}

/// `format` of a report.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum ReportFormat {
    #[default]
    Json,
    Csv,
}

/// Query parameters of `/v1/reports/feedback`. A parameter given empty (`to=`) is refused like
/// any other malformed value: it is not "no filter".
#[derive(Debug, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ReportParams {
    /// First day included (all days when absent).
    pub from: Option<Day>,
    /// Last day included (all days when absent).
    pub to: Option<Day>,
    /// Dimensions to group by, comma-separated (default `style`; empty groups everything).
    #[param(value_type = Option<Vec<Dim>>, style = Form, explode = false)]
    pub group_by: Option<GroupBy>,
    /// `json` (default) or `csv`.
    #[param(inline)]
    pub format: Option<ReportFormat>,
}

/// Feedback report with rates, 95 % Beta credible intervals and inverse-propensity estimates per
/// style.
#[utoipa::path(
    get,
    path = "/v1/reports/feedback",
    tag = "analyst",
    params(ReportParams),
    security(("bearer" = []), ("session" = [])),
    responses(
        (status = 200, description = "The report.", content(
            (ReportDocument = "application/json"),
            (String = "text/csv"),
        )),
        (status = 400, description = "A parameter is malformed (an empty one too).",
         body = ApiError),
        (status = 401, description = "No valid token or session.", body = ApiError),
        (status = 503, description = "Storage busy; try again.", body = ApiError),
    )
)]
async fn feedback_report(
    State(app): State<App>,
    headers: HeaderMap,
    params: Result<Query<ReportParams>, QueryRejection>,
) -> Response {
    let params = match analyst_query(&app, &headers, params).await {
        Ok(p) => p,
        Err(r) => return r,
    };
    let dims = params.group_by.map_or_else(|| vec![Dim::Style], |g| g.0);
    let (from, to) = (params.from, params.to);
    let store = Arc::clone(&app.store);
    let report = match blocking(move || report::build(store.as_ref(), from, to, &dims)).await {
        Ok(r) => r,
        Err(r) => return r,
    };
    answer_in(params.format, || report.to_csv(), || report.document())
}

/// The query of an analyst's request: 401 without a valid token or session, 400 when it does
/// not parse (an empty value too).
async fn analyst_query<P>(
    app: &App,
    headers: &HeaderMap,
    params: Result<Query<P>, QueryRejection>,
) -> Result<P, Response> {
    analyst(app, headers).await?;
    params
        .map(|Query(p)| p)
        .map_err(|r| error(StatusCode::BAD_REQUEST, "bad_query", r.body_text()))
}

/// A report in the `format` asked for: CSV text, or the JSON document (the default).
fn answer_in<T: serde::Serialize>(
    format: Option<ReportFormat>,
    csv: impl FnOnce() -> Result<String, HqError>,
    json: impl FnOnce() -> T,
) -> Response {
    match format.unwrap_or_default() {
        ReportFormat::Csv => match csv() {
            Ok(text) => ([(header::CONTENT_TYPE, "text/csv; charset=utf-8")], text).into_response(),
            Err(e) => internal(e),
        },
        ReportFormat::Json => Json(json()).into_response(),
    }
}

/// Query parameters of `/v1/reports/lift`. Empty values are refused, as for the feedback report.
#[derive(Debug, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct LiftParams {
    /// First day included (all days when absent).
    pub from: Option<Day>,
    /// Last day included (all days when absent).
    pub to: Option<Day>,
    /// `fleet` (default), `store` or `day`: one comparison per group.
    #[param(inline)]
    pub by: Option<lift::LiftBy>,
    /// `json` (default) or `csv`.
    #[param(inline)]
    pub format: Option<ReportFormat>,
}

/// Lift of personalisation over the holdout, and of each experiment arm over its control:
/// click-through and conversion per side with 95 % Wilson intervals, absolute lift (Newcombe)
/// and relative lift (Katz), sample sizes and a verdict.
#[utoipa::path(
    get,
    path = "/v1/reports/lift",
    tag = "analyst",
    params(LiftParams),
    security(("bearer" = []), ("session" = [])),
    responses(
        (status = 200, description = "The lift report.", content(
            (lift::LiftDocument = "application/json"),
            (String = "text/csv"),
        )),
        (status = 400, description = "A parameter is malformed (an empty one too).",
         body = ApiError),
        (status = 401, description = "No valid token or session.", body = ApiError),
        (status = 503, description = "Storage busy; try again.", body = ApiError),
    )
)]
async fn lift_report(
    State(app): State<App>,
    headers: HeaderMap,
    params: Result<Query<LiftParams>, QueryRejection>,
) -> Response {
    let params = match analyst_query(&app, &headers, params).await {
        Ok(p) => p,
        Err(r) => return r,
    };
    let (from, to, by) = (params.from, params.to, params.by.unwrap_or_default());
    let store = Arc::clone(&app.store);
    let doc = match blocking(move || lift::build(store.as_ref(), from, to, by)).await {
        Ok(d) => d,
        Err(r) => return r,
    };
    answer_in(params.format, || lift::to_csv(&doc), || &doc)
}

/// Fleet status: last seen, last sequence, reported backlog, version, audit-log head and alarms,
/// health.
#[utoipa::path(
    get,
    path = "/v1/kiosks",
    tag = "analyst",
    security(("bearer" = []), ("session" = [])),
    responses(
        (status = 200, description = "The fleet.", body = page::FleetDocument),
        (status = 401, description = "No valid token or session.", body = ApiError),
        (status = 503, description = "Storage busy; try again.", body = ApiError),
    )
)]
async fn kiosks(State(app): State<App>, headers: HeaderMap) -> Response {
    if let Err(r) = analyst(&app, &headers).await {
        return r;
    }
    let store = Arc::clone(&app.store);
    let now = (app.clock)();
    match blocking(move || store.kiosks()).await {
        Ok(list) => Json(page::fleet(list, now)).into_response(),
        Err(r) => r,
    }
}

/// Beta priors per segment × style from fleet data, for kiosk bandits: a kiosk-signed request
/// (all three kiosk headers), or an analyst's.
#[utoipa::path(
    get,
    path = "/v1/priors",
    tag = "kiosk",
    security(
        ("kiosk_id" = [], "kiosk_time" = [], "kiosk_signature" = []),
        ("bearer" = []),
        ("session" = []),
    ),
    responses(
        (status = 200, description = "The priors.", body = PriorsDocument),
        (status = 401, description = "Bad or stale signature; no valid token or session.",
         body = ApiError),
        (status = 403, description = "Unknown or disabled kiosk.", body = ApiError),
        (status = 503, description = "Storage busy; try again.", body = ApiError),
    )
)]
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
    let request = kiosk_auth.as_ref().map(|(k, t, _)| (k.clone(), *t));
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
        let kiosk = match blocking(move || store.credentials(&id)).await {
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
    } else if let Err(r) = analyst(&app, &headers).await {
        return r;
    }
    let store = Arc::clone(&app.store);
    match blocking(move || report::priors(store.as_ref(), Day::of(now))).await {
        Ok(doc) => signed_answer(&app, |key| {
            let request = match &request {
                Some((kiosk, time)) => PriorsRequest { kiosk, time: *time },
                None => PriorsRequest::ANALYST,
            };
            doc.sign(key.signer(), request)
        }),
        Err(r) => r,
    }
}

/// Query parameters of the dashboard: the date range its form sends. Either may be empty (the
/// form's empty field); a malformed or reversed range shows the default with a notice.
#[derive(Debug, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct DashboardParams {
    /// First day shown, YYYY-MM-DD (default: 27 days before `to`).
    pub from: Option<String>,
    /// Last day shown, YYYY-MM-DD (default: today, HQ's clock, UTC).
    pub to: Option<String>,
}

/// The dashboard (HTML, inline SVG charts) for a date range; without a valid session or bearer
/// token, the login form (401).
#[utoipa::path(
    get,
    path = "/",
    tag = "analyst",
    params(DashboardParams),
    security(("session" = []), ("bearer" = [])),
    responses(
        (status = 200, description = "The dashboard.", body = String, content_type = "text/html"),
        (status = 400, description = "The query string is not `from`/`to` text.", body = ApiError),
        (status = 401, description = "No valid session or token: the login form.", body = String,
         content_type = "text/html"),
        (status = 503, description = "Storage busy; try again.", body = ApiError),
    )
)]
async fn dashboard(
    State(app): State<App>,
    headers: HeaderMap,
    params: Result<Query<DashboardParams>, QueryRejection>,
) -> Response {
    if analyst(&app, &headers).await.is_err() {
        return (StatusCode::UNAUTHORIZED, Html(page::login(None))).into_response();
    }
    let params = match params {
        Ok(Query(p)) => p,
        Err(r) => return error(StatusCode::BAD_REQUEST, "bad_query", r.body_text()),
    };
    let store = Arc::clone(&app.store);
    let now = (app.clock)();
    let (from, to, notice) =
        dashboard::range(params.from.as_deref(), params.to.as_deref(), Day::of(now));
    let built = blocking(move || {
        let (f, t) = (Some(from), Some(to));
        let s = store.as_ref();
        Ok((
            report::build(s, f, t, &[Dim::Day, Dim::Arm])?,
            report::build(s, f, t, &[Dim::Store])?,
            report::build(s, f, t, &[Dim::Style])?,
            report::build(s, f, t, &[Dim::Segment, Dim::Style])?,
            lift::build(s, f, t, lift::LiftBy::Fleet)?,
            lift::build(s, f, t, lift::LiftBy::Store)?,
            s.kiosks()?,
        ))
    })
    .await;
    match built {
        Ok((by_day_arm, by_store, by_style, by_segment_style, lift, lift_by_store, fleet)) => {
            Html(dashboard::render(&dashboard::Dashboard {
                from,
                to,
                notice,
                by_day_arm: &by_day_arm,
                by_store: &by_store,
                by_style: &by_style,
                by_segment_style: &by_segment_style,
                lift: &lift,
                lift_by_store: &lift_by_store,
                fleet: &fleet,
                now,
            }))
            .into_response()
        }
        Err(r) => r,
    }
}

/// True when a browser says the request comes from another site: `Sec-Fetch-Site` other than
/// `same-origin`/`none`, or an `Origin` that is not this host. Requests without either (curl,
/// scripts) are not cross-origin.
fn cross_origin(headers: &HeaderMap) -> bool {
    if let Some(site) = headers.get("sec-fetch-site") {
        if !matches!(site.to_str(), Ok("same-origin" | "none")) {
            return true;
        }
    }
    let Some(origin) = headers.get(header::ORIGIN) else {
        return false;
    };
    let host = header_str(headers, header::HOST.as_str());
    let origin_host = origin.to_str().ok().and_then(|o| {
        o.strip_prefix("https://")
            .or_else(|| o.strip_prefix("http://"))
    });
    !matches!((origin_host, host), (Some(o), Some(h)) if o == h)
}

fn cross_origin_refusal() -> Response {
    error(
        StatusCode::FORBIDDEN,
        "cross_origin",
        "sign-in and sign-out are accepted only from HQ's own pages",
    )
}

/// The login form's fields.
#[derive(Debug, Deserialize, ToSchema)]
pub struct LoginForm {
    /// An analyst token (`shelftalk hq token create`).
    pub token: String,
}

fn session_cookie_header(value: &str, max_age: i64, secure: bool) -> String {
    format!(
        "{SESSION_COOKIE}={value}; HttpOnly; SameSite=Strict; Path=/; Max-Age={max_age}{}",
        if secure { "; Secure" } else { "" }
    )
}

/// Sign in to the dashboard with an analyst token: opens a session and sets its cookie.
#[utoipa::path(
    post,
    path = "/login",
    tag = "analyst",
    request_body(content = LoginForm, content_type = "application/x-www-form-urlencoded"),
    responses(
        (status = 303, description = "Signed in: the session cookie is set; on to `/`.",
         headers(
            ("set-cookie" = String, description = "The session cookie (HttpOnly, SameSite=Strict)."),
            ("location" = String, description = "`/`."),
         )),
        (status = 400, description = "Not a login form.", body = ApiError),
        (status = 401, description = "Unknown, expired or revoked token: the form again.",
         body = String, content_type = "text/html"),
        (status = 403, description = "A cross-origin request.", body = ApiError),
        (status = 415, description = "Not form-encoded.", body = ApiError),
        (status = 503, description = "Storage busy; try again.", body = ApiError),
    )
)]
async fn login(
    State(app): State<App>,
    headers: HeaderMap,
    form: Result<Form<LoginForm>, FormRejection>,
) -> Response {
    if cross_origin(&headers) {
        return cross_origin_refusal();
    }
    let form = match form {
        Ok(Form(f)) => f,
        Err(r) if r.status() == StatusCode::UNSUPPORTED_MEDIA_TYPE => {
            return error(r.status(), "bad_form", r.body_text())
        }
        Err(r) => return error(StatusCode::BAD_REQUEST, "bad_form", r.body_text()),
    };
    let session = match random_hex::<32>() {
        Ok(s) => s,
        Err(e) => return internal(e),
    };
    let (store, now) = (Arc::clone(&app.store), (app.clock)());
    let (session_digest, token_digest) = (token_digest(&session), token_digest(form.token.trim()));
    let started = blocking(move || {
        store.start_session(&session_digest, &token_digest, now, now + SESSION_SECS)
    })
    .await;
    match started {
        Ok(true) => (
            StatusCode::SEE_OTHER,
            [
                (
                    header::SET_COOKIE,
                    session_cookie_header(&session, SESSION_SECS, app.secure_cookies),
                ),
                (header::LOCATION, "/".to_string()),
            ],
        )
            .into_response(),
        Ok(false) => (
            StatusCode::UNAUTHORIZED,
            Html(page::login(Some("Unknown, expired or revoked token."))),
        )
            .into_response(),
        Err(r) => r,
    }
}

/// Sign out: ends the session (if any) and clears its cookie.
#[utoipa::path(
    post,
    path = "/logout",
    tag = "analyst",
    responses(
        (status = 303, description = "Signed out: the cookie is cleared; on to `/`.",
         headers(
            ("set-cookie" = String, description = "The session cookie, expired."),
            ("location" = String, description = "`/`."),
         )),
        (status = 403, description = "A cross-origin request.", body = ApiError),
        (status = 503, description = "Storage busy; try again.", body = ApiError),
    )
)]
async fn logout(State(app): State<App>, headers: HeaderMap) -> Response {
    if cross_origin(&headers) {
        return cross_origin_refusal();
    }
    if let Some(session) = session_cookie(&headers) {
        let (store, digest) = (Arc::clone(&app.store), token_digest(session));
        if let Err(r) = blocking(move || store.end_session(&digest)).await {
            return r;
        }
    }
    (
        StatusCode::SEE_OTHER,
        [
            (
                header::SET_COOKIE,
                session_cookie_header("", 0, app.secure_cookies),
            ),
            (header::LOCATION, "/".to_string()),
        ],
    )
        .into_response()
}

/// Liveness.
#[utoipa::path(
    get,
    path = "/healthz",
    tag = "public",
    responses((status = 200, description = "`ok`.", body = String, content_type = "text/plain"))
)]
async fn healthz() -> &'static str {
    "ok"
}

/// This document (OpenAPI 3.1), generated from the handlers.
#[utoipa::path(
    get,
    path = "/openapi.json",
    tag = "public",
    responses((status = 200, description = "The OpenAPI document.", body = Object))
)]
async fn openapi_json(State(app): State<App>) -> Json<serde_json::Value> {
    Json(app.openapi.as_ref().clone())
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[tokio::test]
    async fn an_internal_error_is_logged_not_echoed() {
        let e = HqError::BadQuery("postgres://analyst:hunter2@db.internal/hq".into());
        let r = internal(e);
        assert_eq!(r.status(), StatusCode::INTERNAL_SERVER_ERROR);
        let body = axum::body::to_bytes(r.into_body(), 1 << 16).await.unwrap();
        let body: ApiError = serde_json::from_slice(&body).unwrap();
        assert_eq!(body.error.code, "internal");
        assert!(
            !body.error.message.contains("hunter2"),
            "{}",
            body.error.message
        );
        assert!(
            body.error.message.contains("reference"),
            "{}",
            body.error.message
        );
    }
}
