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

use std::borrow::Cow;
use std::fs::File;
use std::io::{self, BufWriter, Write};
use std::num::NonZero;
use std::path::Path;
use std::thread;

use libdeflater::{CompressionLvl, Compressor};

use crate::dtype::DataType;
use crate::grid::GeoTransform;
use crate::tags as tag;

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
    let write = || {
        // Checked before the file is created, so bad input leaves nothing behind.
        check_input(data.len(), dtype, bands, width, height, opts)?;
        let mut out = BufWriter::new(File::create(path)?);
        write_to(&mut out, data, dtype, bands, width, height, opts)?;
        out.flush()
    };
    write().map_err(|e| io::Error::new(e.kind(), format!("{}: {e}", path.display())))
}

/// `Err(InvalidInput)` where the arguments of [`write_cog`] do not describe a TIFF we can write.
fn check_input(
    len: usize,
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
    if u16::try_from(bands).is_err()
        || u32::try_from(width).is_err()
        || u32::try_from(height).is_err()
    {
        return invalid(format!("an image of {shape} is too large for a TIFF"));
    }
    let expected = [bands, width, height]
        .iter()
        .try_fold(dtype.size(), |n, &d| n.checked_mul(d));
    if expected != Some(len) {
        return invalid(format!(
            "{len} bytes of data do not hold {shape} {dtype} samples"
        ));
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
fn write_to(
    out: &mut impl Write,
    data: &[u8],
    dtype: DataType,
    bands: usize,
    width: usize,
    height: usize,
    opts: &CogOptions,
) -> io::Result<()> {
    let format = TileFormat::new(dtype, bands, opts);
    let images = pyramid(data, dtype.size(), width, height, opts.overviews);
    let tiles = images
        .iter()
        .map(|image| format.encode_image(image))
        .collect::<io::Result<Vec<_>>>()?;
    out.write_all(&header(&images, &tiles, &format, opts)?)?;
    for tile in tiles.iter().rev().flatten() {
        out.write_all(tile)?;
    }
    Ok(())
}

/// One image of the file, full resolution or an overview: band-sequential native-endian samples.
struct Image<'a> {
    data: Cow<'a, [u8]>,
    width: usize,
    height: usize,
}

/// The full-resolution image and up to `levels` overviews of samples `sample` bytes long, each half the size
/// of the one before.
fn pyramid(data: &[u8], sample: usize, width: usize, height: usize, levels: u32) -> Vec<Image<'_>> {
    let mut images = vec![Image {
        data: data.into(),
        width,
        height,
    }];
    for _ in 0..levels {
        let last = &images[images.len() - 1];
        if last.width == 1 && last.height == 1 {
            break;
        }
        let overview = halve(last, sample);
        images.push(overview);
    }
    images
}

