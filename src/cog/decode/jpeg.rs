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
    let (pixels, w, h, n) = match baseline(&stream, ycbcr)? {
        Some(decoded) => decoded,
        None => fallback(&stream, ycbcr)?,
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
type Decoded = (Vec<u8>, usize, usize, usize);

/// Decode a stream our own decoder does not handle with zune-jpeg.
fn fallback(stream: &[u8], ycbcr: bool) -> Result<Decoded, String> {
    let options = DecoderOptions::default()
        .set_max_width(1 << 16)
        .set_max_height(1 << 16);
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

/// Zigzag position -> natural (row-major) position of the 64 coefficients of a block.
const NATURAL: [usize; 64] = [
    0, 1, 8, 16, 9, 2, 3, 10, 17, 24, 32, 25, 18, 11, 4, 5, 12, 19, 26, 33, 40, 48, 41, 34, 27, 20,
    13, 6, 7, 14, 21, 28, 35, 42, 49, 56, 57, 50, 43, 36, 29, 22, 15, 23, 30, 37, 44, 51, 58, 59,
    52, 45, 38, 31, 39, 46, 53, 60, 61, 54, 47, 55, 62, 63,
];

/// Bits of a code resolved by one look-up in [`Huffman::fast`].
const FAST_BITS: u32 = 9;

/// A Huffman table: a direct look-up for short codes, canonical-code limits for the longer ones.
#[derive(Clone)]
struct Huffman {
    /// For each `FAST_BITS`-bit prefix: (code length, symbol), length 0 when the code is longer.
    fast: Vec<(u8, u8)>,
    /// Largest code of each length 1..=16 (index = length), -1 when there is none.
    max_code: [i32; 17],
    /// Per length: index into `symbols` of its first code minus that code's value.
    offset: [i32; 17],
    /// The symbols in code order.
    symbols: Vec<u8>,
}

impl Huffman {
    /// Build a table from the 16 code-length counts and the symbols of a DHT segment.
    fn new(counts: &[u8], symbols: &[u8]) -> Huffman {
        let mut fast = vec![(0u8, 0u8); 1 << FAST_BITS];
        let mut max_code = [-1i32; 17];
        let mut offset = [0i32; 17];
        let (mut code, mut k) = (0i32, 0usize);
        for len in 1..=16 {
            let count = usize::from(counts[len - 1]);
            offset[len] = k as i32 - code;
            for _ in 0..count {
                let shift = FAST_BITS.saturating_sub(len as u32);
                let first = (code as usize) << shift;
                if len as u32 <= FAST_BITS && first + (1 << shift) <= fast.len() {
                    for entry in &mut fast[first..first + (1 << shift)] {
                        *entry = (len as u8, symbols[k]);
                    }
                }
                code += 1;
                k += 1;
            }
            if count > 0 {
                max_code[len] = code - 1;
            }
            code <<= 1;
        }
        Huffman {
            fast,
            max_code,
            offset,
            symbols: symbols.to_vec(),
        }
    }

    /// Read one symbol; a code that is not in the table reads as 0, as libjpeg does.
    fn decode(&self, bits: &mut Bits) -> u8 {
        let (len, symbol) = self.fast[bits.peek(FAST_BITS) as usize];
        if len > 0 {
            bits.skip(u32::from(len));
            return symbol;
        }
        let word = bits.peek(16) as i32;
        for len in FAST_BITS as usize + 1..=16 {
            let code = word >> (16 - len);
            if code <= self.max_code[len] {
                bits.skip(len as u32);
                let index = (code + self.offset[len]) as usize;
                return self.symbols.get(index).copied().unwrap_or(0);
            }
        }
        bits.skip(16);
        0
    }
}

/// The entropy-coded bit stream of a scan: byte stuffing removed, zeros once a marker is reached.
struct Bits<'a> {
    /// The whole stream.
    data: &'a [u8],
    /// Next byte to read.
    pos: usize,
    /// Buffered bits, the next one in the most significant place.
    acc: u64,
    /// How many bits of `acc` are buffered.
    count: u32,
}

impl Bits<'_> {
    /// Buffer at least 57 bits, padding with zeros at a marker or the end of the data.
    fn fill(&mut self) {
        while self.count <= 56 {
            let mut byte = 0;
            if let Some(&b) = self.data.get(self.pos) {
                if b != 0xFF {
                    byte = b;
                    self.pos += 1;
                } else if self.data.get(self.pos + 1) == Some(&0) {
                    byte = 0xFF;
                    self.pos += 2;
                }
            }
            self.acc |= u64::from(byte) << (56 - self.count);
            self.count += 8;
        }
    }

    /// The next `n` (at most 16) bits, not consumed.
    fn peek(&mut self, n: u32) -> u32 {
        if self.count < n {
            self.fill();
        }
        (self.acc >> (64 - n)) as u32
    }

    /// Consume `n` bits already peeked at.
    fn skip(&mut self, n: u32) {
        self.acc <<= n;
        self.count -= n;
    }

    /// A coefficient of `n` bits (JPEG's "receive and extend"); 0 bits read as 0.
    fn value(&mut self, n: u32) -> i32 {
        if n == 0 {
            return 0;
        }
        let v = self.peek(n) as i32;
        self.skip(n);
        if v < 1 << (n - 1) {
            v - (1 << n) + 1
        } else {
            v
        }
    }

    /// Drop the buffered bits and step over the restart marker that should come next.
    fn restart(&mut self) {
        self.acc = 0;
        self.count = 0;
        while self.pos + 1 < self.data.len() {
            let marker =
                self.data[self.pos] == 0xFF && (0xD0..=0xD7).contains(&self.data[self.pos + 1]);
            self.pos += if marker { 2 } else { 1 };
            if marker {
                return;
            }
        }
    }
}

