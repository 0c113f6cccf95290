//! The candle adapter against the bare loader: `CandleBatches` tensors hold exactly the loader's chips (image,
//! labels, validity) for the same seed, `f32` and `f16` images included; `f32` images become CPU tensors that
//! own the ring slot's memory, and keep the loader's chips while the slots are reused; the `train_candle`
//! example's loss goes down.

mod adapters;
mod common;

use std::cell::RefCell;

use adapters::{Chips, Data, Scratch, assert_loss_went_down, example_args};
use candle_core::{DType, Device, Storage, Tensor};
use geochips::ops::{Cast, Sequential};
use geochips::train::candle::{CandleBatch, CandleBatches};
use geochips::train::with_f32_images;
use geochips::{DataType, GeoSlice};

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
        push_chips(&mut chips, &batch.expect("tensors"), &slices.borrow());
    }
    chips
}

/// Add the chips of `batch`'s tensors, of `slices`, to `chips`.
fn push_chips(chips: &mut Chips, batch: &CandleBatch, slices: &[GeoSlice]) {
    assert_eq!(
        (batch.image.dtype(), batch.valid.dtype()),
        (DType::F32, DType::U8)
    );
    let (b, _, h, w) = batch.image.dims4().expect("image [B, C, H, W]");
    assert_eq!(batch.valid.dims(), [b, h, w]);
    let flat = |t: &Tensor| t.flatten_all().expect("flatten");
    let image: Vec<f32> = flat(&batch.image).to_vec1().expect("f32");
    let mask: Option<Vec<i64>> = batch.mask.as_ref().map(|mask| {
        assert_eq!((mask.dtype(), mask.dims()), (DType::U32, &[b, h, w][..]));
        let mask: Vec<u32> = flat(mask).to_vec1().expect("u32");
        mask.into_iter().map(i64::from).collect()
    });
    let valid: Vec<u8> = flat(&batch.valid).to_vec1().expect("u8");
    chips.push(&image, mask.as_deref(), &valid, slices);
}

/// Where a CPU tensor's samples start.
fn storage_address(tensor: &Tensor) -> usize {
    let (storage, layout) = tensor.storage_and_layout();
    let Storage::Cpu(storage) = &*storage else {
        panic!("a CPU tensor");
    };
    let samples = storage.as_slice::<f32>().expect("f32 samples");
    samples[layout.start_offset()..].as_ptr() as usize
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
fn candle_cpu_tensors_own_the_slots_f32_images_and_keep_them_while_the_slots_are_reused() {
    // The loader casts the images to f32 (with_f32_images) into a ring of 2 slots; all 5 batches' tensors are
    // kept to the end, so the slots are refilled 3 times while the first tensors live.
    let mut data = Data::labelled("candle-handover");
    let expected = data.loader_chips(0);
    data.config = with_f32_images(data.config.clone());
    data.config.ring_slots = 2;
    let noted = RefCell::new(Vec::new());
    let batches = data.loader().inspect(|batch| {
        let batch = batch.as_ref().expect("batch");
        let address = batch.image_bytes().as_ptr() as usize;
        noted.borrow_mut().push((address, batch.slices().to_vec()));
    });
    let kept: Vec<CandleBatch> = CandleBatches::new(batches, Device::Cpu)
        .map(|batch| batch.expect("tensors"))
        .collect();
    let noted = noted.into_inner();
    assert_eq!((kept.len(), noted.len()), (5, 5));
    let mut chips = Chips::default();
    for (batch, (address, slices)) in kept.iter().zip(&noted) {
        assert_eq!(
            storage_address(&batch.image),
            *address,
            "the image tensor holds the slot's own memory, not a copy"
        );
        push_chips(&mut chips, batch, slices);
    }
    chips.assert_same(&expected);
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
