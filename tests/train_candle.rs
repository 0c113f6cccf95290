//! The candle adapter against the bare loader: `CandleBatches` tensors hold exactly the loader's chips (image,
//! labels, validity) for the same seed, `f32` and `f16` images included; the `train_candle` example's loss
//! goes down.

mod adapters;
mod common;

use std::cell::RefCell;

use adapters::{Chips, Data, Scratch, assert_loss_went_down, example_args};
use candle_core::{DType, Device};
use geochips::DataType;
use geochips::ops::{Cast, Sequential};
use geochips::train::candle::CandleBatches;

#[allow(dead_code)] // the example's `main`: the test calls its `train`
#[path = "../examples/train_candle.rs"]
mod train_candle;

/// The chips of `data`'s epoch 0 through `CandleBatches`, read back from the tensors (each batch's slices
/// noted on its way into the adapter).
fn candle_chips(data: &Data) -> Chips {
    let slices = RefCell::new(Vec::new());
    let batches = data.loader().inspect(|batch| {
        let batch = batch.as_ref().expect("batch");
        *slices.borrow_mut() = batch.slices().to_vec();
    });
    let mut chips = Chips::default();
    for batch in CandleBatches::new(batches, Device::Cpu) {
        let batch = batch.expect("tensors");
        assert_eq!(
            (batch.image.dtype(), batch.valid.dtype()),
            (DType::F32, DType::U8)
        );
        let (b, _, h, w) = batch.image.dims4().expect("image [B, C, H, W]");
        assert_eq!(batch.valid.dims(), [b, h, w]);
        let flat = |t: &candle_core::Tensor| t.flatten_all().expect("flatten");
        let image: Vec<f32> = flat(&batch.image).to_vec1().expect("f32");
        let mask: Option<Vec<i64>> = batch.mask.map(|mask| {
            assert_eq!((mask.dtype(), mask.dims()), (DType::U32, &[b, h, w][..]));
            let mask: Vec<u32> = flat(&mask).to_vec1().expect("u32");
            mask.into_iter().map(i64::from).collect()
        });
        let valid: Vec<u8> = flat(&batch.valid).to_vec1().expect("u8");
        chips.push(&image, mask.as_deref(), &valid, &slices.borrow());
    }
    chips
}

#[test]
fn candle_batches_hold_the_loaders_chips() {
    for data in [
        Data::nodata("candle-batches"),
        Data::labelled("candle-labels"),
    ] {
        candle_chips(&data).assert_same(&data.loader_chips(0));
    }
}

#[test]
fn candle_batches_of_f32_images_hold_the_loaders_chips() {
    let mut data = Data::labelled("candle-f32");
    let expected = data.loader_chips(0);
    data.config.dtype = Some(DataType::F32);
    candle_chips(&data).assert_same(&expected);
}

#[test]
fn candle_batches_of_f16_images_hold_the_loaders_chips() {
    // Samples of at most 1563: integers f16 holds exactly.
    let mut data = Data::nodata("candle-f16");
    let expected = data.loader_chips(0);
    data.config.ops = Some(Sequential::default().then(Cast::new(DataType::F16)));
    assert_eq!(
        data.loader()
            .next()
            .expect("a batch")
            .expect("batch")
            .dtype(),
        DataType::F16
    );
    candle_chips(&data).assert_same(&expected);
}

#[test]
fn train_candle_example_loss_goes_down() {
    let dir = Scratch::new("train-candle");
    let options = train_candle::Options::parse(&example_args(&dir)).expect("options");
    assert_loss_went_down(&train_candle::train(&options).expect("training"));
}
