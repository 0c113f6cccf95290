//! The TIFF header and IFDs of a COG: tags of each image, geo tags and keys, nodata, IFD bytes.

use std::io;

use super::tiles::TileFormat;
use super::{CogOptions, Compression};
use crate::dtype::DataType;
use crate::tags as tag;

/// The values of one tag, typed as TIFF types them.
pub(super) enum Value {
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
pub(super) type Tag = (u16, Value);

/// The file's header: the TIFF header and every IFD, each followed by its out-of-line tag values.
/// `sizes[i]` is the (width, height) of image `i` (full resolution first, then the overviews) and
/// `tile_lens[i]` the byte lengths of its encoded tiles in row-major order, stored after the header in
/// reverse image order.
pub(super) fn header(
    sizes: &[(usize, usize)],
    tile_lens: &[Vec<usize>],
    format: &TileFormat,
    opts: &CogOptions,
) -> io::Result<Vec<u8>> {
    let ifds = |offsets: &[Vec<u32>]| -> Vec<Vec<Tag>> {
        let mut ifds: Vec<_> = (sizes.iter().zip(tile_lens).zip(offsets))
            .enumerate()
            .map(|(i, ((&size, lens), offsets))| image_tags(size, i > 0, lens, offsets, format))
            .collect();
        ifds[0].extend(geo_tags(opts));
        for ifd in &mut ifds {
            ifd.sort_by_key(|(code, _)| *code);
        }
        ifds
    };
    // An IFD's length does not depend on the offsets it holds: lay out with zeros, then fill them in.
    let zeros: Vec<Vec<u32>> = tile_lens.iter().map(|lens| vec![0; lens.len()]).collect();
    let lens: Vec<usize> = ifds(&zeros)
        .iter()
        .map(|ifd| ifd_bytes(ifd, 0, 0).len())
        .collect();
    let mut end = 8 + lens.iter().sum::<usize>();
    let mut offsets = vec![Vec::new(); sizes.len()];
    for (i, lens) in tile_lens.iter().enumerate().rev() {
        for len in lens {
            offsets[i].push(file_offset(end)?);
            end += len;
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
pub(super) fn file_offset(offset: usize) -> io::Result<u32> {
    u32::try_from(offset).map_err(|_| {
        io::Error::new(
            io::ErrorKind::FileTooLarge,
            "the COG would pass the 4 GiB of a classic TIFF (BigTIFF is not written)",
        )
    })
}

/// The tags of one image's IFD, unsorted: size, sample layout, tiling and compression. `tile_lens` are the
/// byte lengths of its encoded tiles.
pub(super) fn image_tags(
    (width, height): (usize, usize),
    overview: bool,
    tile_lens: &[usize],
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
    let byte_counts = tile_lens.iter().map(|&len| len as u32).collect();
    let mut tags = vec![
        (
            tag::NEW_SUBFILE_TYPE,
            Value::Long(vec![u32::from(overview)]),
        ),
        (tag::IMAGE_WIDTH, Value::Long(vec![width as u32])),
        (tag::IMAGE_LENGTH, Value::Long(vec![height as u32])),
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
pub(super) fn tiff_sample(dtype: DataType) -> (u16, u16) {
    let format = match dtype {
        DataType::U8 | DataType::U16 | DataType::U32 => 1,
        DataType::I8 | DataType::I16 | DataType::I32 => 2,
        DataType::F32 | DataType::F64 | DataType::F16 | DataType::BF16 => 3,
    };
    (dtype.size() as u16 * 8, format)
}

/// The GeoTIFF tags of the full-resolution image: its grid, its CRS where known, and GDAL's nodata tag.
pub(super) fn geo_tags(opts: &CogOptions) -> Vec<Tag> {
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
pub(super) fn geo_keys(epsg: u16) -> Vec<u16> {
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
pub(super) fn nodata_text(nodata: f64) -> String {
    if nodata.is_nan() {
        "nan".to_string()
    } else {
        nodata.to_string()
    }
}

/// The bytes of an IFD with `tags` (sorted by code) placed at file offset `at`: the entries, the offset of
/// the next IFD (0 for none), then the values longer than 4 bytes, each at an even offset. Its length depends
/// only on the tags' counts.
pub(super) fn ifd_bytes(tags: &[Tag], at: u32, next: u32) -> Vec<u8> {
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