/// `image`, of samples `sample` bytes long, decimated by 2 in both directions (sides rounded up): the
/// top-left sample of every 2 × 2 block, band by band.
fn halve(image: &Image<'_>, sample: usize) -> Image<'static> {
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

/// How the images of one file are cut into tiles and encoded.
struct TileFormat {
    dtype: DataType,
    bands: usize,
    /// Side of a tile, in pixels.
    size: usize,
    /// One native-endian sample of the padding value.
    fill: Vec<u8>,
    /// Whether tiles are horizontally differenced (Predictor=2).
    predictor: bool,
    compression: Compression,
}

impl TileFormat {
    fn new(dtype: DataType, bands: usize, opts: &CogOptions) -> TileFormat {
        let mut fill = vec![0; dtype.size()];
        dtype.write_value(opts.nodata.unwrap_or(0.0), &mut fill);
        TileFormat {
            dtype,
            bands,
            size: opts.tile_size as usize,
            fill,
            predictor: opts.predictor
                && opts.compression == Compression::Deflate
                && !dtype.is_float(),
            compression: opts.compression,
        }
    }

    /// The encoded tiles of `image` in row-major order, encoded on as many threads as the machine has cores.
    ///
    /// The threads live only for this call, so nothing is left running (a process may fork after writing).
    fn encode_image(&self, image: &Image<'_>) -> io::Result<Vec<Vec<u8>>> {
        let cols = image.width.div_ceil(self.size);
        let count = cols * image.height.div_ceil(self.size);
        let threads = thread::available_parallelism()
            .map_or(1, NonZero::get)
            .min(count);
        let per_thread = count.div_ceil(threads);
        thread::scope(|scope| {
            let workers: Vec<_> = (0..count)
                .step_by(per_thread)
                .map(|first| {
                    scope.spawn(move || {
                        let mut compressor = Compressor::new(CompressionLvl::default()); // level 6
                        (first..count.min(first + per_thread))
                            .map(|i| {
                                self.encode(
                                    &mut compressor,
                                    self.raw_tile(image, i / cols, i % cols),
                                )
                            })
                            .collect::<io::Result<Vec<_>>>()
                    })
                })
                .collect();
            let mut tiles = Vec::with_capacity(count);
            for worker in workers {
                let encoded = worker
                    .join()
                    .unwrap_or_else(|panic| std::panic::resume_unwind(panic));
                tiles.extend(encoded?);
            }
            Ok(tiles)
        })
    }

    /// The tile at (`tile_row`, `tile_col`) of `image`: pixel-interleaved native-endian samples, padded with
    /// the fill value where the tile reaches past the image.
    fn raw_tile(&self, image: &Image<'_>, tile_row: usize, tile_col: usize) -> Vec<u8> {
        let sample = self.dtype.size();
        let pixel = sample * self.bands;
        let (col0, row0) = (tile_col * self.size, tile_row * self.size);
        let width = self.size.min(image.width - col0);
        let height = self.size.min(image.height - row0);
        let mut tile = self.fill.repeat(self.size * self.size * self.bands);
        for (band, samples) in image
            .data
            .chunks_exact(image.width * image.height * sample)
            .enumerate()
        {
            for row in 0..height {
                let src =
                    &samples[((row0 + row) * image.width + col0) * sample..][..width * sample];
                let dst = &mut tile[row * self.size * pixel..][..width * pixel];
                for (dst, src) in dst.chunks_exact_mut(pixel).zip(src.chunks_exact(sample)) {
                    dst[band * sample..][..sample].copy_from_slice(src);
                }
            }
        }
        tile
    }

    /// A raw tile as stored in the file: differenced, little-endian, compressed.
    fn encode(&self, compressor: &mut Compressor, mut tile: Vec<u8>) -> io::Result<Vec<u8>> {
        if self.predictor {
            difference_rows(&mut tile, self.dtype, self.size * self.bands, self.bands);
        }
        to_little_endian(&mut tile, self.dtype.size());
        match self.compression {
            Compression::None => Ok(tile),
            Compression::Deflate => {
                let mut out = vec![0; compressor.zlib_compress_bound(tile.len())];
                let len = compressor
                    .zlib_compress(&tile, &mut out)
                    .map_err(io::Error::other)?;
                out.truncate(len);
                Ok(out)
            }
        }
    }
}

/// TIFF Predictor=2 on native-endian integer samples, in place: along each row of `row_samples` samples,
/// every sample becomes its difference (wrapping) from the sample of the same band one pixel to the left.
/// Float samples are left as they are: this predictor is for integers.
fn difference_rows(tile: &mut [u8], dtype: DataType, row_samples: usize, bands: usize) {
    fn difference<const N: usize>(
        tile: &mut [u8],
        row_samples: usize,
        bands: usize,
        sub: impl Fn([u8; N], [u8; N]) -> [u8; N],
    ) {
        let at =
            |row: &[u8], i: usize| -> [u8; N] { row[i * N..][..N].try_into().expect("N bytes") };
        for row in tile.chunks_exact_mut(row_samples * N) {
            // Right to left, so each sample's left neighbour still holds its original value.
            for i in (bands..row_samples).rev() {
                let delta = sub(at(row, i), at(row, i - bands));
                row[i * N..][..N].copy_from_slice(&delta);
            }
        }
    }
    match dtype {
        DataType::U8 | DataType::I8 => {
            difference::<1>(tile, row_samples, bands, |a, b| [a[0].wrapping_sub(b[0])])
        }
        DataType::U16 | DataType::I16 => difference::<2>(tile, row_samples, bands, |a, b| {
            u16::from_ne_bytes(a)
                .wrapping_sub(u16::from_ne_bytes(b))
                .to_ne_bytes()
        }),
        DataType::U32 | DataType::I32 => difference::<4>(tile, row_samples, bands, |a, b| {
            u32::from_ne_bytes(a)
                .wrapping_sub(u32::from_ne_bytes(b))
                .to_ne_bytes()
        }),
        DataType::F32 | DataType::F64 => {}
    }
}

/// Native-endian samples of `sample` bytes to little-endian, in place.
fn to_little_endian(buf: &mut [u8], sample: usize) {
    if cfg!(target_endian = "big") {
        buf.chunks_exact_mut(sample).for_each(<[u8]>::reverse);
    }
}

/// The values of one tag, typed as TIFF types them.
enum Value {
    Ascii(String),
    Short(Vec<u16>),
    Long(Vec<u32>),
    Double(Vec<f64>),
}

impl Value {
    /// The TIFF field type.
    fn type_code(&self) -> u16 {
        match self {
            Value::Ascii(_) => 2,
            Value::Short(_) => 3,
            Value::Long(_) => 4,
            Value::Double(_) => 12,
        }
    }

    /// The TIFF count: number of values (of bytes, NUL included, for ASCII).
    fn count(&self) -> usize {
        match self {
            Value::Ascii(text) => text.len() + 1,
            Value::Short(values) => values.len(),
            Value::Long(values) => values.len(),
            Value::Double(values) => values.len(),
        }
    }

    /// The values as little-endian bytes; ASCII ends with its NUL.
    fn bytes(&self) -> Vec<u8> {
        match self {
            Value::Ascii(text) => [text.as_bytes(), &[0]].concat(),
            Value::Short(values) => values.iter().flat_map(|v| v.to_le_bytes()).collect(),
            Value::Long(values) => values.iter().flat_map(|v| v.to_le_bytes()).collect(),
            Value::Double(values) => values.iter().flat_map(|v| v.to_le_bytes()).collect(),
        }
    }
}

/// A tag of an IFD: its code and values.
type Tag = (u16, Value);

/// The file's header: the TIFF header and every IFD, each followed by its out-of-line tag values.
/// `tiles[i]` are the encoded tiles of `images[i]`, stored after the header in reverse image order.
fn header(
    images: &[Image<'_>],
    tiles: &[Vec<Vec<u8>>],
    format: &TileFormat,
    opts: &CogOptions,
) -> io::Result<Vec<u8>> {
    let ifds = |offsets: &[Vec<u32>]| -> Vec<Vec<Tag>> {
        let mut ifds: Vec<_> = (images.iter().zip(tiles).zip(offsets))
            .enumerate()
            .map(|(i, ((image, tiles), offsets))| image_tags(image, i > 0, tiles, offsets, format))
            .collect();
        ifds[0].extend(geo_tags(opts));
        for ifd in &mut ifds {
            ifd.sort_by_key(|(code, _)| *code);
        }
        ifds
    };
    // An IFD's length does not depend on the offsets it holds: lay out with zeros, then fill them in.
    let zeros: Vec<Vec<u32>> = tiles.iter().map(|tiles| vec![0; tiles.len()]).collect();
    let lens: Vec<usize> = ifds(&zeros)
        .iter()
        .map(|ifd| ifd_bytes(ifd, 0, 0).len())
        .collect();
    let mut end = 8 + lens.iter().sum::<usize>();
    let mut offsets = vec![Vec::new(); images.len()];
    for (i, tiles) in tiles.iter().enumerate().rev() {
        for tile in tiles {
            offsets[i].push(file_offset(end)?);
            end += tile.len();
        }
    }
    file_offset(end)?;
    let mut out = b"II\x2a\x00\x08\x00\x00\x00".to_vec();
    for (i, ifd) in ifds(&offsets).iter().enumerate() {
        let at = file_offset(out.len())?;
        let next = if i + 1 < lens.len() {
            file_offset(out.len() + lens[i])?
        } else {
            0
        };
        out.extend(ifd_bytes(ifd, at, next));
    }
    Ok(out)
}

/// `offset` as a classic TIFF's 32-bit file offset.
fn file_offset(offset: usize) -> io::Result<u32> {
    u32::try_from(offset).map_err(|_| {
        io::Error::new(
            io::ErrorKind::FileTooLarge,
            "the COG would pass the 4 GiB of a classic TIFF (BigTIFF is not written)",
        )
    })
}

/// The tags of one image's IFD, unsorted: size, sample layout, tiling and compression.
fn image_tags(
    image: &Image<'_>,
    overview: bool,
    tiles: &[Vec<u8>],
    offsets: &[u32],
    format: &TileFormat,
) -> Vec<Tag> {
    let bands = format.bands;
    let (bits, sample_format) = tiff_sample(format.dtype);
    let compression = match format.compression {
        Compression::None => 1,
        Compression::Deflate => 8,
    };
    // A tile's byte count is at most the file's length, which `header` checks fits 32 bits.
    let byte_counts = tiles.iter().map(|tile| tile.len() as u32).collect();
    let mut tags = vec![
        (
            tag::NEW_SUBFILE_TYPE,
            Value::Long(vec![u32::from(overview)]),
        ),
        (tag::IMAGE_WIDTH, Value::Long(vec![image.width as u32])),
        (tag::IMAGE_LENGTH, Value::Long(vec![image.height as u32])),
        (tag::BITS_PER_SAMPLE, Value::Short(vec![bits; bands])),
        (tag::COMPRESSION, Value::Short(vec![compression])),
        (tag::PHOTOMETRIC_INTERPRETATION, Value::Short(vec![1])), // MinIsBlack
        (tag::SAMPLES_PER_PIXEL, Value::Short(vec![bands as u16])),
        (tag::PLANAR_CONFIGURATION, Value::Short(vec![1])), // pixel-interleaved
        (tag::TILE_WIDTH, Value::Long(vec![format.size as u32])),
        (tag::TILE_LENGTH, Value::Long(vec![format.size as u32])),
        (tag::TILE_OFFSETS, Value::Long(offsets.to_vec())),
        (tag::TILE_BYTE_COUNTS, Value::Long(byte_counts)),
        (tag::SAMPLE_FORMAT, Value::Short(vec![sample_format; bands])),
    ];
    if format.predictor {
        tags.push((tag::PREDICTOR, Value::Short(vec![2])));
    }
    if bands > 1 {
        // Bands past the first are unspecified extra samples (0), as GDAL writes them.
        tags.push((tag::EXTRA_SAMPLES, Value::Short(vec![0; bands - 1])));
    }
    tags
}

/// TIFF `BitsPerSample` and `SampleFormat` (1 unsigned, 2 signed, 3 float) of `dtype`.
fn tiff_sample(dtype: DataType) -> (u16, u16) {
    let format = match dtype {
        DataType::U8 | DataType::U16 | DataType::U32 => 1,
        DataType::I8 | DataType::I16 | DataType::I32 => 2,
        DataType::F32 | DataType::F64 => 3,
    };
    (dtype.size() as u16 * 8, format)
}

/// The GeoTIFF tags of the full-resolution image: its grid, its CRS where known, and GDAL's nodata tag.
fn geo_tags(opts: &CogOptions) -> Vec<Tag> {
    let t = &opts.transform;
    let mut tags = if t.is_north_up() {
        vec![
            (tag::MODEL_PIXEL_SCALE, Value::Double(vec![t.a, -t.e, 0.0])),
            (
                tag::MODEL_TIEPOINT,
                Value::Double(vec![0.0, 0.0, 0.0, t.c, t.f, 0.0]),
            ),
        ]
    } else {
        #[rustfmt::skip]
        let matrix = vec![
            t.a, t.b, 0.0, t.c,
            t.d, t.e, 0.0, t.f,
            0.0, 0.0, 0.0, 0.0,
            0.0, 0.0, 0.0, 1.0,
        ];
        vec![(tag::MODEL_TRANSFORMATION, Value::Double(matrix))]
    };
    if let Some(epsg) = opts.epsg {
        tags.push((tag::GEO_KEY_DIRECTORY, Value::Short(geo_keys(epsg))));
    }
    if let Some(nodata) = opts.nodata {
        tags.push((tag::GDAL_NODATA, Value::Ascii(nodata_text(nodata))));
    }
    tags
}

/// The GeoKeyDirectory of an EPSG CRS: model type, PixelIsArea, and the code as a geographic CRS
/// (4000..=4999) or a projected one.
fn geo_keys(epsg: u16) -> Vec<u16> {
    use crate::tags::geokey::{GEOGRAPHIC_TYPE, GT_MODEL_TYPE, GT_RASTER_TYPE, PROJECTED_CS_TYPE};
    let (model, crs_key) = if (4000..5000).contains(&epsg) {
        (2, GEOGRAPHIC_TYPE)
    } else {
        (1, PROJECTED_CS_TYPE)
    };
    // Directory version 1, revision 1.0, 3 keys; then per key: id, location (0: the value is here), count,
    // value.
    #[rustfmt::skip]
    let keys = vec![
        1, 1, 0, 3,
        GT_MODEL_TYPE, 0, 1, model,
        GT_RASTER_TYPE, 0, 1, 1, // PixelIsArea
        crs_key, 0, 1, epsg,
    ];
    keys
}

/// The nodata value as GDAL writes it in `GDAL_NODATA`: `"nan"`, `"0"`, `"-9999"`, `"0.5"`.
fn nodata_text(nodata: f64) -> String {
    if nodata.is_nan() {
        "nan".to_string()
    } else {
        nodata.to_string()
    }
}

/// The bytes of an IFD with `tags` (sorted by code) placed at file offset `at`: the entries, the offset of
/// the next IFD (0 for none), then the values longer than 4 bytes, each at an even offset. Its length depends
/// only on the tags' counts.
fn ifd_bytes(tags: &[Tag], at: u32, next: u32) -> Vec<u8> {
    let values_at = at as usize + 2 + 12 * tags.len() + 4;
    let mut entries = (tags.len() as u16).to_le_bytes().to_vec();
    let mut values = Vec::new();
    for (code, value) in tags {
        let bytes = value.bytes();
        entries.extend(code.to_le_bytes());
        entries.extend(value.type_code().to_le_bytes());
        entries.extend((value.count() as u32).to_le_bytes());
        if bytes.len() <= 4 {
            entries.extend(&bytes);
            entries.resize(entries.len() + 4 - bytes.len(), 0);
        } else {
            entries.extend(((values_at + values.len()) as u32).to_le_bytes());
            values.extend(&bytes);
            values.resize(values.len().next_multiple_of(2), 0);
        }
    }
    entries.extend(next.to_le_bytes());
    entries.extend(values);
    entries
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use libdeflater::Decompressor;

    use super::*;

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
        let mut file = Vec::new();
        check_input(data.len(), dtype, bands, size.0, size.1, opts).unwrap();
        write_to(&mut file, data, dtype, bands, size.0, size.1, opts).unwrap();
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
            check_input(len, DataType::U16, bands, width, height, opts)
                .unwrap_err()
                .kind()
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
