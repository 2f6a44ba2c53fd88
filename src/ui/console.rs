//! The technician console as a pure state machine: [`update`] turns an [`Input`] into a new
//! [`State`] and the [`Effect`]s the console client must carry out over the control socket.
//!
//! Flow: PIN entry (digits, shown as `*`) → [`Effect::CheckPin`] → the daemon's answer
//! [`Input::PinResult`] unlocks the tabs, refuses, or locks entry until a time it names. Once
//! unlocked: tabs Status, Logs, Content, Actions, Config (Tab/Shift-Tab or 1-5; `q` or Ctrl+C
//! quits). Every action needs an explicit `y` on a confirmation step before [`Effect::Run`].
//!
//! Invariants:
//! - The PIN and a loyalty number typed for an erasure live only in [`Secret`]s (their `Debug`
//!   shows the length, views show `*`), and the confirming key moves them into the effect; cancel
//!   drops them.
//! - Nothing but a [`Input::PinResult`] with `ok` unlocks; while locked, keys other than quit do
//!   nothing.
//! - The log and content lists are ring buffers of bounded size.

use std::collections::VecDeque;
use std::time::{Duration, Instant};

use tracing::Level;

use super::{Key, Secret};
use crate::control::PIN_DIGITS;
use crate::locale::Locale;

/// Log lines kept for the Logs tab.
pub const LOG_CAPACITY: usize = 1_000;
/// Copy items kept for the Content tab.
pub const CONTENT_CAPACITY: usize = 200;
const MAX_LOYALTY_CHARS: usize = 64;

/// Health figures for the Status tab, gathered by the daemon and sent over the control socket.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct StatusView {
    pub model_name: String,
    /// Full hex sha256; the tab shows a short prefix.
    pub model_hash: String,
    /// "loading", "ready", "failed: …" in plain words.
    pub model_state: String,
    pub tokens_per_sec: Option<f64>,
    /// 0.0-1.0.
    pub cache_hit_rate: Option<f64>,
    /// Guardrail verdict counts, e.g. `("pass", 120)`.
    pub verdicts: Vec<(String, u64)>,
    pub db_bytes: u64,
    /// Row counts by table or kind, e.g. `("shoppers", 42)`.
    pub db_counts: Vec<(String, u64)>,
    /// Outbox batches not yet acknowledged by HQ.
    pub sync_backlog: Option<u64>,
    pub disk_free_bytes: Option<u64>,
    /// Storage trouble in plain words (a full disk, feedback held in memory); `None` when fine.
    #[serde(default)]
    pub storage_alarm: Option<String>,
    /// Feedback events held in memory because the database took no writes.
    #[serde(default)]
    pub feedback_waiting: u64,
    /// Feedback events dropped since the daemon started (the memory spool was full).
    #[serde(default)]
    pub feedback_dropped: u64,
    pub uptime: Duration,
    pub cpu_temp_celsius: Option<f64>,
    /// Copy the screen replaced by its template for lack of time since start, by reason
    /// (`budget`: the worker's budget ran out; `deadline`: the screen stopped waiting).
    #[serde(default)]
    pub copy_fallbacks: Vec<(String, u64)>,
    /// The copy worker's latency over its latest screen jobs.
    #[serde(default)]
    pub copy_latency: Option<CopyLatency>,
}

/// Latency of the copy worker over its recent screen jobs (request to answer).
#[derive(Debug, Clone, Copy, PartialEq, Default, serde::Serialize, serde::Deserialize)]
pub struct CopyLatency {
    /// Jobs answered since start.
    pub answered: u64,
    /// The latest jobs the percentiles are taken over.
    pub samples: usize,
    pub p50_ms: f64,
    pub p99_ms: f64,
    pub max_ms: f64,
}

/// One line of the daemon's log.
#[derive(Debug, Clone, PartialEq)]
pub struct LogLine {
    /// Date and time as the daemon formatted it (`YYYY-MM-DD HH:MM:SS`), shown as is.
    pub at: String,
    pub level: Level,
    pub target: String,
    pub message: String,
}

