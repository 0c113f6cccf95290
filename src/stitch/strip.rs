//! One tile row of the output while chips land on it: per-pixel sums or chosen values, and weights.

use std::ops::Range;

use super::blend::Blend;
use crate::dtype::DataType;

/// The output rows `rows` of every band, accumulating chips until no chip can touch them any more.
#[derive(Debug)]
pub(super) struct Strip {
    /// Output rows held, a tile row of the COG.
    pub(super) rows: Range<usize>,
    width: usize,
    /// Band-sequential: per band, the rows' pixels, row-major. Sums for [`Blend::Average`], the chosen
    /// chip's values for [`Blend::Center`].
    values: Vec<f64>,
    /// Per pixel: the number of chips summed ([`Blend::Average`]), or 1 + the chosen chip's centrality
    /// ([`Blend::Center`]); 0 where no chip has landed.
    weights: Vec<u32>,
}

/// One chip as it lands on the output: its samples and where they go.
pub(super) struct Chip<'a> {
    /// `bands` × `height` × `width` native-endian samples of `dtype`, band-sequential.
    pub(super) samples: &'a [u8],
    pub(super) dtype: DataType,
    /// The chip's first output column and row (may be negative: outside the grid).
    pub(super) origin: (i64, i64),
    pub(super) width: usize,
    pub(super) height: usize,
    /// The output columns and rows the chip covers inside the grid.
    pub(super) cols: Range<usize>,
    pub(super) rows: Range<usize>,
    /// [`Blend::Center`]: each chip column's and row's distance to the chip edges that count.
    pub(super) centrality: (Vec<u32>, Vec<u32>),
}

impl Strip {
    /// An empty strip of output `rows`, `width` pixels wide, of `bands` bands.
    pub(super) fn new(rows: Range<usize>, width: usize, bands: usize) -> Strip {
        let pixels = rows.len() * width;
        Strip {
            rows,
            width,
            values: vec![0.0; pixels * bands],
            weights: vec![0; pixels],
        }
    }

    /// Lands the part of `chip` that falls in this strip.
    pub(super) fn add(&mut self, chip: &Chip<'_>, blend: Blend) {
        let size = chip.dtype.size();
        let plane = self.rows.len() * self.width;
        let bands = self.values.len() / plane;
        let rows = chip.rows.start.max(self.rows.start)..chip.rows.end.min(self.rows.end);
        let sample = |band: usize, y: usize, x: usize| {
            let at = ((band * chip.height + y) * chip.width + x) * size;
            chip.dtype.read_value(&chip.samples[at..at + size])
        };
        for row in rows {
            let y = (row as i64 - chip.origin.1) as usize;
            for col in chip.cols.clone() {
                let x = (col as i64 - chip.origin.0) as usize;
                let p = (row - self.rows.start) * self.width + col;
                match blend {
                    Blend::Average => {
                        self.weights[p] += 1;
                        for band in 0..bands {
                            self.values[band * plane + p] += sample(band, y, x);
                        }
                    }
                    Blend::Center { margin } => {
                        let score = chip.centrality.0[x].min(chip.centrality.1[y]);
                        let rank = score.saturating_add(1);
                        if score >= margin && rank > self.weights[p] {
                            self.weights[p] = rank;
                            for band in 0..bands {
                                self.values[band * plane + p] = sample(band, y, x);
                            }
                        }
                    }
                }
            }
        }
    }

    /// The finished rows as band-sequential native-endian samples of `dtype`: `fill` where no chip landed.
    pub(super) fn finish(self, dtype: DataType, blend: Blend, fill: f64) -> Vec<u8> {
        let size = dtype.size();
        let plane = self.weights.len();
        let mut out = vec![0; self.values.len() * size];
        for (i, (&value, out)) in self
            .values
            .iter()
            .zip(out.chunks_exact_mut(size))
            .enumerate()
        {
            let weight = self.weights[i % plane];
            let value = match blend {
                _ if weight == 0 => fill,
                Blend::Average if dtype.is_float() => value / f64::from(weight),
                Blend::Average => (value / f64::from(weight)).round(),
                Blend::Center { .. } => value,
            };
            dtype.write_value(value, out);
        }
        out
    }
}
