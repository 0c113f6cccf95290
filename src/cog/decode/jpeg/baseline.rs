//! Our baseline JPEG decoder (Huffman, 8-bit): markers, scans, and the assembly of components into pixels,
//! with libjpeg 9's arithmetic throughout.

use super::Decoded;
use super::color::ycc_to_rgb;
use super::entropy::{Bits, Huffman, NATURAL};
use super::idct::idct_islow;

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

/// Decode a baseline stream; `None` when it is of a kind we leave to zune-jpeg. A frame larger than
/// `max` (width, height) or with other than `components` components is refused before anything is
/// allocated for it.
pub(super) fn decode(
    stream: &[u8],
    ycbcr: bool,
    max: (usize, usize),
    components: usize,
) -> Result<Option<Decoded>, String> {
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
                if width > max.0 || height > max.1 || n != components {
                    let (w, h) = max;
                    return Err(format!(
                        "JPEG frame of {width} x {height} px x {n} in a block of {w} x {h} x {components}"
                    ));
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
                let mut bits = Bits::new(stream, pos);
                scan(
                    &mut bits,
                    comps,
                    &members,
                    (*width, *height),
                    &quant,
                    restart_interval,
                );
                pos = bits.pos();
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
