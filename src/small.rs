//! Small-list helpers that keep the wasm small.
//!
//! The standard library's stable sort (driftsort) costs about 3 KB of wasm per element type and
//! comparator; the lists this crate sorts are short (seven data centres, a Worker's handful of
//! endpoints, one queue batch of at most 100 messages), where an insertion sort is as fast.

use std::cmp::Ordering;

/// Sorts `items` by `cmp`, keeping equal items in their order (stable): an insertion sort, for
/// short lists only (quadratic).
pub fn sort_by<T>(items: &mut [T], mut cmp: impl FnMut(&T, &T) -> Ordering) {
    for i in 1..items.len() {
        let mut j = i;
        while j > 0 {
            let (Some(before), Some(this)) = (items.get(j - 1), items.get(j)) else {
                break;
            };
            if cmp(before, this) != Ordering::Greater {
                break;
            }
            items.swap(j - 1, j);
            j -= 1;
        }
    }
}

/// [`sort_by`] comparing `key` of each item.
pub fn sort_by_key<T, K: Ord>(items: &mut [T], mut key: impl FnMut(&T) -> K) {
    sort_by(items, |a, b| key(a).cmp(&key(b)));
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sorts_like_the_standard_stable_sort() {
        let mut seed = 7u32;
        for len in 0..40 {
            let mut v: Vec<(u8, usize)> = (0..len)
                .map(|i| {
                    seed = seed.wrapping_mul(1_103_515_245).wrapping_add(12_345);
                    ((seed >> 16) as u8 % 5, i)
                })
                .collect();
            let mut expected = v.clone();
            expected.sort_by_key(|p| p.0);
            sort_by_key(&mut v, |p| p.0);
            assert_eq!(v, expected, "stable, like slice::sort_by_key");
        }
    }
}
