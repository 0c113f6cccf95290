//! Mosaics: two overlapping scenes with nodata borders give chips with no holes where either has data, each
//! pixel from the first valid scene in priority order (newest first by default, oldest first on request); the
//! slice's item alone with `Mosaic::Single`.

mod common;

use std::path::Path;
use std::sync::Arc;

use common::scratch_dir;
use geochips::samplers::{ChipSize, GridOptions, GridSampler};
use geochips::write::{CogOptions, write_cog};
use geochips::{
    BuildOptions, Catalog, DataType, GeoTransform, Loader, LoaderConfig, Mosaic, Priority, runtime,
};

const SIZE: usize = 600;
const CHIP: u32 = 100;
const NODATA: u16 = 0;

/// Scene `n` (1 or 2): 10 m pixels, scene 2 starting 3000 m (300 px) east of scene 1. Its value at (x, y)
/// is `n * 10_000 + x + y`, except a 100-px nodata border on its side facing the other: scene 1 has data in
/// columns 0..500 of its grid, scene 2 in 400..900 (of scene 1's grid), both in 400..500. Dated, scene 1
/// spans 1-10 January and scene 2 5-20 January: their times meet, scene 2 is the newer, scene 1 the older.
fn write_scene(dir: &Path, n: usize, dated: bool) -> String {
    let data: Vec<u8> = (0..SIZE * SIZE)
        .flat_map(|p| {
            let (x, y) = (p % SIZE, p / SIZE);
            let border = if n == 1 { x >= SIZE - 100 } else { x < 100 };
            let v = if border {
                NODATA
            } else {
                (n * 10_000 + x + y) as u16
            };
            v.to_ne_bytes()
        })
        .collect();
    let x0 = 400_000.0 + 3000.0 * (n - 1) as f64;
    let mut opts = CogOptions::new(GeoTransform::new(10.0, 0.0, x0, 0.0, -10.0, 3_000_000.0));
    opts.tile_size = 256;
    opts.nodata = Some(NODATA as f64);
    opts.epsg = Some(32631);
    std::fs::create_dir_all(dir).expect("dir");
    let name = match (dated, n) {
        (false, _) => format!("S{n}.tif"),
        (true, 1) => "S1_20240101_20240110.tif".into(),
        (true, _) => "S2_20240105_20240120.tif".into(),
    };
    let path = dir.join(name);
    write_cog(&path, &data, DataType::U16, 1, SIZE, SIZE, &opts).expect("write COG");
    path.to_string_lossy().into_owned()
}

fn catalog(dir: &Path, dated: bool) -> Arc<Catalog> {
    let hrefs: Vec<String> = (1..=2).map(|n| write_scene(dir, n, dated)).collect();
    let options = BuildOptions {
        filename_regex: dated.then(|| r"^S\d_(?P<start>\d{8})_(?P<stop>\d{8})\.tif$".into()),
        ..BuildOptions::default()
    };
    let (catalog, report) = runtime::block_on(Catalog::build(&hrefs, &options)).expect("catalog");
    assert!(report.failures.is_empty(), "{report:?}");
    assert_eq!(catalog.len(), 2);
    Arc::new(catalog)
}

/// One chip: the column of its first pixel in scene 1's grid, the scene its slice names (1 or 2), and per
/// pixel the scene its value comes from (0 where invalid).
type Chip = (usize, usize, Vec<u8>);

