//! The two terminal screens: `kiosk` (the shopper) and `console` (the technician).
//!
//! Each screen is split the gitui way: a pure state machine (`update(&mut State, Input) ->
//! Vec<Effect>`, no I/O, no clock of its own) and a view (`draw_*(frame, &State)`) that only reads
//! the state. The daemon feeds inputs (keys decoded by [`term::decode`], ticks, answers from the
//! recommender and the copy engine) and executes the effects.
//!
//! Invariants:
//! - No loyalty number or PIN is kept in a state after the key that completes it: while it is being
//!   typed it sits in a [`Secret`] (zeroised on drop, `Debug` shows only its length), and the
//!   completing key moves it into an effect.
//! - Views take `&State` only, sanitise every piece of text they did not write themselves
//!   ([`text::sanitize`]) and render at any terminal size without panicking.
//! - Every word a view writes comes from the message catalog of the screen's locale
//!   ([`crate::i18n`]); layout by hand counts display columns ([`text::width`]), so wide (CJK)
//!   characters keep borders closed.
//! - A tap (a mouse click) is hit-tested against the layout the view draws ([`pick_at`]), never a
//!   copy of it.
//! - The terminal is restored on drop of [`term::TerminalGuard`] and from the panic hook.

pub mod console;
pub mod kiosk;
mod render;
pub mod term;
pub mod text;

#[cfg(test)]
mod snapshot_tests;

use zeroize::Zeroizing;

pub use render::{draw_console, draw_kiosk, pick_at};

/// A key as the screens understand it, decoded from a terminal event by [`term::decode`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Key {
    /// A printable character (a barcode scanner types these, then Enter).
    Char(char),
    Enter,
    Esc,
    Backspace,
    Left,
    Right,
    Up,
    Down,
    Tab,
    BackTab,
    /// Ctrl+C. The console quits on it; the shopper screen ignores it (a shopper must not be able
    /// to stop the kiosk).
    Interrupt,
}

/// Text that must never be shown, logged or kept: a loyalty number or a PIN.
///
/// Zeroised on drop; `Debug` prints only its length; no `Display`, `Clone` or `Serialize`.
#[derive(PartialEq, Eq, Default)]
pub struct Secret(Zeroizing<String>);

impl Secret {
    /// Wraps text that is already secret.
    pub fn new(text: String) -> Self {
        Self(Zeroizing::new(text))
    }

    /// The secret text, for the one place that needs it (an HMAC lookup, a PIN check).
    pub fn expose(&self) -> &str {
        &self.0
    }

    /// Number of characters, for masked display.
    pub fn len(&self) -> usize {
        self.0.chars().count()
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    fn push(&mut self, c: char) {
        self.0.push(c);
    }

    fn pop(&mut self) {
        self.0.pop();
    }

    /// Moves the text out, leaving this one empty.
    fn take(&mut self) -> Secret {
        std::mem::take(self)
    }
}

impl std::fmt::Debug for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Secret(*** {} chars)", self.len())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secret_debug_hides_the_text() {
        let mut s = Secret::new("LC12345678".into());
        assert_eq!(format!("{s:?}"), "Secret(*** 10 chars)");
        s.push('9');
        s.pop();
        let moved = s.take();
        assert!(s.is_empty());
        assert_eq!(moved.expose(), "LC12345678");
    }
}
