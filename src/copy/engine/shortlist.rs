//! The shortlist a token is sampled from: the `k` highest logits of one row, leaving out the
//! tokens a request may not write. It takes the place of llama.cpp's logit-bias (−∞) and top-k
//! samplers run over the whole vocabulary, which copy the row into a 262,144-entry candidate
//! array (3 MB, one per sampler chain in flight) for every token.
//!
//! Invariants:
//! - [`top_k`] keeps `min(k, tokens not excluded and not NaN)` tokens, highest logit first; no
//!   token left out (and not excluded) has a logit above the lowest one kept, so the shortlist is
//!   the top `k` of the row after every excluded token's logit was set to −∞. Among equal logits
//!   the lower token id is kept.
//! - An excluded or NaN-logit token is never kept.
//! - `out` is reused: after its first fill it never allocates again.
//! - Pure: no llama.cpp, no I/O. The main loop compares blocks of eight logits with the lowest
//!   kept in plain indexed code (vectorised in a release build, 48 µs a row of 262,144 here;
//!   0.6 ms unoptimised, as the demo and the tests run it); the exclusion test runs only for a
//!   logit that would enter the shortlist.

/// A set of token ids, one bit each over the vocabulary.
#[derive(Debug, Clone, Default)]
pub(super) struct TokenSet {
    words: Vec<u64>,
}

impl TokenSet {
    /// The set of `ids`; negative ids are ignored (no token has one).
    pub(super) fn of(ids: impl IntoIterator<Item = i32>) -> Self {
        let mut set = Self::default();
        for id in ids {
            set.insert(id);
        }
        set
    }

    pub(super) fn insert(&mut self, id: i32) {
        let Ok(id) = usize::try_from(id) else {
            return;
        };
        let (word, bit) = (id / 64, id % 64);
        if word >= self.words.len() {
            self.words.resize(word + 1, 0);
        }
        self.words[word] |= 1 << bit;
    }

    pub(super) fn contains(&self, id: i32) -> bool {
        usize::try_from(id)
            .ok()
            .and_then(|id| self.words.get(id / 64).map(|w| w >> (id % 64) & 1 == 1))
            .unwrap_or(false)
    }
}

/// Fills `out` with the `k` highest `(token id, logit)` of `logits` (index = token id) whose token
/// `excluded` does not hold, highest first.
pub(super) fn top_k(
    logits: &[f32],
    k: usize,
    excluded: impl Fn(i32) -> bool,
    out: &mut Vec<(i32, f32)>,
) {
    out.clear();
    if k == 0 {
        return;
    }
    // The vocabulary's ids are i32 in llama.cpp; a longer row has no tokens past that.
    let n = logits.len().min(i32::MAX as usize);
    let mut i = 0;
    // Fill: the first `k` tokens that may be written.
    while i < n && out.len() < k {
        let x = logits[i];
        let id = i as i32;
        if !x.is_nan() && !excluded(id) {
            out.push((id, x));
        }
        i += 1;
    }
    let (mut low, mut low_at) = lowest(out);
    // Scan: a logit above the lowest kept replaces it (strictly above: the lower id stays).
    // Eight at a time first, as one comparison of the block (most blocks have nothing above).
    while i + 8 <= n {
        let hit = (logits[i] > low)
            | (logits[i + 1] > low)
            | (logits[i + 2] > low)
            | (logits[i + 3] > low)
            | (logits[i + 4] > low)
            | (logits[i + 5] > low)
            | (logits[i + 6] > low)
            | (logits[i + 7] > low);
        if hit {
            let mut j = i;
            while j < i + 8 {
                consider(j, logits[j], &excluded, out, &mut low, &mut low_at);
                j += 1;
            }
        }
        i += 8;
    }
    while i < n {
        consider(i, logits[i], &excluded, out, &mut low, &mut low_at);
        i += 1;
    }
    out.sort_unstable_by(|a, b| b.1.total_cmp(&a.1).then(a.0.cmp(&b.0)));
}

/// Token `i` with logit `x` replaces the lowest kept if it is above it and not excluded.
fn consider(
    i: usize,
    x: f32,
    excluded: &impl Fn(i32) -> bool,
    out: &mut [(i32, f32)],
    low: &mut f32,
    low_at: &mut usize,
) {
    // `i` < `i32::MAX` (the row was cut there).
    let id = i as i32;
    if x > *low && !excluded(id) {
        out[*low_at] = (id, x);
        (*low, *low_at) = lowest(out);
    }
}

