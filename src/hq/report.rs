//! Feedback reports and fleet priors, computed from the stored cells.
//!
//! Rates come with 95 % equal-tailed Beta credible intervals under a uniform prior
//! (posterior Beta(1 + successes, 1 + failures)). When the report is grouped by style, each row
//! also carries inverse-propensity estimates of the rate the style would get if it were always
//! chosen in that context: IPS = Σ(r/p) / N with N the impressions of all styles in the same
//! group, and the self-normalised SNIPS = Σ(r/p) / Σ(1/p).
//!
//! Invariants: pure functions over [`GroupRow`]s apart from [`build`] and [`priors`], which only
//! read the store.

use serde::Serialize;
use serde_json::Value;
use utoipa::ToSchema;

use super::store::{Dim, GroupRow, HqStore};
use super::HqError;
use crate::feedback::cells::{Counts, Day, ALL_SEGMENTS};
use crate::wire::{FleetPrior, PriorsDocument, PRIORS_VERSION};

fn ln_gamma(x: f64) -> f64 {
    // Lanczos approximation (g = 7, n = 9).
    const C: [f64; 9] = [
        0.999_999_999_999_809_9,
        676.520_368_121_885_1,
        -1_259.139_216_722_402_8,
        771.323_428_777_653_1,
        -176.615_029_162_140_6,
        12.507_343_278_686_905,
        -0.138_571_095_265_720_12,
        9.984_369_578_019_572e-6,
        1.505_632_735_149_311_6e-7,
    ];
    if x < 0.5 {
        let pi = std::f64::consts::PI;
        return (pi / (pi * x).sin()).ln() - ln_gamma(1.0 - x);
    }
    let x = x - 1.0;
    let mut a = C[0];
    let t = x + 7.5;
    for (i, c) in C.iter().enumerate().skip(1) {
        a += c / (x + i as f64);
    }
    0.5 * (2.0 * std::f64::consts::PI).ln() + (x + 0.5) * t.ln() - t + a.ln()
}

/// Continued fraction of the incomplete beta function (modified Lentz).
fn beta_cf(a: f64, b: f64, x: f64) -> f64 {
    const TINY: f64 = 1e-300;
    let (qab, qap, qam) = (a + b, a + 1.0, a - 1.0);
    let mut c = 1.0;
    let mut d = 1.0 - qab * x / qap;
    if d.abs() < TINY {
        d = TINY;
    }
    d = 1.0 / d;
    let mut h = d;
    for m in 1..300 {
        let m = m as f64;
        let m2 = 2.0 * m;
        let aa = m * (b - m) * x / ((qam + m2) * (a + m2));
        d = 1.0 + aa * d;
        if d.abs() < TINY {
            d = TINY;
        }
        c = 1.0 + aa / c;
        if c.abs() < TINY {
            c = TINY;
        }
        d = 1.0 / d;
        h *= d * c;
        let aa = -(a + m) * (qab + m) * x / ((a + m2) * (qap + m2));
        d = 1.0 + aa * d;
        if d.abs() < TINY {
            d = TINY;
        }
        c = 1.0 + aa / c;
        if c.abs() < TINY {
            c = TINY;
        }
        d = 1.0 / d;
        let del = d * c;
        h *= del;
        if (del - 1.0).abs() < 1e-14 {
            break;
        }
    }
    h
}

/// The regularized incomplete beta function I_x(a, b): the CDF of Beta(a, b) at `x`.
pub fn beta_cdf(x: f64, a: f64, b: f64) -> f64 {
    if x <= 0.0 {
        return 0.0;
    }
    if x >= 1.0 {
        return 1.0;
    }
    let ln_front = ln_gamma(a + b) - ln_gamma(a) - ln_gamma(b) + a * x.ln() + b * (1.0 - x).ln();
    let front = ln_front.exp();
    if x < (a + 1.0) / (a + b + 2.0) {
        front * beta_cf(a, b, x) / a
    } else {
        1.0 - front * beta_cf(b, a, 1.0 - x) / b
    }
}

