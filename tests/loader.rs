//! The loader against one-by-one reads: every chip of every batch equals `Cog::read_window` of its slice
//! (which tests/python checks against rasterio), for random and grid samplers, ordered or not, with or
//! without the tile cache; same seed, same batches; leased slots never overwritten, nor images handed over
//! out of their slots; bad files skipped or named.

mod common;

use std::collections::BTreeSet;
use std::sync::Arc;

use common::{catalog_of, reference, scratch_dir, write_scenes};
use geochips::samplers::{ChipSize, GridOptions, GridSampler, RandomOptions, RandomSampler};
use geochips::{
    Batch, Catalog, DataType, GeoSlice, Loader, LoaderConfig, Mosaic, OnError, Sampler,
};

const CHIP: u32 = 64;

fn random(catalog: &Catalog, seed: u64, length: u64) -> RandomSampler {
    let options = RandomOptions {
        size: ChipSize::pixels(CHIP),
        length: Some(length),
        seed,
        ..RandomOptions::default()
    };
    RandomSampler::new(&catalog.footprints(), options).expect("sampler")
}

fn grid(catalog: &Catalog) -> GridSampler {
    let options = GridOptions {
        size: ChipSize::pixels(CHIP),
        stride: Some(ChipSize::pixels(48)),
        ..GridOptions::default()
    };
    GridSampler::new(&catalog.footprints(), options).expect("sampler")
}

/// Chips of the slice's item alone (the scenes overlap: a mosaic would fill their nodata from a
/// neighbour; tests/mosaic.rs covers that), as the reference reads them.
fn config() -> LoaderConfig {
    let mut config = LoaderConfig::new(CHIP, CHIP);
    config.mosaic = Mosaic::Single;
    config.batch_size = 8;
    config
}

/// A batch copied out of its ring slot (a consumer that keeps every batch alive would hold the whole ring).
#[derive(Debug, PartialEq)]
struct Copied {
    index: u64,
    shape: [usize; 4],
    image: Vec<u8>,
    mask: Vec<u8>,
    slices: Vec<GeoSlice>,
    items: Vec<String>,
    transforms: Vec<geochips::GeoTransform>,
}

fn copy(batch: &Batch) -> Copied {
    Copied {
        index: batch.index(),
        shape: batch.shape(),
        image: batch.image_bytes().to_vec(),
        mask: batch.valid_bytes().to_vec(),
        slices: batch.slices().to_vec(),
        items: batch.items().to_vec(),
        transforms: batch.transforms().to_vec(),
    }
}

fn drain(loader: &mut Loader) -> Vec<Copied> {
    loader.map(|b| copy(&b.expect("batch"))).collect()
}

fn run(
    catalog: &Arc<Catalog>,
    sampler: impl Sampler + 'static,
    config: LoaderConfig,
) -> Vec<Copied> {
    drain(&mut Loader::new(catalog.clone(), sampler, config).expect("loader"))
}

/// Every chip of `batches` equals its reference read; returns the slice ids seen.
fn check(catalog: &Catalog, batches: &[Copied]) -> Vec<u64> {
    let mut ids = Vec::new();
    for batch in batches {
        let [b, c, h, w] = batch.shape;
        assert_eq!((c, h, w), (3, CHIP as usize, CHIP as usize));
        let chip_bytes = c * h * w * 2;
        assert_eq!(batch.slices.len(), b);
        for (k, slice) in batch.slices.iter().enumerate() {
            let (image, mask) = reference(catalog, slice);
            assert!(
                batch.image[k * chip_bytes..][..chip_bytes] == image[..],
                "batch {} chip {k} (slice {}) differs from read_window",
                batch.index,
                slice.id
            );
            assert_eq!(
                batch.mask[k * h * w..][..h * w],
                mask[..],
                "mask of slice {}",
                slice.id
            );
            assert_eq!(batch.items[k], catalog.items()[slice.item].id);
            let t = batch.transforms[k];
            assert_eq!((t.c, t.f), (slice.bounds.minx, slice.bounds.maxy));
            ids.push(slice.id);
        }
    }
    ids
}

