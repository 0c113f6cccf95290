//! Coordinate reference systems and transforms between them.
//!
//! A [`Crs`] is its EPSG code (the value type lives in the samplers crate so every room shares it).
//! Transforms go through proj4rs, pure Rust, with the PROJ strings of crs-definitions: geographic CRSs take
//! and give degrees (longitude, latitude in that order, as rasterio does), projected CRSs their own units.
//! They agree with PROJ to nanometres over the areas of use of UTM, Web Mercator, LAEA, polar stereographic
//! and Albers (tests/crs.rs). With the cargo feature `proj`, a CRS crs-definitions lacks goes through PROJ
//! itself (the system library), in the same axis order and units.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, OnceLock};

use geochips_samplers::Bounds;
pub use geochips_samplers::Crs;
use proj4rs::Proj;

use crate::error::{Error, Result};

/// WGS 84 longitude/latitude (EPSG:4326): the CRS of catalog footprints.
pub fn wgs84() -> Crs {
    Crs::from_epsg(4326)
}

/// Points per bounds edge that [`transform_bounds`] transforms (rasterio's `densify_pts` is 21).
pub const DENSIFY_PTS: usize = 21;

/// A parsed CRS definition, shared.
struct Definition {
    proj: Proj,
    geographic: bool,
}

fn definition(crs: Crs) -> Result<Arc<Definition>> {
    static CACHE: OnceLock<Mutex<HashMap<Crs, Arc<Definition>>>> = OnceLock::new();
    let cache = CACHE.get_or_init(Default::default);
    if let Some(def) = cache.lock().unwrap_or_else(|e| e.into_inner()).get(&crs) {
        return Ok(def.clone());
    }
    let unknown = |reason: String| Error::Transform {
        crs: crs.to_string(),
        reason,
    };
    let code = u16::try_from(crs.epsg()).map_err(|_| unknown("unknown EPSG code".into()))?;
    let def =
        crs_definitions::from_code(code).ok_or_else(|| unknown("unknown EPSG code".into()))?;
    let proj = Proj::from_proj_string(def.proj4).map_err(|e| unknown(e.to_string()))?;
    let def = Arc::new(Definition {
        geographic: proj.is_latlong(),
        proj,
    });
    cache
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .insert(crs, def.clone());
    Ok(def)
}

/// The PROJ string of `crs`, from crs-definitions; an error for an EPSG code it does not know.
pub fn proj_string(crs: Crs) -> Result<&'static str> {
    let code = u16::try_from(crs.epsg()).ok();
    code.and_then(crs_definitions::from_code)
        .map(|d| d.proj4)
        .ok_or_else(|| Error::Transform {
            crs: crs.to_string(),
            reason: "unknown EPSG code".into(),
        })
}

/// Whether `crs` is geographic (degrees of longitude and latitude).
pub fn is_geographic(crs: Crs) -> Result<bool> {
    match definition(crs) {
        Ok(def) => Ok(def.geographic),
        #[cfg(feature = "proj")]
        Err(_) => with_proj::is_geographic(crs),
        #[cfg(not(feature = "proj"))]
        Err(e) => Err(e),
    }
}

/// How points go from one CRS to another.
enum Route {
    /// Both CRSs are in crs-definitions: proj4rs.
    Proj4rs(Arc<Definition>, Arc<Definition>),
    /// One is not: PROJ.
    #[cfg(feature = "proj")]
    Proj(std::rc::Rc<proj::Proj>),
}

impl Route {
    fn new(from: Crs, to: Crs) -> Result<Route> {
        let (src, dst) = (definition(from), definition(to));
        #[cfg(feature = "proj")]
        if src.is_err() || dst.is_err() {
            return with_proj::transformer(from, to).map(Route::Proj);
        }
        Ok(Route::Proj4rs(src?, dst?))
    }

    /// The image of `p`, or why there is none.
    fn one(&self, p: (f64, f64)) -> Result<(f64, f64), String> {
        let q = match self {
            Route::Proj4rs(src, dst) => proj4rs_one(src, dst, p),
            #[cfg(feature = "proj")]
            Route::Proj(transformer) => transformer.convert(p).map_err(|e| e.to_string()),
        }
        .map_err(|e| format!("point ({}, {}): {e}", p.0, p.1))?;
        if q.0.is_finite() && q.1.is_finite() {
            Ok(q)
        } else {
            Err(format!("point ({}, {}) has no image", p.0, p.1))
        }
    }
}

/// Transform `points` (x, y) in place from `from` to `to`. Errors for an unknown EPSG code or a point the
/// projection cannot take (then `points` may be partly transformed).
pub fn transform_points(from: Crs, to: Crs, points: &mut [(f64, f64)]) -> Result<()> {
    if from == to {
        return Ok(());
    }
    let route = Route::new(from, to)?;
    for p in points.iter_mut() {
        *p = route.one(*p).map_err(|reason| Error::Transform {
            crs: format!("{from} -> {to}"),
            reason,
        })?;
    }
    Ok(())
}