/// The `p`-quantile of Beta(a, b): Newton's method on the CDF from the mean, kept inside a
/// bracket that every step narrows; a step that would leave the bracket (or is not finite) is a
/// bisection instead, so it always converges. It stops when a step no longer moves the answer
/// beyond the CDF's own precision (about 1e-14): 5 to 10 CDF evaluations where bisection takes
/// about 55, and four quantiles per row are most of a large report's time. The answer agrees
/// with bisection to 1e-12 (tested); reports publish 6 decimals.
pub fn beta_quantile(p: f64, a: f64, b: f64) -> f64 {
    if p <= 0.0 {
        return 0.0;
    }
    if p >= 1.0 {
        return 1.0;
    }
    let ln_beta = ln_gamma(a) + ln_gamma(b) - ln_gamma(a + b);
    let (mut lo, mut hi) = (0.0f64, 1.0f64);
    let mut x = a / (a + b);
    for _ in 0..200 {
        let f = beta_cdf(x, a, b) - p;
        if f < 0.0 {
            lo = x;
        } else {
            hi = x;
        }
        let pdf = (-ln_beta + (a - 1.0) * x.ln() + (b - 1.0) * (1.0 - x).ln()).exp();
        let mut next = x - f / pdf;
        if !(next.is_finite() && next > lo && next < hi) {
            next = 0.5 * (lo + hi);
        }
        let settled =
            (next - x).abs() <= 1e-15 * x.max(f64::MIN_POSITIVE) || next == lo || next == hi;
        x = next;
        if settled {
            break;
        }
    }
    x
}

/// A rate with its 95 % credible interval.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Rate {
    pub rate: f64,
    pub low: f64,
    pub high: f64,
}

/// `successes / trials` with the 95 % interval of Beta(1 + successes, 1 + failures).
pub fn rate(successes: u64, trials: u64) -> Rate {
    let s = successes.min(trials) as f64;
    let (a, b) = (1.0 + s, 1.0 + trials as f64 - s);
    Rate {
        rate: if trials == 0 { 0.0 } else { s / trials as f64 },
        low: beta_quantile(0.025, a, b),
        high: beta_quantile(0.975, a, b),
    }
}

/// Inverse-propensity estimates of one style in one context.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Ips {
    pub ctr: f64,
    pub snips_ctr: f64,
    pub cvr: f64,
    pub snips_cvr: f64,
}

/// One report row.
#[derive(Debug, Clone, PartialEq)]
pub struct ReportRow {
    pub group: GroupRow,
    pub ctr: Rate,
    pub cvr: Rate,
    pub ips: Option<Ips>,
}

/// A feedback report.
#[derive(Debug, Clone, PartialEq)]
pub struct Report {
    pub from: Option<Day>,
    pub to: Option<Day>,
    pub group_by: Vec<Dim>,
    pub totals: Counts,
    pub rows: Vec<ReportRow>,
}

/// The CSV columns after the grouped dimensions, in order: named as [`ReportRowDocument`]'s
/// fields (a unit test checks every one is there).
const COLUMNS: [&str; 20] = [
    "sessions",
    "impressions",
    "taps",
    "thumbs_up",
    "thumbs_down",
    "whys",
    "opt_outs",
    "dwells",
    "dwell_ms",
    "conversions",
    "ctr",
    "ctr_low",
    "ctr_high",
    "cvr",
    "cvr_low",
    "cvr_high",
    "ips_ctr",
    "snips_ctr",
    "ips_cvr",
    "snips_cvr",
];

fn round6(x: f64) -> f64 {
    (x * 1e6).round() / 1e6
}

/// `GET /v1/reports/feedback` as JSON (and `hq report --format json`).
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct ReportDocument {
    pub from: Option<Day>,
    pub to: Option<Day>,
    pub group_by: Vec<Dim>,
    pub totals: Counts,
    pub rows: Vec<ReportRowDocument>,
}

/// One report row: the values of the grouped dimensions (only those), the sums, the rates with
/// their 95 % credible intervals (rounded to 6 places) and, when grouped by style, the
/// inverse-propensity estimates (null otherwise).
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct ReportRowDocument {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub store: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub kiosk: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sku: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub style: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub segment: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub content_kind: Option<String>,
    /// YYYY-MM-DD.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub day: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub arm: Option<String>,
    pub sessions: u64,
    pub impressions: u64,
    pub taps: u64,
    pub thumbs_up: u64,
    pub thumbs_down: u64,
    pub whys: u64,
    pub opt_outs: u64,
    pub dwells: u64,
    pub dwell_ms: u64,
    pub conversions: u64,
    pub ctr: f64,
    pub ctr_low: f64,
    pub ctr_high: f64,
    pub cvr: f64,
    pub cvr_low: f64,
    pub cvr_high: f64,
    pub ips_ctr: Option<f64>,
    pub snips_ctr: Option<f64>,
    pub ips_cvr: Option<f64>,
    pub snips_cvr: Option<f64>,
}

