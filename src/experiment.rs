//! Experiments at the kiosk: the **holdout** arm that shows whether personalisation pays, and an
//! optional A/B test between recommender weightings among the personalised sessions. Pure: the
//! draw is a keyed hash handed in by the caller ([`draw`] computes it from the kiosk's pepper).
//!
//! How a session is assigned ([`ExperimentConfig::assign`]): a uniform draw `u` in [0, 1) from
//! HMAC(pepper, experiment ‖ day ‖ unit). `u < holdout_share` is the holdout (store popularity,
//! template copy); the rest is split over the experiment's arms by their shares, or is the one
//! arm [`PERSONALISED`] when no experiment is configured. The unit is the person `k` counts (a
//! known shopper's attribution tag, else the session), so a shopper is in the same arm for every
//! session of a store day, and an anonymous session for the whole session.
//!
//! Invariants:
//! - An assignment is a pure function of (config, pepper, day, unit): stable, reproducible on the
//!   kiosk, and unpredictable without the pepper (nobody can steer a card into an arm).
//! - The propensity of an assignment is the probability of its arm under the config: `h` for the
//!   holdout, `(1 - h) · share` for an experiment arm, `1 - h` for [`PERSONALISED`]. The
//!   propensities of all arms sum to 1.
//! - Arm labels are feedback-cell labels (`a-z 0-9 _ -` and one `:`, at most 49 characters):
//!   [`HOLDOUT`], [`PERSONALISED`] or `experiment:arm`. HQ compares [`HOLDOUT`] with every other
//!   arm (personalised vs not), and the arms of one experiment with its `control` or `base` arm
//!   (else the alphabetically first).

use serde::{Deserialize, Serialize};

use crate::crypto::Pepper;
use crate::recommend::{RecommendConfig, Weights};

/// The control arm: the store's favourites (nothing of the shopper) with template copy.
pub const HOLDOUT: &str = "holdout";
/// Every personalised session when no experiment runs.
pub const PERSONALISED: &str = "personalised";
/// The arm of cells from kiosks older than arms (HQ's default for a cell without one).
pub const DEFAULT_ARM: &str = PERSONALISED;
/// The default share of sessions in the holdout.
pub const DEFAULT_HOLDOUT_SHARE: f64 = 0.10;
/// The largest holdout share a config may set: 1 makes every session of the kiosk the holdout
/// (personalisation off, while still recording the control arm).
pub const MAX_HOLDOUT_SHARE: f64 = 1.0;

/// What went wrong in `[experiment]`: the key and why.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("{key}: {reason}")]
pub struct ExperimentError {
    pub key: String,
    pub reason: String,
}

fn err(key: impl Into<String>, reason: impl Into<String>) -> ExperimentError {
    ExperimentError {
        key: key.into(),
        reason: reason.into(),
    }
}

/// `[experiment]` in the kiosk config.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ExperimentConfig {
    /// Share of sessions in the holdout arm (0 to 1; default 0.10).
    pub holdout_share: f64,
    /// Name of an A/B test among the personalised sessions (`a-z 0-9 _ -`, 1-24 characters);
    /// empty: no test.
    pub name: String,
    /// The test's arms (two or more when `name` is set). HQ compares each with the arm named
    /// `control` or `base` (else the alphabetically first).
    pub arms: Vec<ArmConfig>,
}

impl Default for ExperimentConfig {
    fn default() -> Self {
        Self {
            holdout_share: DEFAULT_HOLDOUT_SHARE,
            name: String::new(),
            arms: Vec::new(),
        }
    }
}

/// One arm of an A/B test: its share of the personalised sessions and the recommender weights it
/// ranks with (the kiosk's `[recommend]` weights where it sets none).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ArmConfig {
    /// `a-z 0-9 _ -`, 1-24 characters; not `holdout` or `personalised`.
    pub name: String,
    /// Share of the personalised sessions, in (0, 1]; the arms' shares sum to 1.
    pub share: f64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub weights: Option<Weights>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cold_start_weights: Option<Weights>,
}

