//! One image of a TIFF (an IFD read as pixels): size, tiling, sample layout, compression and tile locations.

use bytes::Bytes;

use super::tiff::{ByteOrder, Ifd, Tiff};
use crate::dtype::DataType;
use crate::tags as tag;

/// Largest decoded tile (or strip) we allocate, in bytes; a header claiming more is refused.
pub(crate) const MAX_TILE_BYTES: u64 = 1 << 30;

/// How tiles are compressed (TIFF `Compression`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Compression {
    /// 1: stored.
    None,
    /// 5: LZW.
    Lzw,
    /// 7: JPEG (new style, with optional JPEGTables).
    Jpeg,
    /// 8 or 32946: DEFLATE (zlib stream).
    Deflate,
    /// 32773: PackBits.
    PackBits,
    /// 34887: LERC (alone, or with DEFLATE/ZSTD inside; see GDAL's LercParameters).
    Lerc,
    /// 50000: ZSTD.
    Zstd,
    /// 50001: WebP.
    Webp,
    /// Any other code: the header opens, reading pixels fails with an `Unsupported` error.
    Other(u64),
}

impl Compression {
    fn from_code(code: u64) -> Compression {
        match code {
            1 => Compression::None,
            5 => Compression::Lzw,
            7 => Compression::Jpeg,
            8 | 32946 => Compression::Deflate,
            32773 => Compression::PackBits,
            34887 => Compression::Lerc,
            50000 => Compression::Zstd,
            50001 => Compression::Webp,
            c => Compression::Other(c),
        }
    }

    /// The name GDAL uses in `COMPRESSION=` (lower case).
    pub fn name(&self) -> String {
        match self {
            Compression::None => "none".into(),
            Compression::Lzw => "lzw".into(),
            Compression::Jpeg => "jpeg".into(),
            Compression::Deflate => "deflate".into(),
            Compression::PackBits => "packbits".into(),
            Compression::Lerc => "lerc".into(),
            Compression::Zstd => "zstd".into(),
            Compression::Webp => "webp".into(),
            Compression::Other(c) => format!("tiff compression {c}"),
        }
    }
}

/// The sample layout of a pixel: 1-bit mask or a [`DataType`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Samples {
    /// 1 bit per sample, packed MSB first, rows padded to whole bytes (GDAL's internal masks).
    Bit,
    /// 16-bit IEEE floats, served as f32 (as GDAL 3.10 serves them).
    Half,
    /// Whole samples of this type.
    Typed(DataType),
}

impl Samples {
    /// The type samples are served as.
    pub(crate) fn dtype(self) -> DataType {
        match self {
            Samples::Bit => DataType::U8,
            Samples::Half => DataType::F32,
            Samples::Typed(t) => t,
        }
    }
}

/// One image of a TIFF, read from its IFD and checked for sanity.
#[derive(Debug, Clone)]
pub(crate) struct Image {
    /// Position of the image among the usable images of its file (`Cog`'s images).
    pub(crate) index: usize,
    /// Index of its IFD in the file, for errors.
    pub(crate) ifd: usize,
    /// NewSubfileType: bit 0 reduced resolution (overview), bit 2 transparency mask.
    pub(crate) subfile: u64,
    pub(crate) width: u64,
    pub(crate) height: u64,
    /// Tile width; the image width for stripped files.
    pub(crate) tile_width: u64,
    /// Tile height; rows per strip for stripped files.
    pub(crate) tile_height: u64,
    pub(crate) tiled: bool,
    pub(crate) samples_per_pixel: u64,
    /// The sample type, or `Err(reason)` for a layout we cannot serve (the header still opens).
    pub(crate) samples: Result<Samples, String>,
    pub(crate) compression: Compression,
    pub(crate) predictor: u16,
    /// Whether samples are stored band by band (PlanarConfiguration 2).
    pub(crate) planar: bool,
    pub(crate) photometric: u16,
    /// ExtraSamples values (0 unspecified, 1 associated alpha, 2 unassociated alpha).
    pub(crate) extra_samples: Vec<u64>,
    pub(crate) offsets: Vec<u64>,
    pub(crate) byte_counts: Vec<u64>,
    pub(crate) jpeg_tables: Option<Bytes>,
    /// GDAL's LercParameters: LERC version, additional compression (0 none, 1 DEFLATE, 2 ZSTD).
    #[cfg(feature = "lerc")]
    pub(crate) lerc_parameters: Vec<u64>,
    pub(crate) order: ByteOrder,
}

