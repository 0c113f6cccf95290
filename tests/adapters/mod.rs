//! Shared by the training-adapter tests: a small seeded dataset with invalid pixels, the bare loader's chips
//! as the oracle, and the comparison of adapter chips against them.
#![allow(dead_code)]

use std::path::PathBuf;
use std::sync::Arc;

use geochips::samplers::{ChipSize, RandomOptions, RandomSampler};
use geochips::{Catalog, GeoSlice, Loader, LoaderConfig};

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

/// Three seeded scenes in `dir`, one with nodata (so the mask has zeros); 3 bands uint16.
pub fn catalog(dir: &Scratch) -> Arc<Catalog> {
    catalog_of(&write_scenes(&dir.0, 3, 3, 300, 200))
}

/// `CHIPS` random chips, seed 11.
pub fn sampler(catalog: &Catalog) -> RandomSampler {
    let options = RandomOptions {
        size: ChipSize::pixels(CHIP),
        length: Some(CHIPS),
        seed: 11,
        ..RandomOptions::default()
    };
    RandomSampler::new(&catalog.footprints(), options).expect("sampler")
}

/// Batches of 8.
pub fn config() -> LoaderConfig {
    let mut config = LoaderConfig::new(CHIP, CHIP);
    config.batch_size = 8;
    config
}

/// Chips as the tests compare them, one entry per chip: image values as f32, mask values, slice.
#[derive(Debug, Default, PartialEq)]
pub struct Chips {
    pub images: Vec<Vec<f32>>,
    pub masks: Vec<Vec<i64>>,
    pub slices: Vec<GeoSlice>,
}

impl Chips {
    /// Add a batch's chips from flat image [B, C, H, W] and mask [B, H, W] values.
    pub fn push(&mut self, image: &[f32], mask: &[i64], slices: &[GeoSlice]) {
        let n = slices.len();
        self.images
            .extend(image.chunks(image.len() / n).map(<[f32]>::to_vec));
        self.masks
            .extend(mask.chunks(mask.len() / n).map(<[i64]>::to_vec));
        self.slices.extend_from_slice(slices);
    }

    /// Chips `start..end`.
    pub fn part(&self, start: usize, end: usize) -> Chips {
        Chips {
            images: self.images[start..end].to_vec(),
            masks: self.masks[start..end].to_vec(),
            slices: self.slices[start..end].to_vec(),
        }
    }

    /// A checksum of the values, to print beside a mismatch.
    pub fn checksum(&self) -> f64 {
        let image: f64 = self.images.iter().flatten().map(|&v| f64::from(v)).sum();
        let mask: i64 = self.masks.iter().flatten().sum();
        image + mask as f64
    }

    /// Panics unless `self` holds exactly `expected`'s chips (and some of their pixels are invalid).
    pub fn assert_same(&self, expected: &Chips) {
        assert!(!expected.slices.is_empty());
        assert_eq!(self.slices, expected.slices, "slices");
        assert!(
            self == expected,
            "chips differ: checksum {} against the loader's {}",
            self.checksum(),
            expected.checksum()
        );
    }
}

/// The chips of the bare loader's `epoch`, from its ndarray views cast with `as`.
pub fn loader_chips(catalog: &Arc<Catalog>, epoch: u64) -> Chips {
    let mut loader = Loader::new(catalog.clone(), sampler(catalog), config()).expect("loader");
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
        let mask: Vec<i64> = batch.mask().iter().map(|&v| v as i64).collect();
        chips.push(&image, &mask, batch.slices());
    }
    assert!(
        chips.masks.iter().flatten().any(|&v| v == 0),
        "some pixels invalid"
    );
    chips
}
