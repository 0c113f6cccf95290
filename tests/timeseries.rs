//! Time series through the Rust loader: a `TimeSeriesSampler`'s samples, read with `time_steps`, come out of
//! `Batch::image_series` as [B, T, C, H, W] with every step from its own date's scene at the sample's place.

mod common;

use std::sync::Arc;

use common::scratch_dir;
use geochips::samplers::{ChipSize, TimeSeriesOptions, TimeSeriesSampler};
use geochips::write::{CogOptions, write_cog};
use geochips::{BuildOptions, Catalog, DataType, GeoTransform, Loader, LoaderConfig, runtime};

const SIZE: usize = 300;
const CHIP: u32 = 40;
const STEPS: usize = 3;
const X0: f64 = 400_000.0;
const Y0: f64 = 3_000_000.0;

/// Three scenes of one place on one 10 m grid, dated 1, 2 and 3 March; scene `n`'s value at pixel (x, y) is
/// `n * 10_000 + x + y`.
fn catalog() -> Arc<Catalog> {
    let dir = scratch_dir("timeseries");
    let hrefs: Vec<String> = (1..=STEPS)
        .map(|n| {
            let data: Vec<u8> = (0..SIZE * SIZE)
                .flat_map(|p| ((n * 10_000 + p % SIZE + p / SIZE) as u16).to_ne_bytes())
                .collect();
            let mut opts = CogOptions::new(GeoTransform::new(10.0, 0.0, X0, 0.0, -10.0, Y0));
            opts.tile_size = 128;
            opts.epsg = Some(32631);
            let path = dir.join(format!("T_2024030{n}.tif"));
            write_cog(&path, &data, DataType::U16, 1, SIZE, SIZE, &opts).expect("write COG");
            path.to_string_lossy().into_owned()
        })
        .collect();
    let options = BuildOptions {
        filename_regex: Some(r"^T_(?P<date>\d{8})\.tif$".into()),
        ..BuildOptions::default()
    };
    let (catalog, report) = runtime::block_on(Catalog::build(&hrefs, &options)).expect("catalog");
    assert!(report.failures.is_empty(), "{report:?}");
    Arc::new(catalog)
}

#[test]
fn image_series_holds_each_step_from_its_own_date_at_the_samples_place() {
    let catalog = catalog();
    let options = TimeSeriesOptions {
        size: ChipSize::pixels(CHIP),
        steps: STEPS,
        length: Some(5),
        seed: 6,
        ..TimeSeriesOptions::default()
    };
    let sampler = TimeSeriesSampler::new(&catalog.footprints(), options).expect("sampler");
    let mut config = LoaderConfig::new(CHIP, CHIP);
    config.batch_size = 2;
    config.time_steps = STEPS;
    let mut samples = 0;
    for batch in Loader::new(catalog.clone(), sampler, config).expect("loader") {
        let batch = batch.expect("batch");
        let series = batch.image_series::<u16>().expect("u16 series");
        let b = series.shape()[0];
        assert_eq!(series.shape(), [b, STEPS, 1, CHIP as usize, CHIP as usize]);
        assert_eq!((batch.steps(), batch.len()), (STEPS, b * STEPS));
        assert!(batch.valid().iter().all(|&v| v == 1));
        for (k, sample) in batch.slices().chunks(STEPS).enumerate() {
            let (col, row) = (
                (sample[0].bounds.minx - X0) / 10.0,
                (Y0 - sample[0].bounds.maxy) / 10.0,
            );
            for (t, slice) in sample.iter().enumerate() {
                assert_eq!(slice.bounds, sample[0].bounds);
                let scene = catalog.items()[slice.item].id.clone();
                assert!(
                    scene.ends_with(&format!("0{}", t + 1)),
                    "step {t} of sample {k} is {scene}"
                );
                for ((r, c), &v) in series.slice(ndarray::s![k, t, 0, .., ..]).indexed_iter() {
                    let want = (t + 1) * 10_000 + col as usize + c + row as usize + r;
                    assert_eq!(v as usize, want, "sample {k} step {t} pixel ({c}, {r})");
                }
            }
        }
        samples += b;
    }
    assert_eq!(samples, 5);
}
