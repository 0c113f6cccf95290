//! Round trips through our own writer and reader: random boundless windows of COGs written by
//! `geochips::write` read back equal to the source pixels, at every overview level, with the right fill
//! and validity mask. (The oracle here is the source array; tests/python checks against GDAL.)

use geochips::write::{CogOptions, Compression, write_cog};
use geochips::{Cog, DataType, GeoTransform, HeaderCache, Window};
use rand::{Rng, SeedableRng, rngs::StdRng};

/// A raster in memory: band-sequential native-endian samples.
struct Raster {
    dtype: DataType,
    bands: usize,
    width: usize,
    height: usize,
    data: Vec<u8>,
}

impl Raster {
    /// Seeded smooth-plus-noise samples, some equal to `nodata`.
    fn random(
        dtype: DataType,
        bands: usize,
        width: usize,
        height: usize,
        nodata: Option<f64>,
        seed: u64,
    ) -> Raster {
        let mut rng = StdRng::seed_from_u64(seed);
        let size = dtype.size();
        let mut data = vec![0u8; bands * width * height * size];
        for (i, s) in data.chunks_exact_mut(size).enumerate() {
            let x = (i % width) as f64;
            let v = match nodata {
                Some(n) if rng.random_ratio(1, 20) => n,
                _ => 50.0 + 40.0 * (x / 17.0).sin() + rng.random_range(0.0..8.0),
            };
            dtype.write_value(v, s);
        }
        Raster {
            dtype,
            bands,
            width,
            height,
            data,
        }
    }

    /// The overview `level` times smaller, by nearest decimation (how our writer builds overviews).
    fn decimated(&self, level: u32) -> Raster {
        let step = 1usize << level;
        let (w, h) = (self.width.div_ceil(step), self.height.div_ceil(step));
        let size = self.dtype.size();
        let mut data = Vec::with_capacity(self.bands * w * h * size);
        for b in 0..self.bands {
            for y in 0..h {
                for x in 0..w {
                    let i = (b * self.height + y * step) * self.width + x * step;
                    data.extend_from_slice(&self.data[i * size..(i + 1) * size]);
                }
            }
        }
        Raster {
            dtype: self.dtype,
            bands: self.bands,
            width: w,
            height: h,
            data,
        }
    }

    /// The expected boundless read of `window`: (pixels, mask) with `fill` outside and nodata masked.
    fn expected(&self, window: &Window, fill: f64, nodata: Option<f64>) -> (Vec<u8>, Vec<u8>) {
        let size = self.dtype.size();
        let mut fill_bytes = [0u8; 8];
        self.dtype.write_value(fill, &mut fill_bytes[..size]);
        let (mut out, mut mask) = (Vec::new(), Vec::new());
        for b in 0..self.bands {
            for y in window.row_off..window.row_off + window.height as i64 {
                for x in window.col_off..window.col_off + window.width as i64 {
                    let inside =
                        x >= 0 && y >= 0 && (x as usize) < self.width && (y as usize) < self.height;
                    if !inside {
                        out.extend_from_slice(&fill_bytes[..size]);
                        mask.push(0);
                        continue;
                    }
                    let i = (b * self.height + y as usize) * self.width + x as usize;
                    let sample = &self.data[i * size..(i + 1) * size];
                    out.extend_from_slice(sample);
                    let value = self.dtype.read_value(sample);
                    mask.push(
                        nodata.is_none_or(|n| !(value == n || n.is_nan() && value.is_nan())) as u8,
                    );
                }
            }
        }
        (out, mask)
    }
}

/// Random windows around a `width` x `height` raster: inside, across the edges, and wholly outside.
fn windows(width: usize, height: usize, n: usize, rng: &mut StdRng) -> Vec<Window> {
    (0..n)
        .map(|_| {
            let (w, h) = (rng.random_range(1..200u64), rng.random_range(1..200u64));
            let col = rng.random_range(-(w as i64) - 20..width as i64 + 20);
            let row = rng.random_range(-(h as i64) - 20..height as i64 + 20);
            Window::new(col, row, w, h)
        })
        .collect()
}

