//! HQ ingest refusals, idempotent re-send, authentication and the read endpoints, against the
//! real server on 127.0.0.1 port 0.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

#[macro_use]
mod sync_support;

use ring::signature::{Ed25519KeyPair, KeyPair};
use shelftalk::crypto::hex;
use shelftalk::feedback::cells::{Counts, Ipw};
use shelftalk::wire::{self, BatchDocument};
use sync_support::{Backend, Hq};

fn device() -> Ed25519KeyPair {
    sync_support::device_key()
}

fn doc(kiosk: &str, seq: u64) -> BatchDocument {
    let counts = Counts {
        impressions: 10,
        taps: 2,
        ..Counts::default()
    };
    let ipw = Ipw {
        impressions: 40.0,
        taps: 8.0,
        conversions: 0.0,
    };
    sync_support::one_cell_batch((kiosk, "store-7"), seq, counts, ipw)
}

/// (what, kiosk header, body, signature, expected status, expected error code).
type Case = (
    &'static str,
    &'static str,
    Vec<u8>,
    Vec<u8>,
    u16,
    &'static str,
);

struct Sent {
    status: u16,
    code: String,
}

async fn post(http: &reqwest::Client, hq: &Hq, body: Vec<u8>, sig: &[u8]) -> Sent {
    try_post(http, hq, "k1", body, sig).await.unwrap()
}

async fn try_post(
    http: &reqwest::Client,
    hq: &Hq,
    kiosk: &str,
    body: Vec<u8>,
    sig: &[u8],
) -> Result<Sent, reqwest::Error> {
    let resp = http
        .post(format!("{}/v1/batches", hq.url))
        .header(wire::KIOSK_HEADER, kiosk)
        .header(wire::SIGNATURE_HEADER, hex(sig))
        .body(body)
        .send()
        .await?;
    let status = resp.status().as_u16();
    let v: serde_json::Value = resp.json().await.unwrap();
    let code = v["error"]["code"]
        .as_str()
        .or(v["status"].as_str())
        .unwrap_or_default()
        .to_string();
    Ok(Sent { status, code })
}

async fn alive(http: &reqwest::Client, hq: &Hq) {
    let r = http
        .get(format!("{}/healthz", hq.url))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 200);
}

on_both_backends!(ingest_refuses_bad_batches_and_stores_nothing);

