//! The burn adapters against the bare loader: `BurnLoader` batches, its epochs and slices, and `BurnDataset`
//! through burn's own `DataLoaderBuilder` hold exactly the loader's chips (image, labels, validity) for the
//! same seed, as do `BurnBatch`es of `f16` images; the `train_burn` example's loss goes down.

mod adapters;
mod common;

use adapters::{CHIPS, Chips, Data, Scratch, assert_loss_went_down, example_args};
use burn::data::dataloader::{DataLoader, DataLoaderBuilder};
use burn::data::dataset::Dataset;
use burn::tensor::Device;
use geochips::DataType;
use geochips::ops::{Cast, Sequential};
use geochips::train::burn::{BurnBatch, BurnBatcher, BurnDataset, BurnLoader};

#[allow(dead_code)] // the example's `main`: the test calls its `train`
#[path = "../examples/train_burn.rs"]
mod train_burn;

/// The chips of burn batches, read back from the tensors.
fn burn_chips(batches: impl Iterator<Item = BurnBatch>) -> Chips {
    let mut chips = Chips::default();
    for batch in batches {
        let [b, _, h, w] = batch.image.dims();
        assert_eq!(batch.valid.dims(), [b, h, w]);
        let image: Vec<f32> = batch
            .image
            .into_data()
            .convert::<f32>()
            .try_into_vec()
            .expect("f32");
        let mask: Option<Vec<i64>> = batch.mask.map(|mask| {
            assert_eq!(mask.dims(), [b, h, w]);
            mask.into_data()
                .convert::<i64>()
                .try_into_vec()
                .expect("i64")
        });
        let valid: Vec<bool> = batch.valid.into_data().try_into_vec().expect("bool");
        let valid: Vec<u8> = valid.into_iter().map(u8::from).collect();
        chips.push(&image, mask.as_deref(), &valid, &batch.slices);
    }
    chips
}

fn burn_loader(data: &Data) -> BurnLoader {
    BurnLoader::new(
        data.catalog.clone(),
        data.sampler(),
        data.config.clone(),
        Device::flex(),
    )
    .expect("loader")
}

#[test]
fn burn_loader_epochs_hold_the_loaders_chips() {
    for data in [
        Data::nodata("burn-epochs"),
        Data::labelled("burn-epochs-labels"),
    ] {
        let loader = burn_loader(&data);
        assert_eq!(loader.num_items(), CHIPS as usize);
        for epoch in 0..2 {
            let got = burn_chips(loader.iter().map(|b| b.expect("batch")));
            got.assert_same(&data.loader_chips(epoch));
        }
    }
}

#[test]
fn burn_loader_slices_hold_their_part_of_the_epoch() {
    let data = Data::labelled("burn-slices");
    let loader = burn_loader(&data);
    let expected = data.loader_chips(0);
    for (start, end) in [(0, 13), (13, 36), (5, 6)] {
        let part = loader.slice(start, end).to_device(&Device::flex());
        assert_eq!(part.num_items(), end - start);
        let got = burn_chips(part.iter().map(|b| b.expect("batch")));
        got.assert_same(&expected.part(start, end));
    }
}

#[test]
fn burn_batches_of_f16_images_hold_the_loaders_chips() {
    // Samples of at most 1563: integers f16 holds exactly.
    let mut data = Data::nodata("burn-f16");
    let expected = data.loader_chips(0);
    data.config.ops = Some(Sequential::default().then(Cast::new(DataType::F16)));
    let device = Device::flex();
    let batches = data.loader().map(|batch| {
        let batch = batch.expect("batch");
        assert_eq!(batch.dtype(), DataType::F16);
        BurnBatch::new(&batch, &device)
    });
    burn_chips(batches).assert_same(&expected);
}

#[test]
fn burn_dataset_through_burns_data_loader_holds_the_loaders_chips() {
    for data in [
        Data::nodata("burn-dataset"),
        Data::labelled("burn-dataset-labels"),
    ] {
        let dataset = BurnDataset::new(data.catalog.clone(), data.sampler(), data.config.clone())
            .expect("dataset");
        let loader = DataLoaderBuilder::new(BurnBatcher)
            .batch_size(8)
            .num_workers(2)
            .set_device(Device::flex())
            .build(dataset);
        let got = burn_chips(loader.iter().map(|b| b.expect("batch")));
        got.sorted().assert_same(&data.loader_chips(0));
    }
}

#[test]
fn burn_dataset_refuses_an_index_past_the_end() {
    let data = Data::nodata("burn-dataset-end");
    let dataset = BurnDataset::new(data.catalog.clone(), data.sampler(), data.config.clone())
        .expect("dataset");
    assert_eq!(dataset.len(), CHIPS as usize);
    let error = dataset
        .get(CHIPS as usize)
        .expect_err("past the end")
        .to_string();
    assert!(
        error.contains("chip 36 asked for, the dataset has 36"),
        "{error}"
    );
}

#[test]
fn train_burn_example_loss_goes_down() {
    let dir = Scratch::new("train-burn");
    let options = train_burn::Options::parse(&example_args(&dir)).expect("options");
    assert_loss_went_down(&train_burn::train(&options).expect("training"));
}
