//! Clip: limit samples to a range, per band, in their own type.

use serde::{Deserialize, Serialize};

use super::element::{Element, samples_mut, with_type};
use super::{Context, Io, Op, PerBand, Spec, bad};
use crate::error::Result;

/// Limit samples to `[min, max]` (either may be absent), per band, keeping the sample type. For integer
/// samples the bounds are rounded inward to integers (and saturate at the type's range); NaN stays NaN.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Clip {
    /// Lower bound, for every band or per band.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub min: Option<PerBand>,
    /// Upper bound, for every band or per band.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max: Option<PerBand>,
}

impl Clip {
    /// Clip to `[min, max]`.
    pub fn new(min: impl Into<PerBand>, max: impl Into<PerBand>) -> Clip {
        Clip {
            min: Some(min.into()),
            max: Some(max.into()),
        }
    }

    /// Band `b`'s bounds in `T`.
    fn bounds<T: Element>(&self, b: usize, integer: bool) -> (T, T) {
        let lo = self.min.as_ref().map_or(f64::NEG_INFINITY, |m| m.get(b));
        let hi = self.max.as_ref().map_or(f64::INFINITY, |m| m.get(b));
        if integer {
            (T::from_f64(lo.ceil()), T::from_f64(hi.floor()))
        } else {
            (T::from_f64(lo), T::from_f64(hi))
        }
    }
}

impl Op for Clip {
    fn output(&self, input: &Spec) -> Result<Spec> {
        let bands = input.bands.len();
        if self.min.is_none() && self.max.is_none() {
            return Err(bad("clip", "neither min nor max given"));
        }
        for (name, v) in [("clip.min", &self.min), ("clip.max", &self.max)] {
            if let Some(v) = v {
                v.check(bands, name)?;
                if v.0.iter().any(|x| x.is_nan()) {
                    return Err(bad(name, "NaN is not a bound"));
                }
            }
        }
        for b in 0..bands {
            let (lo, hi): (f64, f64) = self.bounds(b, false);
            if lo > hi {
                return Err(bad("clip", format!("band {b}: min {lo} is above max {hi}")));
            }
        }
        Ok(input.clone())
    }

    fn in_place(&self, _input: &Spec) -> bool {
        true
    }

    fn apply(&self, input: &Spec, io: Io<'_>, _ctx: &mut Context<'_>) -> Result<()> {
        let chip = io.into_place();
        let plane = input.pixels();
        let integer = !input.dtype.is_float();
        with_type!(input.dtype, |T| {
            let bands = samples_mut::<T>(chip.image).chunks_exact_mut(plane);
            for (b, band) in bands.enumerate() {
                let (lo, hi) = self.bounds::<T>(b, integer);
                clip(band, lo, hi);
            }
        });
        Ok(())
    }
}

fn clip<T: Element>(band: &mut [T], lo: T, hi: T) {
    for x in band {
        if *x < lo {
            *x = lo;
        } else if *x > hi {
            *x = hi;
        }
    }
}