fn round_trip(
    dtype: DataType,
    bands: usize,
    compression: Compression,
    predictor: bool,
    nodata: Option<f64>,
) {
    let (width, height) = (1000, 777);
    let raster = Raster::random(dtype, bands, width, height, nodata, 7);
    let dir = std::env::temp_dir().join(format!("geochips-roundtrip-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join(format!(
        "{dtype}-{bands}-{compression:?}-{predictor}-{nodata:?}.tif"
    ));
    let mut opts = CogOptions::new(GeoTransform::new(
        10.0,
        0.0,
        500_000.0,
        0.0,
        -10.0,
        4_000_000.0,
    ));
    (
        opts.tile_size,
        opts.compression,
        opts.predictor,
        opts.overviews,
        opts.nodata,
    ) = (256, compression, predictor, 2, nodata);
    opts.epsg = Some(32631);
    write_cog(&path, &raster.data, dtype, bands, width, height, &opts).unwrap();

    let rt = tokio::runtime::Runtime::new().unwrap();
    let cog = rt.block_on(Cog::open(path.to_str().unwrap())).unwrap();
    assert_eq!(
        (cog.width(), cog.height(), cog.count(), cog.dtype()),
        (1000, 777, bands, dtype)
    );
    assert_eq!(cog.crs().unwrap().unwrap().epsg(), 32631);
    assert_eq!(cog.overviews(), vec![(500, 389), (250, 195)]);
    let mut rng = StdRng::seed_from_u64(11);
    let all: Vec<usize> = (0..bands).collect();
    for overview in [None, Some(0usize), Some(1)] {
        let level = raster.decimated(overview.map_or(0, |o| o as u32 + 1));
        for window in windows(level.width, level.height, 30, &mut rng) {
            let mut out = vec![0u8; cog.buffer_len(&window, bands)];
            let mut mask = vec![0u8; window.pixels() as usize * bands];
            rt.block_on(cog.read_window(&window, &all, overview, &mut out, Some(&mut mask)))
                .unwrap();
            let fill = nodata.unwrap_or(0.0);
            let (want, want_mask) = level.expected(&window, fill, nodata);
            let same = |a: &[u8], b: &[u8]| {
                a.chunks_exact(dtype.size())
                    .zip(b.chunks_exact(dtype.size()))
                    .all(|(x, y)| {
                        x == y || dtype.read_value(x).is_nan() && dtype.read_value(y).is_nan()
                    })
            };
            assert!(
                same(&out, &want),
                "{} {window:?} overview {overview:?}: pixels differ",
                path.display()
            );
            assert_eq!(
                mask,
                want_mask,
                "{} {window:?} overview {overview:?}: masks differ",
                path.display()
            );
        }
    }
    std::fs::remove_file(&path).unwrap();
}

#[test]
fn deflate_with_predictor_round_trips_every_integer_type() {
    for dtype in [
        DataType::U8,
        DataType::I8,
        DataType::U16,
        DataType::I16,
        DataType::U32,
        DataType::I32,
    ] {
        round_trip(dtype, 3, Compression::Deflate, true, Some(3.0));
    }
}

#[test]
fn floats_round_trip_with_nan_nodata_and_without_compression() {
    round_trip(
        DataType::F32,
        2,
        Compression::Deflate,
        false,
        Some(f64::NAN),
    );
    round_trip(DataType::F64, 1, Compression::None, false, None);
    round_trip(DataType::U16, 4, Compression::None, false, None);
}

#[test]
fn bad_reads_are_typed_errors_naming_the_file() {
    let path = std::env::temp_dir().join(format!("geochips-badread-{}.tif", std::process::id()));
    let raster = Raster::random(DataType::U8, 1, 64, 64, None, 1);
    let opts = CogOptions::new(GeoTransform::new(1.0, 0.0, 0.0, 0.0, -1.0, 64.0));
    write_cog(&path, &raster.data, DataType::U8, 1, 64, 64, &opts).unwrap();
    let rt = tokio::runtime::Runtime::new().unwrap();
    let href = path.to_str().unwrap();
    let cog = rt.block_on(Cog::open(href)).unwrap();
    let window = Window::new(0, 0, 8, 8);
    let mut out = vec![0u8; 64];
    let errors = [
        rt.block_on(cog.read_window(&window, &[1], None, &mut out, None))
            .unwrap_err(),
        rt.block_on(cog.read_window(&window, &[0], Some(0), &mut out, None))
            .unwrap_err(),
        rt.block_on(cog.read_window(&window, &[0], None, &mut out[..10], None))
            .unwrap_err(),
        rt.block_on(Cog::open(&format!("{href}.missing")))
            .unwrap_err(),
    ];
    for e in errors {
        assert!(
            e.to_string().contains(href),
            "error does not name the file: {e}"
        );
    }
    std::fs::remove_file(&path).unwrap();
}