/// One component of the frame and the samples decoded for it so far.
struct Component {
    /// Identifier that scans refer to.
    id: u8,
    /// Horizontal sampling factor.
    h: usize,
    /// Vertical sampling factor.
    v: usize,
    /// Quantization table selector.
    tq: usize,
    /// Width in samples of `plane`, whole blocks of whole MCUs.
    stride: usize,
    /// Sample rows, `stride` samples each.
    plane: Vec<u8>,
    /// Blocks across and down the component on its own, as a scan of it alone codes them.
    blocks: (usize, usize),
    /// Width and height of the samples each block is transformed into: 8, or 16 where the component is
    /// subsampled 2:1 or more in that direction (libjpeg's `DCT_h/v_scaled_size`).
    scaled: (usize, usize),
}

/// Decode a baseline stream; `None` when it is of a kind we leave to zune-jpeg.
fn baseline(stream: &[u8], ycbcr: bool) -> Result<Option<Decoded>, String> {
    let err = |what: &str| Err(format!("JPEG: {what}"));
    let mut quant = [[0u16; 64]; 4];
    let mut dc_tables: [Option<Huffman>; 4] = Default::default();
    let mut ac_tables: [Option<Huffman>; 4] = Default::default();
    let mut restart_interval = 0usize;
    let mut frame: Option<(usize, usize, Vec<Component>)> = None;
    let mut pos = 0;
    loop {
        // Find the next marker.
        while pos + 1 < stream.len()
            && (stream[pos] != 0xFF || matches!(stream[pos + 1], 0x00 | 0xFF))
        {
            pos += 1;
        }
        if pos + 1 >= stream.len() {
            break;
        }
        let marker = stream[pos + 1];
        pos += 2;
        if matches!(marker, 0xD0..=0xD8 | 0x01) {
            continue;
        }
        if marker == 0xD9 {
            break;
        }
        let Some(len) = stream
            .get(pos..pos + 2)
            .map(|b| usize::from(u16::from_be_bytes([b[0], b[1]])))
        else {
            return err("truncated segment");
        };
        let Some(segment) = stream.get(pos + 2..pos + len.max(2)) else {
            return err("truncated segment");
        };
        pos += len.max(2);
        match marker {
            0xC0 | 0xC1 => {
                if segment.len() < 6 || segment[0] != 8 {
                    return Ok(None);
                }
                let height = usize::from(u16::from_be_bytes([segment[1], segment[2]]));
                let width = usize::from(u16::from_be_bytes([segment[3], segment[4]]));
                let n = usize::from(segment[5]);
                if width == 0 || height == 0 || n == 0 || segment.len() < 6 + 3 * n {
                    return err("bad frame header");
                }
                let mut comps = Vec::with_capacity(n);
                for c in segment[6..6 + 3 * n].chunks_exact(3) {
                    let (h, v) = (usize::from(c[1] >> 4), usize::from(c[1] & 15));
                    if !(1..=4).contains(&h) || !(1..=4).contains(&v) || c[2] > 3 {
                        return err("bad sampling factors");
                    }
                    comps.push(Component {
                        id: c[0],
                        h,
                        v,
                        tq: usize::from(c[2]),
                        stride: 0,
                        plane: Vec::new(),
                        blocks: (0, 0),
                        scaled: (8, 8),
                    });
                }
                let hmax = comps.iter().map(|c| c.h).max().unwrap_or(1);
                let vmax = comps.iter().map(|c| c.v).max().unwrap_or(1);
                let (mcux, mcuy) = (width.div_ceil(8 * hmax), height.div_ceil(8 * vmax));
                for c in &mut comps {
                    if !hmax.is_multiple_of(c.h) || !vmax.is_multiple_of(c.v) {
                        return Ok(None);
                    }
                    // libjpeg 7+ with fancy upsampling: chroma is enlarged by a 16-point IDCT, not filtered.
                    let scale =
                        |max: usize, f: usize| if max.is_multiple_of(2 * f) { 16 } else { 8 };
                    c.scaled = (scale(hmax, c.h), scale(vmax, c.v));
                    c.stride = mcux * c.h * c.scaled.0;
                    c.plane = vec![0; c.stride * mcuy * c.v * c.scaled.1];
                    c.blocks = (
                        (width * c.h).div_ceil(hmax).div_ceil(8),
                        (height * c.v).div_ceil(vmax).div_ceil(8),
                    );
                }
                frame = Some((width, height, comps));
            }
            0xC2 | 0xC3 | 0xC5..=0xC7 | 0xC9..=0xCB | 0xCD..=0xCF => return Ok(None),
            0xC4 => {
                let mut s = segment;
                while s.len() >= 17 {
                    let counts = &s[1..17];
                    let total: usize = counts.iter().map(|&c| usize::from(c)).sum();
                    let (class, slot) = (s[0] >> 4, usize::from(s[0] & 3));
                    let Some(symbols) = s.get(17..17 + total) else {
                        return err("truncated Huffman table");
                    };
                    let table = Some(Huffman::new(counts, symbols));
                    if class == 0 {
                        dc_tables[slot] = table;
                    } else {
                        ac_tables[slot] = table;
                    }
                    s = &s[17 + total..];
                }
            }
            0xDB => {
                let mut s = segment;
                while let Some(&pq) = s.first() {
                    let wide = pq >> 4 != 0;
                    let size = if wide { 128 } else { 64 };
                    let Some(values) = s.get(1..1 + size) else {
                        return err("truncated quantization table");
                    };
                    let table = &mut quant[usize::from(pq & 3)];
                    for (k, &natural) in NATURAL.iter().enumerate() {
                        table[natural] = if wide {
                            u16::from_be_bytes([values[2 * k], values[2 * k + 1]])
                        } else {
                            u16::from(values[k])
                        };
                    }
                    s = &s[1 + size..];
                }
            }
            0xDD if segment.len() >= 2 => {
                restart_interval = usize::from(u16::from_be_bytes([segment[0], segment[1]]));
            }
            0xDA => {
                let Some((width, height, comps)) = frame.as_mut() else {
                    return err("scan before frame");
                };
                let n = usize::from(*segment.first().unwrap_or(&0));
                if n == 0 || segment.len() < 1 + 2 * n {
                    return err("bad scan header");
                }
                let mut members = Vec::with_capacity(n);
                for s in segment[1..1 + 2 * n].chunks_exact(2) {
                    let Some(index) = comps.iter().position(|c| c.id == s[0]) else {
                        return err("scan of an unknown component");
                    };
                    let (Some(dc), Some(ac)) = (
                        dc_tables[usize::from(s[1] >> 4 & 3)].clone(),
                        ac_tables[usize::from(s[1] & 3)].clone(),
                    ) else {
                        return err("scan without its Huffman tables");
                    };
                    members.push((index, dc, ac));
                }
                let mut bits = Bits {
                    data: stream,
                    pos,
                    acc: 0,
                    count: 0,
                };
                scan(
                    &mut bits,
                    comps,
                    &members,
                    (*width, *height),
                    &quant,
                    restart_interval,
                );
                pos = bits.pos;
            }
            _ => {}
        }
    }
    let Some((width, height, comps)) = frame else {
        return err("no frame");
    };
    let hmax = comps.iter().map(|c| c.h).max().unwrap_or(1);
    let vmax = comps.iter().map(|c| c.v).max().unwrap_or(1);
    let planes: Vec<Vec<u8>> = comps
        .iter()
        .map(|c| upsample(c, hmax, vmax, width, height))
        .collect();
    let n = planes.len();
    let mut out = vec![0u8; width * height * n];
    if ycbcr && n == 3 {
        ycc_to_rgb(&planes, &mut out);
    } else {
        for (c, plane) in planes.iter().enumerate() {
            for (o, &s) in out.iter_mut().skip(c).step_by(n).zip(plane) {
                *o = s;
            }
        }
    }
    Ok(Some((out, width, height, n)))
}

