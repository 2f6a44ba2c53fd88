//! A simulated fleet with a known truth, stored straight into an HQ store: stores × kiosks ×
//! days, each kiosk-day showing `impressions` picks split between the personalised arm and the
//! holdout by the holdout share, taps and conversions drawn (seeded binomials) at the rates the
//! spec sets per arm. The lift HQ reports can then be checked against the rates it was made from.

use rand::rngs::StdRng;
use rand::{RngExt, SeedableRng};
use shelftalk::feedback::cells::{Cell, Counts, Day, Ipw};
use shelftalk::hq::store::{HqStore, IngestBatch, IngestOutcome};
use shelftalk::wire::{BatchDocument, Dropped, BATCH_VERSION};

/// The fleet's make-up and its true rates.
#[derive(Debug, Clone)]
pub struct FleetSpec {
    pub stores: usize,
    pub kiosks_per_store: usize,
    /// The last day simulated; the fleet runs `days` days up to it.
    pub last_day: Day,
    pub days: i64,
    /// Impressions per kiosk and day (both arms together).
    pub impressions: u64,
    pub holdout_share: f64,
    /// (click-through, conversion) of personalised picks and of the holdout.
    pub personalised: (f64, f64),
    pub holdout: (f64, f64),
    pub seed: u64,
}

impl FleetSpec {
    /// Personalised picks tapped at 10 % and bought at 3 %, the holdout at 8 % and 2 %: a true
    /// lift of +25 % in click-through and +50 % in conversion.
    pub fn with_lift(last_day: Day) -> Self {
        Self {
            stores: 3,
            kiosks_per_store: 2,
            last_day,
            days: 14,
            impressions: 900,
            holdout_share: 0.1,
            personalised: (0.10, 0.03),
            holdout: (0.08, 0.02),
            seed: 16,
        }
    }

    /// The same fleet where personalisation makes no difference.
    pub fn without_lift(last_day: Day) -> Self {
        Self {
            holdout: (0.10, 0.03),
            seed: 61,
            ..Self::with_lift(last_day)
        }
    }

    pub fn store_id(i: usize) -> String {
        format!("store-{}", i + 1)
    }
}

fn binomial(rng: &mut StdRng, n: u64, p: f64) -> u64 {
    (0..n).filter(|_| rng.random_bool(p)).count() as u64
}

fn cell(day: Day, arm: &str, impressions: u64, taps: u64, conversions: u64) -> Cell {
    Cell {
        day,
        sku: "*".into(),
        style: "value".into(),
        segment: "all".into(),
        content_kind: if arm == "holdout" {
            "template"
        } else {
            "blurb"
        }
        .into(),
        arm: arm.into(),
        sessions: (impressions / 3).max(5),
        counts: Counts {
            impressions,
            taps,
            conversions,
            ..Counts::default()
        },
        ipw: Ipw {
            impressions: impressions as f64,
            taps: taps as f64,
            conversions: conversions as f64,
        },
    }
}

/// Enrols the fleet's kiosks and stores one batch per kiosk and day. Returns the cells stored.
pub fn seed(store: &dyn HqStore, spec: &FleetSpec) -> Vec<(String, Cell)> {
    let mut rng = StdRng::seed_from_u64(spec.seed);
    let mut stored = Vec::new();
    for s in 0..spec.stores {
        for k in 0..spec.kiosks_per_store {
            let store_id = FleetSpec::store_id(s);
            let kiosk_id = format!("kiosk-{}-{}", s + 1, k + 1);
            store.enroll(&kiosk_id, &store_id, &[7; 32], 0).unwrap();
            for (seq, d) in ((spec.last_day.0 - spec.days + 1)..=spec.last_day.0).enumerate() {
                let day = Day(d);
                let n_h = binomial(&mut rng, spec.impressions, spec.holdout_share);
                let n_p = spec.impressions - n_h;
                let mut cells = Vec::new();
                for (arm, n, (ctr, cvr)) in [
                    ("personalised", n_p, spec.personalised),
                    ("holdout", n_h, spec.holdout),
                ] {
                    // Taps and purchases independent given the impression: the simulated truth
                    // is a rate per impression for each.
                    let taps = binomial(&mut rng, n, ctr);
                    let conversions = binomial(&mut rng, n, cvr);
                    if n >= 15 {
                        cells.push(cell(day, arm, n, taps, conversions));
                    }
                }
                let doc = BatchDocument {
                    version: BATCH_VERSION,
                    batch_id: uuid::Uuid::new_v4().to_string(),
                    kiosk_id: kiosk_id.clone(),
                    store_id: store_id.clone(),
                    seq: seq as u64 + 1,
                    created_day: Day(d + 1),
                    software: "0.1.0".into(),
                    k_anonymity: 5,
                    noise_epsilon: 0.0,
                    dropped: Dropped::default(),
                    cells,
                };
                doc.validate().unwrap();
                let bytes = serde_json::to_vec(&doc).unwrap();
                let outcome = store
                    .ingest(&IngestBatch {
                        doc: &doc,
                        bytes: &bytes,
                        signature: &[1; 64],
                        backlog: 0,
                        now: Day(d + 1).start() + 3_600,
                    })
                    .unwrap();
                assert_eq!(outcome, IngestOutcome::Accepted);
                stored.extend(doc.cells.into_iter().map(|c| (store_id.clone(), c)));
            }
        }
    }
    stored
}
