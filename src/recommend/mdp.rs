//! The journey MDP: which kind of content to show next in a visit.
//!
//! States ([`VisitState`]) and how logged events map onto them:
//! - `Browsing`: the visit has fewer than 2 views and nothing carted or bought;
//! - `Engaged`: at least 2 views, nothing carted or bought yet;
//! - `Intent`: the last cart/purchase event was a cart;
//! - `Converted`: the last cart/purchase event was a purchase;
//! - `Left`: the visit ended. Absorbing, reward 0.
//!
//! Actions ([`VisitAction`]) are what the kiosk shows. Logs record no action, so it is inferred
//! from what the shopper did next (event `e → e'`):
//! - `e'` is about the same SKU (another look, a cart, a purchase) → `Offer` (an offer/info card
//!   on the product at hand);
//! - `e'` carts or buys a different SKU → `Bundle` (something to go with it);
//! - `e'` views a different SKU → `ProductPick` (another product).
//!
//! The end of a visit follows no observable action, so its transition to `Left` is spread
//! evenly (1/3 each) over the three actions. Returns are ignored (they happen after the visit).
//!
//! Invariants:
//! - `P(s'|s,a) = (n(s,a,s') + α) / (n(s,a) + α·|S|)` with `α = smoothing > 0` for every
//!   non-terminal `s`: every row sums to 1 and unseen transitions get mass `α / (n(s,a) + α|S|)`.
//!   `Left` is absorbing (`P(Left|Left,a) = 1`).
//! - `R(s,a) = Σ_s' P(s'|s,a) · reward(s')` with per-state entry rewards from [`MdpConfig`].
//! - Value iteration stops when `max |ΔV| < tolerance` (or after `max_iterations`), with
//!   `0 <= γ < 1` so it converges.

use std::fmt;

use serde::{Deserialize, Serialize};

use super::{check, ConfigError, Session};
use crate::event::{Event, EventKind};

pub const N_STATES: usize = 5;
pub const N_ACTIONS: usize = 3;

/// Where a visit stands.
#[derive(
    Debug, Clone, Copy, Default, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize,
)]
#[serde(rename_all = "snake_case")]
pub enum VisitState {
    #[default]
    Browsing,
    Engaged,
    Intent,
    Converted,
    Left,
}

impl VisitState {
    pub const ALL: [VisitState; N_STATES] = [
        Self::Browsing,
        Self::Engaged,
        Self::Intent,
        Self::Converted,
        Self::Left,
    ];

    pub fn index(self) -> usize {
        self as usize
    }

    /// The state after a visit's events so far (see module docs).
    pub fn after<'a>(events: impl IntoIterator<Item = &'a Event>) -> Self {
        let mut tracker = StateTracker::default();
        events
            .into_iter()
            .fold(Self::Browsing, |s, e| tracker.step(e).unwrap_or(s))
    }
}

/// Views within a visit after which a browsing shopper counts as engaged.
const ENGAGED_AFTER_VIEWS: u32 = 2;

#[derive(Default)]
struct StateTracker {
    views: u32,
    committed: Option<VisitState>,
}

impl StateTracker {
    /// The state after `e`, or `None` for events that do not move the journey (returns).
    fn step(&mut self, e: &Event) -> Option<VisitState> {
        match e.kind {
            EventKind::View => self.views += 1,
            EventKind::Cart => self.committed = Some(VisitState::Intent),
            EventKind::Purchase => self.committed = Some(VisitState::Converted),
            EventKind::Return => return None,
        }
        Some(
            self.committed
                .unwrap_or(if self.views >= ENGAGED_AFTER_VIEWS {
                    VisitState::Engaged
                } else {
                    VisitState::Browsing
                }),
        )
    }
}

/// What the kiosk shows next.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum VisitAction {
    ProductPick,
    Bundle,
    Offer,
}

impl VisitAction {
    pub const ALL: [VisitAction; N_ACTIONS] = [Self::ProductPick, Self::Bundle, Self::Offer];

    pub fn index(self) -> usize {
        self as usize
    }

    /// The action a logged transition `from → to` stands for (see module docs).
    pub fn inferred(from: &Event, to: &Event) -> Self {
        if from.sku == to.sku {
            Self::Offer
        } else if matches!(to.kind, EventKind::Cart | EventKind::Purchase) {
            Self::Bundle
        } else {
            Self::ProductPick
        }
    }
}

