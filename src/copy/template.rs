//! Template copy: the deterministic fallback when the model is missing, fails, or its copy fails
//! the guardrails twice.
//!
//! Invariants:
//! - Built only from [`ProductFacts`]: the product's (capped) name and brand, its price, list
//!   price and discount in the store currency. Nothing about the shopper.
//! - Deterministic: same facts and style → same text.
//! - Passes the default guardrails for any catalog product (tested over generated products and
//!   the real catalog): every template starts with the product label, uses only lower-case fixed
//!   words after it (so no fixed word can be mistaken for another brand), and never puts a number
//!   in parentheses next to another number (so prices never chain into a phone-like number).

use crate::copy::guardrails::content_words;
use crate::copy::prompt::{sanitize, ProductFacts};
use crate::vocab::Style;

const LABEL_CHARS: usize = 60;
const DANGLING: [&str; 10] = [
    "for", "with", "and", "of", "in", "to", "the", "a", "by", "or",
];

/// The template copy for one product and style.
pub fn render(facts: &ProductFacts, style: Style) -> String {
    let label = label(facts);
    let cur = &facts.currency;
    let price = cur.format(facts.price);
    let saving = match (facts.list_price, facts.discount_percent) {
        (Some(list), Some(pct)) => Some((cur.format(list), pct)),
        _ => None,
    };
    match (style, saving) {
        (Style::Concise, Some((_, pct))) => {
            format!("{label}, now just {price}, {pct}% off, worth a look.")
        }
        (Style::Concise, None) => format!("{label}, now just {price}, worth a look."),
        (Style::Playful, Some((_, pct))) => {
            format!("{label} is calling your name: yours for just {price}, {pct}% off!")
        }
        (Style::Playful, None) => format!("{label} is calling your name: yours for just {price}!"),
        (Style::Premium, _) => {
            format!("{label}: thoughtfully made and beautifully simple, yours for {price}.")
        }
        (Style::Value, Some((list, pct))) => {
            format!("{label} for just {price}, down from {list}: you save {pct}%.")
        }
        (Style::Value, None) => format!("{label} at a fair price, just {price}."),
    }
}

/// Brand and name, capped, each word once.
fn label(facts: &ProductFacts) -> String {
    let name = facts.name.trim();
    let full = match &facts.brand {
        Some(brand) if !name.to_lowercase().starts_with(&brand.to_lowercase()) => {
            format!("{brand} {name}")
        }
        _ => name.to_string(),
    };
    let capped = sanitize(&full, LABEL_CHARS);
    let mut words: Vec<&str> = Vec::new();
    let clean = |s: &str| {
        s.trim_matches(|c: char| !c.is_alphanumeric())
            .to_lowercase()
    };
    for w in capped.split(' ') {
        // Each word once: names like "Navy, Red, Navy" would otherwise read as repetition.
        let c = clean(w);
        if c.is_empty() || !words.iter().any(|l| clean(l) == c) {
            words.push(w);
        }
    }
    // A capped name can end mid-phrase ("Watch - For"); drop dangling joiners.
    while words.last().is_some_and(|w| {
        let w = clean(w);
        w.is_empty() || DANGLING.contains(&w.as_str())
    }) {
        words.pop();
    }
    let label = words
        .join(" ")
        .trim_end_matches(|c: char| !c.is_alphanumeric() && c != ')')
        .to_string();
    // A name without a word (only a code or numbers) gets the category, so the copy still says
    // what the product is.
    let has_word = !content_words(&label).is_empty();
    match (has_word, facts.category.is_empty()) {
        (true, _) => label,
        (false, false) => format!("{label} {}", facts.category).trim().to_string(),
        (false, true) if label.is_empty() => "This product".to_string(),
        (false, true) => label,
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use crate::catalog::{Minor, Product};
    use crate::copy::guardrails::{check, BrandList, GuardrailConfig, Verdict};
    use crate::copy::prompt::Currency;
    use proptest::prelude::*;

    fn product(name: &str, brand: Option<&str>, price: i64, list: Option<i64>) -> Product {
        Product {
            sku: "S".into(),
            name: name.into(),
            brand: brand.map(String::from),
            category: vec!["Home".into()],
            price: Minor(price),
            list_price: list.map(Minor),
            description: String::new(),
            tags: vec![],
        }
    }

    #[test]
    fn templates_are_deterministic_and_name_the_facts() {
        let f = ProductFacts::new(
            &product(
                "Cotton Cotton Bath Towel",
                Some("Sathiyas"),
                44900,
                Some(60000),
            ),
            &Currency::default(),
        );
        let t = render(&f, Style::Value);
        assert_eq!(t, render(&f, Style::Value));
        assert_eq!(
            t,
            "Sathiyas Cotton Bath Towel for just ₹449, down from ₹600: you save 25%."
        );
        assert!(render(&f, Style::Concise).contains("25% off"));
    }

    const WORDS: [&str; 16] = [
        "Cotton",
        "Analog",
        "Watch",
        "Prime",
        "Sleeve",
        "Pack",
        "of",
        "2",
        "Navy,",
        "Red",
        "-",
        "For",
        "Men",
        "(213",
        "cm)",
        "R8851116001",
    ];

    proptest! {
        #[test]
        fn templates_pass_guardrails_for_any_product(
            name_words in proptest::collection::vec(0..WORDS.len(), 1..14),
            brand in proptest::option::of("[A-Z][a-z]{2,9}( [A-Z][a-z]{2,6})?"),
            price in 1i64..10_000_000,
            markup in proptest::option::of(0i64..5_000_000),
            style in 0usize..4,
        ) {
            let name: Vec<&str> = name_words.iter().map(|i| WORDS[*i]).collect();
            let p = product(&name.join(" "), brand.as_deref(), price, markup.map(|m| price + m));
            let f = ProductFacts::new(&p, &Currency::default());
            let brands = BrandList::new(["Prime", "Asus", "Watch Co", "Tenda", "Navy"]);
            let copy = render(&f, Style::ALL[style]);
            let v = check(&copy, &f, &brands, &GuardrailConfig::default());
            prop_assert_eq!(v, Verdict::Pass, "{}", copy);
        }
    }
}