impl ReportRow {
    fn document(&self, dims: &[Dim]) -> ReportRowDocument {
        let value = |dim: Dim| {
            dims.iter()
                .position(|d| *d == dim)
                .and_then(|i| self.group.dims.get(i).cloned())
        };
        let c = &self.group.counts;
        let ips = |g: fn(&Ips) -> f64| self.ips.as_ref().map(|i| round6(g(i)));
        ReportRowDocument {
            store: value(Dim::Store),
            kiosk: value(Dim::Kiosk),
            sku: value(Dim::Sku),
            style: value(Dim::Style),
            segment: value(Dim::Segment),
            content_kind: value(Dim::ContentKind),
            day: value(Dim::Day),
            arm: value(Dim::Arm),
            sessions: self.group.sessions,
            impressions: c.impressions,
            taps: c.taps,
            thumbs_up: c.thumbs_up,
            thumbs_down: c.thumbs_down,
            whys: c.whys,
            opt_outs: c.opt_outs,
            dwells: c.dwells,
            dwell_ms: c.dwell_ms,
            conversions: c.conversions,
            ctr: round6(self.ctr.rate),
            ctr_low: round6(self.ctr.low),
            ctr_high: round6(self.ctr.high),
            cvr: round6(self.cvr.rate),
            cvr_low: round6(self.cvr.low),
            cvr_high: round6(self.cvr.high),
            ips_ctr: ips(|i| i.ctr),
            snips_ctr: ips(|i| i.snips_ctr),
            ips_cvr: ips(|i| i.cvr),
            snips_cvr: ips(|i| i.snips_cvr),
        }
    }
}

impl Report {
    pub fn document(&self) -> ReportDocument {
        ReportDocument {
            from: self.from,
            to: self.to,
            group_by: self.group_by.clone(),
            totals: self.totals,
            rows: self
                .rows
                .iter()
                .map(|r| r.document(&self.group_by))
                .collect(),
        }
    }

    /// The document as a JSON value (keys in sorted order).
    pub fn to_json(&self) -> Value {
        serde_json::to_value(self.document()).unwrap_or(Value::Null)
    }

    /// The grouped dimensions, then [`COLUMNS`]: the JSON rows' fields, in that order.
    pub fn to_csv(&self) -> Result<String, HqError> {
        let mut w = csv::Writer::from_writer(Vec::new());
        let header: Vec<&str> = self
            .group_by
            .iter()
            .map(|d| d.name())
            .chain(COLUMNS)
            .collect();
        w.write_record(&header)?;
        for row in self.document().rows {
            let fields = serde_json::to_value(row).map_err(|source| HqError::Encode {
                what: "a report row",
                source,
            })?;
            let cells: Vec<String> = header
                .iter()
                .map(|k| match fields.get(k) {
                    Some(Value::String(s)) => s.clone(),
                    None | Some(Value::Null) => String::new(),
                    Some(other) => other.to_string(),
                })
                .collect();
            w.write_record(&cells)?;
        }
        let bytes = w
            .into_inner()
            .map_err(|e| csv::Error::from(e.into_error()))?;
        String::from_utf8(bytes).map_err(HqError::CsvText)
    }
}