fn check_name(key: &str, name: &str) -> Result<(), ExperimentError> {
    let ok = (1..=24).contains(&name.len())
        && name
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_' || b == b'-');
    if ok {
        Ok(())
    } else {
        Err(err(
            key,
            format!("{name:?} is not 1-24 characters of a-z 0-9 _ -"),
        ))
    }
}

/// Whether `label` is an arm label: `name` or `experiment:arm`, each part 1-24 characters of
/// `a-z 0-9 _ -`.
pub fn is_arm_label(label: &str) -> bool {
    let part = |p: &str| {
        (1..=24).contains(&p.len())
            && p.bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_' || b == b'-')
    };
    match label.split_once(':') {
        Some((experiment, arm)) => part(experiment) && part(arm),
        None => part(label),
    }
}

/// Which arm a session is in, and with what probability it got there.
#[derive(Debug, Clone, PartialEq)]
pub struct Assignment {
    /// The arm's label in feedback cells.
    pub arm: String,
    /// The probability of this arm under the config, in (0, 1].
    pub propensity: f64,
    /// The holdout: store popularity and template copy.
    pub holdout: bool,
    /// The experiment arm's index in `arms` (none for holdout and [`PERSONALISED`]).
    pub index: Option<usize>,
}

impl ExperimentConfig {
    /// No holdout and no experiment: every session personalised (tests of the personalised path).
    pub fn off() -> Self {
        Self {
            holdout_share: 0.0,
            ..Self::default()
        }
    }

    /// Checks the section; errors name the key (`experiment.arms[1].share`).
    pub fn validate(&self) -> Result<(), ExperimentError> {
        let h = self.holdout_share;
        if !(h.is_finite() && (0.0..=MAX_HOLDOUT_SHARE).contains(&h)) {
            return Err(err(
                "experiment.holdout_share",
                format!("{h} is not between 0 and {MAX_HOLDOUT_SHARE}"),
            ));
        }
        if self.name.is_empty() {
            if !self.arms.is_empty() {
                return Err(err(
                    "experiment.name",
                    "arms are set but the experiment has no name",
                ));
            }
            return Ok(());
        }
        check_name("experiment.name", &self.name)?;
        if self.arms.len() < 2 {
            return Err(err(
                "experiment.arms",
                "an experiment needs two or more arms",
            ));
        }
        let mut sum = 0.0;
        for (i, a) in self.arms.iter().enumerate() {
            check_name(&format!("experiment.arms[{i}].name"), &a.name)?;
            if self.arms[..i].iter().any(|b| b.name == a.name) {
                return Err(err(
                    format!("experiment.arms[{i}].name"),
                    format!("{:?} is used twice", a.name),
                ));
            }
            if !(a.share.is_finite() && a.share > 0.0 && a.share <= 1.0) {
                return Err(err(
                    format!("experiment.arms[{i}].share"),
                    format!("{} is not in (0, 1]", a.share),
                ));
            }
            sum += a.share;
            for (field, w) in [
                ("weights", &a.weights),
                ("cold_start_weights", &a.cold_start_weights),
            ] {
                if let Some(w) = w {
                    w.validate(field)
                        .map_err(|e| err(format!("experiment.arms[{i}].{field}"), e.to_string()))?;
                }
            }
        }
        if (sum - 1.0).abs() > 1e-9 {
            return Err(err(
                "experiment.arms",
                format!("the shares sum to {sum}, not 1"),
            ));
        }
        Ok(())
    }

    /// The arm of a draw `u` in [0, 1) (see the module doc).
    pub fn assign(&self, u: f64) -> Assignment {
        let h = self.holdout_share;
        if u < h {
            return Assignment {
                arm: HOLDOUT.into(),
                propensity: h,
                holdout: true,
                index: None,
            };
        }
        if self.arms.is_empty() {
            return Assignment {
                arm: PERSONALISED.into(),
                propensity: 1.0 - h,
                holdout: false,
                index: None,
            };
        }
        // Where u falls in the personalised part, as a share of it.
        let v = ((u - h) / (1.0 - h)).clamp(0.0, 1.0);
        let mut edge = 0.0;
        let last = self.arms.len() - 1;
        let index = self
            .arms
            .iter()
            .position(|a| {
                edge += a.share;
                v < edge
            })
            .unwrap_or(last);
        let arm = &self.arms[index];
        Assignment {
            arm: format!("{}:{}", self.name, arm.name),
            propensity: (1.0 - h) * arm.share,
            holdout: false,
            index: Some(index),
        }
    }

