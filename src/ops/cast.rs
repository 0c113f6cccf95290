//! Cast: image samples to another type (f32, f16, bf16, u8, ...).

use serde::{Deserialize, Serialize};

use super::chip::carry_masks;
use super::element::{Element, convert, samples, samples_mut, with_type};
use super::{Context, Io, Op, Spec};
use crate::dtype::DataType;
use crate::error::Result;

/// Cast image samples to `dtype`: floats round to nearest even; to an integer type values truncate toward
/// zero and saturate at the type's range (NaN becomes 0), as Rust's `as`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Cast {
    /// The output sample type.
    pub dtype: DataType,
}

impl Cast {
    /// Cast to `dtype`.
    pub fn new(dtype: DataType) -> Cast {
        Cast { dtype }
    }
}

impl Op for Cast {
    fn output(&self, input: &Spec) -> Result<Spec> {
        Ok(input.with_dtype(self.dtype))
    }

    /// In place when the samples already have the type (nothing to do).
    fn in_place(&self, input: &Spec) -> bool {
        input.dtype == self.dtype
    }

    fn apply(&self, input: &Spec, io: Io<'_>, _ctx: &mut Context<'_>) -> Result<()> {
        if self.in_place(input) {
            io.into_place();
            return Ok(());
        }
        let (src, mut dst) = io.split("cast")?;
        with_type!(input.dtype, |S| with_type!(self.dtype, |T| cast::<S, T>(
            samples(src.image),
            samples_mut(dst.image)
        )));
        carry_masks(&src, &mut dst);
        Ok(())
    }
}

/// Every sample of `src` converted into `dst`.
fn cast<S: Element, T: Element>(src: &[S], dst: &mut [T]) {
    for (d, &s) in dst.iter_mut().zip(src) {
        *d = convert(s);
    }
}