/// Estimation and planning settings.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct MdpConfig {
    /// Discount γ, `0 <= γ < 1`.
    pub gamma: f64,
    /// Additive (Dirichlet) pseudo-count per next state.
    pub smoothing: f64,
    pub reward_engaged: f64,
    pub reward_intent: f64,
    pub reward_converted: f64,
    pub tolerance: f64,
    pub max_iterations: u32,
}

impl Default for MdpConfig {
    fn default() -> Self {
        Self {
            gamma: 0.9,
            smoothing: 1.0,
            reward_engaged: 0.05,
            reward_intent: 0.3,
            reward_converted: 1.0,
            tolerance: 1e-12,
            max_iterations: 10_000,
        }
    }
}

impl MdpConfig {
    pub(crate) fn validate(&self) -> Result<(), ConfigError> {
        check(
            (0.0..1.0).contains(&self.gamma),
            "mdp.gamma",
            "must be within 0..1",
        )?;
        check(
            self.smoothing.is_finite() && self.smoothing > 0.0,
            "mdp.smoothing",
            "must be > 0",
        )?;
        let rewards = [
            self.reward_engaged,
            self.reward_intent,
            self.reward_converted,
        ];
        check(
            rewards.iter().all(|r| r.is_finite()),
            "mdp.reward_*",
            "must be finite",
        )?;
        check(self.tolerance > 0.0, "mdp.tolerance", "must be > 0")?;
        check(self.max_iterations > 0, "mdp.max_iterations", "must be > 0")
    }

    fn entry_reward(&self, s: VisitState) -> f64 {
        match s {
            VisitState::Browsing | VisitState::Left => 0.0,
            VisitState::Engaged => self.reward_engaged,
            VisitState::Intent => self.reward_intent,
            VisitState::Converted => self.reward_converted,
        }
    }
}

#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum MdpError {
    #[error(transparent)]
    Config(#[from] ConfigError),
}

type Table<T> = [[T; N_ACTIONS]; N_STATES];

/// The estimated MDP: counts, smoothed transition probabilities and rewards.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct JourneyModel {
    /// `counts[s][a][s']`, fractional where the action was spread.
    pub counts: Table<[f64; N_STATES]>,
    /// `p[s][a][s']`.
    pub p: Table<[f64; N_STATES]>,
    /// `r[s][a]`.
    pub r: Table<f64>,
    pub config: MdpConfig,
}