/// Adds rates, intervals and (when grouped by style) inverse-propensity estimates.
pub fn rows(group_by: &[Dim], groups: Vec<GroupRow>) -> Vec<ReportRow> {
    let style_at = group_by.iter().position(|d| *d == Dim::Style);
    let context = |g: &GroupRow| -> Vec<String> {
        g.dims
            .iter()
            .enumerate()
            .filter(|(i, _)| Some(*i) != style_at)
            .map(|(_, v)| v.clone())
            .collect()
    };
    let mut totals: std::collections::HashMap<Vec<String>, u64> = Default::default();
    if style_at.is_some() {
        for g in &groups {
            *totals.entry(context(g)).or_default() += g.counts.impressions;
        }
    }
    let rates = rates(&groups);
    groups
        .into_iter()
        .zip(rates)
        .map(|(g, (ctr, cvr))| {
            let ips = style_at.map(|_| {
                let n = totals.get(&context(&g)).copied().unwrap_or(0).max(1) as f64;
                let w = g.ipw.impressions.max(f64::MIN_POSITIVE);
                Ips {
                    ctr: g.ipw.taps / n,
                    snips_ctr: if g.ipw.impressions > 0.0 {
                        g.ipw.taps / w
                    } else {
                        0.0
                    },
                    cvr: g.ipw.conversions / n,
                    snips_cvr: if g.ipw.impressions > 0.0 {
                        g.ipw.conversions / w
                    } else {
                        0.0
                    },
                }
            });
            ReportRow {
                ctr,
                cvr,
                ips,
                group: g,
            }
        })
        .collect()
}

/// Rows from which [`rates`] spreads the work over the machine's cores.
const PARALLEL_ROWS: usize = 256;

/// (CTR, CVR) with their intervals for each group, in order. Four Beta quantiles per row are
/// most of a large report's time; from [`PARALLEL_ROWS`] rows on they are computed on every
/// core, in contiguous chunks (the same numbers, in the same order).
fn rates(groups: &[GroupRow]) -> Vec<(Rate, Rate)> {
    let one = |g: &GroupRow| {
        (
            rate(g.counts.taps, g.counts.impressions),
            rate(g.counts.conversions, g.counts.impressions),
        )
    };
    let threads = std::thread::available_parallelism().map_or(1, |n| n.get());
    if groups.len() < PARALLEL_ROWS || threads < 2 {
        return groups.iter().map(one).collect();
    }
    let size = groups.len().div_ceil(threads);
    std::thread::scope(|s| {
        let chunks: Vec<_> = groups
            .chunks(size)
            .map(|chunk| {
                (
                    chunk,
                    s.spawn(move || chunk.iter().map(one).collect::<Vec<_>>()),
                )
            })
            .collect();
        chunks
            .into_iter()
            .flat_map(|(chunk, worker)| {
                // A worker cannot panic (pure arithmetic); were it to, its chunk is redone here.
                worker
                    .join()
                    .unwrap_or_else(|_| chunk.iter().map(one).collect())
            })
            .collect()
    })
}

/// Builds a report over `from..=to` grouped by `group_by`: one pass over the roll-up, whose
/// groups also give the totals ([`totals_of`]).
pub fn build(
    store: &dyn HqStore,
    from: Option<Day>,
    to: Option<Day>,
    group_by: &[Dim],
) -> Result<Report, HqError> {
    let groups = store.grouped(from, to, group_by)?;
    let totals = totals_of(&groups)?;
    Ok(Report {
        from,
        to,
        group_by: group_by.to_vec(),
        totals,
        rows: rows(group_by, groups),
    })
}

/// The counts of `groups` added up: a report's totals, since its groups partition the roll-up
/// rows of its day range (whole counts, so exactly the database's own sum). A total past
/// `i64::MAX` is an error, as the database's sum is.
fn totals_of(groups: &[GroupRow]) -> Result<Counts, HqError> {
    let mut t = Counts::default();
    for g in groups {
        let c = &g.counts;
        for (sum, v) in [
            (&mut t.impressions, c.impressions),
            (&mut t.taps, c.taps),
            (&mut t.thumbs_up, c.thumbs_up),
            (&mut t.thumbs_down, c.thumbs_down),
            (&mut t.whys, c.whys),
            (&mut t.opt_outs, c.opt_outs),
            (&mut t.dwells, c.dwells),
            (&mut t.dwell_ms, c.dwell_ms),
            (&mut t.conversions, c.conversions),
        ] {
            *sum = sum
                .checked_add(v)
                .filter(|s| i64::try_from(*s).is_ok())
                .ok_or_else(|| HqError::Number {
                    what: "a report total",
                    value: format!("{sum} + {v}"),
                })?;
        }
    }
    Ok(t)
}

/// Pseudo-observations a fleet prior is worth at most, so local evidence can still move it.
pub const PRIOR_STRENGTH: f64 = 100.0;

