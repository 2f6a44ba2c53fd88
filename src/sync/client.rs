//! The HQ client: posts signed batches and audit head reports and pulls fleet priors, with
//! exponential backoff and full jitter on retryable failures.
//!
//! Invariants:
//! - Only connection errors, timeouts, 429 and 5xx are retried; any other answer is final. An
//!   error says whether the request may have reached HQ (`maybe_delivered`), which decides
//!   whether the outbox may still roll that batch up.
//! - HQ is who the kiosk was provisioned to trust ([`HqTrust`]): an `https://` URL whose
//!   certificate chains to `hq_ca_file` and nothing else (no system roots), or `http://` to a
//!   loopback address only; redirects are never followed.
//! - Every answer acted on (batch and audit head acknowledgements, priors) is returned only after
//!   HQ's signature over its exact bytes verified under `hq_public_key`
//!   ([`SyncError::Forged`] otherwise; never retried, nothing of it is used).

use std::path::PathBuf;
use std::time::Duration;

use rand::{Rng, RngExt};
use ring::signature::Ed25519KeyPair;

use super::SyncError;
use crate::config::{check_hq_url, Config};
use crate::crypto::{from_hex, hex};
use crate::wire::{
    self, Ack, ApiError, AuditHeadAck, PriorsDocument, PriorsRequest, WireError, BACKLOG_HEADER,
    HQ_SIGNATURE_HEADER, KIOSK_HEADER, SIGNATURE_HEADER, TIME_HEADER,
};

/// Who the kiosk trusts as HQ.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HqTrust {
    /// HQ's base URL (`hq_url`).
    pub url: String,
    /// The only trust root of an `https://` HQ (`hq_ca_file`, PEM).
    pub ca_file: Option<PathBuf>,
    /// The key HQ signs its answers with (`hq_public_key`).
    pub public_key: [u8; 32],
}

impl HqTrust {
    /// HQ as the kiosk's config names it; refuses without `hq_public_key`.
    pub fn from_config(config: &Config) -> Result<Self, SyncError> {
        Ok(Self {
            url: config.hq_url.clone(),
            ca_file: config.hq_ca_file.clone(),
            public_key: config.hq_public_key().ok_or(SyncError::NoHqPublicKey)?,
        })
    }
}

/// Reads the opener of a signed answer: (HQ public key, body, signature) → the document.
type Opener<T> = fn(&[u8], &[u8], &[u8]) -> Result<T, WireError>;

/// Retry policy.
#[derive(Debug, Clone, Copy)]
pub struct Backoff {
    /// Attempts per request, including the first.
    pub attempts: u32,
    pub base: Duration,
    pub cap: Duration,
}

impl Default for Backoff {
    fn default() -> Self {
        Self {
            attempts: 5,
            base: Duration::from_millis(500),
            cap: Duration::from_secs(30),
        }
    }
}

/// Delay before retry number `retry` (0-based): uniform in `[0, min(cap, base · 2^retry)]`.
pub fn backoff_delay<R: Rng + ?Sized>(retry: u32, b: &Backoff, rng: &mut R) -> Duration {
    let ceiling = b
        .base
        .saturating_mul(1u32.checked_shl(retry.min(31)).unwrap_or(u32::MAX))
        .min(b.cap);
    ceiling.mul_f64(rng.random::<f64>())
}

/// An HTTP client for one HQ.
#[derive(Debug, Clone)]
pub struct HqClient {
    http: reqwest::Client,
    base: String,
    hq_key: [u8; 32],
    backoff: Backoff,
}

impl HqClient {
    /// A client for `hq`: refuses an `http://` URL that is not loopback
    /// ([`SyncError::HqUrl`]) and an `https://` one without a readable CA file
    /// ([`SyncError::NoHqCa`], [`SyncError::HqCa`]).
    pub fn new(hq: &HqTrust, timeout: Duration, backoff: Backoff) -> Result<Self, SyncError> {
        crate::crypto::install_tls_provider();
        check_hq_url(&hq.url).map_err(|reason| SyncError::HqUrl { reason })?;
        let mut builder = reqwest::Client::builder()
            .timeout(timeout)
            .connect_timeout(timeout.min(Duration::from_secs(5)))
            .redirect(reqwest::redirect::Policy::none())
            .user_agent(concat!("shelftalk/", env!("CARGO_PKG_VERSION")));
        if hq.url.starts_with("https://") {
            let path = hq.ca_file.as_ref().ok_or_else(|| SyncError::NoHqCa {
                url: hq.url.clone(),
            })?;
            let bad = |reason: String| SyncError::HqCa {
                path: path.clone(),
                reason,
            };
            let pem = std::fs::read(path).map_err(|e| bad(e.to_string()))?;
            let roots = reqwest::Certificate::from_pem_bundle(&pem)
                .map_err(|e| bad(format!("not PEM certificates: {e}")))?;
            if roots.is_empty() {
                return Err(bad(
                    "holds no PEM certificate (-----BEGIN CERTIFICATE-----)".into(),
                ));
            }
            builder = builder.https_only(true).tls_certs_only(roots);
        }
        let http = builder.build().map_err(SyncError::Client)?;
        Ok(Self {
            http,
            base: hq.url.trim_end_matches('/').to_string(),
            hq_key: hq.public_key,
            backoff,
        })
    }