impl JourneyModel {
    /// Estimates the model from logged visits.
    pub fn fit(sessions: &[Session<'_>], cfg: &MdpConfig) -> Result<Self, MdpError> {
        cfg.validate()?;
        let mut counts = [[[0.0; N_STATES]; N_ACTIONS]; N_STATES];
        for session in sessions {
            let mut tracker = StateTracker::default();
            let steps: Vec<(&Event, VisitState)> = session
                .iter()
                .filter_map(|e| tracker.step(e).map(|s| (*e, s)))
                .collect();
            for pair in steps.windows(2) {
                let ((from_e, from_s), (to_e, to_s)) = (pair[0], pair[1]);
                counts[from_s.index()][VisitAction::inferred(from_e, to_e).index()]
                    [to_s.index()] += 1.0;
            }
            if let Some((_, last)) = steps.last() {
                for a in VisitAction::ALL {
                    counts[last.index()][a.index()][VisitState::Left.index()] +=
                        1.0 / N_ACTIONS as f64;
                }
            }
        }
        Ok(Self::from_counts(counts, cfg))
    }

    fn from_counts(counts: Table<[f64; N_STATES]>, cfg: &MdpConfig) -> Self {
        let mut p = [[[0.0; N_STATES]; N_ACTIONS]; N_STATES];
        let mut r = [[0.0; N_ACTIONS]; N_STATES];
        for s in VisitState::ALL {
            for a in VisitAction::ALL {
                let row = &mut p[s.index()][a.index()];
                if s == VisitState::Left {
                    row[VisitState::Left.index()] = 1.0;
                    continue;
                }
                let n = &counts[s.index()][a.index()];
                let total: f64 = n.iter().sum::<f64>() + cfg.smoothing * N_STATES as f64;
                for (next, prob) in row.iter_mut().enumerate() {
                    *prob = (n[next] + cfg.smoothing) / total;
                }
                r[s.index()][a.index()] = VisitState::ALL
                    .iter()
                    .map(|&n| row[n.index()] * cfg.entry_reward(n))
                    .sum();
            }
        }
        Self {
            counts,
            p,
            r,
            config: *cfg,
        }
    }

    /// Value iteration and the greedy policy.
    pub fn solve(&self) -> JourneyPolicy {
        let p: Vec<Vec<Vec<f64>>> = self
            .p
            .iter()
            .map(|s| s.iter().map(|a| a.to_vec()).collect())
            .collect();
        let r: Vec<Vec<f64>> = self.r.iter().map(|s| s.to_vec()).collect();
        let (v, q) = value_iteration(
            &p,
            &r,
            self.config.gamma,
            self.config.tolerance,
            self.config.max_iterations,
        );
        let mut values = [0.0; N_STATES];
        let mut qt = [[0.0; N_ACTIONS]; N_STATES];
        let mut policy = [VisitAction::ProductPick; N_STATES];
        for s in 0..N_STATES {
            values[s] = v[s];
            qt[s].copy_from_slice(&q[s]);
            policy[s] = VisitAction::ALL[argmax(&q[s])];
        }
        JourneyPolicy {
            values,
            q: qt,
            policy,
        }
    }
}

impl fmt::Display for JourneyModel {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(
            f,
            "journey MDP (gamma {}, smoothing {})",
            self.config.gamma, self.config.smoothing
        )?;
        write!(f, "{:<11} {:<13}", "state", "action")?;
        for n in VisitState::ALL {
            write!(f, " {:>9}", format!("{n:?}"))?;
        }
        writeln!(f, " {:>8} {:>7}", "R", "n")?;
        for s in VisitState::ALL {
            for a in VisitAction::ALL {
                write!(f, "{:<11} {:<13}", format!("{s:?}"), format!("{a:?}"))?;
                for n in VisitState::ALL {
                    write!(f, " {:>9.4}", self.p[s.index()][a.index()][n.index()])?;
                }
                let n: f64 = self.counts[s.index()][a.index()].iter().sum();
                writeln!(f, " {:>8.4} {:>7.1}", self.r[s.index()][a.index()], n)?;
            }
        }
        Ok(())
    }
}

/// Solved values, action values and the greedy policy.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct JourneyPolicy {
    pub values: [f64; N_STATES],
    pub q: Table<f64>,
    pub policy: [VisitAction; N_STATES],
}

impl JourneyPolicy {
    pub fn best(&self, s: VisitState) -> VisitAction {
        self.policy[s.index()]
    }

    /// How strongly the policy favours `a` in `s`: `Q(s,a)` min-max normalised over actions to
    /// `0..=1` (1 for the greedy action; 1 for all when all are equal).
    pub fn propensity(&self, s: VisitState, a: VisitAction) -> f64 {
        let q = &self.q[s.index()];
        let (lo, hi) = q
            .iter()
            .fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), &x| {
                (lo.min(x), hi.max(x))
            });
        if hi - lo < 1e-12 {
            1.0
        } else {
            (q[a.index()] - lo) / (hi - lo)
        }
    }
}

impl fmt::Display for JourneyPolicy {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(
            f,
            "{:<11} {:>9} {:>12} {:>12} {:>12}  best",
            "state", "V", "Q(pick)", "Q(bundle)", "Q(offer)"
        )?;
        for s in VisitState::ALL {
            let q = &self.q[s.index()];
            writeln!(
                f,
                "{:<11} {:>9.4} {:>12.4} {:>12.4} {:>12.4}  {:?}",
                format!("{s:?}"),
                self.values[s.index()],
                q[0],
                q[1],
                q[2],
                self.best(s)
            )?;
        }
        Ok(())
    }
}

fn argmax(xs: &[f64]) -> usize {
    xs.iter()
        .enumerate()
        .fold(0, |best, (i, &x)| if x > xs[best] { i } else { best })
}

