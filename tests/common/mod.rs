//! Shared by the loader tests: small COG datasets written with our writer, their catalog, and reference reads
//! of a slice through `Cog::read_window`.
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::sync::Arc;

use geochips::write::{CogOptions, write_cog};
use geochips::{BuildOptions, Catalog, Cog, DataType, GeoSlice, GeoTransform, runtime};
use rand::{Rng, SeedableRng, rngs::StdRng};

/// A fresh, empty directory for one test.
pub fn scratch_dir(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("geochips-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("temp dir");
    dir
}

/// Write `count` seeded u16 COGs of `bands` bands, `width` x `height` px, 10 m pixels in EPSG:32631, 256-px
/// tiles, one overview; item `i` lies `i * 3000` m east of the first, so neighbours overlap. Every third
/// item has nodata 0 (and some zero pixels).
pub fn write_scenes(
    dir: &Path,
    count: usize,
    bands: usize,
    width: usize,
    height: usize,
) -> Vec<PathBuf> {
    (0..count)
        .map(|i| {
            let mut rng = StdRng::seed_from_u64(i as u64);
            let nodata = (i % 3 == 0).then_some(0.0);
            let data: Vec<u8> = (0..bands * width * height)
                .flat_map(|p| {
                    let x = (p % width) as f64;
                    let v = if nodata.is_some() && rng.random_ratio(1, 50) {
                        0
                    } else {
                        (1000.0 + 500.0 * (x / 23.0).sin()) as u16 + rng.random_range(0..64)
                    };
                    v.to_ne_bytes()
                })
                .collect();
            let mut opts = CogOptions::new(GeoTransform::new(
                10.0,
                0.0,
                500_000.0 + 3000.0 * i as f64,
                0.0,
                -10.0,
                5_000_000.0,
            ));
            opts.tile_size = 256;
            opts.overviews = 1;
            opts.nodata = nodata;
            opts.epsg = Some(32631);
            let path = dir.join(format!("scene-{i}.tif"));
            write_cog(&path, &data, DataType::U16, bands, width, height, &opts).expect("write COG");
            path
        })
        .collect()
}

/// A catalog of `paths` (one single-asset item each), built from their headers.
pub fn catalog_of(paths: &[PathBuf]) -> Arc<Catalog> {
    let hrefs: Vec<String> = paths
        .iter()
        .map(|p| p.to_string_lossy().into_owned())
        .collect();
    let (catalog, report) =
        runtime::block_on(Catalog::build(&hrefs, &BuildOptions::default())).expect("catalog");
    assert!(report.failures.is_empty(), "{report:?}");
    assert_eq!(catalog.len(), paths.len());
    Arc::new(catalog)
}

/// What `Cog::read_window` gives for `slice` over its item's only asset: the samples (all bands) and the
/// chip mask (1 where every band is valid).
pub fn reference(catalog: &Catalog, slice: &GeoSlice) -> (Vec<u8>, Vec<u8>) {
    let asset = &catalog.items()[slice.item].assets[0];
    let cog = runtime::block_on(Cog::open(&asset.href)).expect("open");
    let window = asset.transform.window(&slice.bounds).expect("window");
    let bands: Vec<usize> = (0..cog.count()).collect();
    let mut out = vec![0u8; cog.buffer_len(&window, bands.len())];
    let mut mask = vec![0u8; window.pixels() as usize * bands.len()];
    runtime::block_on(cog.read_window(&window, &bands, None, &mut out, Some(&mut mask)))
        .expect("read");
    let plane = window.pixels() as usize;
    let chip_mask = (0..plane)
        .map(|p| (0..bands.len()).all(|b| mask[b * plane + p] == 1) as u8)
        .collect();
    (out, chip_mask)
}
