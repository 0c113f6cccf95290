//! LERC tiles (cargo feature `lerc`): optionally inflated or ZSTD-decompressed first, as GDAL's
//! LercParameters say, then decoded with Esri's LERC library. Pixels LERC marks invalid read as NaN for
//! floats and 0 for integers, as libtiff delivers them.

use std::io::Read;

use crate::dtype::DataType;

/// Decode one LERC tile of `width` x `height` pixels x `depth` samples of `dtype`; `extra` is GDAL's
/// additional compression (0 none, 1 DEFLATE, 2 ZSTD).
pub(crate) fn decode(
    data: &[u8],
    extra: u64,
    dtype: DataType,
    width: usize,
    height: usize,
    depth: usize,
) -> Result<Vec<u8>, String> {
    // A LERC blob is at most a little larger than the raw samples; more is not a tile of this size.
    let limit = (width * height * depth * dtype.size() * 2 + 4096) as u64;
    let mut inflated = Vec::new();
    let blob = match extra {
        0 => data,
        1 => {
            let decoder = flate2::read::ZlibDecoder::new(data);
            decoder
                .take(limit)
                .read_to_end(&mut inflated)
                .map_err(|e| format!("LERC DEFLATE: {e}"))?;
            &inflated[..]
        }
        2 => {
            let decoder =
                zstd::stream::read::Decoder::new(data).map_err(|e| format!("LERC ZSTD: {e}"))?;
            decoder
                .take(limit)
                .read_to_end(&mut inflated)
                .map_err(|e| format!("LERC ZSTD: {e}"))?;
            &inflated[..]
        }
        other => return Err(format!("LERC with additional compression {other}")),
    };
    let info = lerc::get_blob_info(blob).map_err(|e| format!("LERC: {e:?}"))?;
    let (w, h, dim, bands) = (
        info.width as usize,
        info.height as usize,
        info.depth as usize,
        info.bands as usize,
    );
    // Samples of a pixel are either LERC's depth (interleaved) or its bands (one after the other).
    if (w, h) != (width, height) || !(dim == depth && bands == 1 || dim == 1 && bands == depth) {
        return Err(format!(
            "LERC blob of {w} x {h} px, depth {dim}, {bands} bands in a {width} x {height} x {depth} block"
        ));
    }
    let masks = info.masks as usize;
    let pixels = width * height;
    macro_rules! run {
        ($t:ty, $invalid:expr) => {{
            let (mut values, mask) = lerc::decode::<$t>(blob, width, height, dim, bands, masks)
                .map_err(|e| format!("LERC: {e:?}"))?;
            if let Some(mask) = mask {
                // One mask for all bands, or one per band; with depth, one per pixel of all its samples.
                let per_value = |i: usize| if dim > 1 { i / dim } else if masks > 1 { i } else { i % pixels };
                for (i, v) in values.iter_mut().enumerate() {
                    if mask[per_value(i)] == 0 {
                        *v = $invalid;
                    }
                }
            }
            if bands > 1 {
                values = (0..pixels * bands).map(|i| values[(i % bands) * pixels + i / bands]).collect();
            }
            values.iter().flat_map(|v| v.to_ne_bytes()).collect()
        }};
    }
    Ok(match dtype {
        DataType::U8 => run!(u8, 0),
        DataType::I8 => run!(i8, 0),
        DataType::U16 => run!(u16, 0),
        DataType::I16 => run!(i16, 0),
        DataType::U32 => run!(u32, 0),
        DataType::I32 => run!(i32, 0),
        DataType::F32 => run!(f32, f32::NAN),
        DataType::F64 => run!(f64, f64::NAN),
        DataType::F16 | DataType::BF16 => return Err(format!("LERC: no {dtype} samples")),
    })
}