#[test]
fn the_header_cache_opens_each_href_once_and_stays_bounded() {
    let dir = std::env::temp_dir().join(format!("geochips-cache-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let raster = Raster::random(DataType::U8, 1, 16, 16, None, 2);
    let opts = CogOptions::new(GeoTransform::new(1.0, 0.0, 0.0, 0.0, -1.0, 16.0));
    let hrefs: Vec<String> = (0..3)
        .map(|i| {
            let p = dir.join(format!("{i}.tif"));
            write_cog(&p, &raster.data, DataType::U8, 1, 16, 16, &opts).unwrap();
            p.to_str().unwrap().to_string()
        })
        .collect();
    let rt = tokio::runtime::Runtime::new().unwrap();
    let cache = HeaderCache::new(2);
    let a = rt.block_on(cache.open(&hrefs[0])).unwrap();
    let again = rt.block_on(cache.open(&hrefs[0])).unwrap();
    assert!(
        std::sync::Arc::ptr_eq(&a, &again),
        "a cached header is opened again"
    );
    rt.block_on(cache.open(&hrefs[1])).unwrap();
    rt.block_on(cache.open(&hrefs[0])).unwrap();
    rt.block_on(cache.open(&hrefs[2])).unwrap();
    assert_eq!(cache.len(), 2);
    // hrefs[1] was the least recently used: evicted; hrefs[0] stays.
    let still = rt.block_on(cache.open(&hrefs[0])).unwrap();
    assert!(
        std::sync::Arc::ptr_eq(&a, &still),
        "the most recently used header was evicted"
    );
    std::fs::remove_dir_all(&dir).unwrap();
}

/// Offset of the value field of `tag` in the IFD at `ifd` of a little-endian classic TIFF, and the offset
/// of the next IFD.
fn entry(file: &[u8], ifd: usize, tag: u16) -> (Option<usize>, usize) {
    let u16_at = |o: usize| u16::from_le_bytes([file[o], file[o + 1]]);
    let count = u16_at(ifd) as usize;
    let field = (0..count)
        .map(|i| ifd + 2 + 12 * i)
        .find(|e| u16_at(*e) == tag)
        .map(|e| e + 8);
    let next = ifd + 2 + 12 * count;
    (
        field,
        u32::from_le_bytes(file[next..next + 4].try_into().unwrap()) as usize,
    )
}

#[test]
fn an_unusable_overview_ifd_is_passed_over_and_the_file_still_reads() {
    let path = std::env::temp_dir().join(format!("geochips-badifd-{}.tif", std::process::id()));
    let raster = Raster::random(DataType::U16, 2, 300, 200, None, 3);
    let mut opts = CogOptions::new(GeoTransform::new(1.0, 0.0, 0.0, 0.0, -1.0, 200.0));
    (opts.tile_size, opts.overviews) = (64, 2);
    write_cog(&path, &raster.data, DataType::U16, 2, 300, 200, &opts).unwrap();
    let mut file = std::fs::read(&path).unwrap();
    let first = u32::from_le_bytes(file[4..8].try_into().unwrap()) as usize;
    let (_, second) = entry(&file, first, 0);
    // The first overview's ImageWidth becomes 0: that IFD is no image.
    let (width, _) = entry(&file, second, 256);
    file[width.unwrap()..width.unwrap() + 4].copy_from_slice(&0u32.to_le_bytes());
    std::fs::write(&path, &file).unwrap();

    let rt = tokio::runtime::Runtime::new().unwrap();
    let cog = rt.block_on(Cog::open(path.to_str().unwrap())).unwrap();
    assert_eq!(cog.overviews(), vec![(75, 50)]);
    let window = Window::new(-10, 5, 100, 100);
    let mut out = vec![0u8; cog.buffer_len(&window, 2)];
    rt.block_on(cog.read_window(&window, &[0, 1], None, &mut out, None))
        .unwrap();
    assert_eq!(out, raster.expected(&window, 0.0, None).0);
    std::fs::remove_file(&path).unwrap();
}
