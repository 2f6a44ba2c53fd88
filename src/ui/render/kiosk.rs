//! The shopper screen's view, in the words of the kiosk's locale ([`crate::i18n`]). Invariant:
//! shows nothing of the scan buffer but the fact that a code is being read, so a loyalty number is
//! never on screen.

use std::rc::Rc;

use ratatui::layout::{Constraint, Layout, Position, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Paragraph, Wrap};
use ratatui::Frame;

use super::{accent, base, body_area, bordered, frame_parts, popup, wrapped};
use crate::i18n::{messages, Messages};
use crate::ui::kiosk::{PickView, Scanned, Screen, Session, Shown, State, View, Vote, MAX_PICKS};
use crate::ui::text::sanitize;

/// Width from which picks stand side by side instead of stacked.
const WIDE: u16 = 120;

/// Draws the shopper screen.
pub fn draw_kiosk(frame: &mut Frame, state: &State) {
    let t = messages(state.locale());
    let (title, hints) = match &state.screen {
        Screen::Attract => ("kiosk-title-attract", Some("kiosk-hint-attract")),
        Screen::Goodbye { .. } => ("kiosk-title-goodbye", None),
        Screen::Session(s) => (session_title(s), Some(session_hints(s.view))),
    };
    let hints = hints.map(|id| t.get(id)).unwrap_or_default();
    let mut footer = vec![Span::raw(format!(" {hints}"))];
    if state.scan_len() > 0 {
        footer.push(Span::raw(format!("   {}", t.get("kiosk-reading-code"))));
    }
    let header = t.with("kiosk-header", &[("title", (&t.get(title)).into())]);
    let (_, body) = frame_parts(frame, Line::from(format!(" {header}")), Line::from(footer));
    match &state.screen {
        Screen::Attract => draw_attract(frame, body, state, t),
        Screen::Goodbye { .. } => draw_message(
            frame,
            body,
            t,
            "kiosk-goodbye-heading",
            &["kiosk-goodbye-body"],
        ),
        Screen::Session(s) => draw_session(frame, body, s, t),
    }
}

/// The message id of a session's title.
fn session_title(s: &Session) -> &'static str {
    if s.personal() {
        "kiosk-title-personal"
    } else if s.opted_out {
        "kiosk-title-opted-out"
    } else {
        "kiosk-title-popular"
    }
}

/// The message id of a view's key hints.
fn session_hints(view: View) -> &'static str {
    match view {
        View::Picks => "kiosk-hint-picks",
        View::Product => "kiosk-hint-product",
        View::Why { .. } => "kiosk-hint-why",
        View::OptedOut => "kiosk-hint-opted-out",
    }
}

/// Centred lines: a bold accent heading, then plain lines (message ids).
fn draw_message(frame: &mut Frame, area: Rect, t: &Messages, heading: &str, lines: &[&str]) {
    let mut text = vec![Line::styled(t.get(heading), accent()), Line::raw("")];
    text.extend(lines.iter().map(|l| Line::raw(t.get(l))));
    let height = (text.len() as u16 + 2).min(area.height);
    let rect = area.centered_vertically(Constraint::Length(height));
    frame.render_widget(wrapped(text).centered(), rect);
}

fn draw_attract(frame: &mut Frame, area: Rect, state: &State, t: &Messages) {
    let width = area.width.saturating_sub(4).min(76);
    let rect = area.centered(Constraint::Length(width), Constraint::Length(16));
    let [intro, card, dots] = Layout::vertical([
        Constraint::Length(3),
        Constraint::Min(0),
        Constraint::Length(1),
    ])
    .areas(rect);
    let welcome = vec![
        Line::styled(t.get("kiosk-welcome-heading"), accent()),
        Line::raw(t.get("kiosk-welcome-body")),
    ];
    frame.render_widget(wrapped(welcome).centered(), intro);
    if let Some(item) = state.featured.get(state.attract_index) {
        let featured = Card {
            view: item,
            vote: None,
            streaming: false,
        };
        let title = format!(" {} ", t.get("kiosk-featured"));
        draw_card(frame, card, featured, &title, false);
        let marks: Vec<&str> = (0..state.featured.len())
            .map(|i| {
                if i == state.attract_index {
                    "●"
                } else {
                    "○"
                }
            })
            .collect();
        frame.render_widget(Paragraph::new(marks.join(" ")).centered(), dots);
    }
}