    /// The recommender config an assignment ranks with: the arm's weights where it sets them,
    /// else `base` as it is. (The holdout ranks with `base` too, for a shopper it knows nothing
    /// of: the store's favourites, as the attract loop shows them, which exist from the first
    /// catalog import on, before the store has sales statistics.)
    pub fn recommend_config(&self, a: &Assignment, base: &RecommendConfig) -> RecommendConfig {
        let Some(arm) = a.index.and_then(|i| self.arms.get(i)) else {
            return base.clone();
        };
        RecommendConfig {
            weights: arm.weights.unwrap_or(base.weights),
            cold_start_weights: arm.cold_start_weights.unwrap_or(base.cold_start_weights),
            ..base.clone()
        }
    }
}

/// The uniform draw in [0, 1) of `unit` (a 16-byte person or session digest) on `day` (the store
/// day, days since 1970-01-01, as `feedback::cells::Day` counts) for the
/// experiment `name` (empty for the holdout alone): the first 53 bits of
/// HMAC-SHA256(pepper, "shelftalk/arm/v1" 0 name 0 day unit).
pub fn draw(pepper: &Pepper, name: &str, day: i64, unit: &[u8; 16]) -> f64 {
    let mut message = Vec::with_capacity(name.len() + 25);
    message.extend_from_slice(name.as_bytes());
    message.push(0);
    message.extend_from_slice(&day.to_be_bytes());
    message.extend_from_slice(unit);
    let tag = pepper.fingerprint(b"shelftalk/arm/v1", &message);
    let mut first = [0u8; 8];
    first.copy_from_slice(&tag[..8]);
    (u64::from_be_bytes(first) >> 11) as f64 / (1u64 << 53) as f64
}

#[cfg(test)]
mod tests {
    #![allow(clippy::expect_used)]
    use super::*;

    fn pepper() -> Pepper {
        Pepper::from_bytes(&[7u8; 32]).expect("pepper")
    }

    fn ab() -> ExperimentConfig {
        ExperimentConfig {
            holdout_share: 0.1,
            name: "weights-dec".into(),
            arms: vec![
                ArmConfig {
                    name: "base".into(),
                    share: 0.5,
                    weights: None,
                    cold_start_weights: None,
                },
                ArmConfig {
                    name: "popular".into(),
                    share: 0.5,
                    weights: Some(Weights::popularity_only()),
                    cold_start_weights: None,
                },
            ],
        }
    }

    #[test]
    fn the_holdout_share_is_within_a_point_over_100_000_sessions_and_stable() {
        let config = ExperimentConfig::default();
        let p = pepper();
        let day = 20_000;
        let mut holdout = 0u32;
        for i in 0..100_000u32 {
            let mut unit = [0u8; 16];
            unit[..4].copy_from_slice(&i.to_be_bytes());
            let a = config.assign(draw(&p, &config.name, day, &unit));
            // Stable: the same unit on the same day lands in the same arm.
            assert_eq!(a, config.assign(draw(&p, &config.name, day, &unit)));
            if a.holdout {
                holdout += 1;
                assert_eq!((a.arm.as_str(), a.propensity), (HOLDOUT, 0.1));
            } else {
                assert_eq!(a.arm, PERSONALISED);
                assert!((a.propensity - 0.9).abs() < 1e-12);
            }
        }
        let share = f64::from(holdout) / 100_000.0;
        assert!((share - 0.10).abs() < 0.01, "holdout share {share}");
    }

