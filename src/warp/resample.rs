//! Resampling a source window onto a chip's grid through a [`PixelMap`]: nearest and bilinear, as GDAL.

use super::Resampling;
use super::map::{EPS, PixelMap, floor, taps};
use super::sample::Sample;
use crate::dtype::DataType;
use crate::error::{Error, Result};
use crate::grid::Window;

/// The samples of one source window: `bands` planes [C, h, w] of `dtype`, native-endian, and their validity
/// mask [h, w] (1 valid, 0 not). The window may be any one (larger than the map's
/// [`source_window`](PixelMap::source_window) is fine); pixels outside it count as invalid.
#[derive(Debug, Clone, Copy)]
pub struct Source<'a> {
    /// The sample type.
    pub dtype: DataType,
    /// Where the samples lie in the source raster.
    pub window: Window,
    /// Number of bands (planes).
    pub bands: usize,
    /// `bands * window.pixels()` samples, band by band.
    pub data: &'a [u8],
    /// `window.pixels()` flags.
    pub mask: &'a [u8],
}

/// Where a chip's samples go: `bands` planes [C, H, W] of the source's type and a validity mask [H, W], for
/// the map's W x H grid.
#[derive(Debug)]
pub struct Target<'a> {
    /// `bands * W * H` samples, band by band.
    pub data: &'a mut [u8],
    /// `W * H` flags: 1 valid, 0 not.
    pub mask: &'a mut [u8],
    /// The value written in every band of an invalid pixel (cast as [`DataType::write_value`] casts).
    pub fill: f64,
}

/// Resample `src` onto `map`'s destination grid with `method`, into `dst`.
///
/// Nearest copies the sample of the source pixel each destination centre falls in (GDAL's rounding:
/// `floor(position + 1e-10)`); bilinear takes the mean of the valid source pixels under a tent kernel,
/// weighted and renormalised, rounded half up and clamped for integer types. Both give a valid pixel exactly
/// where the centre falls in a valid source pixel (see the [module](super) docs). Errors when a buffer's
/// length does not match the window, the map and the type.
pub fn resample(
    map: &PixelMap,
    method: Resampling,
    src: &Source<'_>,
    dst: &mut Target<'_>,
) -> Result<()> {
    check_sizes(map, src, dst)?;
    match src.dtype {
        DataType::U8 => run::<u8>(map, method, src, dst),
        DataType::I8 => run::<i8>(map, method, src, dst),
        DataType::U16 => run::<u16>(map, method, src, dst),
        DataType::I16 => run::<i16>(map, method, src, dst),
        DataType::U32 => run::<u32>(map, method, src, dst),
        DataType::I32 => run::<i32>(map, method, src, dst),
        DataType::F32 => run::<f32>(map, method, src, dst),
        DataType::F64 => run::<f64>(map, method, src, dst),
        DataType::F16 | DataType::BF16 => {
            return Err(Error::Warp {
                reason: format!(
                    "{} samples are not resampled (COGs read as float32)",
                    src.dtype
                ),
            });
        }
    }
    Ok(())
}

fn check_sizes(map: &PixelMap, src: &Source<'_>, dst: &Target<'_>) -> Result<()> {
    let size = src.dtype.size();
    let src_px = src
        .window
        .width
        .checked_mul(src.window.height)
        .and_then(|p| usize::try_from(p).ok());
    let dst_px = map.width() * map.height();
    let samples = |px: Option<usize>| px.and_then(|p| p.checked_mul(src.bands * size));
    let lengths = [
        ("source samples", src.data.len(), samples(src_px)),
        ("source mask", src.mask.len(), src_px),
        ("destination samples", dst.data.len(), samples(Some(dst_px))),
        ("destination mask", dst.mask.len(), Some(dst_px)),
    ];
    for (what, len, want) in lengths {
        if Some(len) != want {
            return Err(Error::Warp {
                reason: format!(
                    "{what} are {len} bytes, not {want:?}, for a {:?} source window, a {} x {} destination and \
                     {} bands of {}",
                    src.window,
                    map.width(),
                    map.height(),
                    src.bands,
                    src.dtype
                ),
            });
        }
    }
    Ok(())
}

/// The source pixels a destination pixel reads: a window of `src`'s and, per pixel, its weight.
struct Kernel<'s, 'a> {
    src: &'s Source<'a>,
    /// Source raster size.
    raster: (f64, f64),
    /// Samples per source plane.
    plane: usize,
}

impl Kernel<'_, '_> {
    /// Whether a position lies inside the source raster (GDAL's test).
    fn inside(&self, x: f64, y: f64) -> bool {
        x >= 0.0 && y >= 0.0 && x + EPS <= self.raster.0 && y + EPS <= self.raster.1
    }

    /// The index in the window of source pixel (`col`, `row`), if the window holds it and it is valid.
    fn valid(&self, col: i64, row: i64) -> Option<usize> {
        let w = &self.src.window;
        let (c, r) = (col - w.col_off, row - w.row_off);
        if c < 0 || r < 0 || c >= w.width as i64 || r >= w.height as i64 {
            return None;
        }
        let k = r as usize * w.width as usize + c as usize;
        (self.src.mask[k] != 0).then_some(k)
    }

