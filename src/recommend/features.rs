//! Per-shopper features: decayed affinities, price position, recency and frequency, and the
//! transient in-visit session.
//!
//! Invariants:
//! - An event of kind `k`, `age` days old, adds `weight(k) · 0.5^(age / half_life_days)` to the
//!   affinity of its product's brand, every level of its category path, each tag and the SKU.
//!   Purchases weigh more than carts, carts more than views; returns subtract. Quantity is ignored
//!   (a 48-piece wholesale line is one signal, like a single item). Events in the future count as
//!   age 0. Events for SKUs not in the catalog count only towards recency and frequency.
//! - Stored affinities are strictly positive and at most `max_keys` per facet (the strongest).
//! - Price band: each product has a price percentile within its category (see
//!   [`CatalogIndex`]); the shopper's `price_position` is the decayed, kind-weighted mean over
//!   positively weighted events; the band is `Low` below 1/3, `High` above 2/3, else `Mid`.
//! - `session` and `visit_state` describe the current visit only and are never serialised: the
//!   store seals history-derived features, not what someone is holding right now.
//! - The segment ([`crate::vocab::SegmentKey`]) is coarse on purpose: top department × price band (`"all"` when nothing
//!   is known), so that every bucket holds many shoppers.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use serde::{Deserialize, Serialize};

use super::{check, index::CatalogIndex, ConfigError, VisitState};
use crate::catalog::Product;
use crate::event::{Event, EventKind};
use crate::vocab::{PriceBand, SegmentKey};

const SECS_PER_DAY: f64 = 86_400.0;

/// Feature extraction settings.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct FeatureConfig {
    /// Half-life of an event's influence, in days.
    pub half_life_days: f64,
    pub view_weight: f64,
    pub cart_weight: f64,
    pub purchase_weight: f64,
    /// Subtracted for a return (a positive number).
    pub return_weight: f64,
    /// Purchases younger than this are not recommended again.
    pub just_purchased_days: f64,
    /// Strongest entries kept per affinity facet.
    pub max_keys: usize,
}

impl Default for FeatureConfig {
    fn default() -> Self {
        Self {
            half_life_days: 30.0,
            view_weight: 1.0,
            cart_weight: 3.0,
            purchase_weight: 5.0,
            return_weight: 5.0,
            just_purchased_days: 14.0,
            max_keys: 32,
        }
    }
}

impl FeatureConfig {
    pub(crate) fn validate(&self) -> Result<(), ConfigError> {
        check(
            self.half_life_days.is_finite() && self.half_life_days > 0.0,
            "features.half_life_days",
            "must be > 0",
        )?;
        check(
            0.0 < self.view_weight
                && self.view_weight <= self.cart_weight
                && self.cart_weight <= self.purchase_weight,
            "features.view_weight",
            "must satisfy 0 < view <= cart <= purchase",
        )?;
        check(
            self.return_weight.is_finite() && self.return_weight >= 0.0,
            "features.return_weight",
            "must be >= 0",
        )?;
        check(
            self.just_purchased_days >= 0.0,
            "features.just_purchased_days",
            "must be >= 0",
        )?;
        check(self.max_keys > 0, "features.max_keys", "must be > 0")
    }

    fn kind_weight(&self, kind: EventKind) -> f64 {
        match kind {
            EventKind::View => self.view_weight,
            EventKind::Cart => self.cart_weight,
            EventKind::Purchase => self.purchase_weight,
            EventKind::Return => -self.return_weight,
        }
    }

    fn decay(&self, age_secs: i64) -> f64 {
        0.5_f64.powf(age_secs.max(0) as f64 / SECS_PER_DAY / self.half_life_days)
    }
}

