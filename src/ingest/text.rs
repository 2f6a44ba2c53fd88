//! Text cleaning: what accepted text looks like, excerpts for quarantine entries, redaction of
//! personal data, category paths and the interest tags derived from them.
//!
//! Invariants:
//! - [`clean_text`] output is single-line, free of control and bidi/zero-width characters,
//!   whitespace-collapsed, trimmed and at most `max` chars; it never panics on any input.
//! - Category parts and tags are cleaned text without `>`; at most 6 parts and 8 tags are kept.

/// Strips control characters, collapses whitespace (newlines included) and caps to `max` chars.
pub fn clean_text(raw: &str, max: usize) -> String {
    let mut out = String::with_capacity(raw.len().min(max * 4));
    let mut pending_space = false;
    let mut n = 0;
    for c in raw.chars() {
        if c.is_whitespace() {
            pending_space = !out.is_empty();
            continue;
        }
        if c.is_control()
            || matches!(c, '\u{200b}'..='\u{200f}' | '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}' | '\u{feff}')
        {
            continue;
        }
        if pending_space {
            if n + 1 >= max {
                break;
            }
            out.push(' ');
            n += 1;
            pending_space = false;
        }
        if n >= max {
            break;
        }
        out.push(c);
        n += 1;
    }
    out
}

/// True when nothing of `raw` is left once cleaned: only whitespace, control, zero-width and
/// bidi characters. Such a value counts as blank, so a required field made of them is missing
/// (never accepted as an empty name or sku).
pub(super) fn is_blank(raw: &str) -> bool {
    clean_text(raw, 1).is_empty()
}

/// A short, sanitised excerpt of a raw value for quarantine entries.
pub fn excerpt(raw: &[u8]) -> String {
    clean_text(&String::from_utf8_lossy(&raw[..raw.len().min(400)]), 80)
}

const STOPWORDS: &[&str] = &[
    "and",
    "for",
    "the",
    "with",
    "from",
    "other",
    "accessories",
    "women's",
    "men's",
    "kids'",
];

/// Lower-case interest tags from a category path: its words of 3+ letters, deduplicated.
pub fn tags_from(category: &[String]) -> Vec<String> {
    let mut tags: Vec<String> = Vec::new();
    for part in category {
        for word in part.split(|c: char| !(c.is_alphanumeric() || c == '\'')) {
            let w = word.to_lowercase();
            if w.chars().count() >= 3 && !STOPWORDS.contains(&w.as_str()) && !tags.contains(&w) {
                tags.push(w);
            }
        }
    }
    tags.truncate(8);
    tags
}

/// Splits a category path on `sep`, cleaning each part and dropping empty ones.
pub(super) fn split_category(text: &str, sep: &str) -> Vec<String> {
    category_parts(text.split(sep))
}

/// A category path from its parts: each also split at `>`, cleaned, empty ones dropped, at most
/// 6. No part contains `>`: the store writes a path as its parts joined by `" > "` and splits it
/// there when reading, so a part `"A > B"` would come back as two (caught by the `import_catalog`
/// fuzz target's invariant, with a Flipkart tree `A > B >> C`).
pub(super) fn category_parts<'a>(parts: impl IntoIterator<Item = &'a str>) -> Vec<String> {
    parts
        .into_iter()
        .flat_map(|p| p.split('>'))
        .map(|p| clean_text(p, 60))
        .filter(|p| !p.is_empty())
        .take(6)
        .collect()
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn text_is_cleaned_and_capped() {
        assert_eq!(clean_text("  a\n\tb\u{7}  c \r\n", 100), "a b c");
        assert_eq!(clean_text("abcdef", 3), "abc");
        assert_eq!(clean_text("ab cd", 3), "ab");
        assert_eq!(clean_text("x\u{202e}y", 10), "xy");
        assert_eq!(clean_text("日本語テキスト", 3), "日本語");
    }

    #[test]
    fn text_of_invisible_characters_is_blank() {
        assert!(is_blank(" \u{7f}\r\u{202e}\u{200b}\t"));
        assert!(!is_blank(" \u{7f}x "));
    }

    #[test]
    fn tags_come_from_category_words() {
        let cat = vec![
            "Footwear".to_string(),
            "Women's Footwear".into(),
            "Sandals & Floaters".into(),
        ];
        assert_eq!(tags_from(&cat), vec!["footwear", "sandals", "floaters"]);
    }
}