/// One piece of copy the kiosk produced.
#[derive(Debug, Clone, PartialEq)]
pub struct ContentItem {
    pub at: String,
    pub sku: String,
    pub style: String,
    /// "cache", "model", "template"…
    pub source: String,
    /// Guardrail verdict in plain words.
    pub verdict: String,
    pub text: String,
}

/// One line of the effective configuration, secrets already redacted by the caller.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigLine {
    pub key: String,
    pub value: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Tab {
    Status,
    Logs,
    Content,
    Actions,
    Config,
}

impl Tab {
    pub const ALL: [Tab; 5] = [
        Tab::Status,
        Tab::Logs,
        Tab::Content,
        Tab::Actions,
        Tab::Config,
    ];

    /// The message id of the tab's title.
    pub fn title_id(self) -> &'static str {
        match self {
            Tab::Status => "console-tab-status",
            Tab::Logs => "console-tab-logs",
            Tab::Content => "console-tab-content",
            Tab::Actions => "console-tab-actions",
            Tab::Config => "console-tab-config",
        }
    }

    pub(super) fn index(self) -> usize {
        Tab::ALL.iter().position(|t| *t == self).unwrap_or(0)
    }

    fn step(self, by: isize) -> Tab {
        let n = Tab::ALL.len() as isize;
        let i = (self.index() as isize + by).rem_euclid(n) as usize;
        Tab::ALL.get(i).copied().unwrap_or(Tab::Status)
    }
}

/// The actions a technician can run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ActionKind {
    SelfTest,
    WarmCache,
    RotateKeys,
    EraseShopper,
    ReloadConfig,
}

impl ActionKind {
    pub const ALL: [ActionKind; 5] = [
        ActionKind::SelfTest,
        ActionKind::WarmCache,
        ActionKind::RotateKeys,
        ActionKind::EraseShopper,
        ActionKind::ReloadConfig,
    ];

    /// The message id of the action's title.
    pub fn title_id(self) -> &'static str {
        match self {
            ActionKind::SelfTest => "console-action-self-test",
            ActionKind::WarmCache => "console-action-warm-cache",
            ActionKind::RotateKeys => "console-action-rotate-keys",
            ActionKind::EraseShopper => "console-action-erase",
            ActionKind::ReloadConfig => "console-action-reload",
        }
    }
}

/// An action ready to run, with what it needs.
#[derive(Debug, PartialEq)]
pub enum Action {
    SelfTest,
    WarmCache,
    RotateKeys,
    EraseShopper { loyalty: Secret },
    ReloadConfig,
}

