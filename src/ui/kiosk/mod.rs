//! The shopper screen as a pure state machine: [`update()`] turns an [`Input`] into a new [`State`]
//! and the [`Effect`]s the daemon must carry out. No I/O, no clock: time arrives as
//! [`Input::Tick`], and key presses are timed by the last tick (tick at 4 Hz or more).
//!
//! Screens: the attract loop (idle), a session (picks, a scanned product, the why panel, the
//! opt-out notice), and a short goodbye.
//!
//! Scanner input: barcode scanners type like a keyboard and end with Enter. ASCII letters and
//! digits collect in a scan buffer; Enter hands the buffer to [`ScanRule::card`], which
//! decides between a loyalty card ([`Effect::StartSession`], with the card's canonical number)
//! and a product code ([`Effect::LookupProduct`]); a code that is a catalog SKU is a product even
//! when a card scheme matches it. Every other key is a command and acts at once: ←/→ select a pick,
//! `+`/`-` vote, `?` why, `o` opt out, `d` done, Esc back or done (the lower-case `o` and `d` are
//! therefore never part of a code: scanners send upper case). Digits `1`-`3` both select a pick
//! and start the buffer: if more characters follow, it was a scan and the selection is put back;
//! otherwise the selection stands and is recorded when the next command arrives or `scan_gap`
//! passes. An unfinished buffer is dropped after `scan_gap`. A tap on a pick
//! ([`Input::TapPick`], found by [`crate::ui::pick_at`]) selects it at once.
//!
//! The module is split along its seams; every item is re-exported here, so paths stay
//! `crate::ui::kiosk::X`:
//! - `scan`: [`ScanRule`] and the scan buffer with its timing;
//! - `session`: the session model (what a shopper's visit shows: picks, votes, the scanned
//!   product, the view);
//! - `messages`: what goes in and out ([`Input`], [`Effect`]) and the ids and values they carry;
//! - `update`: [`State`], [`KioskConfig`] and [`update()`], the transitions.
//!
//! Invariants:
//! - No loyalty number is stored in [`State`]: while it is typed it sits in a [`Secret`] whose
//!   `Debug` shows only its length, nothing renders it, and Enter moves it into
//!   [`Effect::StartSession`], the one place it leaves this module.
//! - A session ends on `d`, on Esc from the picks, on a new loyalty scan and after
//!   `session_timeout` without a key. Ending drops every shopper-related field: afterwards the
//!   state equals a fresh idle one apart from the clock, the attract cursor and the id counter.
//! - Answers name the session or the request ([`RequestId`], never reused) they answer; answers
//!   for anything no longer on screen are ignored, so a late copy token or product can never bring
//!   a shopper's data back, nor land on another pick.
//! - Every pick or scanned product put on screen is recorded once ([`Effect::RecordImpression`]);
//!   every shopper key that acts on a pick or the session is recorded
//!   ([`Effect::RecordInteraction`]), with the style and its selection probability.
//! - Copy never stays on screen half-written: a pick waiting for copy longer than
//!   [`KioskConfig::copy_wait`] shows its complete template instead ([`PickView::template`]),
//!   and every such replacement is reported once ([`Effect::CopyFellBack`]).
//!
//! [`Secret`]: crate::ui::Secret

mod messages;
mod scan;
mod session;
mod update;

pub use messages::{
    Effect, EndReason, FellBack, Input, InteractionKind, PickView, RequestId, SessionId, Slot,
    Target, Vote,
};
pub use scan::ScanRule;
pub use session::MAX_PICKS;
pub use update::{update, KioskConfig, State, COPY_GRACE};

pub(in crate::ui) use session::{Scanned, Session, Shown, View};
pub(in crate::ui) use update::Screen;

/// Fixtures shared by the tests of every part of this module and by `ui::snapshot_tests`.
#[cfg(test)]
pub(in crate::ui) mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
    use std::time::Instant;

    use super::*;
    use crate::ui::Key;

    pub(in crate::ui) const LOYALTY: &str = "LC90417733";

    pub(in crate::ui) fn pick(sku: &str, name: &str, copy: &str) -> PickView {
        PickView {
            sku: sku.into(),
            name: name.into(),
            brand: Some("Acme".into()),
            price_text: "USD 24.99".into(),
            copy: copy.into(),
            template: format!("{name}, now just USD 24.99, worth a look."),
            reason_line: format!("Because you bought {name}-like things"),
            reasons: vec![
                "You often buy from this brand".into(),
                "It is in a category you like".into(),
            ],
            style: "benefit".into(),
            style_probability: 0.5,
        }
    }

    pub(in crate::ui) fn type_code(state: &mut State, code: &str) -> Vec<Effect> {
        let mut out = Vec::new();
        for c in code.chars() {
            out.extend(update(state, Input::Key(Key::Char(c))));
        }
        out.extend(update(state, Input::Key(Key::Enter)));
        out
    }

    pub(in crate::ui) fn start(t0: Instant) -> State {
        State::new(KioskConfig::default(), t0)
    }

    /// A personal session with three picks, the first with copy, the others streaming.
    pub(in crate::ui) fn with_picks(t0: Instant) -> (State, SessionId) {
        let mut s = start(t0);
        type_code(&mut s, LOYALTY);
        let id = s.session_id().unwrap();
        update(
            &mut s,
            Input::PicksReady {
                session: id,
                picks: vec![
                    pick("SKU-1", "Trail Runner", "Light on the trail."),
                    pick("SKU-2", "Rain Shell", ""),
                    pick("SKU-3", "Wool Socks", ""),
                ],
                personal: true,
            },
        );
        (s, id)
    }

    /// The request whose copy is streaming into `slot`.
    pub(in crate::ui) fn copy_request(s: &State, slot: Slot) -> RequestId {
        let Screen::Session(sess) = &s.screen else {
            panic!("no session")
        };
        sess.slot(slot).and_then(|p| p.copy_request).unwrap()
    }

    /// The request looking up the scanned product.
    pub(in crate::ui) fn lookup_request(s: &State) -> RequestId {
        match &s.screen {
            Screen::Session(sess) => match sess.scanned {
                Some(Scanned::Looking(request)) => request,
                ref other => panic!("{other:?}"),
            },
            other => panic!("{other:?}"),
        }
    }

    /// The picks of the session on screen.
    pub(super) fn picks(s: &State) -> &[Shown] {
        let Screen::Session(sess) = &s.screen else {
            panic!("no session")
        };
        sess.picks.as_deref().unwrap()
    }

    /// Presses one character key.
    pub(super) fn key(s: &mut State, c: char) -> Vec<Effect> {
        update(s, Input::Key(Key::Char(c)))
    }
}
