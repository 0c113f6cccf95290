//! `geochips::warp` against GDAL (rasterio), on seeded rasters that tests/oracle/warp.py writes:
//!
//! - same CRS: resampling onto finer and coarser grids at even and odd offsets equals
//!   `dataset.read(window=..., out_shape=..., resampling=...)` — bit for bit with nearest, within 1 unit
//!   (integers) with bilinear, for every sample type;
//! - reprojection (UTM 31N <-> 32N, UTM -> Web Mercator, UTM -> WGS 84, south UTM, a downsample, a chip over
//!   the source's edge) equals `rasterio.warp.reproject` onto the same grid: nearest at least 99.9% identical
//!   and every other pixel the value of a source pixel next to ours; bilinear within the bound each case
//!   states;
//! - source nodata (`src_nodata`), both methods, reprojected: the same values and the same valid pixels.

mod oracle;

use std::collections::HashMap;
use std::path::Path;

use geochips::warp::{Grid, PixelMap, Resampling, Source, Target, resample};
use geochips::{Crs, DataType, GeoTransform, Window};
use serde_json::{Value, json};

/// What a case compares: a same-CRS read (window in source pixels, output size) or a reprojection.
#[derive(Clone)]
enum Op {
    Read { window: [f64; 4], out: (u64, u64) },
    Warp(Grid),
}

#[derive(Clone)]
struct Case {
    name: String,
    dtype: DataType,
    bands: usize,
    method: Resampling,
    src: Grid,
    nodata: bool,
    op: Op,
    /// Largest difference allowed from GDAL's value (bilinear) in units of the type.
    tolerance: f64,
}

impl Case {
    fn json(&self) -> Value {
        let grid = |g: &Grid| {
            json!({"width": g.width, "height": g.height, "transform": g.transform.to_affine(),
                   "crs": g.crs.to_string()})
        };
        let mut v = json!({"name": self.name, "dtype": self.dtype.name(), "bands": self.bands,
            "resampling": self.method.name(), "seed": 7, "src": grid(&self.src), "nodata": self.nodata});
        match &self.op {
            Op::Read { window, out } => {
                v["window"] = json!(window);
                v["out_shape"] = json!([out.1, out.0]);
            }
            Op::Warp(dst) => v["dst"] = grid(dst),
        }
        v
    }

    /// The destination grid: the read's window at the output size, or the warp's grid.
    fn dst(&self) -> Grid {
        match &self.op {
            Op::Warp(dst) => *dst,
            Op::Read { window, out } => {
                let t = &self.src.transform;
                let (sx, sy) = (window[2] / out.0 as f64, window[3] / out.1 as f64);
                Grid {
                    transform: GeoTransform::new(
                        t.a * sx,
                        0.0,
                        t.c + window[0] * t.a,
                        0.0,
                        t.e * sy,
                        t.f + window[1] * t.e,
                    ),
                    width: out.0,
                    height: out.1,
                    crs: self.src.crs,
                }
            }
        }
    }
}

/// A 10 m UTM grid of `width` x `height` px whose top-left corner is at (`x`, `y`).
fn utm(epsg: u32, x: f64, y: f64, res: f64, width: u64, height: u64) -> Grid {
    Grid {
        transform: GeoTransform::new(res, 0.0, x, 0.0, -res, y),
        width,
        height,
        crs: Crs::from_epsg(epsg),
    }
}

/// Our result and GDAL's for one case, as f64 samples [C, H, W] and validity [H, W].
struct Outcome {
    ours: Vec<f64>,
    our_mask: Vec<u8>,
    gdal: Vec<f64>,
    gdal_mask: Vec<u8>,
    /// The source samples and each destination pixel's nearest source pixel (col, row), for the
    /// neighbour check.
    src: Vec<f64>,
    nearest: Vec<(i64, i64)>,
}

fn samples(dtype: DataType, bytes: &[u8]) -> Vec<f64> {
    bytes
        .chunks_exact(dtype.size())
        .map(|b| dtype.read_value(b))
        .collect()
}

/// The samples and mask of `window` (inside the raster) cut from a whole raster.
fn cut(case: &Case, raster: &[u8], nodata: f64, window: &Window) -> (Vec<u8>, Vec<u8>) {
    let size = case.dtype.size();
    let (w, h) = (case.src.width as usize, case.src.height as usize);
    let mut data = Vec::new();
    for b in 0..case.bands {
        for r in 0..window.height as usize {
            let start = (b * h + window.row_off as usize + r) * w + window.col_off as usize;
            data.extend_from_slice(&raster[start * size..(start + window.width as usize) * size]);
        }
    }
    let first = samples(case.dtype, &data[..window.pixels() as usize * size]);
    let mask = first
        .iter()
        .map(|&v| (!case.nodata || v != nodata) as u8)
        .collect();
    (data, mask)
}

