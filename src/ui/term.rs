//! The terminal edge: a guard that owns a ratatui [`Terminal`] over any [`Backend`], and the
//! decoding of crossterm events into [`Key`]s.
//!
//! Invariants:
//! - After [`TerminalGuard::stdout`] succeeds, raw mode and the alternate screen are undone when
//!   the guard drops and, if the process panics first, by the panic hook (installed once per
//!   process, chained to the hook that was there before, and a no-op while no guard is active).
//! - A guard made with [`TerminalGuard::headless`] never touches the real terminal.
//! - Drawing goes through ratatui's double buffer, so only changed cells are written (no flicker);
//!   a size change is picked up by the next draw, which clears and redraws everything; and a draw
//!   [`WHOLE_EVERY`] after the last whole one writes every cell without clearing, so a cell the
//!   terminal got wrong does not stay wrong.
//! - The screen loops take their terminal as a `TerminalGuard<B>` and their keys from an
//!   [`EventSource`], so the same loop runs on the real terminal and on a `TestBackend`.

use std::future::Future;
use std::io::{self, Stdout};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Once;
use std::time::{Duration, Instant};

use crossterm::cursor::{Hide, Show};
use crossterm::event::{
    DisableMouseCapture, EnableMouseCapture, Event, KeyCode, KeyEvent, KeyEventKind, KeyModifiers,
    MouseButton, MouseEvent, MouseEventKind,
};
use crossterm::execute;
use crossterm::terminal::{
    disable_raw_mode, enable_raw_mode, EnterAlternateScreen, LeaveAlternateScreen,
};
use ratatui::backend::{Backend, CrosstermBackend};
use ratatui::Terminal;

use super::{console, draw_console, draw_kiosk, kiosk, Key};

#[derive(Debug, thiserror::Error)]
pub enum TermError {
    #[error("cannot take over the terminal (is standard output a terminal?)")]
    Setup(#[source] io::Error),
}

/// A decoded terminal event.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TermEvent {
    Key(Key),
    /// A tap or left click at a cell (0-based column and row from the top left). Touch screens
    /// under a Wayland compositor and a terminal such as `foot` deliver taps this way once the
    /// screen asked for mouse reports ([`TerminalGuard::capture_mouse`]).
    Tap {
        column: u16,
        row: u16,
    },
    /// The terminal changed size: draw again (the draw adapts to the new size).
    Resize {
        width: u16,
        height: u16,
    },
}

/// Maps a crossterm event to what the screens understand; `None` for everything they ignore
/// (key releases, mouse moves, drags, releases and other buttons, focus, paste, other control
/// chords).
pub fn decode(event: &Event) -> Option<TermEvent> {
    match event {
        Event::Key(key) => decode_key(key).map(TermEvent::Key),
        Event::Mouse(MouseEvent {
            kind: MouseEventKind::Down(MouseButton::Left),
            column,
            row,
            ..
        }) => Some(TermEvent::Tap {
            column: *column,
            row: *row,
        }),
        Event::Resize(width, height) => Some(TermEvent::Resize {
            width: *width,
            height: *height,
        }),
        _ => None,
    }
}

fn decode_key(key: &KeyEvent) -> Option<Key> {
    if key.kind == KeyEventKind::Release {
        return None;
    }
    if key.modifiers.contains(KeyModifiers::CONTROL) {
        return (key.code == KeyCode::Char('c')).then_some(Key::Interrupt);
    }
    Some(match key.code {
        KeyCode::Char(c) => Key::Char(c),
        KeyCode::Enter => Key::Enter,
        KeyCode::Esc => Key::Esc,
        KeyCode::Backspace => Key::Backspace,
        KeyCode::Left => Key::Left,
        KeyCode::Right => Key::Right,
        KeyCode::Up => Key::Up,
        KeyCode::Down => Key::Down,
        KeyCode::Tab => Key::Tab,
        KeyCode::BackTab => Key::BackTab,
        _ => return None,
    })
}

/// Where a screen loop gets its decoded terminal events: the daemon's crossterm reader thread, or
/// a channel a test types into.
pub trait EventSource {
    /// The next event; `None` when the source is gone (the loop then ends). Cancel safe: a loop
    /// may drop the future when another input comes first, and no event is lost.
    fn next_event(&mut self) -> impl Future<Output = Option<TermEvent>> + Send;
}

