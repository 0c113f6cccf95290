//! RandomFlip: seeded horizontal and vertical flips, applied alike to the image, the validity mask and the
//! labels.

use serde::{Deserialize, Serialize};

use super::context::chance;
use super::element::Plain;
use super::geometry::{PlaneFn, each_plane_mut};
use super::{Context, Io, Op, Spec, bad};
use crate::error::Result;
use crate::grid::GeoTransform;

/// Flip each chip left-right and top-bottom, each with probability `p` (drawn per chip from the context's
/// seed, epoch and chip index). The context's transform is updated to map the flipped pixels.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RandomFlip {
    /// Whether left-right flips are drawn (default true).
    #[serde(default = "yes")]
    pub horizontal: bool,
    /// Whether top-bottom flips are drawn (default true).
    #[serde(default = "yes")]
    pub vertical: bool,
    /// The probability of each flip (default 0.5).
    #[serde(default = "half")]
    pub p: f64,
}

fn yes() -> bool {
    true
}

fn half() -> f64 {
    0.5
}

impl Default for RandomFlip {
    fn default() -> RandomFlip {
        RandomFlip {
            horizontal: true,
            vertical: true,
            p: 0.5,
        }
    }
}

impl Op for RandomFlip {
    fn output(&self, input: &Spec) -> Result<Spec> {
        if !(0.0..=1.0).contains(&self.p) {
            return Err(bad(
                "random_flip.p",
                format!("{} is not a probability", self.p),
            ));
        }
        Ok(input.clone())
    }

    fn in_place(&self, _input: &Spec) -> bool {
        true
    }

    fn apply(&self, input: &Spec, io: Io<'_>, ctx: &mut Context<'_>) -> Result<()> {
        let mut rng = ctx.rng();
        // Both draws are always made, so one axis's outcome does not depend on whether the other is enabled.
        let h = chance(&mut rng, self.p) && self.horizontal;
        let v = chance(&mut rng, self.p) && self.vertical;
        if !(h || v) {
            io.into_place();
            return Ok(());
        }
        each_plane_mut(io.into_place(), input, Flip { h, v });
        let (w, hgt) = (input.width as f64, input.height as f64);
        let t = ctx.transform;
        if h {
            // col = W - col'
            ctx.transform = GeoTransform::new(-t.a, t.b, t.c + t.a * w, -t.d, t.e, t.f + t.d * w);
        }
        let t = ctx.transform;
        if v {
            // row = H - row'
            ctx.transform =
                GeoTransform::new(t.a, -t.b, t.c + t.b * hgt, t.d, -t.e, t.f + t.e * hgt);
        }
        Ok(())
    }
}

/// Flip a plane: left-right (`h`), top-bottom (`v`), or both.
struct Flip {
    h: bool,
    v: bool,
}

impl PlaneFn for Flip {
    fn call<W: Plain>(&self, plane: &mut [W], width: usize, height: usize) {
        if self.h && self.v {
            plane.reverse();
            return;
        }
        if self.h {
            plane.chunks_exact_mut(width).for_each(<[W]>::reverse);
        }
        if self.v {
            let (top, bottom) = plane.split_at_mut(height / 2 * width);
            let bottom = &mut bottom[(height % 2) * width..];
            for (a, b) in top
                .chunks_exact_mut(width)
                .zip(bottom.chunks_exact_mut(width).rev())
            {
                a.swap_with_slice(b);
            }
        }
    }
}
