//! Counter-based randomness: the random numbers of slice `i` are a pure function of `(seed, epoch, stream, i)`,
//! so any slice can be drawn without drawing the ones before it (sharding and resuming are O(1)). Public so
//! the seeded augmentations of `geochips::ops` draw per chip the same way.

const GOLDEN: u64 = 0x9E37_79B9_7F4A_7C15;

/// SplitMix64's finaliser: a bijective, well-mixing hash of one `u64`.
pub(crate) fn mix(mut z: u64) -> u64 {
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// The hashed prefix `(seed, epoch, stream)`; [`RngKey::at`] finishes it with a slice (or group) number.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RngKey(u64);

impl RngKey {
    /// The key of one random stream of one epoch. Different streams of a sampler never share numbers.
    pub fn new(seed: u64, epoch: u64, stream: u64) -> RngKey {
        let h = mix(seed.wrapping_add(GOLDEN));
        let h = mix(h ^ mix(epoch.wrapping_add(0x632B_E59B_D9B4_E019)));
        RngKey(mix(h ^ mix(stream.wrapping_add(0x8CB9_2BA7_2F3D_8DD7))))
    }

    /// The generator of number `index` in this stream.
    pub fn at(self, index: u64) -> SliceRng {
        SliceRng {
            state: mix(self.0 ^ mix(index.wrapping_add(GOLDEN))),
        }
    }
}

/// A small SplitMix64 generator, seeded per slice by [`RngKey::at`].
#[derive(Debug, Clone)]
pub struct SliceRng {
    state: u64,
}

impl SliceRng {
    /// The next 64 random bits.
    #[inline]
    pub fn next_u64(&mut self) -> u64 {
        self.state = self.state.wrapping_add(GOLDEN);
        mix(self.state)
    }

    /// A number in `0..n` (`n > 0`), by Lemire's multiply-shift (bias below 2^-32 for `n < 2^32`).
    #[inline]
    pub fn below(&mut self, n: u64) -> u64 {
        ((self.next_u64() as u128 * n as u128) >> 64) as u64
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_same_key_and_index_give_the_same_numbers_and_neighbours_differ() {
        let k = RngKey::new(7, 3, 0);
        let a: Vec<u64> = (0..4)
            .map(|_| 0)
            .scan(k.at(10), |r, _: u64| Some(r.next_u64()))
            .collect();
        let b: Vec<u64> = (0..4)
            .map(|_| 0)
            .scan(k.at(10), |r, _: u64| Some(r.next_u64()))
            .collect();
        assert_eq!(a, b);
        assert_ne!(k.at(10).next_u64(), k.at(11).next_u64());
        assert_ne!(k.at(10).next_u64(), RngKey::new(7, 4, 0).at(10).next_u64());
        assert_ne!(k.at(10).next_u64(), RngKey::new(8, 3, 0).at(10).next_u64());
        assert_ne!(k.at(10).next_u64(), RngKey::new(7, 3, 1).at(10).next_u64());
    }

    #[test]
    fn below_stays_in_range_and_hits_every_value() {
        let mut r = RngKey::new(1, 0, 0).at(0);
        let mut seen = [0u32; 7];
        for _ in 0..7000 {
            let v = r.below(7);
            seen[v as usize] += 1;
        }
        assert!(seen.iter().all(|&n| n > 800 && n < 1200), "{seen:?}");
    }
}
