//! The shopper screen's effects carried out: sessions opened from the vault, picks from the
//! recommender, copy requests to the copy worker, impressions and interactions recorded, consent
//! persisted — and the terminal loop that drives `ui::kiosk`.
//!
//! Invariants:
//! - A loyalty number arrives only inside `Effect::StartSession` as a [`Secret`]; it is used for
//!   one vault lookup and dropped before the function returns. It is never logged or stored.
//! - Per session the daemon keeps a `SessionCtx`: a random session token, the opened shopper
//!   (for consent changes) and coarse segments. `EndSession` drops it, data key included.
//! - A shopper without `personalise` consent, or who opted out in this session, gets picks and
//!   copy from store popularity and this visit's scans only (generic segment).
//! - Feedback rows are written before the next input is handled; a write the database does not
//!   take (a full disk) waits in the daemon's memory spool and is retried, in order, with the
//!   next event and on ticks ([`Daemon::record_feedback`]); it never stops the screen. A known
//!   shopper who allows analytics has their impressions tagged with their attribution tag (never
//!   the number or id), so their till purchases convert them.
//! - A shopper who allows personalisation has what they scan or choose added to their sealed
//!   profile (a view, once per visit), so their next visit reflects this one.
//! - Every pick and scanned product goes to the screen with its complete template copy
//!   (`PickView::template`), and every copy request is due one engine budget after it is made:
//!   the worker answers by then and the screen stops waiting shortly after, so no half-written
//!   copy stays on screen; each template put up for lack of time is counted at the copier.
//! - The copy requests one input makes (a session's picks) go to the copy worker as one group
//!   ([`Effects::send_copy_requests`], after the input's effects): it writes them together.
//! - The screen is drawn once per turn of its loop, after the input that woke it and every
//!   answer (streamed copy) already waiting, so a burst of tokens costs one frame.

use std::collections::{HashMap, VecDeque};
use std::sync::Arc;
use std::time::{Duration, Instant};

use rand::rngs::StdRng;
use rand::RngExt;
use ratatui::backend::Backend;
use tokio::sync::mpsc::UnboundedReceiver;

use super::input::KeyReader;
use super::mapping::{
    bandit_reward, feedback_interaction, opted_out, personalised, pick_view, records_feedback,
    scanned_view,
};
use super::{now_unix, Daemon, DaemonError};
use crate::config::Config;
use crate::copy::service::CopyOrder;
use crate::crypto::{AttributionTag, Pepper};
use crate::event::{Event, EventKind};
use crate::experiment::{self, Assignment};
use crate::feedback::{self, spool, SessionToken};
use crate::personalise::{feedback_segment, Shelf, ShelfPick};
use crate::profile::{self, OpenShopper};
use crate::recommend::Features;
use crate::store::privacy::ConsentSource;
use crate::store::shoppers::{self, Consent};
use crate::ui::kiosk::{self, Effect, FellBack, Input, SessionId, Target, MAX_PICKS};
use crate::ui::term::{backend_error, EventSource, TermEvent, TerminalGuard};
use crate::ui::Secret;
use crate::vocab::{LoyaltyNumber, SegmentKey, Style};

/// Featured products in the attract loop.
const FEATURED: usize = 6;
/// Screen clock.
const TICK: Duration = Duration::from_millis(250);

/// What the daemon keeps about the shopper at the screen.
struct SessionCtx {
    token: SessionToken,
    shopper: Option<OpenShopper>,
    consent: Option<Consent>,
    opted_out: bool,
    scanned: Vec<String>,
    /// Feedback and bandit segment.
    segment: SegmentKey,
    /// The coarse segment copy is written (and cached) for.
    copy_segment: SegmentKey,
    /// This session's picks: their brand-fan flags go into the copy orders.
    picks: Vec<ShelfPick>,
    /// The known shopper's attribution tag when they allow analytics: their impressions are
    /// tagged so their till purchases convert them.
    tag: Option<AttributionTag>,
    /// Products already added to the shopper's profile this visit.
    remembered: Vec<String>,
    /// The session's experiment arm (the holdout: popular picks, template copy).
    arm: Assignment,
}

