//! The message catalogs: every string the shopper screen and the technician console show, and the
//! reasons under "why am I seeing this", in each [`Locale`], as Fluent (`.ftl`) files.
//!
//! The catalogs are `locales/<locale>/shelftalk.ftl`, embedded in the binary ([`CATALOGS`]: one
//! line per locale). Callers ask [`messages`] for a locale's [`Messages`] and look strings up by
//! message id: [`Messages::get`] for plain text, [`Messages::with`] for text with arguments
//! (`{ $name }` in the file). Ids are grouped by prefix: `kiosk-` the shopper screen, `console-`
//! the technician console, `reason-` the reasons a pick is shown for, `price-` the price line.
//!
//! Invariants:
//! - Every locale in [`Locale::ALL`] has a catalog, every catalog has exactly the message ids of
//!   the `en` catalog, and each message takes the same arguments in every locale (unit tests
//!   below; `tests/i18n_keys.rs` checks that every id the code names is in the catalogs and every
//!   id in the catalogs is used).
//! - Output carries no Unicode isolation marks (U+2068/U+2069 around arguments, Fluent's
//!   default): a terminal would print them as stray cells.
//! - Pure and total: a missing id or argument never panics; a missing id comes back as the id
//!   itself, a missing argument as Fluent's `{$name}`, so either is visible in a snapshot.

use std::sync::OnceLock;

use fluent_bundle::concurrent::FluentBundle;
use fluent_bundle::{FluentArgs, FluentResource, FluentValue};
use unic_langid::LanguageIdentifier;

use crate::locale::Locale;

/// The embedded catalog of each locale. A new language: its `Locale` variant, its `.ftl` file and
/// one line here.
pub const CATALOGS: &[(Locale, &str)] = &[
    (Locale::En, include_str!("../locales/en/shelftalk.ftl")),
    (Locale::ZhCn, include_str!("../locales/zh-CN/shelftalk.ftl")),
];

/// One locale's messages.
pub struct Messages {
    locale: Locale,
    bundle: FluentBundle<FluentResource>,
}

impl std::fmt::Debug for Messages {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Messages")
            .field("locale", &self.locale)
            .finish_non_exhaustive()
    }
}

/// An argument of a message: text or a whole number (numbers select plural forms).
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Arg<'a> {
    Text(&'a str),
    Number(i64),
}

impl<'a> From<&'a str> for Arg<'a> {
    fn from(s: &'a str) -> Self {
        Arg::Text(s)
    }
}

impl<'a> From<&'a String> for Arg<'a> {
    fn from(s: &'a String) -> Self {
        Arg::Text(s)
    }
}

impl From<usize> for Arg<'_> {
    fn from(n: usize) -> Self {
        Arg::Number(i64::try_from(n).unwrap_or(i64::MAX))
    }
}

impl From<u64> for Arg<'_> {
    fn from(n: u64) -> Self {
        Arg::Number(i64::try_from(n).unwrap_or(i64::MAX))
    }
}

/// The messages of `locale` (built once per process).
pub fn messages(locale: Locale) -> &'static Messages {
    static ALL: OnceLock<Vec<Messages>> = OnceLock::new();
    // Never used: every locale is in `Locale::ALL`; it keeps this function total.
    static EN: OnceLock<Messages> = OnceLock::new();
    let all = ALL.get_or_init(|| Locale::ALL.iter().map(|l| Messages::build(*l)).collect());
    all.iter()
        .find(|m| m.locale == locale)
        .unwrap_or_else(|| EN.get_or_init(|| Messages::build(Locale::En)))
}

/// The catalog text of `locale` (empty when it has none: every id then shows as itself).
fn source(locale: Locale) -> &'static str {
    CATALOGS
        .iter()
        .find(|(l, _)| *l == locale)
        .map_or("", |(_, text)| text)
}

impl Messages {
    fn build(locale: Locale) -> Self {
        let langid: LanguageIdentifier = locale.as_str().parse().unwrap_or_default();
        let mut bundle = FluentBundle::new_concurrent(vec![langid]);
        bundle.set_use_isolating(false);
        // A catalog with syntax errors still yields its good entries (the tests keep it clean).
        let resource =
            FluentResource::try_new(source(locale).to_owned()).unwrap_or_else(|(r, _)| r);
        // Errors here are duplicate ids, which the tests forbid; the first one stays.
        let _ = bundle.add_resource(resource);
        Self { locale, bundle }
    }

    /// The locale these messages are in.
    pub fn locale(&self) -> Locale {
        self.locale
    }

    /// The text of message `id` without arguments.
    pub fn get(&self, id: &str) -> String {
        self.with(id, &[])
    }

