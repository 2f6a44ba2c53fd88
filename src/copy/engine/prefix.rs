//! Bookkeeping of the resident prompt prefixes: which prefix lives in which KV sequence, how
//! many cells it holds and which one to evict next (least recently used). Model-free: the worker
//! decodes, copies and clears sequences; this module only decides. Two books, one per KV layout
//! ([`super::KvLayout`]): [`PrefixSlots`] for the unified cache (prefixes in sequences of their
//! own, shared into working sequences), [`HeldPrefixes`] for the split one (each working
//! sequence keeps the prefix of its last request).
//!
//! Invariants of [`PrefixSlots`]:
//! - Prefix sequences are `first..first + slots`; the sequences below `first` (the working
//!   sequences, one per request in flight) are never handed out. At most `slots` prefixes are
//!   resident, each in its own sequence, each text at most once.
//! - Every request advances the clock once ([`PrefixSlots::tick`]); a prefix found or inserted
//!   is stamped with it, and eviction takes the smallest stamp, never the sequence to keep.
//! - A prefix leaves the bookkeeping before the worker clears its cells: if clearing fails the
//!   request fails, and at worst a sequence holds cells nobody reuses until the next reset.
//! - The cells counted are the prefixes' token counts; the request's own need (suffix plus
//!   tokens to generate) is added by the caller.

use std::sync::Arc;

use super::EngineError;

/// One decoded prefix kept in the KV cache.
#[derive(Debug)]
struct Resident {
    text: Arc<str>,
    seq: i32,
    len: usize,
    last_used: u64,
}

/// The resident prefixes and the LRU clock.
#[derive(Debug)]
pub(super) struct PrefixSlots {
    resident: Vec<Resident>,
    tick: u64,
    slots: u32,
    first: i32,
}

impl PrefixSlots {
    /// No prefix resident; at most `slots` at once, in sequences `first..first + slots`.
    pub(super) fn new(slots: u32, first: i32) -> Self {
        Self {
            resident: Vec::new(),
            tick: 0,
            slots,
            first,
        }
    }

    /// Forget every prefix (the KV cache was emptied).
    pub(super) fn clear(&mut self) {
        self.resident.clear();
    }

    /// Advance the clock: one tick per request using the prefix cache.
    pub(super) fn tick(&mut self) {
        self.tick += 1;
    }

    /// The sequence and length of `text` when it is resident, marking it used now.
    pub(super) fn touch(&mut self, text: &str) -> Option<(i32, usize)> {
        let tick = self.tick;
        self.resident
            .iter_mut()
            .find(|r| *r.text == *text)
            .map(|r| {
                r.last_used = tick;
                (r.seq, r.len)
            })
    }

    /// The lowest prefix sequence no resident prefix uses.
    pub(super) fn free_seq(&self) -> Option<i32> {
        (self.first..self.first + self.slots as i32)
            .find(|s| self.resident.iter().all(|r| r.seq != *s))
    }

    /// Record `text` as decoded into `seq` with `len` tokens, used now.
    pub(super) fn insert(&mut self, text: Arc<str>, seq: i32, len: usize) {
        self.resident.push(Resident {
            text,
            seq,
            len,
            last_used: self.tick,
        });
    }

    /// The next prefix to evict so that `need` more cells fit in `n_ctx` beside the resident
    /// prefixes and, for a new prefix (`keep` is `None`), a sequence slot is free. The victim
    /// (least recently used, never `keep` nor one of `pinned`: the prefixes of requests in
    /// flight, whose cells stay taken by the requests' own sequences) leaves the bookkeeping and
    /// its sequence is returned for the caller to clear; `None` when there is room already.
    /// Fails when room is still short and nothing can be evicted.
    pub(super) fn evict_for(
        &mut self,
        need: usize,
        keep: Option<i32>,
        pinned: &[i32],
        n_ctx: u32,
    ) -> Result<Option<i32>, EngineError> {
        let used: usize = self.resident.iter().map(|r| r.len).sum();
        let slot_free = keep.is_some() || self.resident.len() < self.slots as usize;
        if used + need <= n_ctx as usize && slot_free {
            return Ok(None);
        }
        let victim = self
            .resident
            .iter()
            .enumerate()
            .filter(|(_, r)| Some(r.seq) != keep && !pinned.contains(&r.seq))
            .min_by_key(|(_, r)| r.last_used)
            .map(|(i, _)| i);
        let Some(i) = victim else {
            return Err(EngineError::PromptTooLong {
                tokens: used + need,
                max_tokens: 0,
                n_ctx,
            });
        };
        Ok(Some(self.resident.remove(i).seq))
    }
}

