//! What the geometric ops share: a chip as planes (each image band, the validity mask, the labels), each
//! moved as words of its sample size, and the transform of the moved pixels.

use super::chip::{ChipMut, ChipRef};
use super::element::{Plain, samples, samples_mut, with_word};
use super::spec::Spec;

/// Each plane of a chip of `spec`'s types with `pixels` pixels per plane, with its sample size: the image
/// bands, the validity mask, the labels.
fn planes<'a>(
    chip: ChipRef<'a>,
    spec: &Spec,
    pixels: usize,
) -> impl Iterator<Item = (&'a [u8], usize)> {
    let size = spec.dtype.size();
    let labels = spec.labels.map(|d| (chip.labels, d.size()));
    chip.image
        .chunks_exact(pixels * size)
        .map(move |band| (band, size))
        .chain([(chip.valid, 1)])
        .chain(labels)
}

/// Each plane of a chip, writable (see [`planes`]).
fn planes_mut<'a>(
    chip: ChipMut<'a>,
    spec: &Spec,
    pixels: usize,
) -> impl Iterator<Item = (&'a mut [u8], usize)> {
    let size = spec.dtype.size();
    let labels = spec.labels.map(|d| (chip.labels, d.size()));
    chip.image
        .chunks_exact_mut(pixels * size)
        .map(move |band| (band, size))
        .chain([(chip.valid, 1)])
        .chain(labels)
}

/// Rewrite every plane of `chip` (of `spec`) with `f(words, width, height)`.
pub(crate) fn each_plane_mut(chip: ChipMut<'_>, spec: &Spec, f: impl PlaneFn) {
    let (w, h) = (spec.width as usize, spec.height as usize);
    for (plane, size) in planes_mut(chip, spec, spec.pixels()) {
        with_word!(size, |W| f.call(samples_mut::<W>(plane), w, h));
    }
}

/// Fill every plane of `dst` (planes of `out_pixels` pixels, the types of `input`) from the same plane of `src`
/// (of `input`) with `f(src words, dst words, input width, input height)`.
pub(crate) fn each_plane_into(
    src: ChipRef<'_>,
    input: &Spec,
    dst: ChipMut<'_>,
    out_pixels: usize,
    f: impl PlaneCopyFn,
) {
    let (w, h) = (input.width as usize, input.height as usize);
    let pairs = planes(src, input, input.pixels()).zip(planes_mut(dst, input, out_pixels));
    for ((from, size), (to, _)) in pairs {
        with_word!(size, |W| f.call(
            samples::<W>(from),
            samples_mut::<W>(to),
            w,
            h
        ));
    }
}

/// A rewrite of one plane of words, generic over the word type.
pub(crate) trait PlaneFn {
    /// Rewrite `plane` (`width` × `height`, row-major).
    fn call<W: Plain>(&self, plane: &mut [W], width: usize, height: usize);
}

/// A copy of one plane into another, generic over the word type.
pub(crate) trait PlaneCopyFn {
    /// Fill `dst` from `src` (`width` × `height`, row-major).
    fn call<W: Plain>(&self, src: &[W], dst: &mut [W], width: usize, height: usize);
}
