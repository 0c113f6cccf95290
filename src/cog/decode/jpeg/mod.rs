//! JPEG tiles: the shared JPEGTables merged in front of the tile's own stream, decoded as libtiff hands them
//! to GDAL: YCbCr converted to RGB, every other colour space as stored.
//!
//! The GDAL we must match (rasterio's wheels) decodes with IJG libjpeg 9 (`libjpeg.so.9`), not
//! libjpeg-turbo, at its defaults: the accurate integer IDCT (`JDCT_ISLOW`) and "fancy upsampling", which
//! since libjpeg 7 means enlarging 2:1 subsampled chroma inside the IDCT (a 16-point transform of the 8x8
//! coefficients) rather than filtering it afterwards. Baseline streams (Huffman, 8-bit: what GDAL and
//! libtiff write) go through a small decoder of our own that repeats that arithmetic, fixed-point
//! constants and rounding included, so its pixels are bit-identical to GDAL's. Other streams (progressive,
//! lossless, arithmetic-coded, 12-bit) fall back to zune-jpeg, which is within a few units but not exact.
//! A GDAL built on libjpeg-turbo would itself differ on subsampled YCbCr: it filters chroma after an 8x8 IDCT.

mod baseline;
mod color;
mod entropy;
mod idct;

use zune_jpeg::JpegDecoder;
use zune_jpeg::zune_core::colorspace::ColorSpace;
use zune_jpeg::zune_core::options::DecoderOptions;

/// Decode one JPEG tile of `width` x `height` pixels with `components` samples each; `ycbcr` when the
/// TIFF's photometric interpretation is YCbCr.
pub(crate) fn decode(
    data: &[u8],
    tables: Option<&[u8]>,
    width: usize,
    height: usize,
    components: usize,
    ycbcr: bool,
) -> Result<Vec<u8>, String> {
    let stream = match tables {
        // Tables are a complete SOI..EOI stream; the tile starts with its own SOI: join them.
        Some(t) if t.len() > 4 && data.len() > 2 => [&t[..t.len() - 2], &data[2..]].concat(),
        _ => data.to_vec(),
    };
    // A frame may be padded to whole MCUs (16 px); anything larger is not this block's.
    let max = (width + 16, height + 16);
    let (pixels, w, h, n) = match baseline::decode(&stream, ycbcr, max, components)? {
        Some(decoded) => decoded,
        None => fallback(&stream, ycbcr, max)?,
    };
    if n != components {
        return Err(format!("JPEG with {n} components for {components} samples"));
    }
    if w < width || h < height || pixels.len() != w * h * components {
        return Err(format!(
            "JPEG of {w} x {h} px in a {width} x {height} block"
        ));
    }
    if w == width {
        return Ok(pixels);
    }
    // A stream wider than the block: keep the block's columns.
    let row = width * components;
    Ok(pixels
        .chunks_exact(w * components)
        .take(height)
        .flat_map(|r| &r[..row])
        .copied()
        .collect())
}

/// Interleaved pixels of a decoded stream with its width, height and number of components.
pub(crate) type Decoded = (Vec<u8>, usize, usize, usize);

/// Decode a stream our own decoder does not handle with zune-jpeg, refusing frames larger than `max`.
fn fallback(stream: &[u8], ycbcr: bool, max: (usize, usize)) -> Result<Decoded, String> {
    let options = DecoderOptions::default()
        .set_max_width(max.0)
        .set_max_height(max.1);
    let mut decoder = JpegDecoder::new_with_options(stream, options);
    decoder
        .decode_headers()
        .map_err(|e| format!("JPEG: {e:?}"))?;
    let stored = decoder
        .get_input_colorspace()
        .ok_or("JPEG without a colorspace")?;
    let out = if ycbcr && stored == ColorSpace::YCbCr {
        ColorSpace::RGB
    } else {
        stored
    };
    decoder.set_options(options.jpeg_set_out_colorspace(out));
    let pixels = decoder.decode().map_err(|e| format!("JPEG: {e:?}"))?;
    let (w, h) = decoder.dimensions().ok_or("JPEG without dimensions")?;
    Ok((pixels, w, h, out.num_components()))
}
