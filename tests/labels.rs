//! Labels: a label raster beside the image bands of each item is read into the batch `mask`, on the chip's
//! grid, pixel for pixel aligned with the image — shown with rasters whose values encode their own pixel
//! coordinates — and the demo dataset's labels equal their COGs read one by one.

mod common;

use std::path::{Path, PathBuf};
use std::sync::Arc;

use common::scratch_dir;
use geochips::demo::DemoDataset;
use geochips::samplers::{ChipSize, RandomOptions, RandomSampler};
use geochips::write::{CogOptions, write_cog};
use geochips::{
    BuildOptions, Catalog, Cog, DataType, GeoTransform, Labels, Loader, LoaderConfig, runtime,
};

const SIZE: usize = 700;
const CHIP: u32 = 64;

/// Writes `name`: `bands` bands of `dtype` samples `value(band, x, y)`, 10 m pixels in EPSG:32631.
fn write(
    dir: &Path,
    name: &str,
    dtype: DataType,
    bands: usize,
    value: impl Fn(usize, usize, usize) -> u32,
) -> PathBuf {
    let mut data = Vec::new();
    for b in 0..bands {
        for y in 0..SIZE {
            for x in 0..SIZE {
                let v = value(b, x, y);
                match dtype {
                    DataType::U16 => data.extend_from_slice(&(v as u16).to_ne_bytes()),
                    DataType::U32 => data.extend_from_slice(&v.to_ne_bytes()),
                    other => unreachable!("{other}"),
                }
            }
        }
    }
    let mut opts = CogOptions::new(GeoTransform::new(
        10.0,
        0.0,
        600_000.0,
        0.0,
        -10.0,
        4_000_000.0,
    ));
    opts.tile_size = 256;
    opts.epsg = Some(32631);
    let path = dir.join(name);
    write_cog(&path, &data, dtype, bands, SIZE, SIZE, &opts).expect("write COG");
    path
}

fn catalog(sources: &[PathBuf], regex: &str) -> Arc<Catalog> {
    let hrefs: Vec<String> = sources
        .iter()
        .map(|p| p.to_string_lossy().into_owned())
        .collect();
    let options = BuildOptions {
        filename_regex: Some(regex.into()),
        ..BuildOptions::default()
    };
    let (catalog, report) = runtime::block_on(Catalog::build(&hrefs, &options)).expect("catalog");
    assert!(report.failures.is_empty(), "{report:?}");
    Arc::new(catalog)
}

fn sampler(catalog: &Catalog, length: u64) -> RandomSampler {
    let options = RandomOptions {
        size: ChipSize::pixels(CHIP),
        length: Some(length),
        seed: 7,
        ..RandomOptions::default()
    };
    RandomSampler::new(&catalog.footprints(), options).expect("sampler")
}

#[test]
fn every_label_pixel_lines_up_with_its_image_pixel() {
    let dir = scratch_dir("labels-coords");
    let image = write(&dir, "tile-image.tif", DataType::U16, 2, |b, x, y| {
        [x, y][b] as u32
    });
    let label = write(&dir, "tile-label.tif", DataType::U32, 1, |_, x, y| {
        (y * SIZE + x) as u32
    });
    let catalog = catalog(
        &[image, label],
        r"^(?P<item>tile)-(?P<band>image|label)\.tif$",
    );
    assert_eq!(catalog.len(), 1, "the two files are one item");
    let mut config = LoaderConfig::new(CHIP, CHIP);
    config.batch_size = 8;
    config.labels = Some(Labels::Band("label".into()));
    let mut loader = Loader::new(catalog.clone(), sampler(&catalog, 40), config).expect("loader");
    assert_eq!(
        loader.channels(),
        2,
        "the label band is not an image channel"
    );
    let mut chips = 0;
    for batch in &mut loader {
        let batch = batch.expect("batch");
        assert_eq!(batch.mask_dtype(), Some(DataType::U32));
        let image = batch.image::<u16>().expect("u16 image");
        let mask = batch.mask::<u32>().expect("u32 labels");
        for c in 0..batch.len() {
            for (y, x) in [(0, 0), (5, 63), (63, 0), (31, 17), (63, 63)] {
                let (col, row) = (image[[c, 0, y, x]] as usize, image[[c, 1, y, x]] as usize);
                assert_eq!(
                    mask[[c, y, x]] as usize,
                    row * SIZE + col,
                    "chip {c} pixel ({x}, {y})"
                );
            }
            chips += 1;
        }
    }
    assert_eq!(chips, 40);
}

#[test]
fn demo_labels_equal_their_cogs_and_stay_out_of_the_image() {
    let dir = scratch_dir("labels-demo");
    let demo = DemoDataset {
        scenes: 2,
        size: 512,
        ..DemoDataset::default()
    };
    let mut files = demo.build(&dir).expect("scenes");
    let labels = demo.build_labels(&dir).expect("labels");
    files.extend(labels.iter().cloned());
    let catalog = catalog(&files, DemoDataset::FILENAME_REGEX);
    assert_eq!(catalog.len(), 2);
    let mut config = LoaderConfig::new(CHIP, CHIP);
    config.labels = Some(Labels::Band("label".into()));
    let mut loader = Loader::new(catalog.clone(), sampler(&catalog, 64), config).expect("loader");
    assert_eq!(loader.channels(), demo.bands);
    let batch = loader.next().expect("a batch").expect("batch");
    let mask = batch.mask::<u8>().expect("u8 labels");
    let mut classes = [0usize; 4];
    for (c, slice) in batch.slices().iter().enumerate() {
        let item = &catalog.items()[slice.item];
        let asset = item.asset("label").expect("label asset");
        let cog = runtime::block_on(Cog::open(&asset.href)).expect("open");
        let window = asset.transform.window(&slice.bounds).expect("window");
        let mut want = vec![0u8; window.pixels() as usize];
        runtime::block_on(cog.read_window(&window, &[0], None, &mut want, None)).expect("read");
        let got: Vec<u8> = mask.slice(ndarray::s![c, .., ..]).iter().copied().collect();
        assert_eq!(got, want, "chip {c}");
        for v in got {
            classes[v as usize] += 1;
        }
    }
    assert!(
        classes.iter().all(|&n| n > 0),
        "every class appears: {classes:?}"
    );
    let plain = Loader::new(
        catalog.clone(),
        sampler(&catalog, 64),
        LoaderConfig::new(CHIP, CHIP),
    );
    assert!(
        plain.is_err_and(|e| e.to_string().contains("label")),
        "without `labels`, the u8 label band cannot join the u16 image"
    );
}