    /// The text of message `id` with `args`.
    pub fn with(&self, id: &str, args: &[(&str, Arg<'_>)]) -> String {
        let Some(pattern) = self.bundle.get_message(id).and_then(|m| m.value()) else {
            return id.to_owned();
        };
        let mut fluent_args = FluentArgs::new();
        for (name, arg) in args {
            let value = match *arg {
                Arg::Text(s) => FluentValue::from(s),
                Arg::Number(n) => FluentValue::from(n),
            };
            fluent_args.set(*name, value);
        }
        let mut errors = Vec::new();
        self.bundle
            .format_pattern(pattern, Some(&fluent_args), &mut errors)
            .into_owned()
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
    use std::collections::{BTreeMap, BTreeSet};

    use fluent_syntax::ast::{Entry, Expression, InlineExpression, Pattern, PatternElement};
    use fluent_syntax::parser;

    use super::*;

    /// Message id → the variables its value names, for one catalog; panics on a syntax error,
    /// a duplicate id or a message without a value.
    fn messages_and_variables(locale: Locale) -> BTreeMap<String, BTreeSet<String>> {
        let text = source(locale);
        let resource = parser::parse(text)
            .unwrap_or_else(|(_, errors)| panic!("{locale}: syntax errors {errors:?}"));
        let mut out = BTreeMap::new();
        for entry in resource.body {
            match entry {
                Entry::Message(m) => {
                    let value = m
                        .value
                        .unwrap_or_else(|| panic!("{locale}: {} has no value", m.id.name));
                    let mut vars = BTreeSet::new();
                    pattern_vars(&value, &mut vars);
                    let fresh = out.insert(m.id.name.to_owned(), vars).is_none();
                    assert!(fresh, "{locale}: {} twice", m.id.name);
                }
                Entry::Junk { content } => panic!("{locale}: junk {content:?}"),
                Entry::Term(_)
                | Entry::Comment(_)
                | Entry::GroupComment(_)
                | Entry::ResourceComment(_) => {}
            }
        }
        out
    }

    fn pattern_vars(p: &Pattern<&str>, out: &mut BTreeSet<String>) {
        for element in &p.elements {
            if let PatternElement::Placeable { expression } = element {
                expression_vars(expression, out);
            }
        }
    }

    fn expression_vars(e: &Expression<&str>, out: &mut BTreeSet<String>) {
        match e {
            Expression::Inline(i) => inline_vars(i, out),
            Expression::Select { selector, variants } => {
                inline_vars(selector, out);
                for v in variants {
                    pattern_vars(&v.value, out);
                }
            }
        }
    }

    fn inline_vars(i: &InlineExpression<&str>, out: &mut BTreeSet<String>) {
        match i {
            InlineExpression::VariableReference { id } => {
                out.insert(id.name.to_owned());
            }
            InlineExpression::Placeable { expression } => expression_vars(expression, out),
            InlineExpression::FunctionReference { arguments, .. } => {
                for a in &arguments.positional {
                    inline_vars(a, out);
                }
            }
            _ => {}
        }
    }

    #[test]
    fn every_locale_has_a_catalog_with_the_same_ids_and_arguments() {
        let en = messages_and_variables(Locale::En);
        assert!(en.len() > 50, "{}", en.len());
        for locale in Locale::ALL {
            assert_eq!(
                CATALOGS.iter().filter(|(l, _)| *l == locale).count(),
                1,
                "{locale} needs exactly one catalog"
            );
            let other = messages_and_variables(locale);
            let missing: Vec<_> = en.keys().filter(|k| !other.contains_key(*k)).collect();
            let extra: Vec<_> = other.keys().filter(|k| !en.contains_key(*k)).collect();
            assert!(missing.is_empty(), "{locale} lacks {missing:?}");
            assert!(extra.is_empty(), "{locale} has ids en has not: {extra:?}");
            for (id, vars) in &en {
                assert_eq!(&other[id], vars, "{locale}: {id} takes other arguments");
            }
        }
    }

    #[test]
    fn every_message_formats_without_errors_or_isolation_marks() {
        for locale in Locale::ALL {
            let m = messages(locale);
            assert_eq!(m.locale(), locale);
            for (id, vars) in messages_and_variables(locale) {
                let mut args = FluentArgs::new();
                for v in &vars {
                    args.set(v.as_str(), FluentValue::from(2));
                }
                let pattern = m.bundle.get_message(&id).and_then(|x| x.value()).unwrap();
                let mut errors = Vec::new();
                let text = m.bundle.format_pattern(pattern, Some(&args), &mut errors);
                assert!(errors.is_empty(), "{locale} {id}: {errors:?}");
                assert!(
                    !text.trim().is_empty() || id.ends_with("-empty"),
                    "{locale} {id}"
                );
                assert!(
                    !text.contains('\u{2068}') && !text.contains('\u{2069}'),
                    "{locale} {id}: {text:?}"
                );
            }
        }
    }

    #[test]
    fn lookups_in_both_locales() {
        let en = messages(Locale::En);
        let zh = messages(Locale::ZhCn);
        assert_eq!(
            en.with("reason-likes-brand", &[("brand", "Northpine".into())]),
            "Because you like Northpine"
        );
        assert_eq!(
            zh.with("reason-likes-brand", &[("brand", "山岚".into())]),
            "因为你喜欢山岚"
        );
        assert_eq!(
            en.with("console-locked", &[("wait", "4m 59s".into())]),
            "Too many wrong PINs. Locked for 4m 59s."
        );
        // Missing ids and arguments are visible, never a panic.
        assert_eq!(en.get("no-such-message"), "no-such-message");
        assert!(en.get("reason-likes-brand").contains("{$brand}"));
    }
}
