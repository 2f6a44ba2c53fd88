//! The dashboard page (server-rendered HTML with inline SVG charts, no external assets), the
//! fleet status document and the OpenAPI description.
//!
//! Invariants: every value from the database is HTML-escaped; the page loads nothing else.

use serde_json::{json, Value};

use super::report::{Report, ReportRow};
use super::store::KioskRecord;

/// A kiosk is silent when HQ has not heard from it for this long.
pub const SILENT_AFTER_SECS: i64 = 24 * 3600;
/// A kiosk is backlogged when it reported more outbox batches than this.
pub const BACKLOGGED_ABOVE: u64 = 10;

fn health(k: &KioskRecord, now: i64) -> &'static str {
    if !k.enabled {
        "disabled"
    } else if k.audit.as_ref().is_some_and(|a| a.open_alarms > 0) {
        // Its technician audit log was rewritten (and nobody has acknowledged it yet): that
        // outranks being quiet or behind.
        "audit_alarm"
    } else if k.last_seen.is_none_or(|t| now - t > SILENT_AFTER_SECS) {
        "silent"
    } else if k.backlog > BACKLOGGED_ABOVE {
        "backlogged"
    } else {
        "ok"
    }
}

/// `GET /v1/kiosks`.
pub fn fleet_json(kiosks: &[KioskRecord], now: i64) -> Value {
    let list: Vec<Value> = kiosks
        .iter()
        .map(|k| {
            let mut v = serde_json::to_value(k).unwrap_or(Value::Null);
            if let Value::Object(m) = &mut v {
                m.insert("health".into(), json!(health(k, now)));
            }
            v
        })
        .collect();
    json!({ "now": now, "kiosks": list })
}

fn esc(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
        .replace('\'', "&#39;")
}

const PALETTE: [&str; 4] = ["#4e79a7", "#f28e2b", "#59a14f", "#e15759"];

/// A horizontal bar chart of CTR with credible-interval whiskers.
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
        r#"<svg xmlns="http://www.w3.org/2000/svg" width="{w}" height="{height}" role="img" aria-label="{t}">
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

