//! End to end: simulated shoppers on a real kiosk store, synced to the real HQ on loopback.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

#[macro_use]
mod sync_support;

use shelftalk::crypto::AttributionTag;
use shelftalk::feedback::cells::{Counts, Day};
use shelftalk::feedback::{self, Impression, SessionToken};
use shelftalk::store::Store;
use shelftalk::sync::{self, SyncError};
use shelftalk::vocab::Style;
use sync_support::{context, kiosk, simulate, status, Backend, Hq, NOW};

fn sum(parts: &[&Counts]) -> Counts {
    let mut t = Counts::default();
    for p in parts {
        t += **p;
    }
    t
}

/// Walks a JSON value and fails on anything that looks like shopper, session or time data.
fn assert_private(v: &serde_json::Value, path: &str) {
    match v {
        serde_json::Value::Object(m) => {
            for (k, v) in m {
                for banned in [
                    "session_id",
                    "shopper",
                    "loyalty",
                    "token",
                    "timestamp",
                    "at",
                    "time",
                ] {
                    assert_ne!(k.as_str(), banned, "{path}.{k} must not be on the wire");
                }
                assert_private(v, &format!("{path}.{k}"));
            }
        }
        serde_json::Value::Array(a) => a.iter().for_each(|v| assert_private(v, path)),
        serde_json::Value::String(s) => {
            // Days only: no time of day anywhere.
            assert!(
                !s.contains('T') || !s.contains(':') || s.len() > 40,
                "{path} = {s}"
            );
            if path.ends_with("day") {
                assert_eq!(s.len(), 10, "{path} = {s}");
            }
        }
        serde_json::Value::Number(n) => {
            if let Some(i) = n.as_u64() {
                assert!(
                    !(1_000_000_000..5_000_000_000).contains(&i),
                    "{path} = {i} looks like a timestamp"
                );
            }
        }
        _ => {}
    }
}

on_both_backends!(simulated_shoppers_reach_hq_exactly_and_priors_come_back);

async fn simulated_shoppers_reach_hq_exactly_and_priors_come_back(backend: Backend) {
    let tmp = tempfile::tempdir().unwrap();
    let Some(hq) = Hq::start_on(backend, tmp.path(), module_path!()).await else {
        return;
    };
    let (config, keys) = kiosk(tmp.path(), "kiosk-e2e", &hq.url);
    hq.enroll(&config, &keys);
    simulate(&config, 400, 11, NOW, 5);
    let before = status(&config);
    assert!(before.recorded.impressions >= 700, "{:?}", before.recorded);
    assert_eq!(before.pending, before.recorded, "nothing closed yet");

    let ctx = context(&config, &keys);
    let report = sync::run_once(&ctx, NOW).await.unwrap();
    assert!(report.batches_sent >= 1);
    assert_eq!(report.outbox_left, 0);
    let after = status(&config);
    assert_eq!(after.pending, Counts::default());
    assert_eq!(after.outbox.batches, 0);
    // Kiosk totals = HQ totals + what k-anonymity withheld.
    assert_eq!(hq.totals(), after.acknowledged.counts);
    assert_eq!(
        after.recorded,
        sum(&[&after.acknowledged.counts, &after.withheld])
    );
    assert!(after.withheld.impressions < after.recorded.impressions / 5);

    // The wire carries days and counts, nothing finer.
    for doc in hq.wire_documents() {
        let v: serde_json::Value = serde_json::from_slice(&doc).unwrap();
        assert_private(&v, "batch");
        for cell in v["cells"].as_array().unwrap() {
            assert!(cell["sessions"].as_u64().unwrap() >= u64::from(config.k_anonymity));
        }
    }

    // A second sync finds nothing new; HQ is unchanged.
    let again = sync::run_once(&ctx, NOW + 60).await.unwrap();
    assert_eq!(again.batches_sent, 0);
    assert_eq!(hq.totals(), after.acknowledged.counts);

    // Priors pulled from HQ change the kiosk's bandit priors.
    let store = Store::open(&config.db_path()).unwrap();
    let segment = "footwear:mid";
    let uniform = feedback::prior(store.conn(), segment, Style::Value).unwrap();
    assert_eq!(uniform, (1.0, 1.0));
    let n = sync::pull_priors(&ctx, time::OffsetDateTime::now_utc().unix_timestamp())
        .await
        .unwrap();
    assert!(n >= 4);
    let pulled = feedback::prior(store.conn(), segment, Style::Value).unwrap();
    assert_ne!(pulled, uniform);
    assert!(pulled.0 > 1.0 && pulled.1 > pulled.0, "{pulled:?}");
    // ... and the stand-in bandit's choice probabilities follow them.
    let (_, p) = shelftalk::feedback::simulate::PopularityPicks::load(store.conn(), 1)
        .unwrap()
        .choose_style(store.conn(), segment)
        .unwrap();
    assert!(p > 0.0 && p <= 1.0);

    // HQ's report API agrees with the kiosk.
    shelftalk::crypto::install_tls_provider();
    let http = reqwest::Client::new();
    let body: serde_json::Value = http
        .get(format!(
            "{}/v1/reports/feedback?group_by=segment,style",
            hq.url
        ))
        .bearer_auth(&hq.token)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(
        body["totals"]["impressions"].as_u64().unwrap(),
        after.acknowledged.counts.impressions
    );
    let row = &body["rows"][0];
    assert!(row["ctr_low"].as_f64().unwrap() <= row["ctr"].as_f64().unwrap());
    assert!(row["ctr_high"].as_f64().unwrap() >= row["ctr"].as_f64().unwrap());
    assert!(row["ips_ctr"].is_number());
    hq.stop().await;
}