    /// The sample of band `b` at window index `k`.
    fn sample<T: Sample>(&self, b: usize, k: usize) -> T {
        let o = (b * self.plane + k) * T::SIZE;
        T::load(&self.src.data[o..o + T::SIZE])
    }

    /// The window index of the source pixel `(x, y)` falls in, if valid.
    fn nearest(&self, x: f64, y: f64) -> Option<usize> {
        if !self.inside(x, y) {
            return None;
        }
        let col = (floor(x + EPS) as i64).min(self.raster.0 as i64 - 1);
        let row = (floor(y + EPS) as i64).min(self.raster.1 as i64 - 1);
        self.valid(col, row)
    }

    /// Call `f(k, weight)` for every valid source pixel under a tent kernel of half-widths `half` centred on
    /// `(x, y)`; weights are not normalised.
    fn tent(&self, x: f64, y: f64, half: (f64, f64), mut f: impl FnMut(usize, f64)) {
        let (c0, c1) = taps(x, half.0);
        let (r0, r1) = taps(y, half.1);
        for row in r0 as i64..=r1 as i64 {
            let wy = 1.0 - ((row as f64 + 0.5 - y) / half.1).abs();
            for col in c0 as i64..=c1 as i64 {
                if let Some(k) = self.valid(col, row) {
                    let wx = 1.0 - ((col as f64 + 0.5 - x) / half.0).abs();
                    f(k, wx.max(0.0) * wy.max(0.0));
                }
            }
        }
    }
}

/// A chip's sample planes, written pixel by pixel.
struct Planes<'d> {
    data: &'d mut [u8],
    /// Samples per plane.
    plane: usize,
}

impl Planes<'_> {
    fn put<T: Sample>(&mut self, b: usize, d: usize, value: T) {
        let o = (b * self.plane + d) * T::SIZE;
        value.store(&mut self.data[o..o + T::SIZE]);
    }
}

/// Write the nearest source pixel's samples, all bands, at destination pixel `d`; whether there is one.
fn nearest<T: Sample>(
    kernel: &Kernel<'_, '_>,
    x: f64,
    y: f64,
    out: &mut Planes<'_>,
    d: usize,
) -> bool {
    let Some(k) = kernel.nearest(x, y) else {
        return false;
    };
    for b in 0..kernel.src.bands {
        out.put(b, d, kernel.sample::<T>(b, k));
    }
    true
}

/// Valid source pixels under a kernel with their weights, kept for the bands to share (up to 64: a kernel up
/// to 3.5 source pixels wide each way).
struct Taps {
    index: [usize; Taps::MAX],
    weight: [f64; Taps::MAX],
    len: usize,
    /// More taps than fit: each band walks the kernel again.
    overflow: bool,
    total: f64,
}

impl Taps {
    const MAX: usize = 64;

    fn new() -> Taps {
        Taps {
            index: [0; Taps::MAX],
            weight: [0.0; Taps::MAX],
            len: 0,
            overflow: false,
            total: 0.0,
        }
    }

    fn clear(&mut self) {
        (self.len, self.overflow, self.total) = (0, false, 0.0);
    }

    fn push(&mut self, k: usize, w: f64) {
        self.total += w;
        if self.len == Taps::MAX {
            self.overflow = true;
        } else {
            (self.index[self.len], self.weight[self.len]) = (k, w);
            self.len += 1;
        }
    }
}

/// Write the bilinear mean of the valid source pixels around `(x, y)`, all bands, at destination pixel `d`;
/// whether the source pixel `(x, y)` falls in is valid (else nothing is written).
fn bilinear<T: Sample>(
    kernel: &Kernel<'_, '_>,
    (x, y): (f64, f64),
    half: (f64, f64),
    taps: &mut Taps,
    out: &mut Planes<'_>,
    d: usize,
) -> bool {
    if kernel.nearest(x, y).is_none() {
        return false;
    }
    // The total is positive: the pixel (x, y) falls in is valid and at most half a pixel from it.
    taps.clear();
    kernel.tent(x, y, half, |k, w| taps.push(k, w));
    for b in 0..kernel.src.bands {
        let mut sum = 0.0;
        if taps.overflow {
            kernel.tent(x, y, half, |k, w| {
                sum += w * kernel.sample::<T>(b, k).to_f64()
            });
        } else {
            for t in 0..taps.len {
                sum += taps.weight[t] * kernel.sample::<T>(b, taps.index[t]).to_f64();
            }
        }
        out.put(b, d, T::from_f64(sum / taps.total));
    }
    true
}

