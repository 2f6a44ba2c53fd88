//! Feedback cells and the pure anonymiser: counts per (day, product, style, segment, content
//! kind), k-anonymity by roll-up, optional Laplace noise, and coarsening for a full outbox.
//!
//! Invariants:
//! - Everything here is a pure function of its inputs (randomness is passed in); no I/O.
//! - `k` counts people, not sessions: [`anonymise`] never emits a cell with fewer than `k`
//!   distinct contributors, where a contributor is a known shopper (all their sessions of the day
//!   count once) or one anonymous session. A cell below `k` is rolled up: first its segment becomes [`ALL_SEGMENTS`], then its product becomes
//!   [`ALL_PRODUCTS`]; what is still below `k` after that is withheld (counted, never emitted).
//! - Roll-ups only ever merge rows of the same day, style, content kind and experiment arm, and
//!   sums are exact:
//!   emitted counts + withheld counts = input counts (before noise).
//! - A [`Cell`] carries no session, shopper or time finer than a [`Day`].

use std::collections::{BTreeMap, HashSet};
use std::ops::AddAssign;

use rand::{Rng, RngExt};
use serde::{Deserialize, Serialize};

/// Segment key of a cell rolled up over segments.
pub const ALL_SEGMENTS: &str = "all";
/// Product of a cell rolled up over products.
pub const ALL_PRODUCTS: &str = "*";

const SECONDS_PER_DAY: i64 = 86_400;
/// Julian day number of 1970-01-01.
const UNIX_EPOCH_JULIAN_DAY: i64 = 2_440_588;

/// A calendar day as days since 1970-01-01; on the wire `"YYYY-MM-DD"`. On the kiosk a day is
/// the store's local calendar day (config `timezone`): [`Day::of_in`] and [`Day::start_in`];
/// timestamps stay UTC seconds everywhere.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Day(pub i64);

impl Day {
    /// The UTC day of a Unix timestamp.
    pub fn of(at: i64) -> Self {
        Self(at.div_euclid(SECONDS_PER_DAY))
    }

    /// First second of the UTC day.
    pub fn start(self) -> i64 {
        self.0 * SECONDS_PER_DAY
    }

    /// The local calendar day in `tz` of a Unix timestamp (UTC when out of range).
    pub fn of_in(at: i64, tz: &jiff::tz::TimeZone) -> Self {
        let Ok(ts) = jiff::Timestamp::from_second(at) else {
            return Self::of(at);
        };
        let date = ts.to_zoned(tz.clone()).date();
        time::Month::try_from(date.month().unsigned_abs())
            .ok()
            .and_then(|m| {
                time::Date::from_calendar_date(i32::from(date.year()), m, date.day().unsigned_abs())
                    .ok()
            })
            .map_or_else(
                || Self::of(at),
                |d| Self(i64::from(d.to_julian_day()) - UNIX_EPOCH_JULIAN_DAY),
            )
    }

    /// The first second (UTC) of this local calendar day in `tz`: local midnight, or the first
    /// instant after it when a time-zone change skips midnight. A day is 23, 24 or 25 hours long.
    pub fn start_in(self, tz: &jiff::tz::TimeZone) -> i64 {
        self.date()
            .and_then(|d| {
                let (y, m, day) = (
                    i16::try_from(d.year()).ok()?,
                    i8::try_from(u8::from(d.month())).ok()?,
                    i8::try_from(d.day()).ok()?,
                );
                let civil = jiff::civil::Date::new(y, m, day).ok()?;
                civil.to_zoned(tz.clone()).ok()
            })
            .map_or_else(|| self.start(), |z| z.timestamp().as_second())
    }

    fn date(self) -> Option<time::Date> {
        i32::try_from(self.0 + UNIX_EPOCH_JULIAN_DAY)
            .ok()
            .and_then(|jd| time::Date::from_julian_day(jd).ok())
    }

    /// Parses `YYYY-MM-DD`.
    pub fn parse(text: &str) -> Option<Self> {
        let format = time::macros::format_description!("[year]-[month]-[day]");
        let date = time::Date::parse(text, format).ok()?;
        Some(Self(
            i64::from(date.to_julian_day()) - UNIX_EPOCH_JULIAN_DAY,
        ))
    }
}