on_both_backends!(a_cell_with_k_minus_one_sessions_never_reaches_the_wire);

async fn a_cell_with_k_minus_one_sessions_never_reaches_the_wire(backend: Backend) {
    let tmp = tempfile::tempdir().unwrap();
    let Some(hq) = Hq::start_on(backend, tmp.path(), module_path!()).await else {
        return;
    };
    let (config, keys) = kiosk(tmp.path(), "kiosk-k", &hq.url);
    hq.enroll(&config, &keys);
    let k = config.k_anonymity as usize;
    let store = Store::open(&config.db_path()).unwrap();
    let day = Day::of(NOW).0 - 3;
    let mut tokens = Vec::new();
    // k - 1 sessions see RARE-SKU on a day nothing else happens in that style/kind; k sessions
    // see SKU-0 on another day.
    for (sku, segment, sessions, d) in [
        ("RARE-SKU", "rare:seg", k - 1, day),
        ("SKU-0", "footwear:mid", k, day - 1),
    ] {
        for s in 0..sessions {
            let token =
                SessionToken::from_bytes([(s as u8) + if sku == "SKU-0" { 100 } else { 0 }; 16]);
            feedback::record_impression(
                store.conn(),
                &Impression {
                    at: Day(d).start() + 3600 + s as i64,
                    session: &token,
                    sku,
                    style: Style::Premium,
                    style_probability: 0.5,
                    segment,
                    content_kind: "blurb",
                    arm: "personalised",
                    arm_propensity: 0.9,
                },
            )
            .unwrap();
            tokens.push(token);
        }
    }
    sync::run_once(&context(&config, &keys), NOW).await.unwrap();
    let wire: Vec<String> = hq
        .wire_documents()
        .into_iter()
        .map(|d| String::from_utf8(d).unwrap())
        .collect();
    assert!(!wire.is_empty());
    for doc in &wire {
        assert!(!doc.contains("RARE-SKU"), "{doc}");
        assert!(!doc.contains("rare:seg"), "{doc}");
        for t in &tokens {
            assert!(!doc.contains(&shelftalk::crypto::hex(&t.digest())));
        }
    }
    assert!(wire.iter().any(|d| d.contains("SKU-0")));
    let s = status(&config);
    assert_eq!(s.withheld.impressions, (k - 1) as u64);
    assert_eq!(hq.totals().impressions, k as u64);
    hq.stop().await;
}

on_both_backends!(one_shopper_in_two_sessions_counts_once_towards_k);

