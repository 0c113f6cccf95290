//! The loop behind the per-sample float ops (ScaleOffset, Normalize, PercentileStretch): each band's samples
//! mapped through a function of the sample and that band's parameters, computed in f32 (f64 for f64 output).

use super::chip::carry_masks;
use super::element::{Element, Real, samples, samples_mut, with_type};
use super::{Io, Spec};
use crate::dtype::DataType;

/// Map every sample `x` of band `b` to `f(x, param(b))`, computed in `F`: over the chip itself when `io` is
/// in place (then `out` is the input type), else from the source into the destination, whose samples are of
/// type `out`; masks are carried over.
pub(crate) fn map_bands<F: Real, P: Copy>(
    input: &Spec,
    out: DataType,
    io: Io<'_>,
    param: impl Fn(usize) -> P,
    f: impl Fn(F, P) -> F + Copy,
) {
    let plane = input.pixels();
    match io {
        Io::InPlace(chip) => with_type!(input.dtype, |T| {
            let bands = samples_mut::<T>(chip.image).chunks_exact_mut(plane);
            for (b, band) in bands.enumerate() {
                map_in_place(band, param(b), f);
            }
        }),
        Io::Copy(src, mut dst) => {
            with_type!(input.dtype, |S| with_type!(out, |T| {
                let bands = samples::<S>(src.image).chunks_exact(plane);
                let outs = samples_mut::<T>(dst.image).chunks_exact_mut(plane);
                for (b, (band, o)) in bands.zip(outs).enumerate() {
                    map_into(band, o, param(b), f);
                }
            }));
            carry_masks(&src, &mut dst);
        }
    }
}

fn map_in_place<T: Element, F: Real, P: Copy>(band: &mut [T], p: P, f: impl Fn(F, P) -> F) {
    for x in band {
        *x = f(F::of(*x), p).to();
    }
}

fn map_into<S: Element, T: Element, F: Real, P: Copy>(
    band: &[S],
    out: &mut [T],
    p: P,
    f: impl Fn(F, P) -> F,
) {
    for (o, &x) in out.iter_mut().zip(band) {
        *o = f(F::of(x), p).to();
    }
}
