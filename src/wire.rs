//! The wire formats between kiosk and HQ, shared by both sides.
//!
//! - A batch is a JSON [`BatchDocument`] (version [`BATCH_VERSION`]), posted as the exact bytes
//!   that were signed to `POST /v1/batches`, with the Ed25519 signature (hex) in the
//!   [`SIGNATURE_HEADER`] and the kiosk's current outbox size in [`BACKLOG_HEADER`] (informational).
//!   The signature covers `"shelftalk/batch/v1\0" ‖ document bytes`.
//! - A kiosk pulls `GET /v1/priors` signed: [`KIOSK_HEADER`], [`TIME_HEADER`] (Unix seconds, at
//!   most [`MAX_CLOCK_SKEW_SECS`] from HQ's clock) and the signature of
//!   `"shelftalk/priors/v1\0" ‖ kiosk ‖ "\0" ‖ time`.
//! - With every sync a kiosk posts its technician audit log's head as an [`AuditHeadDocument`]
//!   (version [`AUDIT_HEAD_VERSION`]) to `POST /v1/audit-heads`, the exact signed bytes as the
//!   body and the signature in [`SIGNATURE_HEADER`]; the signature covers
//!   `"shelftalk/audit-head/v1\0" ‖ document bytes`. HQ answers with an [`AuditHeadAck`].
//! - Errors are `{"error": {"code": "...", "message": "..."}}` ([`ApiError`]).
//! - HQ signs every answer a kiosk acts on with its own Ed25519 key (`hq keys init`), the
//!   signature (hex) in [`HQ_SIGNATURE_HEADER`] over the exact response body:
//!   an [`Ack`] of a batch over `"shelftalk/hq-ack/v1\0" ‖ body`, an [`AuditHeadAck`] over
//!   `"shelftalk/hq-audit-head-ack/v1\0" ‖ body`, and a [`PriorsDocument`] over
//!   `"shelftalk/hq-priors/v1\0" ‖ kiosk ‖ "\0" ‖ time ‖ "\0" ‖ body`, where kiosk and time
//!   are those of the signed request it answers ([`PriorsRequest`]). An ack names the kiosk and
//!   what it acknowledges (kiosk, batch id, seq, status; kiosk and report number), so it cannot
//!   be replayed for another batch or kiosk, and stale priors cannot be replayed to a later
//!   request. A kiosk verifies the signature before it parses the body ([`Ack::open`],
//!   [`AuditHeadAck::open`], [`PriorsDocument::open`]).
//!
//! Invariants: a document carries days, never times; no session, shopper or loyalty data (an
//! audit head is a sequence number and a hash); every field is pinned by the golden tests in
//! `tests/feedback_wire.rs` and `tests/hq_answers_wire.rs`. Changing a format means a new version
//! number. The signing contexts differ per message and per signer (`shelftalk/…` by kiosks,
//! `shelftalk/hq-…` by HQ), so no signed document can be passed off as another kind.

use ring::signature::{self, Ed25519KeyPair};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::feedback::cells::{Cell, Counts, Day};
use crate::feedback::{check_cell_labels, Prior};
use crate::vocab::Style;

pub const BATCH_VERSION: u32 = 1;
pub const PRIORS_VERSION: u32 = 1;
pub const AUDIT_HEAD_VERSION: u32 = 1;
pub const SIGNATURE_HEADER: &str = "x-shelftalk-signature";
pub const BACKLOG_HEADER: &str = "x-shelftalk-backlog";
pub const KIOSK_HEADER: &str = "x-shelftalk-kiosk";
pub const TIME_HEADER: &str = "x-shelftalk-time";
pub const MAX_CLOCK_SKEW_SECS: i64 = 300;
/// The response header carrying HQ's signature of the answer body (hex).
pub const HQ_SIGNATURE_HEADER: &str = "x-shelftalk-hq-signature";
const BATCH_CONTEXT: &[u8] = b"shelftalk/batch/v1\0";
const PRIORS_CONTEXT: &[u8] = b"shelftalk/priors/v1\0";
const AUDIT_HEAD_CONTEXT: &[u8] = b"shelftalk/audit-head/v1\0";
const ACK_CONTEXT: &[u8] = b"shelftalk/hq-ack/v1\0";
const AUDIT_HEAD_ACK_CONTEXT: &[u8] = b"shelftalk/hq-audit-head-ack/v1\0";
const PRIORS_ANSWER_CONTEXT: &[u8] = b"shelftalk/hq-priors/v1\0";

