//! RandomCrop: a seeded window of each chip, cut alike from the image, the validity mask and the labels.

use serde::{Deserialize, Serialize};

use super::element::Plain;
use super::geometry::{PlaneCopyFn, each_plane_into};
use super::{Context, Io, Op, Spec, bad};
use crate::error::Result;
use crate::grid::GeoTransform;

/// Cut a `width` × `height` window from each chip, at an offset drawn uniformly per chip from the context's
/// seed, epoch and chip index. The context's transform is moved to the window's corner.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RandomCrop {
    /// Window width in pixels.
    pub width: u32,
    /// Window height in pixels.
    pub height: u32,
}

impl RandomCrop {
    /// Crop to `width` × `height`.
    pub fn new(width: u32, height: u32) -> RandomCrop {
        RandomCrop { width, height }
    }
}

impl Op for RandomCrop {
    fn output(&self, input: &Spec) -> Result<Spec> {
        if self.width == 0
            || self.height == 0
            || self.width > input.width
            || self.height > input.height
        {
            return Err(bad(
                "random_crop",
                format!(
                    "a {} x {} window does not fit in chips of {} x {} px",
                    self.width, self.height, input.width, input.height
                ),
            ));
        }
        Ok(Spec {
            width: self.width,
            height: self.height,
            ..input.clone()
        })
    }

    fn in_place(&self, _input: &Spec) -> bool {
        false
    }

    fn apply(&self, input: &Spec, io: Io<'_>, ctx: &mut Context<'_>) -> Result<()> {
        let (src, dst) = io.split("random_crop")?;
        let mut rng = ctx.rng();
        let x = rng.below((input.width - self.width + 1) as u64) as usize;
        let y = rng.below((input.height - self.height + 1) as u64) as usize;
        let window = Window {
            x,
            y,
            width: self.width as usize,
        };
        let pixels = self.width as usize * self.height as usize;
        each_plane_into(src, input, dst, pixels, window);
        let t = ctx.transform;
        let (x, y) = (x as f64, y as f64);
        ctx.transform = GeoTransform::new(
            t.a,
            t.b,
            t.c + t.a * x + t.b * y,
            t.d,
            t.e,
            t.f + t.d * x + t.e * y,
        );
        Ok(())
    }
}

/// The window of a plane with its top-left corner at column `x`, row `y`, `width` wide.
struct Window {
    x: usize,
    y: usize,
    width: usize,
}

impl PlaneCopyFn for Window {
    fn call<W: Plain>(&self, src: &[W], dst: &mut [W], width: usize, _height: usize) {
        for (r, row) in dst.chunks_exact_mut(self.width).enumerate() {
            row.copy_from_slice(&src[(self.y + r) * width + self.x..][..self.width]);
        }
    }
}
