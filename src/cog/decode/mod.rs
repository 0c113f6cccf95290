//! Decoding one block (tile or strip) into native-endian samples: decompress, fix the byte order, undo the
//! predictor. Decoders from other crates run under `catch_unwind`, so a hostile tile is an error, not a crash.

mod codecs;
mod jpeg;
#[cfg(feature = "lerc")]
mod lerc;
mod predictor;
mod webp;

use super::image::{Compression, Image, Samples};
use crate::dtype::DataType;

/// Why `image`'s blocks cannot be decoded by geochips, or `Ok` if they can.
pub(crate) fn check_supported(image: &Image) -> Result<Samples, String> {
    let samples = image.samples.clone()?;
    match (image.compression, samples) {
        (Compression::Lerc, _) if !cfg!(feature = "lerc") => {
            return Err("LERC compression (geochips built without its `lerc` feature)".into());
        }
        (Compression::Lerc, Samples::Bit | Samples::Half) => {
            return Err("LERC with 1-bit or 16-bit float samples".into());
        }
        (Compression::Other(c), _) => return Err(format!("TIFF compression {c}")),
        (Compression::Jpeg | Compression::Webp, s) if s != Samples::Typed(DataType::U8) => {
            return Err(format!(
                "{} with samples other than 8-bit",
                image.compression.name()
            ));
        }
        (Compression::Webp, _) if image.planar => return Err("WebP with band interleaving".into()),
        _ => {}
    }
    match predictor(image) {
        1 => {}
        2 if samples != Samples::Bit => {}
        3 if samples == Samples::Half || samples.dtype().is_float() => {}
        p => return Err(format!("predictor {p} on {samples:?} samples")),
    }
    Ok(samples)
}

/// The predictor in effect: libtiff applies the Predictor tag only to LZW, DEFLATE and ZSTD blocks.
fn predictor(image: &Image) -> u16 {
    match image.compression {
        Compression::Lzw | Compression::Deflate | Compression::Zstd => image.predictor,
        _ => 1,
    }
}

/// Decode the top `needed` rows (at least) of a block in block row `row` of `image` from its stored bytes.
///
/// Returns the block's samples, native-endian, `tile_width` per row (strips: the image width), interleaved
/// as stored; 16-bit floats widened to f32; or 1-bit rows padded to whole bytes for masks. Codecs that can
/// stop early (none, DEFLATE, LZW, PackBits) stop after `needed` rows; the others give every row stored
/// ([`Image::block_rows`]).
/// `out` is a buffer to decode into (any contents; its allocation is reused where the codec allows).
pub(crate) fn decode_block(
    image: &Image,
    row: u64,
    needed: u64,
    data: &[u8],
    out: Vec<u8>,
) -> Result<Vec<u8>, String> {
    std::panic::catch_unwind(|| decode_unguarded(image, row, needed, data, out))
        .unwrap_or_else(|_| Err(format!("{} decoder panicked", image.compression.name())))
}

fn decode_unguarded(
    image: &Image,
    row: u64,
    needed: u64,
    data: &[u8],
    out: Vec<u8>,
) -> Result<Vec<u8>, String> {
    let samples = check_supported(image)?;
    let width = image.tile_width as usize;
    let rows = image.block_rows(row) as usize;
    let per_pixel = image.block_samples() as usize;
    let size = match samples {
        Samples::Bit => 1,
        Samples::Half => 2,
        Samples::Typed(t) => t.size(),
    };
    let row_bytes = image.row_bytes();
    let (len, keep) = (
        row_bytes * rows,
        row_bytes * (needed as usize).clamp(1, rows),
    );
    let mut block = match image.compression {
        Compression::None if data.len() >= keep => {
            let mut out = out;
            out.clear();
            out.extend_from_slice(&data[..keep]);
            out
        }
        Compression::None => {
            return Err(format!(
                "{} stored bytes for a {len}-byte block",
                data.len()
            ));
        }
        Compression::Deflate => codecs::inflate(data, len, keep, out)?,
        Compression::Lzw => codecs::lzw(data, keep, out)?,
        Compression::Zstd => codecs::zstd(data, len, out)?,
        Compression::PackBits => codecs::packbits(data, keep, out)?,
        Compression::Jpeg => {
            let ycbcr = image.photometric == 6;
            return jpeg::decode(
                data,
                image.jpeg_tables.as_deref(),
                width,
                rows,
                per_pixel,
                ycbcr,
            );
        }
        Compression::Webp => return webp::decode(data, width, rows, per_pixel),
        #[cfg(feature = "lerc")]
        Compression::Lerc => {
            let extra = image.lerc_parameters.get(1).copied().unwrap_or(0);
            return lerc::decode(data, extra, samples.dtype(), width, rows, per_pixel);
        }
        _ => unreachable!("refused by check_supported"),
    };
    let row_samples = width * per_pixel;
    match predictor(image) {
        3 => predictor::undo_floating_point(&mut block, size, row_samples, per_pixel),
        p => {
            if size > 1 && !image.order.is_native() {
                block.chunks_exact_mut(size).for_each(|s| s.reverse());
            }
            if p == 2 {
                predictor::undo_horizontal(&mut block, size, row_samples, per_pixel);
            }
        }
    }
    if samples == Samples::Half {
        return Ok(block
            .chunks_exact(2)
            .flat_map(|h| {
                half::f16::from_ne_bytes([h[0], h[1]])
                    .to_f32()
                    .to_ne_bytes()
            })
            .collect());
    }
    Ok(block)
}
