//! WebP tiles (GDAL writes RGB or RGBA, 8-bit, pixel-interleaved).

use std::io::Cursor;

/// Decode one WebP tile of `width` x `height` pixels with `components` (3 or 4) samples each.
pub(crate) fn decode(
    data: &[u8],
    width: usize,
    height: usize,
    components: usize,
) -> Result<Vec<u8>, String> {
    let mut decoder =
        image_webp::WebPDecoder::new(Cursor::new(data)).map_err(|e| format!("WebP: {e}"))?;
    let (w, h) = decoder.dimensions();
    let channels = if decoder.has_alpha() { 4 } else { 3 };
    if (w as usize, h as usize) != (width, height) || channels > components || components > 4 {
        return Err(format!(
            "WebP of {w} x {h} px x {channels} in a {width} x {height} x {components} block"
        ));
    }
    let mut out = vec![0u8; width * height * channels];
    decoder
        .read_image(&mut out)
        .map_err(|e| format!("WebP: {e}"))?;
    if channels == components {
        return Ok(out);
    }
    // An opaque RGBA tile may be stored without its alpha channel: alpha is 255 everywhere.
    Ok(out
        .chunks_exact(3)
        .flat_map(|p| [p[0], p[1], p[2], 255])
        .collect())
}