/// Every chip of a grid over both scenes.
fn chips(catalog: &Arc<Catalog>, mosaic: Mosaic) -> Vec<Chip> {
    let options = GridOptions {
        size: ChipSize::pixels(CHIP),
        ..GridOptions::default()
    };
    let sampler = GridSampler::new(&catalog.footprints(), options).expect("sampler");
    let mut config = LoaderConfig::new(CHIP, CHIP);
    config.batch_size = 8;
    config.mosaic = mosaic;
    let loader = Loader::new(catalog.clone(), sampler, config).expect("loader");
    let mut out = Vec::new();
    for batch in loader {
        let batch = batch.expect("batch");
        let image = batch.image::<u16>().expect("u16");
        let valid = batch.valid();
        for (c, slice) in batch.slices().iter().enumerate() {
            let x0 = ((slice.bounds.minx - 400_000.0) / 10.0).round() as usize;
            let y0 = ((3_000_000.0 - slice.bounds.maxy) / 10.0).round() as usize;
            let scene = if catalog.items()[slice.item].id.starts_with("S1") {
                1
            } else {
                2
            };
            let from = (0..(CHIP * CHIP) as usize)
                .map(|p| {
                    let (col, row) = (p % CHIP as usize, p / CHIP as usize);
                    let (x, y) = (x0 + col, y0 + row);
                    if valid[[c, row, col]] == 0 {
                        return 0;
                    }
                    let v = image[[c, 0, row, col]] as usize;
                    let n = v / 10_000;
                    let local_x = if n == 1 { x } else { x - 300 };
                    assert_eq!(
                        v,
                        n * 10_000 + local_x + y,
                        "pixel ({x}, {y}): not where its scene has it"
                    );
                    n as u8
                })
                .collect();
            out.push((x0, scene, from));
        }
    }
    assert!(!out.is_empty());
    out
}

/// Whether scene `n` has data in column `x` of scene 1's grid.
fn has_data(n: u8, x: usize) -> bool {
    if n == 1 {
        x < 500
    } else {
        (400..900).contains(&x)
    }
}

/// Checks every pixel of `chips`: valid wherever a scene with data there is allowed (`allowed(scene of the
/// slice, n)`), and from the scene `pick(slice's scene, x)` says.
fn check(chips: &[Chip], allowed: impl Fn(usize, u8) -> bool, pick: impl Fn(usize, usize) -> u8) {
    for (x0, scene, from) in chips {
        for (p, &n) in from.iter().enumerate() {
            let x = x0 + p % CHIP as usize;
            let any = [1, 2]
                .into_iter()
                .any(|m| allowed(*scene, m) && has_data(m, x));
            assert_eq!(
                n != 0,
                any,
                "pixel at x {x} of a chip of scene {scene}: hole or invented data"
            );
            if any {
                assert_eq!(
                    n,
                    pick(*scene, x),
                    "pixel at x {x} of a chip of scene {scene}"
                );
            }
        }
    }
}

/// In the overlap (both have data) `first` wins; elsewhere the scene that has data.
fn first_valid(first: u8) -> impl Fn(usize, usize) -> u8 {
    move |_, x| if has_data(first, x) { first } else { 3 - first }
}

#[test]
fn newest_first_by_default_oldest_first_on_request_and_no_holes() {
    let dir = scratch_dir("mosaic-dated");
    let dated = catalog(&dir, true);
    let both = |_, _| true;
    check(&chips(&dated, Mosaic::default()), both, first_valid(2));
    check(
        &chips(&dated, Mosaic::FirstValid(Priority::Oldest)),
        both,
        first_valid(1),
    );
}

#[test]
fn undated_scenes_keep_the_slices_item_first() {
    let dir = scratch_dir("mosaic-undated");
    let undated = catalog(&dir, false);
    let own = |scene: usize, x: usize| {
        let scene = scene as u8;
        if has_data(scene, x) { scene } else { 3 - scene }
    };
    check(&chips(&undated, Mosaic::default()), |_, _| true, own);
    check(
        &chips(&undated, Mosaic::FirstValid(Priority::Catalog)),
        |_, _| true,
        own,
    );
}

#[test]
fn single_reads_the_slices_item_alone() {
    let dir = scratch_dir("mosaic-single");
    let dated = catalog(&dir, true);
    let only_own = |scene: usize, n: u8| scene as u8 == n;
    check(&chips(&dated, Mosaic::Single), only_own, |scene, _| {
        scene as u8
    });
}
