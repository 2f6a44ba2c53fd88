//! Redaction of free text that may carry personal data (quarantine reasons and excerpts, logs).
//!
//! Nearly a leaf module: it imports only [`crate::numbers`], the crate's one number scanner.
//!
//! Invariants:
//! - [`redact`] masks e-mail addresses and runs of 6 or more digits (loyalty, phone and card
//!   numbers, possibly broken by spaces, dashes, dots or brackets), and keeps everything else as
//!   is; it never panics on any input.

use crate::numbers::{chains, ChainRule};

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
    // Digit chains as the shared scanner joins them for contact data (any run of
    // `space - ( ) + .` between digits, a leading `+` included).
    let mut out = String::with_capacity(joined.len());
    let mut at = 0;
    for chain in chains(&joined, ChainRule::CONTACT) {
        if chain.digits.len() >= 6 {
            out.push_str(&joined[at..chain.span.start]);
            out.push_str("[number]");
            at = chain.span.end;
        }
    }
    out.push_str(&joined[at..]);
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