/// k counts people: a known shopper's two sessions of a day are one contributor. Checked on the
/// bytes HQ received.
async fn one_shopper_in_two_sessions_counts_once_towards_k(backend: Backend) {
    let tmp = tempfile::tempdir().unwrap();
    let Some(hq) = Hq::start_on(backend, tmp.path(), module_path!()).await else {
        return;
    };
    let (config, keys) = kiosk(tmp.path(), "kiosk-people", &hq.url);
    hq.enroll(&config, &keys);
    let k = config.k_anonymity as usize;
    let store = Store::open(&config.db_path()).unwrap();
    let day = Day::of(NOW).0 - 3;
    // Day A: one shopper in two sessions and k - 2 anonymous sessions: k sessions, k - 1 people.
    // Day B: another shopper in two sessions and k - 1 anonymous ones: k + 1 sessions, k people.
    let mut next = 0u8;
    for (sku, d, shopper, anonymous) in [("SKU-A", day, 1u8, k - 2), ("SKU-B", day - 1, 2, k - 1)] {
        let tag = AttributionTag([shopper; 16]);
        let tags = [Some(&tag), Some(&tag)]
            .into_iter()
            .chain(std::iter::repeat_n(None, anonymous));
        for (i, tag) in tags.enumerate() {
            next += 1;
            let token = SessionToken::from_bytes([next; 16]);
            feedback::record_impression_tagged(
                store.conn(),
                &Impression {
                    at: Day(d).start() + 3600 + i as i64,
                    session: &token,
                    sku,
                    style: Style::Premium,
                    style_probability: 0.5,
                    segment: "footwear:mid",
                    content_kind: "blurb",
                    arm: "personalised",
                    arm_propensity: 0.9,
                },
                tag,
            )
            .unwrap();
        }
    }
    sync::run_once(&context(&config, &keys), NOW).await.unwrap();
    let wire: Vec<String> = hq
        .wire_documents()
        .into_iter()
        .map(|d| String::from_utf8(d).unwrap())
        .collect();
    let cells: Vec<serde_json::Value> = wire
        .iter()
        .flat_map(|d| {
            let v: serde_json::Value = serde_json::from_str(d).unwrap();
            v["cells"].as_array().unwrap().clone()
        })
        .collect();
    assert!(!wire.iter().any(|d| d.contains("SKU-A")), "{wire:?}");
    assert_eq!(cells.len(), 1, "{cells:?}");
    assert_eq!(cells[0]["sku"], "SKU-B");
    assert_eq!(
        cells[0]["sessions"].as_u64().unwrap(),
        k as u64,
        "people, not sessions"
    );
    assert_eq!(
        cells[0]["counts"]["impressions"].as_u64().unwrap(),
        k as u64 + 1
    );
    assert_eq!(status(&config).withheld.impressions, k as u64);
    hq.stop().await;
}

on_both_backends!(experiment_arms_stay_k_anonymous_on_the_wire);

/// The arm is one more cell dimension: on the bytes HQ received, every cell (holdout ones too)
/// has at least k people of its own arm; an arm with fewer is withheld, never merged into
/// another arm's cell; and HQ reports the arm as it was sent.
async fn experiment_arms_stay_k_anonymous_on_the_wire(backend: Backend) {
    let tmp = tempfile::tempdir().unwrap();
    let Some(hq) = Hq::start_on(backend, tmp.path(), module_path!()).await else {
        return;
    };
    let (config, keys) = kiosk(tmp.path(), "kiosk-arms", &hq.url);
    hq.enroll(&config, &keys);
    let k = config.k_anonymity as usize;
    let store = Store::open(&config.db_path()).unwrap();
    let day = Day::of(NOW).0 - 2;
    // SKU-A: k personalised people and k holdout people; SKU-B: k + 1 personalised people and
    // k - 1 holdout people.
    let mut next = 0u8;
    for (sku, personalised, holdout) in [("SKU-A", k, k), ("SKU-B", k + 1, k - 1)] {
        let arms = std::iter::repeat_n(("personalised", 0.9, "blurb"), personalised)
            .chain(std::iter::repeat_n(("holdout", 0.1, "template"), holdout));
        for (i, (arm, arm_propensity, content_kind)) in arms.enumerate() {
            next += 1;
            let token = SessionToken::from_bytes([next; 16]);
            feedback::record_impression_tagged(
                store.conn(),
                &Impression {
                    at: Day(day).start() + 3600 + i as i64,
                    session: &token,
                    sku,
                    style: Style::Value,
                    style_probability: 0.5,
                    segment: "footwear:mid",
                    content_kind,
                    arm,
                    arm_propensity,
                },
                None,
            )
            .unwrap();
        }
    }
    sync::run_once(&context(&config, &keys), NOW).await.unwrap();
    let mut cells: Vec<(String, String, u64, u64)> = hq
        .wire_documents()
        .into_iter()
        .flat_map(|d| {
            let v: serde_json::Value = serde_json::from_slice(&d).unwrap();
            v["cells"].as_array().unwrap().clone()
        })
        .map(|c| {
            (
                c["sku"].as_str().unwrap().to_string(),
                c["arm"].as_str().unwrap().to_string(),
                c["sessions"].as_u64().unwrap(),
                c["counts"]["impressions"].as_u64().unwrap(),
            )
        })
        .collect();
    cells.sort();
    let k = k as u64;
    assert_eq!(
        cells,
        vec![
            ("SKU-A".into(), "holdout".into(), k, k),
            ("SKU-A".into(), "personalised".into(), k, k),
            ("SKU-B".into(), "personalised".into(), k + 1, k + 1),
        ],
        "SKU-B's {} holdout people are withheld, not merged",
        k - 1
    );
    assert_eq!(status(&config).withheld.impressions, k - 1);
    let report = shelftalk::hq::report::build(
        hq.store.as_ref(),
        None,
        None,
        &[shelftalk::hq::store::Dim::Arm],
    )
    .unwrap();
    let arms: Vec<(String, u64)> = report
        .rows
        .iter()
        .map(|r| (r.group.dims[0].clone(), r.group.counts.impressions))
        .collect();
    assert_eq!(
        arms,
        vec![("holdout".into(), k), ("personalised".into(), 2 * k + 1)]
    );
    hq.stop().await;
}

