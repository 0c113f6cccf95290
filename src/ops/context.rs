//! Context: what an op knows of the chip besides its pixels — where it lies (transform, CRS), each source
//! band's metadata (nodata, GDAL scale and offset), and the numbers that seed its augmentations.

use geochips_samplers::{Crs, RngKey, SliceRng};

use crate::grid::GeoTransform;

/// The random stream number of the first op of a pipeline (the samplers use small stream numbers).
const OPS_STREAM: u64 = 1 << 40;

/// Metadata of one band of the chips a pipeline takes, from the asset it was read from.
#[derive(Debug, Clone, PartialEq)]
pub struct BandMeta {
    /// The band's name.
    pub name: String,
    /// GDAL's nodata value, if the asset has one.
    pub nodata: Option<f64>,
    /// GDAL's scale (1 where the file has none).
    pub scale: f64,
    /// GDAL's offset (0 where the file has none).
    pub offset: f64,
}

impl BandMeta {
    /// A band named `name` with no nodata, scale 1 and offset 0.
    pub fn named(name: impl Into<String>) -> BandMeta {
        BandMeta {
            name: name.into(),
            nodata: None,
            scale: 1.0,
            offset: 0.0,
        }
    }
}

/// One chip's context. Geometric ops (flips, rotations, crops) update `transform` so that it maps the
/// output's pixels to the CRS.
#[derive(Debug, Clone)]
pub struct Context<'a> {
    /// Pixel → CRS transform of the chip.
    pub transform: GeoTransform,
    /// The chip's CRS, where known.
    pub crs: Option<Crs>,
    /// Metadata of the bands the pipeline was given, looked up by name ([`Context::meta`]); may be empty.
    pub bands: &'a [BandMeta],
    /// The run's seed.
    pub seed: u64,
    /// The epoch.
    pub epoch: u64,
    /// The chip's number in its epoch (a GeoSlice's id): with `seed` and `epoch` it fixes every random draw.
    pub index: u64,
    /// Position of the running op in its pipeline: each op draws from its own stream.
    pub(crate) step: u64,
}

impl<'a> Context<'a> {
    /// The context of chip `index` of `epoch` under `seed`, at `transform` in `crs`, with band metadata
    /// `bands`.
    pub fn new(
        transform: GeoTransform,
        crs: Option<Crs>,
        bands: &'a [BandMeta],
        (seed, epoch, index): (u64, u64, u64),
    ) -> Context<'a> {
        Context {
            transform,
            crs,
            bands,
            seed,
            epoch,
            index,
            step: 0,
        }
    }

    /// The metadata of the band named `name`, if the pipeline's input had it.
    pub fn meta(&self, name: &str) -> Option<&BandMeta> {
        self.bands.iter().find(|b| b.name == name)
    }

    /// The random generator of the running op for this chip: a pure function of (seed, epoch, chip index,
    /// the op's position), so a run is reproducible whatever thread or order chips are processed in.
    pub fn rng(&self) -> SliceRng {
        RngKey::new(self.seed, self.epoch, OPS_STREAM + self.step).at(self.index)
    }
}

/// True with probability `p` (a uniform draw in [0, 1) below `p`).
pub(crate) fn chance(rng: &mut SliceRng, p: f64) -> bool {
    ((rng.next_u64() >> 11) as f64 * (1.0 / (1u64 << 53) as f64)) < p
}
