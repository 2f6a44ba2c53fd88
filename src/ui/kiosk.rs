//! The shopper screen as a pure state machine: [`update`] turns an [`Input`] into a new [`State`]
//! and the [`Effect`]s the daemon must carry out. No I/O, no clock: time arrives as
//! [`Input::Tick`], and key presses are timed by the last tick (tick at 4 Hz or more).
//!
//! Screens: the attract loop (idle), a session (picks, a scanned product, the why panel, the
//! opt-out notice), and a short goodbye.
//!
//! Scanner input: barcode scanners type like a keyboard and end with Enter. ASCII letters and
//! digits collect in a scan buffer; Enter hands the buffer to [`ScanRule::is_loyalty`], which
//! decides between a loyalty code ([`Effect::StartSession`]) and a product code
//! ([`Effect::LookupProduct`]). Every other key is a command and acts at once: ←/→ select a pick,
//! `+`/`-` vote, `?` why, `o` opt out, `d` done, Esc back or done (the lower-case `o` and `d` are
//! therefore never part of a code: scanners send upper case). Digits `1`-`3` both select a pick
//! and start the buffer: if more characters follow, it was a scan and the selection is put back;
//! otherwise the selection stands and is recorded when the next command arrives or `scan_gap`
//! passes. An unfinished buffer is dropped after `scan_gap`.
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

use std::ops::RangeInclusive;
use std::time::{Duration, Instant};

use super::{Key, Secret};

/// Most picks a session shows.
pub const MAX_PICKS: usize = 3;
/// Longest code the scan buffer accepts (as `vocab::LoyaltyNumber`).
const MAX_CODE_CHARS: usize = 64;
/// Longest copy text kept per pick while streaming.
const MAX_COPY_CHARS: usize = 1_000;

/// How to tell a loyalty code from a product code.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ScanRule {
    /// Loyalty codes start with this (compared ignoring ASCII case).
    pub loyalty_prefix: String,
    /// ...followed by this many ASCII digits and nothing else.
    pub loyalty_digits: RangeInclusive<usize>,
}

impl Default for ScanRule {
    fn default() -> Self {
        Self {
            loyalty_prefix: "LC".into(),
            loyalty_digits: 4..=20,
        }
    }
}

impl ScanRule {
    /// True when `code` is a loyalty code; anything else scanned is a product code (SKU).
    pub fn is_loyalty(&self, code: &str) -> bool {
        let n = self.loyalty_prefix.len();
        let (Some(prefix), Some(rest)) = (code.get(..n), code.get(n..)) else {
            return false;
        };
        prefix.eq_ignore_ascii_case(&self.loyalty_prefix)
            && self.loyalty_digits.contains(&rest.len())
            && rest.bytes().all(|b| b.is_ascii_digit())
    }
}

/// Timings and rules of the shopper screen.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KioskConfig {
    /// A session ends after this long without a key.
    pub session_timeout: Duration,
    /// The attract loop shows the next featured product after this long.
    pub attract_every: Duration,
    /// How long the goodbye screen stays.
    pub goodbye_for: Duration,
    /// An unfinished scan is dropped (and a lone digit taken as a key) after this long.
    pub scan_gap: Duration,
    pub scan_rule: ScanRule,
}

impl Default for KioskConfig {
    fn default() -> Self {
        Self {
            session_timeout: Duration::from_secs(45),
            attract_every: Duration::from_secs(6),
            goodbye_for: Duration::from_secs(3),
            scan_gap: Duration::from_secs(5),
            scan_rule: ScanRule::default(),
        }
    }
}

impl KioskConfig {
    /// The defaults with the session timeout of the kiosk's configuration.
    pub fn from_config(config: &crate::config::Config) -> Self {
        Self {
            session_timeout: Duration::from_secs(config.session_timeout_secs),
            ..Self::default()
        }
    }
}

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
    fn target(&self) -> Target {
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
    /// Picks for a session (at most [`MAX_PICKS`] are kept). `copy` may be filled (cache hit).
    /// `personal`: chosen from the shopper's history (a known shopper whose consent allows it);
    /// otherwise the screen says they are popular picks.
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
    EndSession {
        session: SessionId,
        reason: EndReason,
    },
}

/// A pick on screen with the shopper's vote.
#[derive(Debug, Clone, PartialEq)]
pub(super) struct Shown {
    pub(super) view: PickView,
    pub(super) vote: Option<Vote>,
    /// Copy is streaming in as the answer to this request.
    pub(super) copy_request: Option<RequestId>,
}

