//! CRS transforms of `geochips::crs` against PROJ (pyproj): points sampled over the area of use of every CRS
//! the pure-Rust default supports (and, with the cargo feature `proj`, of one it lacks) agree to under 1 mm
//! in projected units and 1e-8 degree (of arc, on the ground: longitude differences scaled by the cosine of
//! the latitude) in geographic ones.

mod oracle;

use geochips::crs::{Crs, transform_points, wgs84};
use serde_json::{Value, json};

/// Projected CRSs whose transforms must agree with PROJ: UTM north and south (both ends of the zone range and
/// the middle), Web Mercator, LAEA Europe, polar stereographic north and south, CONUS Albers.
const CODES: [u32; 12] = [
    32601, 32631, 32632, 32660, 32701, 32733, 32760, 3857, 3035, 3413, 3031, 5070,
];

/// With the cargo feature `proj`: a CRS crs-definitions lacks (MAGNA-SIRGAS / Origen-Nacional, Colombia),
/// transformed by the system's PROJ.
#[cfg(feature = "proj")]
const PROJ_CODES: [u32; 1] = [9377];
#[cfg(not(feature = "proj"))]
const PROJ_CODES: [u32; 0] = [];

/// Projected-to-projected pairs a warp uses: neighbouring UTM zones, UTM to Web Mercator.
const PAIRS: [(u32, u32); 4] = [(32631, 32632), (32632, 32631), (32631, 3857), (32733, 3857)];

/// Largest difference in projected units (metres) allowed.
const MAX_M: f64 = 1e-3;
/// Largest difference in degrees (of arc) allowed.
const MAX_DEG: f64 = 1e-8;

fn points(v: &Value) -> Vec<(f64, f64)> {
    v.as_array()
        .expect("a list of points")
        .iter()
        .map(|p| (p[0].as_f64().unwrap(), p[1].as_f64().unwrap()))
        .collect()
}

fn proj_answers() -> Value {
    let dir = oracle::scratch("crs");
    let cases = dir.join("cases.json");
    let out = dir.join("out.json");
    let codes: Vec<u32> = CODES.iter().chain(&PROJ_CODES).copied().collect();
    let body = json!({"codes": codes, "pairs": PAIRS});
    std::fs::write(&cases, body.to_string()).unwrap();
    oracle::run("crs.py", &[&cases, &out]);
    let answers = serde_json::from_slice(&std::fs::read(&out).unwrap()).unwrap();
    let _ = std::fs::remove_dir_all(&dir);
    answers
}

/// The worst difference between `ours` and PROJ's `theirs`, in metres or (geographic) degrees of arc.
fn worst(ours: &[(f64, f64)], theirs: &[(f64, f64)], geographic: bool) -> f64 {
    ours.iter()
        .zip(theirs)
        .map(|(a, b)| {
            let dx = if geographic {
                (a.0 - b.0 + 540.0).rem_euclid(360.0) - 180.0
            } else {
                a.0 - b.0
            };
            let dx = if geographic {
                dx * b.1.to_radians().cos()
            } else {
                dx
            };
            dx.abs().max((a.1 - b.1).abs())
        })
        .fold(0.0, f64::max)
}

#[test]
fn transforms_agree_with_proj_over_each_area_of_use() {
    let answers = proj_answers();
    let mut failures = Vec::new();
    for &code in CODES.iter().chain(&PROJ_CODES) {
        let case = &answers["codes"][code.to_string()];
        let (lonlat, xy) = (points(&case["lonlat"]), points(&case["xy"]));
        let crs = Crs::from_epsg(code);
        let mut forward = lonlat.clone();
        transform_points(wgs84(), crs, &mut forward).unwrap();
        let mut inverse = xy.clone();
        transform_points(crs, wgs84(), &mut inverse).unwrap();
        let (f, i) = (worst(&forward, &xy, false), worst(&inverse, &lonlat, true));
        println!(
            "EPSG:{code}: {} points, forward {f:.3e} m, inverse {i:.3e} deg",
            xy.len()
        );
        if f > MAX_M || i > MAX_DEG {
            failures.push(format!("EPSG:{code}: forward {f:e} m, inverse {i:e} deg"));
        }
    }
    for pair in answers["pairs"].as_array().unwrap() {
        let (from, to) = (pair["from"].as_u64().unwrap(), pair["to"].as_u64().unwrap());
        let mut ours = points(&pair["xy"]);
        transform_points(
            Crs::from_epsg(from as u32),
            Crs::from_epsg(to as u32),
            &mut ours,
        )
        .unwrap();
        let d = worst(&ours, &points(&pair["out"]), false);
        println!("EPSG:{from} -> EPSG:{to}: {d:.3e} m");
        if d > MAX_M {
            failures.push(format!("EPSG:{from} -> EPSG:{to}: {d:e} m"));
        }
    }
    assert!(failures.is_empty(), "disagree with PROJ: {failures:#?}");
}
