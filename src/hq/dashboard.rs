//! The dashboard analysts use: one server-rendered HTML page at `/` with inline SVG charts (no
//! JavaScript, no external assets, so an HQ cut off from the internet shows it whole), for a date
//! range chosen in its form: totals, the trend over days per experiment arm (impressions,
//! click-through, conversion), the lift of personalisation and of experiment arms with their
//! intervals, a per-store table, click-through by style and by segment × style, and the fleet's
//! health.
//!
//! Invariants:
//! - Every number on the page comes from the same report and lift functions the API serves
//!   ([`super::report::build`], [`super::lift::build`]) for the same range, and each chart has its
//!   numbers beside it as a table or behind a CSV link to that API. Numbers a test reads are
//!   marked `data-metric`.
//! - Every value from the database is HTML-escaped ([`super::page::esc`]); the page loads nothing
//!   else.
//! - Pure: [`render`] is a function of the [`Dashboard`] handed in.

use std::collections::BTreeMap;

use super::lift::{Comparison, Interval, LiftDocument, MetricLift, Verdict};
use super::page::{esc, Health};
use super::report::{Report, ReportRow};
use super::store::KioskRecord;
use crate::feedback::cells::Day;

/// How many days the dashboard shows when the form names none: the last four weeks.
pub const DEFAULT_DAYS: i64 = 28;

const PALETTE: [&str; 6] = [
    "#4e79a7", "#f28e2b", "#59a14f", "#e15759", "#76b7b2", "#b07aa1",
];

/// Everything the page shows, for one range.
pub struct Dashboard<'a> {
    pub from: Day,
    pub to: Day,
    /// A problem with the range the form sent (the page then shows the default range).
    pub notice: Option<String>,
    /// Grouped by day and arm.
    pub by_day_arm: &'a Report,
    /// Grouped by store.
    pub by_store: &'a Report,
    pub by_style: &'a Report,
    pub by_segment_style: &'a Report,
    /// Lift for the fleet, and per store.
    pub lift: &'a LiftDocument,
    pub lift_by_store: &'a LiftDocument,
    pub fleet: &'a [KioskRecord],
    pub now: i64,
}

fn pct(x: f64) -> String {
    format!("{:.2}&nbsp;%", x * 100.0)
}

fn signed_pct(x: f64) -> String {
    format!("{:+.1}&nbsp;%", x * 100.0)
}

/// A line chart: one line per series over the days of the range; a missing point breaks the line.
fn line_chart(
    title: &str,
    days: &[Day],
    series: &[(String, Vec<Option<f64>>)],
    rate: bool,
) -> String {
    let (left, top, width, height) = (44.0, 26.0, 250.0, 120.0);
    let max = series
        .iter()
        .flat_map(|(_, v)| v.iter().flatten())
        .fold(0.0f64, |a, b| a.max(*b))
        .max(if rate { 0.01 } else { 1.0 });
    let x = |i: usize| left + width * i as f64 / (days.len().max(2) - 1) as f64;
    let y = |v: f64| top + height * (1.0 - v / max);
    let label = |v: f64| {
        if rate {
            format!("{:.1}%", v * 100.0)
        } else {
            format!("{v:.0}")
        }
    };
    let mut s = format!(
        r##"<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {w} {h}" role="img" aria-label="{t}">
<text x="4" y="16" font-weight="bold">{t}</text>
<line x1="{left}" x2="{right}" y1="{base}" y2="{base}" stroke="#999"/>
<text x="{lx}" y="{ty}" text-anchor="end" font-size="11">{top_label}</text>
<text x="{lx}" y="{base}" text-anchor="end" font-size="11">0</text>"##,
        w = left + width + 110.0,
        h = top + height + 24.0,
        t = esc(title),
        right = left + width,
        base = top + height,
        lx = left - 4.0,
        ty = top + 4.0,
        top_label = label(max),
    );
    if let (Some(first), Some(last)) = (days.first(), days.last()) {
        s.push_str(&format!(
            r#"<text x="{left}" y="{y}" font-size="11">{first}</text><text x="{right}" y="{y}" font-size="11" text-anchor="end">{last}</text>"#,
            y = top + height + 16.0,
            right = left + width,
        ));
    }
    for (i, (name, values)) in series.iter().enumerate() {
        let color = PALETTE[i % PALETTE.len()];
        let mut path = String::new();
        let mut pen_up = true;
        for (d, v) in values.iter().enumerate() {
            match v {
                Some(v) => {
                    path.push_str(&format!(
                        "{}{:.1},{:.1} ",
                        if pen_up { "M" } else { "L" },
                        x(d),
                        y(*v)
                    ));
                    pen_up = false;
                }
                None => pen_up = true,
            }
        }
        s.push_str(&format!(
            r#"<path d="{path}" fill="none" stroke="{color}" stroke-width="2"/>
<text x="{lx}" y="{ly}" font-size="12" fill="{color}">{name}</text>"#,
            lx = left + width + 8.0,
            ly = top + 12.0 + i as f64 * 16.0,
            name = esc(name),
        ));
    }
    s.push_str("</svg>");
    s
}