fn draw_session(frame: &mut Frame, area: Rect, s: &Session, t: &Messages) {
    if s.shows_scanned() {
        let title = t.get(if s.personal() {
            "kiosk-about-for-you"
        } else {
            "kiosk-about"
        });
        draw_scanned(frame, area, s.scanned.as_ref(), &format!(" {title} "), t);
    } else {
        draw_picks(frame, area, s, t);
    }
    match s.view {
        View::Why { .. } => {
            if let Some(focus) = s.focus() {
                draw_why(frame, area, focus, s, t);
            }
        }
        View::OptedOut => draw_opted_out(frame, area, t),
        View::Picks | View::Product => {}
    }
}

fn draw_picks(frame: &mut Frame, area: Rect, s: &Session, t: &Messages) {
    let picks = match &s.picks {
        None => {
            return draw_message(frame, area, t, "kiosk-finding-picks", &[]);
        }
        Some(p) if p.is_empty() => {
            return draw_message(
                frame,
                area,
                t,
                "kiosk-no-picks-heading",
                &["kiosk-no-picks-body"],
            );
        }
        Some(p) => p,
    };
    let areas = pick_areas(area, picks.len());
    for (i, (pick, rect)) in picks.iter().zip(areas.iter()).enumerate() {
        let title = format!(" {} ", i + 1);
        draw_card(frame, *rect, pick.into(), &title, i == s.selected);
    }
}

/// The cards of `n` picks in the body `area`: side by side from [`WIDE`] columns, else stacked.
fn pick_areas(area: Rect, n: usize) -> Rc<[Rect]> {
    let n = u32::try_from(n.clamp(1, MAX_PICKS)).unwrap_or(1);
    if area.width >= WIDE {
        let rect = area.centered_vertically(Constraint::Max(24));
        Layout::horizontal((0..n).map(|_| Constraint::Ratio(1, n)))
            .spacing(1)
            .split(rect)
    } else {
        let rect = area.centered_vertically(Constraint::Max(10 * n as u16));
        Layout::vertical((0..n).map(|_| Constraint::Ratio(1, n))).split(rect)
    }
}

/// The pick drawn at cell (`column`, `row`) of a screen of `screen`'s size showing `state`: the
/// hit test of a tap (touch screens send taps as mouse clicks). `None` off the cards, and
/// whenever the picks are not what is on screen (attract loop, goodbye, a scanned product, the
/// why panel or the opt-out notice over them), so a tap there chooses nothing.
pub fn pick_at(state: &State, screen: Rect, column: u16, row: u16) -> Option<usize> {
    let Screen::Session(s) = &state.screen else {
        return None;
    };
    let picks = s.picks.as_ref().filter(|p| !p.is_empty())?;
    if s.view != View::Picks {
        return None;
    }
    let at = Position::new(column, row);
    pick_areas(body_area(screen), picks.len())
        .iter()
        .take(picks.len())
        .position(|rect| rect.contains(at))
}

fn draw_scanned(
    frame: &mut Frame,
    area: Rect,
    scanned: Option<&Scanned>,
    title: &str,
    t: &Messages,
) {
    match scanned {
        Some(Scanned::Found(shown)) => {
            let width = area.width.saturating_sub(2).min(100);
            let rect = area.centered(Constraint::Length(width), Constraint::Max(16));
            draw_card(frame, rect, shown.as_ref().into(), title, true);
        }
        Some(Scanned::Unknown) => draw_message(
            frame,
            area,
            t,
            "kiosk-unknown-heading",
            &["kiosk-unknown-body"],
        ),
        Some(Scanned::Looking(_)) | None => draw_message(frame, area, t, "kiosk-looking-up", &[]),
    }
}

