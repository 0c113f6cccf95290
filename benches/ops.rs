//! Op throughput on one core: `Normalize` + `Cast` to f32 over a batch of 32 chips × 4 bands × 256 × 256 px
//! of uint16 (16 MiB in, 32 MiB out), one chip after another on the bench thread, each read from its place
//! in an input batch (the loader's staging) and written straight into its place in an output batch (the
//! loader's ring slot). Throughput is input bytes; the target is
//! ≥ 1 GB/s per core.
//!
//! - `ops/normalize_cast_f32`: the pipeline `[normalize, cast float32]` (Normalize makes the f32, the cast
//!   then has nothing to do).
//! - `ops/cast_f32_normalize`: the other order (the cast makes the f32, Normalize rewrites it in place).
//! - `ops/normalize_cast_f32_flip`: the first, then `random_flip` (in place, on the output).

use std::hint::black_box;
use std::time::Duration;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use geochips::dtype::DataType;
use geochips::ops::{Cast, ChipMut, Context, Normalize, Pipeline, RandomFlip, Sequential, Spec};
use geochips::{Crs, GeoTransform};
use rand::{Rng, SeedableRng, rngs::StdRng};

const CHIPS: usize = 32;
const SIZE: u32 = 256;

fn input() -> Spec {
    let bands = ["red", "green", "blue", "nir"].map(String::from).to_vec();
    Spec::new(DataType::U16, bands, SIZE, SIZE)
}

/// A zeroed buffer of `len` bytes, u64-aligned like a ring slot (page-aligned there).
fn aligned(words: &mut Vec<u64>, len: usize) -> &mut [u8] {
    words.resize(len.div_ceil(8), 0);
    // SAFETY: a u64 buffer viewed as its first `len` bytes.
    unsafe { std::slice::from_raw_parts_mut(words.as_mut_ptr().cast::<u8>(), len) }
}

/// Run `pipeline` over every chip of `batch` (as the loader does over its staging chips) into `out`.
fn run(
    pipeline: &Pipeline,
    batch: &mut [u8],
    valid_in: &mut [u8],
    out: &mut [u8],
    valid: &mut [u8],
) {
    let (input, output) = (pipeline.input(), pipeline.output());
    let transform = GeoTransform::new(10.0, 0.0, 500_000.0, 0.0, -10.0, 4_000_000.0);
    let srcs = batch
        .chunks_exact_mut(input.image_bytes())
        .zip(valid_in.chunks_exact_mut(input.pixels()));
    let dsts = out
        .chunks_exact_mut(output.image_bytes())
        .zip(valid.chunks_exact_mut(output.pixels()));
    for (k, ((image, valid), (out, out_valid))) in srcs.zip(dsts).enumerate() {
        let (src, dst) = (
            ChipMut {
                image,
                valid,
                labels: &mut [],
            },
            ChipMut {
                image: out,
                valid: out_valid,
                labels: &mut [],
            },
        );
        let mut ctx = Context::new(
            transform,
            Some(Crs::from_epsg(32631)),
            &[],
            (0, 0, k as u64),
        );
        pipeline
            .run(src, dst, &mut ctx)
            .expect("the bench pipeline runs");
    }
}

fn bench(c: &mut Criterion) {
    let mut rng = StdRng::seed_from_u64(7);
    let spec = input();
    let mut batch_words = Vec::new();
    let batch = aligned(&mut batch_words, CHIPS * spec.image_bytes());
    for sample in batch.chunks_exact_mut(2) {
        sample.copy_from_slice(&rng.random_range(0u16..10_000).to_ne_bytes());
    }
    let mut valid_in = vec![1u8; CHIPS * spec.pixels()];
    let normalize = Normalize::new(
        vec![1200.0, 1100.0, 1000.0, 2500.0],
        vec![400.0, 380.0, 420.0, 900.0],
    );
    let cast = Cast::new(DataType::F32);
    let pipelines = [
        (
            "normalize_cast_f32",
            Sequential::default()
                .then(normalize.clone())
                .then(cast.clone()),
        ),
        (
            "cast_f32_normalize",
            Sequential::default()
                .then(cast.clone())
                .then(normalize.clone()),
        ),
        (
            "normalize_cast_f32_flip",
            Sequential::default()
                .then(normalize)
                .then(cast)
                .then(RandomFlip::default()),
        ),
    ];
    let mut group = c.benchmark_group("ops");
    group.throughput(Throughput::Bytes(batch.len() as u64));
    group.sample_size(20);
    group.measurement_time(Duration::from_secs(5));
    for (name, ops) in pipelines {
        let pipeline = ops
            .pipeline(spec.clone())
            .expect("the bench pipeline fits its input");
        let mut out_words = Vec::new();
        let out = aligned(&mut out_words, CHIPS * pipeline.output().image_bytes());
        let mut valid = vec![0u8; CHIPS * pipeline.output().pixels()];
        group.bench_function(name, |b| {
            b.iter(|| {
                run(
                    &pipeline,
                    black_box(&mut *batch),
                    &mut valid_in,
                    out,
                    &mut valid,
                )
            })
        });
    }
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