    #[test]
    fn experiment_arms_split_the_personalised_sessions_by_their_shares() {
        let config = ab();
        config.validate().expect("valid");
        let p = pepper();
        let mut counts = [0u32; 3];
        for i in 0..100_000u32 {
            let mut unit = [1u8; 16];
            unit[12..].copy_from_slice(&i.to_be_bytes());
            let a = config.assign(draw(&p, &config.name, 20_001, &unit));
            match a.index {
                None => counts[0] += 1,
                Some(i) => counts[i + 1] += 1,
            }
            let total: f64 = if a.holdout { 0.1 } else { 0.45 };
            assert!((a.propensity - total).abs() < 1e-12, "{a:?}");
        }
        for (n, want) in counts.iter().zip([0.10, 0.45, 0.45]) {
            let got = f64::from(*n) / 100_000.0;
            assert!((got - want).abs() < 0.01, "{counts:?}");
        }
        assert_eq!(config.assign(0.5).arm, "weights-dec:base");
        assert_eq!(config.assign(0.99).arm, "weights-dec:popular");
        assert_eq!(config.assign(0.999_999_999).arm, "weights-dec:popular");
    }

    #[test]
    fn another_day_or_pepper_reassigns_and_draws_are_uniform_bits() {
        let unit = [9u8; 16];
        let a = draw(&pepper(), "", 1, &unit);
        assert_eq!(a, draw(&pepper(), "", 1, &unit));
        assert_ne!(a, draw(&pepper(), "", 2, &unit));
        assert_ne!(
            a,
            draw(
                &Pepper::from_bytes(&[8u8; 32]).expect("pepper"),
                "",
                1,
                &unit
            )
        );
        assert_ne!(a, draw(&pepper(), "x", 1, &unit));
        assert!((0.0..1.0).contains(&a));
    }

    #[test]
    fn arms_rank_by_their_weights_and_the_holdout_by_the_stores() {
        let config = ab();
        let base = RecommendConfig::default();
        assert_eq!(config.recommend_config(&config.assign(0.0), &base), base);
        let popular = config.recommend_config(&config.assign(0.99), &base);
        assert_eq!(popular.weights, Weights::popularity_only());
        assert_eq!(popular.cold_start_weights, base.cold_start_weights);
        assert_eq!(config.recommend_config(&config.assign(0.2), &base), base);
    }

    #[test]
    fn arm_labels() {
        for ok in [HOLDOUT, PERSONALISED, "weights-dec:base", "a:b"] {
            assert!(is_arm_label(ok), "{ok}");
        }
        for bad in ["", "Holdout", "a:b:c", ":b", "a:", "x y", &"a".repeat(25)] {
            assert!(!is_arm_label(bad), "{bad}");
        }
        assert!(is_arm_label(&ab().assign(0.5).arm));
    }

    #[test]
    fn validation_names_the_key() {
        let bad = |f: &dyn Fn(&mut ExperimentConfig)| {
            let mut c = ab();
            f(&mut c);
            c.validate().expect_err("invalid").key
        };
        assert_eq!(bad(&|c| c.holdout_share = 1.5), "experiment.holdout_share");
        assert_eq!(bad(&|c| c.holdout_share = -0.1), "experiment.holdout_share");
        assert_eq!(
            bad(&|c| c.holdout_share = f64::NAN),
            "experiment.holdout_share"
        );
        assert_eq!(bad(&|c| c.name = "Bad Name".into()), "experiment.name");
        assert_eq!(bad(&|c| c.arms.truncate(1)), "experiment.arms");
        assert_eq!(bad(&|c| c.arms[1].share = 0.4), "experiment.arms");
        assert_eq!(bad(&|c| c.arms[1].share = 0.0), "experiment.arms[1].share");
        assert_eq!(
            bad(&|c| c.arms[1].name = "base".into()),
            "experiment.arms[1].name"
        );
        assert_eq!(
            bad(&|c| c.arms[0].weights = Some(Weights {
                affinity: -1.0,
                ..Weights::default()
            })),
            "experiment.arms[0].weights"
        );
        assert_eq!(
            bad(&|c| {
                c.name.clear();
            }),
            "experiment.name"
        );
        assert!(ExperimentConfig::default().validate().is_ok());
    }
}
