//! Making untrusted text safe to put on a terminal, and measuring it in terminal columns.
//!
//! Invariants:
//! - [`sanitize`] output contains no control characters (C0, DEL, C1) and no Unicode
//!   bidirectional overrides or isolates, so catalog or model text can neither move the cursor,
//!   change colours nor reorder what the screen shows; it is at most [`MAX_CHARS`] characters
//!   long.
//! - Layout by hand (padding a label to a column) counts display columns ([`width`]: a CJK
//!   character or an emoji is two, a combining mark none), never bytes or characters, so wide
//!   text keeps columns and borders where they belong. Wrapping and borders are ratatui's, which
//!   measures the same way.

use unicode_width::UnicodeWidthStr;

/// Longest text a view puts on screen from one field; more is cut with `…`.
pub const MAX_CHARS: usize = 600;

/// Strips control characters and bidi controls; whitespace controls (newline, tab) become one
/// space; caps the length at [`MAX_CHARS`].
pub fn sanitize(raw: &str) -> String {
    let mut out = String::with_capacity(raw.len().min(MAX_CHARS * 4));
    let mut count = 0;
    for c in raw.chars() {
        let c = if matches!(c, '\n' | '\r' | '\t') {
            ' '
        } else {
            c
        };
        if c.is_control() || is_bidi_control(c) {
            continue;
        }
        if count == MAX_CHARS {
            out.pop();
            out.push('…');
            break;
        }
        out.push(c);
        count += 1;
    }
    out
}

/// Columns `text` takes on a terminal.
pub fn width(text: &str) -> usize {
    text.width()
}

/// `text` followed by spaces up to `columns` display columns (unchanged when already as wide).
pub fn pad_to_width(text: &str, columns: usize) -> String {
    let mut out = text.to_owned();
    out.extend(std::iter::repeat_n(
        ' ',
        columns.saturating_sub(width(text)),
    ));
    out
}

/// Unicode bidi embeddings, overrides, isolates and marks (the "Trojan Source" characters).
fn is_bidi_control(c: char) -> bool {
    matches!(c, '\u{200E}' | '\u{200F}' | '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn strips_controls_and_bidi() {
        assert_eq!(
            sanitize("Red\x1b[31m Shoe\r\nNow\t!"),
            "Red[31m Shoe  Now !"
        );
        assert_eq!(sanitize("a\u{202E}b\u{2066}c\u{7f}d\u{85}e"), "abcde");
        assert_eq!(sanitize("Crème brûlée 👍"), "Crème brûlée 👍");
    }

    #[test]
    fn widths_are_columns_not_characters() {
        assert_eq!(width("Model"), 5);
        assert_eq!(width("模型哈希"), 8);
        assert_eq!(width("小米 14 Pro"), 11);
        assert_eq!(width("e\u{301}"), 1);
        assert_eq!(pad_to_width("模型", 8), "模型    ");
        assert_eq!(width(&pad_to_width("文案缓存命中率", 22)), 22);
        assert_eq!(pad_to_width("Tokens/s", 4), "Tokens/s");
        assert_eq!(pad_to_width("", 3), "   ");
    }

    #[test]
    fn caps_length() {
        let s = sanitize(&"x".repeat(5000));
        assert_eq!(s.chars().count(), MAX_CHARS);
        assert!(s.ends_with('…'));
        assert_eq!(sanitize(&"y".repeat(MAX_CHARS)), "y".repeat(MAX_CHARS));
    }
}
