//! The Stitcher: chips in, blended tile rows out to a streaming COG writer.

use std::collections::VecDeque;
use std::io;
use std::path::{Path, PathBuf};

use super::blend::{Blend, edge_distances};
use super::strip::{Chip, Strip};
use crate::dtype::DataType;
use crate::error::{Error, Result};
use crate::grid::GeoTransform;
use crate::write::{CogOptions, RowWriter};
use crate::{Crs, GeoSlice};

/// Blends per-chip predictions onto one output grid and writes them as a COG, streaming.
///
/// Memory holds the tile rows (of `opts.tile_size` output rows, all bands) that chips still land on: two or
/// three for chips no taller than a tile, each `tile_size` × `width` × (8 × `bands` + 4) bytes, plus one
/// tile row per image for the writer.
///
/// ```no_run
/// # fn main() -> geochips::Result<()> {
/// use geochips::stitch::{Blend, Stitcher};
/// use geochips::write::CogOptions;
/// use geochips::{DataType, GeoTransform};
///
/// let grid = GeoTransform::new(10.0, 0.0, 500_000.0, 0.0, -10.0, 4_000_000.0);
/// let opts = CogOptions { epsg: Some(32631), overviews: 3, ..CogOptions::new(grid) };
/// let mut stitcher = Stitcher::create(
///     "scores.tif".as_ref(), DataType::F32, 1, 10_000, 10_000, Blend::Average, &opts,
/// )?;
/// # let predictions: Vec<(geochips::GeoSlice, Vec<u8>)> = Vec::new();
/// for (slice, chip) in &predictions {
///     stitcher.add(slice, chip)?; // chip: 1 × height × width native-endian f32 samples
/// }
/// stitcher.finish()?;
/// # Ok(())
/// # }
/// ```
#[derive(Debug)]
pub struct Stitcher {
    path: PathBuf,
    writer: RowWriter,
    dtype: DataType,
    bands: usize,
    width: usize,
    height: usize,
    transform: GeoTransform,
    crs: Option<Crs>,
    blend: Blend,
    /// The value of pixels no chip lands on: nodata, else 0.
    fill: f64,
    tile_rows: usize,
    /// The tile rows chips may still land on, top to bottom; the first starts at `written`.
    strips: VecDeque<Strip>,
    /// Output rows already handed to the writer.
    written: usize,
}

impl Stitcher {
    /// A stitcher of a `bands` × `height` × `width` output of `dtype` on the grid `opts.transform` (north-up),
    /// blending with `blend` and writing a COG at `path` with `opts`' tiling, compression, overviews, nodata
    /// and CRS (`opts.epsg`, which chips must share when it is set).
    ///
    /// Errors: [`Error::Stitch`] for a rotated grid or a shape the COG writer refuses, [`Error::Write`] when
    /// the temporary files next to `path` cannot be created.
    pub fn create(
        path: &Path,
        dtype: DataType,
        bands: usize,
        width: usize,
        height: usize,
        blend: Blend,
        opts: &CogOptions,
    ) -> Result<Stitcher> {
        let transform = opts.transform;
        if !transform.is_north_up() || transform.a <= 0.0 || transform.e >= 0.0 {
            return Err(Error::Stitch {
                path: path.display().to_string(),
                reason: format!(
                    "the output grid must be north-up, not {:?}",
                    transform.to_gdal()
                ),
            });
        }
        let writer = RowWriter::create(path, dtype, bands, width, height, opts)
            .map_err(|e| io_error(path, e))?;
        Ok(Stitcher {
            path: path.to_path_buf(),
            writer,
            dtype,
            bands,
            width,
            height,
            transform,
            crs: opts.epsg.map(|code| Crs::from_epsg(code.into())),
            blend,
            fill: opts.nodata.unwrap_or(0.0),
            tile_rows: opts.tile_size as usize,
            strips: VecDeque::new(),
            written: 0,
        })
    }

