//! Golden tests of the batch document, the audit head report and their signatures: changing
//! any of them breaks every kiosk in the field against every HQ, so all are pinned byte for byte.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use ring::signature::{Ed25519KeyPair, KeyPair};
use shelftalk::crypto::{from_hex, hex};
use shelftalk::feedback::cells::{Cell, Counts, Day, Ipw};
use shelftalk::wire::{
    self, AuditHeadDocument, AuditVerdict, BatchDocument, Dropped, AUDIT_HEAD_VERSION,
    BATCH_VERSION,
};

/// A fixed Ed25519 device key in PKCS#8 v2 (ring's key-file format), for tests only.
const TEST_PKCS8: &str = "3051020101300506032b657004220420c52b7525083850f75be5d74194a156346d589ddad0027c7a805fff6b3def9900812100df48df7b8d3f8df0e2c77b68e038fb3da9f0ab8568e476323464d2e423f3d213";

fn key() -> Ed25519KeyPair {
    Ed25519KeyPair::from_pkcs8(&from_hex(TEST_PKCS8).unwrap()).unwrap()
}

fn document() -> BatchDocument {
    BatchDocument {
        version: BATCH_VERSION,
        batch_id: "0b7f4c2e-5d0a-4f7e-9a51-3c2d1e0f9a8b".into(),
        kiosk_id: "kiosk-01".into(),
        store_id: "store-001".into(),
        seq: 42,
        created_day: Day::parse("2026-09-21").unwrap(),
        software: "0.1.0".into(),
        k_anonymity: 5,
        noise_epsilon: 0.0,
        dropped: Dropped::default(),
        cells: vec![Cell {
            day: Day::parse("2026-09-20").unwrap(),
            sku: "SKU-1".into(),
            style: "playful".into(),
            segment: "footwear:mid".into(),
            content_kind: "blurb".into(),
            arm: "holdout".into(),
            sessions: 7,
            counts: Counts {
                impressions: 12,
                taps: 3,
                thumbs_up: 1,
                thumbs_down: 0,
                whys: 1,
                opt_outs: 0,
                dwells: 9,
                dwell_ms: 21_500,
                conversions: 1,
            },
            ipw: Ipw {
                impressions: 48.0,
                taps: 12.0,
                conversions: 4.0,
            },
        }],
    }
}

const DOCUMENT_GOLDEN: &str = r#"{"version":1,"batch_id":"0b7f4c2e-5d0a-4f7e-9a51-3c2d1e0f9a8b","kiosk_id":"kiosk-01","store_id":"store-001","seq":42,"created_day":"2026-09-21","software":"0.1.0","k_anonymity":5,"noise_epsilon":0.0,"dropped":{"batches":0,"counts":{"impressions":0,"taps":0,"thumbs_up":0,"thumbs_down":0,"whys":0,"opt_outs":0,"dwells":0,"dwell_ms":0,"conversions":0}},"cells":[{"day":"2026-09-20","sku":"SKU-1","style":"playful","segment":"footwear:mid","content_kind":"blurb","arm":"holdout","sessions":7,"counts":{"impressions":12,"taps":3,"thumbs_up":1,"thumbs_down":0,"whys":1,"opt_outs":0,"dwells":9,"dwell_ms":21500,"conversions":1},"ipw":{"impressions":48.0,"taps":12.0,"conversions":4.0}}]}"#;

/// Cross-checked against an independent Ed25519 (Python `cryptography`) over
/// `"shelftalk/batch/v1\0" ‖ DOCUMENT_GOLDEN` with the same seed.
const SIGNATURE_GOLDEN: &str = "f80517751c5a71d9bc4084a831ee9d30d290a5d4d6680808706c21f0f3185d0faac176aea31e566c6b3c66ef246890e971ced35e088e84dbcf03c0707a3a0008";

#[test]
fn batch_document_and_signature_are_pinned() {
    let (bytes, sig) = document().sign(&key()).unwrap();
    assert_eq!(String::from_utf8(bytes.clone()).unwrap(), DOCUMENT_GOLDEN);
    assert_eq!(hex(&sig), SIGNATURE_GOLDEN);
    let public = key().public_key().as_ref().to_vec();
    wire::verify_batch(&public, &bytes, &sig).unwrap();
    // The document parses back to itself and validates.
    let parsed = BatchDocument::parse(&bytes).unwrap();
    assert_eq!(parsed, document());
    parsed.validate().unwrap();
}

#[test]
fn a_batch_signed_by_another_key_or_altered_is_rejected() {
    let (bytes, sig) = document().sign(&key()).unwrap();
    let public = key().public_key().as_ref().to_vec();
    let other = Ed25519KeyPair::generate_pkcs8(&ring::rand::SystemRandom::new()).unwrap();
    let other = Ed25519KeyPair::from_pkcs8(other.as_ref()).unwrap();
    let (_, other_sig) = document().sign(&other).unwrap();
    assert!(wire::verify_batch(&public, &bytes, &other_sig).is_err());
    let mut altered = bytes.clone();
    let at = DOCUMENT_GOLDEN.find("\"impressions\":12").unwrap() + 15;
    altered[at] = b'9';
    assert!(wire::verify_batch(&public, &altered, &sig).is_err());
    // A batch signature does not verify as a priors request and vice versa (domain separation).
    let priors_sig = wire::sign_priors_request(&key(), "kiosk-01", 1).unwrap();
    assert!(wire::verify_batch(&public, &bytes, &priors_sig).is_err());
    wire::verify_priors_request(&public, "kiosk-01", 1, &priors_sig).unwrap();
    assert!(wire::verify_priors_request(&public, "kiosk-01", 2, &priors_sig).is_err());
}

