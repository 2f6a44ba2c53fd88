//! The wire formats between kiosk and HQ, shared by both sides.
//!
//! - A batch is a JSON [`BatchDocument`] (version [`BATCH_VERSION`]), posted as the exact bytes
//!   that were signed to `POST /v1/batches`, with the Ed25519 signature (hex) in the
//!   [`SIGNATURE_HEADER`] and the kiosk's current outbox size in [`BACKLOG_HEADER`] (informational).
//!   The signature covers `"shelftalk/batch/v1\0" ‖ document bytes`.
//! - A kiosk pulls `GET /v1/priors` signed: [`KIOSK_HEADER`], [`TIME_HEADER`] (Unix seconds, at
//!   most [`MAX_CLOCK_SKEW_SECS`] from HQ's clock) and the signature of
//!   `"shelftalk/priors/v1\0" ‖ kiosk ‖ "\0" ‖ time`.
//! - Errors are `{"error": {"code": "...", "message": "..."}}` ([`ApiError`]).
//!
//! Invariants: a document carries days, never times; no session, shopper or loyalty data; every
//! field is pinned by the golden test in `tests/feedback_wire.rs`. Changing the format means a
//! new version number.

use ring::signature::{self, Ed25519KeyPair};
use serde::{Deserialize, Serialize};

use crate::feedback::cells::{Cell, Counts, Day};
use crate::feedback::{check_cell_labels, Prior};
use crate::vocab::Style;

pub const BATCH_VERSION: u32 = 1;
pub const PRIORS_VERSION: u32 = 1;
pub const SIGNATURE_HEADER: &str = "x-shelftalk-signature";
pub const BACKLOG_HEADER: &str = "x-shelftalk-backlog";
pub const KIOSK_HEADER: &str = "x-shelftalk-kiosk";
pub const TIME_HEADER: &str = "x-shelftalk-time";
pub const MAX_CLOCK_SKEW_SECS: i64 = 300;
const BATCH_CONTEXT: &[u8] = b"shelftalk/batch/v1\0";
const PRIORS_CONTEXT: &[u8] = b"shelftalk/priors/v1\0";

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
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Dropped {
    pub batches: u64,
    pub counts: Counts,
}

/// One batch of closed feedback cells from one kiosk.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BatchDocument {
    pub version: u32,
    pub batch_id: String,
    pub kiosk_id: String,
    pub store_id: String,
    /// Per-kiosk sequence number, strictly increasing over the kiosk's batches.
    pub seq: u64,
    pub created_day: Day,
    /// shelftalk version of the kiosk.
    pub software: String,
    pub k_anonymity: u32,
    /// Laplace noise parameter applied to the counts; 0 = none.
    pub noise_epsilon: f64,
    pub dropped: Dropped,
    pub cells: Vec<Cell>,
}

/// The most cells HQ accepts in one batch.
pub const MAX_CELLS: usize = 10_000;

impl BatchDocument {
    /// Parses a document: syntax errors are [`WireError::Malformed`], wrong fields or types
    /// [`WireError::Invalid`].
    pub fn parse(bytes: &[u8]) -> Result<Self, WireError> {
        serde_json::from_slice(bytes).map_err(|e| match e.classify() {
            serde_json::error::Category::Data => WireError::Invalid(e),
            _ => WireError::Malformed(e),
        })
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
        for (name, id) in [("kiosk_id", &self.kiosk_id), ("store_id", &self.store_id)] {
            let ok = (1..=64).contains(&id.len())
                && id
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
            if !ok {
                return bad(format!("{name} is not 1-64 characters of A-Z a-z 0-9 - _"));
            }
        }
        if self.seq == 0 {
            return bad("seq starts at 1".into());
        }
        if self.cells.len() > MAX_CELLS {
            return bad(format!("more than {MAX_CELLS} cells"));
        }
        if !(self.noise_epsilon.is_finite() && self.noise_epsilon >= 0.0) {
            return bad("noise_epsilon must be 0 or positive".into());
        }
        for (i, c) in self.cells.iter().enumerate() {
            if !Style::ALL.iter().any(|s| s.as_str() == c.style) {
                return bad(format!("cells[{i}].style {:?} is unknown", c.style));
            }
            if let Err(e) = check_cell_labels(&c.sku, &c.segment, &c.content_kind) {
                return bad(format!("cells[{i}]: {e}"));
            }
            let n = &c.counts;
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
        let bytes = serde_json::to_vec(self).map_err(WireError::Encode)?;
        let signature = sign_with_context(key, BATCH_CONTEXT, &bytes)?;
        Ok((bytes, signature))
    }
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

/// HQ's answer to an accepted (or already received) batch.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Ack {
    /// `accepted` or `duplicate`.
    pub status: String,
    pub batch_id: String,
    pub seq: u64,
}

/// The body of every error answer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ApiError {
    pub error: ApiErrorBody,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ApiErrorBody {
    pub code: String,
    pub message: String,
}

/// Fleet priors as HQ serves them.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PriorsDocument {
    pub version: u32,
    pub generated_day: Day,
    pub priors: Vec<FleetPrior>,
}

/// One segment × style prior with the evidence behind it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FleetPrior {
    pub segment: String,
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