async fn ingest_refuses_bad_batches_and_stores_nothing(backend: Backend) {
    let tmp = tempfile::tempdir().unwrap();
    let Some(hq) = Hq::start_on(backend, tmp.path(), module_path!()).await else {
        return;
    };
    shelftalk::crypto::install_tls_provider();
    let http = reqwest::Client::new();
    let key = device();
    hq.store
        .enroll("k1", "store-7", key.public_key().as_ref(), 0)
        .unwrap();
    hq.store
        .enroll("k-off", "store-7", key.public_key().as_ref(), 0)
        .unwrap();
    hq.store.set_enabled("k-off", false).unwrap();

    // A good batch, then the same bytes again: accepted once, acknowledged twice.
    let first = doc("k1", 5);
    let (bytes, sig) = first.sign(&key).unwrap();
    let r = post(&http, &hq, bytes.clone(), &sig).await;
    assert_eq!((r.status, r.code.as_str()), (200, "accepted"));
    let r = post(&http, &hq, bytes.clone(), &sig).await;
    assert_eq!((r.status, r.code.as_str()), (200, "duplicate"));
    assert_eq!(hq.rows(), (1, 1));
    assert_eq!(hq.totals().impressions, 10);
    let (b6, s6) = doc("k1", 6).sign(&key).unwrap();
    assert_eq!(post(&http, &hq, b6, &s6).await.status, 200);
    let stored = hq.rows();

    let other = device();
    let (unknown_b, unknown_s) = doc("nobody", 1).sign(&key).unwrap();
    let (off_b, off_s) = doc("k-off", 1).sign(&key).unwrap();
    let (forged_b, forged_s) = doc("k1", 7).sign(&other).unwrap();
    let (regress_b, regress_s) = doc("k1", 6).sign(&key).unwrap();
    let mut wrong_store = doc("k1", 8);
    wrong_store.store_id = "store-9".into();
    let (ws_b, ws_s) = wrong_store.sign(&key).unwrap();
    // Hostile documents, each signed by the enrolled key: only validation stands in the way.
    let hostile = |f: &dyn Fn(&mut BatchDocument)| {
        let mut d = doc("k1", 8);
        f(&mut d);
        let (b, s) = d.sign(&key).unwrap();
        (b, s.to_vec())
    };
    let (bc_b, bc_s) = hostile(&|d| d.cells[0].counts.taps = 11);
    let (conv_b, conv_s) = hostile(&|d| d.cells[0].counts.conversions = 11);
    let (huge_b, huge_s) = hostile(&|d| {
        d.cells[0].counts.impressions = i64::MAX as u64;
        d.cells[0].counts.taps = 2;
    });
    let (ceil_b, ceil_s) = hostile(&|d| d.cells[0].counts.impressions = wire::MAX_CELL_COUNT + 1);
    let (dwell_b, dwell_s) = hostile(&|d| d.cells[0].counts.dwell_ms = wire::MAX_CELL_DWELL_MS + 1);
    let (few_b, few_s) = hostile(&|d| d.cells[0].sessions = 4);
    let (k2_b, k2_s) = hostile(&|d| {
        d.k_anonymity = 2;
        d.cells[0].sessions = 2;
    });
    let (other_kiosk_b, other_kiosk_s) = {
        let (b, s) = doc("k-off", 8).sign(&key).unwrap();
        (b, s.to_vec())
    };
    let good = String::from_utf8(doc("k1", 8).sign(&key).unwrap().0).unwrap();
    let wrong_types = good.replace("\"seq\":8", "\"seq\":[8]");
    let (wt_s, trunc_s) = (
        wire::sign_batch_bytes(&key, wrong_types.as_bytes()).unwrap(),
        wire::sign_batch_bytes(&key, &good.as_bytes()[..good.len() / 2]).unwrap(),
    );
    let huge = vec![b' '; 50 * 1024 * 1024];
    // An unknown kiosk, a disabled one, a forged and a missing signature get one answer.
    let who = (401, "unauthenticated");
    let cases: Vec<Case> = vec![
        (
            "unknown kiosk",
            "nobody",
            unknown_b,
            unknown_s.to_vec(),
            who.0,
            who.1,
        ),
        (
            "disabled kiosk",
            "k-off",
            off_b,
            off_s.to_vec(),
            who.0,
            who.1,
        ),
        (
            "forged signature",
            "k1",
            forged_b.clone(),
            forged_s.to_vec(),
            who.0,
            who.1,
        ),
        (
            "missing signature",
            "k1",
            forged_b.clone(),
            Vec::new(),
            who.0,
            who.1,
        ),
        (
            "no kiosk header",
            "",
            forged_b,
            forged_s.to_vec(),
            who.0,
            who.1,
        ),
        (
            "replayed batch",
            "k1",
            bytes.clone(),
            sig.to_vec(),
            409,
            "replay",
        ),
        (
            "sequence regression",
            "k1",
            regress_b,
            regress_s.to_vec(),
            409,
            "sequence_regression",
        ),
        (
            "store mismatch",
            "k1",
            ws_b,
            ws_s.to_vec(),
            403,
            "store_mismatch",
        ),
        (
            "document names another kiosk",
            "k1",
            other_kiosk_b,
            other_kiosk_s,
            422,
            "invalid_document",
        ),
        (
            "taps above impressions",
            "k1",
            bc_b,
            bc_s,
            422,
            "invalid_document",
        ),
        (
            "conversions above impressions",
            "k1",
            conv_b,
            conv_s,
            422,
            "invalid_document",
        ),
        (
            "a count of i64::MAX",
            "k1",
            huge_b,
            huge_s,
            422,
            "invalid_document",
        ),
        (
            "a count above the ceiling",
            "k1",
            ceil_b,
            ceil_s,
            422,
            "invalid_document",
        ),
        (
            "dwell above the ceiling",
            "k1",
            dwell_b,
            dwell_s,
            422,
            "invalid_document",
        ),
        (
            "sessions below k",
            "k1",
            few_b,
            few_s,
            422,
            "invalid_document",
        ),
        ("k = 2", "k1", k2_b, k2_s, 422, "invalid_document"),
        (
            "truncated JSON",
            "k1",
            good.as_bytes()[..good.len() / 2].to_vec(),
            trunc_s.to_vec(),
            400,
            "malformed_json",
        ),
        (
            "wrong types",
            "k1",
            wrong_types.into_bytes(),
            wt_s.to_vec(),
            422,
            "invalid_document",
        ),
        (
            "50 MB body",
            "k1",
            huge,
            sig.to_vec(),
            413,
            "body_too_large",
        ),
    ];
    for (what, kiosk, body, sig, status, code) in cases {
        match try_post(&http, &hq, kiosk, body, &sig).await {
            Ok(r) => assert_eq!((r.status, r.code.as_str()), (status, code), "{what}"),
            // HQ answers 413 after the first 4 MB and may close the connection while the client
            // is still writing the rest (HTTP allows it): the client then sees the pipe break.
            Err(e) if status == 413 && e.is_request() => {}
            Err(e) => panic!("{what}: {e}"),
        }
        assert_eq!(hq.rows(), stored, "{what}: nothing stored");
        alive(&http, &hq).await;
    }
    // Reports still work after the hostile batches, with what was accepted only.
    assert_eq!(hq.totals().impressions, 20);
    let r = http
        .get(format!("{}/v1/reports/feedback?group_by=store", hq.url))
        .bearer_auth(&hq.token)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 200);
    let text = r.text().await.unwrap();
    assert!(text.contains("\"impressions\":20"), "{text}");
    let k1 = hq.store.kiosk("k1").unwrap().unwrap();
    assert_eq!(k1.last_seq, 6);
    hq.stop().await;
}

