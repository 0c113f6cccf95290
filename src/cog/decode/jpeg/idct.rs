//! libjpeg's accurate integer inverse DCT (`JDCT_ISLOW`), 8-point and the 16-point chroma enlargement.

/// Sign-extend the low 10 bits and clamp to a sample, as libjpeg's post-IDCT range-limit table does.
fn range_limit(x: i64) -> u8 {
    let wrapped = (((x as i32) << 22) >> 22) + 128;
    wrapped.clamp(0, 255) as u8
}

/// Bits of fraction in the IDCT's fixed-point constants (libjpeg's `CONST_BITS`).
const CONST_BITS: u32 = 13;

/// Extra bits of precision kept between the two IDCT passes (libjpeg's `PASS1_BITS`).
const PASS1_BITS: u32 = 2;

/// `x` in `CONST_BITS` fixed point, rounded.
fn fix(x: f64) -> i64 {
    (x * f64::from(1u32 << CONST_BITS) + 0.5) as i64
}

/// Round-half-up right shift.
fn descale(x: i64, n: u32) -> i64 {
    (x + (1 << (n - 1))) >> n
}

/// libjpeg's 8-point accurate integer IDCT kernel (the `JDCT_ISLOW` butterfly of jidctint.c, scaled by
/// 2^`CONST_BITS`); outputs 8..16 stay 0.
fn kernel8(s: [i64; 8]) -> [i64; 16] {
    let z1 = (s[2] + s[6]) * fix(0.541196100);
    let tmp2 = z1 - s[6] * fix(1.847759065);
    let tmp3 = z1 + s[2] * fix(0.765366865);
    let tmp0 = (s[0] + s[4]) << CONST_BITS;
    let tmp1 = (s[0] - s[4]) << CONST_BITS;
    let (tmp10, tmp13, tmp11, tmp12) = (tmp0 + tmp3, tmp0 - tmp3, tmp1 + tmp2, tmp1 - tmp2);
    let (o0, o1, o2, o3) = (s[7], s[5], s[3], s[1]);
    let z5 = (o0 + o1 + o2 + o3) * fix(1.175875602);
    let z1 = (o0 + o3) * -fix(0.899976223);
    let z2 = (o1 + o2) * -fix(2.562915447);
    let z3 = (o0 + o2) * -fix(1.961570560) + z5;
    let z4 = (o1 + o3) * -fix(0.390180644) + z5;
    let t0 = o0 * fix(0.298631336) + z1 + z3;
    let t1 = o1 * fix(2.053119869) + z2 + z4;
    let t2 = o2 * fix(3.072711026) + z2 + z3;
    let t3 = o3 * fix(1.501321110) + z1 + z4;
    let mut out = [0; 16];
    out[..8].copy_from_slice(&[
        tmp10 + t3,
        tmp11 + t2,
        tmp12 + t1,
        tmp13 + t0,
        tmp13 - t0,
        tmp12 - t1,
        tmp11 - t2,
        tmp10 - t3,
    ]);
    out
}

