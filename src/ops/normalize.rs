//! Normalize: per-band standardisation, `(x - mean) / std`.

use serde::{Deserialize, Serialize};

use super::element::{Real, float_of, with_real};
use super::map::map_bands;
use super::{Context, Io, Op, PerBand, Spec, bad};
use crate::error::Result;

/// `(x - mean) / std` per band, computed in f32 (f64 for f64 samples) as `(x - mean) * (1 / std)`; integer
/// samples become f32, float samples keep their type. Invalid pixels are normalised like the others (fill
/// them first with [`super::FillNodata`] if their values matter). The means and deviations can come from
/// [`crate::band_stats::BandStats::normalize`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Normalize {
    /// Mean, for every band or per band.
    pub mean: PerBand,
    /// Standard deviation (positive), for every band or per band.
    pub std: PerBand,
}

impl Normalize {
    /// Normalise with `mean` and `std`.
    pub fn new(mean: impl Into<PerBand>, std: impl Into<PerBand>) -> Normalize {
        Normalize {
            mean: mean.into(),
            std: std.into(),
        }
    }
}

impl Op for Normalize {
    fn output(&self, input: &Spec) -> Result<Spec> {
        self.mean.check(input.bands.len(), "normalize.mean")?;
        self.std.check(input.bands.len(), "normalize.std")?;
        if let Some(s) = self.std.0.iter().find(|s| !(**s > 0.0 && s.is_finite())) {
            return Err(bad(
                "normalize.std",
                format!("{s} is not a positive number"),
            ));
        }
        Ok(input.with_dtype(float_of(input.dtype)))
    }

    fn in_place(&self, input: &Spec) -> bool {
        input.dtype.is_float()
    }

    fn apply(&self, input: &Spec, io: Io<'_>, _ctx: &mut Context<'_>) -> Result<()> {
        let out = float_of(input.dtype);
        with_real!(out, |F| map_bands::<F, (F, F)>(
            input,
            out,
            io,
            |b| (F::lit(self.mean.get(b)), F::lit(1.0 / self.std.get(b))),
            |x, (m, k)| (x - m) * k,
        ));
        Ok(())
    }
}