impl std::fmt::Display for Day {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.date() {
            Some(d) => write!(f, "{d}"),
            None => write!(f, "day{}", self.0),
        }
    }
}

/// On the wire and in the OpenAPI document: a `YYYY-MM-DD` string (`format: date`).
impl utoipa::PartialSchema for Day {
    fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
        use utoipa::openapi::schema::{KnownFormat, ObjectBuilder, SchemaFormat, Type};
        ObjectBuilder::new()
            .schema_type(Type::String)
            .format(Some(SchemaFormat::KnownFormat(KnownFormat::Date)))
            .description(Some("A calendar day, YYYY-MM-DD."))
            .into()
    }
}

impl utoipa::ToSchema for Day {}

impl Serialize for Day {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for Day {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let text = String::deserialize(d)?;
        Day::parse(&text).ok_or_else(|| {
            serde::de::Error::custom(format!("expected a YYYY-MM-DD day, got {text:?}"))
        })
    }
}

/// Event counts of a cell (or of a ledger bucket).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Counts {
    #[schema(maximum = 9223372036854775807_i64)]
    pub impressions: u64,
    /// Impressions tapped at least once (so `taps <= impressions`).
    #[schema(maximum = 9223372036854775807_i64)]
    pub taps: u64,
    #[schema(maximum = 9223372036854775807_i64)]
    pub thumbs_up: u64,
    #[schema(maximum = 9223372036854775807_i64)]
    pub thumbs_down: u64,
    /// "Why this pick?" requests.
    #[schema(maximum = 9223372036854775807_i64)]
    pub whys: u64,
    #[schema(maximum = 9223372036854775807_i64)]
    pub opt_outs: u64,
    /// Dwell measurements and their total in milliseconds.
    #[schema(maximum = 9223372036854775807_i64)]
    pub dwells: u64,
    #[schema(maximum = 9223372036854775807_i64)]
    pub dwell_ms: u64,
    /// Impressions followed by a POS purchase of the product within the window.
    #[schema(maximum = 9223372036854775807_i64)]
    pub conversions: u64,
}

impl AddAssign for Counts {
    fn add_assign(&mut self, o: Self) {
        self.impressions += o.impressions;
        self.taps += o.taps;
        self.thumbs_up += o.thumbs_up;
        self.thumbs_down += o.thumbs_down;
        self.whys += o.whys;
        self.opt_outs += o.opt_outs;
        self.dwells += o.dwells;
        self.dwell_ms += o.dwell_ms;
        self.conversions += o.conversions;
    }
}

impl Counts {
    /// `self - o`, field by field, saturating at zero.
    pub fn minus(&self, o: &Self) -> Self {
        Self {
            impressions: self.impressions.saturating_sub(o.impressions),
            taps: self.taps.saturating_sub(o.taps),
            thumbs_up: self.thumbs_up.saturating_sub(o.thumbs_up),
            thumbs_down: self.thumbs_down.saturating_sub(o.thumbs_down),
            whys: self.whys.saturating_sub(o.whys),
            opt_outs: self.opt_outs.saturating_sub(o.opt_outs),
            dwells: self.dwells.saturating_sub(o.dwells),
            dwell_ms: self.dwell_ms.saturating_sub(o.dwell_ms),
            conversions: self.conversions.saturating_sub(o.conversions),
        }
    }
}

/// Inverse-propensity sums: Σ 1/p over impressions, and over tapped and converted impressions,
/// where p is the probability with which the impression's style was chosen.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Ipw {
    #[schema(minimum = 0)]
    pub impressions: f64,
    #[schema(minimum = 0)]
    pub taps: f64,
    #[schema(minimum = 0)]
    pub conversions: f64,
}

impl AddAssign for Ipw {
    fn add_assign(&mut self, o: Self) {
        self.impressions += o.impressions;
        self.taps += o.taps;
        self.conversions += o.conversions;
    }
}

fn default_arm() -> String {
    crate::experiment::DEFAULT_ARM.into()
}

