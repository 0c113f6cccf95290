//! How overlapping chips combine into one output pixel: the mean of all, or the chip the pixel is most
//! central in.

/// How the [`super::Stitcher`] combines the chips that cover one output pixel.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Blend {
    /// The mean of every chip's value at the pixel, band by band; rounded to the nearest integer for integer
    /// output types. For float scores (probabilities, logits).
    #[default]
    Average,
    /// The value of the one chip in which the pixel lies farthest from the chip's edges (the first such chip
    /// on a tie), dropping the `margin` pixels next to each edge. Edges on or past the output grid's edge do
    /// not count: nothing lies beyond them. Keeps values as they are, so it suits class maps; a pixel that
    /// every chip drops is nodata.
    Center {
        /// Pixels dropped next to each chip edge that lies inside the output grid.
        margin: u32,
    },
}

/// The centrality of a chip's pixels along one axis: for each of its `len` pixels, the distance to the
/// nearer of the chip's two edges that count (`u32::MAX` where neither does).
///
/// The chip starts at output pixel `start` on an axis of `grid` pixels; an edge counts when the output grid
/// goes on beyond it.
pub(super) fn edge_distances(start: i64, len: usize, grid: usize) -> Vec<u32> {
    let low_counts = start > 0;
    let high_counts = start + (len as i64) < grid as i64;
    (0..len)
        .map(|i| {
            let low = if low_counts { i } else { usize::MAX };
            let high = if high_counts { len - 1 - i } else { usize::MAX };
            u32::try_from(low.min(high)).unwrap_or(u32::MAX)
        })
        .collect()
}
