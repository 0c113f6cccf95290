//! Shared by the training-adapter tests: two small seeded datasets — one with invalid pixels, one with labels
//! — the bare loader's chips as the oracle, and the comparison of adapter chips against them.
#![allow(dead_code)]

use std::path::PathBuf;
use std::sync::Arc;

use geochips::demo::DemoDataset;
use geochips::samplers::{ChipSize, RandomOptions, RandomSampler};
use geochips::{Catalog, GeoSlice, Labels, Loader, LoaderConfig};

use crate::common::{catalog_of, scratch_dir, write_scenes};

/// Chip width and height.
pub const CHIP: u32 = 64;
/// Chips per epoch: four batches of 8 and one of 4.
pub const CHIPS: u64 = 36;

/// A scratch directory, removed when dropped.
pub struct Scratch(pub PathBuf);

impl Scratch {
    pub fn new(name: &str) -> Scratch {
        Scratch(scratch_dir(name))
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// A catalog and the loader configuration to read it with, in a scratch directory.
pub struct Data {
    pub catalog: Arc<Catalog>,
    pub config: LoaderConfig,
    _dir: Scratch,
}

impl Data {
    /// Three seeded scenes, one with nodata (so the validity has zeros); 3 bands uint16; no labels.
    pub fn nodata(name: &str) -> Data {
        let dir = Scratch::new(name);
        let catalog = catalog_of(&write_scenes(&dir.0, 3, 3, 300, 200));
        Data {
            catalog,
            config: config(),
            _dir: dir,
        }
    }

    /// Two demo scenes of 512 px with their uint8 labels (classes 0-3), read as the mask.
    pub fn labelled(name: &str) -> Data {
        let dir = Scratch::new(name);
        let demo = DemoDataset {
            scenes: 2,
            size: 512,
            ..DemoDataset::default()
        };
        let catalog = Arc::new(demo.catalog(&dir.0).expect("demo catalog"));
        let mut config = config();
        config.labels = Some(Labels::Band("label".into()));
        Data {
            catalog,
            config,
            _dir: dir,
        }
    }

    /// `CHIPS` random chips, seed 11.
    pub fn sampler(&self) -> RandomSampler {
        let options = RandomOptions {
            size: ChipSize::pixels(CHIP),
            length: Some(CHIPS),
            seed: 11,
            ..RandomOptions::default()
        };
        RandomSampler::new(&self.catalog.footprints(), options).expect("sampler")
    }

    /// A loader of `sampler()` with `config`.
    pub fn loader(&self) -> Loader {
        Loader::new(self.catalog.clone(), self.sampler(), self.config.clone()).expect("loader")
    }

    /// The chips of the bare loader's `epoch`, from its ndarray views cast with `as`; checks that the
    /// validity has zeros or the labels several classes, so that a mix-up would show.
    pub fn loader_chips(&self, epoch: u64) -> Chips {
        let mut loader = self.loader();
        loader.set_epoch(epoch);
        let mut chips = Chips::default();
        for batch in loader {
            let batch = batch.expect("batch");
            let image: Vec<f32> = batch
                .image::<u16>()
                .expect("uint16")
                .iter()
                .map(|&v| v as f32)
                .collect();
            let mask: Option<Vec<i64>> = self.config.labels.as_ref().map(|_| {
                batch
                    .mask::<u8>()
                    .expect("uint8 labels")
                    .iter()
                    .map(|&v| v as i64)
                    .collect()
            });
            let valid: Vec<u8> = batch.valid().iter().copied().collect();
            chips.push(&image, mask.as_deref(), &valid, batch.slices());
        }
        let classes = |v: i64| chips.masks.iter().flatten().flatten().any(|&m| m == v);
        if self.config.labels.is_some() {
            assert!((0..4).all(classes), "every class appears");
        } else {
            assert!(
                chips.valid.iter().flatten().any(|&v| v == 0),
                "some pixels invalid"
            );
        }
        chips
    }
}

/// Batches of 8.
pub fn config() -> LoaderConfig {
    let mut config = LoaderConfig::new(CHIP, CHIP);
    config.batch_size = 8;
    config
}

/// Chips as the tests compare them, one entry per chip: image values as f32, labels, validity, slice.
#[derive(Debug, Default, PartialEq)]
pub struct Chips {
    pub images: Vec<Vec<f32>>,
    pub masks: Vec<Option<Vec<i64>>>,
    pub valid: Vec<Vec<u8>>,
    pub slices: Vec<GeoSlice>,
}

impl Chips {
    /// Add a batch's chips from flat image [B, C, H, W], labels and validity [B, H, W] values.
    pub fn push(&mut self, image: &[f32], mask: Option<&[i64]>, valid: &[u8], slices: &[GeoSlice]) {
        let n = slices.len();
        let plane = valid.len() / n;
        self.images
            .extend(image.chunks(image.len() / n).map(<[f32]>::to_vec));
        self.masks
            .extend((0..n).map(|i| mask.map(|m| m[i * plane..][..plane].to_vec())));
        self.valid.extend(valid.chunks(plane).map(<[u8]>::to_vec));
        self.slices.extend_from_slice(slices);
    }

    /// Chips `start..end`.
    pub fn part(&self, start: usize, end: usize) -> Chips {
        Chips {
            images: self.images[start..end].to_vec(),
            masks: self.masks[start..end].to_vec(),
            valid: self.valid[start..end].to_vec(),
            slices: self.slices[start..end].to_vec(),
        }
    }

    /// The chips in slice id order (burn's threaded data loader hands batches over as they complete).
    pub fn sorted(self) -> Chips {
        let mut order: Vec<usize> = (0..self.slices.len()).collect();
        order.sort_by_key(|&i| self.slices[i].id);
        Chips {
            images: order.iter().map(|&i| self.images[i].clone()).collect(),
            masks: order.iter().map(|&i| self.masks[i].clone()).collect(),
            valid: order.iter().map(|&i| self.valid[i].clone()).collect(),
            slices: order.iter().map(|&i| self.slices[i]).collect(),
        }
    }

    /// A checksum of the values, to print beside a mismatch.
    pub fn checksum(&self) -> f64 {
        let image: f64 = self.images.iter().flatten().map(|&v| f64::from(v)).sum();
        let mask: i64 = self.masks.iter().flatten().flatten().sum();
        let valid: u64 = self.valid.iter().flatten().map(|&v| u64::from(v)).sum();
        image + mask as f64 + valid as f64
    }

    /// Panics unless `self` holds exactly `expected`'s chips.
    pub fn assert_same(&self, expected: &Chips) {
        assert!(!expected.slices.is_empty());
        let ids = |c: &Chips| c.slices.iter().map(|s| s.id).collect::<Vec<_>>();
        assert_eq!(ids(self), ids(expected), "slice ids");
        assert_eq!(self.slices, expected.slices, "slices");
        assert!(
            self == expected,
            "chips differ: checksum {} against the loader's {}",
            self.checksum(),
            expected.checksum()
        );
    }
}

/// Steps of a short run of a training example.
const EXAMPLE_STEPS: usize = 12;

/// The arguments of a short, seeded run of a training example ([`EXAMPLE_STEPS`] steps of 4 chips of 64²)
/// on demo data in `dir`.
pub fn example_args(dir: &Scratch) -> Vec<String> {
    let steps = EXAMPLE_STEPS.to_string();
    [
        "--steps", &steps, "--batch", "4", "--chip", "64", "--seed", "3", "--dir",
    ]
    .iter()
    .map(|s| s.to_string())
    .chain([dir.0.display().to_string()])
    .collect()
}

/// That a short run's `losses` (one per step) end lower than they started.
pub fn assert_loss_went_down(losses: &[f32]) {
    assert_eq!(losses.len(), EXAMPLE_STEPS);
    let (first, last) = (losses[0], losses[EXAMPLE_STEPS - 1]);
    assert!(last < first, "loss {first} -> {last}: {losses:?}");
}
