//! Draft tokens: what a request's own record suggests its copy writes next. Copy quotes its
//! record (the product's name, its price: `The Northpine Sable tent, now only 84.99`); once the
//! copy has begun a run of the record's tokens, the record's next tokens are a likely
//! continuation. The worker decodes them beside the token just sampled, in the same batch (a
//! row of logits a step leaves spare costs little next to a step of its own), and keeps each
//! one the model then samples itself, in fewer steps. Every token is the model's own, but not
//! always the one it would have sampled without drafts: llama.cpp's kernels round a batch of
//! two rows of logits differently from one, as a shared batch of several requests does (the
//! demo's en copy on seed 683, 48 pairs: 1,166 tokens with drafts, 1,071 without; README,
//! Measured figures).
//!
//! Invariants:
//! - Pure, over tokens of any type that compares: no llama.cpp type, no I/O; total over any
//!   input.
//! - [`lookup`] returns at most `max` tokens, all taken in order from `source` right after a
//!   run of at least [`MIN_MATCH`] tokens equal to the end of `written`: the longest such run
//!   (up to [`MAX_MATCH`]), its last occurrence among equals. Nothing when no run matches.
//! - A draft only proposes: the worker samples every token from the model's own logits through
//!   the number gate as always, and a draft token is kept only when it is the token sampled.
//! - A draft row is decoded only where it pays ([`StepCosts::worth`]): a row costs the whole
//!   step (every request in it waits for it), and what a step's rows cost depends on the CPU's
//!   kernels (on one 2-core EPYC a fourth row adds 31 % to a three-row step). The engine times
//!   steps of 1, 2, … rows when it starts; with how often a draft is kept ([`gain`]), a step
//!   takes the drafts that raise its expected tokens per millisecond. The times are fixed once
//!   measured, so the drafts a step takes depend on its tokens alone.

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

/// How often the n-th draft of a run is kept when those before it were (the last for any
/// later one): en copy, seed 433, 24 pairs, `measure` build: 65 % of 1,008 first drafts, 83 %
/// of 405 second ones, 87 % of 15 third ones; rounded down.
const KEEP_RATES: [f64; 3] = [0.6, 0.8, 0.8];

/// The expected tokens the `nth` draft of a run (0 the first) adds: it and every draft before it
/// kept ([`KEEP_RATES`]).
pub(super) fn gain(nth: usize) -> f64 {
    (0..=nth)
        .map(|i| KEEP_RATES[i.min(KEEP_RATES.len() - 1)])
        .product()
}

/// How far a step's time measured when the engine starts may stray from the same step's time
/// in the serve loop: a draft is taken only when its step's expected tokens per millisecond
/// beat the fewer drafts' by more. One start on a 2-core EPYC (bench seed 457) timed a step of
/// four rows at 18.1 ms and of three at 15.6, so a session's three picks took a draft (3.6
/// expected tokens in 18.1 ms, 3.5 % more per ms than 3 in 15.6), and the 217 steps of four
/// rows of its 24 sessions then took p50 21.1 ms (18.2-31.1), its 22 steps of three p50 16.5.
const TIMING_NOISE: f64 = 0.05;

/// A step's decode time by its rows, measured on this machine when the engine starts, and
/// fixed from then on: which drafts a step takes depends on the tokens alone, so a fixed seed
/// writes one copy for the engine's life.
#[derive(Debug, Clone, Default, PartialEq)]
pub(super) struct StepCosts {
    /// Milliseconds of a step of `i + 1` rows.
    ms: Vec<f64>,
}

impl StepCosts {
    /// Step times of 1, 2, … rows in order.
    pub(super) fn new(ms: Vec<f64>) -> Self {
        Self { ms }
    }

    /// The time of a step of `rows` rows; `None` beyond those measured.
    fn cost(&self, rows: usize) -> Option<f64> {
        self.ms
            .get(rows.checked_sub(1)?)
            .copied()
            .filter(|ms| ms.is_finite() && *ms > 0.0)
    }

