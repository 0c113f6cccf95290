//! Walker's alias table: draw an index with probability proportional to its weight in O(1).

use crate::rng::SliceRng;

/// Indices `0..n` with probabilities proportional to given weights (Vose's construction).
#[derive(Debug, Clone)]
pub(crate) struct Alias {
    /// Probability (scaled to `u64`) of keeping column `i` rather than taking its alias.
    keep: Vec<u64>,
    alias: Vec<u32>,
}

impl Alias {
    /// The table for `weights` (non-negative, finite, not all zero, fewer than 2^32).
    pub(crate) fn new(weights: &[f64]) -> Alias {
        let n = weights.len();
        let total: f64 = weights.iter().sum();
        let mut p: Vec<f64> = weights.iter().map(|w| w * n as f64 / total).collect();
        let mut keep = vec![u64::MAX; n];
        let mut alias: Vec<u32> = (0..n as u32).collect();
        let (mut small, mut large): (Vec<usize>, Vec<usize>) = (0..n).partition(|&i| p[i] < 1.0);
        while let (Some(&s), Some(&l)) = (small.last(), large.last()) {
            small.pop();
            keep[s] = to_u64(p[s]);
            alias[s] = l as u32;
            p[l] -= 1.0 - p[s];
            if p[l] < 1.0 {
                large.pop();
                small.push(l);
            }
        }
        // Leftovers (rounding) keep themselves with probability 1.
        Alias { keep, alias }
    }

    /// One index.
    #[inline]
    pub(crate) fn sample(&self, rng: &mut SliceRng) -> usize {
        let i = rng.below(self.keep.len() as u64) as usize;
        if rng.next_u64() < self.keep[i] {
            i
        } else {
            self.alias[i] as usize
        }
    }
}

fn to_u64(p: f64) -> u64 {
    if p >= 1.0 {
        u64::MAX
    } else {
        (p * 18_446_744_073_709_551_616.0) as u64
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rng::RngKey;

    #[test]
    fn frequencies_follow_the_weights() {
        let w = [1.0, 0.0, 3.0, 6.0];
        let a = Alias::new(&w);
        let mut n = [0u32; 4];
        let key = RngKey::new(3, 0, 0);
        for i in 0..100_000 {
            n[a.sample(&mut key.at(i))] += 1;
        }
        assert_eq!(n[1], 0);
        for (k, &c) in n.iter().enumerate() {
            let expect = w[k] / 10.0 * 100_000.0;
            assert!((c as f64 - expect).abs() < 1000.0, "{n:?}");
        }
    }
}