/// Load `sampler`'s epoch with `config` and check every chip, and that the slices delivered are exactly the
/// sampler's (in its order when `config.ordered`).
fn case<S: Sampler + Clone + 'static>(catalog: &Arc<Catalog>, sampler: S, config: &LoaderConfig) {
    let mut want: Vec<u64> = sampler.clone().map(|slice| slice.id).collect();
    assert!(
        want.len() > 20,
        "the sampler draws enough slices to fill several batches"
    );
    let batches = run(catalog, sampler, config.clone());
    let mut ids = check(catalog, &batches);
    if config.ordered {
        let indices: Vec<u64> = batches.iter().map(|b| b.index).collect();
        assert_eq!(indices, (0..batches.len() as u64).collect::<Vec<_>>());
    } else {
        ids.sort_unstable();
        want.sort_unstable();
    }
    assert_eq!(ids, want, "slices delivered, {config:?}");
}

#[test]
fn chips_equal_read_window_for_every_sampler_order_and_cache() {
    let catalog = catalog_of(&write_scenes(&scratch_dir("loader-equal"), 3, 3, 700, 600));
    for (ordered, cache) in [(true, true), (false, false), (true, false), (false, true)] {
        let mut config = config();
        config.ordered = ordered;
        config.tile_cache_bytes = if cache { 64 << 20 } else { 0 };
        case(&catalog, random(&catalog, 7, 100), &config);
        case(&catalog, grid(&catalog), &config);
    }
}

#[test]
fn same_seed_same_batches_whatever_the_threads_and_limits() {
    let catalog = catalog_of(&write_scenes(
        &scratch_dir("loader-determinism"),
        2,
        3,
        600,
        500,
    ));
    let mut slow = config();
    slow.decode_threads = Some(1);
    slow.max_requests = 1;
    slow.prefetch = 1;
    slow.ring_slots = 2;
    let mut fast = config();
    fast.decode_threads = Some(3);
    fast.max_requests = 64;
    fast.prefetch = 9;
    fast.ring_slots = 5;
    fast.tile_cache_bytes = 0;
    let a = run(&catalog, random(&catalog, 11, 60), slow);
    let b = run(&catalog, random(&catalog, 11, 60), fast.clone());
    assert_eq!(a, b);
    let c = run(&catalog, random(&catalog, 12, 60), fast);
    assert_ne!(a, c, "another seed draws other chips");
}

#[test]
fn held_batches_stay_unchanged_and_a_full_ring_errors_instead_of_overwriting() {
    let catalog = catalog_of(&write_scenes(&scratch_dir("loader-leases"), 2, 3, 600, 500));
    let mut config = config();
    config.prefetch = 2;
    config.ring_slots = 3;
    let mut loader =
        Loader::new(catalog.clone(), random(&catalog, 3, 400), config).expect("loader");
    let mut held: Vec<(Batch, Vec<u8>)> = Vec::new();
    let error = loop {
        match loader.next().expect("the epoch is longer than the ring") {
            Ok(batch) => {
                let copy = batch.image_bytes().to_vec();
                held.push((batch, copy));
                assert!(held.len() <= 3, "more batches alive than ring slots");
            }
            Err(e) => break e,
        }
    };
    assert_eq!(held.len(), 3);
    assert!(error.to_string().contains("ring slots are held"), "{error}");
    for (batch, copy) in &held {
        assert!(
            batch.image_bytes() == &copy[..],
            "batch {} changed while held",
            batch.index()
        );
    }
    let ids: BTreeSet<usize> = held.iter().map(|(b, _)| b.lease().index()).collect();
    assert_eq!(ids.len(), 3, "each held batch has its own slot");
    drop(held);
    loader.set_epoch(1);
    assert_eq!(
        loader.by_ref().count(),
        50,
        "a new epoch runs once the batches are dropped"
    );
}