    /// How many of the offered drafts to decode beside `rows` sampled tokens: `gains` are the
    /// offered drafts' expected tokens ([`gain`]), best first; the count is the one whose step
    /// writes the most expected tokens per millisecond, a draft more taken only when it beats
    /// the fewer by more than [`TIMING_NOISE`] (the fewest within it). None where a step's time
    /// is not measured.
    pub(super) fn worth(&self, rows: usize, gains: &[f64]) -> usize {
        let Some(base) = self.cost(rows) else {
            return 0;
        };
        let mut best = (rows as f64 / base, 0);
        let mut tokens = rows as f64;
        for (i, g) in gains.iter().enumerate() {
            tokens += g;
            let Some(ms) = self.cost(rows + i + 1) else {
                break;
            };
            if tokens / ms > best.0 * (1.0 + TIMING_NOISE) {
                best = (tokens / ms, i + 1);
            }
        }
        best.1
    }

    /// The drafts a step of 1, 2, … sampled tokens takes when one request offers as many as fit
    /// (for the log).
    pub(super) fn plan(&self) -> Vec<usize> {
        let gains: Vec<f64> = (0..self.ms.len()).map(gain).collect();
        (1..=self.ms.len())
            .map(|rows| self.worth(rows, &gains[..self.ms.len() - rows]))
            .collect()
    }

    /// The measured step times, in milliseconds, by rows from one.
    pub(super) fn step_ms(&self) -> &[f64] {
        &self.ms
    }
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

    /// Step times by rows as measured on a 2-core EPYC (the bench's bare loop: 1 row 10.7 ms,
    /// 2: 12.2, 3: 15.0, 4: 19.6).
    fn epyc() -> StepCosts {
        StepCosts::new(vec![10.7, 12.2, 15.0, 19.6])
    }

    #[test]
    fn a_draft_row_is_decoded_where_it_raises_the_steps_tokens_per_ms() {
        let costs = epyc();
        let gains: Vec<f64> = (0..3).map(gain).collect();
        assert_eq!(gains, vec![0.6, 0.48, 0.6 * 0.8 * 0.8]);
        // One request alone: 2.08 tokens in 15.0 ms (0.139 a ms) beats 1 in 10.7 (0.093), 1.6
        // in 12.2 (0.131) and 2.46 in 19.6 (0.126).
        assert_eq!(costs.worth(1, &gains), 2);
        // A session's three picks: 3.6 tokens in 19.6 ms is less than 3 in 15.0.
        assert_eq!(costs.worth(3, &gains[..1]), 0);
        assert_eq!(costs.plan(), vec![2, 1, 0, 0]);
        // Within the timing's noise, the fewer rows: that start's times (seed 457) find a
        // fourth row beside three picks 3.5 % better per ms, and a third beside one request's
        // two 4.2 % worse.
        let noisy = StepCosts::new(vec![9.9, 11.5, 15.6, 18.1]);
        assert_eq!(noisy.worth(3, &gains[..1]), 0);
        assert_eq!(noisy.plan(), vec![1, 0, 0, 0]);
        // A start that timed two rows slow (bench seed 449: 9.2, 14.4, 15.2, 17.6 ms) still
        // drafts two beside one request and one beside two.
        assert_eq!(
            StepCosts::new(vec![9.2, 14.4, 15.2, 17.6]).plan(),
            vec![2, 1, 0, 0]
        );
        // Rows that cost nothing are worth any draft; rows that cost a step, none; rows not
        // measured, none.
        assert_eq!(StepCosts::new(vec![10.0; 4]).worth(1, &gains), 3);
        let linear = StepCosts::new((1..=4).map(|r| 10.0 * r as f64).collect());
        assert_eq!(linear.worth(1, &gains), 0);
        assert_eq!(StepCosts::new(vec![10.0]).worth(1, &gains), 0);
        assert_eq!(StepCosts::default().worth(1, &gains), 0);
        assert_eq!(
            StepCosts::new(vec![10.0, 0.0]).worth(1, &gains),
            0,
            "a step of no time"
        );
    }

    proptest! {
        #[test]
        fn the_drafts_worth_decoding_are_among_those_offered(
            times in prop::collection::vec(-1.0f64..100.0, 0..10),
            gains in prop::collection::vec(0.0f64..1.0, 0..8),
            rows in 0usize..12,
        ) {
            let costs = StepCosts::new(times.clone());
            let take = costs.worth(rows, &gains);
            prop_assert!(take <= gains.len() && rows + take <= times.len().max(rows));
            prop_assert_eq!(costs.plan().len(), times.len());
            for nth in 0..8 {
                prop_assert!(gain(nth) > 0.0 && gain(nth) < 1.0);
            }
        }

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