/// A horizontal bar chart of CTR with interval whiskers.
fn ctr_chart(title: &str, rows: &[(String, &ReportRow)]) -> String {
    let bar_h = 18.0;
    let gap = 6.0;
    let left = 220.0;
    let width = 460.0;
    let top = 28.0;
    let max = rows
        .iter()
        .map(|(_, r)| r.ctr.high)
        .fold(0.01f64, f64::max)
        .min(1.0);
    let height = top + rows.len() as f64 * (bar_h + gap) + 24.0;
    let x = |v: f64| left + v / max * width;
    let mut s = format!(
        r#"<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {w} {height}" role="img" aria-label="{t}">
<text x="4" y="16" font-weight="bold">{t}</text>"#,
        w = left + width + 80.0,
        t = esc(title)
    );
    for (i, (label, r)) in rows.iter().enumerate() {
        let y = top + i as f64 * (bar_h + gap);
        let color = PALETTE[i % PALETTE.len()];
        s.push_str(&format!(
            r##"<text x="{lx}" y="{ty}" text-anchor="end" font-size="12">{label}</text>
<rect x="{left}" y="{y}" width="{bw:.1}" height="{bar_h}" fill="{color}"><title>{label}: CTR {ctr:.3} [{lo:.3}, {hi:.3}], {imp} impressions</title></rect>
<line x1="{x1:.1}" x2="{x2:.1}" y1="{my}" y2="{my}" stroke="#222" stroke-width="1.5"/>
<text x="{tx:.1}" y="{ty}" font-size="11">{ctr:.3}</text>"##,
            lx = left - 6.0,
            ty = y + 13.0,
            label = esc(label),
            bw = x(r.ctr.rate) - left,
            ctr = r.ctr.rate,
            lo = r.ctr.low,
            hi = r.ctr.high,
            imp = r.group.counts.impressions,
            x1 = x(r.ctr.low),
            x2 = x(r.ctr.high),
            my = y + bar_h / 2.0,
            tx = x(r.ctr.high) + 4.0,
        ));
    }
    s.push_str("</svg>");
    s
}

/// A forest plot of relative lifts with their intervals around a zero line.
fn lift_chart(rows: &[(String, Interval)]) -> String {
    let (left, width, top, row_h) = (260.0, 380.0, 28.0, 24.0);
    let bound = rows
        .iter()
        .flat_map(|(_, i)| [i.low.abs(), i.high.abs()])
        .fold(0.1f64, f64::max)
        .min(5.0);
    let x = |v: f64| left + width / 2.0 + (v.clamp(-bound, bound) / bound) * width / 2.0;
    let height = top + rows.len() as f64 * row_h + 20.0;
    let mut s = format!(
        r##"<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {w} {height}" role="img" aria-label="Relative lift">
<text x="4" y="16" font-weight="bold">Relative lift with 95 % interval</text>
<line x1="{zero}" x2="{zero}" y1="{top}" y2="{bottom}" stroke="#999" stroke-dasharray="4 3"/>
<text x="{zero}" y="{label_y}" font-size="11" text-anchor="middle">0</text>"##,
        w = left + width + 90.0,
        zero = x(0.0),
        bottom = height - 16.0,
        label_y = height - 4.0,
    );
    for (i, (label, iv)) in rows.iter().enumerate() {
        let y = top + i as f64 * row_h + row_h / 2.0;
        let color = if iv.low > 0.0 {
            "#59a14f"
        } else if iv.high < 0.0 {
            "#e15759"
        } else {
            "#4e79a7"
        };
        s.push_str(&format!(
            r##"<text x="{lx}" y="{ty}" text-anchor="end" font-size="12">{label}</text>
<line x1="{x1:.1}" x2="{x2:.1}" y1="{y}" y2="{y}" stroke="{color}" stroke-width="2"/>
<circle cx="{cx:.1}" cy="{y}" r="4" fill="{color}"><title>{label}: {est:+.3} [{lo:+.3}, {hi:+.3}]</title></circle>
<text x="{tx:.1}" y="{ty}" font-size="11">{est_pct:+.1}%</text>"##,
            lx = left - 8.0,
            ty = y + 4.0,
            label = esc(label),
            x1 = x(iv.low),
            x2 = x(iv.high),
            cx = x(iv.estimate),
            est = iv.estimate,
            lo = iv.low,
            hi = iv.high,
            tx = left + width + 6.0,
            est_pct = iv.estimate * 100.0,
        ));
    }
    s.push_str("</svg>");
    s
}

