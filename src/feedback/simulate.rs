//! Synthetic shoppers for demos, load tests and the HQ dashboard.
//!
//! A simulated session goes through the same recording calls as the kiosk
//! ([`record_impression`], [`record_interaction`], [`record_purchase`]); picks and styles come
//! from a [`PickSource`]. `shelftalk feedback simulate` uses `personalise::KioskPicks`, the
//! kiosk's own recommender and style bandit. [`PopularityPicks`] is a light stand-in that needs no
//! keys or shopper history (it ranks the catalog by store statistics and chooses styles with a
//! small Thompson sampler seeded by the fleet priors, [`super::prior`]); the sync tests and
//! `bench sync` use it to generate volume.
//!
//! Invariants:
//! - The same seed, catalog, priors and `now` give the same recorded rows.
//! - Sessions fall on days that are already closed at `now`, so a sync right after a simulation
//!   sends everything that passes k-anonymity.
//! - Every recorded probability is the probability with which the style was chosen (within the
//!   Monte Carlo error of the stand-in), never 0.

use std::collections::HashMap;

use rand::rngs::StdRng;
use rand::{RngExt, SeedableRng};
use rand_distr::{Beta, Distribution};
use rusqlite::Connection;
use serde::Serialize;

use super::cells::Day;
use super::{
    first_open_day, record_impression, record_interaction, record_purchase, FeedbackError,
    Impression, Interaction, InteractionKind, SessionToken,
};
use crate::catalog::Product;
use crate::experiment::{HOLDOUT, PERSONALISED};
use crate::store::catalog;
use crate::vocab::Style;

/// What a pick source knows about the shopper in front of the kiosk.
#[derive(Debug, Clone)]
pub struct PickContext<'a> {
    pub at: i64,
    /// Coarse segment key of the shopper, e.g. `footwear:mid`.
    pub segment: &'a str,
    /// The shopper's preferred top-level category, if known.
    pub category: Option<&'a str>,
    /// The session is in the holdout arm: the store's popular picks with template copy.
    pub holdout: bool,
}

/// One pick to show, with the style to write it in and the probability of that style.
#[derive(Debug, Clone, PartialEq)]
pub struct Pick {
    pub sku: String,
    pub style: Style,
    pub style_probability: f64,
    pub segment: String,
    pub content_kind: String,
}

/// Where picks come from: the kiosk's recommender and bandit, or the popularity stand-in.
pub trait PickSource {
    /// Up to `n` distinct picks for the shopper described by `ctx`.
    fn picks(
        &mut self,
        conn: &Connection,
        ctx: &PickContext<'_>,
        n: usize,
    ) -> Result<Vec<Pick>, FeedbackError>;

    /// What the shopper did with a pick (the bandit's reward).
    fn observe(&mut self, pick: &Pick, tapped: bool);
}

