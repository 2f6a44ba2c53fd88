//! The technician console's view. Invariant: the PIN and a loyalty number being typed show as
//! `*` only.

use std::time::Duration;

use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Paragraph, Tabs};
use ratatui::Frame;
use tracing::Level;

use super::{accent, base, bordered, frame_parts, inverse, popup, wrapped};
use crate::ui::console::{ActionKind, ActionStep, Auth, State, StatusView, Tab};
use crate::ui::text::sanitize;

/// Draws the console: the PIN screen until unlocked, then the tabs.
pub fn draw_console(frame: &mut Frame, state: &State) {
    if !state.is_unlocked() {
        return draw_pin(frame, state);
    }
    let (header, body) = frame_parts(
        frame,
        Line::raw(""),
        Line::raw(format!(" {}", hints(state))),
    );
    let titles = Tab::ALL
        .iter()
        .enumerate()
        .map(|(i, t)| format!("{} {}", i + 1, t.title()));
    let tabs = Tabs::new(titles)
        .select(state.tab.index())
        .style(inverse())
        .highlight_style(base())
        .divider("│");
    frame.render_widget(tabs, header);
    let block = bordered(format!(" {} ", state.tab.title()), false);
    let inner = block.inner(body);
    frame.render_widget(block, body);
    match state.tab {
        Tab::Status => draw_status(frame, inner, state.status.as_ref()),
        Tab::Logs => draw_logs(frame, inner, state),
        Tab::Content => draw_content(frame, inner, state),
        Tab::Actions => draw_actions(frame, inner, state),
        Tab::Config => {
            let lines: Vec<Line> = state
                .config
                .iter()
                .map(|c| key_value(&sanitize(&c.key), sanitize(&c.value), 28))
                .collect();
            frame.render_widget(Paragraph::new(lines).style(base()), inner);
        }
    }
}

fn hints(state: &State) -> &'static str {
    match (state.tab, &state.action_step) {
        (Tab::Logs, _) => "l level · ↑/↓ scroll · Tab/1-5 switch · q quit",
        (Tab::Actions, ActionStep::EnteringLoyalty(_)) => "Enter continue · Esc cancel",
        (Tab::Actions, ActionStep::Confirm { .. }) => "y confirm · n or Esc cancel",
        (Tab::Actions, _) => "↑/↓ choose · Enter run · Tab/1-5 switch · q quit",
        _ => "Tab/Shift-Tab or 1-5 switch tabs · q quit",
    }
}

fn draw_pin(frame: &mut Frame, state: &State) {
    let (_, body) = frame_parts(
        frame,
        Line::raw(" shelftalk console"),
        Line::raw(" digits then Enter · Esc quit"),
    );
    let (masked, message) = match &state.auth {
        Auth::Entering { pin, wrong } => (
            "*".repeat(pin.len()),
            if *wrong {
                "Wrong PIN. Try again."
            } else {
                "Enter the technician PIN."
            }
            .to_owned(),
        ),
        Auth::Checking => (String::new(), "Checking…".to_owned()),
        Auth::Locked { until } => (
            String::new(),
            format!(
                "Too many wrong PINs. Locked for {}.",
                short_duration(until.saturating_duration_since(state.now))
            ),
        ),
        Auth::Unlocked => (String::new(), String::new()),
    };
    let lines = vec![
        Line::raw(message),
        Line::raw(""),
        Line::from(vec![Span::raw("PIN: "), Span::styled(masked, accent())]),
    ];
    let width = body.width.saturating_sub(4).min(50);
    let inner = popup(frame, body, width, 7, bordered(" Technician PIN ", true));
    frame.render_widget(wrapped(lines), inner);
}

fn key_value<'a>(key: &str, value: String, width: usize) -> Line<'a> {
    Line::from(vec![
        Span::styled(format!("{key:<width$}"), accent()),
        Span::raw(value),
    ])
}