/// Value iteration over `p[s][a][s']` and `r[s][a]`: returns `(V, Q)`.
pub fn value_iteration(
    p: &[Vec<Vec<f64>>],
    r: &[Vec<f64>],
    gamma: f64,
    tolerance: f64,
    max_iterations: u32,
) -> (Vec<f64>, Vec<Vec<f64>>) {
    let mut v = vec![0.0; p.len()];
    let q_of = |v: &[f64]| -> Vec<Vec<f64>> {
        p.iter()
            .zip(r)
            .map(|(ps, rs)| {
                ps.iter()
                    .zip(rs)
                    .map(|(row, ra)| {
                        ra + gamma * row.iter().zip(v).map(|(pr, vn)| pr * vn).sum::<f64>()
                    })
                    .collect()
            })
            .collect()
    };
    for _ in 0..max_iterations {
        let next: Vec<f64> = q_of(&v)
            .iter()
            .map(|qs| qs.iter().copied().fold(f64::NEG_INFINITY, f64::max))
            .collect();
        let delta = next
            .iter()
            .zip(&v)
            .map(|(a, b)| (a - b).abs())
            .fold(0.0, f64::max);
        v = next;
        if delta < tolerance {
            break;
        }
    }
    let q = q_of(&v);
    (v, q)
}

/// `mdp fit`: the journey MDP estimated from a behaviour log's sessions, and its solution.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct JourneyFit {
    pub sessions: usize,
    pub model: JourneyModel,
    pub policy: JourneyPolicy,
}

impl JourneyFit {
    /// Groups `events` (user, event) into sessions, fits the model and solves it.
    pub fn from_events(events: &[(String, Event)], cfg: &MdpConfig) -> Result<Self, MdpError> {
        let sessions = super::group_sessions(events.iter().map(|(u, e)| (u.as_str(), e)));
        let model = JourneyModel::fit(&sessions, cfg)?;
        let policy = model.solve();
        Ok(Self {
            sessions: sessions.len(),
            model,
            policy,
        })
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]
    use super::*;

    #[test]
    fn value_iteration_matches_hand_computation() {
        // Two states, actions 0 = stay, 1 = go, gamma = 0.9.
        //   s0 stay: -> s0 (p 1),             R = 1
        //   s0 go:   -> s0 (0.2), s1 (0.8),   R = 0
        //   s1 stay: -> s1 (p 1),             R = 2
        //   s1 go:   -> s0 (p 1),             R = 0
        // s1 staying forever is worth V1 = 2 / (1 - 0.9) = 20.
        // s0 staying forever is worth 1 / 0.1 = 10; going: V0 = 0.9 (0.2 V0 + 0.8 · 20)
        //   = 0.18 V0 + 14.4  =>  V0 = 14.4 / 0.82 = 17.560975609756...  > 10, so go.
        // Check s1: go gives 0.9 · V0 = 15.80 < 20, so stay.
        // Q(s0,stay) = 1 + 0.9 V0 = 1 + 15.804878... = 16.804878...
        // Q(s0,go) = V0; Q(s1,stay) = 20; Q(s1,go) = 0.9 V0 = 15.804878...
        let p = vec![
            vec![vec![1.0, 0.0], vec![0.2, 0.8]],
            vec![vec![0.0, 1.0], vec![1.0, 0.0]],
        ];
        let r = vec![vec![1.0, 0.0], vec![2.0, 0.0]];
        let (v, q) = value_iteration(&p, &r, 0.9, 1e-13, 100_000);
        let v0 = 14.4 / 0.82;
        assert!((v[0] - v0).abs() < 1e-9, "{}", v[0]);
        assert!((v[1] - 20.0).abs() < 1e-9, "{}", v[1]);
        assert!((q[0][0] - (1.0 + 0.9 * v0)).abs() < 1e-9);
        assert!((q[0][1] - v0).abs() < 1e-9);
        assert!((q[1][0] - 20.0).abs() < 1e-9);
        assert!((q[1][1] - 0.9 * v0).abs() < 1e-9);
        assert_eq!(argmax(&q[0]), 1);
        assert_eq!(argmax(&q[1]), 0);
    }

    fn ev(at: i64, kind: EventKind, sku: &str) -> Event {
        Event {
            at,
            kind,
            sku: sku.into(),
            quantity: 1,
            price: None,
            session: None,
        }
    }

