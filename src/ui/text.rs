//! Making untrusted text safe to put on a terminal, and measuring it in terminal columns.
//!
//! Invariants:
//! - [`sanitize`] output contains no control characters (C0, DEL, C1) and no Unicode
//!   bidirectional overrides or isolates, so catalog or model text can neither move the cursor,
//!   change colours nor reorder what the screen shows; it is at most [`MAX_CHARS`] characters
//!   long.
//! - In [`sanitize`] output every grapheme is as wide as its characters added up, which is how
//!   terminals (tmux, and the VT emulators a kiosk runs) advance the cursor; ratatui lays a
//!   grapheme out by its width as a whole. Where the two differ, the screen shows something else
//!   than ratatui's buffer: `✔️` (with its presentation selector) is two columns to ratatui and
//!   one to tmux, so the second column is never written and keeps what an earlier frame left
//!   there (a space, or a streaming cursor `▌`); `👍🏻` (with a skin tone) is two to ratatui and
//!   four to tmux and draws over its neighbour; a soft hyphen is none and one. The characters that
//!   make the difference (variation selectors, the zero-width joiner, skin-tone modifiers, tag
//!   characters and the soft hyphen) carry no text and are dropped; the emoji stay.
//! - Layout by hand (padding a label to a column) counts display columns ([`width`]: a CJK
//!   character or an emoji is two, a combining mark none), never bytes or characters, so wide
//!   text keeps columns and borders where they belong. Wrapping and borders are ratatui's, which
//!   measures the same way.

use unicode_width::UnicodeWidthStr;

/// Longest text a view puts on screen from one field; more is cut with `…`.
pub const MAX_CHARS: usize = 600;

/// Strips control characters, bidi controls and the characters that make a grapheme's width
/// differ from its characters' ([`is_width_modifier`]); whitespace controls (newline, tab) become
/// one space; caps the length at [`MAX_CHARS`].
pub fn sanitize(raw: &str) -> String {
    let mut out = String::with_capacity(raw.len().min(MAX_CHARS * 4));
    let mut count = 0;
    for c in raw.chars() {
        let c = if matches!(c, '\n' | '\r' | '\t') {
            ' '
        } else {
            c
        };
        if c.is_control() || is_bidi_control(c) || is_width_modifier(c) {
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

/// Characters that change how wide the grapheme they join is, without text of their own:
/// variation selectors (`✔\u{FE0F}` is two columns to ratatui, one to tmux), the zero-width
/// joiner of emoji sequences, the skin-tone modifiers, tag characters (subdivision flags) and the
/// soft hyphen (no column to ratatui, one to tmux).
fn is_width_modifier(c: char) -> bool {
    matches!(
        c,
        '\u{00AD}'
            | '\u{200D}'
            | '\u{FE00}'..='\u{FE0F}'
            | '\u{1F3FB}'..='\u{1F3FF}'
            | '\u{E0000}'..='\u{E007F}'
            | '\u{E0100}'..='\u{E01EF}'
    )
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

    /// Width of a grapheme as a terminal draws it: character by character, each as wide as
    /// glibc's `wcwidth` says (the soft hyphen one column; tmux 3.3 measured, see below).
    fn columns_by_char(g: &str) -> usize {
        use unicode_width::UnicodeWidthChar;
        g.chars()
            .map(|c| match c {
                '\u{AD}' => 1,
                c => c.width().unwrap_or(0),
            })
            .sum()
    }

    #[test]
    fn every_grapheme_is_as_wide_as_its_characters() {
        use unicode_segmentation::UnicodeSegmentation;
        // Sequences a model or a catalog writes; each is measured differently by ratatui and by
        // tmux 3.3 as it is (cursor column after `printf`: `✔️X` 2, `👍🏻X` 5, `\u{AD}X` 2, `1️⃣X`
        // 2); tmux 3.3 joins a family as ratatui does, other terminals draw its people apart.
        let tricky = [
            "✔\u{FE0F}",
            "❤\u{FE0F}",
            "👍\u{1F3FB}",
            "👨\u{200D}👩\u{200D}👧",
            "1\u{FE0F}\u{20E3}",
            "soft\u{AD}hyphen",
        ];
        for raw in tricky.iter().filter(|t| !t.contains('\u{200D}')) {
            let before = raw.graphemes(true).any(|g| g.width() != columns_by_char(g));
            assert!(
                before,
                "{raw:?} is not a case ratatui and a terminal disagree on"
            );
        }
        // Random text over these and plain, wide and combining characters (seeded).
        let pool: Vec<char> = "aé\u{301}模✔❤👍🇨🇳1\u{20E3}🏴葛 \u{FE0F}\u{FE0E}\u{200D}\u{1F3FB}\u{1F3FF}\u{AD}\u{E0067}\u{E007F}\u{E0100}\u{200B}"
            .chars()
            .collect();
        let mut state = 0x9E37_79B9_7F4A_7C15u64;
        let mut random = |n: usize| {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            (state % n as u64) as usize
        };
        let mut texts: Vec<String> = tricky.iter().map(|t| format!("Now {t} only")).collect();
        texts.extend((0..2000).map(|_| (0..12).map(|_| pool[random(pool.len())]).collect()));
        for raw in &texts {
            let shown = sanitize(raw);
            for g in shown.graphemes(true) {
                assert_eq!(g.width(), columns_by_char(g), "{g:?} of {raw:?}");
            }
        }
        assert_eq!(sanitize("Fresh ✔\u{FE0F} 👍\u{1F3FB}"), "Fresh ✔ 👍");
        assert_eq!(sanitize("👨\u{200D}👩"), "👨👩");
    }

    #[test]
    fn caps_length() {
        let s = sanitize(&"x".repeat(5000));
        assert_eq!(s.chars().count(), MAX_CHARS);
        assert!(s.ends_with('…'));
        assert_eq!(sanitize(&"y".repeat(MAX_CHARS)), "y".repeat(MAX_CHARS));
    }
}
