//! The session model: what one shopper's visit shows — the picks with their votes and streaming
//! copy, the scanned product, the selection and the view — and the lookups the transitions use.
//!
//! Invariants:
//! - A [`Session`] holds everything about the shopper at the screen and nothing else holds any
//!   of it, so dropping the session (the state machine replaces it on ending) forgets the shopper.
//! - At most [`MAX_PICKS`] picks are kept; copy streamed into one [`Shown`] is capped at
//!   `MAX_COPY_CHARS` characters.
//! - A [`Shown`] takes copy only for the request it is waiting on (`copy_request`); when the copy
//!   is done it waits on none, so late tokens are dropped.
//! - A [`Shown`] waiting on copy has a deadline (`copy_due`); past it the streamed text is
//!   replaced by the pick's template at once ([`Shown::fall_back`]) and nothing later of that
//!   request is taken, so a half-written sentence never stays on screen.

use std::time::Instant;

use super::messages::{Effect, InteractionKind, PickView, RequestId, SessionId, Slot, Vote};

/// Most picks a session shows.
pub const MAX_PICKS: usize = 3;
/// Longest copy text kept per pick while streaming.
const MAX_COPY_CHARS: usize = 1_000;

/// A pick on screen with the shopper's vote.
#[derive(Debug, Clone, PartialEq)]
pub(in crate::ui) struct Shown {
    pub(in crate::ui) view: PickView,
    pub(in crate::ui) vote: Option<Vote>,
    /// Copy is streaming in as the answer to this request.
    pub(in crate::ui) copy_request: Option<RequestId>,
    /// When the screen stops waiting for that request and shows the template.
    pub(in crate::ui) copy_due: Option<Instant>,
}

impl Shown {
    /// Takes streamed copy for its request: a token is appended (up to the cap); `done` ends the
    /// stream, and a non-empty final text replaces what was streamed.
    pub(super) fn receive_copy(&mut self, text: String, done: bool) {
        if done {
            self.copy_request = None;
            self.copy_due = None;
            if !text.is_empty() {
                self.view.copy = text;
            }
        } else if self.view.copy.chars().count() < MAX_COPY_CHARS {
            self.view.copy.push_str(&text);
        }
    }
}

impl Shown {
    /// Whether the copy it waits for is overdue at `now`.
    pub(super) fn overdue(&self, now: Instant) -> bool {
        self.copy_request.is_some() && self.copy_due.is_some_and(|due| now >= due)
    }

    /// Stops waiting for copy and shows the template (what streamed is dropped whole); returns
    /// the request it waited on.
    pub(super) fn fall_back(&mut self) -> Option<RequestId> {
        let request = self.copy_request.take()?;
        self.copy_due = None;
        if !self.view.template.is_empty() {
            self.view.copy = self.view.template.clone();
        }
        Some(request)
    }
}

/// The scanned product's panel.
#[derive(Debug, Clone, PartialEq)]
pub(in crate::ui) enum Scanned {
    Looking(RequestId),
    Found(Box<Shown>),
    Unknown,
}

/// What a session shows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(in crate::ui) enum View {
    Picks,
    Product,
    /// The why panel, over the product view when `of_scanned`, else over the selected pick.
    Why {
        of_scanned: bool,
    },
    /// Personalisation was just turned off.
    OptedOut,
}

impl View {
    /// The view under the why panel.
    pub(super) fn under_why(of_scanned: bool) -> View {
        if of_scanned {
            View::Product
        } else {
            View::Picks
        }
    }
}

#[derive(Debug, PartialEq)]
pub(in crate::ui) struct Session {
    pub(in crate::ui) id: SessionId,
    /// Personalised: started by a loyalty code, until the daemon's picks say otherwise.
    pub(in crate::ui) personalised: bool,
    pub(in crate::ui) opted_out: bool,
    /// `None` while the daemon is still choosing picks.
    pub(in crate::ui) picks: Option<Vec<Shown>>,
    pub(in crate::ui) selected: usize,
    pub(in crate::ui) scanned: Option<Scanned>,
    pub(in crate::ui) view: View,
    pub(super) last_key: Instant,
    /// A digit selected a pick and may yet turn out to start a scan: the previous selection.
    pub(super) digit_selected_from: Option<usize>,
}

impl Session {
    /// A session that has just started at `now`, waiting for its picks.
    pub(super) fn new(id: SessionId, personalised: bool, now: Instant) -> Self {
        Self {
            id,
            personalised,
            opted_out: false,
            picks: None,
            selected: 0,
            scanned: None,
            view: View::Picks,
            last_key: now,
            digit_selected_from: None,
        }
    }

    /// Personalised for a known shopper who has not opted out.
    pub(in crate::ui) fn personal(&self) -> bool {
        self.personalised && !self.opted_out
    }

    pub(super) fn picks_len(&self) -> usize {
        self.picks.as_ref().map_or(0, Vec::len)
    }

    pub(super) fn slot(&self, slot: Slot) -> Option<&Shown> {
        match slot {
            Slot::Pick(i) => self.picks.as_ref()?.get(i),
            Slot::Scanned => match self.scanned.as_ref()? {
                Scanned::Found(shown) => Some(shown.as_ref()),
                Scanned::Looking(_) | Scanned::Unknown => None,
            },
        }
    }

    fn slot_mut(&mut self, slot: Slot) -> Option<&mut Shown> {
        match slot {
            Slot::Pick(i) => self.picks.as_mut()?.get_mut(i),
            Slot::Scanned => match self.scanned.as_mut()? {
                Scanned::Found(shown) => Some(shown.as_mut()),
                Scanned::Looking(_) | Scanned::Unknown => None,
            },
        }
    }

    /// The pick or product whose copy answers `request`.
    pub(super) fn streaming_mut(&mut self, request: RequestId) -> Option<&mut Shown> {
        let scanned = match self.scanned.as_mut() {
            Some(Scanned::Found(shown)) => Some(shown.as_mut()),
            _ => None,
        };
        let picks = self.picks.iter_mut().flatten();
        picks
            .chain(scanned)
            .find(|s| s.copy_request == Some(request))
    }

    /// Every pick and the scanned product, for the copy deadline.
    pub(super) fn shown_mut(&mut self) -> impl Iterator<Item = &mut Shown> {
        let scanned = match self.scanned.as_mut() {
            Some(Scanned::Found(shown)) => Some(shown.as_mut()),
            _ => None,
        };
        self.picks.iter_mut().flatten().chain(scanned)
    }

    /// The screen is about the scanned product (its view, or the why panel over it).
    pub(in crate::ui) fn shows_scanned(&self) -> bool {
        matches!(self.view, View::Product | View::Why { of_scanned: true })
    }

    /// The slot that votes and the why panel are about.
    fn focus_slot(&self) -> Slot {
        if self.shows_scanned() {
            Slot::Scanned
        } else {
            Slot::Pick(self.selected)
        }
    }

    pub(in crate::ui) fn focus(&self) -> Option<&Shown> {
        self.slot(self.focus_slot())
    }

    pub(super) fn focus_mut(&mut self) -> Option<&mut Shown> {
        self.slot_mut(self.focus_slot())
    }

    pub(super) fn interaction(&self, kind: InteractionKind) -> Effect {
        Effect::RecordInteraction {
            session: self.id,
            kind,
            target: self.focus().map(|s| s.view.target()),
        }
    }
}
