//! The candle adapter against the bare loader: `CandleBatches` tensors hold exactly the loader's chips for the
//! same seed, `f32` batches included; the `train_candle` example's loss goes down.

mod adapters;
mod common;

use std::cell::RefCell;

use adapters::{Chips, Scratch, catalog, config, loader_chips, sampler};
use candle_core::{DType, Device};
use geochips::train::candle::CandleBatches;
use geochips::{DataType, Loader};

#[allow(dead_code)] // the example's `main`: the test calls its `train`
#[path = "../examples/train_candle.rs"]
mod train_candle;

/// The chips of `loader`'s epoch through `CandleBatches`, read back from the tensors (each batch's slices
/// noted on its way into the adapter).
fn candle_chips(loader: &mut Loader) -> Chips {
    let slices = RefCell::new(Vec::new());
    let batches = loader.inspect(|batch| {
        let batch = batch.as_ref().expect("batch");
        *slices.borrow_mut() = batch.slices().to_vec();
    });
    let mut chips = Chips::default();
    for tensors in CandleBatches::new(batches, Device::Cpu) {
        let (image, mask) = tensors.expect("tensors");
        assert_eq!((image.dtype(), mask.dtype()), (DType::F32, DType::U8));
        let (b, _, h, w) = image.dims4().expect("image [B, C, H, W]");
        assert_eq!(mask.dims(), [b, h, w]);
        let image: Vec<f32> = image.flatten_all().and_then(|t| t.to_vec1()).expect("f32");
        let mask: Vec<u8> = mask.flatten_all().and_then(|t| t.to_vec1()).expect("u8");
        let mask: Vec<i64> = mask.into_iter().map(i64::from).collect();
        chips.push(&image, &mask, &slices.borrow());
    }
    chips
}

#[test]
fn candle_batches_hold_the_loaders_chips() {
    let dir = Scratch::new("candle-batches");
    let catalog = catalog(&dir);
    let mut loader = Loader::new(catalog.clone(), sampler(&catalog), config()).expect("loader");
    candle_chips(&mut loader).assert_same(&loader_chips(&catalog, 0));
}

#[test]
fn candle_batches_of_f32_images_hold_the_loaders_chips() {
    let dir = Scratch::new("candle-f32");
    let catalog = catalog(&dir);
    let mut config = config();
    config.dtype = Some(DataType::F32);
    let mut loader = Loader::new(catalog.clone(), sampler(&catalog), config).expect("loader");
    candle_chips(&mut loader).assert_same(&loader_chips(&catalog, 0));
}

#[test]
fn train_candle_example_loss_goes_down() {
    let dir = Scratch::new("train-candle");
    let args: Vec<String> = [
        "--steps", "12", "--batch", "4", "--chip", "64", "--seed", "3", "--dir",
    ]
    .iter()
    .map(|s| s.to_string())
    .chain([dir.0.display().to_string()])
    .collect();
    let options = train_candle::Options::parse(&args).expect("options");
    let losses = train_candle::train(&options).expect("training");
    assert_eq!(losses.len(), 12);
    let (first, last) = (losses[0], losses[11]);
    assert!(last < first, "loss {first} -> {last}: {losses:?}");
}
