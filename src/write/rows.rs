//! Streaming COG writer: full-resolution rows arrive top to bottom, each image keeps only its tile row in
//! progress, and the file is assembled at the end (IFDs first, then the tiles), so memory does not grow with
//! the raster.

use std::fs::{self, File, OpenOptions};
use std::io::{self, BufWriter, Seek, Write};
use std::path::{Path, PathBuf};

use super::ifd::header;
use super::pyramid::{Image, halve, level_sizes};
use super::tiles::TileFormat;
use super::{CogOptions, check_shape, context};
use crate::dtype::DataType;

/// Writes a COG from rows given in order, top to bottom, a few at a time: the same file [`super::write_cog`]
/// writes from the whole raster.
///
/// Each image (full resolution and every overview) holds at most one tile row of pixels in memory; encoded
/// tiles wait in a temporary file per image next to `path` (`<path>.level<i>.part`) until
/// [`RowWriter::finish`] writes the header and copies them behind it. Dropping the writer unfinished removes
/// the temporary files and leaves no file at `path`.
#[derive(Debug)]
pub struct RowWriter {
    path: PathBuf,
    format: TileFormat,
    opts: CogOptions,
    levels: Vec<Level>,
}

/// One image of the file as it streams: its rows waiting for a full tile row, its encoded tiles so far.
#[derive(Debug)]
struct Level {
    width: usize,
    height: usize,
    /// Per band, the rows received and not yet encoded, row-major native-endian samples.
    pending: Vec<Vec<u8>>,
    /// Rows received so far.
    received: usize,
    /// The byte length of each tile encoded so far, in row-major order.
    tile_lens: Vec<usize>,
    part: BufWriter<File>,
    part_path: PathBuf,
}

impl RowWriter {
    /// A writer of a `bands` × `height` × `width` image of `dtype` samples to `path`, with `opts`' tiling,
    /// compression, overviews, nodata and georeferencing.
    ///
    /// Errors, each message starting with `path`: [`io::ErrorKind::InvalidInput`] for a shape or tile size
    /// that [`super::write_cog`] would refuse, and the file system's errors.
    pub fn create(
        path: &Path,
        dtype: DataType,
        bands: usize,
        width: usize,
        height: usize,
        opts: &CogOptions,
    ) -> io::Result<RowWriter> {
        let create = || {
            check_shape(dtype, bands, width, height, opts)?;
            // Levels join the writer as their part files are made: on an error, dropping it removes them.
            let mut writer = RowWriter {
                path: path.to_path_buf(),
                format: TileFormat::new(dtype, bands, opts),
                opts: opts.clone(),
                levels: Vec::new(),
            };
            for (i, (width, height)) in level_sizes(width, height, opts.overviews)
                .into_iter()
                .enumerate()
            {
                let mut name = path.file_name().unwrap_or_default().to_os_string();
                name.push(format!(".level{i}.part"));
                let part_path = path.with_file_name(name);
                let part = OpenOptions::new()
                    .read(true)
                    .write(true)
                    .create(true)
                    .truncate(true)
                    .open(&part_path)?;
                writer.levels.push(Level {
                    width,
                    height,
                    pending: vec![Vec::new(); bands],
                    received: 0,
                    tile_lens: Vec::new(),
                    part: BufWriter::new(part),
                    part_path,
                });
            }
            Ok(writer)
        };
        create().map_err(|e| context(path, e))
    }

    /// Appends the next rows of the full-resolution image: `rows` holds `bands` × n × width samples,
    /// band-sequential (each band's n rows, then the next band's), native-endian, for some n ≥ 1.
    ///
    /// Errors: [`io::ErrorKind::InvalidInput`] where `rows` is not a whole number of rows or reaches past the
    /// image's height; the file system's errors.
    pub fn write_rows(&mut self, rows: &[u8]) -> io::Result<()> {
        let row_bytes = self.format.bands * self.levels[0].width * self.format.dtype.size();
        let (done, height) = (self.levels[0].received, self.levels[0].height);
        let n = rows.len() / row_bytes;
        if n == 0 || !rows.len().is_multiple_of(row_bytes) || done + n > height {
            let message = format!(
                "{} bytes are not whole rows of {row_bytes} bytes (all bands) within the {} rows left",
                rows.len(),
                height - done
            );
            let e = io::Error::new(io::ErrorKind::InvalidInput, message);
            return Err(context(&self.path, e));
        }
        self.push(0, rows, n).map_err(|e| context(&self.path, e))
    }

    /// Writes the file: the header with every IFD, then the tiles of each image, smallest overview first.
    ///
    /// Errors: [`io::ErrorKind::InvalidInput`] when rows are missing, [`io::ErrorKind::FileTooLarge`] past
    /// the 4 GiB of a classic TIFF, and the file system's errors.
    pub fn finish(mut self) -> io::Result<()> {
        let path = self.path.clone();
        self.assemble().map_err(|e| context(&path, e))
    }