fn verdict(v: Verdict) -> &'static str {
    match v {
        Verdict::InsufficientData => "not enough data yet",
        Verdict::Better => "better",
        Verdict::Worse => "worse",
        Verdict::NoDetectableDifference => "no detectable difference",
    }
}

fn interval(i: &Interval, f: fn(f64) -> String) -> String {
    format!(
        "{} <small>[{}, {}]</small>",
        f(i.estimate),
        f(i.low),
        f(i.high)
    )
}

/// One table row of a metric's lift; `key` marks the fleet's personalisation row for tests.
fn lift_row(c: &Comparison, metric: &str, m: &MetricLift, key: Option<&str>) -> String {
    let mark = |what: &str| {
        key.map(|k| format!(" data-metric=\"{k}-{metric}-{what}\""))
            .unwrap_or_default()
    };
    let rel = m.relative.as_ref().map_or_else(
        || "n/a (an arm has no success)".to_string(),
        |r| interval(r, signed_pct),
    );
    format!(
        "<tr><td>{name}</td><td>{metric}</td><td{mt}>{t}</td><td{mc}>{c_}</td><td{ma}><span>{a:+.4}</span> <small>[<span>{al:+.4}</span>, <span>{ah:+.4}</span>]</small></td><td{mr}>{rel}</td><td>{nt} / {nc}</td><td{mv}>{v}</td></tr>\n",
        name = esc(&c.name),
        mt = mark("treatment"),
        t = interval(&m.treatment, pct),
        mc = mark("control"),
        c_ = interval(&m.control, pct),
        ma = mark("absolute"),
        a = m.absolute.estimate,
        al = m.absolute.low,
        ah = m.absolute.high,
        mr = mark("relative"),
        nt = c.treatment.impressions,
        nc = c.control.impressions,
        mv = mark("verdict"),
        v = verdict(m.verdict),
    )
}

fn range_query(d: &Dashboard<'_>) -> String {
    format!("from={}&amp;to={}", d.from, d.to)
}