fn run(case: &Case, dir: &Path, nodata: &HashMap<String, (f64, f64)>) -> Outcome {
    // The nodata values as the samples hold them (a float32's nearest value to the float64 one).
    let as_sample = |v: f64| {
        let mut b = [0u8; 8];
        case.dtype.write_value(v, &mut b[..case.dtype.size()]);
        case.dtype.read_value(&b[..case.dtype.size()])
    };
    let (src_nodata, dst_nodata) = nodata[case.dtype.name()];
    let (src_nodata, dst_nodata) = (as_sample(src_nodata), as_sample(dst_nodata));
    let raster = std::fs::read(dir.join(format!("{}.src", case.name))).unwrap();
    let gdal = samples(
        case.dtype,
        &std::fs::read(dir.join(format!("{}.out", case.name))).unwrap(),
    );
    let dst = case.dst();
    let map = PixelMap::new(&dst, &case.src).unwrap();
    let plane = (dst.width * dst.height) as usize;
    let mut out = vec![0u8; plane * case.bands * case.dtype.size()];
    let mut mask = vec![0u8; plane];
    let window = map
        .source_window(case.method)
        .expect("the chip overlaps the source");
    let (data, src_mask) = cut(case, &raster, src_nodata, &window);
    let src = Source {
        dtype: case.dtype,
        window,
        bands: case.bands,
        data: &data,
        mask: &src_mask,
    };
    let mut target = Target {
        data: &mut out,
        mask: &mut mask,
        fill: dst_nodata,
    };
    resample(&map, case.method, &src, &mut target).unwrap();
    let gdal_mask = gdal[..plane]
        .iter()
        .map(|&v| (v != dst_nodata) as u8)
        .collect();
    let nearest = (0..plane)
        .map(|p| {
            let (x, y) = map.position(p % dst.width as usize, p / dst.width as usize);
            ((x + 1e-10).floor() as i64, (y + 1e-10).floor() as i64)
        })
        .collect();
    Outcome {
        ours: samples(case.dtype, &out),
        our_mask: mask,
        gdal,
        gdal_mask,
        src: samples(case.dtype, &raster),
        nearest,
    }
}

/// Run GDAL on every case, then ours, and check each with `check`.
fn against_gdal(name: &str, cases: &[Case], check: impl Fn(&Case, &Outcome)) {
    let dir = oracle::scratch(name);
    let list = dir.join("cases.json");
    let body: Vec<Value> = cases.iter().map(Case::json).collect();
    std::fs::write(&list, Value::Array(body).to_string()).unwrap();
    oracle::run("warp.py", &[&list, &dir]);
    let nodata: HashMap<String, (f64, f64)> = serde_json::from_slice::<HashMap<String, [f64; 2]>>(
        &std::fs::read(dir.join("nodata.json")).unwrap(),
    )
    .unwrap()
    .into_iter()
    .map(|(k, v)| (k, (v[0], v[1])))
    .collect();
    for case in cases {
        check(case, &run(case, &dir, &nodata));
    }
    let _ = std::fs::remove_dir_all(&dir);
}

/// The largest difference between our valid samples and GDAL's where both are valid.
fn max_error(o: &Outcome) -> f64 {
    let plane = o.our_mask.len();
    (0..o.ours.len())
        .filter(|&i| o.our_mask[i % plane] == 1 && o.gdal_mask[i % plane] == 1)
        .map(|i| (o.ours[i] - o.gdal[i]).abs())
        .fold(0.0, f64::max)
}

/// The source for the same-CRS cases: 20 m UTM 31N, 200 x 160 px.
fn src20() -> Grid {
    utm(32631, 600_000.0, 5_000_000.0, 20.0, 200, 160)
}

/// Same-CRS cases: (name, window, output size).
fn reads() -> Vec<(&'static str, [f64; 4], (u64, u64))> {
    vec![
        ("up2_even", [10.0, 12.0, 64.0, 64.0], (128, 128)),
        ("up2_odd", [10.5, 12.5, 64.0, 64.0], (128, 128)),
        ("up3_odd", [33.5, 20.5, 40.0, 30.0], (120, 90)),
        ("up_quarter_offset", [7.25, 3.75, 50.0, 40.0], (100, 80)),
        ("down1_2", [5.0, 6.0, 120.0, 90.0], (100, 75)),
        ("down1_5_odd", [3.5, 2.5, 90.0, 60.0], (60, 40)),
        ("down2", [4.0, 4.0, 128.0, 128.0], (64, 64)),
        ("whole_raster_up", [0.0, 0.0, 200.0, 160.0], (400, 320)),
    ]
}