#[derive(Debug, thiserror::Error)]
pub enum WireError {
    /// Not JSON (syntax, truncation).
    #[error("malformed JSON: {0}")]
    Malformed(#[source] serde_json::Error),
    /// JSON of the wrong shape: missing, unknown or mistyped fields.
    #[error("invalid document: {0}")]
    Invalid(#[source] serde_json::Error),
    /// A well-formed document that breaks a rule serde cannot check (see
    /// [`BatchDocument::validate`]). The text names the field and the rule; it is composed here
    /// (no underlying error) and sent back to the kiosk as is.
    #[error("invalid document: {0}")]
    Rule(String),
    #[error("signature does not verify")]
    BadSignature,
    #[error("cannot encode document: {0}")]
    Encode(#[source] serde_json::Error),
    #[error("cannot encode document: signature is not 64 bytes")]
    SignatureLength(#[source] std::array::TryFromSliceError),
}

/// What a kiosk dropped from a full outbox, cumulative since it was installed.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Dropped {
    #[schema(maximum = 9223372036854775807_i64)]
    pub batches: u64,
    pub counts: Counts,
}

/// One batch of closed feedback cells from one kiosk. The request body is the exact bytes the
/// kiosk signed.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct BatchDocument {
    /// Always 1 (`BATCH_VERSION`).
    #[schema(minimum = 1, maximum = 1)]
    pub version: u32,
    #[schema(format = Uuid)]
    pub batch_id: String,
    #[schema(pattern = r"^[A-Za-z0-9_-]{1,64}$")]
    pub kiosk_id: String,
    #[schema(pattern = r"^[A-Za-z0-9_-]{1,64}$")]
    pub store_id: String,
    /// Per-kiosk sequence number, strictly increasing over the kiosk's batches.
    #[schema(minimum = 1, maximum = 9223372036854775807_i64)]
    pub seq: u64,
    pub created_day: Day,
    /// shelftalk version of the kiosk.
    pub software: String,
    /// The least number of distinct people behind every cell; HQ refuses below 5
    /// (`MIN_K_ANONYMITY`).
    #[schema(minimum = 5, maximum = 4294967295_u32)]
    pub k_anonymity: u32,
    /// Laplace noise parameter applied to the counts; 0 = none.
    #[schema(minimum = 0)]
    pub noise_epsilon: f64,
    pub dropped: Dropped,
    #[schema(max_items = 10000)]
    pub cells: Vec<Cell>,
}

/// The most cells HQ accepts in one batch.
pub const MAX_CELLS: usize = 10_000;

/// The largest sequence number or count a document may carry: HQ stores them as SQLite
/// integers, which are signed 64-bit (a larger one made HQ answer 500; caught by the
/// `hq_ingest` fuzz target's invariant).
pub const MAX_NUMBER: u64 = i64::MAX as u64;

/// The least `k` HQ accepts (defined in [`crate::vocab`], where the kiosk's config checks it too).
pub use crate::vocab::MIN_K_ANONYMITY;

/// The most a cell may count of its contributors and of each event count but `dwell_ms`. A cell
/// is one kiosk's day of one product, style, segment and content kind: one impression every
/// second of the day is 86,400, so a million is generous; a coarsened cell (a full outbox, one
/// per day, style and kind) stays far below it too.
pub const MAX_CELL_COUNT: u64 = 1_000_000;

/// The most total dwell a cell may carry, in milliseconds: [`MAX_CELL_COUNT`] dwells of 10 s.
///
/// With both ceilings, HQ's signed 64-bit sums cannot overflow before a report group holds
/// 922 million maximal cells (dwell) or 9.2 trillion (the counts): more than a fleet of ten
/// thousand kiosks sends in a century at the [`MAX_CELLS`] a batch carries.
pub const MAX_CELL_DWELL_MS: u64 = MAX_CELL_COUNT * 10_000;

/// Parses a document: syntax errors are [`WireError::Malformed`], wrong fields or types
/// [`WireError::Invalid`].
fn parse_document<T: serde::de::DeserializeOwned>(bytes: &[u8]) -> Result<T, WireError> {
    serde_json::from_slice(bytes).map_err(|e| match e.classify() {
        serde_json::error::Category::Data => WireError::Invalid(e),
        _ => WireError::Malformed(e),
    })
}

/// Checks the kiosk and store ids of a document: 1-64 characters of `A-Z a-z 0-9 - _`.
fn check_ids(kiosk_id: &str, store_id: &str) -> Result<(), WireError> {
    for (name, id) in [("kiosk_id", kiosk_id), ("store_id", store_id)] {
        let ok = (1..=64).contains(&id.len())
            && id
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
        if !ok {
            return Err(WireError::Rule(format!(
                "{name} is not 1-64 characters of A-Z a-z 0-9 - _"
            )));
        }
    }
    Ok(())
}

impl BatchDocument {
    /// Parses a document: syntax errors are [`WireError::Malformed`], wrong fields or types
    /// [`WireError::Invalid`].
    pub fn parse(bytes: &[u8]) -> Result<Self, WireError> {
        parse_document(bytes)
    }

    /// Checks what serde cannot: version, ids, labels and count relations.
    pub fn validate(&self) -> Result<(), WireError> {
        let bad = |m: String| Err(WireError::Rule(m));
        if self.version != BATCH_VERSION {
            return bad(format!("unsupported version {}", self.version));
        }
        if uuid::Uuid::parse_str(&self.batch_id).is_err() {
            return bad("batch_id is not a UUID".into());
        }
        check_ids(&self.kiosk_id, &self.store_id)?;
        if self.seq == 0 {
            return bad("seq starts at 1".into());
        }
        if self.seq > MAX_NUMBER {
            return bad(format!("seq is above {MAX_NUMBER}"));
        }
        if self.cells.len() > MAX_CELLS {
            return bad(format!("more than {MAX_CELLS} cells"));
        }
        if !(self.noise_epsilon.is_finite() && self.noise_epsilon >= 0.0) {
            return bad("noise_epsilon must be 0 or positive".into());
        }
        if self.k_anonymity < MIN_K_ANONYMITY {
            return bad(format!(
                "k_anonymity {} is below the least HQ accepts, {MIN_K_ANONYMITY}",
                self.k_anonymity
            ));
        }
        for (i, c) in self.cells.iter().enumerate() {
            if !Style::ALL.iter().any(|s| s.as_str() == c.style) {
                return bad(format!("cells[{i}].style {:?} is unknown", c.style));
            }
            if let Err(e) = check_cell_labels(&c.sku, &c.segment, &c.content_kind) {
                return bad(format!("cells[{i}]: {e}"));
            }
            if !crate::experiment::is_arm_label(&c.arm) {
                return bad(format!(
                    "cells[{i}].arm {:?} is not an arm label (name or experiment:arm, a-z 0-9 _ -)",
                    c.arm
                ));
            }
            let n = &c.counts;
            let over = c
                .numbers()
                .into_iter()
                .zip(Cell::NUMBER_NAMES)
                .find(|&(x, name)| {
                    x > if name == "counts.dwell_ms" {
                        MAX_CELL_DWELL_MS
                    } else {
                        MAX_CELL_COUNT
                    }
                });
            if let Some((x, name)) = over {
                return bad(format!(
                    "cells[{i}].{name} is {x}, above the per-cell ceiling (MAX_CELL_COUNT \
                     {MAX_CELL_COUNT}, MAX_CELL_DWELL_MS {MAX_CELL_DWELL_MS} for dwell_ms)"
                ));
            }
            if c.sessions < u64::from(self.k_anonymity) {
                return bad(format!(
                    "cells[{i}].sessions is {}, below the batch's k_anonymity {}",
                    c.sessions, self.k_anonymity
                ));
            }
            if n.taps > n.impressions || n.conversions > n.impressions {
                return bad(format!(
                    "cells[{i}]: taps and conversions exceed impressions"
                ));
            }
            let ipw = [c.ipw.impressions, c.ipw.taps, c.ipw.conversions];
            if ipw.iter().any(|x| !x.is_finite() || *x < 0.0) {
                return bad(format!(
                    "cells[{i}]: ipw sums must be finite and non-negative"
                ));
            }
        }
        Ok(())
    }

    /// Serialises and signs the document with the kiosk's device key.
    pub fn sign(&self, key: &Ed25519KeyPair) -> Result<(Vec<u8>, [u8; 64]), WireError> {
        sign_document(self, key, BATCH_CONTEXT, b"")
    }
}

/// Signs bytes as a batch document (what [`BatchDocument::sign`] does after serialising; HQ
/// verifies the signature before it decodes the bytes, see [`verify_batch`]).
pub fn sign_batch_bytes(key: &Ed25519KeyPair, bytes: &[u8]) -> Result<[u8; 64], WireError> {
    sign_with_context(key, BATCH_CONTEXT, bytes)
}

/// Serialises `value` and signs `context ‖ binding ‖ bytes`; returns the bytes and signature.
fn sign_document<T: Serialize>(
    value: &T,
    key: &Ed25519KeyPair,
    context: &[u8],
    binding: &[u8],
) -> Result<(Vec<u8>, [u8; 64]), WireError> {
    let bytes = serde_json::to_vec(value).map_err(WireError::Encode)?;
    let signature = sign_with_context(key, &[context, binding].concat(), &bytes)?;
    Ok((bytes, signature))
}

/// Verifies a signature of `context ‖ binding ‖ bytes` by `public_key`, and only then parses
/// `bytes`.
fn open_document<T: serde::de::DeserializeOwned>(
    public_key: &[u8],
    context: &[u8],
    binding: &[u8],
    bytes: &[u8],
    sig: &[u8],
) -> Result<T, WireError> {
    verify_with_context(public_key, &[context, binding].concat(), bytes, sig)?;
    parse_document(bytes)
}

fn sign_with_context(
    key: &Ed25519KeyPair,
    context: &[u8],
    bytes: &[u8],
) -> Result<[u8; 64], WireError> {
    let mut msg = Vec::with_capacity(context.len() + bytes.len());
    msg.extend_from_slice(context);
    msg.extend_from_slice(bytes);
    key.sign(&msg)
        .as_ref()
        .try_into()
        .map_err(WireError::SignatureLength)
}

fn verify_with_context(
    public_key: &[u8],
    context: &[u8],
    bytes: &[u8],
    sig: &[u8],
) -> Result<(), WireError> {
    let mut msg = Vec::with_capacity(context.len() + bytes.len());
    msg.extend_from_slice(context);
    msg.extend_from_slice(bytes);
    signature::UnparsedPublicKey::new(&signature::ED25519, public_key)
        .verify(&msg, sig)
        .map_err(|_| WireError::BadSignature)
}

/// Verifies a batch signature against an enrolled public key.
pub fn verify_batch(public_key: &[u8], document: &[u8], sig: &[u8]) -> Result<(), WireError> {
    verify_with_context(public_key, BATCH_CONTEXT, document, sig)
}

fn priors_message(kiosk: &str, time: i64) -> Vec<u8> {
    format!("{kiosk}\0{time}").into_bytes()
}

/// Signs a priors request of `kiosk` at `time`.
pub fn sign_priors_request(
    key: &Ed25519KeyPair,
    kiosk: &str,
    time: i64,
) -> Result<[u8; 64], WireError> {
    sign_with_context(key, PRIORS_CONTEXT, &priors_message(kiosk, time))
}

/// Verifies a priors request signature.
pub fn verify_priors_request(
    public_key: &[u8],
    kiosk: &str,
    time: i64,
    sig: &[u8],
) -> Result<(), WireError> {
    verify_with_context(
        public_key,
        PRIORS_CONTEXT,
        &priors_message(kiosk, time),
        sig,
    )
}

/// The head of a kiosk's technician audit log, signed with its device key and posted with every
/// sync, so HQ can tell when the log was rewritten. The request body is the exact bytes the kiosk
/// signed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AuditHeadDocument {
    /// Always 1 (`AUDIT_HEAD_VERSION`).
    #[schema(minimum = 1, maximum = 1)]
    pub version: u32,
    #[schema(pattern = r"^[A-Za-z0-9_-]{1,64}$")]
    pub kiosk_id: String,
    #[schema(pattern = r"^[A-Za-z0-9_-]{1,64}$")]
    pub store_id: String,
    /// Per-kiosk number of this report, strictly increasing over the kiosk's reports: HQ refuses
    /// a report not above the last one it recorded (unless it is that same report again), so a
    /// captured old report cannot be played back to HQ.
    #[schema(minimum = 1, maximum = 9223372036854775807_i64)]
    pub report_seq: u64,
    /// The audit log's last entry: its sequence number (0 for an empty log) and hash (lower-case
    /// hex SHA-256; 64 zeros for an empty log).
    #[schema(maximum = 9223372036854775807_i64)]
    pub head_seq: u64,
    #[schema(pattern = "^[0-9a-f]{64}$")]
    pub head_hash: String,
    /// Whether the kiosk's own check of every link of the chain passed.
    pub chain_intact: bool,
}

impl AuditHeadDocument {
    /// Parses a document: syntax errors are [`WireError::Malformed`], wrong fields or types
    /// [`WireError::Invalid`].
    pub fn parse(bytes: &[u8]) -> Result<Self, WireError> {
        parse_document(bytes)
    }