/// The dashboard page.
pub fn render(d: &Dashboard<'_>) -> String {
    let q = range_query(d);
    let days: Vec<Day> = (d.from.0..=d.to.0).map(Day).collect();
    // Trend: per arm and day.
    let mut per_arm: BTreeMap<String, BTreeMap<String, &ReportRow>> = BTreeMap::new();
    for r in &d.by_day_arm.rows {
        if let [day, arm] = r.group.dims.as_slice() {
            per_arm
                .entry(arm.clone())
                .or_default()
                .insert(day.clone(), r);
        }
    }
    let series = |f: fn(&ReportRow) -> Option<f64>| -> Vec<(String, Vec<Option<f64>>)> {
        per_arm
            .iter()
            .map(|(arm, by_day)| {
                let values = days
                    .iter()
                    .map(|day| by_day.get(&day.to_string()).and_then(|r| f(r)))
                    .collect();
                (arm.clone(), values)
            })
            .collect()
    };
    let impressions = series(|r| Some(r.group.counts.impressions as f64));
    let ctr = series(|r| (r.group.counts.impressions > 0).then_some(r.ctr.rate));
    let cvr = series(|r| (r.group.counts.impressions > 0).then_some(r.cvr.rate));

    // Lift.
    let mut lift_rows = String::new();
    let mut forest = Vec::new();
    for c in &d.lift.comparisons {
        let key = (c.name == "personalisation").then_some("lift");
        lift_rows.push_str(&lift_row(c, "ctr", &c.ctr, key));
        lift_rows.push_str(&lift_row(c, "cvr", &c.cvr, key));
        for (metric, m) in [("click-through", &c.ctr), ("conversion", &c.cvr)] {
            if let Some(r) = m.relative {
                forest.push((format!("{} · {metric}", c.name), r));
            }
        }
    }
    let lift_section = if d.lift.comparisons.is_empty() {
        "<p data-metric=\"lift-none\">No comparison in this range: lift needs holdout impressions \
         and personalised ones (kiosks record the holdout from <code>experiment.holdout_share</code>).</p>"
            .to_string()
    } else {
        format!(
            "{chart}\n<div class=\"scroll\"><table><tr><th>comparison</th><th>metric</th><th>treatment</th><th>control</th><th>absolute lift</th><th>relative lift</th><th>impressions</th><th>verdict</th></tr>\n{lift_rows}</table></div>",
            chart = lift_chart(&forest)
        )
    };

    // Per store, with the store's personalisation lift in click-through.
    let store_lift: BTreeMap<&str, &Comparison> = d
        .lift_by_store
        .comparisons
        .iter()
        .filter(|c| c.name == "personalisation")
        .filter_map(|c| Some((c.store.as_deref()?, c)))
        .collect();
    let mut store_rows = String::new();
    for r in &d.by_store.rows {
        let store = r.group.dims.first().map(String::as_str).unwrap_or("");
        let c = &r.group.counts;
        let lift = store_lift.get(store).map_or_else(
            || "n/a".to_string(),
            |l| {
                format!(
                    "{} ({})",
                    l.ctr
                        .relative
                        .as_ref()
                        .map_or_else(|| "n/a".to_string(), |i| interval(i, signed_pct)),
                    verdict(l.ctr.verdict)
                )
            },
        );
        store_rows.push_str(&format!(
            "<tr><td>{s}</td><td data-metric=\"store-impressions\" data-store=\"{s}\">{imp}</td><td>{taps}</td><td>{ctr}</td><td>{conv}</td><td>{cvr}</td><td>{lift}</td></tr>\n",
            s = esc(store),
            imp = c.impressions,
            taps = c.taps,
            ctr = interval(
                &Interval { estimate: r.ctr.rate, low: r.ctr.low, high: r.ctr.high },
                pct
            ),
            conv = c.conversions,
            cvr = interval(
                &Interval { estimate: r.cvr.rate, low: r.cvr.low, high: r.cvr.high },
                pct
            ),
        ));
    }

    // Fleet health.
    let mut health: BTreeMap<&str, usize> = BTreeMap::new();
    let mut versions: BTreeMap<&str, usize> = BTreeMap::new();
    let mut fleet_rows = String::new();
    for k in d.fleet {
        let h = Health::of(k, d.now).as_str();
        *health.entry(h).or_default() += 1;
        *versions
            .entry(k.software.as_deref().unwrap_or("unknown"))
            .or_default() += 1;
        fleet_rows.push_str(&format!(
            "<tr class=\"{h}\"><td>{store}</td><td>{kiosk}</td><td>{h}</td><td>{seen}</td><td>{seq}</td><td>{backlog}</td><td>{dropped}</td><td>{audit}</td><td>{ver}</td></tr>\n",
            audit = esc(&audit_cell(k, d.now)),
            store = esc(&k.store_id),
            kiosk = esc(&k.kiosk_id),
            seen = k
                .last_seen
                .map(|t| format!("{} min ago", (d.now - t).max(0) / 60))
                .unwrap_or_else(|| "never".into()),
            seq = k.last_seq,
            backlog = k.backlog,
            dropped = k.dropped.batches,
            ver = esc(k.software.as_deref().unwrap_or("-")),
        ));
    }
    let summary = |m: &BTreeMap<&str, usize>| {
        m.iter()
            .map(|(k, n)| format!("{} × {n}", esc(k)))
            .collect::<Vec<_>>()
            .join(", ")
    };

    let style_rows: Vec<(String, &ReportRow)> = d
        .by_style
        .rows
        .iter()
        .map(|r| (r.group.dims.join(" "), r))
        .collect();
    let seg_rows: Vec<(String, &ReportRow)> = d
        .by_segment_style
        .rows
        .iter()
        .map(|r| (r.group.dims.join(" · "), r))
        .collect();
    let t = &d.by_store.totals;
    let notice = d
        .notice
        .as_deref()
        .map(|n| format!("<p class=\"error\">{}</p>\n", esc(n)))
        .unwrap_or_default();
    format!(
        r#"<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>shelftalk HQ</title>
<style>
body {{ font-family: system-ui, sans-serif; margin: 1em auto; max-width: 72em; padding: 0 1em; color: #222; }}
table {{ border-collapse: collapse; font-size: 0.9em; }} td, th {{ border: 1px solid #ccc; padding: 4px 8px; text-align: left; }}
.scroll {{ overflow-x: auto; }} svg {{ max-width: 100%; height: auto; }}
.charts {{ display: flex; flex-wrap: wrap; gap: 1em; }} .charts svg {{ flex: 1 1 18em; max-width: 30em; }}
tr.silent td, tr.disabled td, tr.audit_alarm td {{ background: #fde2e2; }} tr.backlogged td {{ background: #fff3cd; }}
.error {{ color: #b00020; }} small {{ color: #555; }} form {{ margin: 1em 0; }} input {{ font: inherit; }}
</style></head>
<body>
<h1>shelftalk HQ</h1>
{notice}<form method="get" action="/" id="range">
<label>From <input type="date" name="from" value="{from}"></label>
<label>to <input type="date" name="to" value="{to}"></label>
<button type="submit">Show</button> <small>{ndays} days; everything below is for this range.</small>
</form>
<p><span data-metric="impressions">{imp}</span> impressions, <span data-metric="taps">{taps}</span> taps,
<span data-metric="conversions">{conv}</span> conversions, {kiosks} kiosks.</p>

<h2>Does personalisation pay?</h2>
<p>Personalised picks and copy against the holdout (a share of sessions shown the store's popular
picks with template copy), and each experiment arm against its control. {method}.
<a href="/v1/reports/lift?{q}&amp;format=csv">CSV</a> · <a href="/v1/reports/lift?{q}&amp;by=day&amp;format=csv">by day (CSV)</a></p>
{lift_section}

<h2>Trend by day and arm</h2>
<div class="charts">
{c_imp}
{c_ctr}
{c_cvr}
</div>
<p><a href="/v1/reports/feedback?group_by=day,arm&amp;{q}&amp;format=csv">The numbers (CSV)</a></p>

<h2>Stores</h2>
<div class="scroll"><table><tr><th>store</th><th>impressions</th><th>taps</th><th>CTR</th><th>conversions</th><th>CVR</th><th>CTR lift of personalisation</th></tr>
{store_rows}</table></div>
<p><a href="/v1/reports/feedback?group_by=store&amp;{q}&amp;format=csv">CSV</a> · <a href="/v1/reports/lift?by=store&amp;{q}&amp;format=csv">lift by store (CSV)</a></p>

<h2>Click-through by style and segment</h2>
<p>Bars: click-through rate; whiskers: 95&nbsp;% credible interval (Beta posterior).</p>
<div class="charts">
{c1}
{c2}
</div>
<p><a href="/v1/reports/feedback?group_by=style&amp;{q}&amp;format=csv">by style (CSV)</a> · <a href="/v1/reports/feedback?group_by=segment,style&amp;{q}&amp;format=csv">by segment and style (CSV)</a></p>

<h2>Fleet</h2>
<p>Health: <span data-metric="health">{health}</span>. Versions: {versions}. <a href="/v1/kiosks">JSON</a></p>
<div class="scroll"><table><tr><th>store</th><th>kiosk</th><th>health</th><th>last seen</th><th>last seq</th><th>backlog</th><th>dropped batches</th><th>audit log head</th><th>version</th></tr>
{fleet_rows}</table></div>
<p>API: <a href="/openapi.json">/openapi.json</a></p>
<form method="post" action="/logout"><button type="submit">Sign out</button></form>
</body></html>
"#,
        from = d.from,
        to = d.to,
        ndays = days.len(),
        imp = t.impressions,
        taps = t.taps,
        conv = t.conversions,
        kiosks = d.fleet.len(),
        method = esc(d.lift.method),
        c_imp = line_chart("Impressions per day", &days, &impressions, false),
        c_ctr = line_chart("Click-through per day", &days, &ctr, true),
        c_cvr = line_chart("Conversion per day", &days, &cvr, true),
        c1 = ctr_chart("CTR by style", &style_rows),
        c2 = ctr_chart("CTR by segment · style", &seg_rows),
        health = summary(&health),
        versions = summary(&versions),
    )
}

/// The fleet table's audit column: the last head, and the latest alarm if any.
fn audit_cell(k: &KioskRecord, now: i64) -> String {
    let Some(a) = &k.audit else {
        return "no head reported".into();
    };
    let short = |h: &str| h.get(..12).unwrap_or(h).to_string();
    let mut text = format!(
        "seq {} ({}), {} min ago",
        a.head_seq,
        short(&a.head_hash),
        (now - a.received_at).max(0) / 60
    );
    if !a.chain_intact {
        text.push_str("; chain broken on the kiosk");
    }
    if let Some(last) = &a.last_alarm {
        text.push_str(&format!(
            "; {} alarm(s) ({} open), last: {} at report {} (seq {} after {})",
            a.alarms,
            a.open_alarms,
            last.verdict.as_str(),
            last.report_seq,
            last.head_seq,
            last.previous_seq
                .map_or_else(|| "none".to_string(), |s| s.to_string()),
        ));
    }
    text
}

/// The range the form asked for: `from`/`to` as `YYYY-MM-DD`, either may be empty; the default
/// is the [`DEFAULT_DAYS`] days up to `today`. A malformed or reversed range gives the default
/// with a notice saying why.
pub fn range(from: Option<&str>, to: Option<&str>, today: Day) -> (Day, Day, Option<String>) {
    let parse = |name: &str, v: Option<&str>| -> Result<Option<Day>, String> {
        match v.map(str::trim).filter(|v| !v.is_empty()) {
            None => Ok(None),
            Some(text) => Day::parse(text)
                .map(Some)
                .ok_or_else(|| format!("{name} {text:?} is not a YYYY-MM-DD date")),
        }
    };
    let default = (Day(today.0 - (DEFAULT_DAYS - 1)), today);
    match (parse("from", from), parse("to", to)) {
        (Ok(f), Ok(t)) => {
            let to = t.unwrap_or(today);
            let from = f.unwrap_or(Day(to.0 - (DEFAULT_DAYS - 1)));
            if from > to {
                (
                    default.0,
                    default.1,
                    Some(format!(
                        "from {from} is after to {to}: showing the last {DEFAULT_DAYS} days"
                    )),
                )
            } else if to.0 - from.0 > 3_660 {
                (
                    default.0,
                    default.1,
                    Some("a range of more than ten years: showing the last 28 days".into()),
                )
            } else {
                (from, to, None)
            }
        }
        (Err(e), _) | (_, Err(e)) => (
            default.0,
            default.1,
            Some(format!("{e}: showing the last {DEFAULT_DAYS} days")),
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_range_defaults_to_four_weeks_and_explains_a_bad_one() {
        let today = Day(20_000);
        assert_eq!(range(None, None, today), (Day(19_973), today, None));
        assert_eq!(range(Some(""), Some(" "), today).2, None);
        let (f, t, n) = range(Some("2024-01-10"), Some("2024-01-02"), today);
        assert_eq!((f, t), (Day(19_973), today));
        assert!(n.is_some_and(|n| n.contains("after")));
        let (_, _, n) = range(Some("<script>"), None, today);
        assert!(n.is_some_and(|n| n.contains("not a YYYY-MM-DD")));
        let only_to = range(None, Some("2024-03-31"), today);
        assert_eq!(only_to.1.to_string(), "2024-03-31");
        assert_eq!(only_to.1 .0 - only_to.0 .0, DEFAULT_DAYS - 1);
    }

    #[test]
    fn a_line_chart_breaks_at_missing_days_and_escapes_names() {
        let days: Vec<Day> = (0..3).map(Day).collect();
        let svg = line_chart(
            "t",
            &days,
            &[("<arm>".into(), vec![Some(1.0), None, Some(2.0)])],
            false,
        );
        assert_eq!(svg.matches('M').count(), 2, "{svg}");
        assert!(svg.contains("&lt;arm&gt;") && !svg.contains("<arm>"));
    }
}