/// Carries out the screen's effects.
pub struct Effects {
    daemon: Arc<Daemon>,
    sessions: HashMap<SessionId, SessionCtx>,
    /// The shelf the screen picks from; its desk is the copy worker's.
    shelf: Shelf,
    rng: StdRng,
    /// Copy requests of the input being handled, sent to the copy worker together by
    /// [`Effects::send_copy_requests`].
    copy_requests: Vec<super::copier::Job>,
}

impl Effects {
    pub fn new(daemon: Arc<Daemon>) -> Result<Self, DaemonError> {
        let priors = feedback::priors(daemon.vault().store.conn())?;
        let shelf = Shelf::new(daemon.model(), &priors)?.with_desk(daemon.copier.desk());
        Ok(Self {
            daemon,
            sessions: HashMap::new(),
            shelf,
            rng: rand::make_rng::<StdRng>(),
            copy_requests: Vec::new(),
        })
    }

    /// Sends the copy requests made since the last call to the copy worker as one group: a
    /// session's picks are written together (one batch for the engine) and stream in at once.
    pub fn send_copy_requests(&mut self) {
        self.daemon
            .copier
            .submit(std::mem::take(&mut self.copy_requests));
    }

    /// The attract loop's featured products: store favourites with generic template copy.
    pub fn featured(&mut self) -> Vec<kiosk::PickView> {
        self.shelf.set_model(self.daemon.model());
        let model = Arc::clone(self.shelf.model());
        let picks = self
            .shelf
            .picks(&Features::default(), FEATURED, &mut self.rng);
        picks
            .into_iter()
            .filter_map(|mut pick| {
                let product = model.product(&pick.pick.sku)?;
                // The attract loop is generic: concise template copy, not a bandit choice.
                pick.choice.style = Style::Concise;
                pick.choice.propensity = 1.0;
                let mut view = pick_view(
                    &pick.pick,
                    product,
                    &self.daemon.currency,
                    &pick.choice,
                    self.daemon.messages,
                );
                view.copy = self.daemon.copier.desk().template(&pick.order(product, 0));
                view.template = view.copy.clone();
                Some(view)
            })
            .collect()
    }

    /// Whether a shopper session is open.
    pub fn in_session(&self) -> bool {
        !self.sessions.is_empty()
    }

    /// Carries out one effect; returns inputs that answer it at once.
    pub fn apply(&mut self, effect: Effect) -> Vec<Input> {
        let now = now_unix();
        match effect {
            Effect::StartSession { session, loyalty } => self.start(session, loyalty, now),
            Effect::LookupProduct {
                session,
                request,
                sku,
            } => vec![self.lookup(session, request, sku, now)],
            Effect::RequestCopy {
                session,
                request,
                sku,
                style,
                ..
            } => {
                self.request_copy(session, request, &sku, &style);
                Vec::new()
            }
            Effect::RecordImpression {
                session, target, ..
            } => {
                self.impression(session, &target, now);
                Vec::new()
            }
            Effect::RecordInteraction {
                session,
                kind,
                target,
            } => {
                if let Some(target) = target {
                    self.interaction(session, kind, &target, now);
                }
                Vec::new()
            }
            Effect::OptOut { session } => {
                self.opt_out(session, now);
                Vec::new()
            }
            Effect::OptIn { session } => self.opt_in(session, now),
            Effect::CopyFellBack {
                reason,
                target,
                text,
                ..
            } => {
                self.daemon.copier.fell_back(reason);
                if reason == FellBack::Deadline {
                    // The worker never answered this one: the screen's template is logged here.
                    self.daemon
                        .copier
                        .note_shown_template(&target.sku, &target.style, text);
                }
                tracing::info!(reason = reason.as_str(), "copy fell back to template");
                Vec::new()
            }
            Effect::EndSession { session, reason } => {
                self.sessions.remove(&session);
                self.daemon.copier.set_session(None);
                tracing::info!(?reason, "session ended");
                Vec::new()
            }
        }
    }