    /// Checks what serde cannot: version, ids, the report number and the hash's form.
    pub fn validate(&self) -> Result<(), WireError> {
        if self.version != AUDIT_HEAD_VERSION {
            return Err(WireError::Rule(format!(
                "unsupported version {}",
                self.version
            )));
        }
        check_ids(&self.kiosk_id, &self.store_id)?;
        if self.report_seq == 0 {
            return Err(WireError::Rule("report_seq starts at 1".into()));
        }
        if self.report_seq > MAX_NUMBER || self.head_seq > MAX_NUMBER {
            return Err(WireError::Rule(format!(
                "report_seq and head_seq may not be above {MAX_NUMBER}"
            )));
        }
        let hex = self.head_hash.len() == 64
            && self
                .head_hash
                .bytes()
                .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b));
        if !hex {
            return Err(WireError::Rule(
                "head_hash is not 64 lower-case hex characters".into(),
            ));
        }
        Ok(())
    }

    /// Serialises and signs the document with the kiosk's device key.
    pub fn sign(&self, key: &Ed25519KeyPair) -> Result<(Vec<u8>, [u8; 64]), WireError> {
        sign_document(self, key, AUDIT_HEAD_CONTEXT, b"")
    }
}

/// Verifies an audit head signature against an enrolled public key.
pub fn verify_audit_head(public_key: &[u8], document: &[u8], sig: &[u8]) -> Result<(), WireError> {
    verify_with_context(public_key, AUDIT_HEAD_CONTEXT, document, sig)
}

