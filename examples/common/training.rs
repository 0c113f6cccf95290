//! What the training examples share: their options, the demo data they train on and the progress line.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Instant;

use geochips::demo::DemoDataset;
use geochips::samplers::{ChipSize, RandomOptions, RandomSampler};
use geochips::{Catalog, Labels, LoaderConfig};

/// Every step's loss, or why training stopped.
pub type Losses = Result<Vec<f32>, Box<dyn std::error::Error>>;

/// Classes of the segmentation target: the demo labels' 0-3.
pub const CLASSES: usize = 4;

/// Bands of the demo images.
pub const BANDS: usize = 4;

/// What to train on, and for how long.
#[derive(Debug, Clone)]
pub struct Options {
    /// Optimizer steps (one batch each).
    pub steps: usize,
    /// Chips per batch.
    pub batch: usize,
    /// Chip width and height in pixels.
    pub chip: u32,
    /// Seed of the sampler and of the model's initial weights.
    pub seed: u64,
    /// Where the demo dataset is written (kept for the next run).
    pub dir: PathBuf,
}

impl Options {
    /// The options from `--name value` pairs, defaults for the rest.
    pub fn parse(args: &[String]) -> Result<Options, Box<dyn std::error::Error>> {
        let mut options = Options {
            steps: 300,
            batch: 16,
            chip: 128,
            seed: 0,
            dir: std::env::temp_dir().join("geochips-demo"),
        };
        for pair in args.chunks(2) {
            let value = pair.get(1).ok_or(format!("{} needs a value", pair[0]))?;
            match pair[0].as_str() {
                "--steps" => options.steps = value.parse()?,
                "--batch" => options.batch = value.parse()?,
                "--chip" => options.chip = value.parse()?,
                "--seed" => options.seed = value.parse()?,
                "--dir" => options.dir = value.into(),
                other => return Err(format!("unknown option {other}").into()),
            }
        }
        Ok(options)
    }

    /// The demo catalog (2 scenes of 1024 x 1024 px and their labels, written into `dir` if missing), a
    /// sampler of `steps * batch` random chips and the loader configuration (the labels as the mask).
    pub fn data(
        &self,
    ) -> Result<(Arc<Catalog>, RandomSampler, LoaderConfig), Box<dyn std::error::Error>> {
        let dataset = DemoDataset {
            scenes: 2,
            size: 1024,
            bands: BANDS,
            ..DemoDataset::default()
        };
        let catalog = dataset.catalog(&self.dir)?;
        let options = RandomOptions {
            size: ChipSize::pixels(self.chip),
            length: Some((self.steps * self.batch) as u64),
            seed: self.seed,
            ..RandomOptions::default()
        };
        let sampler = RandomSampler::new(&catalog.footprints(), options)?;
        let mut config = LoaderConfig::new(self.chip, self.chip);
        config.batch_size = self.batch;
        config.labels = Some(Labels::Band("label".into()));
        Ok((Arc::new(catalog), sampler, config))
    }
}

/// Print step, loss and chips/s since `start` every 10 steps and at the last.
pub fn progress(options: &Options, losses: &[f32], chips: usize, start: Instant) {
    let step = losses.len();
    if step.is_multiple_of(10) || step == options.steps {
        println!(
            "step {step:4}  loss {:.4}  {:.0} chips/s",
            losses[step - 1],
            chips as f64 / start.elapsed().as_secs_f64()
        );
    }
}

/// Parse the command line, train, print the first and last loss.
pub fn main_with(train: fn(&Options) -> Losses) -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let losses = train(&Options::parse(&args)?)?;
    if let (Some(first), Some(last)) = (losses.first(), losses.last()) {
        println!("loss {first:.4} -> {last:.4} over {} steps", losses.len());
    }
    Ok(())
}
