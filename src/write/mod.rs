//! COG writer: band-sequential pixels to a tiled Cloud-Optimized GeoTIFF, for demo data and stitched
//! predictions.
//!
//! The file is a little-endian classic TIFF laid out as the COG spec asks: the 8-byte header, then every IFD
//! with its tag arrays (full resolution first, then the overviews, largest first), then the tile data (the
//! smallest overview's tiles first, the full-resolution tiles last, each image's tiles in row-major order).
//! Tiles are pixel-interleaved (PlanarConfiguration=1) and full-size at the right and bottom edges, padded
//! with nodata (else 0); they are DEFLATE-compressed (a zlib stream, level 6) after horizontal differencing
//! (Predictor=2) when asked. Each overview halves both sides of the image before it (rounding up) by nearest
//! decimation: its pixel (col, row) is the pixel (2·col, 2·row) of the larger image. The grid and CRS go in the
//! GeoTIFF tags, the nodata value in GDAL's `GDAL_NODATA` tag, as GDAL writes them.
//!
//! [`write_cog`] takes the whole raster; [`RowWriter`] writes the same bytes from rows given top to bottom,
//! holding one tile row per image (what [`crate::stitch::Stitcher`] streams into).

mod ifd;
mod pyramid;
mod rows;
mod tiles;

use std::fs::File;
use std::io::{self, BufWriter, Write};
use std::path::Path;

use crate::dtype::DataType;
use crate::grid::GeoTransform;
use ifd::header;
use pyramid::pyramid;
use tiles::TileFormat;

pub use rows::RowWriter;

/// How [`write_cog`] compresses tiles.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Compression {
    /// Tiles stored as they are (TIFF Compression=1).
    None,
    /// DEFLATE in a zlib stream, level 6 (TIFF Compression=8).
    #[default]
    Deflate,
}

/// What [`write_cog`] writes besides the pixels: tiling, compression, overviews, nodata and georeferencing.
#[derive(Debug, Clone)]
pub struct CogOptions {
    /// Width and height of a tile in pixels: a positive multiple of 16, as TIFF requires. Default 512.
    pub tile_size: u32,
    /// Tile compression. Default [`Compression::Deflate`].
    pub compression: Compression,
    /// Horizontal differencing (Predictor=2) before compression. Applies to integer types with
    /// [`Compression::Deflate`] only; ignored for floats and uncompressed tiles. Default true.
    pub predictor: bool,
    /// Number of overview levels, each half the size of the one before. Levels stop early once an image is
    /// 1 × 1 px. Default 0.
    pub overviews: u32,
    /// The nodata value: written as `GDAL_NODATA` and used to pad the edge tiles (cast to the data type as
    /// Rust's `as` casts: saturating, NaN to 0). Default none.
    pub nodata: Option<f64>,
    /// EPSG code of the CRS: a geographic CRS for codes 4000..=4999, else a projected one. Default none.
    pub epsg: Option<u16>,
    /// The pixel grid of the full-resolution image.
    pub transform: GeoTransform,
}

impl CogOptions {
    /// The defaults on `transform`'s grid: 512-px tiles, DEFLATE with predictor, no overviews, no nodata,
    /// no CRS.
    pub fn new(transform: GeoTransform) -> CogOptions {
        CogOptions {
            tile_size: 512,
            compression: Compression::Deflate,
            predictor: true,
            overviews: 0,
            nodata: None,
            epsg: None,
            transform,
        }
    }
}

/// Writes `data`, `bands` × `height` × `width` native-endian samples of `dtype` in band-sequential order, as a
/// COG at `path`.
///
/// Errors, each message starting with `path`: [`io::ErrorKind::InvalidInput`] for inconsistent input (a
/// `data` length that does not match the shape, an empty image, a tile size that is not a positive multiple
/// of 16 or makes tiles past 4 GiB), [`io::ErrorKind::FileTooLarge`] for a file past the 4 GiB of a classic
/// TIFF, and the file system's errors.
pub fn write_cog(
    path: &Path,
    data: &[u8],
    dtype: DataType,
    bands: usize,
    width: usize,
    height: usize,
    opts: &CogOptions,
) -> io::Result<()> {
    let raster = Raster {
        data,
        dtype,
        bands,
        width,
        height,
    };
    let write = || {
        // Checked before the file is created, so bad input leaves nothing behind.
        check_input(&raster, opts)?;
        let mut out = BufWriter::new(File::create(path)?);
        write_to(&mut out, &raster, opts)?;
        out.flush()
    };
    write().map_err(|e| context(path, e))
}