    fn start(&mut self, session: SessionId, loyalty: Option<Secret>, now: i64) -> Vec<Input> {
        // Only one shopper at the screen: any other context goes now.
        self.sessions.clear();
        // An import since the last session (new prices, new products) is taken up before this
        // one picks: no session starts on stale prices.
        if let Err(e) = self.daemon.refresh_models() {
            tracing::warn!(error = %e, "store models not refitted");
        }
        self.daemon.copier.set_session(Some(session));
        let token = match SessionToken::random(&crate::crypto::rng()) {
            Ok(t) => t,
            Err(e) => {
                tracing::error!(error = %e, "no session token; session not recorded");
                SessionToken::from_bytes([0; 16])
            }
        };
        let vault = self.daemon.vault();
        let shopper = loyalty.and_then(|code| {
            let number = LoyaltyNumber::parse(code.expose());
            drop(code);
            let found = match number {
                Ok(number) => vault.find(&number),
                Err(e) => {
                    tracing::warn!(error = %e, "scanned code is no loyalty number; anonymous session");
                    return None;
                }
            };
            match found {
                Ok(s) => s,
                Err(e) => {
                    tracing::warn!(error = %e, "shopper lookup failed; anonymous session");
                    None
                }
            }
        });
        if let Some(s) = &shopper {
            if let Err(e) = shoppers::touch(vault.store.conn(), &s.record.id, now) {
                tracing::warn!(error = %e, "cannot mark shopper as seen");
            }
        }
        let consent = shopper.as_ref().map(|s| s.record.consent);
        let tag = shopper
            .as_ref()
            .filter(|s| s.record.consent.analytics)
            .map(|s| vault.keys().pepper.attribution_tag(&s.record.id));
        let arm = assign(&self.daemon, &vault, tag.as_ref(), &token, now);
        drop(vault);
        let known = shopper.is_some();
        let mut ctx = SessionCtx {
            token,
            shopper,
            consent,
            opted_out: false,
            scanned: Vec::new(),
            segment: SegmentKey::all(),
            copy_segment: SegmentKey::all(),
            picks: Vec::new(),
            tag,
            remembered: Vec::new(),
            arm,
        };
        let answer = self.pick_for(session, &mut ctx, now);
        tracing::info!(
            known,
            personal = personalised(consent, false),
            arm = %ctx.arm.arm,
            arm_propensity = ctx.arm.propensity,
            "session started"
        );
        self.sessions.insert(session, ctx);
        vec![answer]
    }

    /// Picks for the session's shopper as their consent stands: their history when they allow
    /// personalisation, else store popularity. Sets the session's segments and picks.
    fn pick_for(&mut self, session: SessionId, ctx: &mut SessionCtx, now: i64) -> Input {
        let personal = personalised(ctx.consent, ctx.opted_out);
        let features = if ctx.arm.holdout {
            // The holdout reads nothing of the shopper: the store's popular picks.
            Features::default()
        } else {
            let vault = self.daemon.vault();
            let shopper = ctx.shopper.as_ref().filter(|_| personal);
            match self
                .daemon
                .model()
                .features(&vault, shopper, &ctx.scanned, now)
            {
                Ok(f) => f,
                Err(e) => {
                    tracing::warn!(error = %e, "shopper features unavailable; popular picks");
                    Features::default()
                }
            }
        };
        ctx.copy_segment = features.segment();
        ctx.segment = feedback_segment(&ctx.copy_segment);
        let daemon = Arc::clone(&self.daemon);
        self.shelf.set_model(daemon.model());
        let model = Arc::clone(self.shelf.model());
        let config = daemon
            .config()
            .experiment
            .recommend_config(&ctx.arm, &model.config);
        ctx.picks = self
            .shelf
            .picks_with(&features, MAX_PICKS, &config, &mut self.rng);
        let desk = daemon.copier.desk();
        let holdout = ctx.arm.holdout;
        let views = ctx
            .picks
            .iter()
            .filter_map(|p| {
                let product = model.product(&p.pick.sku)?;
                let mut view = pick_view(
                    &p.pick,
                    product,
                    &daemon.currency,
                    &p.choice,
                    daemon.messages,
                );
                view.template = desk.template(&p.order(product, 0));
                if holdout {
                    // Template copy, complete at once: the screen asks the engine for nothing.
                    view.copy = view.template.clone();
                }
                Some(view)
            })
            .collect();
        Input::PicksReady {
            session,
            picks: views,
            // The holdout's picks are the store's favourites, and the screen says so.
            personal: personal && !holdout,
        }
    }