/// The lowest logit kept and where it is; among equal logits the highest id (the one to drop
/// first). `+∞` when nothing is kept, so nothing replaces anything.
fn lowest(out: &[(i32, f32)]) -> (f32, usize) {
    let mut at = 0;
    let mut low = f32::INFINITY;
    for (j, &(id, x)) in out.iter().enumerate() {
        if x < low || (x == low && id > out[at].0) {
            low = x;
            at = j;
        }
    }
    (low, at)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The shortlist by brute force: mask, sort everything, take `k`.
    fn reference(logits: &[f32], k: usize, excluded: &TokenSet) -> Vec<(i32, f32)> {
        let mut all: Vec<(i32, f32)> = logits
            .iter()
            .enumerate()
            .map(|(i, &x)| (i as i32, x))
            .filter(|&(id, x)| !x.is_nan() && !excluded.contains(id))
            .collect();
        all.sort_by(|a, b| b.1.total_cmp(&a.1).then(a.0.cmp(&b.0)));
        all.truncate(k);
        all
    }

    /// A deterministic pseudo-random row (xorshift), with ties and the odd −∞ and NaN.
    fn row(n: usize, seed: u64) -> Vec<f32> {
        let mut s = seed | 1;
        (0..n)
            .map(|_| {
                s ^= s << 13;
                s ^= s >> 7;
                s ^= s << 17;
                match s % 97 {
                    0 => f32::NEG_INFINITY,
                    1 => f32::NAN,
                    // Coarse values so that ties are common.
                    v => (v as f32 - 48.0) / 4.0,
                }
            })
            .collect()
    }

    #[test]
    fn matches_a_full_sort_over_random_rows() {
        let mut out = Vec::new();
        for seed in 1..200u64 {
            let logits = row(50 + (seed as usize * 37) % 700, seed);
            let excluded =
                TokenSet::of((0..logits.len() as i32).filter(|i| i % (seed as i32 % 5 + 2) == 0));
            for k in [1, 2, 20, 40, 5000] {
                top_k(&logits, k, |id| excluded.contains(id), &mut out);
                assert_eq!(out, reference(&logits, k, &excluded), "seed {seed}, k {k}");
            }
        }
    }

    #[test]
    fn nothing_excluded_or_nan_is_kept_and_short_rows_give_what_they_have() {
        let mut out = Vec::new();
        top_k(
            &[f32::NAN, 1.0, 3.0, f32::NEG_INFINITY],
            20,
            |id| id == 2,
            &mut out,
        );
        assert_eq!(out, vec![(1, 1.0), (3, f32::NEG_INFINITY)]);
        top_k(&[1.0, 2.0], 0, |_| false, &mut out);
        assert!(out.is_empty());
        top_k(&[], 3, |_| false, &mut out);
        assert!(out.is_empty());
        top_k(&[5.0, 6.0], 3, |_| true, &mut out);
        assert!(out.is_empty());
    }

    #[test]
    fn equal_logits_keep_the_lower_id() {
        let mut out = Vec::new();
        top_k(&[1.0; 10], 3, |_| false, &mut out);
        assert_eq!(out, vec![(0, 1.0), (1, 1.0), (2, 1.0)]);
    }

    #[test]
    fn the_buffer_is_reused() {
        let logits = row(262_144, 7);
        let mut out = Vec::new();
        top_k(&logits, 20, |_| false, &mut out);
        let capacity = out.capacity();
        let at = out.as_ptr();
        for _ in 0..3 {
            top_k(&logits, 20, |id| id % 2 == 0, &mut out);
        }
        assert_eq!((out.capacity(), out.as_ptr()), (capacity, at));
    }

    #[test]
    fn token_sets_hold_what_was_put_in() {
        let set = TokenSet::of([0, 63, 64, 262_143, -1]);
        for id in [0, 63, 64, 262_143] {
            assert!(set.contains(id), "{id}");
        }
        for id in [1, 62, 65, 262_142, 262_144, -1, i32::MAX] {
            assert!(!set.contains(id), "{id}");
        }
    }
}
