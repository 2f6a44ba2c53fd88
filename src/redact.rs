//! Redaction of free text that may carry personal data (quarantine reasons and excerpts, logs).
//!
//! A leaf module: it imports nothing from the crate.
//!
//! Invariants:
//! - [`redact`] masks e-mail addresses and runs of 6 or more digits (loyalty, phone and card
//!   numbers, possibly broken by spaces, dashes, dots or brackets), and keeps everything else as
//!   is; it never panics on any input.

/// Masks what could identify a person in free text: e-mail addresses, and runs of 6 or more
/// digits (loyalty numbers, phone numbers, card numbers) possibly broken by spaces or dashes.
pub fn redact(text: &str) -> String {
    let words: Vec<String> = text
        .split(' ')
        .map(|w| {
            if w.contains('@') && w.contains('.') {
                "[email]".to_string()
            } else {
                w.to_string()
            }
        })
        .collect();
    let joined = words.join(" ");
    let chars: Vec<char> = joined.chars().collect();
    let mut out = String::with_capacity(joined.len());
    let mut i = 0;
    while i < chars.len() {
        if chars[i].is_ascii_digit()
            || (chars[i] == '+' && chars.get(i + 1).is_some_and(char::is_ascii_digit))
        {
            let start = i;
            let mut digits = 0;
            let mut end = i;
            while i < chars.len()
                && (chars[i].is_ascii_digit()
                    || matches!(chars[i], ' ' | '-' | '(' | ')' | '+' | '.'))
            {
                if chars[i].is_ascii_digit() {
                    digits += 1;
                    end = i + 1;
                }
                i += 1;
            }
            if digits >= 6 {
                out.push_str("[number]");
            } else {
                out.extend(&chars[start..end]);
            }
            out.extend(&chars[end..i]);
        } else {
            out.push(chars[i]);
            i += 1;
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn redact_masks_contact_data_and_keeps_small_numbers() {
        assert_eq!(redact("mail jane.doe@example.com now"), "mail [email] now");
        assert_eq!(redact("card 4485 1234 5678 9012 ok"), "card [number] ok");
        assert_eq!(redact("call +44 20-7946-0958."), "call [number].");
        assert_eq!(redact("LC20261234,view"), "LC[number],view");
        assert_eq!(redact("price 12.50 qty 3"), "price 12.50 qty 3");
    }

    proptest! {
        #[test]
        fn redaction_never_panics_and_leaves_no_long_digit_run(s in "\\PC{0,120}") {
            let out = redact(&s);
            let longest = out
                .split(|c: char| !c.is_ascii_digit())
                .map(str::len)
                .max()
                .unwrap_or(0);
            prop_assert!(longest < 6, "{out}");
        }
    }
}
