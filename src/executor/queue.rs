//! Priority queue: higher priority first, FIFO among equal priorities.
//!
//! One `VecDeque` per distinct priority, kept in a `BTreeMap` ordered from highest to lowest.
//! The common case (every task at the default priority) is a single deque: push and pop are O(1)
//! and allocation-free once the deque has grown.

use std::cmp::Reverse;
use std::collections::{BTreeMap, VecDeque};

/// A total order over finite `f64` priorities, as an integer key (`-0.0` equals `0.0`).
fn priority_key(priority: f64) -> u64 {
    let bits = (priority + 0.0).to_bits();
    if bits >> 63 == 1 {
        !bits
    } else {
        bits | (1 << 63)
    }
}

#[derive(Debug)]
pub(crate) struct PriorityQueue<T> {
    levels: BTreeMap<Reverse<u64>, VecDeque<T>>,
    len: usize,
}

impl<T> Default for PriorityQueue<T> {
    fn default() -> Self {
        Self {
            levels: BTreeMap::new(),
            len: 0,
        }
    }
}

impl<T> PriorityQueue<T> {
    pub(crate) fn push(&mut self, priority: f64, item: T) {
        self.levels
            .entry(Reverse(priority_key(priority)))
            .or_default()
            .push_back(item);
        self.len += 1;
    }

    pub(crate) fn pop(&mut self) -> Option<T> {
        loop {
            let only_level = self.levels.len() == 1;
            let mut level = self.levels.first_entry()?;
            if let Some(item) = level.get_mut().pop_front() {
                // Keep the last level's deque (and its buffer) around: with one priority in use
                // the queue empties and refills constantly.
                if level.get().is_empty() && !only_level {
                    level.remove();
                }
                self.len -= 1;
                return Some(item);
            }
            // An empty level kept from when it was the only one: drop it and look further.
            if only_level {
                return None;
            }
            level.remove();
        }
    }

    /// The items in the order `pop` would return them.
    pub(crate) fn iter(&self) -> impl Iterator<Item = &T> {
        self.levels.values().flat_map(|level| level.iter())
    }

    /// True if any non-empty level has a priority other than 0.
    pub(crate) fn has_nonzero_priority(&self) -> bool {
        let zero = Reverse(priority_key(0.0));
        self.levels.iter().any(|(k, q)| *k != zero && !q.is_empty())
    }

    pub(crate) fn len(&self) -> usize {
        self.len
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Removes every item, highest priority first.
    pub(crate) fn drain(&mut self) -> Vec<T> {
        let mut out = Vec::with_capacity(self.len);
        while let Some(t) = self.pop() {
            out.push(t);
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn higher_priority_first_fifo_within() {
        let mut q = PriorityQueue::default();
        q.push(0.0, "a0");
        q.push(5.0, "b5");
        q.push(0.0, "c0");
        q.push(-1.5, "d-1.5");
        q.push(5.0, "e5");
        q.push(1e300, "f-huge");
        let order: Vec<_> = std::iter::from_fn(|| q.pop()).collect();
        assert_eq!(order, ["f-huge", "b5", "e5", "a0", "c0", "d-1.5"]);
        for x in ["a", "b", "c"] {
            q.push(1.0, x);
        }
        q.push(2.0, "first");
        let ahead: Vec<_> = q.iter().copied().collect();
        assert_eq!(ahead, q.drain(), "iter is pop order");
        assert_eq!(q.len(), 0);
        assert_eq!(q.pop(), None);
    }

    #[test]
    fn a_kept_empty_level_does_not_hide_lower_ones() {
        let mut q = PriorityQueue::default();
        q.push(0.0, "a");
        assert_eq!(q.pop(), Some("a")); // level 0 stays, empty
        q.push(-1e300, "low");
        q.push(-5.0, "mid");
        assert_eq!(q.drain(), ["mid", "low"]);
        q.push(3.0, "x");
        assert_eq!(q.pop(), Some("x"));
        assert_eq!(q.pop(), None);
    }

    #[test]
    fn negative_zero_is_zero() {
        let mut q = PriorityQueue::default();
        q.push(0.0, 1);
        q.push(-0.0, 2);
        q.push(0.0, 3);
        assert_eq!(q.drain(), [1, 2, 3]);
    }

    #[test]
    fn key_order_matches_float_order() {
        let xs = [
            f64::MIN,
            -1e10,
            -1.0,
            -f64::MIN_POSITIVE,
            0.0,
            f64::MIN_POSITIVE,
            0.5,
            1.0,
            1e10,
        ];
        for w in xs.windows(2) {
            assert!(
                priority_key(w[0]) < priority_key(w[1]),
                "{} < {}",
                w[0],
                w[1]
            );
        }
    }

    #[test]
    fn len_tracks_push_and_pop() {
        let mut q = PriorityQueue::default();
        for i in 0..100 {
            q.push((i % 7) as f64, i);
        }
        assert_eq!(q.len(), 100);
        let drained = q.drain();
        assert_eq!(drained.len(), 100);
        // Within each priority the original order holds.
        for p in 0..7 {
            let same: Vec<_> = drained.iter().filter(|&&i| i % 7 == p).collect();
            assert!(same.windows(2).all(|w| w[0] < w[1]));
        }
    }
}
