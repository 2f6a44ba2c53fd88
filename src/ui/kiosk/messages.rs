//! What crosses the edge of the shopper state machine: the [`Input`]s the daemon feeds in, the
//! [`Effect`]s it must carry out, and the ids and values they carry.
//!
//! Invariants:
//! - [`Effect::StartSession`] is the only message that carries a loyalty number, inside a
//!   [`Secret`]; no other type here holds one.
//! - Every answer names what it answers: a [`SessionId`] or a [`RequestId`]. Ids are handed out
//!   by the state machine and never reused.

use std::time::Instant;

use crate::ui::{Key, Secret};

/// One product as the screen shows it; the daemon maps recommender and copy output to it.
#[derive(Debug, Clone, PartialEq)]
pub struct PickView {
    pub sku: String,
    pub name: String,
    pub brand: Option<String>,
    /// Price with currency, formatted by the caller (`"USD 19.99"`).
    pub price_text: String,
    /// Copy (a cache hit or generic copy). Empty means "not written yet": the state machine asks
    /// for it with [`Effect::RequestCopy`] and shows it as it streams in.
    pub copy: String,
    /// One line under the pick: the main reason, in plain words.
    pub reason_line: String,
    /// All reasons, in plain words, for the why panel.
    pub reasons: Vec<String>,
    /// Copy style chosen by the bandit, and the probability with which it was chosen.
    pub style: String,
    pub style_probability: f64,
}

impl PickView {
    pub(super) fn target(&self) -> Target {
        Target {
            sku: self.sku.clone(),
            style: self.style.clone(),
            style_probability: self.style_probability,
        }
    }
}

/// Identifies one shopper session; answers for other sessions are ignored.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct SessionId(pub u64);

/// Names one request to the daemon (a product lookup or a piece of copy); never reused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct RequestId(pub u64);

/// Where a pick is on screen.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Slot {
    /// A session pick, by index (0-based).
    Pick(usize),
    /// The scanned product.
    Scanned,
}

/// What an impression or interaction is about.
#[derive(Debug, Clone, PartialEq)]
pub struct Target {
    pub sku: String,
    pub style: String,
    pub style_probability: f64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum InteractionKind {
    Select,
    ThumbUp,
    ThumbDown,
    /// Opened the why panel.
    Why,
    OptOut,
    Done,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EndReason {
    Done,
    Timeout,
    /// Another loyalty code was scanned.
    NewShopper,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Vote {
    Up,
    Down,
}

/// What the daemon feeds in.
#[derive(Debug, Clone, PartialEq)]
pub enum Input {
    Key(Key),
    /// The clock; also ends idle sessions and advances the attract loop.
    Tick(Instant),
    /// Featured products with generic copy for the attract loop.
    Featured(Vec<PickView>),
    /// Picks for a session (at most [`MAX_PICKS`](super::MAX_PICKS) are kept). `copy` may be
    /// filled (cache hit). `personal`: chosen from the shopper's history (a known shopper whose
    /// consent allows it); otherwise the screen says they are popular picks.
    PicksReady {
        session: SessionId,
        picks: Vec<PickView>,
        personal: bool,
    },
    /// The product asked for by [`Effect::LookupProduct`].
    ProductReady {
        request: RequestId,
        product: PickView,
    },
    /// The scanned code is not in the catalog.
    ProductUnknown {
        request: RequestId,
    },
    /// Streamed copy text to append, for an [`Effect::RequestCopy`].
    CopyToken {
        request: RequestId,
        text: String,
    },
    /// Copy finished: `text` is the final copy (after guardrails; it may be the template fallback
    /// and then replaces what was streamed). Empty keeps the streamed text.
    CopyDone {
        request: RequestId,
        text: String,
    },
}

/// What the daemon must do.
#[derive(Debug, PartialEq)]
pub enum Effect {
    /// A session starts: with a loyalty code (open that shopper, then send picks), or anonymous
    /// (a product was scanned first). The loyalty code exists nowhere else.
    StartSession {
        session: SessionId,
        loyalty: Option<Secret>,
    },
    /// Answer with [`Input::ProductReady`] or [`Input::ProductUnknown`].
    LookupProduct {
        session: SessionId,
        request: RequestId,
        sku: String,
    },
    /// Generate (or fetch) copy in this style for this session's shopper; answer with
    /// [`Input::CopyToken`]s then [`Input::CopyDone`].
    RequestCopy {
        session: SessionId,
        request: RequestId,
        slot: Slot,
        sku: String,
        style: String,
    },
    RecordImpression {
        session: SessionId,
        slot: Slot,
        target: Target,
    },
    RecordInteraction {
        session: SessionId,
        kind: InteractionKind,
        target: Option<Target>,
    },
    /// Personalisation off for this session's shopper, persisted as consent.
    OptOut { session: SessionId },
    /// The shopper turned personalisation back on (after opting out): persist the consent and
    /// answer with new picks ([`Input::PicksReady`]).
    OptIn { session: SessionId },
    EndSession {
        session: SessionId,
        reason: EndReason,
    },
}