impl Action {
    pub fn kind(&self) -> ActionKind {
        match self {
            Action::SelfTest => ActionKind::SelfTest,
            Action::WarmCache => ActionKind::WarmCache,
            Action::RotateKeys => ActionKind::RotateKeys,
            Action::EraseShopper { .. } => ActionKind::EraseShopper,
            Action::ReloadConfig => ActionKind::ReloadConfig,
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub enum Input {
    Key(Key),
    Tick(Instant),
    /// The daemon's answer to [`Effect::CheckPin`]; `locked_until` set when entry is locked.
    PinResult {
        ok: bool,
        locked_until: Option<Instant>,
    },
    Status(StatusView),
    Log(LogLine),
    Content(ContentItem),
    Config(Vec<ConfigLine>),
    /// An action finished.
    ActionDone {
        kind: ActionKind,
        ok: bool,
        message: String,
    },
}

#[derive(Debug, PartialEq)]
pub enum Effect {
    CheckPin { pin: Secret },
    Run(Action),
    Quit,
}

#[derive(Debug, PartialEq)]
pub(super) enum Auth {
    Entering { pin: Secret, wrong: bool },
    Checking,
    Locked { until: Instant },
    Unlocked,
}

/// Where the Actions tab is.
#[derive(Debug, PartialEq)]
pub(super) enum ActionStep {
    Choosing,
    /// Typing the loyalty number of the shopper to erase (shown masked).
    EnteringLoyalty(Secret),
    Confirm {
        kind: ActionKind,
        loyalty: Option<Secret>,
    },
    Running(ActionKind),
}

#[derive(Debug, Clone, PartialEq)]
pub(super) struct Outcome {
    pub(super) kind: ActionKind,
    pub(super) ok: bool,
    pub(super) message: String,
}

/// The whole console.
#[derive(Debug, PartialEq)]
pub struct State {
    pub(super) now: Instant,
    pub(super) auth: Auth,
    pub(super) tab: Tab,
    pub(super) status: Option<StatusView>,
    pub(super) logs: VecDeque<LogLine>,
    /// Lines at this level or more severe are shown.
    pub(super) log_level: Level,
    /// Lines scrolled up from the newest.
    pub(super) log_scroll: usize,
    pub(super) content: VecDeque<ContentItem>,
    pub(super) config: Vec<ConfigLine>,
    pub(super) action_selected: usize,
    pub(super) action_step: ActionStep,
    pub(super) last_outcome: Option<Outcome>,
    /// The language of the console's words (its message catalog).
    pub(super) locale: Locale,
}

impl State {
    /// Locked, asking for the PIN, in English ([`State::with_locale`] for another language).
    pub fn new(now: Instant) -> Self {
        Self {
            locale: Locale::default(),
            now,
            auth: Auth::Entering {
                pin: Secret::default(),
                wrong: false,
            },
            tab: Tab::Status,
            status: None,
            logs: VecDeque::new(),
            log_level: Level::INFO,
            log_scroll: 0,
            content: VecDeque::new(),
            config: Vec::new(),
            action_selected: 0,
            action_step: ActionStep::Choosing,
            last_outcome: None,
        }
    }

    /// The same console in `locale`'s words.
    pub fn with_locale(mut self, locale: Locale) -> Self {
        self.locale = locale;
        self
    }

    pub fn is_unlocked(&self) -> bool {
        self.auth == Auth::Unlocked
    }

    /// Log lines that pass the level filter, oldest first.
    pub(super) fn visible_logs(&self) -> impl DoubleEndedIterator<Item = &LogLine> {
        self.logs.iter().filter(|l| l.level <= self.log_level)
    }

    fn on_auth_key(&mut self, key: Key, out: &mut Vec<Effect>) {
        let Auth::Entering { pin, wrong } = &mut self.auth else {
            return;
        };
        match key {
            Key::Char(c) if c.is_ascii_digit() && pin.len() < *PIN_DIGITS.end() => {
                pin.push(c);
                *wrong = false;
            }
            Key::Backspace => pin.pop(),
            Key::Enter if PIN_DIGITS.contains(&pin.len()) => {
                out.push(Effect::CheckPin { pin: pin.take() });
                self.auth = Auth::Checking;
            }
            _ => {}
        }
    }

    fn on_key(&mut self, key: Key, out: &mut Vec<Effect>) {
        if key == Key::Interrupt {
            out.push(Effect::Quit);
            return;
        }
        if !self.is_unlocked() {
            if matches!(key, Key::Esc | Key::Char('q')) {
                out.push(Effect::Quit);
            } else {
                self.on_auth_key(key, out);
            }
            return;
        }
        if self.tab == Tab::Actions && self.on_action_key(key, out) {
            return;
        }
        match key {
            Key::Char('q') => out.push(Effect::Quit),
            Key::Tab => self.tab = self.tab.step(1),
            Key::BackTab => self.tab = self.tab.step(-1),
            Key::Char(c @ '1'..='5') => {
                let i = c as usize - '1' as usize;
                self.tab = Tab::ALL.get(i).copied().unwrap_or(self.tab);
            }
            Key::Char('l') if self.tab == Tab::Logs => {
                self.log_level = next_level(self.log_level);
                self.log_scroll = 0;
            }
            Key::Up if self.tab == Tab::Logs => {
                let max = self.visible_logs().count().saturating_sub(1);
                self.log_scroll = (self.log_scroll + 1).min(max);
            }
            Key::Down if self.tab == Tab::Logs => {
                self.log_scroll = self.log_scroll.saturating_sub(1);
            }
            _ => {}
        }
    }

    /// Keys of the Actions tab; `true` when the key was used here.
    fn on_action_key(&mut self, key: Key, out: &mut Vec<Effect>) -> bool {
        match &mut self.action_step {
            ActionStep::EnteringLoyalty(field) => {
                match key {
                    Key::Char(c) if !c.is_control() && field.len() < MAX_LOYALTY_CHARS => {
                        field.push(c)
                    }
                    Key::Backspace => field.pop(),
                    Key::Enter if !field.is_empty() => {
                        let loyalty = Some(field.take());
                        self.action_step = ActionStep::Confirm {
                            kind: ActionKind::EraseShopper,
                            loyalty,
                        };
                    }
                    Key::Esc => self.action_step = ActionStep::Choosing,
                    _ => {}
                }
                true
            }
            ActionStep::Confirm { kind, loyalty } => {
                match key {
                    Key::Char('y') => {
                        let kind = *kind;
                        let action = match (kind, loyalty.take()) {
                            (ActionKind::SelfTest, _) => Some(Action::SelfTest),
                            (ActionKind::WarmCache, _) => Some(Action::WarmCache),
                            (ActionKind::RotateKeys, _) => Some(Action::RotateKeys),
                            (ActionKind::ReloadConfig, _) => Some(Action::ReloadConfig),
                            (ActionKind::EraseShopper, Some(loyalty)) => {
                                Some(Action::EraseShopper { loyalty })
                            }
                            (ActionKind::EraseShopper, None) => None,
                        };
                        self.action_step = match action {
                            Some(action) => {
                                out.push(Effect::Run(action));
                                ActionStep::Running(kind)
                            }
                            None => ActionStep::Choosing,
                        };
                    }
                    Key::Char('n') | Key::Esc => self.action_step = ActionStep::Choosing,
                    _ => {}
                }
                true
            }
            ActionStep::Choosing | ActionStep::Running(_) => {
                let n = ActionKind::ALL.len();
                match key {
                    Key::Up => self.action_selected = (self.action_selected + n - 1) % n,
                    Key::Down => self.action_selected = (self.action_selected + 1) % n,
                    Key::Enter if matches!(self.action_step, ActionStep::Choosing) => {
                        let kind = ActionKind::ALL
                            .get(self.action_selected)
                            .copied()
                            .unwrap_or(ActionKind::SelfTest);
                        self.action_step = if kind == ActionKind::EraseShopper {
                            ActionStep::EnteringLoyalty(Secret::default())
                        } else {
                            ActionStep::Confirm {
                                kind,
                                loyalty: None,
                            }
                        };
                    }
                    _ => return false,
                }
                true
            }
        }
    }
}

/// Logs filter cycle: info → warn → error → trace (everything) → debug → info.
fn next_level(level: Level) -> Level {
    match level {
        Level::INFO => Level::WARN,
        Level::WARN => Level::ERROR,
        Level::ERROR => Level::TRACE,
        Level::TRACE => Level::DEBUG,
        _ => Level::INFO,
    }
}

fn push_bounded<T>(ring: &mut VecDeque<T>, item: T, capacity: usize) {
    if ring.len() == capacity {
        ring.pop_front();
    }
    ring.push_back(item);
}

/// Applies one input; returns what the console client must do, in order.
pub fn update(state: &mut State, input: Input) -> Vec<Effect> {
    let mut out = Vec::new();
    match input {
        Input::Key(key) => state.on_key(key, &mut out),
        Input::Tick(now) => {
            state.now = now;
            if matches!(state.auth, Auth::Locked { until } if now >= until) {
                state.auth = Auth::Entering {
                    pin: Secret::default(),
                    wrong: false,
                };
            }
        }
        Input::PinResult { ok, locked_until } => {
            if state.auth == Auth::Checking {
                state.auth = match (ok, locked_until) {
                    (true, _) => Auth::Unlocked,
                    (false, Some(until)) if until > state.now => Auth::Locked { until },
                    (false, _) => Auth::Entering {
                        pin: Secret::default(),
                        wrong: true,
                    },
                };
            }
        }
        Input::Status(status) => state.status = Some(status),
        Input::Log(line) => {
            let shown = line.level <= state.log_level;
            push_bounded(&mut state.logs, line, LOG_CAPACITY);
            if shown && state.log_scroll > 0 {
                state.log_scroll += 1;
            }
        }
        Input::Content(item) => push_bounded(&mut state.content, item, CONTENT_CAPACITY),
        Input::Config(lines) => state.config = lines,
        Input::ActionDone { kind, ok, message } => {
            if state.action_step == ActionStep::Running(kind) {
                state.action_step = ActionStep::Choosing;
            }
            state.last_outcome = Some(Outcome { kind, ok, message });
        }
    }
    out
}

#[cfg(test)]
pub(super) mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
    use super::*;

    pub(in crate::ui) const PIN: &str = "482913";

    pub(in crate::ui) fn keys(s: &mut State, text: &str) -> Vec<Effect> {
        text.chars()
            .flat_map(|c| update(s, Input::Key(Key::Char(c))))
            .collect()
    }

    pub(in crate::ui) fn press(s: &mut State, key: Key) -> Vec<Effect> {
        update(s, Input::Key(key))
    }

    pub(in crate::ui) fn unlocked(t0: Instant) -> State {
        let mut s = State::new(t0);
        keys(&mut s, PIN);
        press(&mut s, Key::Enter);
        update(
            &mut s,
            Input::PinResult {
                ok: true,
                locked_until: None,
            },
        );
        s
    }

    #[test]
    fn pin_goes_only_into_the_check_effect() {
        let mut s = State::new(Instant::now());
        keys(&mut s, "12x345");
        assert!(press(&mut s, Key::Enter).is_empty(), "5 digits are too few");
        keys(&mut s, "6");
        assert!(!format!("{s:?}").contains("123456"));
        let fx = press(&mut s, Key::Enter);
        assert!(matches!(fx.as_slice(), [Effect::CheckPin { pin }] if pin.expose() == "123456"));
        assert_eq!(s.auth, Auth::Checking);
        // Keys while checking do nothing.
        assert!(keys(&mut s, "99").is_empty());
        update(
            &mut s,
            Input::PinResult {
                ok: false,
                locked_until: None,
            },
        );
        assert!(matches!(s.auth, Auth::Entering { wrong: true, .. }));
        assert!(!s.is_unlocked());
        // Tabs do not open before the PIN.
        press(&mut s, Key::Tab);
        assert_eq!(s.tab, Tab::Status);
    }

    #[test]
    fn lockout_after_five_wrong_tries_then_entry_again() {
        let t0 = Instant::now();
        let mut s = State::new(t0);
        for attempt in 1..=5 {
            keys(&mut s, "000000");
            press(&mut s, Key::Enter);
            let locked_until = (attempt == 5).then(|| t0 + Duration::from_secs(300));
            update(
                &mut s,
                Input::PinResult {
                    ok: false,
                    locked_until,
                },
            );
        }
        assert_eq!(
            s.auth,
            Auth::Locked {
                until: t0 + Duration::from_secs(300)
            }
        );
        assert!(keys(&mut s, PIN).is_empty());
        assert!(press(&mut s, Key::Enter).is_empty());
        update(&mut s, Input::Tick(t0 + Duration::from_secs(300)));
        assert!(matches!(s.auth, Auth::Entering { wrong: false, .. }));
    }

    #[test]
    fn quit_keys() {
        let mut s = State::new(Instant::now());
        assert_eq!(press(&mut s, Key::Esc), vec![Effect::Quit]);
        let mut s = unlocked(Instant::now());
        assert_eq!(keys(&mut s, "q"), vec![Effect::Quit]);
        assert_eq!(press(&mut s, Key::Interrupt), vec![Effect::Quit]);
    }

    #[test]
    fn tabs_switch_by_tab_and_number() {
        let mut s = unlocked(Instant::now());
        assert!(s.is_unlocked());
        press(&mut s, Key::Tab);
        assert_eq!(s.tab, Tab::Logs);
        press(&mut s, Key::BackTab);
        press(&mut s, Key::BackTab);
        assert_eq!(s.tab, Tab::Config);
        keys(&mut s, "3");
        assert_eq!(s.tab, Tab::Content);
        keys(&mut s, "4");
        assert_eq!(s.tab, Tab::Actions);
    }

    #[test]
    fn log_ring_and_level_filter() {
        let mut s = unlocked(Instant::now());
        for i in 0..LOG_CAPACITY + 10 {
            let level = if i % 2 == 0 {
                Level::DEBUG
            } else {
                Level::WARN
            };
            update(
                &mut s,
                Input::Log(LogLine {
                    at: "12:00:00".into(),
                    level,
                    target: "t".into(),
                    message: format!("m{i}"),
                }),
            );
        }
        assert_eq!(s.logs.len(), LOG_CAPACITY);
        assert_eq!(s.logs.front().unwrap().message, "m10");
        assert_eq!(s.visible_logs().count(), LOG_CAPACITY / 2);
        keys(&mut s, "2l");
        assert_eq!(s.log_level, Level::WARN);
        keys(&mut s, "ll");
        assert_eq!(s.log_level, Level::TRACE);
        assert_eq!(s.visible_logs().count(), LOG_CAPACITY);
        press(&mut s, Key::Up);
        press(&mut s, Key::Up);
        assert_eq!(s.log_scroll, 2);
        press(&mut s, Key::Down);
        assert_eq!(s.log_scroll, 1);
    }

    #[test]
    fn every_action_needs_confirmation() {
        let mut s = unlocked(Instant::now());
        keys(&mut s, "4");
        press(&mut s, Key::Down); // warm cache
        assert!(press(&mut s, Key::Enter).is_empty());
        assert!(keys(&mut s, "n").is_empty());
        assert_eq!(s.action_step, ActionStep::Choosing);
        press(&mut s, Key::Enter);
        assert_eq!(keys(&mut s, "y"), vec![Effect::Run(Action::WarmCache)]);
        assert_eq!(s.action_step, ActionStep::Running(ActionKind::WarmCache));
        update(
            &mut s,
            Input::ActionDone {
                kind: ActionKind::WarmCache,
                ok: true,
                message: "42 blurbs".into(),
            },
        );
        assert_eq!(s.action_step, ActionStep::Choosing);
        assert!(s.last_outcome.as_ref().is_some_and(|o| o.ok));
    }

    #[test]
    fn erase_takes_a_masked_loyalty_number_and_confirmation() {
        let mut s = unlocked(Instant::now());
        keys(&mut s, "4");
        press(&mut s, Key::Up);
        press(&mut s, Key::Up); // erase shopper
        press(&mut s, Key::Enter);
        // Typing goes into the field, not to tab switching or quit.
        assert!(keys(&mut s, "LC1q23").is_empty());
        press(&mut s, Key::Backspace);
        press(&mut s, Key::Backspace);
        press(&mut s, Key::Backspace);
        keys(&mut s, "4321");
        assert_eq!(s.tab, Tab::Actions);
        assert!(press(&mut s, Key::Enter).is_empty());
        assert!(!format!("{s:?}").contains("LC14321"));
        let fx = keys(&mut s, "y");
        assert!(matches!(
            fx.as_slice(),
            [Effect::Run(Action::EraseShopper { loyalty })] if loyalty.expose() == "LC14321"
        ));
        assert_eq!(s.action_step, ActionStep::Running(ActionKind::EraseShopper));
        update(
            &mut s,
            Input::ActionDone {
                kind: ActionKind::EraseShopper,
                ok: true,
                message: "erased".into(),
            },
        );
        // Esc while typing drops the field.
        press(&mut s, Key::Enter);
        keys(&mut s, "LC9");
        press(&mut s, Key::Esc);
        assert_eq!(s.action_step, ActionStep::Choosing);
    }
}
