//! The shopper screen's view. Invariant: shows nothing of the scan buffer but the fact that a
//! code is being read, so a loyalty number is never on screen.

use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Paragraph, Wrap};
use ratatui::Frame;

use super::{accent, base, bordered, frame_parts, popup, wrapped};
use crate::ui::kiosk::{PickView, Scanned, Screen, Session, Shown, State, View, Vote};
use crate::ui::text::sanitize;

/// Width from which picks stand side by side instead of stacked.
const WIDE: u16 = 120;

/// Draws the shopper screen.
pub fn draw_kiosk(frame: &mut Frame, state: &State) {
    let (title, hints) = match &state.screen {
        Screen::Attract => ("Welcome", "Scan your loyalty card or any product barcode"),
        Screen::Goodbye { .. } => ("Thank you", ""),
        Screen::Session(s) => (session_title(s), session_hints(s.view)),
    };
    let mut footer = vec![Span::raw(format!(" {hints}"))];
    if state.scan_len() > 0 {
        footer.push(Span::raw("   Reading code…"));
    }
    let (_, body) = frame_parts(
        frame,
        Line::from(format!(" shelftalk · {title}")),
        Line::from(footer),
    );
    match &state.screen {
        Screen::Attract => draw_attract(frame, body, state),
        Screen::Goodbye { .. } => draw_message(
            frame,
            body,
            "Thank you for visiting!",
            &["Your session has ended. Nothing about you stays on this screen."],
        ),
        Screen::Session(s) => draw_session(frame, body, s),
    }
}

fn session_title(s: &Session) -> &'static str {
    if s.personal() {
        "Picked for you"
    } else if s.opted_out {
        "Personalisation off"
    } else {
        "Popular picks"
    }
}

fn session_hints(view: View) -> &'static str {
    match view {
        View::Picks => "←/→ or 1-3 choose · 👍 + · 👎 - · ? why · o opt out · d done",
        View::Product => "👍 + · 👎 - · ? why · Esc back · o opt out · d done",
        View::Why { .. } => "? or Esc close · o opt out · d done",
        View::OptedOut => "any key to continue · d done",
    }
}

/// Centred lines: a bold accent heading, then plain lines.
fn draw_message(frame: &mut Frame, area: Rect, heading: &str, lines: &[&str]) {
    let mut text = vec![Line::styled(heading.to_owned(), accent()), Line::raw("")];
    text.extend(lines.iter().map(|l| Line::raw(*l)));
    let height = (text.len() as u16 + 2).min(area.height);
    let rect = area.centered_vertically(Constraint::Length(height));
    frame.render_widget(wrapped(text).centered(), rect);
}

fn draw_attract(frame: &mut Frame, area: Rect, state: &State) {
    let width = area.width.saturating_sub(4).min(76);
    let rect = area.centered(Constraint::Length(width), Constraint::Length(16));
    let [intro, card, dots] = Layout::vertical([
        Constraint::Length(3),
        Constraint::Min(0),
        Constraint::Length(1),
    ])
    .areas(rect);
    let welcome = vec![
        Line::styled("Scan your loyalty card for picks chosen for you", accent()),
        Line::raw("or scan any product to learn more about it"),
    ];
    frame.render_widget(wrapped(welcome).centered(), intro);
    if let Some(item) = state.featured.get(state.attract_index) {
        let featured = Card {
            view: item,
            vote: None,
            streaming: false,
        };
        draw_card(frame, card, featured, " Featured ", false);
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

fn draw_session(frame: &mut Frame, area: Rect, s: &Session) {
    if s.shows_scanned() {
        let title = if s.personal() {
            " About this product, for you "
        } else {
            " About this product "
        };
        draw_scanned(frame, area, s.scanned.as_ref(), title);
    } else {
        draw_picks(frame, area, s);
    }
    match s.view {
        View::Why { .. } => {
            if let Some(focus) = s.focus() {
                draw_why(frame, area, focus, s);
            }
        }
        View::OptedOut => draw_opted_out(frame, area),
        View::Picks | View::Product => {}
    }
}

fn draw_picks(frame: &mut Frame, area: Rect, s: &Session) {
    let picks = match &s.picks {
        None => {
            return draw_message(frame, area, "Finding picks for you…", &[]);
        }
        Some(p) if p.is_empty() => {
            return draw_message(
                frame,
                area,
                "Scan any product to learn more about it",
                &["Or press d when you are done."],
            );
        }
        Some(p) => p,
    };
    let n = picks.len() as u32;
    let areas = if area.width >= WIDE {
        let rect = area.centered_vertically(Constraint::Max(24));
        Layout::horizontal((0..n).map(|_| Constraint::Ratio(1, n)))
            .spacing(1)
            .split(rect)
    } else {
        let rect = area.centered_vertically(Constraint::Max(10 * n as u16));
        Layout::vertical((0..n).map(|_| Constraint::Ratio(1, n))).split(rect)
    };
    for (i, (pick, rect)) in picks.iter().zip(areas.iter()).enumerate() {
        let title = format!(" {} ", i + 1);
        draw_card(frame, *rect, pick.into(), &title, i == s.selected);
    }
}

fn draw_scanned(frame: &mut Frame, area: Rect, scanned: Option<&Scanned>, title: &str) {
    match scanned {
        Some(Scanned::Found(shown)) => {
            let width = area.width.saturating_sub(2).min(100);
            let rect = area.centered(Constraint::Length(width), Constraint::Max(16));
            draw_card(frame, rect, shown.as_ref().into(), title, true);
        }
        Some(Scanned::Unknown) => draw_message(
            frame,
            area,
            "Sorry, we don't know that code",
            &["Try scanning another product."],
        ),
        Some(Scanned::Looking(_)) | None => draw_message(frame, area, "Looking it up…", &[]),
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

fn draw_why(frame: &mut Frame, area: Rect, focus: &Shown, s: &Session) {
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
    lines.push(Line::raw(if s.personal() {
        "Chosen from your past shopping with us. Press o to turn this off."
    } else {
        "Chosen from what is popular and what you looked at in this visit only."
    }));
    let height = lines.len() as u16 + 3;
    let width = area.width.saturating_sub(4).min(72);
    let block = bordered(" Why am I seeing this? ", true);
    let inner = popup(frame, area, width, height, block);
    frame.render_widget(wrapped(lines), inner);
}

fn draw_opted_out(frame: &mut Frame, area: Rect) {
    let lines = vec![
        Line::styled("Personalisation is off", accent()),
        Line::raw(""),
        Line::raw(
            "From now on this kiosk will not use your shopping history, starting with this visit.",
        ),
        Line::raw(""),
        Line::raw("You can still scan products to learn about them."),
        Line::raw("Changed your mind? Press o again to turn it back on."),
    ];
    let width = area.width.saturating_sub(4).min(64);
    let block = bordered(" Done ", true);
    let inner = popup(frame, area, width, 10, block);
    frame.render_widget(wrapped(lines).centered(), inner);
}