    /// The shopper turned personalisation back on: persisted as consent (kiosk), new picks.
    fn opt_in(&mut self, session: SessionId, now: i64) -> Vec<Input> {
        let Some(mut ctx) = self.sessions.remove(&session) else {
            return Vec::new();
        };
        ctx.opted_out = false;
        if let (Some(shopper), Some(consent)) = (&ctx.shopper, ctx.consent) {
            let new = Consent {
                personalise: true,
                ..consent
            };
            match self
                .daemon
                .vault()
                .set_consent(shopper, new, ConsentSource::Kiosk, now)
            {
                Ok(()) => {
                    ctx.consent = Some(new);
                    tracing::info!("a shopper turned personalisation back on");
                }
                Err(e) => tracing::error!(error = %e, "opt-in not persisted"),
            }
        }
        let answer = self.pick_for(session, &mut ctx, now);
        self.sessions.insert(session, ctx);
        vec![answer]
    }

    fn lookup(
        &mut self,
        session: SessionId,
        request: kiosk::RequestId,
        sku: String,
        now: i64,
    ) -> Input {
        let daemon = Arc::clone(&self.daemon);
        let model = daemon.model();
        let Some(product) = model.product(&sku) else {
            return Input::ProductUnknown { request };
        };
        let Some(ctx) = self.sessions.get_mut(&session) else {
            return Input::ProductUnknown { request };
        };
        remember(&daemon, ctx, &sku, now);
        if !ctx.scanned.contains(&sku) {
            ctx.scanned.push(sku);
        }
        if !personalised(ctx.consent, ctx.opted_out) {
            // The in-visit profile: only what was scanned this visit.
            let vault = daemon.vault();
            if let Ok(f) = daemon.model().features(&vault, None, &ctx.scanned, now) {
                ctx.copy_segment = f.segment();
            }
        }
        let choice = self.shelf.choose(&ctx.segment, &mut self.rng);
        let mut view = scanned_view(product, &daemon.currency, &choice, daemon.messages);
        view.template = daemon.copier.desk().template(&CopyOrder {
            product: product.clone(),
            segment: ctx.copy_segment.clone(),
            brand_fan: false,
            style: choice.style,
            seed: 0,
        });
        if ctx.arm.holdout {
            view.copy = view.template.clone();
        }
        Input::ProductReady {
            request,
            product: view,
        }
    }

    fn request_copy(
        &mut self,
        session: SessionId,
        request: kiosk::RequestId,
        sku: &str,
        style: &str,
    ) {
        let model = self.daemon.model();
        let (Some(ctx), Some(product)) = (self.sessions.get(&session), model.product(sku)) else {
            return;
        };
        let Ok(style) = style.parse::<Style>() else {
            tracing::warn!(style, "copy for an unknown style not requested");
            return;
        };
        let brand_fan = ctx
            .picks
            .iter()
            .any(|p| p.pick.sku == sku && p.brand_fan && personalised(ctx.consent, ctx.opted_out));
        let asked = Instant::now();
        let budget = Duration::from_millis(self.daemon.config().engine.budget_ms);
        let job = super::copier::Job {
            session,
            request,
            asked,
            deadline: Some(asked + budget),
            order: CopyOrder {
                product: product.clone(),
                segment: ctx.copy_segment.clone(),
                brand_fan,
                style,
                seed: self.rng.random::<u32>(),
            },
        };
        self.copy_requests.push(job);
    }