impl Image {
    /// Read image `index` from its IFD; `Err` holds why the IFD is not a usable image.
    /// Read the image of IFD number `index`; its position among usable images starts out the same.
    pub(crate) fn from_ifd(tiff: &Tiff, ifd: &Ifd, index: usize) -> Result<Image, String> {
        let get = |t| tiff.uint(ifd, t);
        let width = get(tag::IMAGE_WIDTH).ok_or("no ImageWidth")?;
        let height = get(tag::IMAGE_LENGTH).ok_or("no ImageLength")?;
        if width == 0 || height == 0 || width > i32::MAX as u64 || height > i32::MAX as u64 {
            return Err(format!("image size {width} x {height} out of range"));
        }
        let spp = get(tag::SAMPLES_PER_PIXEL).unwrap_or(1);
        if spp == 0 || spp > 65535 {
            return Err(format!("{spp} samples per pixel"));
        }
        let bits_all = tiff
            .uints(ifd, tag::BITS_PER_SAMPLE)
            .unwrap_or_else(|| vec![1]);
        let bits = *bits_all.first().ok_or("BitsPerSample with no values")?;
        let formats = tiff
            .uints(ifd, tag::SAMPLE_FORMAT)
            .unwrap_or_else(|| vec![1]);
        let format = formats.first().copied().unwrap_or(1);
        let samples = if bits_all.iter().any(|b| *b != bits) || formats.iter().any(|f| *f != format)
        {
            Err("bands of different bit depths or sample formats".to_string())
        } else if bits == 1 && spp == 1 {
            Ok(Samples::Bit)
        } else if (format, bits) == (3, 16) {
            Ok(Samples::Half)
        } else {
            DataType::from_tiff(format as u16, bits as u16)
                .map(Samples::Typed)
                .ok_or_else(|| format!("{bits}-bit samples of SampleFormat {format}"))
        };
        let tiled = tiff.uint(ifd, tag::TILE_WIDTH).is_some();
        let (tile_width, tile_height, offsets, byte_counts) = if tiled {
            (
                get(tag::TILE_WIDTH).ok_or("no TileWidth")?,
                get(tag::TILE_LENGTH).ok_or("no TileLength")?,
                tiff.uints(ifd, tag::TILE_OFFSETS).ok_or("no TileOffsets")?,
                tiff.uints(ifd, tag::TILE_BYTE_COUNTS)
                    .ok_or("no TileByteCounts")?,
            )
        } else {
            (
                width,
                get(tag::ROWS_PER_STRIP).unwrap_or(height).clamp(1, height),
                tiff.uints(ifd, tag::STRIP_OFFSETS)
                    .ok_or("no StripOffsets")?,
                tiff.uints(ifd, tag::STRIP_BYTE_COUNTS)
                    .ok_or("no StripByteCounts")?,
            )
        };
        if tile_width == 0 || tile_height == 0 || tile_width > 1 << 20 || tile_height > 1 << 20 {
            return Err(format!(
                "block size {tile_width} x {tile_height} out of range"
            ));
        }
        let planar = get(tag::PLANAR_CONFIGURATION).unwrap_or(1) == 2;
        let sample_bytes = bits.div_ceil(8).max(1);
        let block_bytes = [tile_height, sample_bytes, if planar { 1 } else { spp }]
            .iter()
            .try_fold(tile_width, |n, m| n.checked_mul(*m))
            .unwrap_or(u64::MAX);
        if block_bytes > MAX_TILE_BYTES {
            return Err(format!(
                "a {tile_width} x {tile_height} block of {block_bytes} bytes is too large"
            ));
        }
        let image = Image {
            index,
            ifd: index,
            subfile: get(tag::NEW_SUBFILE_TYPE).unwrap_or(0),
            width,
            height,
            tile_width,
            tile_height,
            tiled,
            samples_per_pixel: spp,
            samples,
            compression: Compression::from_code(get(tag::COMPRESSION).unwrap_or(1)),
            predictor: u16::try_from(get(tag::PREDICTOR).unwrap_or(1)).unwrap_or(u16::MAX),
            planar,
            photometric: u16::try_from(get(tag::PHOTOMETRIC_INTERPRETATION).unwrap_or(1))
                .unwrap_or(u16::MAX),
            extra_samples: tiff.uints(ifd, tag::EXTRA_SAMPLES).unwrap_or_default(),
            offsets,
            byte_counts,
            jpeg_tables: tiff.bytes(ifd, tag::JPEG_TABLES),
            #[cfg(feature = "lerc")]
            lerc_parameters: tiff.uints(ifd, tag::LERC_PARAMETERS).unwrap_or_default(),
            order: tiff.order,
        };
        let blocks = image
            .blocks_across()
            .checked_mul(image.blocks_down())
            .and_then(|n| n.checked_mul(image.planes()))
            .ok_or("block count overflows")?;
        if image.offsets.len() as u64 != blocks || image.byte_counts.len() as u64 != blocks {
            return Err(format!(
                "{} block offsets and {} byte counts for {blocks} blocks",
                image.offsets.len(),
                image.byte_counts.len()
            ));
        }
        Ok(image)
    }

