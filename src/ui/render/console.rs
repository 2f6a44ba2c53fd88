//! The technician console's view, in the words of the console's locale ([`crate::i18n`]).
//! Invariant: the PIN and a loyalty number being typed show as `*` only.

use std::time::Duration;

use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Paragraph, Tabs};
use ratatui::Frame;
use tracing::Level;

use super::{accent, base, bordered, frame_parts, inverse, popup, wrapped};
use crate::i18n::{messages, Messages};
use crate::ui::console::{ActionKind, ActionStep, Auth, State, StatusView, Tab};
use crate::ui::text::{pad_to_width, sanitize};

/// Draws the console: the PIN screen until unlocked, then the tabs.
pub fn draw_console(frame: &mut Frame, state: &State) {
    let t = messages(state.locale);
    if !state.is_unlocked() {
        return draw_pin(frame, state, t);
    }
    let (header, body) = frame_parts(
        frame,
        Line::raw(""),
        Line::raw(format!(" {}", t.get(hints(state)))),
    );
    let titles = Tab::ALL
        .iter()
        .enumerate()
        .map(|(i, tab)| format!("{} {}", i + 1, t.get(tab.title_id())));
    let tabs = Tabs::new(titles)
        .select(state.tab.index())
        .style(inverse())
        .highlight_style(base())
        .divider("│");
    frame.render_widget(tabs, header);
    let block = bordered(format!(" {} ", t.get(state.tab.title_id())), false);
    let inner = block.inner(body);
    frame.render_widget(block, body);
    match state.tab {
        Tab::Status => draw_status(frame, inner, state.status.as_ref(), t),
        Tab::Logs => draw_logs(frame, inner, state, t),
        Tab::Content => draw_content(frame, inner, state, t),
        Tab::Actions => draw_actions(frame, inner, state, t),
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

/// The message id of the footer's key hints.
fn hints(state: &State) -> &'static str {
    match (state.tab, &state.action_step) {
        (Tab::Logs, _) => "console-hint-logs",
        (Tab::Actions, ActionStep::EnteringLoyalty(_)) => "console-hint-loyalty",
        (Tab::Actions, ActionStep::Confirm { .. }) => "console-hint-confirm",
        (Tab::Actions, _) => "console-hint-actions",
        _ => "console-hint-tabs",
    }
}

fn draw_pin(frame: &mut Frame, state: &State, t: &Messages) {
    let (_, body) = frame_parts(
        frame,
        Line::raw(format!(" {}", t.get("console-pin-header"))),
        Line::raw(format!(" {}", t.get("console-pin-hint"))),
    );
    let (masked, message) = match &state.auth {
        Auth::Entering { pin, wrong } => (
            "*".repeat(pin.len()),
            t.get(if *wrong {
                "console-pin-wrong"
            } else {
                "console-pin-enter"
            }),
        ),
        Auth::Checking => (String::new(), t.get("console-pin-checking")),
        Auth::Locked { until } => (
            String::new(),
            t.with(
                "console-locked",
                &[(
                    "wait",
                    (&short_duration(until.saturating_duration_since(state.now), t)).into(),
                )],
            ),
        ),
        Auth::Unlocked => (String::new(), String::new()),
    };
    let lines = vec![
        Line::raw(message),
        Line::raw(""),
        Line::from(vec![
            Span::raw(format!("{} ", t.get("console-pin-label"))),
            Span::styled(masked, accent()),
        ]),
    ];
    let width = body.width.saturating_sub(4).min(50);
    let title = format!(" {} ", t.get("console-pin-title"));
    let inner = popup(frame, body, width, 7, bordered(title, true));
    frame.render_widget(wrapped(lines), inner);
}

/// A label padded to `width` display columns, then its value.
fn key_value<'a>(key: &str, value: String, width: usize) -> Line<'a> {
    Line::from(vec![
        Span::styled(pad_to_width(key, width), accent()),
        Span::raw(value),
    ])
}

fn draw_status(frame: &mut Frame, area: Rect, status: Option<&StatusView>, t: &Messages) {
    let Some(s) = status else {
        frame.render_widget(wrapped(vec![Line::raw(t.get("console-waiting"))]), area);
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
        t.with(
            "console-to-template",
            &[("counts", (&parts.join(" · ")).into())],
        )
    };
    let hash: String = sanitize(&s.model_hash).chars().take(12).collect();
    let rows = [
        ("console-status-model", sanitize(&s.model_name)),
        ("console-status-model-hash", hash),
        ("console-status-load-state", sanitize(&s.model_state)),
        (
            "console-status-tokens",
            or_dash(s.tokens_per_sec.map(|t| format!("{t:.1}"))),
        ),
        (
            "console-status-cache-hit",
            or_dash(s.cache_hit_rate.map(|r| format!("{:.1} %", r * 100.0))),
        ),
        ("console-status-verdicts", joined(&s.verdicts)),
        ("console-status-fell-back", fell_back(&s.copy_fallbacks)),
        (
            "console-status-latency",
            or_dash(s.copy_latency.map(|l| {
                t.with(
                    "console-latency",
                    &[
                        ("p50", (&format!("{:.0}", l.p50_ms)).into()),
                        ("p99", (&format!("{:.0}", l.p99_ms)).into()),
                        ("samples", (&l.samples.to_string()).into()),
                        ("answered", (&l.answered.to_string()).into()),
                    ],
                )
            })),
        ),
        ("console-status-db-size", bytes(s.db_bytes)),
        ("console-status-db-rows", joined(&s.db_counts)),
        (
            "console-status-backlog",
            or_dash(
                s.sync_backlog
                    .map(|b| t.with("console-batches", &[("count", (&b.to_string()).into())])),
            ),
        ),
        (
            "console-status-disk-free",
            or_dash(s.disk_free_bytes.map(bytes)),
        ),
        (
            "console-status-storage",
            s.storage_alarm
                .as_deref()
                .map_or_else(|| t.get("console-storage-ok"), sanitize),
        ),
        (
            "console-status-feedback",
            t.with(
                "console-feedback-memory",
                &[
                    ("waiting", (&s.feedback_waiting.to_string()).into()),
                    ("dropped", (&s.feedback_dropped.to_string()).into()),
                ],
            ),
        ),
        ("console-status-uptime", long_duration(s.uptime, t)),
        (
            "console-status-cpu-temp",
            s.cpu_temp_celsius
                .map_or_else(|| t.get("console-no-cpu-temp"), |c| format!("{c:.1} °C")),
        ),
    ];
    let lines: Vec<Line> = rows
        .into_iter()
        .map(|(k, v)| key_value(&t.get(k), v, 22))
        .collect();
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

fn draw_logs(frame: &mut Frame, area: Rect, state: &State, t: &Messages) {
    let [filter, list] = Layout::vertical([Constraint::Length(1), Constraint::Min(0)]).areas(area);
    let showing = if state.log_level == Level::TRACE {
        t.get("console-logs-all")
    } else {
        t.with(
            "console-logs-from",
            &[("level", level_name(state.log_level).into())],
        )
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

fn draw_content(frame: &mut Frame, area: Rect, state: &State, t: &Messages) {
    let mut lines = Vec::new();
    for c in state.content.iter().rev() {
        lines.push(Line::from(vec![
            Span::styled(
                format!("{} {} ", sanitize(&c.at), sanitize(&c.sku)),
                accent(),
            ),
            Span::raw(t.with(
                "console-content-line",
                &[
                    ("style", (&sanitize(&c.style)).into()),
                    ("source", (&sanitize(&c.source)).into()),
                    ("verdict", (&sanitize(&c.verdict)).into()),
                ],
            )),
        ]));
        lines.push(Line::raw(format!("  {}", sanitize(&c.text))));
        if lines.len() >= usize::from(area.height) {
            break;
        }
    }
    if lines.is_empty() {
        lines.push(Line::raw(t.get("console-no-content")));
    }
    frame.render_widget(Paragraph::new(lines).style(base()), area);
}

fn draw_actions(frame: &mut Frame, area: Rect, state: &State, t: &Messages) {
    let title = |kind: ActionKind| t.get(kind.title_id());
    let n = ActionKind::ALL.len() as u16;
    let [list, step] =
        Layout::vertical([Constraint::Length(n + 1), Constraint::Min(0)]).areas(area);
    let items: Vec<Line> = ActionKind::ALL
        .iter()
        .enumerate()
        .map(|(i, a)| {
            if i == state.action_selected {
                Line::styled(format!("▶ {}", title(*a)), accent())
            } else {
                Line::raw(format!("  {}", title(*a)))
            }
        })
        .collect();
    frame.render_widget(Paragraph::new(items).style(base()), list);

    let mut lines = match &state.action_step {
        ActionStep::Choosing => vec![Line::raw(t.get("console-action-choose"))],
        ActionStep::EnteringLoyalty(field) => vec![
            Line::raw(t.get("console-erase-prompt")),
            Line::styled("*".repeat(field.len()), accent()),
        ],
        ActionStep::Confirm { kind, loyalty } => {
            let what = match loyalty {
                Some(l) => t.with(
                    "console-erase-confirm",
                    &[
                        ("masked", (&"*".repeat(l.len())).into()),
                        ("length", (&l.len().to_string()).into()),
                    ],
                ),
                None => t.with(
                    "console-action-confirm",
                    &[("action", (&title(*kind)).into())],
                ),
            };
            vec![
                Line::styled(what, accent()),
                Line::raw(t.get("console-confirm-keys")),
            ]
        }
        ActionStep::Running(kind) => vec![Line::raw(
            t.with("console-running", &[("action", (&title(*kind)).into())]),
        )],
    };
    if let Some(o) = &state.last_outcome {
        let mark = if o.ok { "✓" } else { "✗" };
        lines.push(Line::raw(""));
        lines.push(Line::raw(t.with(
            "console-outcome",
            &[
                ("mark", mark.into()),
                ("action", (&title(o.kind)).into()),
                ("message", (&sanitize(&o.message)).into()),
            ],
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

/// `93784 s` → `"1d 02:03:04"` (`"1天 02:03:04"`).
fn long_duration(d: Duration, t: &Messages) -> String {
    let s = d.as_secs();
    let (days, h, m, sec) = (s / 86_400, s / 3_600 % 24, s / 60 % 60, s % 60);
    let clock = format!("{h:02}:{m:02}:{sec:02}");
    if days > 0 {
        t.with(
            "console-uptime-days",
            &[
                ("days", (&days.to_string()).into()),
                ("clock", (&clock).into()),
            ],
        )
    } else {
        clock
    }
}

/// `299 s` → `"4m 59s"` (`"4分59秒"`).
fn short_duration(d: Duration, t: &Messages) -> String {
    let s = d.as_secs();
    if s >= 60 {
        t.with(
            "console-duration-min-sec",
            &[
                ("m", (&(s / 60).to_string()).into()),
                ("s", (&format!("{:02}", s % 60)).into()),
            ],
        )
    } else {
        t.with("console-duration-sec", &[("s", (&s.to_string()).into())])
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::locale::Locale;

    #[test]
    fn formats() {
        let en = messages(Locale::En);
        let zh = messages(Locale::ZhCn);
        assert_eq!(bytes(512), "512 B");
        assert_eq!(bytes(1536), "1.5 KiB");
        assert_eq!(bytes(3 * 1024 * 1024 * 1024), "3.0 GiB");
        assert_eq!(
            long_duration(Duration::from_secs(93_784), en),
            "1d 02:03:04"
        );
        assert_eq!(
            long_duration(Duration::from_secs(93_784), zh),
            "1天 02:03:04"
        );
        assert_eq!(long_duration(Duration::from_secs(61), en), "00:01:01");
        assert_eq!(short_duration(Duration::from_secs(299), en), "4m 59s");
        assert_eq!(short_duration(Duration::from_secs(299), zh), "4分59秒");
        assert_eq!(short_duration(Duration::from_secs(9), en), "9s");
    }
}