/// Decode the entropy-coded data of one baseline scan over `members` (component index, DC and AC tables)
/// into the components' planes.
fn scan(
    bits: &mut Bits,
    comps: &mut [Component],
    members: &[(usize, Huffman, Huffman)],
    (width, height): (usize, usize),
    quant: &[[u16; 64]; 4],
    restart_interval: usize,
) {
    let hmax = comps.iter().map(|c| c.h).max().unwrap_or(1);
    let vmax = comps.iter().map(|c| c.v).max().unwrap_or(1);
    // A scan of one component codes its blocks one by one; an interleaved scan codes whole MCUs.
    let (mcux, mcuy) = if let [(index, ..)] = members {
        comps[*index].blocks
    } else {
        (width.div_ceil(8 * hmax), height.div_ceil(8 * vmax))
    };
    let single = members.len() == 1;
    let mut predictors = vec![0i32; members.len()];
    let mut coefs = [0i16; 64];
    for mcu in 0..mcux * mcuy {
        if restart_interval > 0 && mcu > 0 && mcu % restart_interval == 0 {
            bits.restart();
            predictors.iter_mut().for_each(|p| *p = 0);
        }
        let (mx, my) = (mcu % mcux, mcu / mcux);
        for ((index, dc, ac), predictor) in members.iter().zip(&mut predictors) {
            let comp = &mut comps[*index];
            let (bh, bv) = if single { (1, 1) } else { (comp.h, comp.v) };
            for by in 0..bv {
                for bx in 0..bh {
                    coefs.fill(0);
                    let size = u32::from(dc.decode(bits)).min(16);
                    *predictor += bits.value(size);
                    coefs[0] = *predictor as i16;
                    let mut k = 1;
                    while k < 64 {
                        let rs = ac.decode(bits);
                        let (run, size) = (usize::from(rs >> 4), u32::from(rs & 15));
                        if size == 0 {
                            if run != 15 {
                                break;
                            }
                            k += 16;
                            continue;
                        }
                        k += run;
                        coefs[NATURAL[k.min(63)]] = bits.value(size) as i16;
                        k += 1;
                    }
                    let (sw, sh) = comp.scaled;
                    let start = (my * bv + by) * sh * comp.stride + (mx * bh + bx) * sw;
                    let plane = &mut comp.plane[start..];
                    idct_islow(&coefs, &quant[comp.tq], comp.scaled, plane, comp.stride);
                }
            }
        }
    }
}

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
fn idct_islow(
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

/// Bring a component to the full `width` x `height` of the image: libjpeg 7+ already enlarged 2:1
/// subsampled chroma in its IDCT, so what is left (4:1 and beyond) is plain sample replication.
fn upsample(comp: &Component, hmax: usize, vmax: usize, width: usize, height: usize) -> Vec<u8> {
    let (rh, rv) = (
        hmax * 8 / (comp.h * comp.scaled.0),
        vmax * 8 / (comp.v * comp.scaled.1),
    );
    let mut out = vec![0u8; width * height];
    for (y, row) in out.chunks_exact_mut(width).enumerate() {
        let src = &comp.plane[y / rv * comp.stride..];
        if rh == 1 {
            row.copy_from_slice(&src[..width]);
        } else {
            for (x, o) in row.iter_mut().enumerate() {
                *o = src[x / rh];
            }
        }
    }
    out
}

/// libjpeg 9's YCbCr->RGB conversion (jdcolor.c): 16-bit fixed-point factors, rounded into per-value
/// tables, the green term shifted after summing its two products; `planes` are Y, Cb and Cr. libjpeg 9
/// takes the green factors to nine places (libjpeg-turbo's 0.34414 rounds one bit differently).
fn ycc_to_rgb(planes: &[Vec<u8>], out: &mut [u8]) {
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
