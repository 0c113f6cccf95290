//! YCbCr to RGB as libjpeg 9 converts it.

/// libjpeg 9's YCbCr->RGB conversion (jdcolor.c): 16-bit fixed-point factors, rounded into per-value
/// tables, the green term shifted after summing its two products; `planes` are Y, Cb and Cr. libjpeg 9
/// takes the green factors to nine places (libjpeg-turbo's 0.34414 rounds one bit differently).
pub(super) fn ycc_to_rgb(planes: &[Vec<u8>], out: &mut [u8]) {
    const SCALEBITS: u32 = 16;
    const ONE_HALF: i64 = 1 << (SCALEBITS - 1);
    /// `x` in 16-bit fixed point, rounded.
    fn fix16(x: f64) -> i64 {
        (x * f64::from(1u32 << SCALEBITS) + 0.5) as i64
    }
    let centred = |i: usize| i as i64 - 128;
    let cr_r: Vec<i64> = (0..256)
        .map(|i| (fix16(1.402) * centred(i) + ONE_HALF) >> SCALEBITS)
        .collect();
    let cb_b: Vec<i64> = (0..256)
        .map(|i| (fix16(1.772) * centred(i) + ONE_HALF) >> SCALEBITS)
        .collect();
    let cr_g: Vec<i64> = (0..256).map(|i| -fix16(0.714136286) * centred(i)).collect();
    let cb_g: Vec<i64> = (0..256)
        .map(|i| -fix16(0.344136286) * centred(i) + ONE_HALF)
        .collect();
    let clamp = |v: i64| v.clamp(0, 255) as u8;
    for (i, px) in out.chunks_exact_mut(3).enumerate() {
        let y = i64::from(planes[0][i]);
        let (cb, cr) = (usize::from(planes[1][i]), usize::from(planes[2][i]));
        px[0] = clamp(y + cr_r[cr]);
        px[1] = clamp(y + ((cb_g[cb] + cr_g[cr]) >> SCALEBITS));
        px[2] = clamp(y + cb_b[cb]);
    }
}