const DTYPES: [DataType; 8] = [
    DataType::U8,
    DataType::I8,
    DataType::U16,
    DataType::I16,
    DataType::U32,
    DataType::I32,
    DataType::F32,
    DataType::F64,
];

fn read_cases(method: Resampling) -> Vec<Case> {
    let mut cases = Vec::new();
    for dtype in DTYPES {
        for (name, window, out) in reads() {
            cases.push(Case {
                name: format!("{name}_{dtype}_{method}"),
                dtype,
                bands: 2,
                method,
                src: src20(),
                nodata: false,
                op: Op::Read { window, out },
                tolerance: bilinear_bound(dtype),
            });
        }
    }
    cases
}

#[test]
fn same_crs_nearest_equals_rasterio_read_bit_for_bit() {
    against_gdal(
        "read-nearest",
        &read_cases(Resampling::Nearest),
        |case, o| {
            assert!(
                o.our_mask.iter().all(|&m| m == 1),
                "{}: all pixels valid",
                case.name
            );
            let diff = (0..o.ours.len())
                .filter(|&i| o.ours[i] != o.gdal[i])
                .count();
            assert_eq!(diff, 0, "{}: {diff} samples differ from GDAL's", case.name);
        },
    );
}

#[test]
fn same_crs_bilinear_is_within_one_unit_of_rasterio_read() {
    against_gdal(
        "read-bilinear",
        &read_cases(Resampling::Bilinear),
        |case, o| {
            assert!(
                o.our_mask.iter().all(|&m| m == 1),
                "{}: all pixels valid",
                case.name
            );
            let e = max_error(o);
            println!("{}: max |ours - GDAL| = {e}", case.name);
            assert!(
                e <= case.tolerance,
                "{}: max error {e} > {}",
                case.name,
                case.tolerance
            );
        },
    );
}

/// The source of the reprojection cases: 10 m UTM 31N, 400 x 400 px, by the 31/32 zone line at 45° N.
fn src31() -> Grid {
    utm(32631, 736_000.0, 4_990_000.0, 10.0, 400, 400)
}

/// A `size` x `size` px grid in `crs` with pixels of `res`, centred on `src`'s centre, then moved east by
/// `shift` of its width; corners rounded to whole pixels.
fn around(src: &Grid, crs: u32, res: f64, size: u64, shift: f64) -> Grid {
    let (w, h) = (src.width as f64, src.height as f64);
    let mut centre = [src.transform.apply(w / 2.0, h / 2.0)];
    geochips::crs::transform_points(src.crs, Crs::from_epsg(crs), &mut centre).unwrap();
    let half = size as f64 * res / 2.0;
    let x = ((centre[0].0 - half) / res).round() * res + shift * 2.0 * half;
    let y = ((centre[0].1 + half) / res).round() * res;
    Grid {
        transform: GeoTransform::new(res, 0.0, x, 0.0, -res, y),
        width: size,
        height: size,
        crs: Crs::from_epsg(crs),
    }
}

/// Reprojection cases: (name, source, destination).
fn warps() -> Vec<(&'static str, Grid, Grid)> {
    let src32 = utm(32632, 262_000.0, 4_990_000.0, 10.0, 400, 400);
    let src33s = utm(32733, 830_000.0, 7_000_000.0, 10.0, 400, 400);
    vec![
        // Over the zone line at the same resolution: UTM 31N -> 32N and back.
        (
            "utm31_to_32",
            src31(),
            around(&src31(), 32632, 10.0, 128, 0.0),
        ),
        ("utm32_to_31", src32, around(&src32, 32631, 10.0, 128, 0.0)),
        // A downsample by 2.5.
        (
            "utm31_to_32_25m",
            src31(),
            around(&src31(), 32632, 25.0, 100, 0.0),
        ),
        // Web Mercator (14 m there is about 10 m on the ground) and WGS 84 degrees.
        (
            "utm31_to_3857",
            src31(),
            around(&src31(), 3857, 14.0, 128, 0.0),
        ),
        (
            "utm31_to_4326",
            src31(),
            around(&src31(), 4326, 1e-4, 128, 0.0),
        ),
        // South: UTM 33S -> 34S.
        (
            "utm33s_to_34s",
            src33s,
            around(&src33s, 32734, 10.0, 128, 0.0),
        ),
        // Half the chip past the source's east edge.
        (
            "utm31_to_32_edge",
            src31(),
            around(&src31(), 32632, 10.0, 128, 1.56),
        ),
    ]
}