fn run<T: Sample>(map: &PixelMap, method: Resampling, src: &Source<'_>, dst: &mut Target<'_>) {
    let (raster_w, raster_h) = map.source_size();
    let kernel = Kernel {
        src,
        raster: (raster_w as f64, raster_h as f64),
        plane: src.window.width as usize * src.window.height as usize,
    };
    let mut fill = [0u8; 8];
    src.dtype.write_value(dst.fill, &mut fill[..T::SIZE]);
    let fill = T::load(&fill[..T::SIZE]);
    let width = map.width();
    let half = map.kernel();
    let mut out = Planes {
        data: dst.data,
        plane: width * map.height(),
    };
    let mut taps = Taps::new();
    for j in 0..map.height() {
        map.row(j, 0..width, |i, x, y| {
            let d = j * width + i;
            let valid = match method {
                Resampling::Nearest => nearest::<T>(&kernel, x, y, &mut out, d),
                Resampling::Bilinear => {
                    bilinear::<T>(&kernel, (x, y), half, &mut taps, &mut out, d)
                }
            };
            dst.mask[d] = valid as u8;
            if !valid {
                for b in 0..src.bands {
                    out.put(b, d, fill);
                }
            }
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::crs::Crs;
    use crate::grid::GeoTransform;
    use crate::warp::Grid;

    fn grid(res: f64, size: u64) -> Grid {
        Grid {
            transform: GeoTransform::new(res, 0.0, 0.0, 0.0, -res, 0.0),
            width: size,
            height: size,
            crs: Crs::from_epsg(32631),
        }
    }

    fn u16s(values: &[u16]) -> Vec<u8> {
        values.iter().flat_map(|v| v.to_ne_bytes()).collect()
    }

    /// Resample a 2 x 2 u16 source (one band) with `mask` onto `dst`; the samples and mask.
    fn run_2x2(
        method: Resampling,
        dst: &Grid,
        values: [u16; 4],
        mask: [u8; 4],
    ) -> (Vec<u16>, Vec<u8>) {
        let map = PixelMap::new(dst, &grid(10.0, 2)).unwrap();
        let data = u16s(&values);
        let src = Source {
            dtype: DataType::U16,
            window: Window::new(0, 0, 2, 2),
            bands: 1,
            data: &data,
            mask: &mask,
        };
        let n = (dst.width * dst.height) as usize;
        let (mut out, mut out_mask) = (vec![0u8; 2 * n], vec![9u8; n]);
        let mut target = Target {
            data: &mut out,
            mask: &mut out_mask,
            fill: 7.0,
        };
        resample(&map, method, &src, &mut target).unwrap();
        let out = out
            .chunks_exact(2)
            .map(|b| u16::from_ne_bytes([b[0], b[1]]))
            .collect();
        (out, out_mask)
    }

    #[test]
    fn nearest_copies_valid_pixels_and_fills_invalid_ones() {
        let (out, mask) = run_2x2(
            Resampling::Nearest,
            &grid(5.0, 4),
            [1, 2, 3, 4],
            [1, 1, 1, 0],
        );
        assert_eq!(out, [1, 1, 2, 2, 1, 1, 2, 2, 3, 3, 7, 7, 3, 3, 7, 7]);
        assert_eq!(mask, [1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 0, 0, 1, 1, 0, 0]);
    }

    #[test]
    fn bilinear_renormalises_over_valid_pixels() {
        let (out, mask) = run_2x2(
            Resampling::Bilinear,
            &grid(5.0, 4),
            [10, 20, 30, 40],
            [1, 1, 1, 0],
        );
        // Pixel (1, 1) sits at (0.75, 0.75): weights 9/16, 3/16, 3/16 on 10, 20, 30 (40 is invalid) sum to
        // 15/16, and (90 + 60 + 90) / 16 / (15 / 16) = 16.
        assert_eq!(out[5], 16);
        // Pixel (0, 0) at (0.25, 0.25): only source pixel (0, 0) is under the kernel inside the raster.
        assert_eq!(out[0], 10);
        // Pixels whose centres fall in the invalid source pixel (1, 1) are invalid, as with nearest.
        let (_, nearest_mask) = run_2x2(
            Resampling::Nearest,
            &grid(5.0, 4),
            [10, 20, 30, 40],
            [1, 1, 1, 0],
        );
        assert_eq!(mask, nearest_mask);
        assert_eq!((out[15], mask[15]), (7, 0));
    }

    #[test]
    fn buffers_of_the_wrong_size_are_errors() {
        let map = PixelMap::new(&grid(10.0, 2), &grid(10.0, 2)).unwrap();
        let data = u16s(&[1, 2, 3]);
        let src = Source {
            dtype: DataType::U16,
            window: Window::new(0, 0, 2, 2),
            bands: 1,
            data: &data,
            mask: &[1; 4],
        };
        let (mut out, mut mask) = (vec![0u8; 8], vec![0u8; 4]);
        let mut target = Target {
            data: &mut out,
            mask: &mut mask,
            fill: 0.0,
        };
        let err = resample(&map, Resampling::Nearest, &src, &mut target).unwrap_err();
        assert!(
            err.to_string().contains("source samples are 6 bytes"),
            "{err}"
        );
    }
}
