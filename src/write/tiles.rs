//! Cutting an image into tiles and encoding them: padding, predictor, byte order, DEFLATE.

use std::io;
use std::num::NonZero;
use std::thread;

use libdeflater::{CompressionLvl, Compressor};

use super::pyramid::Image;
use super::{CogOptions, Compression};
use crate::dtype::DataType;

/// How the images of one file are cut into tiles and encoded.
#[derive(Debug)]
pub(super) struct TileFormat {
    pub(super) dtype: DataType,
    pub(super) bands: usize,
    /// Side of a tile, in pixels.
    pub(super) size: usize,
    /// One native-endian sample of the padding value.
    pub(super) fill: Vec<u8>,
    /// Whether tiles are horizontally differenced (Predictor=2).
    pub(super) predictor: bool,
    pub(super) compression: Compression,
}

impl TileFormat {
    pub(super) fn new(dtype: DataType, bands: usize, opts: &CogOptions) -> TileFormat {
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
    pub(super) fn encode_image(&self, image: &Image<'_>) -> io::Result<Vec<Vec<u8>>> {
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
    pub(super) fn raw_tile(&self, image: &Image<'_>, tile_row: usize, tile_col: usize) -> Vec<u8> {
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
pub(super) fn difference_rows(tile: &mut [u8], dtype: DataType, row_samples: usize, bands: usize) {
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
        DataType::F32 | DataType::F64 | DataType::F16 | DataType::BF16 => {}
    }
}

/// Native-endian samples of `sample` bytes to little-endian, in place.
pub(super) fn to_little_endian(buf: &mut [u8], sample: usize) {
    if cfg!(target_endian = "big") {
        buf.chunks_exact_mut(sample).for_each(<[u8]>::reverse);
    }
}
