//! Draft tokens: what a request's own record suggests its copy writes next. Copy quotes its
//! record (the product's name, its price: `The Northpine Sable tent, now only 84.99`); once the
//! copy has begun a run of the record's tokens, the record's next tokens are a likely
//! continuation. The worker decodes them beside the token just sampled, in the same batch (a
//! row of logits a step leaves spare costs little next to a step of its own), and keeps each
//! one the model then samples itself: the copy is the one it would have written without
//! drafts, token for token, in fewer steps.
//!
//! Invariants:
//! - Pure, over tokens of any type that compares: no llama.cpp type, no I/O; total over any
//!   input.
//! - [`lookup`] returns at most `max` tokens, all taken in order from `source` right after a
//!   run of at least [`MIN_MATCH`] tokens equal to the end of `written`: the longest such run
//!   (up to [`MAX_MATCH`]), its last occurrence among equals. Nothing when no run matches.
//! - A draft only proposes: the worker samples every token from the model's own logits through
//!   the number gate as always, and a draft token is kept only when it is the token sampled.

/// Tokens of `written`'s end that must match `source` before its continuation is drafted.
pub(super) const MIN_MATCH: usize = 1;

/// The longest run of `written`'s end looked for in `source`.
pub(super) const MAX_MATCH: usize = 3;

/// The continuation in `source` of the longest run (at least [`MIN_MATCH`], at most
/// [`MAX_MATCH`] tokens) that ends `written`, at most `max` tokens; empty when none matches.
pub(super) fn lookup<T: PartialEq + Copy>(source: &[T], written: &[T], max: usize) -> Vec<T> {
    if max == 0 {
        return Vec::new();
    }
    let longest = MAX_MATCH.min(written.len());
    for n in (MIN_MATCH..=longest).rev() {
        let tail = &written[written.len() - n..];
        // The last occurrence with at least one token after it.
        let found = source
            .windows(n)
            .enumerate()
            .rev()
            .find(|(at, run)| *run == tail && at + n < source.len());
        if let Some((at, _)) = found {
            let from = at + n;
            return source[from..source.len().min(from + max)].to_vec();
        }
    }
    Vec::new()
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn the_record_continues_the_run_the_copy_has_begun() {
        // Record: `Product: Northpine Sable Tent\nPrice: 84.99`, as ids.
        let record = [1, 2, 3, 4, 5, 9, 6, 7, 8, 4, 10, 4, 4];
        // The copy wrote `... North` (3): `pine Sable` and on follow.
        assert_eq!(lookup(&record, &[20, 21, 3], 2), vec![4, 5]);
        // The longest run decides: `4` alone is last followed by `4`, but `3 4` by `5`.
        assert_eq!(lookup(&record, &[20, 3, 4], 3), vec![5, 9, 6]);
        // Among runs as long, the last occurrence: `4` is at 4, 9, 11 and 12 (the end).
        assert_eq!(lookup(&record, &[20, 4], 1), vec![4]);
        // The draft stops at the record's end.
        assert_eq!(lookup(&record, &[10], 5), vec![4, 4]);
    }

    #[test]
    fn nothing_is_drafted_without_a_match_or_room() {
        let record = [1, 2, 3];
        assert!(lookup(&record, &[7], 3).is_empty(), "no match");
        assert!(lookup(&record, &[3], 3).is_empty(), "matched at the end");
        assert!(lookup(&record, &[1], 0).is_empty(), "no room");
        assert!(lookup(&record, &[], 3).is_empty(), "nothing written");
        assert!(lookup(&[], &[1], 3).is_empty(), "no record");
    }

    proptest! {
        #[test]
        fn a_draft_is_a_run_of_the_source_after_a_match(
            source in prop::collection::vec(0i32..6, 0..40),
            written in prop::collection::vec(0i32..6, 0..10),
            max in 0usize..6,
        ) {
            let draft = lookup(&source, &written, max);
            prop_assert!(draft.len() <= max);
            if !draft.is_empty() {
                // Some run of `written`'s end is followed by the draft in `source`.
                let ok = (MIN_MATCH..=MAX_MATCH.min(written.len())).any(|n| {
                    let tail = &written[written.len() - n..];
                    (0..source.len().saturating_sub(n)).any(|at| {
                        source[at..at + n] == *tail
                            && source[at + n..].starts_with(&draft)
                    })
                });
                prop_assert!(ok, "{draft:?} does not follow a match in {source:?}");
            }
        }
    }
}