/// The key of a cell.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct CellKey {
    pub day: Day,
    pub sku: String,
    pub style: String,
    pub segment: String,
    pub content_kind: String,
    /// The experiment arm ([`crate::experiment`]); never rolled up.
    pub arm: String,
}

impl CellKey {
    fn rolled(&self, level: usize) -> Self {
        let mut k = self.clone();
        if level >= 1 {
            k.segment = ALL_SEGMENTS.into();
        }
        if level >= 2 {
            k.sku = ALL_PRODUCTS.into();
        }
        k
    }
}

/// One aggregate cell, as it leaves the kiosk.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Cell {
    pub day: Day,
    pub sku: String,
    #[schema(value_type = crate::vocab::Style)]
    pub style: String,
    pub segment: String,
    pub content_kind: String,
    /// The experiment arm the impressions were shown in: `holdout`, `personalised` or
    /// `experiment:arm` (a cell without one, from a kiosk older than arms, is `personalised`).
    #[serde(default = "default_arm")]
    #[schema(
        default = "personalised",
        pattern = r"^[a-z0-9_-]{1,24}(:[a-z0-9_-]{1,24})?$"
    )]
    pub arm: String,
    /// Distinct contributors of the day: each known shopper once however many sessions they had,
    /// each anonymous session once (for a coarsened cell: the sum over the merged cells, an upper
    /// bound). The wire keeps the name `sessions`; HQ refuses a cell where it is below `k`.
    #[schema(maximum = 1_000_000)]
    pub sessions: u64,
    pub counts: Counts,
    pub ipw: Ipw,
}

impl Cell {
    /// The names of [`Cell::numbers`], in the same order, as the wire document spells them.
    pub const NUMBER_NAMES: [&'static str; 10] = [
        "sessions",
        "counts.impressions",
        "counts.taps",
        "counts.thumbs_up",
        "counts.thumbs_down",
        "counts.whys",
        "counts.opt_outs",
        "counts.dwells",
        "counts.dwell_ms",
        "counts.conversions",
    ];

    /// The whole numbers of the cell, in wire and column order: sessions, then the counts.
    pub fn numbers(&self) -> [u64; 10] {
        let n = &self.counts;
        [
            self.sessions,
            n.impressions,
            n.taps,
            n.thumbs_up,
            n.thumbs_down,
            n.whys,
            n.opt_outs,
            n.dwells,
            n.dwell_ms,
            n.conversions,
        ]
    }

    pub fn key(&self) -> CellKey {
        CellKey {
            day: self.day,
            sku: self.sku.clone(),
            style: self.style.clone(),
            segment: self.segment.clone(),
            content_kind: self.content_kind.clone(),
            arm: self.arm.clone(),
        }
    }

    fn from_key(key: CellKey) -> Self {
        Self {
            day: key.day,
            sku: key.sku,
            style: key.style,
            segment: key.segment,
            content_kind: key.content_kind,
            arm: key.arm,
            sessions: 0,
            counts: Counts::default(),
            ipw: Ipw::default(),
        }
    }
}

/// One contributor's contribution to one exact cell.
#[derive(Debug, Clone, PartialEq)]
pub struct SessionRow {
    pub key: CellKey,
    /// Who contributed, as `k` counts them: a known shopper's attribution tag (the same for all
    /// their sessions), else the session's hashed token. Never leaves the kiosk.
    pub person: [u8; 16],
    pub counts: Counts,
    pub ipw: Ipw,
}

/// What [`anonymise`] returns.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Anonymised {
    /// Cells with at least `k` distinct contributors, by key.
    pub cells: Vec<Cell>,
    /// Counts of rows that reached no cell with `k` sessions.
    pub withheld: Counts,
}

