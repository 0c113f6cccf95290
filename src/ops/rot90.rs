//! RandomRot90: seeded quarter turns of square chips, applied alike to the image, the validity mask and the
//! labels.

use serde::{Deserialize, Serialize};

use super::element::Plain;
use super::geometry::{PlaneCopyFn, each_plane_into};
use super::{Context, Io, Op, Spec, bad};
use crate::error::Result;
use crate::grid::GeoTransform;

/// Turn each (square) chip by `k` quarter turns counter-clockwise, `k` drawn uniformly from 0..4 per chip
/// from the context's seed, epoch and chip index — as `numpy.rot90(chip, k, axes=(-2, -1))`. The context's
/// transform is updated to map the turned pixels.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RandomRot90 {}

impl Op for RandomRot90 {
    fn output(&self, input: &Spec) -> Result<Spec> {
        if input.width != input.height {
            return Err(bad(
                "random_rot90",
                format!(
                    "chips of {} x {} px: quarter turns need square chips",
                    input.width, input.height
                ),
            ));
        }
        Ok(input.clone())
    }

    fn in_place(&self, _input: &Spec) -> bool {
        false
    }

    fn apply(&self, input: &Spec, io: Io<'_>, ctx: &mut Context<'_>) -> Result<()> {
        let (src, dst) = io.split("random_rot90")?;
        let k = ctx.rng().below(4) as usize;
        each_plane_into(src, input, dst, input.pixels(), Turn(k));
        let n = input.width as f64;
        for _ in 0..k {
            // One turn: col = n - row', row = col'.
            let t = ctx.transform;
            ctx.transform = GeoTransform::new(t.b, -t.a, t.c + t.a * n, t.e, -t.d, t.f + t.d * n);
        }
        Ok(())
    }
}

/// `k` quarter turns counter-clockwise of an `n` × `n` plane.
struct Turn(usize);

impl PlaneCopyFn for Turn {
    fn call<W: Plain>(&self, src: &[W], dst: &mut [W], n: usize, _height: usize) {
        let rows = dst.chunks_exact_mut(n).enumerate();
        match self.0 {
            0 => dst.copy_from_slice(src),
            1 => rows.for_each(|(r, row)| {
                for (c, d) in row.iter_mut().enumerate() {
                    *d = src[c * n + (n - 1 - r)];
                }
            }),
            2 => {
                dst.copy_from_slice(src);
                dst.reverse();
            }
            _ => rows.for_each(|(r, row)| {
                for (c, d) in row.iter_mut().enumerate() {
                    *d = src[(n - 1 - c) * n + r];
                }
            }),
        }
    }
}