impl EventSource for tokio::sync::mpsc::UnboundedReceiver<TermEvent> {
    fn next_event(&mut self) -> impl Future<Output = Option<TermEvent>> + Send {
        self.recv()
    }
}

/// A backend's error as an I/O error: the terminal's own I/O error as it is, any other backend's
/// error wrapped.
pub fn backend_error<E: std::error::Error + Send + Sync + 'static>(e: E) -> io::Error {
    let boxed: Box<dyn std::error::Error + Send + Sync> = Box::new(e);
    match boxed.downcast::<io::Error>() {
        Ok(io) => *io,
        Err(other) => io::Error::other(other),
    }
}

/// True while a [`TerminalGuard::stdout`] holds the terminal in raw mode.
static ACTIVE: AtomicBool = AtomicBool::new(false);

/// Undoes raw mode, mouse reports and the alternate screen; tries every step even when one fails.
fn restore() -> io::Result<()> {
    let raw = disable_raw_mode();
    let screen = execute!(
        io::stdout(),
        DisableMouseCapture,
        LeaveAlternateScreen,
        Show
    );
    raw.and(screen)
}

/// Chains a panic hook that restores the terminal while a [`TerminalGuard::stdout`] is active,
/// then runs the hook that was installed before. Idempotent; [`TerminalGuard::stdout`] calls it,
/// and a caller that installs its own hook later should call it first so it is chained.
pub fn install_panic_hook() {
    static HOOK: Once = Once::new();
    HOOK.call_once(|| {
        let previous = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            if ACTIVE.swap(false, Ordering::SeqCst) {
                // Best effort: the panic message below must reach a usable terminal.
                let _ = restore();
            }
            previous(info);
        }));
    });
}

/// Owns the terminal for one screen; restores it on drop.
pub struct TerminalGuard<B: Backend> {
    terminal: Terminal<B>,
    /// This guard switched the real terminal into raw mode and must switch it back.
    owns_tty: bool,
    /// When a draw last wrote every cell ([`WHOLE_EVERY`]).
    whole_at: Instant,
}

/// A draw at least this long after the last whole one writes every cell, not only the changed
/// ones: a cell the terminal kept though a frame drew over it is put right within this time.
/// Seen under tmux (the end-to-end tests, about one run in twenty): a streaming cursor `▌` left
/// inside finished copy, the text after it one column to the right, until a resize redrew the
/// screen. A whole frame of the kiosk's 160×48 screen is some 20 KB.
pub const WHOLE_EVERY: Duration = Duration::from_secs(2);

/// The symbol of the stand-in frame [`TerminalGuard::forget_screen`] compares the next draw
/// with: no frame draws it (one cell holds one grapheme; this is two private-use characters).
const NEVER_DRAWN: &str = "\u{E000}\u{E000}";

impl TerminalGuard<CrosstermBackend<Stdout>> {
    /// Takes over standard output: raw mode, alternate screen, hidden cursor.
    pub fn stdout() -> Result<Self, TermError> {
        install_panic_hook();
        enable_raw_mode().map_err(TermError::Setup)?;
        ACTIVE.store(true, Ordering::SeqCst);
        let setup = execute!(io::stdout(), EnterAlternateScreen, Hide)
            .and_then(|()| Terminal::new(CrosstermBackend::new(io::stdout())));
        match setup {
            Ok(terminal) => Ok(Self {
                terminal,
                owns_tty: true,
                whole_at: Instant::now(),
            }),
            Err(e) => {
                ACTIVE.store(false, Ordering::SeqCst);
                let _ = restore();
                Err(TermError::Setup(e))
            }
        }
    }
}

impl<B: Backend> TerminalGuard<B> {
    /// Asks the terminal for mouse reports, so taps arrive as [`TermEvent::Tap`] (the shopper
    /// screen; undone with the rest when the guard drops). A headless guard has no terminal to
    /// ask.
    pub fn capture_mouse(&mut self) -> io::Result<()> {
        if self.owns_tty {
            execute!(io::stdout(), EnableMouseCapture)?;
        }
        Ok(())
    }

