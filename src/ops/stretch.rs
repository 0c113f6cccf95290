//! PercentileStretch: each chip's bands stretched linearly between two of their own percentiles, to [0, 1].

use std::cell::RefCell;

use serde::{Deserialize, Serialize};

use super::element::{Element, Real, float_of, samples, with_real, with_type};
use super::map::map_bands;
use super::percentile::percentile_of;
use super::{Context, Io, Op, Spec, bad};
use crate::error::Result;

/// A band's `(lo, 1 / (hi - lo))`, or `None` when it cannot be stretched.
type Range = Option<(f64, f64)>;

thread_local! {
    /// Valid samples of the band being measured, and each band's range: kept per thread, so steady-state
    /// chips allocate nothing.
    static VALUES: RefCell<Vec<f64>> = const { RefCell::new(Vec::new()) };
    static RANGES: RefCell<Vec<Range>> = const { RefCell::new(Vec::new()) };
}

/// Per chip and band: `lo`, `hi` = the `low`-th and `high`-th percentiles (numpy's linear method) of the
/// band's valid, non-NaN samples; then `clamp((x - lo) / (hi - lo), 0, 1)`, computed in f32 (f64 for f64
/// samples) as `(x - lo) * (1 / (hi - lo))`. A band with no valid sample, or with `hi == lo`, becomes 0.
/// Integer samples become f32, float samples keep their type.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PercentileStretch {
    /// The lower percentile, 0 to 100 (default 2).
    #[serde(default = "low")]
    pub low: f64,
    /// The upper percentile, 0 to 100 (default 98).
    #[serde(default = "high")]
    pub high: f64,
}

fn low() -> f64 {
    2.0
}

fn high() -> f64 {
    98.0
}

impl Default for PercentileStretch {
    fn default() -> PercentileStretch {
        PercentileStretch::new(low(), high())
    }
}

impl PercentileStretch {
    /// Stretch between the `low`-th and `high`-th percentiles.
    pub fn new(low: f64, high: f64) -> PercentileStretch {
        PercentileStretch { low, high }
    }

    /// Band `band`'s range over the valid samples.
    fn range<T: Element>(&self, band: &[T], valid: &[u8]) -> Range {
        VALUES.with_borrow_mut(|values| {
            values.clear();
            let kept = band.iter().zip(valid).filter(|(_, v)| **v != 0);
            values.extend(kept.map(|(x, _)| x.to_f64()).filter(|x| !x.is_nan()));
            if values.is_empty() {
                return None;
            }
            let lo = percentile_of(values, self.low);
            let hi = percentile_of(values, self.high);
            (hi > lo).then(|| (lo, 1.0 / (hi - lo)))
        })
    }
}

impl Op for PercentileStretch {
    fn output(&self, input: &Spec) -> Result<Spec> {
        let ok = |p: f64| (0.0..=100.0).contains(&p);
        if !(ok(self.low) && ok(self.high) && self.low < self.high) {
            return Err(bad(
                "percentile_stretch",
                format!(
                    "percentiles {} and {} must satisfy 0 <= low < high <= 100",
                    self.low, self.high
                ),
            ));
        }
        Ok(input.with_dtype(float_of(input.dtype)))
    }

    fn in_place(&self, input: &Spec) -> bool {
        input.dtype.is_float()
    }

    fn apply(&self, input: &Spec, io: Io<'_>, _ctx: &mut Context<'_>) -> Result<()> {
        let plane = input.pixels();
        RANGES.with_borrow_mut(|ranges| {
            let chip = match &io {
                Io::InPlace(chip) => chip.to_ref(),
                Io::Copy(src, _) => *src,
            };
            ranges.clear();
            with_type!(input.dtype, |T| ranges.extend(
                samples::<T>(chip.image)
                    .chunks_exact(plane)
                    .map(|band| self.range(band, chip.valid))
            ));
        });
        let out = float_of(input.dtype);
        RANGES.with_borrow(|ranges| {
            with_real!(out, |F| map_bands::<F, Option<(F, F)>>(
                input,
                out,
                io,
                |b| ranges[b].map(|(lo, k)| (F::lit(lo), F::lit(k))),
                |x, range| match range {
                    Some((lo, k)) => ((x - lo) * k).clamp_to(F::ZERO, F::ONE),
                    None => F::ZERO,
                },
            ))
        });
        Ok(())
    }
}
