//! Train a small convolutional segmentation model with burn (flex CPU backend + autodiff) on random chips of
//! the demo dataset, fed by `geochips::train::burn::BurnLoader`; prints the loss and chips/s.
//!
//! `cargo run --release --example train_burn --features burn -- [--steps 300] [--batch 16] [--chip 128]
//! [--seed 0] [--dir DIR]`

use std::time::Instant;

use burn::data::dataloader::DataLoader;
use burn::module::Module;
use burn::nn::PaddingConfig2d;
use burn::nn::conv::{Conv2d, Conv2dConfig};
use burn::nn::loss::CrossEntropyLossConfig;
use burn::optim::{AdamConfig, GradientsParams};
use burn::tensor::activation::relu;
use burn::tensor::{Device, Tensor};
use geochips::train::burn::BurnLoader;

#[path = "common/training.rs"]
mod training;

pub use training::Options;
use training::{CLASSES, Losses};

/// Two 3x3 convolutions and a 1x1 head: per-pixel class scores.
#[derive(Module, Debug)]
struct Segmenter {
    conv1: Conv2d,
    conv2: Conv2d,
    head: Conv2d,
}

impl Segmenter {
    fn new(channels: usize, device: &Device) -> Segmenter {
        let conv = |from, to, k| {
            Conv2dConfig::new([from, to], [k, k])
                .with_padding(PaddingConfig2d::Same)
                .init(device)
        };
        Segmenter {
            conv1: conv(channels, 16, 3),
            conv2: conv(16, 16, 3),
            head: conv(16, CLASSES, 1),
        }
    }

    /// Scores [B, CLASSES, H, W] of images [B, C, H, W] (raw values around 1000..4000).
    fn forward(&self, image: Tensor<4>) -> Tensor<4> {
        let x = image / 2000.0 - 1.0;
        let x = relu(self.conv1.forward(x));
        let x = relu(self.conv2.forward(x));
        self.head.forward(x)
    }
}

/// Train for `options.steps` steps; returns the loss of every step.
pub fn train(options: &Options) -> Losses {
    let (catalog, sampler, config) = options.data()?;
    let device = Device::flex().autodiff();
    device.seed(options.seed);
    let loader = BurnLoader::new(catalog, sampler, config, device.clone())?;

    let mut model = Segmenter::new(training::BANDS, &device);
    let mut optimizer = AdamConfig::new().init();
    let criterion = CrossEntropyLossConfig::new().init(&device);
    let start = Instant::now();
    let (mut losses, mut chips) = (Vec::new(), 0);
    for batch in loader.iter() {
        let batch = batch?;
        let [b, _, h, w] = batch.image.dims();
        let scores = model.forward(batch.image);
        let scores = scores.permute([0, 2, 3, 1]).reshape([b * h * w, CLASSES]);
        let labels = batch.mask.ok_or("the loader reads no labels")?;
        let loss = criterion.forward(scores, labels.reshape([b * h * w]));
        losses.push(loss.clone().into_scalar::<f32>());
        let grads = GradientsParams::from_grads(loss.backward(), &model);
        model = optimizer.step(1e-2, model, grads);
        chips += b;
        training::progress(options, &losses, chips, start);
    }
    Ok(losses)
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    training::main_with(train)
}