fn proj4rs_one(src: &Definition, dst: &Definition, p: (f64, f64)) -> Result<(f64, f64), String> {
    let mut q = if src.geographic {
        (p.0.to_radians(), p.1.to_radians())
    } else {
        p
    };
    proj4rs::transform::transform(&src.proj, &dst.proj, &mut q).map_err(|e| e.to_string())?;
    if dst.geographic {
        q = (q.0.to_degrees(), q.1.to_degrees());
    }
    Ok(q)
}

/// The points of `bounds`' outline, [`DENSIFY_PTS`] per edge, counter-clockwise from the lower-left corner;
/// closed (the last point is the first).
pub fn densify(bounds: &Bounds) -> Vec<(f64, f64)> {
    let n = DENSIFY_PTS - 1;
    let lerp = |a: f64, b: f64, i: usize| a + (b - a) * i as f64 / n as f64;
    let mut ring = Vec::with_capacity(4 * n + 1);
    let Bounds {
        minx,
        miny,
        maxx,
        maxy,
    } = *bounds;
    ring.extend((0..n).map(|i| (lerp(minx, maxx, i), miny)));
    ring.extend((0..n).map(|i| (maxx, lerp(miny, maxy, i))));
    ring.extend((0..n).map(|i| (lerp(maxx, minx, i), maxy)));
    ring.extend((0..n).map(|i| (minx, lerp(maxy, miny, i))));
    ring.push((minx, miny));
    ring
}

/// The outline of `bounds` (densified, see [`densify`]) transformed from `from` to `to`: a closed ring.
/// Points with no image in `to` are dropped; an error when none is left.
pub fn transform_ring(from: Crs, to: Crs, bounds: &Bounds) -> Result<Vec<(f64, f64)>> {
    let ring = densify(bounds);
    if from == to {
        return Ok(ring);
    }
    let route = Route::new(from, to)?;
    let mut out: Vec<(f64, f64)> = ring.iter().filter_map(|p| route.one(*p).ok()).collect();
    if out.len() < 3 {
        return Err(Error::Transform {
            crs: format!("{from} -> {to}"),
            reason: format!("bounds {bounds:?} have no image"),
        });
    }
    if out.first() != out.last() {
        out.push(out[0]);
    }
    Ok(out)
}

/// The bounds, in `to`, of `bounds` given in `from`: the box around its densified outline (as rasterio's
/// `transform_bounds` with 21 points per edge, without antimeridian handling).
pub fn transform_bounds(from: Crs, to: Crs, bounds: &Bounds) -> Result<Bounds> {
    if from == to {
        return Ok(*bounds);
    }
    Ok(bounds_of(&transform_ring(from, to, bounds)?))
}

/// The box around `points` (an empty slice gives an inverted, empty box).
pub fn bounds_of(points: &[(f64, f64)]) -> Bounds {
    points.iter().fold(
        Bounds::new(
            f64::INFINITY,
            f64::INFINITY,
            f64::NEG_INFINITY,
            f64::NEG_INFINITY,
        ),
        |b, &(x, y)| Bounds::new(b.minx.min(x), b.miny.min(y), b.maxx.max(x), b.maxy.max(y)),
    )
}

#[cfg(feature = "proj")]
mod with_proj {
    //! CRSs crs-definitions lacks, through PROJ (cargo feature `proj`).

    use std::cell::RefCell;
    use std::collections::HashMap;
    use std::ffi::CString;
    use std::rc::Rc;

    use proj::Proj;
    use proj_sys as sys;

    use super::Crs;
    use crate::error::{Error, Result};

    thread_local! {
        /// PROJ's transformers are neither `Send` nor `Sync`: each thread keeps its own, one per CRS pair.
        static TRANSFORMERS: RefCell<HashMap<(Crs, Crs), Rc<Proj>>> = RefCell::new(HashMap::new());
    }

    /// PROJ's transformer from `from` to `to`, longitude first and in degrees for geographic CRSs.
    pub(super) fn transformer(from: Crs, to: Crs) -> Result<Rc<Proj>> {
        if let Some(t) = TRANSFORMERS.with(|c| c.borrow().get(&(from, to)).cloned()) {
            return Ok(t);
        }
        crs_type(from)?;
        crs_type(to)?;
        let t = Proj::new_known_crs(&from.to_string(), &to.to_string(), None).map_err(|e| {
            Error::Transform {
                crs: format!("{from} -> {to}"),
                reason: format!("PROJ has no transformation: {e}"),
            }
        })?;
        let t = Rc::new(t);
        TRANSFORMERS.with(|c| c.borrow_mut().insert((from, to), t.clone()));
        Ok(t)
    }