/// libjpeg 7+'s 16-point IDCT kernel from 8 coefficients (jidctint.c's 16x16, 16x8 and 8x16 transforms,
/// the chroma enlargement that stands in for fancy upsampling), scaled by 2^`CONST_BITS`; the rounding
/// of each constant is part of the result, so the factorization is libjpeg's own.
fn kernel16(s: [i64; 8]) -> [i64; 16] {
    // Even part: the coefficients 0, 2, 4 and 6.
    let dc = s[0] << CONST_BITS;
    let (a, b) = (s[4] * fix(1.306562965), s[4] * fix(0.541196100));
    let (tmp10, tmp11, tmp12, tmp13) = (dc + a, dc - a, dc + b, dc - b);
    let (z1, z2) = (s[2], s[6]);
    let z4 = (z1 - z2) * fix(0.275899379);
    let z3 = (z1 - z2) * fix(1.387039845);
    let t0 = z3 + z2 * fix(2.562915447);
    let t1 = z4 + z1 * fix(0.899976223);
    let t2 = z3 - z1 * fix(0.601344887);
    let t3 = z4 - z2 * fix(0.509795579);
    let even = [
        tmp10 + t0,
        tmp12 + t1,
        tmp13 + t2,
        tmp11 + t3,
        tmp11 - t3,
        tmp13 - t2,
        tmp12 - t1,
        tmp10 - t0,
    ];
    // Odd part: the coefficients 1, 3, 5 and 7.
    let (z1, mut z2, z3, z4) = (s[1], s[3], s[5], s[7]);
    let mut tmp11 = z1 + z3;
    let mut tmp1 = (z1 + z2) * fix(1.353318001);
    let mut tmp2 = tmp11 * fix(1.247225013);
    let mut tmp3 = (z1 + z4) * fix(1.093201867);
    let mut tmp10 = (z1 - z4) * fix(0.897167586);
    tmp11 *= fix(0.666655658);
    let mut tmp12 = (z1 - z2) * fix(0.410524528);
    let tmp0 = tmp1 + tmp2 + tmp3 - z1 * fix(2.286341144);
    let tmp13 = tmp10 + tmp11 + tmp12 - z1 * fix(1.835730603);
    let w = (z2 + z3) * fix(0.138617169);
    tmp1 += w + z2 * fix(0.071888074);
    tmp2 += w - z3 * fix(1.125726048);
    let w = (z3 - z2) * fix(1.407403738);
    tmp11 += w - z3 * fix(0.766367282);
    tmp12 += w + z2 * fix(1.971951411);
    z2 += z4;
    let w = z2 * -fix(0.666655658);
    tmp1 += w;
    tmp3 += w + z4 * fix(1.065388962);
    let w = z2 * -fix(1.247225013);
    tmp10 += w + z4 * fix(3.141271809);
    tmp12 += w;
    let w = (z3 + z4) * -fix(1.353318001);
    tmp2 += w;
    tmp3 += w;
    let w = (z4 - z3) * fix(0.410524528);
    tmp10 += w;
    tmp11 += w;
    let odd = [tmp0, tmp1, tmp2, tmp3, tmp10, tmp11, tmp12, tmp13];
    let mut out = [0; 16];
    for n in 0..8 {
        out[n] = even[n] + odd[n];
        out[15 - n] = even[n] - odd[n];
    }
    out
}

/// libjpeg's accurate integer inverse DCT (`JDCT_ISLOW`) of one block into `w` x `h` samples (8 or 16
/// each way) of `out`, rows `stride` apart: columns first into a work array carrying `PASS1_BITS` extra
/// bits, then rows, each pass rounding once at its end.
pub(super) fn idct_islow(
    coefs: &[i16; 64],
    quant: &[u16; 64],
    (w, h): (usize, usize),
    out: &mut [u8],
    stride: usize,
) {
    // Both kernels turn an input whose only non-zero term is the first into that term << CONST_BITS
    // everywhere, which the shortcut gives without the multiplications.
    let kernel = |s: [i64; 8], n: usize| {
        if s[1..].iter().all(|&v| v == 0) {
            [s[0] << CONST_BITS; 16]
        } else if n == 16 {
            kernel16(s)
        } else {
            kernel8(s)
        }
    };
    let mut work = [[0i64; 8]; 16];
    for col in 0..8 {
        let s =
            std::array::from_fn(|r| i64::from(coefs[r * 8 + col]) * i64::from(quant[r * 8 + col]));
        for (row, v) in work.iter_mut().zip(kernel(s, h)).take(h) {
            row[col] = descale(v, CONST_BITS - PASS1_BITS);
        }
    }
    for (row, dst) in work.iter().take(h).zip(out.chunks_mut(stride)) {
        for (d, v) in dst.iter_mut().zip(kernel(*row, w)).take(w) {
            *d = range_limit(descale(v, CONST_BITS + PASS1_BITS + 3));
        }
    }
}
