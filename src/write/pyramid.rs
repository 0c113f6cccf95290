//! The images of a COG: full resolution and its overviews, each half the one before, by nearest decimation.

use std::borrow::Cow;

/// One image of the file, full resolution or an overview: band-sequential native-endian samples.
pub(super) struct Image<'a> {
    pub(super) data: Cow<'a, [u8]>,
    pub(super) width: usize,
    pub(super) height: usize,
}

/// The full-resolution image and up to `levels` overviews of samples `sample` bytes long, each half the size
/// of the one before.
pub(super) fn pyramid(
    data: &[u8],
    sample: usize,
    width: usize,
    height: usize,
    levels: u32,
) -> Vec<Image<'_>> {
    let mut images = vec![Image {
        data: data.into(),
        width,
        height,
    }];
    for _ in 1..level_sizes(width, height, levels).len() {
        let overview = halve(&images[images.len() - 1], sample);
        images.push(overview);
    }
    images
}

/// The (width, height) of the full-resolution image and of each of up to `levels` overviews: each halves
/// the one before (rounding up), and the levels stop early once an image is 1 × 1 px.
pub(super) fn level_sizes(width: usize, height: usize, levels: u32) -> Vec<(usize, usize)> {
    let mut sizes = vec![(width, height)];
    for _ in 0..levels {
        let (w, h) = sizes[sizes.len() - 1];
        if w == 1 && h == 1 {
            break;
        }
        sizes.push((w.div_ceil(2), h.div_ceil(2)));
    }
    sizes
}

/// `image`, of samples `sample` bytes long, decimated by 2 in both directions (sides rounded up): the
/// top-left sample of every 2 × 2 block, band by band.
pub(super) fn halve(image: &Image<'_>, sample: usize) -> Image<'static> {
    let mut data = Vec::new();
    for band in image.data.chunks_exact(image.width * image.height * sample) {
        for row in band.chunks_exact(image.width * sample).step_by(2) {
            data.extend(row.chunks_exact(sample).step_by(2).flatten());
        }
    }
    Image {
        data: data.into(),
        width: image.width.div_ceil(2),
        height: image.height.div_ceil(2),
    }
}