    /// Blocks (tiles or strips) per row of blocks.
    pub(crate) fn blocks_across(&self) -> u64 {
        self.width.div_ceil(self.tile_width)
    }

    /// Rows of blocks.
    pub(crate) fn blocks_down(&self) -> u64 {
        self.height.div_ceil(self.tile_height)
    }

    /// Number of sample planes holding separate blocks (bands for planar images, else 1).
    pub(crate) fn planes(&self) -> u64 {
        if self.planar {
            self.samples_per_pixel
        } else {
            1
        }
    }

    /// Samples interleaved in each block pixel.
    pub(crate) fn block_samples(&self) -> u64 {
        if self.planar {
            1
        } else {
            self.samples_per_pixel
        }
    }

    /// Whether this image is an overview (reduced resolution).
    pub(crate) fn is_reduced(&self) -> bool {
        self.subfile & 1 != 0
    }

    /// Whether this image is a transparency mask.
    pub(crate) fn is_mask(&self) -> bool {
        self.subfile & 4 != 0
    }

    /// Bytes of one decoded row of a block: packed bits for 1-bit images, else whole samples (16-bit floats
    /// as stored, before widening).
    pub(crate) fn row_bytes(&self) -> usize {
        let width = self.tile_width as usize;
        let per_pixel = self.block_samples() as usize;
        match self.samples {
            Ok(Samples::Bit) => width.div_ceil(8),
            Ok(Samples::Half) => width * per_pixel * 2,
            Ok(Samples::Typed(t)) => width * per_pixel * t.size(),
            Err(_) => 0,
        }
    }

    /// Bytes of one row of a decoded block as the decoder hands it on (16-bit floats widened to f32).
    pub(crate) fn decoded_row_bytes(&self) -> usize {
        match self.samples {
            Ok(Samples::Half) => self.row_bytes() * 2,
            _ => self.row_bytes(),
        }
    }

    /// Rows actually stored in block row `row` (strips at the bottom may be shorter; tiles never are).
    pub(crate) fn block_rows(&self, row: u64) -> u64 {
        if self.tiled {
            self.tile_height
        } else {
            self.tile_height.min(self.height - row * self.tile_height)
        }
    }
}