/// One product: name, brand and price, copy (with a cursor while streaming), reason line.
/// What a product card shows.
struct Card<'a> {
    view: &'a PickView,
    vote: Option<Vote>,
    /// Copy is still arriving: show a cursor after it.
    streaming: bool,
}

impl<'a> From<&'a Shown> for Card<'a> {
    fn from(shown: &'a Shown) -> Self {
        Card {
            view: &shown.view,
            vote: shown.vote,
            streaming: shown.copy_request.is_some(),
        }
    }
}

fn draw_card(frame: &mut Frame, area: Rect, card: Card, title: &str, selected: bool) {
    let Card {
        view: pick,
        vote,
        streaming,
    } = card;
    let block = bordered(title.to_owned(), selected);
    let inner = block.inner(area);
    frame.render_widget(block, area);
    let tall = inner.height >= 9;
    let (name_h, reason_h) = if tall { (2, 2) } else { (1, 1) };
    let [name_area, price_area, copy_area, reason_area] = Layout::vertical([
        Constraint::Length(name_h),
        Constraint::Length(1),
        Constraint::Min(0),
        Constraint::Length(reason_h),
    ])
    .areas(inner);

    let mut name = vec![Span::styled(sanitize(&pick.name), accent())];
    match vote {
        Some(Vote::Up) => name.push(Span::raw("  👍")),
        Some(Vote::Down) => name.push(Span::raw("  👎")),
        None => {}
    }
    let name = Paragraph::new(Line::from(name)).style(base());
    let name = if tall {
        name.wrap(Wrap { trim: true })
    } else {
        name
    };
    frame.render_widget(name, name_area);

    let price = match &pick.brand {
        Some(brand) => format!("{} · {}", sanitize(brand), sanitize(&pick.price_text)),
        None => sanitize(&pick.price_text),
    };
    frame.render_widget(Paragraph::new(price).style(base()), price_area);

    let mut copy = sanitize(&pick.copy);
    if streaming {
        copy.push('▌');
    }
    frame.render_widget(wrapped(vec![Line::raw(copy)]), copy_area);

    if !pick.reason_line.is_empty() {
        let reason = Line::raw(format!("» {}", sanitize(&pick.reason_line)));
        frame.render_widget(wrapped(vec![reason]), reason_area);
    }
}

fn draw_why(frame: &mut Frame, area: Rect, focus: &Shown, s: &Session, t: &Messages) {
    let mut lines = vec![
        Line::styled(sanitize(&focus.view.name), accent()),
        Line::raw(""),
    ];
    lines.extend(
        focus
            .view
            .reasons
            .iter()
            .map(|r| Line::raw(format!("• {}", sanitize(r)))),
    );
    lines.push(Line::raw(""));
    lines.push(Line::raw(t.get(if s.personal() {
        "kiosk-why-personal"
    } else {
        "kiosk-why-popular"
    })));
    let height = lines.len() as u16 + 3;
    let width = area.width.saturating_sub(4).min(72);
    let block = bordered(format!(" {} ", t.get("kiosk-why-title")), true);
    let inner = popup(frame, area, width, height, block);
    frame.render_widget(wrapped(lines), inner);
}

fn draw_opted_out(frame: &mut Frame, area: Rect, t: &Messages) {
    let lines = vec![
        Line::styled(t.get("kiosk-opted-out-heading"), accent()),
        Line::raw(""),
        Line::raw(t.get("kiosk-opted-out-body")),
        Line::raw(""),
        Line::raw(t.get("kiosk-opted-out-scan")),
        Line::raw(t.get("kiosk-opted-out-undo")),
    ];
    let width = area.width.saturating_sub(4).min(64);
    let block = bordered(format!(" {} ", t.get("kiosk-opted-out-title")), true);
    let inner = popup(frame, area, width, 10, block);
    frame.render_widget(wrapped(lines).centered(), inner);
}