#[test]
fn documents_with_wrong_fields_are_invalid_not_malformed() {
    let good = DOCUMENT_GOLDEN;
    assert!(matches!(
        BatchDocument::parse(&good.as_bytes()[..good.len() - 3]),
        Err(wire::WireError::Malformed(_))
    ));
    let wrong_type = good.replace("\"seq\":42", "\"seq\":\"42\"");
    assert!(matches!(
        BatchDocument::parse(wrong_type.as_bytes()),
        Err(wire::WireError::Invalid(_))
    ));
    let extra = good.replace("\"seq\":42", "\"seq\":42,\"shopper\":\"x\"");
    assert!(matches!(
        BatchDocument::parse(extra.as_bytes()),
        Err(wire::WireError::Invalid(_))
    ));
    let time = good.replace("\"2026-09-20\"", "\"2026-09-20T10:11:12Z\"");
    assert!(BatchDocument::parse(time.as_bytes()).is_err());
    let mut doc = document();
    doc.cells[0].counts.taps = 13;
    assert!(doc.validate().is_err());
    let mut doc = document();
    doc.cells[0].style = "shouty".into();
    assert!(doc.validate().is_err());
    let mut doc = document();
    doc.cells[0].arm = "Holdout:x:y".into();
    assert!(doc.validate().is_err());
}

/// A batch from a kiosk older than experiment arms (its cells have no `arm`) still parses, and
/// its cells are personalised: everything before arms was.
#[test]
fn a_cell_without_an_arm_is_personalised() {
    let old = DOCUMENT_GOLDEN.replace("\"arm\":\"holdout\",", "");
    assert_ne!(old, DOCUMENT_GOLDEN);
    let parsed = BatchDocument::parse(old.as_bytes()).unwrap();
    parsed.validate().unwrap();
    assert_eq!(parsed.cells[0].arm, "personalised");
}

fn audit_head() -> AuditHeadDocument {
    AuditHeadDocument {
        version: AUDIT_HEAD_VERSION,
        kiosk_id: "kiosk-01".into(),
        store_id: "store-001".into(),
        report_seq: 7,
        head_seq: 12,
        head_hash: "3a1c64871a08e513a76fc0d10a629c5778df0523514926c7ea897d318a490069".into(),
        chain_intact: true,
    }
}

const AUDIT_HEAD_GOLDEN: &str = r#"{"version":1,"kiosk_id":"kiosk-01","store_id":"store-001","report_seq":7,"head_seq":12,"head_hash":"3a1c64871a08e513a76fc0d10a629c5778df0523514926c7ea897d318a490069","chain_intact":true}"#;

/// Cross-checked against an independent Ed25519 (Python `cryptography`) over
/// `"shelftalk/audit-head/v1\0" ‖ AUDIT_HEAD_GOLDEN` with the same seed.
const AUDIT_HEAD_SIGNATURE_GOLDEN: &str = "19cc6fb0056ca196c22e8b7fe2dce0274dc48ea2768f0efa914d1d1029904bae6bf050fbb1a674c7ec198ac78245c9231ea5bd1986838ce3d733d006bbbea504";

#[test]
fn audit_head_report_and_signature_are_pinned() {
    let (bytes, sig) = audit_head().sign(&key()).unwrap();
    assert_eq!(String::from_utf8(bytes.clone()).unwrap(), AUDIT_HEAD_GOLDEN);
    assert_eq!(hex(&sig), AUDIT_HEAD_SIGNATURE_GOLDEN);
    let public = key().public_key().as_ref().to_vec();
    wire::verify_audit_head(&public, &bytes, &sig).unwrap();
    let parsed = AuditHeadDocument::parse(&bytes).unwrap();
    assert_eq!(parsed, audit_head());
    parsed.validate().unwrap();
    // HQ's verdicts are lower-case words on the wire.
    assert_eq!(
        serde_json::to_string(&AuditVerdict::Regressed).unwrap(),
        "\"regressed\""
    );
}

#[test]
fn an_audit_head_signature_is_no_batch_signature_and_bad_heads_are_refused() {
    let (bytes, sig) = audit_head().sign(&key()).unwrap();
    let public = key().public_key().as_ref().to_vec();
    // Domain separation: neither signature verifies as the other kind.
    assert!(wire::verify_batch(&public, &bytes, &sig).is_err());
    let (batch, batch_sig) = document().sign(&key()).unwrap();
    assert!(wire::verify_audit_head(&public, &batch, &batch_sig).is_err());
    let mut altered = bytes.clone();
    let at = AUDIT_HEAD_GOLDEN.find("\"head_seq\":12").unwrap() + 11;
    altered[at] = b'3';
    assert!(wire::verify_audit_head(&public, &altered, &sig).is_err());

    let extra = AUDIT_HEAD_GOLDEN.replace("\"chain_intact\"", "\"entries\":[],\"chain_intact\"");
    assert!(matches!(
        AuditHeadDocument::parse(extra.as_bytes()),
        Err(wire::WireError::Invalid(_))
    ));
    for bad in [
        AuditHeadDocument {
            report_seq: 0,
            ..audit_head()
        },
        AuditHeadDocument {
            head_hash: "3A1C".repeat(16),
            ..audit_head()
        },
        AuditHeadDocument {
            head_hash: "ab".into(),
            ..audit_head()
        },
        AuditHeadDocument {
            kiosk_id: "kiosk 01".into(),
            ..audit_head()
        },
        AuditHeadDocument {
            version: 2,
            ..audit_head()
        },
    ] {
        assert!(
            matches!(bad.validate(), Err(wire::WireError::Rule(_))),
            "{bad:?}"
        );
    }
}
