//! Golden tests of HQ's signed answers: the acknowledgement of a batch, of an audit head report,
//! and the priors document, each with HQ's signature (Ed25519 is deterministic, so a fixed key
//! gives fixed bytes). Changing any of them breaks every kiosk in the field against every HQ.
//! The batch ack and priors signatures were cross-checked against an independent Ed25519 (Python
//! `cryptography`) over the contexts the `wire` module documents, with the same seed.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use ring::signature::{Ed25519KeyPair, KeyPair};
use shelftalk::crypto::hex;
use shelftalk::feedback::cells::Day;
use shelftalk::wire::{
    self, Ack, AuditHeadAck, AuditVerdict, FleetPrior, PriorsDocument, PriorsRequest,
    PRIORS_VERSION,
};

/// A fixed HQ key, for tests only.
fn hq_key() -> Ed25519KeyPair {
    Ed25519KeyPair::from_seed_unchecked(&[0x5a; 32]).unwrap()
}

fn public() -> Vec<u8> {
    hq_key().public_key().as_ref().to_vec()
}

fn ack() -> Ack {
    Ack {
        status: "accepted".into(),
        kiosk_id: "kiosk-01".into(),
        batch_id: "0b7f4c2e-5d0a-4f7e-9a51-3c2d1e0f9a8b".into(),
        seq: 42,
    }
}

fn audit_ack() -> AuditHeadAck {
    AuditHeadAck {
        status: "recorded".into(),
        kiosk_id: "kiosk-01".into(),
        report_seq: 5,
        verdict: AuditVerdict::Advanced,
    }
}

fn priors() -> PriorsDocument {
    PriorsDocument {
        version: PRIORS_VERSION,
        generated_day: Day::parse("2026-09-21").unwrap(),
        priors: vec![FleetPrior {
            segment: "footwear:mid".into(),
            style: "playful".into(),
            alpha: 4.0,
            beta: 10.0,
            impressions: 12,
            taps: 3,
        }],
    }
}

const REQUEST: PriorsRequest<'static> = PriorsRequest {
    kiosk: "kiosk-01",
    time: 1_790_000_000,
};

fn golden((body, signature): (Vec<u8>, [u8; 64])) -> String {
    format!(
        "body: {}\n{}: {}",
        String::from_utf8(body).unwrap(),
        wire::HQ_SIGNATURE_HEADER,
        hex(&signature)
    )
}

#[test]
fn signed_answers_are_pinned() {
    insta::assert_snapshot!("batch_ack", golden(ack().sign(&hq_key()).unwrap()));
    insta::assert_snapshot!(
        "audit_head_ack",
        golden(audit_ack().sign(&hq_key()).unwrap())
    );
    insta::assert_snapshot!("priors", golden(priors().sign(&hq_key(), REQUEST).unwrap()));
}

#[test]
fn answers_open_only_under_hqs_key_their_own_kind_and_request() {
    let (bytes, sig) = ack().sign(&hq_key()).unwrap();
    let opened = Ack::open(&public(), &bytes, &sig).unwrap();
    assert_eq!(opened, ack());
    assert!(opened.acknowledges("kiosk-01", &ack().batch_id, 42));
    assert!(!opened.acknowledges("kiosk-02", &ack().batch_id, 42));
    assert!(!opened.acknowledges("kiosk-01", &ack().batch_id, 43));
    assert!(!opened.acknowledges("kiosk-01", "another", 42));
    let refused = Ack {
        status: "refused".into(),
        ..ack()
    };
    assert!(!refused.acknowledges("kiosk-01", &ack().batch_id, 42));

    let other = Ed25519KeyPair::from_seed_unchecked(&[0x11; 32]).unwrap();
    let other_public = other.public_key().as_ref().to_vec();
    assert!(Ack::open(&other_public, &bytes, &sig).is_err());
    let mut altered = bytes.clone();
    altered[bytes.len() - 2] = b'3';
    assert!(matches!(
        Ack::open(&public(), &altered, &sig),
        Err(wire::WireError::BadSignature)
    ));
    // Domain separation: an ack's signature is no audit head ack's, nor a kiosk's batch's.
    assert!(AuditHeadAck::open(&public(), &bytes, &sig).is_err());
    assert!(wire::verify_batch(&public(), &bytes, &sig).is_err());

    let (bytes, sig) = audit_ack().sign(&hq_key()).unwrap();
    let opened = AuditHeadAck::open(&public(), &bytes, &sig).unwrap();
    assert!(opened.answers("kiosk-01", 5));
    assert!(!opened.answers("kiosk-01", 6) && !opened.answers("kiosk-02", 5));
    assert!(Ack::open(&public(), &bytes, &sig).is_err());

    // Priors open only for the request they answer.
    let (bytes, sig) = priors().sign(&hq_key(), REQUEST).unwrap();
    assert_eq!(
        PriorsDocument::open(&public(), REQUEST, &bytes, &sig).unwrap(),
        priors()
    );
    for other in [
        PriorsRequest {
            time: REQUEST.time + 1,
            ..REQUEST
        },
        PriorsRequest {
            kiosk: "kiosk-02",
            ..REQUEST
        },
        PriorsRequest::ANALYST,
    ] {
        assert!(PriorsDocument::open(&public(), other, &bytes, &sig).is_err());
    }
}
