//! Pure decisions of the daemon: recommender picks → what the screen shows, screen interactions →
//! feedback rows, consent → what a session may use, and small parsers of system files.
//!
//! Invariants:
//! - Nothing here does I/O or reads a clock; every function is tested on its own.
//! - A [`PickView`] carries only catalog facts, the recommender's reasons (which name only the
//!   shopper's coarse preferences or store popularity) in the words of the kiosk's message
//!   catalog, and the bandit's style choice.
//! - A feedback label that would not pass `feedback::check_cell_labels` is replaced by the
//!   catch-all segment rather than dropped, so an impression is never lost to a label.

use crate::catalog::Product;
use crate::copy::Currency;
use crate::feedback;
use crate::i18n::Messages;
use crate::recommend::{display_reason, Pick, StyleChoice};
use crate::store::shoppers::Consent;
use crate::ui::kiosk::{InteractionKind, PickView};

/// A recommender pick as the screen shows it, its words from `messages`. `copy` is left empty:
/// it is requested and streamed; `template` is left empty for the daemon to fill from its copy
/// desk.
pub fn pick_view(
    pick: &Pick,
    product: &Product,
    currency: &Currency,
    choice: &StyleChoice,
    messages: &Messages,
) -> PickView {
    PickView {
        sku: product.sku.clone(),
        name: product.name.clone(),
        brand: product.brand.clone(),
        price_text: price_text(product, currency, messages),
        copy: String::new(),
        template: String::new(),
        reason_line: display_reason(&pick.reasons, messages),
        reasons: pick.reasons.iter().map(|r| r.text_in(messages)).collect(),
        style: choice.style.as_str().to_string(),
        style_probability: choice.propensity,
    }
}

/// A scanned product as the screen shows it (`copy` and `template` empty, as [`pick_view`]).
pub fn scanned_view(
    product: &Product,
    currency: &Currency,
    choice: &StyleChoice,
    messages: &Messages,
) -> PickView {
    let scanned = messages.get("reason-scanned");
    PickView {
        sku: product.sku.clone(),
        name: product.name.clone(),
        brand: product.brand.clone(),
        price_text: price_text(product, currency, messages),
        copy: String::new(),
        template: String::new(),
        reason_line: scanned.clone(),
        reasons: vec![scanned],
        style: choice.style.as_str().to_string(),
        style_probability: choice.propensity,
    }
}

/// `"$19.99"`, or `"$19.99 (was $24.99)"` on offer (`"¥459（原价 ¥599）"` in zh-CN).
pub fn price_text(product: &Product, currency: &Currency, messages: &Messages) -> String {
    let now = currency.format(product.price);
    match product.list_price.filter(|l| *l > product.price) {
        Some(list) => messages.with(
            "price-was",
            &[
                ("now", (&now).into()),
                ("list", (&currency.format(list)).into()),
            ],
        ),
        None => now,
    }
}

/// The feedback row a screen interaction becomes; `None` for what is not about a pick.
pub fn feedback_interaction(kind: InteractionKind) -> Option<feedback::InteractionKind> {
    Some(match kind {
        InteractionKind::Select => feedback::InteractionKind::Tap,
        InteractionKind::ThumbUp => feedback::InteractionKind::ThumbUp,
        InteractionKind::ThumbDown => feedback::InteractionKind::ThumbDown,
        InteractionKind::Why => feedback::InteractionKind::Why,
        InteractionKind::OptOut => feedback::InteractionKind::OptOut,
        InteractionKind::Done => return None,
    })
}

/// The bandit reward of an interaction, if it is evidence about the style.
pub fn bandit_reward(kind: InteractionKind) -> Option<f64> {
    match kind {
        InteractionKind::Select | InteractionKind::ThumbUp => Some(1.0),
        InteractionKind::ThumbDown => Some(0.0),
        InteractionKind::Why | InteractionKind::OptOut | InteractionKind::Done => None,
    }
}

/// Whether this session's shopper's history may be used: a known shopper who consented and has
/// not opted out during this session. Anonymous sessions use only their own scans.
pub fn personalised(consent: Option<Consent>, opted_out: bool) -> bool {
    consent.is_some_and(|c| c.personalise) && !opted_out
}

/// Whether this session's interactions are recorded (anonymously): anonymous sessions and known
/// shoppers who allow analytics.
pub fn records_feedback(consent: Option<Consent>) -> bool {
    consent.is_none_or(|c| c.analytics)
}