/// One shopper's features. Serialisable so the store can seal it.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct Features {
    /// Unix seconds the decay was computed against.
    pub computed_at: i64,
    pub brands: BTreeMap<String, f64>,
    /// Every level of the category paths.
    pub categories: BTreeMap<String, f64>,
    /// Top-level categories only; drives the segment key.
    pub departments: BTreeMap<String, f64>,
    pub tags: BTreeMap<String, f64>,
    pub items: BTreeMap<String, f64>,
    /// Decayed mean price percentile (`0..=1`) of what the shopper engaged with.
    pub price_position: Option<f64>,
    /// Days since the last event.
    pub recency_days: Option<f64>,
    /// Distinct visits (sessions, or UTC days without a session id).
    pub visits: u32,
    pub purchases: u32,
    /// History events seen (excluding the current visit).
    pub events: u32,
    /// SKUs bought within `just_purchased_days` and not returned since.
    pub just_purchased: BTreeSet<String>,
    /// SKUs scanned or handled this visit, oldest first. Transient.
    #[serde(skip)]
    pub session: Vec<String>,
    /// Where the current visit stands. Transient.
    #[serde(skip)]
    pub visit_state: VisitState,
}

/// Extracts features from one shopper's history, decayed to `now`.
pub fn extract(
    events: &[Event],
    catalog: &CatalogIndex,
    now: i64,
    cfg: &FeatureConfig,
) -> Features {
    let mut acc = Accumulator::default();
    let mut visits = BTreeSet::new();
    let mut bought: BTreeMap<&str, i64> = BTreeMap::new();
    let mut returned: BTreeMap<&str, i64> = BTreeMap::new();
    for e in events {
        visits.insert(super::session_key(e));
        let w = cfg.kind_weight(e.kind) * cfg.decay(now - e.at);
        if let Some(pos) = catalog.position(&e.sku) {
            acc.add(
                &catalog.products()[pos],
                catalog.price_percentile_at(pos),
                w,
            );
        }
        let latest = match e.kind {
            EventKind::Purchase => &mut bought,
            EventKind::Return => &mut returned,
            _ => continue,
        };
        let at = latest.entry(e.sku.as_str()).or_insert(e.at);
        *at = (*at).max(e.at);
    }
    let horizon = now - (cfg.just_purchased_days * SECS_PER_DAY) as i64;
    let just_purchased = bought
        .iter()
        .filter(|(sku, at)| **at >= horizon && returned.get(*sku).is_none_or(|r| r < *at))
        .map(|(sku, _)| sku.to_string())
        .collect();
    let mut features = Features {
        computed_at: now,
        recency_days: events
            .iter()
            .map(|e| e.at)
            .max()
            .map(|last| ((now - last).max(0) as f64) / SECS_PER_DAY),
        visits: visits.len() as u32,
        purchases: events
            .iter()
            .filter(|e| e.kind == EventKind::Purchase)
            .count() as u32,
        events: events.len() as u32,
        just_purchased,
        ..Features::default()
    };
    acc.merge_into(&mut features, cfg.max_keys);
    features
}

impl Features {
    /// True when the shopper has history before this visit.
    pub fn has_history(&self) -> bool {
        self.events > 0
    }

    /// Adds the current visit's events (kiosk scans, carts, purchases at the till) at full weight
    /// and records the visit's SKUs and state. Call once per visit, on features without session.
    pub fn observe_session(
        &mut self,
        session: &[Event],
        catalog: &CatalogIndex,
        cfg: &FeatureConfig,
    ) {
        let mut acc = Accumulator::from_features(self);
        for e in session {
            if let Some(pos) = catalog.position(&e.sku) {
                acc.add(
                    &catalog.products()[pos],
                    catalog.price_percentile_at(pos),
                    cfg.kind_weight(e.kind),
                );
            }
            if e.kind == EventKind::Purchase {
                self.just_purchased.insert(e.sku.clone());
            }
            if !self.session.contains(&e.sku) {
                self.session.push(e.sku.clone());
            }
        }
        acc.merge_into(self, cfg.max_keys);
        self.visit_state = VisitState::after(session.iter());
    }

    /// The shopper's price band, when anything priced is known.
    pub fn price_band(&self) -> Option<PriceBand> {
        self.price_position.map(PriceBand::from_percentile)
    }

    /// The coarse segment of this shopper: strongest department and price band.
    pub fn segment(&self) -> SegmentKey {
        match top(&self.departments, 1).first() {
            None => SegmentKey::all(),
            Some(dept) => SegmentKey::new(dept, self.price_band()),
        }
    }