on_both_backends!(read_endpoints_need_tokens_and_render);

async fn read_endpoints_need_tokens_and_render(backend: Backend) {
    let tmp = tempfile::tempdir().unwrap();
    let Some(hq) = Hq::start_on(backend, tmp.path(), module_path!()).await else {
        return;
    };
    shelftalk::crypto::install_tls_provider();
    let http = reqwest::Client::new();
    let key = device();
    hq.store
        .enroll("k1", "store-7", key.public_key().as_ref(), 0)
        .unwrap();
    let (b, s) = doc("k1", 1).sign(&key).unwrap();
    assert_eq!(post(&http, &hq, b, &s).await.status, 200);

    for path in ["/v1/reports/feedback", "/v1/kiosks", "/", "/v1/priors"] {
        let r = http.get(format!("{}{path}", hq.url)).send().await.unwrap();
        assert_eq!(r.status().as_u16(), 401, "{path}");
        let r = http
            .get(format!("{}{path}", hq.url))
            .bearer_auth("st_wrong")
            .send()
            .await
            .unwrap();
        assert_eq!(r.status().as_u16(), 401, "{path}");
    }
    let get = |path: &str| {
        http.get(format!("{}{path}", hq.url))
            .bearer_auth(&hq.token)
            .send()
    };
    let csv = get("/v1/reports/feedback?group_by=store,kiosk,style&format=csv")
        .await
        .unwrap();
    assert_eq!(csv.status().as_u16(), 200);
    let text = csv.text().await.unwrap();
    assert!(
        text.starts_with("store,kiosk,style,sessions,impressions,taps"),
        "{text}"
    );
    assert!(text.contains("store-7,k1,value,6,10,2,"), "{text}");
    let r = get("/v1/reports/feedback?from=2024-10-05&to=2024-10-06")
        .await
        .unwrap();
    let v: serde_json::Value = r.json().await.unwrap();
    assert_eq!(
        v["totals"]["impressions"], 0,
        "cells of 2024-10-03 are outside"
    );
    let r = get("/v1/reports/feedback?group_by=shoe").await.unwrap();
    assert_eq!(r.status().as_u16(), 400);
    let r = get("/v1/reports/feedback?from=yesterday").await.unwrap();
    assert_eq!(r.status().as_u16(), 400);

    let fleet: serde_json::Value = get("/v1/kiosks").await.unwrap().json().await.unwrap();
    assert_eq!(fleet["kiosks"][0]["kiosk_id"], "k1");
    assert_eq!(fleet["kiosks"][0]["last_seq"], 1);
    assert!(fleet["kiosks"][0].get("public_key").is_none());

    let page = get("/").await.unwrap().text().await.unwrap();
    assert!(page.contains("<svg") && page.contains("CTR by style"));
    assert!(
        !page.contains("src=") && !page.contains("href=\"http"),
        "no external assets"
    );
    // A token in the URL is not a credential (the login form answers instead).
    let page = http
        .get(format!("{}/?token={}", hq.url, hq.token))
        .send()
        .await
        .unwrap();
    assert_eq!(page.status().as_u16(), 401);
    assert!(page.text().await.unwrap().contains("action=\"/login\""));

    let api: serde_json::Value = http
        .get(format!("{}/openapi.json", hq.url))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    for path in [
        "/v1/batches",
        "/v1/reports/feedback",
        "/v1/kiosks",
        "/v1/priors",
        "/",
    ] {
        assert!(api["paths"][path].is_object(), "{path}");
    }

    // Priors: kiosk-signed, fresh requests only.
    let now = time::OffsetDateTime::now_utc().unix_timestamp();
    let priors = |t: i64, signer: &Ed25519KeyPair| {
        let sig = wire::sign_priors_request(signer, "k1", t).unwrap();
        http.get(format!("{}/v1/priors", hq.url))
            .header(wire::KIOSK_HEADER, "k1")
            .header(wire::TIME_HEADER, t.to_string())
            .header(wire::SIGNATURE_HEADER, hex(&sig))
            .send()
    };
    let r = priors(now, &key).await.unwrap();
    assert_eq!(r.status().as_u16(), 200);
    let v: serde_json::Value = r.json().await.unwrap();
    assert!(v["priors"]
        .as_array()
        .unwrap()
        .iter()
        .any(|p| p["segment"] == "all" && p["style"] == "value"));
    assert_eq!(
        priors(now - 3600, &key).await.unwrap().status().as_u16(),
        401
    );
    assert_eq!(priors(now, &device()).await.unwrap().status().as_u16(), 401);
    hq.stop().await;
}