#[test]
fn images_handed_over_outlive_their_slots_reuse_and_equal_read_window() {
    // Ring of 2 slots, 12 batches; every batch's image is taken out of its slot and kept to the end.
    let catalog = catalog_of(&write_scenes(
        &scratch_dir("loader-handover"),
        2,
        3,
        600,
        500,
    ));
    let mut config = config();
    config.ring_slots = 2;
    let mut plain =
        Loader::new(catalog.clone(), random(&catalog, 5, 8), config.clone()).expect("loader");
    let batch = plain.next().expect("a batch").expect("read");
    batch
        .into_image::<u16>()
        .expect_err("a ring that holds its images hands none over");
    config.hand_over_images = true;
    let mut loader = Loader::new(catalog.clone(), random(&catalog, 5, 96), config).expect("loader");
    let (mut copies, mut images) = (Vec::new(), Vec::new());
    for batch in loader.by_ref() {
        let batch = batch.expect("batch");
        let clone = batch.clone();
        let batch = batch
            .into_image::<u16>()
            .expect_err("a clone holds the slot too");
        drop(clone);
        let batch = batch.into_image::<i16>().expect_err("the images are u16");
        copies.push(copy(&batch));
        match batch.into_image::<u16>() {
            Ok(image) => images.push(image),
            Err(batch) => assert!(batch.pinned(), "only a pinned ring keeps its images"),
        }
    }
    assert_eq!(copies.len(), 12);
    check(&catalog, &copies);
    let pinned = loader.pinned() == Some(true);
    assert_eq!(images.len(), if pinned { 0 } else { 12 });
    for (image, copied) in images.iter().zip(&copies) {
        let bytes: Vec<u8> = image.iter().flat_map(|v| v.to_ne_bytes()).collect();
        assert!(
            bytes == copied.image,
            "batch {}'s image changed after it was taken",
            copied.index
        );
    }
}

#[test]
fn skip_replaces_chips_of_a_corrupt_file_and_raise_names_it() {
    let dir = scratch_dir("loader-errors");
    let paths = write_scenes(&dir, 3, 3, 600, 500);
    let catalog = catalog_of(&paths);
    // Keep the header, spoil every tile.
    let bad = &paths[1];
    let mut bytes = std::fs::read(bad).expect("read");
    let header = 4096;
    for b in &mut bytes[header..] {
        *b = b.wrapping_mul(31).wrapping_add(7);
    }
    std::fs::write(bad, bytes).expect("write");
    let mut config = config();
    config.on_error = OnError::Skip;
    let mut loader =
        Loader::new(catalog.clone(), random(&catalog, 5, 120), config.clone()).expect("loader");
    let batches = drain(&mut loader);
    let stats = loader.stats();
    let chips: usize = batches.iter().map(|b| b.slices.len()).sum();
    assert!(stats.skipped > 0, "some chips fell on the spoiled file");
    assert_eq!(chips as u64, stats.chips);
    assert!(
        batches
            .iter()
            .flat_map(|b| &b.items)
            .all(|id| id != "scene-1")
    );
    check(&catalog, &batches);
    config.on_error = OnError::Raise;
    let error = Loader::new(catalog.clone(), random(&catalog, 5, 120), config)
        .expect("loader")
        .find_map(Result::err)
        .expect("raise stops with an error");
    assert!(error.to_string().contains(bad.to_str().unwrap()), "{error}");
}