    fn impression(&mut self, session: SessionId, target: &Target, now: i64) {
        let Some(ctx) = self.sessions.get(&session) else {
            return;
        };
        let Some(style) = target.style.parse::<Style>().ok() else {
            return;
        };
        if !records_feedback(ctx.consent) {
            return;
        }
        self.daemon.record_feedback(spool::Event::Impression {
            at: now,
            session: ctx.token.clone(),
            sku: target.sku.clone(),
            style,
            style_probability: target.style_probability,
            segment: ctx.segment.to_string(),
            content_kind: if ctx.arm.holdout { "template" } else { "blurb" }.into(),
            arm: ctx.arm.arm.clone(),
            arm_propensity: ctx.arm.propensity,
            tag: ctx.tag,
        });
    }

    fn interaction(
        &mut self,
        session: SessionId,
        kind: kiosk::InteractionKind,
        target: &Target,
        now: i64,
    ) {
        if matches!(
            kind,
            kiosk::InteractionKind::Select | kiosk::InteractionKind::ThumbUp
        ) {
            if let Some(ctx) = self.sessions.get_mut(&session) {
                remember(&self.daemon, ctx, &target.sku, now);
            }
        }
        let Some(ctx) = self.sessions.get(&session) else {
            return;
        };
        let style = target.style.parse::<Style>().ok();
        if let (Some(reward), Some(style), false) = (bandit_reward(kind), style, ctx.arm.holdout) {
            // The holdout's template copy says nothing about the styles of model copy.
            self.shelf.observe(&ctx.segment, style, reward);
        }

        let (Some(kind), Some(style)) = (feedback_interaction(kind), style) else {
            return;
        };
        if !records_feedback(ctx.consent) {
            return;
        }
        self.daemon.record_feedback(spool::Event::Interaction {
            at: now,
            session: ctx.token.clone(),
            sku: target.sku.clone(),
            style,
            kind,
        });
    }

    fn opt_out(&mut self, session: SessionId, now: i64) {
        let Some(ctx) = self.sessions.get_mut(&session) else {
            return;
        };
        ctx.opted_out = true;
        ctx.copy_segment = SegmentKey::all();
        if let (Some(shopper), Some(consent)) = (&ctx.shopper, ctx.consent) {
            let new = opted_out(consent);
            match self
                .daemon
                .vault()
                .set_consent(shopper, new, ConsentSource::Kiosk, now)
            {
                Ok(()) => {
                    ctx.consent = Some(new);
                    tracing::info!("a shopper turned personalisation off");
                }
                Err(e) => tracing::error!(error = %e, "opt-out not persisted"),
            }
        }
    }
}

/// The session's experiment arm: [`arm_of`] the person it counts (the known shopper's
/// attribution tag, else the session).
fn assign(
    daemon: &Daemon,
    vault: &profile::Vault,
    tag: Option<&AttributionTag>,
    token: &SessionToken,
    now: i64,
) -> Assignment {
    let unit = tag.map_or_else(|| token.digest(), |t| t.0);
    arm_of(&daemon.config(), &vault.keys().pepper, &unit, now)
}

/// The experiment arm of the person `unit` on the store day of `now`: a keyed draw under the
/// kiosk's pepper, so a shopper's sessions of one store day stay in one arm.
pub fn arm_of(config: &Config, pepper: &Pepper, unit: &[u8; 16], now: i64) -> Assignment {
    let experiment = &config.experiment;
    let day = feedback::cells::Day::of_in(now, &config.store_zone());
    experiment.assign(experiment::draw(pepper, &experiment.name, day.0, unit))
}

/// In-session behaviour goes into the shopper's sealed profile when they allow personalisation,
/// so their next visit reflects this one: a product they scanned or chose is a view, once per
/// visit.
fn remember(daemon: &Daemon, ctx: &mut SessionCtx, sku: &str, now: i64) {
    if ctx.remembered.iter().any(|s| s == sku) {
        return;
    }
    ctx.remembered.push(sku.to_string());
    let Some(shopper) = ctx
        .shopper
        .as_ref()
        .filter(|_| personalised(ctx.consent, ctx.opted_out))
    else {
        return;
    };
    let event = Event {
        at: now,
        kind: EventKind::View,
        sku: sku.to_string(),
        quantity: 1,
        price: daemon.model().product(sku).map(|p| p.price),
        session: None,
    };
    let vault = daemon.vault();
    if let Err(e) = profile::store_event(vault.store.conn(), shopper, &event, None, vault.rng()) {
        tracing::warn!(error = %e, "visit not added to the shopper's profile");
    }
}