    /// Whether PROJ's database has `crs` as a geographic CRS.
    pub(super) fn is_geographic(crs: Crs) -> Result<bool> {
        Ok(matches!(
            crs_type(crs)?,
            sys::PJ_TYPE_PJ_TYPE_GEOGRAPHIC_CRS
                | sys::PJ_TYPE_PJ_TYPE_GEOGRAPHIC_2D_CRS
                | sys::PJ_TYPE_PJ_TYPE_GEOGRAPHIC_3D_CRS
        ))
    }

    /// The type of CRS `crs` is in PROJ's database; an error naming it when the database has no such CRS.
    fn crs_type(crs: Crs) -> Result<sys::PJ_TYPE> {
        let name = CString::new(crs.to_string()).expect("an EPSG name has no NUL");
        // SAFETY: the context is ours, used on this thread only and destroyed last; `proj_create` reads a
        // NUL-terminated string and returns null or an object that is destroyed before the context.
        let kind = unsafe {
            let ctx = sys::proj_context_create();
            sys::proj_log_level(ctx, sys::PJ_LOG_LEVEL_PJ_LOG_NONE);
            let pj = sys::proj_create(ctx, name.as_ptr());
            let kind = (!pj.is_null() && sys::proj_is_crs(pj) != 0).then(|| sys::proj_get_type(pj));
            if !pj.is_null() {
                sys::proj_destroy(pj);
            }
            sys::proj_context_destroy(ctx);
            kind
        };
        kind.ok_or_else(|| Error::Transform {
            crs: crs.to_string(),
            reason: "unknown EPSG code (in neither crs-definitions nor PROJ's database)".into(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn close(a: (f64, f64), b: (f64, f64), tol: f64) -> bool {
        (a.0 - b.0).abs() <= tol && (a.1 - b.1).abs() <= tol
    }

    #[test]
    fn utm_31n_false_origin_is_3_degrees_east_on_the_equator() {
        // The central meridian of UTM zone 31 is 3° E; easting 500 000 m lies on it.
        let mut p = [(500_000.0, 0.0)];
        transform_points(Crs::from_epsg(32631), wgs84(), &mut p).unwrap();
        assert!(close(p[0], (3.0, 0.0), 1e-9), "{p:?}");
    }

    #[test]
    fn web_mercator_of_a_published_point() {
        // EPSG:3857 of (lon 2.2945, lat 48.8584), the Eiffel tower, as pyproj gives it.
        let mut p = [(2.2945, 48.8584)];
        transform_points(wgs84(), Crs::from_epsg(3857), &mut p).unwrap();
        assert!(
            close(p[0], (255_422.571_625, 6_250_868.901_480), 1e-3),
            "{:?}",
            p[0]
        );
        transform_points(Crs::from_epsg(3857), wgs84(), &mut p).unwrap();
        assert!(close(p[0], (2.2945, 48.8584), 1e-9), "{:?}", p[0]);
    }

    #[test]
    fn unknown_codes_are_errors_that_name_the_crs() {
        let mut p = [(0.0, 0.0)];
        let err = transform_points(Crs::from_epsg(999_999), wgs84(), &mut p).unwrap_err();
        assert!(err.to_string().contains("EPSG:999999"), "{err}");
        assert!(proj_string(Crs::from_epsg(1)).is_err());
    }

    #[cfg(feature = "proj")]
    #[test]
    fn crs_definitions_lacks_are_transformed_by_proj() {
        // EPSG:9377 (MAGNA-SIRGAS / Origen-Nacional, Colombia) is not in crs-definitions. PROJ's own
        // transverse Mercator of (74° W, 4.6° N) with that definition (lat_0 4, lon_0 -73, k 0.9992,
        // x_0 5 000 000, y_0 2 000 000, GRS80), as pyproj gives it.
        let crs = Crs::from_epsg(9377);
        assert!(proj_string(crs).is_err());
        assert!(!is_geographic(crs).unwrap());
        let mut p = [(-74.0, 4.6)];
        transform_points(wgs84(), crs, &mut p).unwrap();
        assert!(
            close(p[0], (4_889_119.870_029, 2_066_372.845_697), 1e-3),
            "{p:?}"
        );
        transform_points(crs, wgs84(), &mut p).unwrap();
        assert!(close(p[0], (-74.0, 4.6), 1e-9), "{p:?}");
        let err = is_geographic(Crs::from_epsg(999_999)).unwrap_err();
        assert!(err.to_string().contains("EPSG:999999"), "{err}");
    }

    #[test]
    fn densified_ring_is_closed_with_21_points_per_edge() {
        let ring = densify(&Bounds::new(0.0, 0.0, 1.0, 2.0));
        assert_eq!(ring.len(), 81);
        assert_eq!(ring.first(), ring.last());
        assert_eq!(bounds_of(&ring), Bounds::new(0.0, 0.0, 1.0, 2.0));
    }
}
