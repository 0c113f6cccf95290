//! ScaleOffset: `x * scale + offset` per band — given, or GDAL's scale/offset metadata of each chip's asset.

use serde::{Deserialize, Serialize};

use super::element::{Real, float_of, with_real};
use super::map::map_bands;
use super::{Context, Io, Op, PerBand, Spec};
use crate::error::Result;

/// `x * scale + offset` per band, computed in f32 (f64 for f64 samples); integer samples become f32, float
/// samples keep their type. A coefficient not given comes from each chip's source band: GDAL's `scale` /
/// `offset` metadata in the COG header (1 and 0 where the file has none, and for bands an op derived), so
/// items whose metadata differ (a processing baseline change) are each scaled by their own.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ScaleOffset {
    /// Scale, for every band or per band; `None`: from the metadata.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scale: Option<PerBand>,
    /// Offset, for every band or per band; `None`: from the metadata.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub offset: Option<PerBand>,
}

impl ScaleOffset {
    /// `x * scale + offset` with the coefficients given.
    pub fn new(scale: impl Into<PerBand>, offset: impl Into<PerBand>) -> ScaleOffset {
        ScaleOffset {
            scale: Some(scale.into()),
            offset: Some(offset.into()),
        }
    }

    /// Scale and offset from each band's GDAL metadata.
    pub fn from_metadata() -> ScaleOffset {
        ScaleOffset::default()
    }

    /// Band `b`'s (scale, offset) for a chip of `input` in `ctx`.
    fn coefficients(&self, input: &Spec, ctx: &Context<'_>, b: usize) -> (f64, f64) {
        let meta = ctx.meta(&input.bands[b]);
        let scale = self
            .scale
            .as_ref()
            .map_or_else(|| meta.map_or(1.0, |m| m.scale), |s| s.get(b));
        let offset = self
            .offset
            .as_ref()
            .map_or_else(|| meta.map_or(0.0, |m| m.offset), |o| o.get(b));
        (scale, offset)
    }
}

impl Op for ScaleOffset {
    fn output(&self, input: &Spec) -> Result<Spec> {
        let bands = input.bands.len();
        if let Some(s) = &self.scale {
            s.check(bands, "scale_offset.scale")?;
        }
        if let Some(o) = &self.offset {
            o.check(bands, "scale_offset.offset")?;
        }
        Ok(input.with_dtype(float_of(input.dtype)))
    }

    fn in_place(&self, input: &Spec) -> bool {
        input.dtype.is_float()
    }

    fn apply(&self, input: &Spec, io: Io<'_>, ctx: &mut Context<'_>) -> Result<()> {
        let out = float_of(input.dtype);
        with_real!(out, |F| map_bands::<F, (F, F)>(
            input,
            out,
            io,
            |b| {
                let (s, o) = self.coefficients(input, ctx, b);
                (F::lit(s), F::lit(o))
            },
            |x, (s, o)| x * s + o,
        ));
        Ok(())
    }
}
