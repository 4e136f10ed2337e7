//! A fixed-size set of rows, one bit per image: what every filter, facet, search and
//! selection evaluates to.
//!
//! At a million images a set is 122 KiB, so combining terms (and, or, not) is a few
//! thousand word operations, and a set is filled in parallel 64 rows (one word) at a time
//! with no synchronisation. `fixedbitset` does the same arithmetic but not the parallel,
//! word-aligned fill that evaluation needs, so this small type is ours.

use rayon::prelude::*;

/// Rows are filled in parallel in blocks of this many words (4096 rows).
const BLOCK_WORDS: usize = 64;

/// A set of row indices below `len`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Bits {
    words: Vec<u64>,
    len: usize,
}

impl Bits {
    /// No rows.
    pub fn empty(len: usize) -> Self {
        Self {
            words: vec![0; len.div_ceil(64)],
            len,
        }
    }

    /// Every row.
    pub fn full(len: usize) -> Self {
        let mut b = Self {
            words: vec![u64::MAX; len.div_ceil(64)],
            len,
        };
        b.clear_tail();
        b
    }

    /// Rows for which `f(row)` holds, evaluated on the rayon pool.
    pub fn from_fn(len: usize, f: impl Fn(usize) -> bool + Sync) -> Self {
        let mut b = Self::empty(len);
        b.fill_blocks(|first_row, words| {
            for (w, word) in words.iter_mut().enumerate() {
                let base = first_row + w * 64;
                let mut bits = 0u64;
                for k in 0..64.min(len.saturating_sub(base)) {
                    if f(base + k) {
                        bits |= 1 << k;
                    }
                }
                *word = bits;
            }
        });
        b
    }

    /// Fills blocks of words in parallel: `fill(first_row, words)` sets the words of the
    /// rows from `first_row` on (each word 64 rows; rows past `len` must stay clear).
    pub fn fill_blocks(&mut self, fill: impl Fn(usize, &mut [u64]) + Sync) {
        self.words
            .par_chunks_mut(BLOCK_WORDS)
            .enumerate()
            .for_each(|(block, words)| fill(block * BLOCK_WORDS * 64, words));
        self.clear_tail();
    }

    /// Rows per parallel block of [`Bits::fill_blocks`].
    pub const fn block_rows() -> usize {
        BLOCK_WORDS * 64
    }

    pub fn len(&self) -> usize {
        self.len
    }

    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    pub fn get(&self, row: usize) -> bool {
        row < self.len && self.words[row / 64] & (1 << (row % 64)) != 0
    }

    pub fn set(&mut self, row: usize, on: bool) {
        if row >= self.len {
            return;
        }
        let bit = 1u64 << (row % 64);
        if on {
            self.words[row / 64] |= bit;
        } else {
            self.words[row / 64] &= !bit;
        }
    }

    /// How many rows are in the set.
    pub fn count(&self) -> usize {
        self.words.iter().map(|w| w.count_ones() as usize).sum()
    }

    pub fn and(&mut self, other: &Bits) {
        self.words
            .iter_mut()
            .zip(&other.words)
            .for_each(|(a, b)| *a &= b);
    }

    pub fn or(&mut self, other: &Bits) {
        self.words
            .iter_mut()
            .zip(&other.words)
            .for_each(|(a, b)| *a |= b);
    }

    /// Rows in `self` but not in `other`.
    pub fn and_not(&mut self, other: &Bits) {
        self.words
            .iter_mut()
            .zip(&other.words)
            .for_each(|(a, b)| *a &= !b);
    }

    pub fn not(&mut self) {
        self.words.iter_mut().for_each(|w| *w = !*w);
        self.clear_tail();
    }

    /// The rows in the set, ascending.
    pub fn ones(&self) -> impl Iterator<Item = usize> + '_ {
        self.words.iter().enumerate().flat_map(|(w, &word)| {
            let mut bits = word;
            std::iter::from_fn(move || {
                if bits == 0 {
                    return None;
                }
                let k = bits.trailing_zeros() as usize;
                bits &= bits - 1;
                Some(w * 64 + k)
            })
        })
    }

    /// The words (64 rows each, row 0 in bit 0 of word 0).
    pub fn words(&self) -> &[u64] {
        &self.words
    }

    fn clear_tail(&mut self) {
        let rem = self.len % 64;
        if rem != 0
            && let Some(last) = self.words.last_mut()
        {
            *last &= (1u64 << rem) - 1;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sets_combine_and_count() {
        let n = 10_000 + 7;
        let even = Bits::from_fn(n, |i| i % 2 == 0);
        let threes = Bits::from_fn(n, |i| i % 3 == 0);
        assert_eq!(even.count(), n.div_ceil(2));
        let mut both = even.clone();
        both.and(&threes);
        assert_eq!(both.count(), (0..n).filter(|i| i % 6 == 0).count());
        assert!(both.ones().all(|i| i % 6 == 0));
        let mut odd = even.clone();
        odd.not();
        assert_eq!(odd.count(), n / 2);
        assert!(!odd.get(n) && !odd.get(n + 100), "no rows past the end");
        let mut either = even.clone();
        either.or(&threes);
        either.and_not(&threes);
        assert_eq!(
            either.count(),
            (0..n).filter(|i| i % 2 == 0 && i % 3 != 0).count()
        );
        assert_eq!(Bits::full(n).count(), n);
        let mut b = Bits::empty(70);
        b.set(69, true);
        b.set(500, true);
        assert_eq!(b.ones().collect::<Vec<_>>(), vec![69]);
    }
}
