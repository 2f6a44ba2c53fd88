//! Item-to-item co-occurrence fitted from sessions and baskets.
//!
//! Invariants:
//! - A session counts as the *set* of SKUs viewed, carted or bought in it (returns ignored),
//!   capped at the first `max_basket` distinct SKUs; sessions with one SKU add only item counts.
//! - Similarity is shrunk cosine: `n_ij / sqrt(n_i · n_j) · n_ij / (n_ij + shrinkage)`, in
//!   `0..1`, symmetric before truncation; each SKU keeps its `max_neighbours` most similar
//!   neighbours (ties by SKU), sorted by similarity descending.
//! - The model holds only aggregate counts-derived similarities: no session ids, no shoppers.

use std::collections::HashMap;

use serde::{Deserialize, Serialize};

use super::{check, ConfigError, Session};
use crate::event::EventKind;

/// Fitting and scoring settings.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct CoOccurrenceConfig {
    pub max_neighbours: usize,
    pub max_basket: usize,
    /// Pseudo-count damping similarities backed by few sessions.
    pub shrinkage: f64,
    /// Anchor weight of an item from earlier visits (items of this visit weigh 1).
    pub history_anchor_weight: f64,
    /// Strongest history items used as anchors.
    pub max_history_anchors: usize,
}

impl Default for CoOccurrenceConfig {
    fn default() -> Self {
        Self {
            max_neighbours: 50,
            max_basket: 100,
            shrinkage: 1.0,
            history_anchor_weight: 0.5,
            max_history_anchors: 10,
        }
    }
}

impl CoOccurrenceConfig {
    pub(crate) fn validate(&self) -> Result<(), ConfigError> {
        check(
            self.max_neighbours > 0,
            "co_occurrence.max_neighbours",
            "must be > 0",
        )?;
        check(
            self.max_basket >= 2,
            "co_occurrence.max_basket",
            "must be >= 2",
        )?;
        check(
            self.shrinkage.is_finite() && self.shrinkage >= 0.0,
            "co_occurrence.shrinkage",
            "must be >= 0",
        )?;
        check(
            (0.0..=1.0).contains(&self.history_anchor_weight),
            "co_occurrence.history_anchor_weight",
            "must be within 0..=1",
        )
    }
}

/// Fitted neighbour lists.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct CoOccurrence {
    neighbours: HashMap<String, Vec<(String, f64)>>,
}

impl CoOccurrence {
    pub fn fit(sessions: &[Session<'_>], cfg: &CoOccurrenceConfig) -> Self {
        let mut ids: HashMap<&str, u32> = HashMap::new();
        let mut names: Vec<&str> = Vec::new();
        let mut item_count: Vec<u32> = Vec::new();
        let mut pair_count: HashMap<(u32, u32), u32> = HashMap::new();
        for session in sessions {
            let mut basket: Vec<u32> = Vec::new();
            for e in session.iter().filter(|e| e.kind != EventKind::Return) {
                let next = names.len() as u32;
                let id = *ids.entry(e.sku.as_str()).or_insert_with(|| {
                    names.push(e.sku.as_str());
                    item_count.push(0);
                    next
                });
                if !basket.contains(&id) && basket.len() < cfg.max_basket {
                    basket.push(id);
                }
            }
            for (i, &a) in basket.iter().enumerate() {
                item_count[a as usize] += 1;
                for &b in &basket[i + 1..] {
                    *pair_count.entry((a.min(b), a.max(b))).or_default() += 1;
                }
            }
        }
        let mut lists: HashMap<u32, Vec<(u32, f64)>> = HashMap::new();
        for (&(a, b), &n_ab) in &pair_count {
            let n_ab = f64::from(n_ab);
            let cosine = n_ab
                / (f64::from(item_count[a as usize]) * f64::from(item_count[b as usize])).sqrt();
            let sim = cosine * n_ab / (n_ab + cfg.shrinkage);
            lists.entry(a).or_default().push((b, sim));
            lists.entry(b).or_default().push((a, sim));
        }
        let neighbours = lists
            .into_iter()
            .map(|(a, mut list)| {
                list.sort_by(|x, y| {
                    y.1.total_cmp(&x.1)
                        .then_with(|| names[x.0 as usize].cmp(names[y.0 as usize]))
                });
                list.truncate(cfg.max_neighbours);
                let list = list
                    .into_iter()
                    .map(|(b, s)| (names[b as usize].to_string(), s))
                    .collect();
                (names[a as usize].to_string(), list)
            })
            .collect();
        Self { neighbours }
    }

    /// Most similar SKUs first, with similarity in `0..1`.
    pub fn neighbours(&self, sku: &str) -> &[(String, f64)] {
        self.neighbours.get(sku).map_or(&[], Vec::as_slice)
    }

    /// Similarity of `b` to `a` (0 when `b` is not among `a`'s neighbours).
    pub fn similarity(&self, a: &str, b: &str) -> f64 {
        self.neighbours(a)
            .iter()
            .find(|(s, _)| s == b)
            .map_or(0.0, |(_, v)| *v)
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]
    use super::*;
    use crate::event::Event;

    fn basket(skus: &[&str]) -> Vec<Event> {
        skus.iter()
            .map(|s| Event {
                at: 0,
                kind: EventKind::Purchase,
                sku: s.to_string(),
                quantity: 1,
                price: None,
                session: None,
            })
            .collect()
    }

    #[test]
    fn shrunk_cosine_and_ordering() {
        let raw = [
            basket(&["tent", "mat", "stove"]),
            basket(&["tent", "mat"]),
            basket(&["tent", "tent", "lamp"]),
            basket(&["mat"]),
        ];
        let sessions: Vec<Session<'_>> = raw.iter().map(|b| b.iter().collect()).collect();
        let m = CoOccurrence::fit(&sessions, &CoOccurrenceConfig::default());
        // tent in 3 sessions, mat in 3, together in 2: cos = 2/3, shrink 2/3 -> 4/9.
        assert!((m.similarity("tent", "mat") - 4.0 / 9.0).abs() < 1e-12);
        assert_eq!(m.similarity("tent", "mat"), m.similarity("mat", "tent"));
        // tent & lamp: 1/sqrt(3*1) * 1/2.
        assert!((m.similarity("tent", "lamp") - 0.5 / 3f64.sqrt()).abs() < 1e-12);
        let order: Vec<&str> = m
            .neighbours("tent")
            .iter()
            .map(|(s, _)| s.as_str())
            .collect();
        assert_eq!(order, ["mat", "lamp", "stove"]);
        assert_eq!(m.similarity("lamp", "mat"), 0.0);
        assert!(m.neighbours("unknown").is_empty());
    }

    #[test]
    fn caps_neighbours_and_baskets_and_ignores_returns() {
        let mut b = basket(&["a", "b", "c", "d"]);
        b[3].kind = EventKind::Return;
        let sessions: Vec<Session<'_>> = vec![b.iter().collect()];
        let cfg = CoOccurrenceConfig {
            max_neighbours: 1,
            max_basket: 2,
            ..CoOccurrenceConfig::default()
        };
        let m = CoOccurrence::fit(&sessions, &cfg);
        assert_eq!(m.neighbours("a").len(), 1);
        assert_eq!(m.similarity("a", "c"), 0.0, "c is beyond max_basket");
        assert!(m.neighbours("d").is_empty());
    }
}
