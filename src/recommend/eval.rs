//! Offline leave-last-out replay: hit-rate@k and NDCG@k of the fused recommender against a
//! popularity-only baseline, in the same run on the same split.
//!
//! Protocol:
//! - Events are grouped per shopper and sorted by time (stable, so same-second lines keep file
//!   order). The target is the shopper's last non-return event whose SKU is in the catalog;
//!   shoppers with nothing before it are skipped.
//! - Training data is every event before each shopper's target: store popularity, co-occurrence
//!   and the journey MDP are fitted on it (the held-out events are never seen).
//! - The shopper's earlier events split into history (other visits, decayed to the target's
//!   time) and the current visit (same session as the target, fed as in-session signals), as the
//!   kiosk would see them.
//! - Both recommenders go through [`recommend`] with the same filters and diversity rule; only
//!   the fusion weights differ ([`RecommendConfig::popularity_only`]).
//! - With one relevant item, hit@k is 1 when it is among the top k, and NDCG@k is
//!   `1 / log2(rank + 1)` (rank from 1), 0 beyond k.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::{
    extract, group_sessions, recommend, session_key, CatalogIndex, CoOccurrence, Inputs,
    JourneyModel, MdpError, Popularity, RecommendConfig, SkuStats,
};
use crate::event::{Event, EventKind};

#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum EvalError {
    #[error("fitting the journey MDP: {0}")]
    Mdp(#[from] MdpError),
}

/// Ranking quality of one recommender.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, Deserialize)]
pub struct Metrics {
    pub hit_rate: f64,
    pub ndcg: f64,
}

/// Result of one replay.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EvalReport {
    pub k: usize,
    /// Shoppers evaluated.
    pub users: usize,
    /// Evaluated shoppers whose target came with earlier events in the same visit.
    pub with_session: usize,
    pub fused: Metrics,
    pub popularity: Metrics,
}

impl std::fmt::Display for EvalReport {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        writeln!(
            f,
            "leave-last-out over {} shoppers ({} with in-visit events), k = {}",
            self.users, self.with_session, self.k
        )?;
        writeln!(
            f,
            "  fused:      hit-rate@{k} {:.4}  NDCG@{k} {:.4}",
            self.fused.hit_rate,
            self.fused.ndcg,
            k = self.k
        )?;
        write!(
            f,
            "  popularity: hit-rate@{k} {:.4}  NDCG@{k} {:.4}",
            self.popularity.hit_rate,
            self.popularity.ndcg,
            k = self.k
        )
    }
}

