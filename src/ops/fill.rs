//! FillNodata: give invalid pixels a value — a constant, or each band's mean over the chip's valid pixels.

use serde::{Deserialize, Serialize};

use super::element::{Element, samples_mut, with_type};
use super::{Context, Io, Op, PerBand, Spec};
use crate::error::Result;

/// What invalid pixels get.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum Fill {
    /// A value, for every band or per band.
    Value(PerBand),
    /// `"mean"`: each band's mean over the chip's valid pixels (0 when it has none).
    Rule(FillRule),
}

/// A fill computed per chip.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum FillRule {
    /// Each band's mean over the chip's valid pixels.
    Mean,
}

/// Write `value` into every band of the pixels the validity mask marks invalid (the mask itself is kept, so a
/// loss can still ignore them). Values are cast to the sample type as [`super::Cast`] casts.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FillNodata {
    /// The fill.
    pub value: Fill,
}

impl FillNodata {
    /// Fill with `value` (for every band or per band).
    pub fn constant(value: impl Into<PerBand>) -> FillNodata {
        FillNodata {
            value: Fill::Value(value.into()),
        }
    }

    /// Fill each band with its mean over the chip's valid pixels.
    pub fn mean() -> FillNodata {
        FillNodata {
            value: Fill::Rule(FillRule::Mean),
        }
    }
}

impl Op for FillNodata {
    fn output(&self, input: &Spec) -> Result<Spec> {
        if let Fill::Value(v) = &self.value {
            v.check(input.bands.len(), "fill_nodata.value")?;
        }
        Ok(input.clone())
    }

    fn in_place(&self, _input: &Spec) -> bool {
        true
    }

    fn apply(&self, input: &Spec, io: Io<'_>, _ctx: &mut Context<'_>) -> Result<()> {
        let chip = io.into_place();
        if !chip.valid.contains(&0) {
            return Ok(());
        }
        let plane = input.pixels();
        let valid = &*chip.valid;
        with_type!(input.dtype, |T| {
            let bands = samples_mut::<T>(chip.image).chunks_exact_mut(plane);
            for (b, band) in bands.enumerate() {
                let value = match &self.value {
                    Fill::Value(v) => v.get(b),
                    Fill::Rule(FillRule::Mean) => mean(band, valid),
                };
                fill(band, valid, T::from_f64(value));
            }
        });
        Ok(())
    }
}

/// The mean of `band` over its valid pixels (0 when there is none).
fn mean<T: Element>(band: &[T], valid: &[u8]) -> f64 {
    let (sum, n) = band
        .iter()
        .zip(valid)
        .filter(|(_, v)| **v != 0)
        .fold((0.0, 0u64), |(s, n), (x, _)| (s + x.to_f64(), n + 1));
    if n == 0 { 0.0 } else { sum / n as f64 }
}

fn fill<T: Element>(band: &mut [T], valid: &[u8], value: T) {
    for (x, v) in band.iter_mut().zip(valid) {
        if *v == 0 {
            *x = value;
        }
    }
}
