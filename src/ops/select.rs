//! SelectBands: keep the named bands, in the order given.

use serde::{Deserialize, Serialize};

use super::chip::carry_masks;
use super::{Context, Io, Op, Spec, bad, band_of};
use crate::error::Result;

/// Keep the bands named `bands`, in that order (a band may be named twice).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SelectBands {
    /// The band names of the output.
    pub bands: Vec<String>,
}

impl SelectBands {
    /// Keep `bands`, in that order.
    pub fn new<S: Into<String>>(bands: impl IntoIterator<Item = S>) -> SelectBands {
        SelectBands {
            bands: bands.into_iter().map(Into::into).collect(),
        }
    }
}

impl Op for SelectBands {
    fn output(&self, input: &Spec) -> Result<Spec> {
        if self.bands.is_empty() {
            return Err(bad("select_bands", "no band named: keep at least one"));
        }
        for name in &self.bands {
            band_of(input, "select_bands", name)?;
        }
        Ok(Spec {
            bands: self.bands.clone(),
            ..input.clone()
        })
    }

    fn in_place(&self, _input: &Spec) -> bool {
        false
    }

    fn apply(&self, input: &Spec, io: Io<'_>, _ctx: &mut Context<'_>) -> Result<()> {
        let (src, mut dst) = io.split("select_bands")?;
        let plane = input.pixels() * input.dtype.size();
        for (out, name) in dst.image.chunks_exact_mut(plane).zip(&self.bands) {
            let b = band_of(input, "select_bands", name)?;
            out.copy_from_slice(&src.image[b * plane..][..plane]);
        }
        carry_masks(&src, &mut dst);
        Ok(())
    }
}