    fn assemble(&mut self) -> io::Result<()> {
        let (done, height) = (self.levels[0].received, self.levels[0].height);
        if done != height {
            let message = format!("only {done} of the image's {height} rows were written");
            return Err(io::Error::new(io::ErrorKind::InvalidInput, message));
        }
        // Each level's last, partial tile row; it feeds the next level before that one ends.
        for i in 0..self.levels.len() {
            let rows = self.pending_rows(i);
            if rows > 0 {
                self.encode(i, rows)?;
            }
        }
        let sizes: Vec<_> = self.levels.iter().map(|l| (l.width, l.height)).collect();
        let lens: Vec<_> = self.levels.iter().map(|l| l.tile_lens.clone()).collect();
        let mut out = BufWriter::new(File::create(&self.path)?);
        out.write_all(&header(&sizes, &lens, &self.format, &self.opts)?)?;
        for level in self.levels.iter_mut().rev() {
            level.part.flush()?;
            let part = level.part.get_mut();
            part.rewind()?;
            io::copy(part, &mut out)?;
        }
        out.flush()
    }

    /// Number of rows waiting in level `i`.
    fn pending_rows(&self, i: usize) -> usize {
        let level = &self.levels[i];
        level.pending[0].len() / (level.width * self.format.dtype.size())
    }

    /// Appends `n` band-sequential rows to level `i`, encoding every tile row they complete.
    fn push(&mut self, i: usize, rows: &[u8], n: usize) -> io::Result<()> {
        let level = &mut self.levels[i];
        let band_bytes = n * level.width * self.format.dtype.size();
        for (pending, band) in level.pending.iter_mut().zip(rows.chunks_exact(band_bytes)) {
            pending.extend_from_slice(band);
        }
        level.received += n;
        while self.pending_rows(i) >= self.format.size {
            self.encode(i, self.format.size)?;
        }
        Ok(())
    }

    /// Encodes the first `n` pending rows of level `i` as one tile row, and passes them, halved, to the next
    /// level. Tile rows start on even rows (the tile size is a multiple of 16), so halving each one alone
    /// gives the rows of halving the whole image.
    fn encode(&mut self, i: usize, n: usize) -> io::Result<()> {
        let sample = self.format.dtype.size();
        let level = &mut self.levels[i];
        let take = n * level.width * sample;
        let mut data = Vec::with_capacity(take * self.format.bands);
        for pending in &mut level.pending {
            data.extend(pending.drain(..take));
        }
        let image = Image {
            data: data.into(),
            width: level.width,
            height: n,
        };
        for tile in self.format.encode_image(&image)? {
            level.part.write_all(&tile)?;
            level.tile_lens.push(tile.len());
        }
        if i + 1 < self.levels.len() {
            let half = halve(&image, sample);
            self.push(i + 1, &half.data, half.height)?;
        }
        Ok(())
    }
}

impl Drop for RowWriter {
    fn drop(&mut self) {
        for level in &self.levels {
            // Best effort: a part file already gone is fine.
            let _ = fs::remove_file(&level.part_path);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::grid::GeoTransform;
    use crate::write::write_cog;

    /// Streaming rows in uneven batches writes the very bytes of writing the whole raster at once.
    #[test]
    fn rows_in_any_batches_write_the_same_file_as_write_cog() {
        let (bands, width, height) = (3, 70, 123);
        let data: Vec<u8> = (0..bands * width * height * 2)
            .map(|i| (i * 37 % 251) as u8)
            .collect();
        let opts = CogOptions {
            tile_size: 16,
            overviews: 4,
            nodata: Some(0.0),
            epsg: Some(32631),
            ..CogOptions::new(GeoTransform::new(10.0, 0.0, 0.0, 0.0, -10.0, 0.0))
        };
        let dir = std::env::temp_dir();
        let whole = dir.join(format!("rows-whole-{}.tif", std::process::id()));
        let streamed = dir.join(format!("rows-streamed-{}.tif", std::process::id()));
        write_cog(&whole, &data, DataType::U16, bands, width, height, &opts).unwrap();
        let mut writer =
            RowWriter::create(&streamed, DataType::U16, bands, width, height, &opts).unwrap();
        let plane = width * height * 2;
        let mut row = 0;
        for n in [1, 7, 16, 40, 59] {
            let rows: Vec<u8> = data
                .chunks_exact(plane)
                .flat_map(|band| &band[row * width * 2..(row + n) * width * 2])
                .copied()
                .collect();
            writer.write_rows(&rows).unwrap();
            row += n;
        }
        assert_eq!(row, height);
        writer.finish().unwrap();
        assert_eq!(
            std::fs::read(&streamed).unwrap(),
            std::fs::read(&whole).unwrap()
        );
        for path in [whole, streamed] {
            std::fs::remove_file(path).unwrap();
        }
    }

    #[test]
    fn missing_or_extra_rows_are_refused() {
        let opts = CogOptions::new(GeoTransform::new(1.0, 0.0, 0.0, 0.0, -1.0, 0.0));
        let path = std::env::temp_dir().join(format!("rows-short-{}.tif", std::process::id()));
        let mut writer = RowWriter::create(&path, DataType::U8, 1, 4, 3, &opts).unwrap();
        let kind = |e: io::Error| e.kind();
        assert_eq!(
            writer.write_rows(&[0; 5]).map_err(kind),
            Err(io::ErrorKind::InvalidInput)
        );
        assert_eq!(
            writer.write_rows(&[0; 16]).map_err(kind),
            Err(io::ErrorKind::InvalidInput)
        );
        writer.write_rows(&[0; 8]).unwrap();
        assert_eq!(
            writer.finish().map_err(kind),
            Err(io::ErrorKind::InvalidInput)
        );
        assert!(!path.exists());
    }
}