/// `e` with its message starting with `path`.
fn context(path: &Path, e: io::Error) -> io::Error {
    io::Error::new(e.kind(), format!("{}: {e}", path.display()))
}

/// The pixels [`write_cog`] was given, with their shape and type.
struct Raster<'a> {
    data: &'a [u8],
    dtype: DataType,
    bands: usize,
    width: usize,
    height: usize,
}

/// `Err(InvalidInput)` where the arguments of [`write_cog`] do not describe a TIFF we can write.
fn check_input(raster: &Raster<'_>, opts: &CogOptions) -> io::Result<()> {
    let &Raster {
        data,
        dtype,
        bands,
        width,
        height,
    } = raster;
    check_shape(dtype, bands, width, height, opts)?;
    let len = data.len();
    let expected = [bands, width, height]
        .iter()
        .try_fold(dtype.size(), |n, &d| n.checked_mul(d));
    if expected != Some(len) {
        let shape = format!("{bands} × {height} × {width} (bands × height × width)");
        let message = format!("{len} bytes of data do not hold {shape} {dtype} samples");
        return Err(io::Error::new(io::ErrorKind::InvalidInput, message));
    }
    Ok(())
}

/// `Err(InvalidInput)` where an image of this shape and these options is not a TIFF we can write.
fn check_shape(
    dtype: DataType,
    bands: usize,
    width: usize,
    height: usize,
    opts: &CogOptions,
) -> io::Result<()> {
    let invalid = |message: String| Err(io::Error::new(io::ErrorKind::InvalidInput, message));
    let shape = format!("{bands} × {height} × {width} (bands × height × width)");
    if bands == 0 || width == 0 || height == 0 {
        return invalid(format!("cannot write an empty image of {shape}"));
    }
    if dtype == DataType::BF16 {
        return invalid("TIFF has no bfloat16 samples: cast to float32 first".into());
    }
    if u16::try_from(bands).is_err()
        || u32::try_from(width).is_err()
        || u32::try_from(height).is_err()
    {
        return invalid(format!("an image of {shape} is too large for a TIFF"));
    }
    let tile = opts.tile_size as usize;
    if tile == 0 || !tile.is_multiple_of(16) {
        return invalid(format!("tile size {tile} is not a positive multiple of 16"));
    }
    let tile_len = [tile, tile, bands]
        .iter()
        .try_fold(dtype.size(), |n, &d| n.checked_mul(d));
    if tile_len.is_none_or(|len| u32::try_from(len).is_err()) {
        return invalid(format!(
            "tiles of {tile} × {tile} px would pass the 4 GiB a TIFF tile may hold"
        ));
    }
    Ok(())
}