    pub fn base_url(&self) -> &str {
        &self.base
    }

    fn unreachable(&self, source: reqwest::Error) -> SyncError {
        SyncError::Unreachable {
            url: self.base.clone(),
            maybe_delivered: !source.is_connect(),
            source,
        }
    }

    async fn answer_error(status: reqwest::StatusCode, resp: reqwest::Response) -> SyncError {
        let text = resp.text().await.unwrap_or_default();
        let (code, message) = match serde_json::from_str::<ApiError>(&text) {
            Ok(e) => (e.error.code, e.error.message),
            Err(_) => ("unknown".to_string(), text.chars().take(200).collect()),
        };
        if status.is_server_error() || status == reqwest::StatusCode::TOO_MANY_REQUESTS {
            SyncError::Server {
                status: status.as_u16(),
                message: format!("{code}: {message}"),
            }
        } else {
            SyncError::Refused {
                status: status.as_u16(),
                code,
                message,
            }
        }
    }

    /// A success answer's body, returned by `open` only once HQ's signature of it verified.
    async fn verified<T>(
        &self,
        resp: reqwest::Response,
        what: &'static str,
        open: impl FnOnce(&[u8], &[u8], &[u8]) -> Result<T, WireError>,
    ) -> Result<T, SyncError> {
        let signature = resp
            .headers()
            .get(HQ_SIGNATURE_HEADER)
            .and_then(|v| v.to_str().ok())
            .and_then(from_hex);
        let body = resp
            .bytes()
            .await
            .map_err(|source| SyncError::Answer { what, source })?;
        let Some(signature) = signature else {
            return Err(SyncError::Forged {
                what,
                reason: "it carries no signature",
            });
        };
        open(&self.hq_key, &body, &signature).map_err(|e| match e {
            WireError::BadSignature => SyncError::Forged {
                what,
                reason: "its signature does not verify",
            },
            source => SyncError::BadAnswer { what, source },
        })
    }

