//! JPEG tiles: the shared JPEGTables merged in front of the tile's own stream, decoded as libtiff hands them
//! to GDAL: YCbCr converted to RGB, every other colour space as stored.
//!
//! Not bit-exact with libjpeg-turbo: RGB (untransformed) tiles differ by at most 1 (IDCT rounding), YCbCr
//! tiles by more (chroma upsampling); the conformance tests state both tolerances.

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
    let options = DecoderOptions::default()
        .set_max_width(1 << 16)
        .set_max_height(1 << 16);
    let mut decoder = JpegDecoder::new_with_options(stream.as_slice(), options);
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
    if out.num_components() != components {
        return Err(format!(
            "JPEG with {} components for {components} samples",
            out.num_components()
        ));
    }
    decoder.set_options(options.jpeg_set_out_colorspace(out));
    let pixels = decoder.decode().map_err(|e| format!("JPEG: {e:?}"))?;
    let (w, h) = decoder.dimensions().ok_or("JPEG without dimensions")?;
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
