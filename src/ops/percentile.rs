//! Percentiles as numpy's default (`method="linear"`) computes them, over order statistics.

/// The `p`-th percentile (0 to 100) of `n > 0` values, given `nth(k)`, the k-th smallest of them (0-based):
/// numpy's linear method, with its rounding (the virtual index `n·q + (1 - q) - 1`, and the interpolation
/// from the upper neighbour when the weight is at least one half).
pub(crate) fn percentile(n: usize, p: f64, mut nth: impl FnMut(usize) -> f64) -> f64 {
    let q = p / 100.0;
    let virtual_index = n as f64 * q + (1.0 - q) - 1.0;
    let last = (n - 1) as f64;
    if virtual_index >= last {
        return nth(n - 1);
    }
    if virtual_index < 0.0 {
        return nth(0);
    }
    let below = virtual_index.floor();
    let t = virtual_index - below;
    let (a, b) = (nth(below as usize), nth(below as usize + 1));
    let diff = b - a;
    if t >= 0.5 {
        b - diff * (1.0 - t)
    } else {
        a + diff * t
    }
}

/// The `p`-th percentile of `values` (reordered in place; NaNs must have been left out).
pub(crate) fn percentile_of(values: &mut [f64], p: f64) -> f64 {
    percentile(values.len(), p, |k| {
        *values.select_nth_unstable_by(k, f64::total_cmp).1
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn matches_numpy_linear_percentiles_on_a_small_sample() {
        // numpy.percentile([1, 2, 3, 4], [0, 25, 50, 90, 100]) = [1, 1.75, 2.5, 3.7, 4]
        let mut v = vec![4.0, 1.0, 3.0, 2.0];
        let got: Vec<f64> = [0.0, 25.0, 50.0, 90.0, 100.0]
            .iter()
            .map(|&p| percentile_of(&mut v, p))
            .collect();
        assert_eq!(got[0], 1.0);
        assert_eq!(got[1], 1.75);
        assert_eq!(got[2], 2.5);
        assert!((got[3] - 3.7).abs() < 1e-12);
        assert_eq!(got[4], 4.0);
    }
}