    /// Up to three interests: tags, or categories when products carry no tags.
    pub fn interests(&self) -> Vec<String> {
        if self.tags.is_empty() {
            top(&self.categories, 3)
        } else {
            top(&self.tags, 3)
        }
    }

    /// Up to two preferred brands, strongest first.
    pub fn top_brands(&self) -> Vec<String> {
        top(&self.brands, 2)
    }

    /// Whether `brand` is among the shopper's preferred brands (ignoring case and spaces around).
    pub fn is_fan_of(&self, brand: Option<&str>) -> bool {
        brand.is_some_and(|b| {
            self.top_brands()
                .iter()
                .any(|p| p.trim().eq_ignore_ascii_case(b.trim()))
        })
    }
}

/// Keys of the `n` largest values, largest first (ties by key).
pub(crate) fn top(map: &BTreeMap<String, f64>, n: usize) -> Vec<String> {
    let mut entries: Vec<(&String, &f64)> = map.iter().collect();
    entries.sort_by(|a, b| b.1.total_cmp(a.1).then_with(|| a.0.cmp(b.0)));
    entries
        .into_iter()
        .take(n)
        .map(|(k, _)| k.clone())
        .collect()
}

/// Running sums before trimming; affinities may go negative here.
#[derive(Default)]
struct Accumulator {
    brands: HashMap<String, f64>,
    categories: HashMap<String, f64>,
    departments: HashMap<String, f64>,
    tags: HashMap<String, f64>,
    items: HashMap<String, f64>,
    price_sum: f64,
    price_weight: f64,
}

impl Accumulator {
    fn from_features(f: &Features) -> Self {
        let copy = |m: &BTreeMap<String, f64>| m.iter().map(|(k, v)| (k.clone(), *v)).collect();
        let price_weight = if f.price_position.is_some() { 1.0 } else { 0.0 };
        Self {
            brands: copy(&f.brands),
            categories: copy(&f.categories),
            departments: copy(&f.departments),
            tags: copy(&f.tags),
            items: copy(&f.items),
            price_sum: f.price_position.unwrap_or(0.0) * price_weight,
            price_weight,
        }
    }

    fn add(&mut self, p: &Product, price_pct: f64, w: f64) {
        let bump =
            |m: &mut HashMap<String, f64>, k: &str| *m.entry(k.to_string()).or_default() += w;
        if let Some(b) = &p.brand {
            bump(&mut self.brands, b);
        }
        for c in &p.category {
            bump(&mut self.categories, c);
        }
        if let Some(d) = p.category.first() {
            bump(&mut self.departments, d);
        }
        for t in &p.tags {
            bump(&mut self.tags, t);
        }
        bump(&mut self.items, &p.sku);
        if w > 0.0 {
            self.price_sum += w * price_pct;
            self.price_weight += w;
        }
    }

    fn merge_into(self, f: &mut Features, max_keys: usize) {
        f.brands = trim(self.brands, max_keys);
        f.categories = trim(self.categories, max_keys);
        f.departments = trim(self.departments, max_keys);
        f.tags = trim(self.tags, max_keys);
        f.items = trim(self.items, max_keys);
        f.price_position = (self.price_weight > 0.0).then(|| self.price_sum / self.price_weight);
    }
}