/// What a session's picks show: model copy (`blurb`), or template copy in the holdout.
pub fn content_kind(ctx: &PickContext<'_>) -> &'static str {
    if ctx.holdout {
        "template"
    } else {
        "blurb"
    }
}

/// Exploration share of the stand-in bandit: this fraction of styles is chosen uniformly.
const EXPLORE: f64 = 0.1;
/// Monte Carlo draws used to estimate a Thompson-sampling choice probability.
const PROPENSITY_DRAWS: usize = 200;

/// Popularity picks with a Thompson-sampling style stand-in (see the module docs).
pub struct PopularityPicks {
    products: Vec<(Product, f64)>,
    local: HashMap<(String, Style), (f64, f64)>,
    rng: StdRng,
}

impl PopularityPicks {
    /// Loads the catalog and its statistics.
    pub fn load(conn: &Connection, seed: u64) -> Result<Self, FeedbackError> {
        let stats: HashMap<String, catalog::Stats> =
            catalog::stats_since(conn, i64::MIN)?.into_iter().collect();
        let products: Vec<(Product, f64)> = catalog::all(conn)?
            .into_iter()
            .map(|p| {
                let s = stats.get(&p.sku).copied().unwrap_or_default();
                let w = 1.0 + s.views as f64 + 3.0 * s.carts as f64 + 5.0 * s.purchases as f64;
                (p, w)
            })
            .collect();
        if products.is_empty() {
            return Err(FeedbackError::EmptyCatalog);
        }
        Ok(Self {
            products,
            local: HashMap::new(),
            rng: StdRng::seed_from_u64(seed ^ 0x5EED_F00D),
        })
    }

    /// Top-level categories with their product counts.
    pub fn categories(&self) -> Vec<(String, usize)> {
        let mut m: HashMap<&str, usize> = HashMap::new();
        for (p, _) in &self.products {
            *m.entry(p.top_category()).or_default() += 1;
        }
        let mut v: Vec<_> = m.into_iter().map(|(k, n)| (k.to_string(), n)).collect();
        v.sort();
        v
    }

    fn posterior(
        &self,
        conn: &Connection,
        segment: &str,
        style: Style,
    ) -> Result<Beta<f64>, FeedbackError> {
        let (a, b) = super::prior(conn, segment, style)?;
        let (taps, misses) = self
            .local
            .get(&(segment.to_string(), style))
            .copied()
            .unwrap_or((0.0, 0.0));
        Beta::new(a + taps, b + misses).map_err(|e| FeedbackError::Invalid {
            field: "prior",
            reason: e.to_string(),
        })
    }

    /// Chooses a style for `segment`; returns it with its selection probability.
    pub fn choose_style(
        &mut self,
        conn: &Connection,
        segment: &str,
    ) -> Result<(Style, f64), FeedbackError> {
        let posts = Style::ALL
            .iter()
            .map(|s| self.posterior(conn, segment, *s))
            .collect::<Result<Vec<_>, _>>()?;
        let draw = |rng: &mut StdRng| -> usize {
            let mut best = (0, f64::MIN);
            for (i, p) in posts.iter().enumerate() {
                let x = p.sample(rng);
                if x > best.1 {
                    best = (i, x);
                }
            }
            best.0
        };
        let mut wins = [0usize; 4];
        for _ in 0..PROPENSITY_DRAWS {
            wins[draw(&mut self.rng)] += 1;
        }
        let chosen = if self.rng.random_bool(EXPLORE) {
            self.rng.random_range(0..Style::ALL.len())
        } else {
            draw(&mut self.rng)
        };
        let p = EXPLORE / Style::ALL.len() as f64
            + (1.0 - EXPLORE) * wins[chosen] as f64 / PROPENSITY_DRAWS as f64;
        Ok((Style::ALL[chosen], p))
    }
}

impl PickSource for PopularityPicks {
    fn picks(
        &mut self,
        conn: &Connection,
        ctx: &PickContext<'_>,
        n: usize,
    ) -> Result<Vec<Pick>, FeedbackError> {
        let mut pool: Vec<usize> = (0..self.products.len())
            .filter(|&i| {
                ctx.category
                    .is_none_or(|c| self.products[i].0.top_category() == c)
            })
            .collect();
        if pool.is_empty() {
            pool = (0..self.products.len()).collect();
        }
        let mut out = Vec::new();
        while out.len() < n && !pool.is_empty() {
            let total: f64 = pool.iter().map(|&i| self.products[i].1).sum();
            let mut x = self.rng.random::<f64>() * total;
            let mut at = pool.len() - 1;
            for (j, &i) in pool.iter().enumerate() {
                x -= self.products[i].1;
                if x <= 0.0 {
                    at = j;
                    break;
                }
            }
            let i = pool.swap_remove(at);
            let (style, p) = self.choose_style(conn, ctx.segment)?;
            out.push(Pick {
                sku: self.products[i].0.sku.clone(),
                style,
                style_probability: p,
                segment: ctx.segment.to_string(),
                content_kind: content_kind(ctx).into(),
            });
        }
        Ok(out)
    }

    fn observe(&mut self, pick: &Pick, tapped: bool) {
        let e = self
            .local
            .entry((pick.segment.clone(), pick.style))
            .or_insert((0.0, 0.0));
        if tapped {
            e.0 += 1.0;
        } else {
            e.1 += 1.0;
        }
    }
}

/// How a simulation runs.
#[derive(Debug, Clone)]
pub struct SimOptions {
    pub sessions: usize,
    pub seed: u64,
    /// The simulation's clock: sessions fall on the `days` closed days before it.
    pub now: i64,
    pub days: u32,
    pub window_secs: u64,
    /// Picks shown per session.
    pub picks_per_session: usize,
    /// Share of sessions in the holdout arm (the kiosk's `experiment.holdout_share`); the others
    /// are `personalised`.
    pub holdout_share: f64,
}

/// What a simulation recorded.
#[derive(Debug, Clone, Default, Serialize)]
pub struct SimReport {
    pub sessions: usize,
    pub impressions: u64,
    pub interactions: u64,
    pub conversions: u64,
    pub first_day: String,
    pub last_day: String,
}

/// Lower-case slug of a category for segment keys (`"Women's Shoes"` → `womens-shoes`).
pub fn slug(text: &str) -> String {
    let mut s = String::new();
    for c in text.chars() {
        if c.is_ascii_alphanumeric() {
            s.push(c.to_ascii_lowercase());
        } else if (c == ' ' || c == '-' || c == '_') && !s.ends_with('-') && !s.is_empty() {
            s.push('-');
        }
    }
    let s = s.trim_end_matches('-').to_string();
    if s.is_empty() {
        "other".into()
    } else {
        s.chars().take(48).collect()
    }
}

const BANDS: [&str; 3] = ["low", "mid", "high"];

/// The simulated shoppers' true tap probability of a style in a price band.
fn true_ctr(style: Style, band: &str) -> f64 {
    let lift = match (style, band) {
        (Style::Value, "low") => 0.08,
        (Style::Premium, "high") => 0.08,
        (Style::Playful, "mid") => 0.05,
        (Style::Concise, _) => 0.02,
        _ => 0.0,
    };
    0.06 + lift
}

/// How much less the simulated shoppers tap (and so buy) the holdout's popular picks with
/// template copy than personalised picks: the simulation's true lift of personalisation is
/// `1 / HOLDOUT_TAP_FACTOR - 1` in click-through (+25 %).
pub const HOLDOUT_TAP_FACTOR: f64 = 0.8;

/// Runs `opts.sessions` synthetic sessions through `source` and the recording API, in one
/// transaction.
pub fn run(
    conn: &mut Connection,
    source: &mut dyn PickSource,
    categories: &[(String, usize)],
    opts: &SimOptions,
) -> Result<SimReport, FeedbackError> {
    let mut rng = StdRng::seed_from_u64(opts.seed);
    let last = first_open_day(opts.now, opts.window_secs, &jiff::tz::TimeZone::UTC).0 - 1;
    let first = last - i64::from(opts.days.max(1)) + 1;
    let total_weight: usize = categories.iter().map(|c| c.1).sum();
    let mut report = SimReport {
        sessions: opts.sessions,
        first_day: Day(first).to_string(),
        last_day: Day(last).to_string(),
        ..SimReport::default()
    };
    let tx = conn.transaction()?;
    for _ in 0..opts.sessions {
        let session = SessionToken::from_bytes(rng.random());
        let day = rng.random_range(first..=last);
        let mut at = Day(day).start() + rng.random_range(8 * 3600..21 * 3600);
        let mut pick_weight = rng.random_range(0..total_weight.max(1));
        let category = categories.iter().find(|(_, n)| {
            let hit = pick_weight < *n;
            pick_weight = pick_weight.saturating_sub(*n);
            hit
        });
        let band = BANDS[rng.random_range(0..BANDS.len())];
        let segment = format!(
            "{}:{band}",
            slug(category.map(|c| c.0.as_str()).unwrap_or("all"))
        );
        let holdout = rng.random_bool(opts.holdout_share.clamp(0.0, 1.0));
        let (arm, arm_propensity) = if holdout {
            (HOLDOUT, opts.holdout_share)
        } else {
            (PERSONALISED, 1.0 - opts.holdout_share)
        };
        let ctx = PickContext {
            at,
            segment: &segment,
            category: category.map(|c| c.0.as_str()),
            holdout,
        };
        let picks = source.picks(&tx, &ctx, opts.picks_per_session)?;
        for pick in &picks {
            record_impression(
                &tx,
                &Impression {
                    at,
                    session: &session,
                    sku: &pick.sku,
                    style: pick.style,
                    style_probability: pick.style_probability,
                    segment: &pick.segment,
                    content_kind: &pick.content_kind,
                    arm,
                    arm_propensity,
                },
            )?;
            report.impressions += 1;
        }
        let mut opted_out = false;
        for pick in &picks {
            let factor = if holdout { HOLDOUT_TAP_FACTOR } else { 1.0 };
            let tapped = rng.random_bool(true_ctr(pick.style, band) * factor);
            if !holdout {
                // The holdout's outcomes say nothing about the styles of model copy.
                source.observe(pick, tapped);
            }
            let mut kinds = vec![InteractionKind::Dwell {
                ms: rng.random_range(800..6000),
            }];
            if tapped {
                kinds.push(InteractionKind::Tap);
                if rng.random_bool(0.3) {
                    kinds.push(InteractionKind::ThumbUp);
                }
                if rng.random_bool(0.15) {
                    kinds.push(InteractionKind::Why);
                }
            } else if rng.random_bool(0.03) {
                kinds.push(InteractionKind::ThumbDown);
            }
            if !opted_out && rng.random_bool(0.01) {
                kinds.push(InteractionKind::OptOut);
                opted_out = true;
            }
            for kind in kinds {
                at += rng.random_range(1..20);
                let it = Interaction {
                    at,
                    session: &session,
                    sku: &pick.sku,
                    style: pick.style,
                    kind,
                };
                if record_interaction(&tx, &it)? {
                    report.interactions += 1;
                }
            }
            let buys = rng.random_bool(if tapped { 0.25 } else { 0.02 });
            if buys {
                let when = at + rng.random_range(30..opts.window_secs.max(31) as i64);
                if record_purchase(&tx, when, &pick.sku, opts.window_secs)? {
                    report.conversions += 1;
                }
            }
        }
    }
    tx.commit()?;
    Ok(report)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slugs() {
        assert_eq!(slug("Women's Footwear"), "womens-footwear");
        assert_eq!(slug("  "), "other");
        assert_eq!(slug("A -- B"), "a-b");
    }

    #[test]
    fn truth_favours_matching_styles() {
        assert!(true_ctr(Style::Value, "low") > true_ctr(Style::Premium, "low"));
        assert!(true_ctr(Style::Premium, "high") > true_ctr(Style::Value, "high"));
    }
}
