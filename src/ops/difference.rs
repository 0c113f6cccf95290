//! NormalizedDifference: `(a - b) / (a + b)` of two named bands, appended as a new band.

use serde::{Deserialize, Serialize};

use super::chip::carry_masks;
use super::element::{
    Element, Real, convert, float_of, samples, samples_mut, with_real, with_type,
};
use super::{Context, Io, Op, Spec, bad, band_of};
use crate::error::Result;

/// The op's config name.
const OP: &str = "normalized_difference";

/// Append band `name` = `(a - b) / (a + b)`, computed in f32 (f64 for f64 samples), 0 where `a + b` is 0.
/// The chip's bands are kept; integer samples become f32, float samples keep their type.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NormalizedDifference {
    /// The first band's name.
    pub a: String,
    /// The second band's name.
    pub b: String,
    /// The new band's name.
    pub name: String,
}

impl NormalizedDifference {
    /// `(a - b) / (a + b)` appended as `name`.
    pub fn new(a: impl Into<String>, b: impl Into<String>, name: impl Into<String>) -> Self {
        NormalizedDifference {
            a: a.into(),
            b: b.into(),
            name: name.into(),
        }
    }
}

/// The spec of chips of `input` with band `name` = normalised difference of bands `a` and `b` appended; `op`
/// names the op in errors.
pub(crate) fn appended(input: &Spec, op: &str, (a, b): (&str, &str), name: &str) -> Result<Spec> {
    band_of(input, op, a)?;
    band_of(input, op, b)?;
    if input.band(name).is_some() {
        return Err(bad(op, format!("the chips already have a band {name:?}")));
    }
    let mut bands = input.bands.clone();
    bands.push(name.to_owned());
    Ok(Spec {
        dtype: float_of(input.dtype),
        bands,
        ..input.clone()
    })
}

/// Copy a chip of `input` with the normalised difference of bands `a` and `b` appended; `op` names the op in
/// errors.
pub(crate) fn append(input: &Spec, io: Io<'_>, op: &str, (a, b): (&str, &str)) -> Result<()> {
    let (a, b) = (band_of(input, op, a)?, band_of(input, op, b)?);
    let (src, mut dst) = io.split(op)?;
    let out = float_of(input.dtype);
    let plane = input.pixels();
    with_real!(out, |F| with_type!(input.dtype, |S| with_type!(out, |T| {
        let bands = samples::<S>(src.image);
        let (kept, new) = samples_mut::<T>(dst.image).split_at_mut(bands.len());
        for (d, &s) in kept.iter_mut().zip(bands) {
            *d = convert(s);
        }
        let band = |k: usize| &bands[k * plane..][..plane];
        difference::<S, T, F>(band(a), band(b), new);
    })));
    carry_masks(&src, &mut dst);
    Ok(())
}

/// `out = (a - b) / (a + b)` in `F`, 0 where the sum is 0.
fn difference<S: Element, T: Element, F: Real>(a: &[S], b: &[S], out: &mut [T]) {
    for ((o, &x), &y) in out.iter_mut().zip(a).zip(b) {
        let (x, y) = (F::of(x), F::of(y));
        let sum = x + y;
        *o = if sum == F::ZERO {
            T::from_f64(0.0)
        } else {
            ((x - y) / sum).to()
        };
    }
}

impl Op for NormalizedDifference {
    fn output(&self, input: &Spec) -> Result<Spec> {
        appended(input, OP, (&self.a, &self.b), &self.name)
    }

    fn in_place(&self, _input: &Spec) -> bool {
        false
    }

    fn apply(&self, input: &Spec, io: Io<'_>, _ctx: &mut Context<'_>) -> Result<()> {
        append(input, io, OP, (&self.a, &self.b))
    }
}