fn trim(map: HashMap<String, f64>, max_keys: usize) -> BTreeMap<String, f64> {
    let mut entries: Vec<(String, f64)> = map.into_iter().filter(|(_, v)| *v > 1e-12).collect();
    entries.sort_by(|a, b| b.1.total_cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
    entries.truncate(max_keys);
    entries.into_iter().collect()
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]
    use super::*;
    use crate::recommend::index::tests::product;

    const DAY: i64 = 86_400;

    fn ev(at: i64, kind: EventKind, sku: &str) -> Event {
        Event {
            at,
            kind,
            sku: sku.into(),
            quantity: 1,
            price: None,
            session: Some(format!("v{}", at / DAY)),
        }
    }

    fn catalog() -> CatalogIndex {
        CatalogIndex::new([
            product("shoe", "Salomon", "Footwear/Trail", 12_000),
            product("sock", "Falke", "Footwear/Socks", 1_500),
            product("tent", "MSR", "Camping/Tents", 40_000),
        ])
    }

    #[test]
    fn weights_decay_and_kinds_order() {
        let cfg = FeatureConfig::default();
        let now = 100 * DAY;
        let f = extract(
            &[
                ev(now, EventKind::View, "sock"),
                ev(now - 30 * DAY, EventKind::Purchase, "shoe"),
            ],
            &catalog(),
            now,
            &cfg,
        );
        assert!((f.brands["Falke"] - 1.0).abs() < 1e-12);
        assert!(
            (f.brands["Salomon"] - 2.5).abs() < 1e-12,
            "purchase 5 halved after one half-life"
        );
        assert!((f.categories["Footwear"] - 3.5).abs() < 1e-12);
        assert_eq!(f.departments.keys().collect::<Vec<_>>(), ["Footwear"]);
        assert_eq!(f.visits, 2);
        assert_eq!(f.purchases, 1);
        assert_eq!(f.recency_days, Some(0.0));
        assert!(
            f.just_purchased.is_empty(),
            "30 days ago is older than just_purchased_days"
        );
    }

    #[test]
    fn returns_subtract_and_cancel_just_purchased() {
        let cfg = FeatureConfig::default();
        let now = 10 * DAY;
        let events = [
            ev(now - DAY, EventKind::Purchase, "tent"),
            ev(now, EventKind::Return, "tent"),
            ev(now, EventKind::View, "shoe"),
        ];
        let f = extract(&events, &catalog(), now, &cfg);
        assert!(
            !f.brands.contains_key("MSR"),
            "net affinity <= 0 is dropped"
        );
        assert!(f.just_purchased.is_empty());
        let f = extract(&events[..1], &catalog(), now, &cfg);
        assert!(f.just_purchased.contains("tent"));
    }

    #[test]
    fn price_band_and_segment() {
        let cfg = FeatureConfig::default();
        let products: Vec<Product> = (1..=6)
            .map(|i| product(&format!("p{i}"), "B", "Camping/Tents", i * 1000))
            .collect();
        let idx = CatalogIndex::new(products);
        let f = extract(&[ev(0, EventKind::Purchase, "p6")], &idx, 0, &cfg);
        assert_eq!(f.price_band(), Some(PriceBand::High));
        let seg = f.segment();
        assert_eq!(seg.to_string(), "camping/high");
        assert_eq!(f.top_brands(), vec!["B".to_string()]);
        assert!(f.is_fan_of(Some(" b ")) && !f.is_fan_of(Some("C")) && !f.is_fan_of(None));
        assert_eq!(
            f.interests(),
            vec!["camping".to_string(), "tents".to_string()]
        );
        assert_eq!(Features::default().segment().to_string(), "all");
        assert_eq!(crate::vocab::slug("Home & Garden"), "home-garden");
    }

    #[test]
    fn session_adds_signals_but_is_not_serialised() {
        let cfg = FeatureConfig::default();
        let mut f = Features::default();
        f.observe_session(
            &[
                ev(0, EventKind::View, "tent"),
                ev(1, EventKind::Cart, "tent"),
            ],
            &catalog(),
            &cfg,
        );
        assert_eq!(f.session, vec!["tent".to_string()]);
        assert!((f.brands["MSR"] - 4.0).abs() < 1e-12);
        assert_eq!(f.visit_state, VisitState::Intent);
        assert!(!f.has_history());
        let json = serde_json::to_string(&f).unwrap();
        assert!(!json.contains("session") && !json.contains("visit_state"));
        let back: Features = serde_json::from_str(&json).unwrap();
        assert!(back.session.is_empty());
        assert_eq!(back.brands, f.brands);
    }

    #[test]
    fn trims_to_max_keys() {
        let cfg = FeatureConfig {
            max_keys: 1,
            ..FeatureConfig::default()
        };
        let f = extract(
            &[
                ev(0, EventKind::View, "sock"),
                ev(0, EventKind::Cart, "tent"),
            ],
            &catalog(),
            0,
            &cfg,
        );
        assert_eq!(f.brands.keys().collect::<Vec<_>>(), ["MSR"]);
    }
}