fn warp_cases(method: Resampling, nodata: bool, dtypes: &[DataType]) -> Vec<Case> {
    let mut cases = Vec::new();
    for &dtype in dtypes {
        for (name, src, dst) in warps() {
            cases.push(Case {
                name: format!(
                    "{name}_{dtype}_{method}_{}",
                    if nodata { "nodata" } else { "full" }
                ),
                dtype,
                bands: 2,
                method,
                src,
                nodata,
                op: Op::Warp(dst),
                tolerance: bilinear_bound(dtype),
            });
        }
    }
    cases
}

/// The largest difference from GDAL's bilinear result allowed, in units of `dtype`: one unit of an integer
/// type (GDAL rounds half up, as we do, but may weigh in float32; measured here: 0 for every reprojection,
/// 1 for some same-CRS reads), 1e-4 for floats (measured: 6.1e-5, float32's spacing near 1000).
fn bilinear_bound(dtype: DataType) -> f64 {
    if dtype.is_float() { 1e-4 } else { 1.0 }
}

/// Whether destination pixel `p`'s GDAL sample of band `b` is the sample of a source pixel at most one pixel
/// away from the one ours took.
fn from_a_neighbour(case: &Case, o: &Outcome, b: usize, p: usize) -> bool {
    let (w, h) = (case.src.width as i64, case.src.height as i64);
    let (col, row) = o.nearest[p];
    let plane = o.our_mask.len();
    (-1..=1).any(|dy| {
        (-1..=1).any(|dx| {
            let (c, r) = (col + dx, row + dy);
            (0..w).contains(&c)
                && (0..h).contains(&r)
                && o.src[((b as i64 * h + r) * w + c) as usize] == o.gdal[b * plane + p]
        })
    })
}

/// Checks of a reprojection: valid pixels agree (all but 0.1%), and the values are those of GDAL — nearest:
/// at least 99.9% identical, the rest from a neighbouring source pixel; bilinear: within the case's bound.
fn check_warp(case: &Case, o: &Outcome) {
    let plane = o.our_mask.len();
    let both: Vec<usize> = (0..plane)
        .filter(|&p| o.our_mask[p] == 1 && o.gdal_mask[p] == 1)
        .collect();
    let mask_diff = (0..plane)
        .filter(|&p| o.our_mask[p] != o.gdal_mask[p])
        .count();
    assert!(!both.is_empty(), "{}: no pixel valid in both", case.name);
    let report = match case.method {
        Resampling::Nearest => {
            let samples = both.len() * case.bands;
            let mut differ = 0;
            for b in 0..case.bands {
                for &p in &both {
                    if o.ours[b * plane + p] != o.gdal[b * plane + p] {
                        differ += 1;
                        assert!(
                            from_a_neighbour(case, o, b, p),
                            "{}: pixel {p} band {b}: GDAL's {} is from no source pixel next to ours ({:?})",
                            case.name,
                            o.gdal[b * plane + p],
                            o.nearest[p]
                        );
                    }
                }
            }
            let identical = 1.0 - differ as f64 / samples as f64;
            assert!(
                identical >= 0.999,
                "{}: only {identical} identical",
                case.name
            );
            format!("{:.4}% identical", identical * 100.0)
        }
        Resampling::Bilinear => {
            let e = max_error(o);
            assert!(
                e <= case.tolerance,
                "{}: max error {e} > {}",
                case.name,
                case.tolerance
            );
            format!("max |ours - GDAL| = {e}")
        }
    };
    println!(
        "{}: {report}; {} valid, {mask_diff} pixels valid in one only",
        case.name,
        both.len()
    );
    assert!(
        mask_diff as f64 <= 0.001 * plane as f64,
        "{}: {mask_diff} pixels valid in one only",
        case.name
    );
}

#[test]
fn reprojected_nearest_matches_gdal_warp() {
    let cases = warp_cases(Resampling::Nearest, false, &[DataType::U16, DataType::F32]);
    against_gdal("warp-nearest", &cases, check_warp);
}

#[test]
fn reprojected_bilinear_is_within_the_stated_error_of_gdal_warp() {
    let cases = warp_cases(
        Resampling::Bilinear,
        false,
        &[DataType::U16, DataType::I16, DataType::F32],
    );
    against_gdal("warp-bilinear", &cases, check_warp);
}

#[test]
fn source_nodata_is_honoured_like_gdal_warp_src_nodata() {
    let mut cases = warp_cases(Resampling::Nearest, true, &[DataType::U8, DataType::F32]);
    cases.extend(warp_cases(
        Resampling::Bilinear,
        true,
        &[DataType::U8, DataType::F32],
    ));
    against_gdal("warp-nodata", &cases, check_warp);
}