    /// One attempt at posting signed document bytes to `path`; the answer verified and opened
    /// by `open` (`what` names it in an error).
    async fn post_signed_once<T>(
        &self,
        path: &str,
        kiosk: &str,
        document: &[u8],
        signature: &[u8],
        backlog: Option<u64>,
        (what, open): (&'static str, Opener<T>),
    ) -> Result<T, SyncError> {
        let mut request = self
            .http
            .post(format!("{}{path}", self.base))
            .header(reqwest::header::CONTENT_TYPE, "application/json")
            .header(KIOSK_HEADER, kiosk)
            .header(SIGNATURE_HEADER, hex(signature));
        if let Some(backlog) = backlog {
            request = request.header(BACKLOG_HEADER, backlog.to_string());
        }
        let resp = request
            .body(document.to_vec())
            .send()
            .await
            .map_err(|e| self.unreachable(e))?;
        let status = resp.status();
        if !status.is_success() {
            return Err(Self::answer_error(status, resp).await);
        }
        self.verified(resp, what, open).await
    }

    /// Posts signed document bytes, retrying retryable failures with backoff. The error of the
    /// last attempt is returned, with `maybe_delivered` set if any attempt may have reached HQ.
    async fn post_signed<T>(
        &self,
        path: &str,
        kiosk: &str,
        document: &[u8],
        signature: &[u8],
        backlog: Option<u64>,
        answer: (&'static str, Opener<T>),
    ) -> Result<T, SyncError> {
        let mut rng = rand::make_rng::<rand::rngs::StdRng>();
        let mut maybe = false;
        let mut retry = 0;
        loop {
            match self
                .post_signed_once(path, kiosk, document, signature, backlog, answer)
                .await
            {
                Ok(answer) => return Ok(answer),
                Err(e) => {
                    maybe |= e.maybe_delivered();
                    retry += 1;
                    if !e.retryable() || retry >= self.backoff.attempts {
                        return Err(e.with_maybe_delivered(maybe));
                    }
                    let delay = backoff_delay(retry - 1, &self.backoff, &mut rng);
                    tracing::info!(error = %e, ?delay, "HQ post failed; retrying");
                    tokio::time::sleep(delay).await;
                }
            }
        }
    }

    /// One attempt at posting a signed batch.
    pub async fn post_batch_once(
        &self,
        kiosk: &str,
        document: &[u8],
        signature: &[u8],
        backlog: u64,
    ) -> Result<Ack, SyncError> {
        self.post_signed_once(
            "/v1/batches",
            kiosk,
            document,
            signature,
            Some(backlog),
            ("batch acknowledgement", Ack::open),
        )
        .await
    }

    /// Posts a batch, retrying retryable failures with backoff. The error of the last attempt is
    /// returned, with `maybe_delivered` set if any attempt may have reached HQ.
    pub async fn post_batch(
        &self,
        kiosk: &str,
        document: &[u8],
        signature: &[u8],
        backlog: u64,
    ) -> Result<Ack, SyncError> {
        self.post_signed(
            "/v1/batches",
            kiosk,
            document,
            signature,
            Some(backlog),
            ("batch acknowledgement", Ack::open),
        )
        .await
    }

    /// Posts a signed audit head report, retrying like [`post_batch`](Self::post_batch).
    pub async fn post_audit_head(
        &self,
        kiosk: &str,
        document: &[u8],
        signature: &[u8],
    ) -> Result<AuditHeadAck, SyncError> {
        self.post_signed(
            "/v1/audit-heads",
            kiosk,
            document,
            signature,
            None,
            ("audit head acknowledgement", AuditHeadAck::open),
        )
        .await
    }

    /// Pulls the fleet priors, authenticated by the device key; returned only when HQ signed
    /// them for this request.
    pub async fn priors(
        &self,
        kiosk: &str,
        device: &Ed25519KeyPair,
        now: i64,
    ) -> Result<PriorsDocument, SyncError> {
        let sig = wire::sign_priors_request(device, kiosk, now)?;
        let resp = self
            .http
            .get(format!("{}/v1/priors", self.base))
            .header(KIOSK_HEADER, kiosk)
            .header(TIME_HEADER, now.to_string())
            .header(SIGNATURE_HEADER, hex(&sig))
            .send()
            .await
            .map_err(|e| self.unreachable(e))?;
        let status = resp.status();
        if !status.is_success() {
            return Err(Self::answer_error(status, resp).await);
        }
        let request = PriorsRequest { kiosk, time: now };
        self.verified(resp, "priors", |key, body, sig| {
            PriorsDocument::open(key, request, body, sig)
        })
        .await
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use rand::rngs::StdRng;
    use rand::SeedableRng;

    #[test]
    fn an_unreachable_hq_keeps_the_transport_error_as_source() {
        use std::error::Error as _;
        // A port nothing listens on: bind, note it, close.
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let client = HqClient::new(
            &HqTrust {
                url: format!("http://127.0.0.1:{port}"),
                ca_file: None,
                public_key: [0; 32],
            },
            Duration::from_secs(5),
            Backoff::default(),
        )
        .unwrap();
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        let err = runtime
            .block_on(client.post_batch_once("kiosk-1", b"{}", &[0; 64], 0))
            .unwrap_err();
        assert!(matches!(err, SyncError::Unreachable { .. }), "{err}");
        assert!(err.retryable());
        assert!(
            !err.maybe_delivered(),
            "a refused connection delivered nothing"
        );
        let source = err.source().unwrap();
        assert!(source
            .downcast_ref::<reqwest::Error>()
            .unwrap()
            .is_connect());
        assert!(
            err.to_string().contains("is unreachable (retryable)"),
            "{err}"
        );
    }

    #[test]
    fn backoff_grows_to_the_cap_with_jitter() {
        let b = Backoff {
            attempts: 10,
            base: Duration::from_millis(100),
            cap: Duration::from_secs(2),
        };
        let mut rng = StdRng::seed_from_u64(3);
        for retry in 0..40 {
            let ceiling = Duration::from_millis(100)
                .saturating_mul(1u32.checked_shl(retry.min(31)).unwrap_or(u32::MAX))
                .min(b.cap);
            let draws: Vec<_> = (0..200)
                .map(|_| backoff_delay(retry, &b, &mut rng))
                .collect();
            assert!(draws.iter().all(|d| *d <= ceiling));
            let distinct: std::collections::HashSet<_> = draws.iter().collect();
            assert!(distinct.len() > 150, "jittered");
            let max = draws.iter().max().copied().unwrap_or_default();
            assert!(max > ceiling.mul_f64(0.9), "reaches near the ceiling");
        }
    }
}
