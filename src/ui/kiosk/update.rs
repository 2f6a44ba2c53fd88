//! The transitions of the shopper screen: [`State`] (the screen as a whole: attract loop, session
//! or goodbye, the scan buffer, the clock) and [`update`], which applies one [`Input`] and returns
//! the [`Effect`]s the daemon must carry out, in order.
//!
//! Invariants:
//! - [`update`] is the only way the state changes, and it does no I/O: time comes from
//!   [`Input::Tick`] and keys are timed by the last tick.
//! - Ending a session replaces [`Screen::Session`] and clears the scan buffer, so nothing about
//!   the shopper stays; ids come from one counter and are never reused.
//! - Every answer is checked against the session or request on screen before it changes
//!   anything.
//! - Copy asked for at `now` is complete on screen by `now + copy_wait` plus one tick: model
//!   copy, the worker's template, or — when nothing complete came — the pick's template put up
//!   by the tick ([`Effect::CopyFellBack`] tells the daemon either way).

use std::time::{Duration, Instant};

use super::messages::{
    Effect, EndReason, FellBack, Input, InteractionKind, PickView, RequestId, SessionId, Slot, Vote,
};
use super::scan::{Pushed, ScanBuffer, ScanRule};
use super::session::{Scanned, Session, Shown, View, MAX_PICKS};
use crate::locale::Locale;
use crate::ui::{Key, Secret};

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
    /// Copy not complete this long after it was asked for is replaced by the pick's template
    /// (the engine's budget plus [`COPY_GRACE`]).
    pub copy_wait: Duration,
    pub scan_rule: ScanRule,
    /// The language of the screen's words (its message catalog).
    pub locale: Locale,
}

/// Beyond the engine's budget the screen waits this long for the worker's own answer (its
/// template, sent when the budget runs out) before it puts up the template itself.
pub const COPY_GRACE: Duration = Duration::from_millis(500);

impl Default for KioskConfig {
    fn default() -> Self {
        Self {
            session_timeout: Duration::from_secs(45),
            attract_every: Duration::from_secs(6),
            goodbye_for: Duration::from_secs(3),
            scan_gap: Duration::from_secs(5),
            // The engine's default budget (`engine.budget_ms`) plus the grace.
            copy_wait: Duration::from_secs(4) + COPY_GRACE,
            scan_rule: ScanRule::default(),
            locale: Locale::default(),
        }
    }
}

impl KioskConfig {
    /// The defaults with the session timeout and the card schemes of the kiosk's configuration
    /// (the daemon adds the catalog, [`ScanRule::with_products`]).
    pub fn from_config(config: &crate::config::Config) -> Self {
        Self {
            session_timeout: Duration::from_secs(config.session_timeout_secs),
            copy_wait: Duration::from_millis(config.engine.budget_ms) + COPY_GRACE,
            scan_rule: ScanRule::new(config.scan.cards.clone()),
            locale: config.locale,
            ..Self::default()
        }
    }
}

/// What the screen shows.
#[derive(Debug, PartialEq)]
pub(in crate::ui) enum Screen {
    Attract,
    Session(Box<Session>),
    Goodbye { until: Instant },
}

/// The whole shopper screen.
#[derive(Debug, PartialEq)]
pub struct State {
    config: KioskConfig,
    pub(in crate::ui) now: Instant,
    pub(in crate::ui) featured: Vec<PickView>,
    pub(in crate::ui) attract_index: usize,
    attract_since: Instant,
    /// Source of session and request ids.
    next_id: u64,
    scan: ScanBuffer,
    pub(in crate::ui) screen: Screen,
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
            scan: ScanBuffer::new(now),
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

    /// The language the screen is shown in.
    pub fn locale(&self) -> Locale {
        self.config.locale
    }