/// The split layout's books: every working sequence has a cache of its own and keeps the prefix
/// of its last request (the request's own cells after it are cleared when it ends); up to
/// `slots` decoded prefixes are also kept out of the cache (a saved copy of a sequence's cells,
/// which the worker holds), so a sequence that needs a prefix it does not hold restores it
/// instead of decoding it again.
///
/// Invariants:
/// - A sequence holds at most one prefix; the books forget it before the worker clears or
///   overwrites the sequence's cells.
/// - [`HeldPrefixes::choose`] never returns a busy sequence, and prefers, in order: a free
///   sequence holding the request's prefix (nothing to decode), an empty one, the free one whose
///   prefix was used longest ago.
/// - At most `slots` prefixes are stored, each text once, each in its own slot `0..slots`; a
///   full store gives up its least recently used prefix's slot.
#[derive(Debug)]
pub(super) struct HeldPrefixes {
    held: Vec<Option<Resident>>,
    stored: Vec<Resident>,
    slots: u32,
    tick: u64,
}

/// Where a working sequence gets a request's prefix from ([`HeldPrefixes::source`]).
#[derive(Debug, PartialEq, Eq)]
pub(super) enum Source {
    /// The sequence holds it already: `len` cells.
    Held(usize),
    /// It is stored in `slot` (`len` cells): restore it.
    Stored { slot: usize, len: usize },
    /// Nowhere: decode it (and store it, [`HeldPrefixes::store`]).
    Decode,
}

impl HeldPrefixes {
    /// `seqs` working sequences, none holding anything; room for `slots` stored prefixes.
    pub(super) fn new(seqs: u32, slots: u32) -> Self {
        Self {
            held: (0..seqs).map(|_| None).collect(),
            stored: Vec::new(),
            slots,
            tick: 0,
        }
    }

    /// Forget every held prefix (the KV cache was emptied); stored ones stay valid.
    pub(super) fn clear(&mut self) {
        self.held.iter_mut().for_each(|h| *h = None);
    }

    /// The free sequence (not in `busy`) a request for `text` should run in; `None` when every
    /// sequence is busy.
    pub(super) fn choose(&self, text: &str, busy: &[i32]) -> Option<i32> {
        let rank = |held: &Option<Resident>| match held {
            Some(r) if *r.text == *text => (0, 0),
            None => (1, 0),
            Some(r) => (2, r.last_used),
        };
        (0..self.held.len())
            .filter(|s| !busy.contains(&(*s as i32)))
            .min_by_key(|s| rank(&self.held[*s]))
            .map(|s| s as i32)
    }

    /// Where `seq` gets `text` from, marking the prefix used now (one tick per request).
    pub(super) fn source(&mut self, seq: i32, text: &str) -> Source {
        self.tick += 1;
        let tick = self.tick;
        if let Some(r) = self
            .held
            .get_mut(seq as usize)
            .and_then(Option::as_mut)
            .filter(|r| *r.text == *text)
        {
            r.last_used = tick;
            return Source::Held(r.len);
        }
        match self.stored.iter_mut().find(|r| *r.text == *text) {
            Some(r) => {
                r.last_used = tick;
                Source::Stored {
                    slot: r.seq as usize,
                    len: r.len,
                }
            }
            None => Source::Decode,
        }
    }

    /// The slot to store `text` (`len` cells) in: a free one, else the least recently used
    /// prefix's. `None` with no slots or when `text` is stored already.
    pub(super) fn store(&mut self, text: Arc<str>, len: usize) -> Option<usize> {
        if self.slots == 0 || self.stored.iter().any(|r| r.text == text) {
            return None;
        }
        let slot = if self.stored.len() < self.slots as usize {
            (0..self.slots as i32).find(|s| self.stored.iter().all(|r| r.seq != *s))?
        } else {
            let (i, _) = self
                .stored
                .iter()
                .enumerate()
                .min_by_key(|(_, r)| r.last_used)?;
            self.stored.remove(i).seq
        };
        self.stored.push(Resident {
            text,
            seq: slot,
            len,
            last_used: self.tick,
        });
        Some(slot as usize)
    }