/// Groups session rows into cells with at least `k` distinct contributors (people), rolling small cells up
/// (segment → "all", then product → "*") and withholding what stays below `k`.
pub fn anonymise(rows: &[SessionRow], k: u32) -> Anonymised {
    let k = k as usize;
    let mut out: BTreeMap<CellKey, Cell> = BTreeMap::new();
    let mut remaining: Vec<&SessionRow> = rows.iter().collect();
    for level in 0..3 {
        let mut groups: BTreeMap<CellKey, Vec<&SessionRow>> = BTreeMap::new();
        for row in remaining.drain(..) {
            groups.entry(row.key.rolled(level)).or_default().push(row);
        }
        for (key, members) in groups {
            let people: HashSet<&[u8; 16]> = members.iter().map(|r| &r.person).collect();
            if people.len() < k {
                remaining.extend(members);
                continue;
            }
            let cell = out
                .entry(key.clone())
                .or_insert_with(|| Cell::from_key(key));
            cell.sessions += people.len() as u64;
            for r in members {
                cell.counts += r.counts;
                cell.ipw += r.ipw;
            }
        }
    }
    let mut withheld = Counts::default();
    for r in remaining {
        withheld += r.counts;
    }
    Anonymised {
        cells: out.into_values().collect(),
        withheld,
    }
}

/// Merges cells into the coarsest level (segment "all", product "*") per day, style, content
/// kind and arm. Counts are summed exactly; `sessions` becomes the sum (an upper bound).
pub fn coarsen(cells: impl IntoIterator<Item = Cell>) -> Vec<Cell> {
    let mut out: BTreeMap<CellKey, Cell> = BTreeMap::new();
    for c in cells {
        let key = c.key().rolled(2);
        let merged = out
            .entry(key.clone())
            .or_insert_with(|| Cell::from_key(key));
        merged.sessions += c.sessions;
        merged.counts += c.counts;
        merged.ipw += c.ipw;
    }
    out.into_values().collect()
}

/// The sum of the counts of `cells`.
pub fn total(cells: &[Cell]) -> Counts {
    let mut t = Counts::default();
    for c in cells {
        t += c.counts;
    }
    t
}

/// One draw from the Laplace distribution with location 0 and scale `b` (inverse CDF).
pub fn laplace<R: Rng + ?Sized>(b: f64, rng: &mut R) -> f64 {
    // u uniform in (-0.5, 0.5]; 1 - 2|u| lies in [0, 1) and is never 0 for u != ±0.5.
    let u: f64 = rng.random::<f64>() - 0.5;
    let tail = (1.0 - 2.0 * u.abs()).max(f64::MIN_POSITIVE);
    -b * u.signum() * tail.ln()
}