on_both_backends!(backlog_stays_bounded_while_hq_is_down_and_drains_when_it_returns);

async fn backlog_stays_bounded_while_hq_is_down_and_drains_when_it_returns(backend: Backend) {
    let tmp = tempfile::tempdir().unwrap();
    // A port with nobody listening.
    let dead = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        format!("http://{}", l.local_addr().unwrap())
    };
    let (mut config, keys) = kiosk(tmp.path(), "kiosk-off", &dead);
    config.outbox_max_batches = 4;
    config.batch_max_cells = 5;
    let bound = u64::from(config.outbox_max_batches) + 1;
    let ctx = context(&config, &keys);
    // Three rounds of offline days, each synced against a dead HQ.
    for (round, now) in [NOW, NOW + 3 * 86_400, NOW + 6 * 86_400]
        .into_iter()
        .enumerate()
    {
        simulate(&config, 150, round as u64 + 5, now, 3);
        let err = sync::run_once(&ctx, now).await.unwrap_err();
        assert!(matches!(err, SyncError::Unreachable { .. }), "{err}");
        assert!(err.retryable());
        let s = status(&config);
        assert!(
            s.outbox.batches <= bound,
            "round {round}: {} batches",
            s.outbox.batches
        );
        assert!(s.last_error.is_some());
        assert_eq!(
            s.recorded,
            sum(&[
                &s.pending,
                &s.withheld,
                &s.outbox.counts,
                &s.acknowledged.counts,
                &s.dropped.counts
            ])
        );
    }
    let offline = status(&config);
    assert!(offline.outbox.counts.impressions > 0);
    // The bound was kept by rolling batches up into coarser cells (product "*", segment "all").
    let store = Store::open(&config.db_path()).unwrap();
    let rolled: i64 = store
        .conn()
        .query_row(
            "SELECT count(*) FROM feedback_outbox WHERE instr(CAST(document AS TEXT), '\"sku\":\"*\"') > 0",
            [],
            |r| r.get(0),
        )
        .unwrap();
    assert!(rolled > 0, "outbox was rolled up");
    drop(store);

    // HQ comes back (at a new address).
    let Some(hq) = Hq::start_on(backend, tmp.path(), module_path!()).await else {
        return;
    };
    hq.enroll(&config, &keys);

    config.hq_url = hq.url.clone();
    let ctx = context(&config, &keys);
    let r = sync::run_once(&ctx, NOW + 6 * 86_400 + 60).await.unwrap();
    assert_eq!(r.outbox_left, 0);
    let s = status(&config);
    assert_eq!(s.outbox.batches, 0);
    assert_eq!(hq.totals(), s.acknowledged.counts);
    assert_eq!(
        s.recorded,
        sum(&[&s.withheld, &s.acknowledged.counts, &s.dropped.counts])
    );
    // Whatever had to be dropped is known at HQ.
    let kiosk = shelftalk::hq::store::HqStore::kiosk(hq.store.as_ref(), &config.kiosk_id)
        .unwrap()
        .unwrap();
    assert_eq!(kiosk.dropped.batches, s.dropped.batches);
    assert_eq!(kiosk.dropped.counts, s.dropped.counts);
    hq.stop().await;
}
