//! The kiosk acts only on answers HQ signed with the key it was provisioned with
//! (`hq_public_key`). An HQ impostor on loopback answers 200 with well-formed acknowledgements
//! and priors that are unsigned, signed by another key, garbled, or signed by the real HQ key
//! but for another batch, kiosk or request: the outbox keeps every batch (and sends it again to
//! the real HQ, counted once), and no forged prior reaches the bandit.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

#[macro_use]
mod sync_support;

use std::sync::Arc;

use axum::body::Bytes;
use axum::http::{HeaderMap, HeaderName};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::Router;
use shelftalk::crypto::hex;
use shelftalk::feedback::cells::Day;
use shelftalk::hq::key::HqKey;
use shelftalk::store::Store;
use shelftalk::sync::{self, SyncError};
use shelftalk::wire::{
    Ack, BatchDocument, FleetPrior, PriorsDocument, PriorsRequest, HQ_SIGNATURE_HEADER,
    KIOSK_HEADER, PRIORS_VERSION, TIME_HEADER,
};
use sync_support::{context, hq_key, kiosk, simulate, status, Hq, NOW};

/// How the impostor forges its answers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Forgery {
    /// No signature header.
    Unsigned,
    /// A signature header that is not hex of 64 bytes.
    Garbled,
    /// Signed by a key that is not HQ's.
    OtherKey,
    /// Signed by HQ's key, but it acknowledges another batch (a replayed ack).
    OtherBatch,
    /// Signed by HQ's key for this batch id and seq, but another kiosk's.
    OtherKiosk,
    /// Priors signed by HQ's key for an earlier request of this kiosk (a replay).
    StalePriors,
    /// Priors signed by HQ's key for an analyst (bound to no kiosk).
    AnalystPriors,
}

struct Impostor {
    forgery: Forgery,
    other_key: HqKey,
}

impl Impostor {
    fn answer(&self, signed: (Vec<u8>, [u8; 64]), by_hq: (Vec<u8>, [u8; 64])) -> Response {
        let (body, signature) = match self.forgery {
            Forgery::OtherKey => signed,
            _ => by_hq,
        };
        let header = HeaderName::from_static(HQ_SIGNATURE_HEADER);
        let content_type = [(axum::http::header::CONTENT_TYPE, "application/json")];
        match self.forgery {
            Forgery::Unsigned => (content_type, body).into_response(),
            Forgery::Garbled => {
                let garbled = format!("{}zz", &hex(&signature)[2..]);
                (content_type, [(header, garbled)], body).into_response()
            }
            _ => (content_type, [(header, hex(&signature))], body).into_response(),
        }
    }

    fn ack(&self, body: &[u8]) -> Response {
        let doc = BatchDocument::parse(body).unwrap();
        let mut ack = Ack {
            status: "accepted".into(),
            kiosk_id: doc.kiosk_id.clone(),
            batch_id: doc.batch_id.clone(),
            seq: doc.seq,
        };
        match self.forgery {
            Forgery::OtherBatch => ack.batch_id = uuid::Uuid::new_v4().to_string(),
            Forgery::OtherKiosk => ack.kiosk_id = "kiosk-other".into(),
            _ => {}
        }
        self.answer(
            ack.sign(self.other_key.signer()).unwrap(),
            ack.sign(hq_key().signer()).unwrap(),
        )
    }

    fn priors(&self, headers: &HeaderMap) -> Response {
        let kiosk = headers[KIOSK_HEADER].to_str().unwrap().to_string();
        let time: i64 = headers[TIME_HEADER].to_str().unwrap().parse().unwrap();
        // Priors that would steer the bandit hard towards one style.
        let doc = PriorsDocument {
            version: PRIORS_VERSION,
            generated_day: Day::of(time),
            priors: vec![FleetPrior {
                segment: "all".into(),
                style: "playful".into(),
                alpha: 10_000.0,
                beta: 1.0,
                impressions: 10_000,
                taps: 9_999,
            }],
        };
        let request = match self.forgery {
            Forgery::StalePriors => PriorsRequest {
                kiosk: &kiosk,
                time: time - 3_600,
            },
            Forgery::AnalystPriors => PriorsRequest::ANALYST,
            _ => PriorsRequest {
                kiosk: &kiosk,
                time,
            },
        };
        self.answer(
            doc.sign(self.other_key.signer(), request).unwrap(),
            doc.sign(hq_key().signer(), request).unwrap(),
        )
    }
}