/// Adds Laplace noise of scale `1/epsilon` to every count of `cell` (each count has sensitivity
/// 1 per event), rounds and clamps at zero, keeps taps and conversions at most impressions, and
/// scales the inverse-propensity sums by the same factor as their counts. `sessions` is kept.
pub fn add_noise<R: Rng + ?Sized>(cell: &mut Cell, epsilon: f64, rng: &mut R) {
    let b = 1.0 / epsilon;
    let mut noisy = |x: u64| -> u64 { (x as f64 + laplace(b, rng)).round().max(0.0) as u64 };
    let c = cell.counts;
    let mut n = Counts {
        impressions: noisy(c.impressions),
        taps: noisy(c.taps),
        thumbs_up: noisy(c.thumbs_up),
        thumbs_down: noisy(c.thumbs_down),
        whys: noisy(c.whys),
        opt_outs: noisy(c.opt_outs),
        dwells: noisy(c.dwells),
        dwell_ms: c.dwell_ms,
        conversions: noisy(c.conversions),
    };
    n.taps = n.taps.min(n.impressions);
    n.conversions = n.conversions.min(n.impressions);
    // Mean dwell is kept; the total follows the noisy number of dwells.
    n.dwell_ms = (c.dwell_ms * n.dwells).checked_div(c.dwells).unwrap_or(0);
    let scale = |sum: f64, before: u64, after: u64| {
        if before == 0 {
            0.0
        } else {
            sum * after as f64 / before as f64
        }
    };
    cell.ipw = Ipw {
        impressions: scale(cell.ipw.impressions, c.impressions, n.impressions),
        taps: scale(cell.ipw.taps, c.taps, n.taps),
        conversions: scale(cell.ipw.conversions, c.conversions, n.conversions),
    };
    cell.counts = n;
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use rand::rngs::StdRng;
    use rand::SeedableRng;

    fn key(sku: &str, segment: &str) -> CellKey {
        CellKey {
            day: Day(20_000),
            sku: sku.into(),
            style: "concise".into(),
            segment: segment.into(),
            content_kind: "blurb".into(),
            arm: crate::experiment::PERSONALISED.into(),
        }
    }

    fn row(sku: &str, segment: &str, session: u8) -> SessionRow {
        SessionRow {
            key: key(sku, segment),
            person: [session; 16],
            counts: Counts {
                impressions: 1,
                taps: 1,
                ..Counts::default()
            },
            ipw: Ipw {
                impressions: 4.0,
                taps: 4.0,
                conversions: 0.0,
            },
        }
    }

    #[test]
    fn day_formats_and_parses() {
        assert_eq!(Day(0).to_string(), "1970-01-01");
        assert_eq!(Day::of(1_790_000_000).to_string(), "2026-09-21");
        assert_eq!(Day::parse("2026-09-21"), Some(Day::of(1_790_000_000)));
        assert_eq!(Day::parse("2026-09-21T10:00"), None);
        assert_eq!(Day::of(-1), Day(-1));
    }

    #[test]
    fn cells_with_k_sessions_pass_unchanged() {
        let rows: Vec<_> = (0..5).map(|s| row("A", "footwear:mid", s)).collect();
        let a = anonymise(&rows, 5);
        assert_eq!(a.cells.len(), 1);
        let c = &a.cells[0];
        assert_eq!(
            (c.sku.as_str(), c.segment.as_str(), c.sessions),
            ("A", "footwear:mid", 5)
        );
        assert_eq!(c.counts.impressions, 5);
        assert_eq!(c.ipw.impressions, 20.0);
        assert_eq!(a.withheld, Counts::default());
    }

    #[test]
    fn arms_are_never_merged_a_small_arm_is_withheld() {
        // 6 people in the personalised arm, 4 in the holdout: the holdout's 4 never join the
        // others' cell at any roll-up level, so they are withheld, and every emitted cell still
        // has k people of its own arm.
        let mut rows: Vec<_> = (0..6).map(|s| row("A", "footwear:mid", s)).collect();
        for s in 10..14 {
            let mut r = row("A", "footwear:mid", s);
            r.key.arm = crate::experiment::HOLDOUT.into();
            rows.push(r);
        }
        let a = anonymise(&rows, 5);
        assert_eq!(a.cells.len(), 1);
        assert_eq!(a.cells[0].arm, crate::experiment::PERSONALISED);
        assert_eq!(a.cells[0].sessions, 6);
        assert_eq!(a.withheld.impressions, 4);
        let coarse = coarsen(a.cells.iter().cloned().chain([Cell {
            arm: crate::experiment::HOLDOUT.into(),
            ..a.cells[0].clone()
        }]));
        assert_eq!(coarse.len(), 2, "coarsening keeps arms apart");
    }

    #[test]
    fn a_cell_with_k_minus_one_sessions_is_rolled_up_never_emitted() {
        // 4 sessions in footwear:mid, 3 in footwear:high for product A: neither reaches k = 5,
        // together (segment "all") they do.
        let mut rows: Vec<_> = (0..4).map(|s| row("A", "footwear:mid", s)).collect();
        rows.extend((10..13).map(|s| row("A", "footwear:high", s)));
        let a = anonymise(&rows, 5);
        assert_eq!(a.cells.len(), 1);
        assert_eq!(a.cells[0].segment, ALL_SEGMENTS);
        assert_eq!(a.cells[0].sku, "A");
        assert_eq!(a.cells[0].sessions, 7);
        assert_eq!(a.cells[0].counts.impressions, 7);
    }

    #[test]
    fn roll_up_goes_to_all_products_then_withholds() {
        // Product A: 3 sessions, product B: 3 sessions (different sessions): only "*" reaches 5.
        let mut rows: Vec<_> = (0..3).map(|s| row("A", "x:low", s)).collect();
        rows.extend((3..6).map(|s| row("B", "x:low", s)));
        let a = anonymise(&rows, 5);
        assert_eq!(a.cells.len(), 1);
        assert_eq!(
            (a.cells[0].sku.as_str(), a.cells[0].segment.as_str()),
            ("*", "all")
        );
        // The same sessions seen twice do not count twice: 4 distinct sessions stay withheld.
        let rows: Vec<_> = (0..4)
            .flat_map(|s| [row("A", "x:low", s), row("B", "x:low", s)])
            .collect();
        let a = anonymise(&rows, 5);
        assert!(a.cells.is_empty());
        assert_eq!(a.withheld.impressions, 8);
    }

    #[test]
    fn big_cells_stay_exact_while_small_siblings_roll_up() {
        let mut rows: Vec<_> = (0..6).map(|s| row("A", "footwear:mid", s)).collect();
        rows.extend((10..12).map(|s| row("A", "footwear:low", s)));
        rows.extend((20..23).map(|s| row("A", "footwear:high", s)));
        let a = anonymise(&rows, 5);
        let segs: Vec<_> = a.cells.iter().map(|c| c.segment.as_str()).collect();
        assert_eq!(segs, vec!["all", "footwear:mid"]);
        assert_eq!(total(&a.cells).impressions + a.withheld.impressions, 11);
    }

    #[test]
    fn coarsen_merges_exactly() {
        let rows: Vec<_> = (0..10)
            .map(|s| row(if s % 2 == 0 { "A" } else { "B" }, "s", s / 2))
            .collect();
        let a = anonymise(&rows, 5);
        let before = total(&a.cells);
        let c = coarsen(a.cells);
        assert_eq!(c.len(), 1);
        assert_eq!(total(&c), before);
    }

    #[test]
    fn laplace_has_the_right_distribution() {
        let mut rng = StdRng::seed_from_u64(7);
        let b = 2.0;
        let n = 200_000;
        let xs: Vec<f64> = (0..n).map(|_| laplace(b, &mut rng)).collect();
        let mean = xs.iter().sum::<f64>() / n as f64;
        let mean_abs = xs.iter().map(|x| x.abs()).sum::<f64>() / n as f64;
        let var = xs.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / n as f64;
        assert!(mean.abs() < 0.03, "mean {mean}");
        assert!((mean_abs - b).abs() < 0.03 * b, "E|x| {mean_abs}");
        assert!((var - 2.0 * b * b).abs() < 0.05 * 2.0 * b * b, "var {var}");
        // Kolmogorov-Smirnov distance against the Laplace CDF.
        let mut sorted = xs;
        sorted.sort_by(f64::total_cmp);
        let cdf = |x: f64| {
            if x < 0.0 {
                0.5 * (x / b).exp()
            } else {
                1.0 - 0.5 * (-x / b).exp()
            }
        };
        let d = sorted
            .iter()
            .enumerate()
            .map(|(i, &x)| (cdf(x) - i as f64 / n as f64).abs())
            .fold(0.0, f64::max);
        // Critical value at alpha = 0.001 is 1.95 / sqrt(n) ≈ 0.0044.
        assert!(d < 0.0044, "KS distance {d}");
    }

    #[test]
    fn noise_keeps_cells_consistent() {
        let mut rng = StdRng::seed_from_u64(1);
        let rows: Vec<_> = (0..50).map(|s| row("A", "x", s)).collect();
        let mut cell = anonymise(&rows, 5).cells.remove(0);
        let mut diffs = 0.0;
        for _ in 0..2000 {
            let mut c = cell.clone();
            add_noise(&mut c, 0.5, &mut rng);
            assert!(c.counts.taps <= c.counts.impressions);
            assert_eq!(c.sessions, 50);
            diffs += c.counts.impressions as f64 - 50.0;
        }
        // Unbiased around the true count (noise scale 2, far from the clamp at 0).
        assert!((diffs / 2000.0).abs() < 0.2, "bias {}", diffs / 2000.0);
        add_noise(&mut cell, 1e9, &mut rng);
        assert_eq!(
            cell.counts.impressions, 50,
            "huge epsilon is (almost) no noise"
        );
    }
}
