//! Views: read a state, draw a frame. Shared look: bold white on black, one accent colour.
//!
//! Invariants: views never mutate state, never panic at any size (a zero-sized area draws
//! nothing), and put only [`sanitize`](crate::ui::text::sanitize)d text from outside on screen.
//! Boxes stay closed with wide characters: ratatui lays text out in display columns, and a popup
//! cuts a wide character that would straddle its left border.

mod console;
mod kiosk;

use ratatui::buffer::Buffer;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::style::{Color, Modifier, Style};
use ratatui::text::Line;
use ratatui::widgets::{Block, BorderType, Clear, Paragraph, Wrap};
use ratatui::Frame;

use crate::ui::text::width;

pub use console::draw_console;
pub use kiosk::{draw_kiosk, pick_at};

/// The one accent colour.
const ACCENT: Color = Color::Yellow;

fn base() -> Style {
    Style::new()
        .fg(Color::White)
        .bg(Color::Black)
        .add_modifier(Modifier::BOLD)
}

fn accent() -> Style {
    base().fg(ACCENT)
}

/// Black text on the accent colour, for the selected tab or key hints.
fn inverse() -> Style {
    base().fg(Color::Black).bg(ACCENT)
}

/// A screen's one-line header, body and one-line footer.
fn screen_rows(area: Rect) -> [Rect; 3] {
    Layout::vertical([
        Constraint::Length(1),
        Constraint::Min(0),
        Constraint::Length(1),
    ])
    .areas(area)
}

/// The body of a screen of `area` (what [`frame_parts`] returns).
fn body_area(area: Rect) -> Rect {
    let [_, body, _] = screen_rows(area);
    body
}

/// Paints the whole area in the base style, draws a one-line header and footer, and returns the
/// header's and the body's areas.
fn frame_parts(frame: &mut Frame, header: Line, footer: Line) -> (Rect, Rect) {
    let area = frame.area();
    frame.render_widget(Block::new().style(base()), area);
    let [top, body, bottom] = screen_rows(area);
    frame.render_widget(Paragraph::new(header).style(inverse()), top);
    frame.render_widget(Paragraph::new(footer).style(accent()), bottom);
    (top, body)
}

/// A bordered box, accent-coloured when `highlight`.
fn bordered<'a>(title: impl Into<Line<'a>>, highlight: bool) -> Block<'a> {
    let block = Block::bordered().title(title).style(base());
    if highlight {
        block.border_type(BorderType::Thick).border_style(accent())
    } else {
        block
    }
}

/// A popup of at most `width`×`height` in the middle of `area`, cleared underneath.
fn popup(frame: &mut Frame, area: Rect, width: u16, height: u16, block: Block) -> Rect {
    let rect = area.centered(
        Constraint::Length(width.min(area.width)),
        Constraint::Length(height.min(area.height)),
    );
    frame.render_widget(Clear, rect);
    cut_wide_at_left_edge(frame.buffer_mut(), rect);
    let inner = block.inner(rect);
    frame.render_widget(block, rect);
    inner
}

/// A wide (CJK) character just left of `rect` whose second half lies under `rect` would still be
/// drawn whole by the terminal, over the popup's left border: it becomes a space.
fn cut_wide_at_left_edge(buffer: &mut Buffer, rect: Rect) {
    let Some(x) = rect.x.checked_sub(1) else {
        return;
    };
    for y in rect.top()..rect.bottom() {
        if let Some(cell) = buffer.cell_mut((x, y)) {
            if width(cell.symbol()) > 1 {
                cell.set_symbol(" ");
            }
        }
    }
}

/// Wrapped paragraph of lines.
fn wrapped<'a>(lines: Vec<Line<'a>>) -> Paragraph<'a> {
    Paragraph::new(lines)
        .style(base())
        .wrap(Wrap { trim: true })
}