    #[test]
    fn rows_sum_to_one_and_unseen_get_smoothing_mass() {
        let visit = [
            ev(0, EventKind::View, "a"),
            ev(1, EventKind::View, "b"),
            ev(2, EventKind::Cart, "c"),
            ev(3, EventKind::Purchase, "c"),
        ];
        let sessions: Vec<Session<'_>> = vec![visit.iter().collect()];
        let cfg = MdpConfig::default();
        let m = JourneyModel::fit(&sessions, &cfg).unwrap();
        // Browsing -view b-> Engaged (pick), Engaged -cart c-> Intent (bundle),
        // Intent -buy c-> Converted (offer), Converted -> Left spread over 3 actions.
        let (b, e, i, c, l) = (0, 1, 2, 3, 4);
        assert_eq!(m.counts[b][VisitAction::ProductPick.index()][e], 1.0);
        assert_eq!(m.counts[e][VisitAction::Bundle.index()][i], 1.0);
        assert_eq!(m.counts[i][VisitAction::Offer.index()][c], 1.0);
        assert!((m.counts[c][VisitAction::Bundle.index()][l] - 1.0 / 3.0).abs() < 1e-12);
        for s in 0..N_STATES {
            for a in 0..N_ACTIONS {
                assert!((m.p[s][a].iter().sum::<f64>() - 1.0).abs() < 1e-12);
            }
        }
        // Seen once: (1 + 1) / (1 + 5); unseen in the same row: 1 / 6; unseen row: 1 / 5.
        assert!((m.p[b][0][e] - 2.0 / 6.0).abs() < 1e-12);
        assert!((m.p[b][0][c] - 1.0 / 6.0).abs() < 1e-12);
        assert!((m.p[b][1][c] - 1.0 / 5.0).abs() < 1e-12);
        assert_eq!(m.p[l][2][l], 1.0);
        // R(Browsing, pick) = 2/6·0.05 + 1/6·0.3 + 1/6·1.0.
        assert!((m.r[b][0] - (2.0 / 6.0 * 0.05 + 0.3 / 6.0 + 1.0 / 6.0)).abs() < 1e-12);
        let policy = m.solve();
        assert_eq!(policy.values[l], 0.0);
        assert!(format!("{m}").contains("Converted") && format!("{policy}").contains("best"));
        let json = serde_json::to_string(&policy).unwrap();
        let back: JourneyPolicy = serde_json::from_str(&json).unwrap();
        assert_eq!(back.policy, policy.policy);
        assert!(back
            .values
            .iter()
            .zip(&policy.values)
            .all(|(a, b)| (a - b).abs() < 1e-12));
    }

    #[test]
    fn propensity_is_normalised_q() {
        let policy = JourneyPolicy {
            values: [0.0; N_STATES],
            q: [[1.0, 3.0, 2.0]; N_STATES],
            policy: [VisitAction::Bundle; N_STATES],
        };
        assert_eq!(
            policy.propensity(VisitState::Browsing, VisitAction::Bundle),
            1.0
        );
        assert_eq!(
            policy.propensity(VisitState::Browsing, VisitAction::ProductPick),
            0.0
        );
        assert_eq!(
            policy.propensity(VisitState::Browsing, VisitAction::Offer),
            0.5
        );
        let flat = JourneyPolicy {
            q: [[2.0; N_ACTIONS]; N_STATES],
            ..policy
        };
        assert_eq!(flat.propensity(VisitState::Intent, VisitAction::Offer), 1.0);
    }

    #[test]
    fn invalid_gamma_is_an_error() {
        let cfg = MdpConfig {
            gamma: 1.0,
            ..MdpConfig::default()
        };
        assert!(matches!(
            JourneyModel::fit(&[], &cfg),
            Err(MdpError::Config(_))
        ));
    }

    #[test]
    fn live_visit_state() {
        assert_eq!(VisitState::after([]), VisitState::Browsing);
        let views = [ev(0, EventKind::View, "a"), ev(1, EventKind::View, "b")];
        assert_eq!(VisitState::after(&views), VisitState::Engaged);
        assert_eq!(VisitState::after(&views[..1]), VisitState::Browsing);
    }
}
