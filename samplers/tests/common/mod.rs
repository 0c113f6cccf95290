//! Footprints, catalogs and checks shared by the sampler tests.
#![allow(dead_code)]

use geochips_samplers::{Bounds, Crs, Footprint, GeoSlice, Interval};
use proptest::prelude::*;

/// The footprint of item `item`: `w × h` pixels of `res`, top-left corner at `(x0, y0)`.
#[allow(clippy::too_many_arguments)]
pub fn footprint(
    item: usize,
    epsg: u32,
    x0: f64,
    y0: f64,
    w: u32,
    h: u32,
    res: f64,
    t: i64,
) -> Footprint {
    Footprint {
        item,
        crs: Crs::from_epsg(epsg),
        bounds: Bounds::new(x0, y0 - h as f64 * res, x0 + w as f64 * res, y0),
        res: (res, res),
        interval: Interval::instant(t),
    }
}

/// Random small catalogs: up to 6 footprints in two CRSs, various resolutions, overlapping often.
pub fn catalogs() -> impl Strategy<Value = Vec<Footprint>> {
    let one = (
        prop::sample::select(vec![32631u32, 32632]),
        -20i32..20,
        -20i32..20,
        1u32..120,
        1u32..120,
        prop::sample::select(vec![1.0, 0.5, 10.0, 30.0]),
        0i64..5,
    );
    prop::collection::vec(one, 1..7).prop_map(|v| {
        v.into_iter()
            .enumerate()
            .map(|(i, (epsg, x, y, w, h, res, t))| {
                footprint(
                    i,
                    epsg,
                    500_000.0 + x as f64 * 7.0,
                    4_000_000.0 + y as f64 * 7.0,
                    w,
                    h,
                    res,
                    t,
                )
            })
            .collect()
    })
}

/// Pixel offset of `v` from `origin` in steps of `res`, if it is (nearly) a whole number.
pub fn whole_steps(v: f64, origin: f64, res: f64) -> Option<i64> {
    let k = (v - origin) / res;
    ((k - k.round()).abs() < 1e-6).then(|| k.round() as i64)
}

/// Top-left pixel `(col, row)` of `s` on `fp`'s grid; panics if `s` is not on that grid or not `size` × `res`.
pub fn on_grid(s: &GeoSlice, fp: &Footprint) -> (i64, i64) {
    assert_eq!(s.res, fp.res, "slice {} has its item's resolution", s.id);
    assert_eq!(s.crs, fp.crs);
    assert_eq!(s.item, fp.item);
    let col = whole_steps(s.bounds.minx, fp.bounds.minx, fp.res.0).expect("left edge on the grid");
    let row = whole_steps(fp.bounds.maxy, s.bounds.maxy, fp.res.1).expect("top edge on the grid");
    let w = s.bounds.width() / fp.res.0;
    let h = s.bounds.height() / fp.res.1;
    assert!(
        (w - s.size.0 as f64).abs() < 1e-6 && (h - s.size.1 as f64).abs() < 1e-6,
        "{s:?}"
    );
    (col, row)
}

/// Whether `inner` lies within `outer`, up to a tolerance.
pub fn within(inner: &Bounds, outer: &Bounds) -> bool {
    let t = 1e-6 * (outer.width() + outer.height());
    inner.minx >= outer.minx - t
        && inner.maxx <= outer.maxx + t
        && inner.miny >= outer.miny - t
        && inner.maxy <= outer.maxy + t
}