/// How a reported audit head relates to the one HQ recorded before it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum AuditVerdict {
    /// The first head HQ hears of, or one further along the log.
    Advanced,
    /// The same head as before.
    Unchanged,
    /// A lower sequence number than before: entries were removed (or the log replaced).
    Regressed,
    /// The same sequence number with another hash: entries were edited or replaced.
    Forked,
    /// The kiosk's own check of the chain fails (a line edited or removed in place).
    Broken,
}

impl AuditVerdict {
    /// The verdicts that mean the kiosk's log was rewritten.
    pub fn is_alarm(self) -> bool {
        matches!(self, Self::Regressed | Self::Forked | Self::Broken)
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Advanced => "advanced",
            Self::Unchanged => "unchanged",
            Self::Regressed => "regressed",
            Self::Forked => "forked",
            Self::Broken => "broken",
        }
    }

    pub fn parse(text: &str) -> Option<Self> {
        [
            Self::Advanced,
            Self::Unchanged,
            Self::Regressed,
            Self::Forked,
            Self::Broken,
        ]
        .into_iter()
        .find(|v| v.as_str() == text)
    }
}

/// HQ's answer to an audit head report, signed with HQ's key (`AuditHeadAck::sign`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct AuditHeadAck {
    /// `recorded`, or `duplicate` for the same report again (a re-send after a lost answer).
    #[schema(value_type = String, pattern = "^(recorded|duplicate)$")]
    pub status: String,
    /// The kiosk whose report this answers.
    pub kiosk_id: String,
    pub report_seq: u64,
    /// What HQ made of the head (for a duplicate, what it made of it the first time).
    pub verdict: AuditVerdict,
}