    /// The size of the screen as last drawn, for hit tests of taps.
    pub fn area(&self) -> ratatui::layout::Rect {
        let size = self.terminal.backend().size().unwrap_or_default();
        ratatui::layout::Rect::new(0, 0, size.width, size.height)
    }

    /// A guard over a backend that is not the process's terminal (tests: `TestBackend`).
    pub fn headless(backend: B) -> Result<Self, B::Error> {
        Ok(Self {
            terminal: Terminal::new(backend)?,
            owns_tty: false,
            whole_at: Instant::now(),
        })
    }

    /// Makes the next draw write every cell, without clearing the screen first (so no blank
    /// frame is ever shown): the last frame drawn is forgotten, and nothing on the terminal is
    /// taken to be what was drawn there.
    pub fn forget_screen(&mut self) {
        // Between draws the current buffer is blank and the other holds the last frame. The
        // first swap resets that frame and makes it current; filled with a symbol no frame
        // draws, the second swap makes it the buffer the next draw is compared with.
        self.terminal.swap_buffers();
        for cell in &mut self.terminal.current_buffer_mut().content {
            cell.set_symbol(NEVER_DRAWN);
        }
        self.terminal.swap_buffers();
        self.whole_at = Instant::now();
    }

    /// Before a draw: the whole screen once [`WHOLE_EVERY`] has passed since the last time.
    fn due_whole(&mut self) {
        if self.whole_at.elapsed() >= WHOLE_EVERY {
            self.forget_screen();
        }
    }

    /// Draws the shopper screen (only changed cells reach the terminal, and every cell once
    /// [`WHOLE_EVERY`] has passed).
    pub fn draw_kiosk(&mut self, state: &kiosk::State) -> Result<(), B::Error> {
        self.due_whole();
        self.terminal.draw(|f| draw_kiosk(f, state)).map(drop)
    }

    /// Draws the technician console.
    pub fn draw_console(&mut self, state: &console::State) -> Result<(), B::Error> {
        self.due_whole();
        self.terminal.draw(|f| draw_console(f, state)).map(drop)
    }

    pub fn backend(&self) -> &B {
        self.terminal.backend()
    }

    pub fn backend_mut(&mut self) -> &mut B {
        self.terminal.backend_mut()
    }
}