/// Consent after the shopper pressed opt out: personalisation off, analytics unchanged.
pub fn opted_out(consent: Consent) -> Consent {
    Consent {
        personalise: false,
        ..consent
    }
}

/// CPU temperature in °C from a `/sys/class/thermal/thermal_zone*/temp` file (millidegrees).
pub fn parse_thermal(text: &str) -> Option<f64> {
    let milli: i64 = text.trim().parse().ok()?;
    let c = milli as f64 / 1000.0;
    (-50.0..=150.0).contains(&c).then_some(c)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    fn usd() -> crate::copy::Currency {
        crate::config::Config::default().currency
    }
    use crate::catalog::Minor;
    use crate::i18n::messages;
    use crate::locale::Locale;
    use crate::recommend::{Reason, ReasonCode};

    fn product() -> Product {
        Product {
            sku: "FW-RUN-0001".into(),
            name: "Kite Running Shoe".into(),
            brand: Some("Northpine".into()),
            category: vec!["Footwear".into(), "Running Shoes".into()],
            price: Minor(15299),
            list_price: Some(Minor(17999)),
            description: "Light.".into(),
            tags: vec!["running".into()],
        }
    }

    #[test]
    fn picks_map_to_views_with_style_and_reasons() {
        let pick = Pick {
            sku: "FW-RUN-0001".into(),
            score: 0.7,
            contributions: Vec::new(),
            reasons: vec![
                Reason::new(ReasonCode::LikesBrand, Some("Northpine".into())),
                Reason::new(ReasonCode::PopularInStore, None),
            ],
            display_reason: "Because you like Northpine".into(),
        };
        let choice = StyleChoice {
            style: crate::vocab::Style::Playful,
            propensity: 0.4,
        };
        let en = messages(Locale::En);
        let v = pick_view(&pick, &product(), &usd(), &choice, en);
        assert_eq!(v.price_text, "$152.99 (was $179.99)");
        assert_eq!(v.reason_line, "Because you like Northpine");
        assert_eq!(v.reasons.len(), 2);
        assert_eq!((v.style.as_str(), v.style_probability), ("playful", 0.4));
        assert!(v.copy.is_empty(), "copy is requested, never invented here");
        let s = scanned_view(&product(), &usd(), &choice, en);
        assert_eq!(s.reason_line, "You scanned this");
        // The same pick on a zh-CN kiosk: reasons and the price line from the zh catalog.
        let zh = messages(Locale::ZhCn);
        let cny = crate::copy::Currency {
            code: "CNY".into(),
            symbol: "¥".into(),
            ..usd()
        };
        let v = pick_view(&pick, &product(), &cny, &choice, zh);
        assert_eq!(v.price_text, "¥152.99（原价 ¥179.99）");
        assert_eq!(v.reason_line, "因为你喜欢Northpine");
        assert_eq!(v.reasons[1], "本周店内热卖");
        assert_eq!(
            scanned_view(&product(), &cny, &choice, zh).reasons,
            ["你扫描了这件商品"]
        );
    }

    #[test]
    fn currencies_and_styles() {
        let usd = usd();
        assert_eq!(usd.format(Minor(1999)), "$19.99");
    }

    #[test]
    fn interactions_and_rewards() {
        use feedback::InteractionKind as F;
        assert_eq!(feedback_interaction(InteractionKind::Select), Some(F::Tap));
        assert_eq!(
            feedback_interaction(InteractionKind::OptOut),
            Some(F::OptOut)
        );
        assert_eq!(feedback_interaction(InteractionKind::Done), None);
        assert_eq!(bandit_reward(InteractionKind::ThumbUp), Some(1.0));
        assert_eq!(bandit_reward(InteractionKind::ThumbDown), Some(0.0));
        assert_eq!(bandit_reward(InteractionKind::Why), None);
    }

    #[test]
    fn consent_decisions() {
        let both = Consent {
            personalise: true,
            analytics: true,
        };
        assert!(personalised(Some(both), false));
        assert!(!personalised(Some(both), true));
        assert!(!personalised(None, false));
        let after = opted_out(both);
        assert!(!after.personalise && after.analytics);
        assert!(!personalised(Some(after), false));
        assert!(records_feedback(None));
        assert!(!records_feedback(Some(Consent::default())));
    }

    #[test]
    fn thermal_zone_parser() {
        assert_eq!(parse_thermal("45123\n"), Some(45.123));
        assert_eq!(parse_thermal("junk"), None);
        assert_eq!(parse_thermal("999999999"), None);
    }
}