/// The scanned product's panel.
#[derive(Debug, Clone, PartialEq)]
pub(super) enum Scanned {
    Looking(RequestId),
    Found(Box<Shown>),
    Unknown,
}

/// What a session shows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum View {
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
    fn under_why(of_scanned: bool) -> View {
        if of_scanned {
            View::Product
        } else {
            View::Picks
        }
    }
}

#[derive(Debug, PartialEq)]
pub(super) struct Session {
    pub(super) id: SessionId,
    /// Personalised: started by a loyalty code, until the daemon's picks say otherwise.
    pub(super) personalised: bool,
    pub(super) opted_out: bool,
    /// `None` while the daemon is still choosing picks.
    pub(super) picks: Option<Vec<Shown>>,
    pub(super) selected: usize,
    pub(super) scanned: Option<Scanned>,
    pub(super) view: View,
    last_key: Instant,
    /// A digit selected a pick and may yet turn out to start a scan: the previous selection.
    digit_selected_from: Option<usize>,
}

impl Session {
    /// Personalised for a known shopper who has not opted out.
    pub(super) fn personal(&self) -> bool {
        self.personalised && !self.opted_out
    }

    fn picks_len(&self) -> usize {
        self.picks.as_ref().map_or(0, Vec::len)
    }

    fn slot(&self, slot: Slot) -> Option<&Shown> {
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
    fn streaming_mut(&mut self, request: RequestId) -> Option<&mut Shown> {
        let scanned = match self.scanned.as_mut() {
            Some(Scanned::Found(shown)) => Some(shown.as_mut()),
            _ => None,
        };
        let picks = self.picks.iter_mut().flatten();
        picks
            .chain(scanned)
            .find(|s| s.copy_request == Some(request))
    }

    /// The screen is about the scanned product (its view, or the why panel over it).
    pub(super) fn shows_scanned(&self) -> bool {
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

    pub(super) fn focus(&self) -> Option<&Shown> {
        self.slot(self.focus_slot())
    }

    fn focus_mut(&mut self) -> Option<&mut Shown> {
        self.slot_mut(self.focus_slot())
    }

    fn interaction(&self, kind: InteractionKind) -> Effect {
        Effect::RecordInteraction {
            session: self.id,
            kind,
            target: self.focus().map(|s| s.view.target()),
        }
    }
}

#[derive(Debug, PartialEq)]
pub(super) enum Screen {
    Attract,
    Session(Box<Session>),
    Goodbye { until: Instant },
}

/// Characters typed so far by a scanner (or a person), and when the last one came.
#[derive(Debug, PartialEq)]
struct ScanBuffer {
    code: Secret,
    last_at: Instant,
    overflow: bool,
}

/// The whole shopper screen.
#[derive(Debug, PartialEq)]
pub struct State {
    config: KioskConfig,
    pub(super) now: Instant,
    pub(super) featured: Vec<PickView>,
    pub(super) attract_index: usize,
    attract_since: Instant,
    /// Source of session and request ids.
    next_id: u64,
    scan: ScanBuffer,
    pub(super) screen: Screen,
}

impl State {
    /// The idle attract screen, with no featured products until [`Input::Featured`].
    pub fn new(config: KioskConfig, now: Instant) -> Self {
        Self {
            config,
            now,
            featured: Vec::new(),
            attract_index: 0,
            attract_since: now,
            next_id: 1,
            scan: ScanBuffer {
                code: Secret::default(),
                last_at: now,
                overflow: false,
            },
            screen: Screen::Attract,
        }
    }

    /// The current session, if a shopper is at the screen.
    pub fn session_id(&self) -> Option<SessionId> {
        match &self.screen {
            Screen::Session(s) => Some(s.id),
            Screen::Attract | Screen::Goodbye { .. } => None,
        }
    }

    /// Characters waiting in the scan buffer (their count only, for a masked indicator).
    pub fn scan_len(&self) -> usize {
        self.scan.code.len()
    }

    fn fresh_id(&mut self) -> u64 {
        self.next_id += 1;
        self.next_id - 1
    }

    fn session_mut(&mut self, id: SessionId) -> Option<&mut Session> {
        match &mut self.screen {
            Screen::Session(s) if s.id == id => Some(s),
            _ => None,
        }
    }

    fn start_session(&mut self, loyalty: Option<Secret>, out: &mut Vec<Effect>) -> SessionId {
        self.end_session(EndReason::NewShopper, out);
        let id = SessionId(self.fresh_id());
        let is_loyalty = loyalty.is_some();
        self.screen = Screen::Session(Box::new(Session {
            id,
            personalised: is_loyalty,
            opted_out: false,
            picks: None,
            selected: 0,
            scanned: None,
            view: View::Picks,
            last_key: self.now,
            digit_selected_from: None,
        }));
        out.push(Effect::StartSession {
            session: id,
            loyalty,
        });
        id
    }

    /// Ends the session, if any, dropping everything about the shopper.
    fn end_session(&mut self, reason: EndReason, out: &mut Vec<Effect>) {
        if let Screen::Session(s) = &self.screen {
            out.push(Effect::EndSession {
                session: s.id,
                reason,
            });
            self.screen = Screen::Goodbye {
                until: self.now + self.config.goodbye_for,
            };
            self.clear_scan();
        }
    }

    fn clear_scan(&mut self) {
        self.scan.code = Secret::default();
        self.scan.overflow = false;
    }

    fn on_tick(&mut self, now: Instant, out: &mut Vec<Effect>) {
        self.now = now;
        if !self.scan.code.is_empty() && now >= self.scan.last_at + self.config.scan_gap {
            self.resolve_lone_key(out);
        }
        match &self.screen {
            Screen::Session(s) if now >= s.last_key + self.config.session_timeout => {
                self.end_session(EndReason::Timeout, out);
            }
            Screen::Goodbye { until } if now >= *until => {
                self.screen = Screen::Attract;
                self.attract_since = now;
            }
            Screen::Attract if now >= self.attract_since + self.config.attract_every => {
                self.attract_since = now;
                if !self.featured.is_empty() {
                    self.attract_index = (self.attract_index + 1) % self.featured.len();
                }
            }
            _ => {}
        }
    }

    /// The buffer did not become a scan: a lone selecting digit stands as a key press (recorded);
    /// anything else is dropped.
    fn resolve_lone_key(&mut self, out: &mut Vec<Effect>) {
        self.clear_scan();
        if let Screen::Session(s) = &mut self.screen {
            if s.digit_selected_from.take().is_some() {
                out.push(s.interaction(InteractionKind::Select));
            }
        }
    }

    fn on_code_char(&mut self, c: char) {
        if self.scan.code.len() >= MAX_CODE_CHARS {
            self.scan.overflow = true;
            return;
        }
        let first = self.scan.code.is_empty();
        self.scan.code.push(c);
        self.scan.last_at = self.now;
        let Screen::Session(s) = &mut self.screen else {
            return;
        };
        if let Some(previous) = s.digit_selected_from.take() {
            // A second character: the digit started a scan, not a selection.
            s.selected = previous;
            return;
        }
        let index = c.to_digit(10).and_then(|d| (d as usize).checked_sub(1));
        if let Some(i) = index.filter(|i| first && s.view == View::Picks && *i < s.picks_len()) {
            s.digit_selected_from = Some(s.selected);
            s.selected = i;
        }
    }

    fn on_enter(&mut self, out: &mut Vec<Effect>) {
        let lone_digit =
            matches!(&self.screen, Screen::Session(s) if s.digit_selected_from.is_some());
        if lone_digit || self.scan.overflow || self.scan.code.is_empty() {
            self.resolve_lone_key(out);
            return;
        }
        let code = self.scan.code.take();
        if self.config.scan_rule.is_loyalty(code.expose()) {
            self.start_session(Some(code), out);
            return;
        }
        let sku = code.expose().to_owned();
        let session = match self.session_id() {
            Some(id) => id,
            None => self.start_session(None, out),
        };
        let request = RequestId(self.fresh_id());
        if let Some(s) = self.session_mut(session) {
            s.scanned = Some(Scanned::Looking(request));
            s.view = View::Product;
        }
        out.push(Effect::LookupProduct {
            session,
            request,
            sku,
        });
    }

    fn on_command(&mut self, key: Key, out: &mut Vec<Effect>) {
        if !self.scan.code.is_empty() {
            self.resolve_lone_key(out);
        }
        let Screen::Session(s) = &mut self.screen else {
            return;
        };
        if s.view == View::OptedOut && !matches!(key, Key::Char('d')) {
            s.view = View::Picks;
            return;
        }
        match key {
            Key::Left | Key::Right => {
                let n = s.picks_len();
                if s.view == View::Picks && n > 0 {
                    s.selected = if key == Key::Left {
                        (s.selected + n - 1) % n
                    } else {
                        (s.selected + 1) % n
                    };
                    out.push(s.interaction(InteractionKind::Select));
                }
            }
            Key::Char(c @ ('+' | '-')) => {
                let (vote, kind) = if c == '+' {
                    (Vote::Up, InteractionKind::ThumbUp)
                } else {
                    (Vote::Down, InteractionKind::ThumbDown)
                };
                if let Some(shown) = s.focus_mut() {
                    shown.vote = Some(vote);
                    out.push(s.interaction(kind));
                }
            }
            Key::Char('?') => match s.view {
                View::Why { of_scanned } => s.view = View::under_why(of_scanned),
                View::Picks | View::Product => {
                    let of_scanned = s.view == View::Product;
                    s.view = View::Why { of_scanned };
                    if s.focus().is_some() {
                        out.push(s.interaction(InteractionKind::Why));
                    } else {
                        s.view = View::under_why(of_scanned);
                    }
                }
                View::OptedOut => {}
            },
            Key::Char('o') if !s.opted_out => {
                out.push(s.interaction(InteractionKind::OptOut));
                out.push(Effect::OptOut { session: s.id });
                s.opted_out = true;
                s.picks = Some(Vec::new());
                s.selected = 0;
                s.scanned = None;
                s.view = View::OptedOut;
            }
            Key::Char('d') => self.done(out),
            Key::Esc => match s.view {
                View::Why { of_scanned } => s.view = View::under_why(of_scanned),
                View::Product => s.view = View::Picks,
                View::Picks | View::OptedOut => self.done(out),
            },
            _ => {}
        }
    }

    fn done(&mut self, out: &mut Vec<Effect>) {
        if let Screen::Session(s) = &self.screen {
            out.push(s.interaction(InteractionKind::Done));
        }
        self.end_session(EndReason::Done, out);
    }

    fn on_key(&mut self, key: Key, out: &mut Vec<Effect>) {
        if let Screen::Session(s) = &mut self.screen {
            s.last_key = self.now;
        }
        match key {
            Key::Char(c) if c.is_ascii_alphanumeric() && c != 'o' && c != 'd' => {
                self.on_code_char(c);
            }
            Key::Enter => self.on_enter(out),
            Key::Backspace => {
                self.scan.code.pop();
                if let Screen::Session(s) = &mut self.screen {
                    if let Some(previous) = s.digit_selected_from.take() {
                        s.selected = previous;
                    }
                }
            }
            Key::Interrupt => {}
            _ => self.on_command(key, out),
        }
    }

    /// A pick comes on screen: its impression is recorded, and its copy requested when it has
    /// none yet.
    fn show(
        &mut self,
        session: SessionId,
        slot: Slot,
        view: PickView,
        out: &mut Vec<Effect>,
    ) -> Shown {
        out.push(Effect::RecordImpression {
            session,
            slot,
            target: view.target(),
        });
        let copy_request = view.copy.is_empty().then(|| RequestId(self.fresh_id()));
        if let Some(request) = copy_request {
            out.push(Effect::RequestCopy {
                session,
                request,
                slot,
                sku: view.sku.clone(),
                style: view.style.clone(),
            });
        }
        Shown {
            view,
            vote: None,
            copy_request,
        }
    }

    fn on_picks(
        &mut self,
        session: SessionId,
        picks: Vec<PickView>,
        personal: bool,
        out: &mut Vec<Effect>,
    ) {
        if self.session_id() != Some(session) {
            return;
        }
        let shown: Vec<Shown> = picks
            .into_iter()
            .take(MAX_PICKS)
            .enumerate()
            .map(|(i, view)| self.show(session, Slot::Pick(i), view, out))
            .collect();
        if let Some(s) = self.session_mut(session) {
            s.selected = 0;
            s.digit_selected_from = None;
            s.picks = Some(shown);
            s.personalised = personal;
        }
    }

    /// The session whose scanned product is still being looked up by `request`.
    fn looking_up(&self, request: RequestId) -> Option<SessionId> {
        match &self.screen {
            Screen::Session(s) if s.scanned == Some(Scanned::Looking(request)) => Some(s.id),
            _ => None,
        }
    }

    fn on_product(&mut self, request: RequestId, product: PickView, out: &mut Vec<Effect>) {
        let Some(session) = self.looking_up(request) else {
            return;
        };
        let shown = self.show(session, Slot::Scanned, product, out);
        if let Some(s) = self.session_mut(session) {
            s.scanned = Some(Scanned::Found(Box::new(shown)));
        }
    }

    fn on_copy(&mut self, request: RequestId, text: String, done: bool) {
        let Screen::Session(s) = &mut self.screen else {
            return;
        };
        let Some(shown) = s.streaming_mut(request) else {
            return;
        };
        if done {
            shown.copy_request = None;
            if !text.is_empty() {
                shown.view.copy = text;
            }
        } else if shown.view.copy.chars().count() < MAX_COPY_CHARS {
            shown.view.copy.push_str(&text);
        }
    }
}

/// Applies one input; returns what the daemon must do, in order.
pub fn update(state: &mut State, input: Input) -> Vec<Effect> {
    let mut out = Vec::new();
    match input {
        Input::Key(key) => state.on_key(key, &mut out),
        Input::Tick(now) => state.on_tick(now, &mut out),
        Input::Featured(featured) => {
            state.featured = featured;
            if state.attract_index >= state.featured.len() {
                state.attract_index = 0;
            }
        }
        Input::PicksReady {
            session,
            picks,
            personal,
        } => state.on_picks(session, picks, personal, &mut out),
        Input::ProductReady { request, product } => state.on_product(request, product, &mut out),
        Input::ProductUnknown { request } => {
            if let Some(s) = state
                .looking_up(request)
                .and_then(|id| state.session_mut(id))
            {
                s.scanned = Some(Scanned::Unknown);
            }
        }
        Input::CopyToken { request, text } => state.on_copy(request, text, false),
        Input::CopyDone { request, text } => state.on_copy(request, text, true),
    }
    out
}

#[cfg(test)]
pub(super) mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
    use super::*;

    pub(in crate::ui) const LOYALTY: &str = "LC90417733";

    pub(in crate::ui) fn pick(sku: &str, name: &str, copy: &str) -> PickView {
        PickView {
            sku: sku.into(),
            name: name.into(),
            brand: Some("Acme".into()),
            price_text: "USD 24.99".into(),
            copy: copy.into(),
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

    fn picks(s: &State) -> &[Shown] {
        let Screen::Session(sess) = &s.screen else {
            panic!("no session")
        };
        sess.picks.as_deref().unwrap()
    }

    fn key(s: &mut State, c: char) -> Vec<Effect> {
        update(s, Input::Key(Key::Char(c)))
    }

    #[test]
    fn scan_rule() {
        let r = ScanRule::default();
        assert!(r.is_loyalty("LC1234"));
        assert!(r.is_loyalty("lc12345678901234567890"));
        assert!(!r.is_loyalty("LC123"));
        assert!(!r.is_loyalty("LC123456789012345678901"));
        assert!(!r.is_loyalty("LC12A4"));
        assert!(!r.is_loyalty("CRNEG7BKMFFYHQ8Z"));
        assert!(!r.is_loyalty("23084"));
        assert!(!r.is_loyalty("L"));
        assert!(!r.is_loyalty("é1234"));
    }

    #[test]
    fn loyalty_scan_starts_a_session_and_the_code_leaves_only_in_the_effect() {
        let t0 = Instant::now();
        let mut s = start(t0);
        for c in LOYALTY.chars() {
            assert!(key(&mut s, c).is_empty());
            assert!(!format!("{s:?}").contains(LOYALTY));
        }
        let fx = update(&mut s, Input::Key(Key::Enter));
        match fx.as_slice() {
            [Effect::StartSession {
                session,
                loyalty: Some(code),
            }] => {
                assert_eq!(code.expose(), LOYALTY);
                assert_eq!(Some(*session), s.session_id());
            }
            other => panic!("{other:?}"),
        }
        assert!(!format!("{s:?}").contains(LOYALTY));
        assert!(!format!("{s:?}").contains("90417733"));
        assert_eq!(s.scan_len(), 0);
    }

    #[test]
    fn product_code_looks_up_the_product_in_an_anonymous_session() {
        let t0 = Instant::now();
        let mut s = start(t0);
        let fx = type_code(&mut s, "CRNEG7BKMFFYHQ8Z");
        let id = s.session_id().unwrap();
        assert_eq!(
            fx,
            vec![
                Effect::StartSession {
                    session: id,
                    loyalty: None
                },
                Effect::LookupProduct {
                    session: id,
                    request: lookup_request(&s),
                    sku: "CRNEG7BKMFFYHQ8Z".into()
                }
            ]
        );
        let request = lookup_request(&s);
        let fx = update(
            &mut s,
            Input::ProductReady {
                request,
                product: pick("CRNEG7BKMFFYHQ8Z", "Door Curtain", ""),
            },
        );
        assert!(matches!(
            fx.as_slice(),
            [
                Effect::RecordImpression {
                    slot: Slot::Scanned,
                    ..
                },
                Effect::RequestCopy {
                    slot: Slot::Scanned,
                    ..
                }
            ]
        ));
    }

    #[test]
    fn picks_record_impressions_and_request_missing_copy() {
        let t0 = Instant::now();
        let mut s = start(t0);
        type_code(&mut s, LOYALTY);
        let id = s.session_id().unwrap();
        let fx = update(
            &mut s,
            Input::PicksReady {
                session: id,
                picks: vec![
                    pick("A", "a", "cached copy"),
                    pick("B", "b", ""),
                    pick("C", "c", ""),
                    pick("D", "d", ""),
                ],
                personal: true,
            },
        );
        let impressions = fx
            .iter()
            .filter(|e| matches!(e, Effect::RecordImpression { .. }))
            .count();
        let requests: Vec<Slot> = fx
            .iter()
            .filter_map(|e| match e {
                Effect::RequestCopy { slot, .. } => Some(*slot),
                _ => None,
            })
            .collect();
        assert_eq!(impressions, 3);
        assert_eq!(requests, vec![Slot::Pick(1), Slot::Pick(2)]);
    }

    #[test]
    fn a_loyalty_session_is_personal_only_when_its_picks_are() {
        let t0 = Instant::now();
        let mut s = start(t0);
        type_code(&mut s, LOYALTY);
        let id = s.session_id().unwrap();
        let personal = |s: &State| matches!(&s.screen, Screen::Session(x) if x.personal());
        assert!(personal(&s), "a loyalty scan expects personal picks");
        update(
            &mut s,
            Input::PicksReady {
                session: id,
                picks: vec![pick("A", "a", "x")],
                personal: false,
            },
        );
        assert!(!personal(&s), "no consent (or unknown code): popular picks");
    }

    #[test]
    fn streaming_tokens_go_to_the_right_pick() {
        let t0 = Instant::now();
        let (mut s, _) = with_picks(t0);
        let (second, third) = (
            copy_request(&s, Slot::Pick(1)),
            copy_request(&s, Slot::Pick(2)),
        );
        assert_ne!(second, third);
        for t in ["Keeps ", "you ", "dry."] {
            update(
                &mut s,
                Input::CopyToken {
                    request: second,
                    text: t.into(),
                },
            );
        }
        let p = picks(&s);
        assert_eq!(p[1].view.copy, "Keeps you dry.");
        assert_eq!(p[1].copy_request, Some(second));
        assert_eq!(p[0].view.copy, "Light on the trail.");
        assert_eq!(p[0].copy_request, None);
        assert_eq!(p[2].view.copy, "");

        update(
            &mut s,
            Input::CopyDone {
                request: second,
                text: "Stays dry in the rain.".into(),
            },
        );
        // Late tokens after done, and tokens for unknown requests, change nothing.
        for request in [second, RequestId(999)] {
            update(
                &mut s,
                Input::CopyToken {
                    request,
                    text: " extra".into(),
                },
            );
        }
        let p = picks(&s);
        assert_eq!(p[1].view.copy, "Stays dry in the rain.");
        assert_eq!(p[1].copy_request, None);
        assert_eq!(p[2].view.copy, "");
        assert_eq!(p[2].copy_request, Some(third));
    }

    #[test]
    fn a_late_answer_for_an_earlier_scan_is_ignored() {
        let t0 = Instant::now();
        let (mut s, _) = with_picks(t0);
        type_code(&mut s, "FIRST");
        let first = lookup_request(&s);
        type_code(&mut s, "SECOND");
        let second = lookup_request(&s);
        let fx = update(
            &mut s,
            Input::ProductReady {
                request: first,
                product: pick("FIRST", "First Thing", ""),
            },
        );
        assert!(fx.is_empty());
        update(&mut s, Input::ProductUnknown { request: first });
        assert_eq!(lookup_request(&s), second);
        update(
            &mut s,
            Input::ProductReady {
                request: second,
                product: pick("SECOND", "Second Thing", ""),
            },
        );
        let copy = copy_request(&s, Slot::Scanned);
        assert!(format!("{s:?}").contains("Second Thing"));
        // Streaming for a replaced scan does not land on the new one.
        type_code(&mut s, "THIRD");
        let request = lookup_request(&s);
        update(
            &mut s,
            Input::ProductReady {
                request,
                product: pick("THIRD", "Third Thing", ""),
            },
        );
        update(
            &mut s,
            Input::CopyToken {
                request: copy,
                text: "for the second".into(),
            },
        );
        assert!(!format!("{s:?}").contains("for the second"));
    }

    #[test]
    fn selection_votes_and_why() {
        let t0 = Instant::now();
        let (mut s, _) = with_picks(t0);
        let fx = update(&mut s, Input::Key(Key::Right));
        assert!(matches!(
            fx.as_slice(),
            [Effect::RecordInteraction { kind: InteractionKind::Select, target: Some(t), .. }]
                if t.sku == "SKU-2"
        ));
        let fx = key(&mut s, '+');
        assert!(matches!(
            fx.as_slice(),
            [Effect::RecordInteraction { kind: InteractionKind::ThumbUp, target: Some(t), .. }]
                if t.sku == "SKU-2" && t.style == "benefit"
        ));
        update(&mut s, Input::Key(Key::Left));
        update(&mut s, Input::Key(Key::Left));
        let Screen::Session(sess) = &s.screen else {
            panic!()
        };
        assert_eq!(sess.selected, 2);
        assert_eq!(sess.picks.as_ref().unwrap()[1].vote, Some(Vote::Up));

        let fx = key(&mut s, '?');
        assert!(matches!(
            fx.as_slice(),
            [Effect::RecordInteraction {
                kind: InteractionKind::Why,
                ..
            }]
        ));
        assert!(
            matches!(&s.screen, Screen::Session(x) if x.view == View::Why { of_scanned: false })
        );
        assert!(key(&mut s, '?').is_empty());
        assert!(matches!(&s.screen, Screen::Session(x) if x.view == View::Picks));
        key(&mut s, '?');
        update(&mut s, Input::Key(Key::Esc));
        assert!(matches!(&s.screen, Screen::Session(x) if x.view == View::Picks));
    }

    #[test]
    fn a_lone_digit_selects_but_a_numeric_code_is_a_scan() {
        let t0 = Instant::now();
        let (mut s, id) = with_picks(t0);
        // "2" then "+": selection of pick 2 is recorded, then the vote.
        assert!(key(&mut s, '2').is_empty());
        let fx = key(&mut s, '+');
        assert!(matches!(
            fx.as_slice(),
            [
                Effect::RecordInteraction { kind: InteractionKind::Select, target: Some(a), .. },
                Effect::RecordInteraction { kind: InteractionKind::ThumbUp, target: Some(b), .. },
            ] if a.sku == "SKU-2" && b.sku == "SKU-2"
        ));
        // "3" alone, resolved by the scan gap.
        key(&mut s, '3');
        let fx = update(&mut s, Input::Tick(t0 + Duration::from_secs(6)));
        assert!(matches!(
            fx.as_slice(),
            [Effect::RecordInteraction { kind: InteractionKind::Select, target: Some(t), .. }]
                if t.sku == "SKU-3"
        ));
        // "23084" + Enter: a product scan; the selection goes back to pick 3.
        let fx = type_code(&mut s, "23084");
        assert_eq!(
            fx,
            vec![Effect::LookupProduct {
                session: id,
                request: lookup_request(&s),
                sku: "23084".into()
            }]
        );
        let Screen::Session(sess) = &s.screen else {
            panic!()
        };
        assert_eq!(sess.selected, 2);
        assert_eq!(sess.view, View::Product);
    }

    #[test]
    fn opt_out_emits_opt_out_and_clears_personal_picks() {
        let t0 = Instant::now();
        let (mut s, id) = with_picks(t0);
        let fx = key(&mut s, 'o');
        assert!(matches!(
            fx.as_slice(),
            [
                Effect::RecordInteraction {
                    kind: InteractionKind::OptOut,
                    ..
                },
                Effect::OptOut { session }
            ] if *session == id
        ));
        let Screen::Session(sess) = &s.screen else {
            panic!()
        };
        assert_eq!(sess.view, View::OptedOut);
        assert!(!sess.personal());
        assert_eq!(sess.picks, Some(Vec::new()));
        assert!(!format!("{s:?}").contains("Trail Runner"));
        // Effective immediately and only once; any key dismisses the notice.
        assert!(key(&mut s, '?').is_empty());
        assert!(key(&mut s, 'o').is_empty());
    }

    #[test]
    fn timeout_resets_to_attract_with_no_shopper_data_left() {
        let t0 = Instant::now();
        let (mut s, id) = with_picks(t0);
        update(
            &mut s,
            Input::Featured(vec![pick("F1", "Featured", "Generic.")]),
        );
        key(&mut s, '+');
        type_code(&mut s, "SKU9");
        let request = lookup_request(&s);
        update(
            &mut s,
            Input::ProductReady {
                request,
                product: pick("SKU9", "Scanned Thing", ""),
            },
        );
        assert!(format!("{s:?}").contains("Trail Runner"));

        // Still alive just before the timeout; a key restarts the clock.
        let t1 = t0 + Duration::from_secs(44);
        let no_end = |fx: Vec<Effect>| fx.iter().all(|e| !matches!(e, Effect::EndSession { .. }));
        assert!(no_end(update(&mut s, Input::Tick(t1))));
        key(&mut s, '7'); // an unfinished scan
        assert!(no_end(update(
            &mut s,
            Input::Tick(t1 + Duration::from_secs(44))
        )));
        key(&mut s, '8');
        let t2 = t1 + Duration::from_secs(44 + 45);
        let fx = update(&mut s, Input::Tick(t2));
        assert!(fx.contains(&Effect::EndSession {
            session: id,
            reason: EndReason::Timeout
        }));
        assert!(matches!(s.screen, Screen::Goodbye { .. }));
        let t3 = t2 + Duration::from_secs(3);
        assert!(update(&mut s, Input::Tick(t3)).is_empty());

        let mut fresh = start(t3);
        update(
            &mut fresh,
            Input::Featured(vec![pick("F1", "Featured", "Generic.")]),
        );
        fresh.attract_since = s.attract_since;
        fresh.attract_index = s.attract_index;
        fresh.next_id = s.next_id;
        fresh.scan.last_at = s.scan.last_at;
        assert_eq!(s, fresh);
        let after = format!("{s:?}");
        for gone in ["Trail Runner", "Scanned Thing", "SKU", LOYALTY] {
            assert!(!after.contains(gone), "{gone} left in {after}");
        }
    }

    #[test]
    fn done_ends_the_session_and_new_loyalty_replaces_it() {
        let t0 = Instant::now();
        let (mut s, id) = with_picks(t0);
        let fx = type_code(&mut s, "LC5555");
        assert!(matches!(
            fx.as_slice(),
            [
                Effect::EndSession { session, reason: EndReason::NewShopper },
                Effect::StartSession { loyalty: Some(_), .. }
            ] if *session == id
        ));
        let id2 = s.session_id().unwrap();
        assert_ne!(id, id2);
        // Answers for the old session are ignored.
        update(
            &mut s,
            Input::PicksReady {
                session: id,
                picks: vec![pick("OLD", "old", "x")],
                personal: true,
            },
        );
        assert!(!format!("{s:?}").contains("OLD"));

        let fx = key(&mut s, 'd');
        assert!(matches!(
            fx.as_slice(),
            [
                Effect::RecordInteraction {
                    kind: InteractionKind::Done,
                    target: None,
                    ..
                },
                Effect::EndSession {
                    reason: EndReason::Done,
                    ..
                }
            ]
        ));
        assert_eq!(s.session_id(), None);
    }

    #[test]
    fn attract_loop_cycles_featured_products() {
        let t0 = Instant::now();
        let mut s = start(t0);
        update(
            &mut s,
            Input::Featured(vec![pick("F1", "one", "x"), pick("F2", "two", "y")]),
        );
        update(&mut s, Input::Tick(t0 + Duration::from_secs(5)));
        assert_eq!(s.attract_index, 0);
        update(&mut s, Input::Tick(t0 + Duration::from_secs(6)));
        assert_eq!(s.attract_index, 1);
        update(&mut s, Input::Tick(t0 + Duration::from_secs(12)));
        assert_eq!(s.attract_index, 0);
        // Command keys do nothing while idle.
        for k in [
            Key::Left,
            Key::Esc,
            Key::Char('o'),
            Key::Char('d'),
            Key::Char('?'),
        ] {
            assert!(update(&mut s, Input::Key(k)).is_empty());
        }
        assert_eq!(s.session_id(), None);
    }

    #[test]
    fn unfinished_and_overlong_scans_are_dropped() {
        let t0 = Instant::now();
        let mut s = start(t0);
        key(&mut s, 'L');
        key(&mut s, 'C');
        assert_eq!(s.scan_len(), 2);
        update(&mut s, Input::Tick(t0 + Duration::from_secs(5)));
        assert_eq!(s.scan_len(), 0);
        let fx = type_code(&mut s, &"9".repeat(100));
        assert!(fx.is_empty());
        assert_eq!(s.scan_len(), 0);
        assert!(update(&mut s, Input::Key(Key::Enter)).is_empty());
    }
}