    /// `seq` now holds `text` (`len` cells), used now.
    pub(super) fn set(&mut self, seq: i32, text: Arc<str>, len: usize) {
        if let Some(h) = self.held.get_mut(seq as usize) {
            *h = Some(Resident {
                text,
                seq,
                len,
                last_used: self.tick,
            });
        }
    }

    /// `seq` holds nothing any more (about to be cleared or overwritten).
    pub(super) fn forget(&mut self, seq: i32) {
        if let Some(h) = self.held.get_mut(seq as usize) {
            *h = None;
        }
    }

    /// The cells of the prefix `seq` holds, if any.
    pub(super) fn len_of(&self, seq: i32) -> Option<usize> {
        self.held.get(seq as usize)?.as_ref().map(|r| r.len)
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    /// Run a request's bookkeeping as the worker does: tick, touch or make room and insert.
    /// Returns the sequences evicted and the prefix's sequence.
    fn request(
        p: &mut PrefixSlots,
        text: &str,
        len: usize,
        need: usize,
        n_ctx: u32,
    ) -> (Vec<i32>, i32) {
        p.tick();
        let mut evicted = Vec::new();
        if let Some((seq, _)) = p.touch(text) {
            while let Some(s) = p.evict_for(need, Some(seq), &[], n_ctx).unwrap() {
                evicted.push(s);
            }
            return (evicted, seq);
        }
        while let Some(s) = p.evict_for(len + need, None, &[], n_ctx).unwrap() {
            evicted.push(s);
        }
        let seq = p.free_seq().unwrap();
        p.insert(Arc::from(text), seq, len);
        (evicted, seq)
    }

    #[test]
    fn prefixes_take_free_sequences_from_one() {
        let mut p = PrefixSlots::new(3, 1);
        assert_eq!(p.free_seq(), Some(1));
        assert_eq!(request(&mut p, "a", 10, 5, 1000), (vec![], 1));
        assert_eq!(request(&mut p, "b", 10, 5, 1000), (vec![], 2));
        assert_eq!(
            request(&mut p, "a", 10, 5, 1000),
            (vec![], 1),
            "resident: reused"
        );
        assert_eq!(p.touch("a"), Some((1, 10)));
        assert_eq!(p.touch("c"), None);
        assert_eq!(p.free_seq(), Some(3));
    }

    #[test]
    fn a_full_set_of_slots_evicts_the_least_recently_used() {
        let mut p = PrefixSlots::new(2, 1);
        request(&mut p, "a", 10, 5, 1000);
        request(&mut p, "b", 10, 5, 1000);
        request(&mut p, "a", 10, 5, 1000);
        assert_eq!(
            request(&mut p, "c", 10, 5, 1000),
            (vec![2], 2),
            "b was used last longest ago"
        );
        assert_eq!(p.touch("b"), None);
        assert_eq!(p.touch("a"), Some((1, 10)));
    }

    #[test]
    fn a_short_context_evicts_until_the_request_fits_but_never_the_kept_prefix() {
        let mut p = PrefixSlots::new(4, 1);
        request(&mut p, "a", 40, 10, 100);
        request(&mut p, "b", 40, 10, 100);
        // c needs 40 + 10 beside a and b (80 used): evicting a, the oldest, is enough.
        assert_eq!(request(&mut p, "c", 40, 10, 100), (vec![1], 1));
        // b is resident and kept; a request needing 60 more evicts c, not b.
        assert_eq!(request(&mut p, "b", 40, 60, 100), (vec![1], 2));
        assert_eq!(p.touch("c"), None);
    }

    #[test]
    fn nothing_left_to_evict_is_an_error() {
        let mut p = PrefixSlots::new(2, 1);
        request(&mut p, "a", 50, 10, 100);
        p.tick();
        assert!(matches!(
            p.evict_for(60, Some(1), &[], 100),
            Err(EngineError::PromptTooLong {
                tokens: 110,
                max_tokens: 0,
                n_ctx: 100
            })
        ));
        assert_eq!(p.evict_for(60, None, &[], 100).unwrap(), Some(1));
        assert!(matches!(
            p.evict_for(200, None, &[], 100),
            Err(EngineError::PromptTooLong { tokens: 200, .. })
        ));
    }

    #[test]
    fn the_prefix_of_a_request_in_flight_is_never_evicted() {
        let mut p = PrefixSlots::new(3, 1);
        request(&mut p, "a", 40, 10, 100);
        request(&mut p, "b", 40, 10, 100);
        p.tick();
        // a is the oldest but pinned: b goes; then nothing is left to evict.
        assert_eq!(p.evict_for(30, None, &[1], 100).unwrap(), Some(2));
        assert!(p.evict_for(70, None, &[1], 100).is_err());
    }

    #[test]
    fn prefix_sequences_start_after_the_working_ones() {
        let mut p = PrefixSlots::new(2, 4);
        assert_eq!(request(&mut p, "a", 10, 5, 1000), (vec![], 4));
        assert_eq!(request(&mut p, "b", 10, 5, 1000), (vec![], 5));
        assert_eq!(p.free_seq(), None);
    }

    #[test]
    fn clear_forgets_everything() {
        let mut p = PrefixSlots::new(2, 1);
        request(&mut p, "a", 10, 5, 100);
        p.clear();
        assert_eq!(p.touch("a"), None);
        assert_eq!(p.free_seq(), Some(1));
        assert_eq!(p.evict_for(100, None, &[], 100).unwrap(), None);
    }

    #[test]
    fn a_request_runs_where_its_prefix_is_held_else_in_an_empty_sequence() {
        let mut h = HeldPrefixes::new(3, 2);
        assert_eq!(h.choose("a", &[]), Some(0));
        assert_eq!(h.source(0, "a"), Source::Decode);
        assert_eq!(h.store(Arc::from("a"), 10), Some(0));
        assert_eq!(h.store(Arc::from("a"), 10), None, "stored once");
        h.set(0, Arc::from("a"), 10);
        assert_eq!(
            h.choose("b", &[]),
            Some(1),
            "an empty sequence before a held one"
        );
        assert_eq!(h.source(1, "b"), Source::Decode);
        h.set(1, Arc::from("b"), 12);
        assert_eq!(h.choose("a", &[]), Some(0));
        assert_eq!(h.source(0, "a"), Source::Held(10));
        assert_eq!(h.choose("a", &[0]), Some(2), "busy: the empty one");
        assert_eq!(h.source(2, "a"), Source::Stored { slot: 0, len: 10 });
        assert_eq!(h.len_of(1), Some(12));
        assert_eq!(h.len_of(2), None);
        assert_eq!(h.choose("a", &[0, 1, 2]), None);
    }

    #[test]
    fn with_no_empty_sequence_the_least_recently_used_prefix_makes_way() {
        let mut h = HeldPrefixes::new(2, 2);
        for (seq, text) in [(0, "a"), (1, "b")] {
            h.source(seq, text);
            h.set(seq, Arc::from(text), 10);
        }
        h.source(0, "a");
        assert_eq!(h.choose("c", &[]), Some(1), "b was used longest ago");
        assert_eq!(h.choose("c", &[1]), Some(0));
        h.forget(1);
        assert_eq!(h.len_of(1), None);
        assert_eq!(h.source(1, "b"), Source::Decode);
    }

    #[test]
    fn a_full_store_gives_up_the_least_recently_used_slot_and_survives_a_reset() {
        let mut h = HeldPrefixes::new(1, 2);
        for text in ["a", "b"] {
            assert_eq!(h.source(0, text), Source::Decode);
            h.store(Arc::from(text), 5);
        }
        assert_eq!(h.source(0, "a"), Source::Stored { slot: 0, len: 5 });
        assert_eq!(h.source(0, "c"), Source::Decode);
        assert_eq!(
            h.store(Arc::from("c"), 7),
            Some(1),
            "b's slot: used longest ago"
        );
        assert_eq!(h.source(0, "b"), Source::Decode);
        h.clear();
        assert_eq!(h.source(0, "c"), Source::Stored { slot: 1, len: 7 });
        assert_eq!(HeldPrefixes::new(1, 0).store(Arc::from("a"), 5), None);
    }
}