fn draw_status(frame: &mut Frame, area: Rect, status: Option<&StatusView>) {
    let Some(s) = status else {
        frame.render_widget(wrapped(vec![Line::raw("Waiting for the daemon…")]), area);
        return;
    };
    let or_dash = |v: Option<String>| v.unwrap_or_else(|| "—".to_owned());
    let joined = |pairs: &[(String, u64)]| {
        let parts: Vec<String> = pairs
            .iter()
            .map(|(k, v)| format!("{} {v}", sanitize(k)))
            .collect();
        if parts.is_empty() {
            "—".to_owned()
        } else {
            parts.join(" · ")
        }
    };
    // "to template: 3 (budget) · 1 (deadline)".
    let fell_back = |pairs: &[(String, u64)]| {
        let parts: Vec<String> = pairs
            .iter()
            .map(|(k, v)| format!("{v} ({})", sanitize(k)))
            .collect();
        format!("to template: {}", parts.join(" · "))
    };
    let hash: String = sanitize(&s.model_hash).chars().take(12).collect();
    let rows = [
        ("Model", sanitize(&s.model_name)),
        ("Model hash", hash),
        ("Load state", sanitize(&s.model_state)),
        (
            "Tokens/s",
            or_dash(s.tokens_per_sec.map(|t| format!("{t:.1}"))),
        ),
        (
            "Copy cache hit rate",
            or_dash(s.cache_hit_rate.map(|r| format!("{:.1} %", r * 100.0))),
        ),
        ("Guardrail verdicts", joined(&s.verdicts)),
        ("Copy fell back", fell_back(&s.copy_fallbacks)),
        (
            "Copy latency",
            or_dash(s.copy_latency.map(|l| {
                format!(
                    "p50 {:.0} ms · p99 {:.0} ms (last {} of {})",
                    l.p50_ms, l.p99_ms, l.samples, l.answered
                )
            })),
        ),
        ("Database size", bytes(s.db_bytes)),
        ("Database rows", joined(&s.db_counts)),
        (
            "Sync backlog",
            or_dash(s.sync_backlog.map(|b| format!("{b} batches"))),
        ),
        ("Disk free", or_dash(s.disk_free_bytes.map(bytes))),
        (
            "Storage",
            s.storage_alarm
                .as_deref()
                .map_or_else(|| "ok".to_owned(), sanitize),
        ),
        (
            "Feedback in memory",
            format!(
                "{} waiting · {} dropped",
                s.feedback_waiting, s.feedback_dropped
            ),
        ),
        ("Uptime", long_duration(s.uptime)),
        (
            "CPU temperature",
            s.cpu_temp_celsius.map_or_else(
                || "not exposed by this board".to_owned(),
                |t| format!("{t:.1} °C"),
            ),
        ),
    ];
    let lines: Vec<Line> = rows.into_iter().map(|(k, v)| key_value(k, v, 22)).collect();
    frame.render_widget(Paragraph::new(lines).style(base()), area);
}

fn level_name(level: Level) -> &'static str {
    match level {
        Level::ERROR => "ERROR",
        Level::WARN => "WARN",
        Level::INFO => "INFO",
        Level::DEBUG => "DEBUG",
        Level::TRACE => "TRACE",
    }
}

/// A log line's target without the crate's own prefix (`copy::engine`), leaving room for the
/// message beside the date; another crate's target stays whole.
fn log_component(target: &str) -> &str {
    target.strip_prefix("shelftalk::").unwrap_or(target)
}

fn draw_logs(frame: &mut Frame, area: Rect, state: &State) {
    let [filter, list] = Layout::vertical([Constraint::Length(1), Constraint::Min(0)]).areas(area);
    let showing = if state.log_level == Level::TRACE {
        "Showing every level".to_owned()
    } else {
        format!("Showing {} and more severe", level_name(state.log_level))
    };
    frame.render_widget(Paragraph::new(showing).style(accent()), filter);
    let rows = usize::from(list.height);
    let mut lines: Vec<Line> = state
        .visible_logs()
        .rev()
        .skip(state.log_scroll)
        .take(rows)
        .map(|l| {
            let style = if l.level <= Level::WARN {
                accent()
            } else {
                base()
            };
            Line::from(vec![
                Span::raw(format!("{} ", sanitize(&l.at))),
                Span::styled(format!("{:<5} ", level_name(l.level)), style),
                Span::raw(format!(
                    "{}: {}",
                    sanitize(log_component(&l.target)),
                    sanitize(&l.message)
                )),
            ])
        })
        .collect();
    lines.reverse();
    frame.render_widget(Paragraph::new(lines).style(base()), list);
}