/// The dashboard page.
pub fn render(
    by_style: &Report,
    by_segment_style: &Report,
    fleet: &[KioskRecord],
    now: i64,
) -> String {
    let style_rows: Vec<(String, &ReportRow)> = by_style
        .rows
        .iter()
        .map(|r| (r.group.dims.join(" "), r))
        .collect();
    let seg_rows: Vec<(String, &ReportRow)> = by_segment_style
        .rows
        .iter()
        .map(|r| (r.group.dims.join(" · "), r))
        .collect();
    let mut fleet_rows = String::new();
    for k in fleet {
        fleet_rows.push_str(&format!(
            "<tr class=\"{h}\"><td>{store}</td><td>{kiosk}</td><td>{h}</td><td>{seen}</td><td>{seq}</td><td>{backlog}</td><td>{dropped}</td><td>{audit}</td><td>{ver}</td></tr>",
            audit = esc(&audit_cell(k, now)),
            h = health(k, now),
            store = esc(&k.store_id),
            kiosk = esc(&k.kiosk_id),
            seen = k
                .last_seen
                .map(|t| format!("{} min ago", (now - t).max(0) / 60))
                .unwrap_or_else(|| "never".into()),
            seq = k.last_seq,
            backlog = k.backlog,
            dropped = k.dropped.batches,
            ver = esc(k.software.as_deref().unwrap_or("-")),
        ));
    }
    let t = &by_style.totals;
    format!(
        r#"<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>shelftalk HQ</title>
<style>
body {{ font-family: system-ui, sans-serif; margin: 2em; color: #222; }}
table {{ border-collapse: collapse; }} td, th {{ border: 1px solid #ccc; padding: 4px 8px; }}
tr.silent td, tr.disabled td, tr.audit_alarm td {{ background: #fde2e2; }} tr.backlogged td {{ background: #fff3cd; }}
</style></head>
<body>
<h1>shelftalk HQ</h1>
<p>{imp} impressions, {taps} taps, {conv} conversions from {kiosks} kiosks. Bars: click-through rate;
whiskers: 95&nbsp;% credible interval (Beta posterior).</p>
<h2>CTR by style</h2>
{c1}
<h2>CTR by segment and style</h2>
{c2}
<h2>Fleet</h2>
<table><tr><th>store</th><th>kiosk</th><th>health</th><th>last seen</th><th>last seq</th><th>backlog</th><th>dropped batches</th><th>audit log head</th><th>version</th></tr>
{fleet_rows}</table>
<p>API: <a href="/openapi.json">/openapi.json</a></p>
</body></html>
"#,
        imp = t.impressions,
        taps = t.taps,
        conv = t.conversions,
        kiosks = fleet.len(),
        c1 = ctr_chart("CTR by style", &style_rows),
        c2 = ctr_chart("CTR by segment · style", &seg_rows),
    )
}

/// `GET /openapi.json`.
pub fn openapi() -> Value {
    let error = json!({ "$ref": "#/components/schemas/Error" });
    let err = |d: &str| json!({ "description": d, "content": { "application/json": { "schema": error } } });
    let bearer = json!([{ "bearer": [] }]);
    json!({
        "openapi": "3.0.3",
        "info": { "title": "shelftalk HQ", "version": env!("CARGO_PKG_VERSION"),
                  "description": "Anonymised, aggregated kiosk feedback: ingest, reports, fleet status and priors." },
        "components": {
            "securitySchemes": {
                "bearer": { "type": "http", "scheme": "bearer", "description": "Analyst token from `shelftalk hq token create`." },
                "kioskSignature": { "type": "apiKey", "in": "header", "name": "X-Shelftalk-Signature",
                    "description": "Hex Ed25519 signature by the kiosk's enrolled device key (with X-Shelftalk-Kiosk and X-Shelftalk-Time for /v1/priors)." }
            },
            "schemas": {
                "Error": { "type": "object", "required": ["error"], "properties": { "error": {
                    "type": "object", "required": ["code", "message"],
                    "properties": { "code": { "type": "string" }, "message": { "type": "string" } } } } },
                "Ack": { "type": "object", "description": "Signed by HQ's key: X-Shelftalk-Hq-Signature over the exact body (see README).", "properties": {
                    "status": { "type": "string", "enum": ["accepted", "duplicate"] }, "kiosk_id": { "type": "string" },
                    "batch_id": { "type": "string" }, "seq": { "type": "integer" } } },
                "Counts": { "type": "object", "properties": {
                    "impressions": { "type": "integer" }, "taps": { "type": "integer" },
                    "thumbs_up": { "type": "integer" }, "thumbs_down": { "type": "integer" },
                    "whys": { "type": "integer" }, "opt_outs": { "type": "integer" },
                    "dwells": { "type": "integer" }, "dwell_ms": { "type": "integer" },
                    "conversions": { "type": "integer" } } },
                "Cell": { "type": "object", "properties": {
                    "day": { "type": "string", "format": "date" }, "sku": { "type": "string" },
                    "style": { "type": "string", "enum": ["concise", "playful", "premium", "value"] },
                    "segment": { "type": "string" }, "content_kind": { "type": "string" },
                    "sessions": { "type": "integer" }, "counts": { "$ref": "#/components/schemas/Counts" },
                    "ipw": { "type": "object", "properties": { "impressions": { "type": "number" },
                        "taps": { "type": "number" }, "conversions": { "type": "number" } } } } },
                "AuditHead": { "type": "object", "description": "Version 1 audit head report; the body bytes are what is signed.",
                    "properties": { "version": { "type": "integer", "enum": [1] }, "kiosk_id": { "type": "string" },
                        "store_id": { "type": "string" }, "report_seq": { "type": "integer", "description": "strictly increasing per kiosk" },
                        "head_seq": { "type": "integer" }, "head_hash": { "type": "string", "description": "64 lower-case hex" },
                        "chain_intact": { "type": "boolean" } } },
                "AuditHeadAck": { "type": "object", "description": "Signed by HQ's key: X-Shelftalk-Hq-Signature over the exact body (see README).", "properties": {
                    "status": { "type": "string", "enum": ["recorded", "duplicate"] }, "kiosk_id": { "type": "string" }, "report_seq": { "type": "integer" },
                    "verdict": { "type": "string", "enum": ["advanced", "unchanged", "regressed", "forked", "broken"] } } },
                "Batch": { "type": "object", "description": "Version 1 batch document; the body bytes are what is signed.",
                    "properties": { "version": { "type": "integer", "enum": [1] }, "batch_id": { "type": "string", "format": "uuid" },
                        "kiosk_id": { "type": "string" }, "store_id": { "type": "string" }, "seq": { "type": "integer" },
                        "created_day": { "type": "string", "format": "date" }, "software": { "type": "string" },
                        "k_anonymity": { "type": "integer" }, "noise_epsilon": { "type": "number" },
                        "dropped": { "type": "object" },
                        "cells": { "type": "array", "items": { "$ref": "#/components/schemas/Cell" } } } }
            }
        },
        "paths": {
            "/v1/batches": { "post": {
                "summary": "Ingest a signed feedback batch from a kiosk",
                "security": [{ "kioskSignature": [] }],
                "parameters": [{ "name": "X-Shelftalk-Backlog", "in": "header", "schema": { "type": "integer" } }],
                "requestBody": { "required": true, "content": { "application/json": { "schema": { "$ref": "#/components/schemas/Batch" } } } },
                "responses": {
                    "200": { "description": "accepted, or duplicate of a batch already received", "content": { "application/json": { "schema": { "$ref": "#/components/schemas/Ack" } } } },
                    "400": err("malformed JSON"), "401": err("missing or bad signature"),
                    "403": err("unknown or disabled kiosk, store mismatch"), "409": err("replay, sequence regression or batch id conflict"),
                    "413": err("body too large"), "422": err("document fields invalid") } } },
            "/v1/audit-heads": { "post": {
                "summary": "Record a kiosk's signed technician audit-log head; a head that went backwards, changed at the same seq or whose chain the kiosk finds broken raises an alarm on the kiosk",
                "security": [{ "kioskSignature": [] }],
                "requestBody": { "required": true, "content": { "application/json": { "schema": { "$ref": "#/components/schemas/AuditHead" } } } },
                "responses": {
                    "200": { "description": "recorded with a verdict, or duplicate of the last report", "content": { "application/json": { "schema": { "$ref": "#/components/schemas/AuditHeadAck" } } } },
                    "400": err("malformed JSON"), "401": err("missing or bad signature"),
                    "403": err("unknown or disabled kiosk, store mismatch"), "409": err("stale report (number not above the last)"),
                    "413": err("body too large"), "422": err("document fields invalid") } } },
            "/v1/reports/feedback": { "get": {
                "summary": "Feedback report with rates, 95% Beta credible intervals and inverse-propensity estimates per style",
                "security": bearer,
                "parameters": [
                    { "name": "from", "in": "query", "schema": { "type": "string", "format": "date" } },
                    { "name": "to", "in": "query", "schema": { "type": "string", "format": "date" } },
                    { "name": "group_by", "in": "query", "description": "comma-separated: store, kiosk, sku, style, segment, content_kind, day (default style)", "schema": { "type": "string" } },
                    { "name": "format", "in": "query", "schema": { "type": "string", "enum": ["json", "csv"] } } ],
                "responses": { "200": { "description": "the report (JSON or CSV)" }, "400": err("bad query"), "401": err("missing or bad token") } } },
            "/v1/kiosks": { "get": { "summary": "Fleet status: last seen, last sequence, reported backlog, version, audit-log head and alarms, health",
                "security": bearer, "responses": { "200": { "description": "fleet" }, "401": err("missing or bad token") } } },
            "/v1/priors": { "get": { "summary": "Beta priors per segment × style from fleet data, for kiosk bandits",
                "security": [{ "kioskSignature": [] }, { "bearer": [] }],
                "responses": { "200": { "description": "priors" }, "401": err("bad signature or token"), "403": err("unknown or disabled kiosk") } } },
            "/": { "get": { "summary": "Dashboard (HTML with inline SVG charts); token via bearer or ?token=", "security": bearer,
                "responses": { "200": { "description": "HTML page" } } } },
            "/openapi.json": { "get": { "summary": "This document", "responses": { "200": { "description": "OpenAPI 3" } } } },
            "/healthz": { "get": { "summary": "Liveness", "responses": { "200": { "description": "ok" } } } }
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_markup() {
        assert_eq!(esc("<a href='x'>&"), "&lt;a href=&#39;x&#39;&gt;&amp;");
    }
}