/// [`write_cog`] into any writer, for input that passed [`check_input`].
fn write_to(out: &mut impl Write, raster: &Raster<'_>, opts: &CogOptions) -> io::Result<()> {
    let format = TileFormat::new(raster.dtype, raster.bands, opts);
    let (width, height) = (raster.width, raster.height);
    let images = pyramid(
        raster.data,
        raster.dtype.size(),
        width,
        height,
        opts.overviews,
    );
    let tiles = images
        .iter()
        .map(|image| format.encode_image(image))
        .collect::<io::Result<Vec<_>>>()?;
    let sizes: Vec<_> = images.iter().map(|i| (i.width, i.height)).collect();
    let lens: Vec<Vec<usize>> = tiles
        .iter()
        .map(|tiles| tiles.iter().map(Vec::len).collect())
        .collect();
    out.write_all(&header(&sizes, &lens, &format, opts)?)?;
    for tile in tiles.iter().rev().flatten() {
        out.write_all(tile)?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use libdeflater::Decompressor;

    use super::pyramid::Image;
    use super::tiles::difference_rows;
    use super::*;
    use crate::tags as tag;

    /// A minimal little-endian TIFF reader for the tests: the offset of each IFD and its tags' value bytes.
    fn read_ifds(file: &[u8]) -> Vec<(usize, BTreeMap<u16, Vec<u8>>)> {
        let u16_at = |at: usize| u16::from_le_bytes([file[at], file[at + 1]]) as usize;
        let u32_at = |at: usize| u32::from_le_bytes(file[at..at + 4].try_into().unwrap()) as usize;
        assert_eq!(&file[..4], b"II\x2a\x00");
        let mut ifds = Vec::new();
        let mut at = u32_at(4);
        while at != 0 {
            let mut tags = BTreeMap::new();
            for entry in (0..u16_at(at)).map(|i| at + 2 + 12 * i) {
                let size = match u16_at(entry + 2) {
                    2 => 1,
                    3 => 2,
                    4 => 4,
                    12 => 8,
                    other => panic!("unexpected TIFF type {other}"),
                };
                let len = size * u32_at(entry + 4);
                let start = if len <= 4 {
                    entry + 8
                } else {
                    u32_at(entry + 8)
                };
                tags.insert(u16_at(entry) as u16, file[start..start + len].to_vec());
            }
            ifds.push((at, tags));
            at = u32_at(at + 2 + 12 * u16_at(at));
        }
        ifds
    }

    fn shorts(bytes: &[u8]) -> Vec<u16> {
        bytes
            .chunks_exact(2)
            .map(|b| u16::from_le_bytes([b[0], b[1]]))
            .collect()
    }

    fn longs(bytes: &[u8]) -> Vec<usize> {
        bytes
            .chunks_exact(4)
            .map(|b| u32::from_le_bytes(b.try_into().unwrap()) as usize)
            .collect()
    }

    fn doubles(bytes: &[u8]) -> Vec<f64> {
        bytes
            .chunks_exact(8)
            .map(|b| f64::from_le_bytes(b.try_into().unwrap()))
            .collect()
    }

    fn utm() -> GeoTransform {
        GeoTransform::new(10.0, 0.0, 500_000.0, 0.0, -10.0, 4_000_000.0)
    }

    /// Two bands of u16, 40 × 20 px: sample (band, row, col) = 1000·band + 40·row + col.
    fn two_band_u16() -> Vec<u8> {
        let sample = |i: usize| (1000 * (i / 800) + i % 800) as u16;
        (0..2 * 20 * 40)
            .flat_map(|i| sample(i).to_ne_bytes())
            .collect()
    }

    fn write(
        data: &[u8],
        dtype: DataType,
        bands: usize,
        size: (usize, usize),
        opts: &CogOptions,
    ) -> Vec<u8> {
        static FILES: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
        let n = FILES.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let path =
            std::env::temp_dir().join(format!("geochips-write-{}-{n}.tif", std::process::id()));
        write_cog(&path, data, dtype, bands, size.0, size.1, opts).unwrap();
        let file = std::fs::read(&path).unwrap();
        std::fs::remove_file(&path).unwrap();
        file
    }

    #[test]
    fn header_holds_the_tags_of_every_image_and_the_ifds_precede_the_tiles() {
        let opts = CogOptions {
            tile_size: 16,
            overviews: 1,
            nodata: Some(0.0),
            epsg: Some(32631),
            ..CogOptions::new(utm())
        };
        let file = write(&two_band_u16(), DataType::U16, 2, (40, 20), &opts);
        let ifds = read_ifds(&file);
        assert_eq!(ifds.len(), 2);
        assert_eq!(ifds[0].0, 8, "the first IFD follows the header");

        let (_, full) = &ifds[0];
        assert_eq!(longs(&full[&tag::NEW_SUBFILE_TYPE]), [0]);
        assert_eq!(longs(&full[&tag::IMAGE_WIDTH]), [40]);
        assert_eq!(longs(&full[&tag::IMAGE_LENGTH]), [20]);
        assert_eq!(shorts(&full[&tag::BITS_PER_SAMPLE]), [16, 16]);
        assert_eq!(shorts(&full[&tag::SAMPLE_FORMAT]), [1, 1]);
        assert_eq!(shorts(&full[&tag::SAMPLES_PER_PIXEL]), [2]);
        assert_eq!(shorts(&full[&tag::COMPRESSION]), [8]);
        assert_eq!(shorts(&full[&tag::PREDICTOR]), [2]);
        assert_eq!(shorts(&full[&tag::PHOTOMETRIC_INTERPRETATION]), [1]);
        assert_eq!(shorts(&full[&tag::PLANAR_CONFIGURATION]), [1]);
        assert_eq!(shorts(&full[&tag::EXTRA_SAMPLES]), [0]);
        assert_eq!(longs(&full[&tag::TILE_WIDTH]), [16]);
        assert_eq!(longs(&full[&tag::TILE_LENGTH]), [16]);
        assert_eq!(longs(&full[&tag::TILE_OFFSETS]).len(), 3 * 2);
        assert_eq!(doubles(&full[&tag::MODEL_PIXEL_SCALE]), [10.0, 10.0, 0.0]);
        assert_eq!(
            doubles(&full[&tag::MODEL_TIEPOINT]),
            [0.0, 0.0, 0.0, 500_000.0, 4_000_000.0, 0.0]
        );
        let keys = shorts(&full[&tag::GEO_KEY_DIRECTORY]);
        assert_eq!(
            keys,
            [1, 1, 0, 3, 1024, 0, 1, 1, 1025, 0, 1, 1, 3072, 0, 1, 32631]
        );
        assert_eq!(full[&tag::GDAL_NODATA], b"0\0");

        let (_, overview) = &ifds[1];
        assert_eq!(longs(&overview[&tag::NEW_SUBFILE_TYPE]), [1]);
        assert_eq!(longs(&overview[&tag::IMAGE_WIDTH]), [20]);
        assert_eq!(longs(&overview[&tag::IMAGE_LENGTH]), [10]);
        assert_eq!(longs(&overview[&tag::TILE_OFFSETS]).len(), 2);
        assert!(!overview.contains_key(&tag::GEO_KEY_DIRECTORY));

        // COG order: the IFDs, then the overview's tiles, then the full-resolution tiles, back to back.
        let tiles = |tags: &BTreeMap<u16, Vec<u8>>| {
            let offsets = longs(&tags[&tag::TILE_OFFSETS]);
            offsets
                .into_iter()
                .zip(longs(&tags[&tag::TILE_BYTE_COUNTS]))
                .collect::<Vec<_>>()
        };
        let first = tiles(overview)[0].0;
        assert!(ifds.iter().all(|(at, _)| *at < first));
        let mut end = first;
        for (offset, count) in tiles(overview).into_iter().chain(tiles(full)) {
            assert_eq!(offset, end);
            end += count;
        }
        assert_eq!(end, file.len());
    }

    #[test]
    fn tiles_decode_back_to_the_pixels_after_inflate_and_undoing_the_predictor() {
        let data = two_band_u16();
        let opts = CogOptions {
            tile_size: 16,
            ..CogOptions::new(utm())
        };
        let file = write(&data, DataType::U16, 2, (40, 20), &opts);
        let (_, full) = &read_ifds(&file)[0];
        let (offset, count) = (
            longs(&full[&tag::TILE_OFFSETS])[1],
            longs(&full[&tag::TILE_BYTE_COUNTS])[1],
        );
        let mut raw = vec![0; 16 * 16 * 2 * 2];
        let len = Decompressor::new()
            .zlib_decompress(&file[offset..offset + count], &mut raw)
            .unwrap();
        assert_eq!(len, raw.len());
        let mut samples = shorts(&raw);
        for row in samples.chunks_exact_mut(16 * 2) {
            for i in 2..row.len() {
                row[i] = row[i].wrapping_add(row[i - 2]);
            }
        }
        // Tile 1 is row 0, column 1: pixels 16..32 of rows 0..16.
        let source = |band: usize, row: usize, col: usize| {
            let at = ((band * 20 + row) * 40 + col) * 2;
            u16::from_ne_bytes([data[at], data[at + 1]])
        };
        for row in 0..16 {
            for col in 0..16 {
                for band in 0..2 {
                    assert_eq!(
                        samples[(row * 16 + col) * 2 + band],
                        source(band, row, 16 + col)
                    );
                }
            }
        }
    }

    #[test]
    fn edge_tiles_are_full_size_and_padded_with_nodata() {
        let opts = CogOptions {
            tile_size: 16,
            nodata: Some(-1.0),
            ..CogOptions::new(utm())
        };
        let format = TileFormat::new(DataType::I16, 1, &opts);
        let data: Vec<u8> = (0..20 * 20).flat_map(|v: i16| v.to_ne_bytes()).collect();
        let image = Image {
            data: data.into(),
            width: 20,
            height: 20,
        };
        let tile = format.raw_tile(&image, 1, 1);
        let samples: Vec<i16> = tile
            .chunks_exact(2)
            .map(|b| i16::from_ne_bytes([b[0], b[1]]))
            .collect();
        assert_eq!(samples.len(), 16 * 16);
        for (i, &sample) in samples.iter().enumerate() {
            let (row, col) = (i / 16, i % 16);
            let expected = if row < 4 && col < 4 {
                ((16 + row) * 20 + 16 + col) as i16
            } else {
                -1
            };
            assert_eq!(sample, expected, "row {row} col {col}");
        }
    }

    #[test]
    fn predictor_differences_each_band_along_the_row_with_wrapping() {
        // Two rows of three pixels of two u8 bands, pixel-interleaved.
        let mut tile = vec![10, 200, 20, 100, 5, 50, 1, 2, 3, 4, 5, 6];
        difference_rows(&mut tile, DataType::U8, 6, 2);
        assert_eq!(tile, [10, 200, 10, 156, 241, 206, 1, 2, 2, 2, 2, 2]);
        let mut floats: Vec<u8> = [1.5f32, 2.5].iter().flat_map(|v| v.to_ne_bytes()).collect();
        let before = floats.clone();
        difference_rows(&mut floats, DataType::F32, 2, 1);
        assert_eq!(floats, before, "floats are not differenced");
    }

    #[test]
    fn overviews_take_the_top_left_sample_of_each_two_by_two_block_and_round_up() {
        let data: Vec<u8> = (0..2 * 3 * 5).collect(); // 2 bands, 3 rows, 5 columns
        let images = pyramid(&data, 1, 5, 3, 5);
        let sizes: Vec<_> = images.iter().map(|i| (i.width, i.height)).collect();
        assert_eq!(
            sizes,
            [(5, 3), (3, 2), (2, 1), (1, 1)],
            "levels stop at 1 × 1 px"
        );
        assert_eq!(
            *images[1].data,
            [0, 2, 4, 10, 12, 14, 15, 17, 19, 25, 27, 29]
        );
        assert_eq!(*images[2].data, [0, 4, 15, 19]);
    }

    #[test]
    fn geographic_codes_and_rotated_grids_get_their_own_tags() {
        let rotated = GeoTransform::new(1.0, 0.5, 10.0, 0.25, -1.0, 50.0);
        let opts = CogOptions {
            tile_size: 16,
            epsg: Some(4326),
            nodata: Some(f64::NAN),
            ..CogOptions::new(rotated)
        };
        let file = write(&[0; 4 * 3 * 3], DataType::F32, 1, (3, 3), &opts);
        let (_, tags) = &read_ifds(&file)[0];
        let keys = shorts(&tags[&tag::GEO_KEY_DIRECTORY]);
        assert_eq!(keys[4..], [1024, 0, 1, 2, 1025, 0, 1, 1, 2048, 0, 1, 4326]);
        let matrix = doubles(&tags[&tag::MODEL_TRANSFORMATION]);
        assert_eq!(matrix[..8], [1.0, 0.5, 0.0, 10.0, 0.25, -1.0, 0.0, 50.0]);
        assert!(!tags.contains_key(&tag::MODEL_PIXEL_SCALE));
        assert!(
            !tags.contains_key(&tag::PREDICTOR),
            "no predictor for floats"
        );
        assert_eq!(tags[&tag::GDAL_NODATA], b"nan\0");
    }

    #[test]
    fn inconsistent_input_is_refused() {
        let opts = CogOptions::new(utm());
        let kind = |len: usize, bands, width, height, opts: &CogOptions| {
            let data = vec![0u8; len];
            let raster = Raster {
                data: &data,
                dtype: DataType::U16,
                bands,
                width,
                height,
            };
            check_input(&raster, opts).unwrap_err().kind()
        };
        assert_eq!(
            kind(7, 1, 2, 2, &opts),
            io::ErrorKind::InvalidInput,
            "wrong length"
        );
        assert_eq!(
            kind(0, 1, 0, 2, &opts),
            io::ErrorKind::InvalidInput,
            "empty"
        );
        let odd_tiles = CogOptions {
            tile_size: 100,
            ..opts
        };
        assert_eq!(
            kind(8, 1, 2, 2, &odd_tiles),
            io::ErrorKind::InvalidInput,
            "tile size"
        );
        let huge_tiles = CogOptions {
            tile_size: 1 << 16,
            ..opts
        };
        assert_eq!(
            kind(8, 1, 2, 2, &huge_tiles),
            io::ErrorKind::InvalidInput,
            "tile bytes"
        );
    }
}