impl AuditHeadAck {
    /// Serialises and signs the answer with HQ's key: the body and the [`HQ_SIGNATURE_HEADER`].
    pub fn sign(&self, hq_key: &Ed25519KeyPair) -> Result<(Vec<u8>, [u8; 64]), WireError> {
        sign_document(self, hq_key, AUDIT_HEAD_ACK_CONTEXT, b"")
    }

    /// Verifies HQ's signature over the answer `bytes`, then parses them.
    pub fn open(hq_public_key: &[u8], bytes: &[u8], sig: &[u8]) -> Result<Self, WireError> {
        open_document(hq_public_key, AUDIT_HEAD_ACK_CONTEXT, b"", bytes, sig)
    }

    /// True when this answers report `report_seq` of `kiosk_id` (`recorded` or `duplicate`).
    pub fn answers(&self, kiosk_id: &str, report_seq: u64) -> bool {
        self.kiosk_id == kiosk_id
            && self.report_seq == report_seq
            && matches!(self.status.as_str(), "recorded" | "duplicate")
    }
}

/// HQ's answer to an accepted (or already received) batch, signed with HQ's key (`Ack::sign`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct Ack {
    /// `accepted` or `duplicate`.
    #[schema(value_type = String, pattern = "^(accepted|duplicate)$")]
    pub status: String,
    /// The kiosk whose batch this acknowledges.
    pub kiosk_id: String,
    pub batch_id: String,
    pub seq: u64,
}