    /// Lands one chip: `chip` holds `bands` × `slice.size.1` × `slice.size.0` native-endian samples of the
    /// output type, band-sequential, for the pixels of `slice`. Parts outside the output grid are dropped.
    ///
    /// Chips come in row order: a chip may not start above a tile row that an earlier chip started below
    /// (the order of a [`crate::samplers::GridSampler`] over one item). Errors ([`Error::Stitch`]): a slice
    /// in another CRS or off the output grid, a chip of the wrong length, a chip out of order;
    /// [`Error::Write`] when a finished tile row cannot be written.
    pub fn add(&mut self, slice: &GeoSlice, chip: &[u8]) -> Result<()> {
        if let Some(crs) = self.crs.filter(|&crs| crs != slice.crs) {
            return Err(self.bad(format!(
                "chip {} is in {}, the output in {crs}",
                slice.id, slice.crs
            )));
        }
        let (width, height) = (slice.size.0 as usize, slice.size.1 as usize);
        // The one rounding rule snaps edges within a thousandth of a pixel and rounds outward, so a slice
        // off the grid by a fraction of a pixel, or at another resolution, gets a window of another size.
        let on_grid = self
            .transform
            .window(&slice.bounds)
            .filter(|w| (w.width, w.height) == (width as u64, height as u64));
        let Some(window) = on_grid else {
            return Err(self.bad(format!(
                "chip {} with bounds {:?} and size {:?} does not lie on the output grid {:?}",
                slice.id,
                slice.bounds,
                slice.size,
                self.transform.to_gdal()
            )));
        };
        let expected = self.bands * width * height * self.dtype.size();
        if chip.len() != expected {
            return Err(self.bad(format!(
                "chip {} has {} bytes, not the {expected} of {} × {height} × {width} {} samples",
                slice.id,
                chip.len(),
                self.bands,
                self.dtype
            )));
        }
        let Some(inside) = window.intersect(self.width as u64, self.height as u64) else {
            return Ok(());
        };
        let (col0, row0) = (inside.col_off as usize, inside.row_off as usize);
        let rows = row0..row0 + inside.height as usize;
        if rows.start < self.written {
            return Err(self.bad(format!(
                "chip {} starts at row {}, above rows already written (0..{}): add chips in row order, \
                 as a GridSampler gives them",
                slice.id, rows.start, self.written
            )));
        }
        self.write_until(rows.start)?;
        while self.strips.back().map_or(self.written, |s| s.rows.end) < rows.end {
            let start = self.strips.back().map_or(self.written, |s| s.rows.end);
            let end = (start + self.tile_rows).min(self.height);
            self.strips
                .push_back(Strip::new(start..end, self.width, self.bands));
        }
        let chip = Chip {
            samples: chip,
            dtype: self.dtype,
            origin: (window.col_off, window.row_off),
            width,
            height,
            cols: col0..col0 + inside.width as usize,
            rows,
            centrality: (
                edge_distances(window.col_off, width, self.width),
                edge_distances(window.row_off, height, self.height),
            ),
        };
        for strip in &mut self.strips {
            if strip.rows.start < chip.rows.end && chip.rows.start < strip.rows.end {
                strip.add(&chip, self.blend);
            }
        }
        Ok(())
    }

    /// Writes the remaining tile rows (nodata where no chip landed) and assembles the COG at its path.
    ///
    /// Errors: [`Error::Write`] when the file cannot be written.
    pub fn finish(mut self) -> Result<()> {
        self.write_until(self.height)?;
        let path = self.path.clone();
        self.writer.finish().map_err(|e| io_error(&path, e))
    }

    /// Finishes and writes every tile row that ends at or above output row `row`, empty ones included.
    fn write_until(&mut self, row: usize) -> Result<()> {
        while self.written < self.height && (self.written + self.tile_rows).min(self.height) <= row
        {
            let strip = self.strips.pop_front().unwrap_or_else(|| {
                let end = (self.written + self.tile_rows).min(self.height);
                Strip::new(self.written..end, self.width, self.bands)
            });
            self.written = strip.rows.end;
            let rows = strip.finish(self.dtype, self.blend, self.fill);
            self.writer
                .write_rows(&rows)
                .map_err(|e| io_error(&self.path, e))?;
        }
        Ok(())
    }

    /// An [`Error::Stitch`] for this stitcher's file.
    fn bad(&self, reason: String) -> Error {
        Error::Stitch {
            path: self.path.display().to_string(),
            reason,
        }
    }
}

/// An I/O error of the writer as an [`Error::Write`] naming `path`.
fn io_error(path: &Path, source: io::Error) -> Error {
    Error::Write {
        path: path.display().to_string(),
        source,
    }
}