/// Runs the shopper screen on the terminal until `shutdown` resolves. `heartbeat` is called on
/// every tick of the loop (the systemd watchdog): a stuck loop stops calling it.
pub async fn run_screen(
    daemon: Arc<Daemon>,
    answers: UnboundedReceiver<Input>,
    shutdown: impl std::future::Future<Output = ()>,
    heartbeat: impl FnMut(Instant),
) -> Result<(), DaemonError> {
    let mut guard = TerminalGuard::stdout()?;
    if let Err(e) = guard.capture_mouse() {
        tracing::warn!(error = %e, "no mouse reports from this terminal: taps will not choose picks");
    }
    let keys = KeyReader::start();
    run_screen_on(guard, keys, daemon, answers, shutdown, heartbeat).await
}

/// [`run_screen`] on any terminal and source of keys (a test: `TestBackend` and a channel). Ends
/// when `shutdown` resolves or `keys` is gone; then stops reading keys and gives the terminal
/// back (drops `guard`), in that order.
pub async fn run_screen_on<B, K>(
    mut guard: TerminalGuard<B>,
    mut keys: K,
    daemon: Arc<Daemon>,
    mut answers: UnboundedReceiver<Input>,
    shutdown: impl std::future::Future<Output = ()>,
    mut heartbeat: impl FnMut(Instant),
) -> Result<(), DaemonError>
where
    B: Backend,
    B::Error: Send + Sync + 'static,
    K: EventSource,
{
    let mut effects = Effects::new(Arc::clone(&daemon))?;
    let mut config = kiosk::KioskConfig::from_config(&daemon.config());
    config.scan_rule = config.scan_rule.with_products(
        daemon
            .model()
            .catalog
            .products()
            .iter()
            .map(|p| p.sku.as_str()),
    );
    let mut state = kiosk::State::new(config, Instant::now());
    let featured = effects.featured();
    kiosk::update(&mut state, Input::Featured(featured));
    // The store models the attract loop's products were picked from: after a refit (an
    // import), the featured products and their prices are picked again.
    let mut featured_from = daemon.model();
    let mut tick = tokio::time::interval(TICK);
    tokio::pin!(shutdown);
    draw(&mut guard, &state)?;
    loop {
        let input = tokio::select! {
            () = &mut shutdown => break,
            event = keys.next_event() => match event {
                Some(TermEvent::Key(k)) => Some(Input::Key(k)),
                Some(TermEvent::Tap { column, row }) => {
                    crate::ui::pick_at(&state, guard.area(), column, row).map(Input::TapPick)
                }
                Some(TermEvent::Resize { .. }) => None,
                None => break,
            },
            answer = answers.recv() => answer,
            _ = tick.tick() => {
                let now = Instant::now();
                heartbeat(now);
                daemon.retry_feedback(now);
                Some(Input::Tick(now))
            }
        };
        let mut pending: VecDeque<Input> = input.into_iter().collect();
        // Every answer already waiting is taken before the next frame: three picks streaming
        // at once send a token each per engine step, and one frame shows them all.
        while let Ok(answer) = answers.try_recv() {
            pending.push_back(answer);
        }
        if !effects.in_session() && !Arc::ptr_eq(&featured_from, &daemon.model()) {
            featured_from = daemon.model();
            pending.push_back(Input::Featured(effects.featured()));
        }
        while let Some(input) = pending.pop_front() {
            for effect in kiosk::update(&mut state, input) {
                pending.extend(effects.apply(effect));
            }
        }
        effects.send_copy_requests();
        draw(&mut guard, &state)?;
    }
    drop(keys);
    drop(guard);
    Ok(())
}

fn draw<B>(guard: &mut TerminalGuard<B>, state: &kiosk::State) -> Result<(), DaemonError>
where
    B: Backend,
    B::Error: Send + Sync + 'static,
{
    guard
        .draw_kiosk(state)
        .map_err(|e| DaemonError::Terminal(backend_error(e)))
}
