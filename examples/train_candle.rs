//! Train a small convolutional segmentation model with candle (CPU) on random chips of the demo dataset, fed
//! by `geochips::train::candle::CandleBatches` from a loader that casts the images to f32 (`with_f32_images`:
//! the image tensors then take the ring slots' memory over); prints the loss and chips/s.
//!
//! `cargo run --release --example train_candle --features candle -- [--steps 300] [--batch 16] [--chip 128]
//! [--seed 0] [--dir DIR]`

use std::time::Instant;

use candle_core::{DType, Device, Module, Tensor, Var};
use candle_nn::{AdamW, Conv2d, Conv2dConfig, Optimizer, ParamsAdamW};
use geochips::Loader;
use geochips::train::candle::CandleBatches;
use geochips::train::with_f32_images;
use rand::{Rng, SeedableRng, rngs::StdRng};

#[path = "common/training.rs"]
mod training;

pub use training::Options;
use training::{CLASSES, Losses};

/// Two 3x3 convolutions and a 1x1 head: per-pixel class scores.
struct Segmenter {
    conv1: Conv2d,
    conv2: Conv2d,
    head: Conv2d,
}

impl Segmenter {
    /// A model with weights drawn from `seed` (candle cannot seed its CPU generator); its variables go into
    /// `vars`.
    fn new(channels: usize, seed: u64, vars: &mut Vec<Var>) -> candle_core::Result<Segmenter> {
        let mut rng = StdRng::seed_from_u64(seed);
        let mut conv = |from: usize, to: usize, k: usize| -> candle_core::Result<Conv2d> {
            let bound = (6.0 / (from * k * k) as f32).sqrt();
            let weights = (0..to * from * k * k)
                .map(|_| rng.random_range(-bound..bound))
                .collect();
            let weight =
                Var::from_tensor(&Tensor::from_vec(weights, (to, from, k, k), &Device::Cpu)?)?;
            let bias = Var::zeros(to, DType::F32, &Device::Cpu)?;
            let config = Conv2dConfig {
                padding: k / 2,
                ..Conv2dConfig::default()
            };
            let layer = Conv2d::new(
                weight.as_tensor().clone(),
                Some(bias.as_tensor().clone()),
                config,
            );
            vars.extend([weight, bias]);
            Ok(layer)
        };
        Ok(Segmenter {
            conv1: conv(channels, 16, 3)?,
            conv2: conv(16, 16, 3)?,
            head: conv(16, CLASSES, 1)?,
        })
    }

    /// Scores [B, CLASSES, H, W] of images [B, C, H, W] (raw values around 1000..4000).
    fn forward(&self, image: &Tensor) -> candle_core::Result<Tensor> {
        let x = ((image / 2000.0)? - 1.0)?;
        let x = self.conv1.forward(&x)?.relu()?;
        let x = self.conv2.forward(&x)?.relu()?;
        self.head.forward(&x)
    }
}

/// Train for `options.steps` steps; returns the loss of every step.
pub fn train(options: &Options) -> Losses {
    let (catalog, sampler, config) = options.data()?;
    let mut loader = Loader::new(catalog, sampler, with_f32_images(config))?;

    let mut vars = Vec::new();
    let model = Segmenter::new(training::BANDS, options.seed, &mut vars)?;
    let mut optimizer = AdamW::new(
        vars,
        ParamsAdamW {
            lr: 1e-2,
            weight_decay: 0.0,
            ..ParamsAdamW::default()
        },
    )?;
    let start = Instant::now();
    let (mut losses, mut chips) = (Vec::new(), 0);
    for batch in CandleBatches::new(&mut loader, Device::Cpu) {
        let batch = batch?;
        let (b, _, h, w) = batch.image.dims4()?;
        let scores = model.forward(&batch.image)?;
        let scores = scores
            .permute((0, 2, 3, 1))?
            .reshape((b * h * w, CLASSES))?;
        let targets = batch
            .mask
            .ok_or("the loader reads no labels")?
            .flatten_all()?;
        let loss = candle_nn::loss::cross_entropy(&scores, &targets)?;
        losses.push(loss.to_scalar::<f32>()?);
        optimizer.backward_step(&loss)?;
        chips += b;
        training::progress(options, &losses, chips, start);
    }
    Ok(losses)
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    training::main_with(train)
}