#[test]
fn cast_and_fill_follow_the_reference_read() {
    let catalog = catalog_of(&write_scenes(&scratch_dir("loader-cast"), 3, 3, 600, 500));
    let mut config = config();
    config.dtype = Some(DataType::F32);
    config.fill = Some(-1.0);
    let options = RandomOptions {
        size: ChipSize::pixels(CHIP),
        length: Some(40),
        boundless: true,
        ..RandomOptions::default()
    };
    let sampler = RandomSampler::new(&catalog.footprints(), options).expect("sampler");
    let mut filled = 0;
    for batch in Loader::new(catalog.clone(), sampler, config).expect("loader") {
        let batch = batch.expect("batch");
        let image = batch.image::<f32>().expect("f32 view");
        for (k, slice) in batch.slices().iter().enumerate() {
            let (samples, _) = reference(&catalog, slice);
            let asset = &catalog.items()[slice.item].assets[0];
            let cog = geochips::runtime::block_on(geochips::Cog::open(&asset.href)).expect("open");
            let window = asset.transform.window(&slice.bounds).expect("window");
            let mut band_mask = vec![0u8; window.pixels() as usize * 3];
            let mut scratch = vec![0u8; samples.len()];
            geochips::runtime::block_on(cog.read_window(
                &window,
                &[0, 1, 2],
                None,
                &mut scratch,
                Some(&mut band_mask),
            ))
            .expect("read");
            let chip = image.index_axis(ndarray::Axis(0), k);
            for (i, (got, raw)) in chip.iter().zip(samples.chunks_exact(2)).enumerate() {
                let want = if band_mask[i] == 0 {
                    filled += 1;
                    -1.0
                } else {
                    u16::from_ne_bytes([raw[0], raw[1]]) as f32
                };
                assert_eq!(*got, want, "slice {} sample {i}", slice.id);
            }
        }
    }
    assert!(filled > 0, "boundless chips and nodata pixels were filled");
}

#[test]
fn nearby_chips_hit_the_tile_cache() {
    let catalog = catalog_of(&write_scenes(&scratch_dir("loader-cache"), 2, 3, 900, 900));
    // Neighbourhoods of 16 chips span two batches of 8: the second finds the first's tiles decoded.
    let near = |seed| {
        let options = RandomOptions {
            size: ChipSize::pixels(CHIP),
            length: Some(64),
            seed,
            chips_per_neighbourhood: 16,
            ..RandomOptions::default()
        };
        RandomSampler::new(&catalog.footprints(), options).expect("sampler")
    };
    // One batch in flight at a time, so each batch looks up the cache after the previous one filled it.
    let mut config = config();
    config.prefetch = 1;
    let mut cached = Loader::new(catalog.clone(), near(1), config.clone()).expect("loader");
    let batches = drain(&mut cached);
    check(&catalog, &batches);
    config.tile_cache_bytes = 0;
    let mut uncached = Loader::new(catalog.clone(), near(1), config).expect("loader");
    assert_eq!(batches, drain(&mut uncached));
    let (c, u) = (cached.stats(), uncached.stats());
    assert!(c.cache_hits > 0 && u.cache_hits == 0, "{c:?} {u:?}");
    assert!(c.blocks_decoded < u.blocks_decoded, "{c:?} {u:?}");
    assert_eq!((c.chips, u.chips), (64, 64));
}

#[test]
fn the_demo_streams_every_chip_it_asks_for() {
    let dataset = geochips::demo::DemoDataset {
        scenes: 2,
        size: 512,
        ..Default::default()
    };
    let paths = dataset.build(&scratch_dir("loader-demo")).expect("dataset");
    let hrefs: Vec<String> = paths
        .iter()
        .map(|p| p.to_string_lossy().into_owned())
        .collect();
    let (t, stats) =
        geochips::runtime::block_on(geochips::demo::random_chips(&hrefs, 100, 128, 0, 1))
            .expect("demo");
    assert_eq!((t.chips, stats.chips), (100, 100));
    assert_eq!(t.bytes, 100 * 4 * 128 * 128 * 2);
    assert!(
        stats.blocks_decoded > 0 && stats.cache_hits == 0,
        "{stats:?}"
    );
}

#[test]
fn batches_report_the_rings_pinning_and_are_pinned_where_a_gpu_is() {
    let catalog = catalog_of(&write_scenes(&scratch_dir("loader-pinned"), 1, 3, 300, 300));
    let mut loader =
        Loader::new(catalog.clone(), random(&catalog, 1, 16), config()).expect("loader");
    assert_eq!(
        loader.pinned(),
        None,
        "nothing is made before the first batch"
    );
    let batch = loader.next().expect("a batch").expect("read");
    assert_eq!(loader.pinned(), Some(batch.pinned()));
    let gpu = std::path::Path::new("/dev/nvidia0").exists()
        && std::env::var_os("GEOCHIPS_NO_PIN").is_none();
    assert_eq!(
        batch.pinned(),
        gpu,
        "slots are pinned exactly where a CUDA device is"
    );
}