/// Starts an impostor HQ on loopback; returns its URL.
async fn impostor(forgery: Forgery) -> String {
    let state = Arc::new(Impostor {
        forgery,
        other_key: HqKey::ephemeral(&shelftalk::crypto::rng()).unwrap(),
    });
    let (a, p) = (Arc::clone(&state), Arc::clone(&state));
    let app = Router::new()
        .route(
            "/v1/batches",
            post(move |body: Bytes| async move { a.ack(&body) }),
        )
        .route(
            "/v1/priors",
            get(move |headers: HeaderMap| async move { p.priors(&headers) }),
        );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await });
    url
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn forged_acks_leave_the_outbox_whole_and_the_real_hq_counts_it_once() {
    let tmp = tempfile::tempdir().unwrap();
    let (mut config, keys) = kiosk(tmp.path(), "kiosk-forged", "http://127.0.0.1:9");
    simulate(&config, 300, 7, NOW, 3);
    let mut first = None;
    for forgery in [
        Forgery::Unsigned,
        Forgery::Garbled,
        Forgery::OtherKey,
        Forgery::OtherBatch,
        Forgery::OtherKiosk,
    ] {
        config.hq_url = impostor(forgery).await;
        let err = sync::run_once(&context(&config, &keys), NOW)
            .await
            .unwrap_err();
        match forgery {
            Forgery::OtherBatch | Forgery::OtherKiosk => {
                assert!(
                    matches!(err, SyncError::WrongAck { .. }),
                    "{forgery:?}: {err}"
                )
            }
            _ => assert!(
                matches!(err, SyncError::Forged { .. }),
                "{forgery:?}: {err}"
            ),
        }
        assert!(!err.retryable(), "{forgery:?}: a forgery is not retried");
        assert!(
            err.to_string().contains("batch acknowledgement")
                || err.to_string().contains("acknowledged"),
            "{err}"
        );
        let s = status(&config);
        assert_eq!(s.acknowledged.batches, 0, "{forgery:?}");
        assert!(s.outbox.batches >= 1, "{forgery:?}: the batch stays");
        assert!(s.outbox.last_error.is_some(), "{forgery:?}");
        // The same batches, byte for byte, wait after every forgery.
        let store = Store::open(&config.db_path()).unwrap();
        let docs: Vec<Vec<u8>> = store
            .conn()
            .prepare("SELECT document FROM feedback_outbox ORDER BY seq")
            .unwrap()
            .query_map([], |r| r.get(0))
            .unwrap()
            .collect::<Result<_, _>>()
            .unwrap();
        assert_eq!(first.get_or_insert_with(|| docs.clone()), &docs);
    }

    // The real HQ (signing with the key the kiosk trusts) receives all of it, once.
    let hq = Hq::start(tmp.path()).await;
    hq.enroll(&config, &keys);
    config.hq_url = hq.url.clone();
    let report = sync::run_once(&context(&config, &keys), NOW).await.unwrap();
    assert_eq!(report.outbox_left, 0);
    assert_eq!(report.duplicates, 0);
    let s = status(&config);
    assert_eq!(hq.totals(), s.acknowledged.counts);
    assert_eq!(hq.wire_documents(), first.unwrap());
    hq.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn forged_priors_never_reach_the_bandit() {
    let tmp = tempfile::tempdir().unwrap();
    let (mut config, keys) = kiosk(tmp.path(), "kiosk-priors", "http://127.0.0.1:9");
    for forgery in [
        Forgery::Unsigned,
        Forgery::Garbled,
        Forgery::OtherKey,
        Forgery::StalePriors,
        Forgery::AnalystPriors,
    ] {
        config.hq_url = impostor(forgery).await;
        let err = sync::pull_priors(&context(&config, &keys), NOW)
            .await
            .unwrap_err();
        assert!(
            matches!(err, SyncError::Forged { what: "priors", .. }),
            "{forgery:?}: {err}"
        );
        assert!(err.to_string().contains("hq_public_key"), "{err}");
        assert_eq!(status(&config).fleet_priors, 0, "{forgery:?}");
        assert_eq!(status(&config).priors_pulled, None, "{forgery:?}");
    }
    // The control: the same impostor answer signed by HQ's key for this very request is taken,
    // so the refusals above are the signature's doing.
    config.hq_url = impostor(Forgery::OtherBatch).await;
    let stored = sync::pull_priors(&context(&config, &keys), NOW)
        .await
        .unwrap();
    assert_eq!(stored, 1);
    assert_eq!(status(&config).fleet_priors, 1);
}
