//! Undoing TIFF predictors on a decoded block, row by row: 2 (horizontal differencing of integers) and
//! 3 (floating point: byte planes, MSB first, differenced bytewise).

/// Undo predictor 2 in place. `block` holds native-endian samples of `size` bytes, rows of `row_samples`
/// samples, `stride` samples per pixel.
pub(crate) fn undo_horizontal(block: &mut [u8], size: usize, row_samples: usize, stride: usize) {
    match size {
        1 => rows::<u8>(block, row_samples, stride),
        2 => rows::<u16>(block, row_samples, stride),
        4 => rows::<u32>(block, row_samples, stride),
        _ => rows::<u64>(block, row_samples, stride),
    }
}

/// [`undo_horizontal`] on samples of type `T`. The running sums of a pixel's samples live in an array whose
/// length the compiler knows for up to 8 samples per pixel, so they stay in registers.
fn rows<T: Sum>(block: &mut [u8], row_samples: usize, stride: usize) {
    let rows = block.chunks_exact_mut(row_samples * size_of::<T>());
    macro_rules! strides {
        ($($s:literal)*) => {
            match stride {
                $($s => rows.for_each(|row| undo_row(row, &mut [T::ZERO; $s])),)*
                _ => rows.for_each(|row| undo_row(row, &mut vec![T::ZERO; stride])),
            }
        };
    }
    strides!(1 2 3 4 5 6 7 8);
}

/// Undo predictor 2 on one row, pixel by pixel: each sample becomes the running sum (`sums`, one per sample
/// of a pixel, all zero to begin with) of its own and the earlier pixels' samples.
#[inline(always)]
fn undo_row<T: Sum>(row: &mut [u8], sums: &mut [T]) {
    let n = size_of::<T>();
    for pixel in row.chunks_exact_mut(size_of_val(sums)) {
        for (sum, sample) in sums.iter_mut().zip(pixel.chunks_exact_mut(n)) {
            *sum = sum.plus(sample);
            sum.store(sample);
        }
    }
}

/// An integer sample type predictor 2 sums, with wrapping.
trait Sum: Copy {
    const ZERO: Self;
    /// `self` plus the native-endian sample `bytes`, wrapping.
    fn plus(self, bytes: &[u8]) -> Self;
    /// Write `self` into `bytes`, native-endian.
    fn store(self, bytes: &mut [u8]);
}

macro_rules! sum {
    ($($t:ty),*) => {
        $(impl Sum for $t {
            const ZERO: Self = 0;
            fn plus(self, bytes: &[u8]) -> Self {
                let bytes: [u8; size_of::<$t>()] = bytes.try_into().expect("one sample");
                self.wrapping_add(<$t>::from_ne_bytes(bytes))
            }
            fn store(self, bytes: &mut [u8]) {
                bytes.copy_from_slice(&self.to_ne_bytes());
            }
        })*
    };
}
sum!(u8, u16, u32, u64);

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
    fn horizontal_undo_matches_a_plain_running_sum_for_every_size_and_stride() {
        for size in [1, 2, 4, 8] {
            for stride in [1, 3, 4, 8, 9, 11] {
                let row_samples = stride * 7;
                let diffs: Vec<u8> = (0..2 * row_samples * size)
                    .map(|i| (i * 37 % 251) as u8)
                    .collect();
                let mut block = diffs.clone();
                undo_horizontal(&mut block, size, row_samples, stride);
                let value = |b: &[u8], i: usize| {
                    let mut v = [0u8; 8];
                    v[..size].copy_from_slice(&b[i * size..][..size]);
                    u64::from_ne_bytes(v)
                };
                let mask = if size == 8 {
                    u64::MAX
                } else {
                    (1 << (8 * size)) - 1
                };
                for i in 0..2 * row_samples {
                    let x = i % row_samples;
                    let expected = (x % stride..=x)
                        .step_by(stride)
                        .fold(0u64, |a, j| a.wrapping_add(value(&diffs, i - x + j)))
                        & mask;
                    assert_eq!(
                        value(&block, i),
                        expected,
                        "size {size}, stride {stride}, sample {i}"
                    );
                }
            }
        }
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