    /// Characters waiting in the scan buffer (their count only, for a masked indicator).
    pub fn scan_len(&self) -> usize {
        self.scan.len()
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
        self.screen = Screen::Session(Box::new(Session::new(id, is_loyalty, self.now)));
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
            self.scan.clear();
        }
    }

    fn on_tick(&mut self, now: Instant, out: &mut Vec<Effect>) {
        self.now = now;
        if self.scan.is_stale(now, self.config.scan_gap) {
            self.resolve_lone_key(out);
        }
        if let Screen::Session(s) = &mut self.screen {
            let session = s.id;
            for shown in s.shown_mut().filter(|shown| shown.overdue(now)) {
                if let Some(request) = shown.fall_back() {
                    out.push(Effect::CopyFellBack {
                        session,
                        request,
                        reason: FellBack::Deadline,
                        target: shown.view.target(),
                        text: shown.view.copy.clone(),
                    });
                }
            }
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
        self.scan.clear();
        if let Screen::Session(s) = &mut self.screen {
            if s.digit_selected_from.take().is_some() {
                out.push(s.interaction(InteractionKind::Select));
            }
        }
    }

    fn on_code_char(&mut self, c: char) {
        let first = match self.scan.push(c, self.now) {
            Pushed::Overflow => return,
            Pushed::First => true,
            Pushed::More => false,
        };
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
        if lone_digit || self.scan.overflowed() || self.scan.is_empty() {
            self.resolve_lone_key(out);
            return;
        }
        let code = self.scan.take();
        if let Some(card) = self.config.scan_rule.card(code.expose()) {
            drop(code);
            self.start_session(Some(Secret::new(card.expose().to_owned())), out);
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
        if !self.scan.is_empty() {
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
            Key::Char('o') => {
                // Opted out earlier in this visit: `o` again turns personalisation back on, and
                // the daemon answers with new picks.
                out.push(Effect::OptIn { session: s.id });
                s.opted_out = false;
                s.picks = None;
                s.selected = 0;
                s.scanned = None;
                s.view = View::Picks;
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
            // Inside a code being scanned a hyphen is part of it (`FW-RUN-0001`); on its own
            // it is the thumbs-down key.
            Key::Char('-') if !self.scan.is_empty() => self.on_code_char('-'),
            Key::Enter => self.on_enter(out),
            Key::Backspace => {
                self.scan.pop();
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

    /// A tap on pick `index` (found by [`crate::ui::pick_at`]): selects it like ←/→ would.
    fn on_tap(&mut self, index: usize, out: &mut Vec<Effect>) {
        if !self.scan.is_empty() {
            self.resolve_lone_key(out);
        }
        let Screen::Session(s) = &mut self.screen else {
            return;
        };
        s.last_key = self.now;
        if s.view == View::Picks && index < s.picks_len() {
            s.selected = index;
            out.push(s.interaction(InteractionKind::Select));
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
            copy_due: copy_request.map(|_| self.now + self.config.copy_wait),
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

    fn on_copy(
        &mut self,
        request: RequestId,
        text: String,
        done: Option<Option<FellBack>>,
        out: &mut Vec<Effect>,
    ) {
        let Screen::Session(s) = &mut self.screen else {
            return;
        };
        let session = s.id;
        if let Some(shown) = s.streaming_mut(request) {
            shown.receive_copy(text, done.is_some());
            if let Some(Some(reason)) = done {
                out.push(Effect::CopyFellBack {
                    session,
                    request,
                    reason,
                    target: shown.view.target(),
                    text: shown.view.copy.clone(),
                });
            }
        }
    }
}

/// Applies one input; returns what the daemon must do, in order.
pub fn update(state: &mut State, input: Input) -> Vec<Effect> {
    let mut out = Vec::new();
    match input {
        Input::Key(key) => state.on_key(key, &mut out),
        Input::TapPick(index) => state.on_tap(index, &mut out),
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
        Input::CopyToken { request, text } => state.on_copy(request, text, None, &mut out),
        Input::CopyDone {
            request,
            text,
            fell_back,
        } => state.on_copy(request, text, Some(fell_back), &mut out),
    }
    out
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
    use std::time::{Duration, Instant};

    use super::super::tests::{
        copy_request, key, lookup_request, pick, picks, start, type_code, with_picks, LOYALTY,
    };
    use super::*;

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
                fell_back: None,
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

    /// A stalled copy never stays on screen half-written: at the deadline the streamed words
    /// give way to the pick's complete template at once, each pick is reported once, and
    /// nothing later of those requests lands.
    #[test]
    fn copy_not_done_by_its_deadline_is_replaced_by_the_template_at_once() {
        let t0 = Instant::now();
        let (mut s, id) = with_picks(t0);
        let (second, third) = (
            copy_request(&s, Slot::Pick(1)),
            copy_request(&s, Slot::Pick(2)),
        );
        for t in ["A ", "shell ", "that ", "keeps"] {
            update(
                &mut s,
                Input::CopyToken {
                    request: second,
                    text: t.into(),
                },
            );
        }
        let wait = KioskConfig::default().copy_wait;
        let fx = update(&mut s, Input::Tick(t0 + wait - Duration::from_millis(1)));
        assert!(fx.is_empty(), "{fx:?}");
        assert_eq!(picks(&s)[1].view.copy, "A shell that keeps");
        assert_eq!(picks(&s)[1].copy_request, Some(second));

        let fx = update(&mut s, Input::Tick(t0 + wait));
        let p = picks(&s);
        let fell_back = |request, pick: &Shown| Effect::CopyFellBack {
            session: id,
            request,
            reason: FellBack::Deadline,
            target: pick.view.target(),
            text: pick.view.template.clone(),
        };
        assert_eq!(fx, vec![fell_back(second, &p[1]), fell_back(third, &p[2])]);
        assert_eq!(p[1].view.copy, p[1].view.template);
        assert!(p[1].view.copy.starts_with("Rain Shell, now just USD 24.99"));
        assert_eq!(p[2].view.copy, p[2].view.template);
        assert!(p
            .iter()
            .all(|p| p.copy_request.is_none() && p.copy_due.is_none()));
        assert_eq!(p[0].view.copy, "Light on the trail.", "done copy stays");

        // Nothing later of those requests lands, and nothing is reported twice.
        for request in [second, third] {
            update(
                &mut s,
                Input::CopyToken {
                    request,
                    text: " warm".into(),
                },
            );
            let fx = update(
                &mut s,
                Input::CopyDone {
                    request,
                    text: "Late model copy.".into(),
                    fell_back: None,
                },
            );
            assert!(fx.is_empty());
        }
        assert!(update(&mut s, Input::Tick(t0 + wait * 2)).is_empty());
        let p = picks(&s);
        assert_eq!(p[1].view.copy, p[1].view.template);
        assert_eq!(p[2].view.copy, p[2].view.template);
    }

    /// The worker's own template (its budget ran out mid-copy) replaces what streamed and is
    /// reported once, as `Budget`; the screen's deadline then has nothing left to do.
    #[test]
    fn the_workers_budget_template_replaces_the_streamed_words_and_is_reported() {
        let t0 = Instant::now();
        let (mut s, id) = with_picks(t0);
        let second = copy_request(&s, Slot::Pick(1));
        update(
            &mut s,
            Input::CopyToken {
                request: second,
                text: "A sleeping bag that keeps".into(),
            },
        );
        let template = picks(&s)[1].view.template.clone();
        let fx = update(
            &mut s,
            Input::CopyDone {
                request: second,
                text: template.clone(),
                fell_back: Some(FellBack::Budget),
            },
        );
        assert_eq!(
            fx,
            vec![Effect::CopyFellBack {
                session: id,
                request: second,
                reason: FellBack::Budget,
                target: picks(&s)[1].view.target(),
                text: template.clone(),
            }]
        );
        assert_eq!(picks(&s)[1].view.copy, template);
        let fx = update(&mut s, Input::Tick(t0 + KioskConfig::default().copy_wait));
        assert!(
            fx.iter()
                .all(|e| !matches!(e, Effect::CopyFellBack { request, .. } if *request == second)),
            "{fx:?}"
        );
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
        // "3" alone, resolved by the scan gap (the copy deadline of the picks still streaming
        // passes on the same tick; its effects are tested on their own).
        key(&mut s, '3');
        let fx: Vec<Effect> = update(&mut s, Input::Tick(t0 + Duration::from_secs(6)))
            .into_iter()
            .filter(|e| !matches!(e, Effect::CopyFellBack { .. }))
            .collect();
        assert!(matches!(
            fx.as_slice(),
            [Effect::RecordInteraction { kind: InteractionKind::Select, target: Some(t), .. }]
                if t.sku == "SKU-3"
        ));
        // A code with hyphens is one product scan, not a vote.
        let fx = type_code(&mut s, "FW-RUN-0001");
        assert_eq!(
            fx,
            vec![Effect::LookupProduct {
                session: id,
                request: lookup_request(&s),
                sku: "FW-RUN-0001".into()
            }]
        );
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
        // Effective immediately; any key dismisses the notice.
        assert!(key(&mut s, '?').is_empty());
        // `o` again opts back in: the daemon is asked, and its new picks are personal again.
        let fx = key(&mut s, 'o');
        assert!(matches!(fx.as_slice(), [Effect::OptIn { session }] if *session == id));
        let Screen::Session(sess) = &s.screen else {
            panic!()
        };
        assert!(sess.picks.is_none() && !sess.opted_out);
        update(
            &mut s,
            Input::PicksReady {
                session: id,
                picks: vec![pick("A", "a", "")],
                personal: true,
            },
        );
        let Screen::Session(sess) = &s.screen else {
            panic!()
        };
        assert!(sess.personal());
        // And out again: opting out works any number of times.
        let fx = key(&mut s, 'o');
        assert!(
            fx.iter().any(|e| matches!(e, Effect::OptOut { .. })),
            "{fx:?}"
        );
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
}