impl<B: Backend> Drop for TerminalGuard<B> {
    fn drop(&mut self) {
        if self.owns_tty && ACTIVE.swap(false, Ordering::SeqCst) {
            // Nothing useful can be done with an error while dropping.
            let _ = restore();
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use std::time::Instant;

    use crossterm::event::KeyEventState;
    use ratatui::backend::TestBackend;

    use super::*;

    fn key(code: KeyCode, modifiers: KeyModifiers, kind: KeyEventKind) -> Event {
        Event::Key(KeyEvent {
            code,
            modifiers,
            kind,
            state: KeyEventState::NONE,
        })
    }

    fn press(code: KeyCode) -> Option<TermEvent> {
        decode(&key(code, KeyModifiers::NONE, KeyEventKind::Press))
    }

    #[test]
    fn decodes_keys() {
        assert_eq!(
            press(KeyCode::Char('L')),
            Some(TermEvent::Key(Key::Char('L')))
        );
        assert_eq!(press(KeyCode::Enter), Some(TermEvent::Key(Key::Enter)));
        assert_eq!(press(KeyCode::Left), Some(TermEvent::Key(Key::Left)));
        assert_eq!(press(KeyCode::BackTab), Some(TermEvent::Key(Key::BackTab)));
        assert_eq!(press(KeyCode::F(5)), None);
        let shifted = key(KeyCode::Char('+'), KeyModifiers::SHIFT, KeyEventKind::Press);
        assert_eq!(decode(&shifted), Some(TermEvent::Key(Key::Char('+'))));
        let repeat = key(KeyCode::Right, KeyModifiers::NONE, KeyEventKind::Repeat);
        assert_eq!(decode(&repeat), Some(TermEvent::Key(Key::Right)));
        let release = key(
            KeyCode::Char('a'),
            KeyModifiers::NONE,
            KeyEventKind::Release,
        );
        assert_eq!(decode(&release), None);
        let ctrl_c = key(
            KeyCode::Char('c'),
            KeyModifiers::CONTROL,
            KeyEventKind::Press,
        );
        assert_eq!(decode(&ctrl_c), Some(TermEvent::Key(Key::Interrupt)));
        let ctrl_x = key(
            KeyCode::Char('x'),
            KeyModifiers::CONTROL,
            KeyEventKind::Press,
        );
        assert_eq!(decode(&ctrl_x), None);
    }

    #[test]
    fn decodes_resize_and_ignores_the_rest() {
        assert_eq!(
            decode(&Event::Resize(100, 30)),
            Some(TermEvent::Resize {
                width: 100,
                height: 30
            })
        );
        assert_eq!(decode(&Event::FocusGained), None);
        let mouse = |kind| {
            Event::Mouse(MouseEvent {
                kind,
                column: 7,
                row: 3,
                modifiers: KeyModifiers::NONE,
            })
        };
        assert_eq!(decode(&mouse(MouseEventKind::Moved)), None);
        assert_eq!(decode(&mouse(MouseEventKind::Up(MouseButton::Left))), None);
        assert_eq!(
            decode(&mouse(MouseEventKind::Down(MouseButton::Right))),
            None
        );
        assert_eq!(
            decode(&mouse(MouseEventKind::Drag(MouseButton::Left))),
            None
        );
        assert_eq!(
            decode(&mouse(MouseEventKind::Down(MouseButton::Left))),
            Some(TermEvent::Tap { column: 7, row: 3 })
        );
    }

    #[test]
    fn backend_errors_become_io_errors() {
        let denied = io::Error::new(io::ErrorKind::PermissionDenied, "tty gone");
        let kept = backend_error(denied);
        assert_eq!(kept.kind(), io::ErrorKind::PermissionDenied);
        assert_eq!(kept.to_string(), "tty gone");
        let wrapped = backend_error(std::fmt::Error);
        assert_eq!(wrapped.kind(), io::ErrorKind::Other);
        assert_eq!(wrapped.to_string(), std::fmt::Error.to_string());
    }

    #[test]
    fn a_cell_the_terminal_kept_is_put_right_by_a_whole_draw() {
        let state = kiosk::State::new(kiosk::KioskConfig::default(), Instant::now());
        let mut guard = TerminalGuard::headless(TestBackend::new(80, 24)).unwrap();
        guard.draw_kiosk(&state).unwrap();
        let drawn = guard.backend().buffer().clone();
        // The terminal shows a cursor the app never drew there (a write it kept from before).
        let stale = ratatui::buffer::Cell::new("▌");
        guard
            .backend_mut()
            .draw(std::iter::once((3, 2, &stale)))
            .unwrap();
        guard.draw_kiosk(&state).unwrap();
        assert_ne!(
            guard.backend().buffer(),
            &drawn,
            "only changed cells are written"
        );
        guard.forget_screen();
        guard.draw_kiosk(&state).unwrap();
        assert_eq!(
            guard.backend().buffer(),
            &drawn,
            "a whole draw puts it right"
        );
        // And the draws after it write only changes again (nothing to write here).
        guard
            .backend_mut()
            .draw(std::iter::once((3, 2, &stale)))
            .unwrap();
        guard.draw_kiosk(&state).unwrap();
        assert_ne!(guard.backend().buffer(), &drawn);
    }

    #[test]
    fn headless_guard_draws_and_follows_resizes() {
        let state = kiosk::State::new(kiosk::KioskConfig::default(), Instant::now());
        let mut guard = TerminalGuard::headless(TestBackend::new(80, 24)).unwrap();
        guard.draw_kiosk(&state).unwrap();
        guard.backend_mut().resize(160, 48);
        guard.draw_kiosk(&state).unwrap();
        let mut fresh = TerminalGuard::headless(TestBackend::new(160, 48)).unwrap();
        fresh.draw_kiosk(&state).unwrap();
        assert_eq!(guard.backend().buffer(), fresh.backend().buffer());
        // Dropping a headless guard leaves the real terminal alone.
        assert!(!ACTIVE.load(Ordering::SeqCst));
    }
}