fn draw_content(frame: &mut Frame, area: Rect, state: &State) {
    let mut lines = Vec::new();
    for c in state.content.iter().rev() {
        lines.push(Line::from(vec![
            Span::styled(
                format!("{} {} ", sanitize(&c.at), sanitize(&c.sku)),
                accent(),
            ),
            Span::raw(format!(
                "style {} · source {} · verdict {}",
                sanitize(&c.style),
                sanitize(&c.source),
                sanitize(&c.verdict)
            )),
        ]));
        lines.push(Line::raw(format!("  {}", sanitize(&c.text))));
        if lines.len() >= usize::from(area.height) {
            break;
        }
    }
    if lines.is_empty() {
        lines.push(Line::raw("No copy written yet."));
    }
    frame.render_widget(Paragraph::new(lines).style(base()), area);
}

fn draw_actions(frame: &mut Frame, area: Rect, state: &State) {
    let n = ActionKind::ALL.len() as u16;
    let [list, step] =
        Layout::vertical([Constraint::Length(n + 1), Constraint::Min(0)]).areas(area);
    let items: Vec<Line> = ActionKind::ALL
        .iter()
        .enumerate()
        .map(|(i, a)| {
            if i == state.action_selected {
                Line::styled(format!("▶ {}", a.title()), accent())
            } else {
                Line::raw(format!("  {}", a.title()))
            }
        })
        .collect();
    frame.render_widget(Paragraph::new(items).style(base()), list);

    let mut lines = match &state.action_step {
        ActionStep::Choosing => vec![Line::raw("Choose an action and press Enter.")],
        ActionStep::EnteringLoyalty(field) => vec![
            Line::raw("Loyalty number of the shopper to erase:"),
            Line::styled("*".repeat(field.len()), accent()),
        ],
        ActionStep::Confirm { kind, loyalty } => {
            let what = match loyalty {
                Some(l) => format!(
                    "Erase the shopper with loyalty number {} ({} characters)? This cannot be undone.",
                    "*".repeat(l.len()),
                    l.len()
                ),
                None => format!("{} now?", kind.title()),
            };
            vec![
                Line::styled(what, accent()),
                Line::raw("Press y to confirm, n to cancel."),
            ]
        }
        ActionStep::Running(kind) => vec![Line::raw(format!("{}: running…", kind.title()))],
    };
    if let Some(o) = &state.last_outcome {
        let mark = if o.ok { "✓" } else { "✗" };
        lines.push(Line::raw(""));
        lines.push(Line::raw(format!(
            "{mark} {}: {}",
            o.kind.title(),
            sanitize(&o.message)
        )));
    }
    frame.render_widget(wrapped(lines), step);
}

/// `1536` → `"1.5 KiB"`.
fn bytes(n: u64) -> String {
    const UNITS: [&str; 5] = ["B", "KiB", "MiB", "GiB", "TiB"];
    let mut value = n as f64;
    let mut unit = 0;
    while value >= 1024.0 && unit + 1 < UNITS.len() {
        value /= 1024.0;
        unit += 1;
    }
    let name = UNITS.get(unit).copied().unwrap_or("B");
    if unit == 0 {
        format!("{n} B")
    } else {
        format!("{value:.1} {name}")
    }
}

/// `93784 s` → `"1d 02:03:04"`.
fn long_duration(d: Duration) -> String {
    let s = d.as_secs();
    let (days, h, m, sec) = (s / 86_400, s / 3_600 % 24, s / 60 % 60, s % 60);
    if days > 0 {
        format!("{days}d {h:02}:{m:02}:{sec:02}")
    } else {
        format!("{h:02}:{m:02}:{sec:02}")
    }
}

/// `299 s` → `"4m 59s"`.
fn short_duration(d: Duration) -> String {
    let s = d.as_secs();
    if s >= 60 {
        format!("{}m {:02}s", s / 60, s % 60)
    } else {
        format!("{s}s")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats() {
        assert_eq!(bytes(512), "512 B");
        assert_eq!(bytes(1536), "1.5 KiB");
        assert_eq!(bytes(3 * 1024 * 1024 * 1024), "3.0 GiB");
        assert_eq!(long_duration(Duration::from_secs(93_784)), "1d 02:03:04");
        assert_eq!(long_duration(Duration::from_secs(61)), "00:01:01");
        assert_eq!(short_duration(Duration::from_secs(299)), "4m 59s");
        assert_eq!(short_duration(Duration::from_secs(9)), "9s");
    }
}
