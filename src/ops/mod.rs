//! Ops on chips, after geotoolz: preprocessing (select bands, cast, scale/offset, normalise, clip, stretch,
//! spectral indices, cloud masks, nodata fill) and seeded augmentations (flips, quarter turns, crops),
//! composed with [`Sequential`] in code or declared in a JSON / YAML config.
//!
//! An op sees one chip: its image [C, H, W], its validity mask [H, W] (1 where every band is valid; invalid
//! pixels are ignored by statistics and can be filled by [`FillNodata`]; [`CloudMask`] clears more of it),
//! its label mask [H, W] when it has one, and a [`Context`] (transform, CRS, band metadata, and the seed,
//! epoch and chip index its augmentations draw from). Geometric ops move the image, the validity mask and the
//! labels alike and update the transform. Before any pixel, each op says what its output looks like
//! ([`Op::output`]: sample type, band names, size), so a loader sizes its ring slots up front.
//!
//! A [`Pipeline`] (a Sequential bound to an input spec) runs each op in place where it can (same layout) and
//! otherwise from one reused buffer into another, the last copying op writing straight into the output;
//! nothing is allocated per chip once its buffers have grown.
//!
//! ```
//! use geochips::dtype::DataType;
//! use geochips::ops::{Cast, ChipMut, Context, Normalize, RandomFlip, Sequential, Spec};
//! use geochips::{Crs, GeoTransform};
//!
//! let ops = Sequential::default()
//!     .then(Normalize::new(vec![1000.0, 900.0], vec![300.0, 250.0]))
//!     .then(Cast::new(DataType::F16))
//!     .then(RandomFlip::default());
//! let input = Spec::new(DataType::U16, vec!["red".into(), "nir".into()], 4, 4);
//! let pipeline = ops.pipeline(input)?;
//! assert_eq!(pipeline.output().dtype, DataType::F16);
//!
//! let mut image: Vec<u8> = (0..32u16).flat_map(|v| (v * 100).to_ne_bytes()).collect();
//! let mut valid = vec![1u8; 16];
//! let (mut out, mut out_valid) = (vec![0u8; 64], vec![0u8; 16]);
//! let src = ChipMut { image: &mut image, valid: &mut valid, labels: &mut [] };
//! let dst = ChipMut { image: &mut out, valid: &mut out_valid, labels: &mut [] };
//! let transform = GeoTransform::new(10.0, 0.0, 500_000.0, 0.0, -10.0, 4_000_000.0);
//! let mut ctx = Context::new(transform, Some(Crs::from_epsg(32631)), &[], (7, 0, 42));
//! pipeline.run(src, dst, &mut ctx)?;
//! # Ok::<(), geochips::Error>(())
//! ```

mod any;
mod cast;
mod chip;
mod clip;
mod cloud;
mod context;
mod crop;
mod difference;
mod element;
mod fill;
mod flip;
mod geometry;
mod index;
mod map;
mod normalize;
mod per_band;
pub(crate) mod percentile;
mod pipeline;
mod rot90;
mod scale_offset;
mod select;
mod sequential;
mod spec;
mod stretch;

pub use any::AnyOp;
pub use cast::Cast;
pub(crate) use chip::bytes_of;
pub use chip::{ChipBuf, ChipMut, ChipPool, ChipRef, Io};
pub use clip::Clip;
pub use cloud::{CloudMask, QaRule};
pub use context::{BandMeta, Context};
pub use crop::RandomCrop;
pub use difference::NormalizedDifference;
pub use fill::{Fill, FillNodata, FillRule};
pub use flip::RandomFlip;
pub use index::{IndexName, SpectralIndex};
pub use normalize::Normalize;
pub use per_band::PerBand;
pub use pipeline::Pipeline;
pub use rot90::RandomRot90;
pub use scale_offset::ScaleOffset;
pub use select::SelectBands;
pub use sequential::Sequential;
pub use spec::Spec;
pub use stretch::PercentileStretch;

use std::fmt;

use crate::error::{Error, Result};

/// An operator on chips.
pub trait Op: fmt::Debug + Send + Sync {
    /// The spec of the op's output for chips of `input`, or why it cannot take them (a band it needs is
    /// missing, a parameter does not fit).
    fn output(&self, input: &Spec) -> Result<Spec>;

    /// Whether the op rewrites chips of `input` in place (then its output has the input's layout); otherwise
    /// it reads one chip and writes another.
    fn in_place(&self, input: &Spec) -> bool;

    /// Apply the op to one chip of `input` (a spec [`Op::output`] accepted): [`Io::InPlace`] when
    /// [`Op::in_place`] says so, else [`Io::Copy`] into a chip laid out as the output.
    fn apply(&self, input: &Spec, io: Io<'_>, ctx: &mut Context<'_>) -> Result<()>;
}

/// The error of op `op` (its config name, or `op.parameter`).
pub(crate) fn bad(op: &str, reason: impl Into<String>) -> Error {
    Error::Op {
        op: op.into(),
        reason: reason.into(),
    }
}

/// The position of band `name` in `input`, or op `op`'s error naming the bands there are.
pub(crate) fn band_of(input: &Spec, op: &str, name: &str) -> Result<usize> {
    input.band(name).ok_or_else(|| {
        bad(
            op,
            format!("no band named {name:?}; the chips have {:?}", input.bands),
        )
    })
}