impl Ack {
    /// Serialises and signs the acknowledgement with HQ's key: the body and the
    /// [`HQ_SIGNATURE_HEADER`].
    pub fn sign(&self, hq_key: &Ed25519KeyPair) -> Result<(Vec<u8>, [u8; 64]), WireError> {
        sign_document(self, hq_key, ACK_CONTEXT, b"")
    }

    /// Verifies HQ's signature over the acknowledgement `bytes`, then parses them.
    pub fn open(hq_public_key: &[u8], bytes: &[u8], sig: &[u8]) -> Result<Self, WireError> {
        open_document(hq_public_key, ACK_CONTEXT, b"", bytes, sig)
    }

    /// True when this acknowledges exactly batch `batch_id` (`seq`) of `kiosk_id`, as received
    /// (`accepted` or `duplicate`).
    pub fn acknowledges(&self, kiosk_id: &str, batch_id: &str, seq: u64) -> bool {
        self.kiosk_id == kiosk_id
            && self.batch_id == batch_id
            && self.seq == seq
            && matches!(self.status.as_str(), "accepted" | "duplicate")
    }
}

/// The body of every error answer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct ApiError {
    pub error: ApiErrorBody,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct ApiErrorBody {
    /// A stable machine-readable code (`unauthenticated`, `replay`, `bad_query`, …).
    pub code: String,
    /// What was wrong, for a person.
    pub message: String,
}