/// The per-kiosk rate limit: a burst, then 429 with Retry-After; requests that fail to
/// authenticate are not charged to the kiosk they name, and other kiosks are not slowed.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_kiosk_over_its_rate_waits_and_forgeries_cost_it_nothing() {
    let tmp = tempfile::tempdir().unwrap();
    let opts = shelftalk::hq::ServeOptions {
        clock: std::sync::Arc::new(|| 1_000_000),
        kiosk_rate: Some(shelftalk::hq::limit::RateLimit {
            per_minute: 6,
            burst: 2,
        }),
        ..shelftalk::hq::ServeOptions::default()
    };
    let hq = Hq::start_with(tmp.path(), opts).await;
    let http = reqwest::Client::new();
    let (key, other) = (device(), device());
    for kiosk in ["k1", "k2"] {
        hq.store
            .enroll(kiosk, "store-7", key.public_key().as_ref(), 0)
            .unwrap();
    }
    for seq in 1..=5 {
        let (b, s) = doc("k1", seq).sign(&other).unwrap();
        let r = try_post(&http, &hq, "k1", b, &s).await.unwrap();
        assert_eq!((r.status, r.code.as_str()), (401, "unauthenticated"));
    }
    for seq in 1..=2 {
        let (b, s) = doc("k1", seq).sign(&key).unwrap();
        assert_eq!(post(&http, &hq, b, &s).await.code, "accepted", "seq {seq}");
    }
    let (b, s) = doc("k1", 3).sign(&key).unwrap();
    let resp = http
        .post(format!("{}/v1/batches", hq.url))
        .header(wire::KIOSK_HEADER, "k1")
        .header(wire::SIGNATURE_HEADER, hex(&s))
        .body(b)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status().as_u16(), 429);
    assert_eq!(resp.headers()["retry-after"], "10");
    let v: serde_json::Value = resp.json().await.unwrap();
    assert_eq!(v["error"]["code"], "rate_limited");
    let (b, s) = doc("k2", 1).sign(&key).unwrap();
    let r = try_post(&http, &hq, "k2", b, &s).await.unwrap();
    assert_eq!(r.code, "accepted", "another kiosk is not slowed");
    assert_eq!(hq.store.kiosk("k1").unwrap().unwrap().last_seq, 2);
    hq.stop().await;
}
