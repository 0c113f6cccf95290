//! Undoing TIFF predictors on a decoded block, row by row: 2 (horizontal differencing of integers) and
//! 3 (floating point: byte planes, MSB first, differenced bytewise).

/// Undo predictor 2 in place. `block` holds native-endian samples of `size` bytes, rows of `row_samples`
/// samples, `stride` samples per pixel.
pub(crate) fn undo_horizontal(block: &mut [u8], size: usize, row_samples: usize, stride: usize) {
    macro_rules! accumulate {
        ($t:ty) => {{
            const N: usize = size_of::<$t>();
            let get = |row: &[u8], i: usize| {
                <$t>::from_ne_bytes(row[i * N..i * N + N].try_into().expect("N bytes"))
            };
            for row in block.chunks_exact_mut(row_samples * N) {
                for i in stride..row_samples {
                    let v = get(row, i).wrapping_add(get(row, i - stride));
                    row[i * N..i * N + N].copy_from_slice(&v.to_ne_bytes());
                }
            }
        }};
    }
    match size {
        1 => {
            for row in block.chunks_exact_mut(row_samples) {
                for i in stride..row.len() {
                    row[i] = row[i].wrapping_add(row[i - stride]);
                }
            }
        }
        2 => accumulate!(u16),
        4 => accumulate!(u32),
        _ => accumulate!(u64),
    }
}

/// Undo predictor 3 in place. Each row of `row_samples` samples of `size` bytes is stored as `size` byte
/// planes (most significant first), differenced bytewise with a stride of `stride` bytes; the result is in
/// native byte order.
pub(crate) fn undo_floating_point(
    block: &mut [u8],
    size: usize,
    row_samples: usize,
    stride: usize,
) {
    let row_bytes = row_samples * size;
    let mut planes = vec![0u8; row_bytes];
    for row in block.chunks_exact_mut(row_bytes) {
        for i in stride..row_bytes {
            row[i] = row[i].wrapping_add(row[i - stride]);
        }
        planes.copy_from_slice(row);
        for (sample, out) in row.chunks_exact_mut(size).enumerate() {
            for (byte, o) in out.iter_mut().enumerate() {
                // planes[k * row_samples + sample] is byte k (from the most significant) of the sample.
                let k = if cfg!(target_endian = "little") {
                    size - 1 - byte
                } else {
                    byte
                };
                *o = planes[k * row_samples + sample];
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn horizontal_undo_accumulates_per_sample_within_each_row() {
        // Two rows of 3 pixels x 2 samples (u16): differences in, absolute values out.
        let diffs: [u16; 12] = [10, 100, 1, 1, 2, 2, 5, 50, 65535, 0, 1, 1];
        let mut block: Vec<u8> = diffs.iter().flat_map(|v| v.to_ne_bytes()).collect();
        undo_horizontal(&mut block, 2, 6, 2);
        let out: Vec<u16> = block
            .chunks_exact(2)
            .map(|b| u16::from_ne_bytes([b[0], b[1]]))
            .collect();
        assert_eq!(out, [10, 100, 11, 101, 13, 103, 5, 50, 4, 50, 5, 51]);
    }

    #[test]
    fn floating_point_undo_restores_native_floats() {
        let values = [1.5f32, -2.25, 3.0e10, 0.0];
        // Encode as libtiff does: byte planes MSB first, then bytewise differencing (stride 1).
        let mut planes = vec![0u8; 16];
        for (i, v) in values.iter().enumerate() {
            for (k, b) in v.to_be_bytes().iter().enumerate() {
                planes[k * 4 + i] = *b;
            }
        }
        let mut encoded = planes.clone();
        for i in 1..16 {
            encoded[i] = planes[i].wrapping_sub(planes[i - 1]);
        }
        undo_floating_point(&mut encoded, 4, 4, 1);
        let out: Vec<f32> = encoded
            .chunks_exact(4)
            .map(|b| f32::from_ne_bytes(b.try_into().unwrap()))
            .collect();
        assert_eq!(out, values);
    }
}