/// Fleet priors per segment × style (and per style for segment "all"): the CTR posterior,
/// shrunk to at most [`PRIOR_STRENGTH`] pseudo-observations.
pub fn priors(store: &dyn HqStore, today: Day) -> Result<PriorsDocument, HqError> {
    let mut groups: std::collections::BTreeMap<(String, String), Counts> = Default::default();
    for g in store.grouped(None, None, &[Dim::Segment, Dim::Style])? {
        if let [segment, style] = &g.dims[..] {
            groups.insert((segment.clone(), style.clone()), g.counts);
        }
    }
    // The overall row per style is the "all" segment (it replaces a segment literally so named).
    for g in store.grouped(None, None, &[Dim::Style])? {
        if let [style] = &g.dims[..] {
            groups.insert((ALL_SEGMENTS.to_string(), style.clone()), g.counts);
        }
    }
    let out = groups
        .into_iter()
        .map(|((segment, style), c)| {
            let n = c.impressions as f64;
            let taps = c.taps.min(c.impressions) as f64;
            let w = if n > PRIOR_STRENGTH {
                PRIOR_STRENGTH / n
            } else {
                1.0
            };
            FleetPrior {
                segment,
                style,
                alpha: 1.0 + taps * w,
                beta: 1.0 + (n - taps) * w,
                impressions: c.impressions,
                taps: c.taps,
            }
        })
        .collect();
    Ok(PriorsDocument {
        version: PRIORS_VERSION,
        generated_day: today,
        priors: out,
    })
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use crate::feedback::cells::Ipw;

    #[test]
    fn beta_cdf_and_quantiles_match_closed_forms() {
        for p in [0.025, 0.3, 0.5, 0.975] {
            assert!((beta_quantile(p, 1.0, 1.0) - p).abs() < 1e-9);
            // Beta(2, 1): F(x) = x², quantile sqrt(p).
            assert!((beta_quantile(p, 2.0, 1.0) - p.sqrt()).abs() < 1e-9);
            // Beta(1, 3): F(x) = 1 - (1 - x)³.
            let q = 1.0 - (1.0 - p).powf(1.0 / 3.0);
            assert!((beta_quantile(p, 1.0, 3.0) - q).abs() < 1e-9);
        }
        // Symmetry and a large-count case against the normal approximation.
        assert!((beta_cdf(0.3, 5.0, 9.0) + beta_cdf(0.7, 9.0, 5.0) - 1.0).abs() < 1e-12);
        let r = rate(500, 10_000);
        let sd = (0.05f64 * 0.95 / 10_000.0).sqrt();
        assert!((r.low - (0.05 - 1.96 * sd)).abs() < 0.001, "{r:?}");
        assert!((r.high - (0.05 + 1.96 * sd)).abs() < 0.001, "{r:?}");
        let empty = rate(0, 0);
        assert_eq!(empty.rate, 0.0);
        assert!((empty.low - 0.025).abs() < 1e-9 && (empty.high - 0.975).abs() < 1e-9);
    }

    #[test]
    fn rates_on_many_rows_are_those_of_one_row_at_a_time() {
        let groups: Vec<GroupRow> = (0..PARALLEL_ROWS as u64 * 3 + 7)
            .map(|i| g(&["s"], 10 + i * 37 % 1_000, i % 10, 0.0, 0.0))
            .collect();
        let together = rates(&groups);
        assert_eq!(together.len(), groups.len());
        for (g, (ctr, _)) in groups.iter().zip(together) {
            assert_eq!(ctr, rate(g.counts.taps, g.counts.impressions));
        }
    }

    #[test]
    fn newton_quantiles_agree_with_a_hundred_halvings() {
        let full = |p: f64, a: f64, b: f64| {
            let (mut lo, mut hi) = (0.0f64, 1.0f64);
            for _ in 0..100 {
                let mid = 0.5 * (lo + hi);
                if beta_cdf(mid, a, b) < p {
                    lo = mid;
                } else {
                    hi = mid;
                }
            }
            0.5 * (lo + hi)
        };
        let mut cases = vec![
            (0, 0),
            (0, 1),
            (1, 1),
            (3, 10),
            (0, 5_000),
            (17, 20_000),
            (999, 1_000),
            (1_000_000, 1_000_000),
            (3, 1_000_000),
        ];
        // And a spread of report-like rows (seeded, no randomness crate needed).
        let mut z = 0x2545_f491_4f6c_dd1d_u64;
        for _ in 0..300 {
            z ^= z << 13;
            z ^= z >> 7;
            z ^= z << 17;
            let n = z % 50_000;
            let s = if n == 0 {
                0
            } else {
                (z >> 20) % (n + 1) / ((z >> 40) % 20 + 1)
            };
            cases.push((s, n));
        }
        for (s, n) in cases {
            let (a, b) = (1.0 + s as f64, 1.0 + (n - s) as f64);
            for p in [0.025, 0.5, 0.975] {
                let (newton, halved) = (beta_quantile(p, a, b), full(p, a, b));
                assert!(
                    (newton - halved).abs() <= 1e-12,
                    "{s}/{n} at {p}: {newton} vs {halved}"
                );
                assert_eq!(round6(newton), round6(halved), "{s}/{n} at {p}");
            }
        }
    }

    fn g(dims: &[&str], impressions: u64, taps: u64, ipw_imp: f64, ipw_taps: f64) -> GroupRow {
        GroupRow {
            dims: dims.iter().map(|s| s.to_string()).collect(),
            sessions: 10,
            counts: Counts {
                impressions,
                taps,
                ..Counts::default()
            },
            ipw: Ipw {
                impressions: ipw_imp,
                taps: ipw_taps,
                conversions: 0.0,
            },
        }
    }

    #[test]
    fn totals_are_the_groups_added_up_and_never_wrap() {
        let groups = [g(&["a"], 10, 3, 0.0, 0.0), g(&["b"], 5, 1, 0.0, 0.0)];
        let t = totals_of(&groups).unwrap();
        assert_eq!((t.impressions, t.taps, t.conversions), (15, 4, 0));
        assert_eq!(totals_of(&[]).unwrap(), Counts::default());
        let max = i64::MAX as u64;
        assert_eq!(
            totals_of(&[g(&["a"], max, 0, 0.0, 0.0)])
                .unwrap()
                .impressions,
            max
        );
        let past = [g(&["a"], max, 0, 0.0, 0.0), g(&["b"], 1, 0, 0.0, 0.0)];
        assert!(matches!(totals_of(&past), Err(HqError::Number { .. })));
    }

    #[test]
    fn ips_uses_all_styles_of_the_context() {
        // Segment s: 100 impressions, concise chosen with p = 0.5 (50 impressions, 10 taps),
        // value with p = 0.5 (50 impressions, 5 taps).
        let rows = rows(
            &[Dim::Segment, Dim::Style],
            vec![
                g(&["s", "concise"], 50, 10, 100.0, 20.0),
                g(&["s", "value"], 50, 5, 100.0, 10.0),
            ],
        );
        let ips = rows[0].ips.unwrap();
        assert!((ips.ctr - 0.2).abs() < 1e-12);
        assert!((ips.snips_ctr - 0.2).abs() < 1e-12);
        assert!((rows[1].ips.unwrap().ctr - 0.1).abs() < 1e-12);
        let plain = super::rows(&[Dim::Segment], vec![g(&["s"], 100, 15, 200.0, 30.0)]);
        assert!(plain[0].ips.is_none());
        assert!((plain[0].ctr.rate - 0.15).abs() < 1e-12);
    }

    #[test]
    fn csv_and_json_have_the_same_columns() {
        let report = Report {
            from: None,
            to: Some(Day(20_000)),
            group_by: vec![Dim::Style],
            totals: Counts::default(),
            rows: rows(&[Dim::Style], vec![g(&["value"], 10, 1, 40.0, 4.0)]),
        };
        let csv = report.to_csv().unwrap_or_default();
        let mut lines = csv.lines();
        let header = lines.next().unwrap_or_default();
        assert!(
            header.starts_with("style,sessions,impressions,taps"),
            "{header}"
        );
        assert!(header.ends_with("ips_ctr,snips_ctr,ips_cvr,snips_cvr"));
        assert!(lines
            .next()
            .unwrap_or_default()
            .starts_with("value,10,10,1,"));
        let json = report.to_json();
        assert_eq!(json["rows"][0]["style"], "value");
        assert_eq!(json["rows"][0]["ctr"], 0.1);
        assert_eq!(json["to"], "2024-10-04");
        // Every CSV column is a field of the JSON row.
        let row = json["rows"][0].as_object().unwrap();
        for column in header.split(',') {
            assert!(row.contains_key(column), "{column}");
        }
        assert_eq!(row.len(), header.split(',').count());
    }
}