/// Replays `(shopper key, event)` pairs; see module docs.
pub fn leave_last_out(
    events: &[(String, Event)],
    catalog: &CatalogIndex,
    cfg: &RecommendConfig,
    k: usize,
) -> Result<EvalReport, EvalError> {
    let mut by_user: BTreeMap<&str, Vec<&Event>> = BTreeMap::new();
    for (user, e) in events {
        by_user.entry(user.as_str()).or_default().push(e);
    }
    by_user.values_mut().for_each(|v| v.sort_by_key(|e| e.at));

    // Per shopper: the events before the target, and the target.
    let splits: Vec<(&str, &[&Event], &Event)> = by_user
        .iter()
        .filter_map(|(user, evs)| {
            let t = evs
                .iter()
                .rposition(|e| e.kind != EventKind::Return && catalog.get(&e.sku).is_some())?;
            (t > 0).then(|| (*user, &evs[..t], evs[t]))
        })
        .collect();
    let cut: BTreeMap<&str, usize> = splits.iter().map(|s| (s.0, s.1.len())).collect();
    let training: Vec<(&str, &Event)> = by_user
        .iter()
        .flat_map(|(user, evs)| {
            let keep = cut.get(user).copied().unwrap_or(evs.len());
            evs[..keep].iter().map(move |e| (*user, *e))
        })
        .collect();

    let popularity = Popularity::from_stats(
        &SkuStats::tally(training.iter().map(|(_, e)| *e)),
        &cfg.popularity,
    );
    let sessions = group_sessions(training.iter().copied());
    let co_occurrence = CoOccurrence::fit(&sessions, &cfg.co_occurrence);
    let journey = JourneyModel::fit(&sessions, &cfg.mdp)?.solve();
    let baseline_cfg = cfg.popularity_only();

    let (mut fused, mut baseline) = (Metrics::default(), Metrics::default());
    let mut with_session = 0;
    for (_, before, target) in &splits {
        let visit = session_key(target);
        let (current, history): (Vec<Event>, Vec<Event>) = before
            .iter()
            .map(|e| (*e).clone())
            .partition(|e| session_key(e) == visit);
        with_session += usize::from(!current.is_empty());
        let mut features = extract(&history, catalog, target.at, &cfg.features);
        features.observe_session(&current, catalog, &cfg.features);
        for (config, metrics) in [(cfg, &mut fused), (&baseline_cfg, &mut baseline)] {
            let inputs = Inputs {
                catalog,
                features: &features,
                popularity: &popularity,
                co_occurrence: &co_occurrence,
                journey: Some(&journey),
                config,
            };
            if let Some(rank) = recommend(&inputs, k)
                .iter()
                .position(|p| p.sku == target.sku)
            {
                metrics.hit_rate += 1.0;
                metrics.ndcg += 1.0 / ((rank + 2) as f64).log2();
            }
        }
    }
    let users = splits.len();
    let mean = |m: Metrics| {
        if users == 0 {
            m
        } else {
            Metrics {
                hit_rate: m.hit_rate / users as f64,
                ndcg: m.ndcg / users as f64,
            }
        }
    };
    Ok(EvalReport {
        k,
        users,
        with_session,
        fused: mean(fused),
        popularity: mean(baseline),
    })
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]
    use super::*;
    use crate::recommend::index::tests::product;

    fn ev(at: i64, kind: EventKind, sku: &str, session: &str) -> Event {
        Event {
            at,
            kind,
            sku: sku.into(),
            quantity: 1,
            price: None,
            session: Some(session.into()),
        }
    }

    #[test]
    fn complements_beat_popularity_on_a_toy_log() {
        let catalog = CatalogIndex::new([
            product("pasta", "", "Food/Pasta", 200),
            product("sauce", "", "Food/Sauce", 300),
            product("milk", "", "Dairy/Milk", 100),
            product("bread", "", "Bakery/Bread", 150),
            product("eggs", "", "Dairy/Eggs", 250),
        ]);
        let mut events = Vec::new();
        let mut visit = |user: &str, skus: &[&str]| {
            for (i, sku) in skus.iter().enumerate() {
                events.push((
                    user.to_string(),
                    ev(i as i64, EventKind::Purchase, sku, user),
                ));
            }
        };
        // Pasta goes with sauce; milk and bread are bought by everybody.
        for u in ["a0", "a1", "a2", "a3"] {
            visit(u, &["pasta", "sauce", "milk"]);
        }
        for u in ["c0", "c1", "c2", "c3", "c4"] {
            visit(u, &["milk", "bread", "eggs"]);
        }
        visit("b0", &["pasta", "sauce"]);
        let report = leave_last_out(&events, &catalog, &RecommendConfig::default(), 1).unwrap();
        assert_eq!(report.users, 10);
        assert_eq!(report.with_session, 10);
        // At k = 1, popularity offers b0 milk (the most bought); co-occurrence with the pasta in
        // hand offers sauce, which is what b0 took.
        assert!(
            report.fused.hit_rate > report.popularity.hit_rate,
            "{report}"
        );
        assert!(format!("{report}").contains("hit-rate@1"));
    }

    #[test]
    fn ndcg_discounts_by_rank_and_empty_input_is_zero() {
        let report = leave_last_out(
            &[],
            &CatalogIndex::default(),
            &RecommendConfig::default(),
            3,
        )
        .unwrap();
        assert_eq!(report.users, 0);
        assert_eq!(report.fused, Metrics::default());
        assert!((1.0 / 3f64.log2() - 0.6309297535714574).abs() < 1e-15);
    }
}
