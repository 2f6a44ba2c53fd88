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
    /// Complete copy to show instead when the requested copy is not done by the copy deadline
    /// ([`KioskConfig::copy_wait`](super::KioskConfig::copy_wait)): the template for this product
    /// and style, with its true prices. The daemon always fills it.
    pub template: String,
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
    /// The shopper tapped pick `index` (0-based) on a touch screen; the daemon finds it with
    /// [`crate::ui::pick_at`]. Selects it, as ←/→ would.
    TapPick(usize),
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
    /// and then replaces what was streamed). Empty keeps the streamed text. `fell_back`: the
    /// worker ran out of time and `text` is the template.
    CopyDone {
        request: RequestId,
        text: String,
        fell_back: Option<FellBack>,
    },
}

/// Why a piece of copy on screen is the template rather than the model copy it waited for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum FellBack {
    /// The copy worker's budget ran out while it wrote (tokens may have streamed): it answered
    /// with the template.
    Budget,
    /// Nothing complete came by the screen's own deadline (the worker was busy or starved): the
    /// screen put up the template itself.
    Deadline,
}

impl FellBack {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Budget => "budget",
            Self::Deadline => "deadline",
        }
    }
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
    /// A pick's copy was replaced by its template for `reason` (count it: the console shows
    /// how often copy fell back; a `Deadline` template was put up by the screen alone, so it
    /// belongs in the content log too). `text` is the copy now on screen.
    CopyFellBack {
        session: SessionId,
        request: RequestId,
        reason: FellBack,
        target: Target,
        text: String,
    },
}