/// Fleet priors as HQ serves them, signed with HQ's key for the request they answer
/// (`PriorsDocument::sign`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct PriorsDocument {
    pub version: u32,
    pub generated_day: Day,
    pub priors: Vec<FleetPrior>,
}

/// The request a priors answer is bound to: the kiosk and time of its signed request. An
/// analyst's request (bearer token) is answered bound to [`PriorsRequest::ANALYST`], whose empty
/// kiosk id no kiosk has.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PriorsRequest<'a> {
    pub kiosk: &'a str,
    pub time: i64,
}

impl PriorsRequest<'_> {
    pub const ANALYST: PriorsRequest<'static> = PriorsRequest { kiosk: "", time: 0 };

    fn binding(&self) -> Vec<u8> {
        format!("{}\0{}\0", self.kiosk, self.time).into_bytes()
    }
}

impl PriorsDocument {
    /// Serialises and signs the document with HQ's key for `request`.
    pub fn sign(
        &self,
        hq_key: &Ed25519KeyPair,
        request: PriorsRequest<'_>,
    ) -> Result<(Vec<u8>, [u8; 64]), WireError> {
        sign_document(self, hq_key, PRIORS_ANSWER_CONTEXT, &request.binding())
    }

    /// Verifies HQ's signature over `bytes` as the answer to `request`, then parses them.
    pub fn open(
        hq_public_key: &[u8],
        request: PriorsRequest<'_>,
        bytes: &[u8],
        sig: &[u8],
    ) -> Result<Self, WireError> {
        open_document(
            hq_public_key,
            PRIORS_ANSWER_CONTEXT,
            &request.binding(),
            bytes,
            sig,
        )
    }
}

/// One segment × style prior with the evidence behind it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct FleetPrior {
    pub segment: String,
    #[schema(value_type = Style)]
    pub style: String,
    pub alpha: f64,
    pub beta: f64,
    pub impressions: u64,
    pub taps: u64,
}

impl FleetPrior {
    /// The prior the kiosk's bandit uses.
    pub fn prior(&self) -> Prior {
        Prior {
            segment: self.segment.clone(),
            style: self.style.clone(),
            alpha: self.alpha,
            beta: self.beta,
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use std::error::Error as _;

    #[test]
    fn parse_errors_keep_the_json_error_as_source() {
        let err = BatchDocument::parse(b"{\"version\": 1").unwrap_err();
        assert!(matches!(err, WireError::Malformed(_)), "{err}");
        let json = err.source().unwrap().downcast_ref::<serde_json::Error>();
        assert!(json.unwrap().is_eof());
        assert!(err.to_string().starts_with("malformed JSON: "), "{err}");

        let err = BatchDocument::parse(b"{\"version\": \"one\"}").unwrap_err();
        assert!(matches!(err, WireError::Invalid(_)), "{err}");
        let json = err.source().unwrap().downcast_ref::<serde_json::Error>();
        assert!(json.unwrap().is_data());
        assert!(err.to_string().starts_with("invalid document: "), "{err}");
    }
}
