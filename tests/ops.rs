//! Ops in Rust: configs round-trip through JSON and YAML, geometric ops keep the transform true to the moved
//! pixels, a pipeline that mixes in-place and copying ops equals its ops applied one at a time, and bad
//! configs and inputs give typed errors.

use geochips::dtype::DataType;
use geochips::ops::{
    AnyOp, BandMeta, Cast, ChipBuf, ChipMut, Clip, CloudMask, Context, FillNodata, IndexName, Io,
    Normalize, NormalizedDifference, Op, PercentileStretch, RandomCrop, RandomFlip, RandomRot90,
    ScaleOffset, SelectBands, Sequential, Spec, SpectralIndex,
};
use geochips::{Crs, Error, GeoTransform};

fn every_op() -> Sequential {
    Sequential::default()
        .then(CloudMask::sentinel2_scl("scl"))
        .then(CloudMask::landsat_qa_pixel("scl"))
        .then(FillNodata::mean())
        .then(FillNodata::constant(vec![1.0, 2.0, 3.0, 4.0]))
        .then(Clip::new(0.0, 10_000.0))
        .then(ScaleOffset::from_metadata())
        .then(ScaleOffset::new(1e-4, vec![-0.1, -0.1, -0.1, 0.0]))
        .then(SpectralIndex::new(
            IndexName::Ndvi,
            [("nir", "B08"), ("red", "B04")],
        ))
        .then(NormalizedDifference::new("B03", "B08", "wet"))
        .then(SelectBands::new(["B04", "B03", "B08", "ndvi", "wet"]))
        .then(PercentileStretch::new(1.0, 99.0))
        .then(Normalize::new(0.5, 0.25))
        .then(Cast::new(DataType::BF16))
        .then(RandomFlip::default())
        .then(RandomRot90::default())
        .then(RandomCrop::new(6, 5))
}

fn input() -> Spec {
    let bands = ["B04", "B03", "B08", "scl"].map(String::from).to_vec();
    Spec {
        labels: Some(DataType::U8),
        ..Spec::new(DataType::U16, bands, 8, 8)
    }
}

#[test]
fn every_op_round_trips_through_json_and_yaml() {
    let ops = every_op();
    let json = ops.to_json().unwrap();
    let yaml = ops.to_yaml().unwrap();
    assert_eq!(Sequential::from_json(&json).unwrap(), ops);
    assert_eq!(Sequential::from_yaml(&yaml).unwrap(), ops);
    assert_eq!(ops.ops.len(), 16);
}

#[test]
fn output_spec_follows_the_ops() {
    let out = every_op().output(&input()).unwrap();
    assert_eq!(out.dtype, DataType::BF16);
    assert_eq!(out.bands, ["B04", "B03", "B08", "ndvi", "wet"]);
    assert_eq!((out.width, out.height), (6, 5));
    assert_eq!(out.labels, Some(DataType::U8));
}

#[test]
fn configs_are_checked_with_typed_errors() {
    let cases = [
        r#"[{"op": "sharpen"}]"#,
        r#"[{"op": "normalize", "mean": 1}]"#,
        r#"[{"op": "cast", "dtype": "float128"}]"#,
        r#"[{"op": "clip", "min": 0, "maximum": 3}]"#,
        r#"[{"op": "cloud_mask", "band": "scl", "classes": [3], "bits": [1]}]"#,
        r#"[{"op": "normalize", "mean": [], "std": 1}]"#,
    ];
    for config in cases {
        let err = Sequential::from_json(config).unwrap_err();
        assert!(matches!(err, Error::Op { .. }), "{config}: {err}");
    }
    let bad_inputs = [
        SelectBands::new(["B05"]).into(),
        Normalize::new(vec![1.0, 2.0], 1.0).into(),
        Normalize::new(0.0, 0.0).into(),
        RandomCrop::new(9, 4).into(),
        AnyOp::from(NormalizedDifference::new("B04", "B03", "scl")),
    ];
    for op in bad_inputs {
        let err = op.output(&input()).unwrap_err();
        assert!(matches!(err, Error::Op { .. }), "{op:?}: {err}");
    }
    let rectangle = Spec::new(DataType::U8, vec!["a".into()], 8, 4);
    assert!(RandomRot90::default().output(&rectangle).is_err());
}

/// A chip of `spec` whose image band 0 holds each pixel's column and band 1 its row (f64), labels its
/// column + 100 × row (u16) and validity 1 except on the first column.
fn coordinates(spec: &Spec, buf: &mut ChipBuf) {
    let chip = buf.view(spec);
    let (w, h) = (spec.width as usize, spec.height as usize);
    let image: &mut [f64] = unsafe_cast(chip.image);
    for r in 0..h {
        for c in 0..w {
            image[r * w + c] = c as f64;
            image[w * h + r * w + c] = r as f64;
            chip.labels[2 * (r * w + c)..][..2]
                .copy_from_slice(&((c + 100 * r) as u16).to_ne_bytes());
            chip.valid[r * w + c] = u8::from(c != 0);
        }
    }
}

fn unsafe_cast(bytes: &mut [u8]) -> &mut [f64] {
    assert_eq!(bytes.as_ptr() as usize % 8, 0);
    // SAFETY: aligned (checked), any bit pattern is an f64, the length is a multiple of 8.
    unsafe { std::slice::from_raw_parts_mut(bytes.as_mut_ptr().cast(), bytes.len() / 8) }
}

#[test]
fn geometric_ops_keep_the_transform_true_to_the_moved_pixels() {
    let spec = Spec {
        labels: Some(DataType::U16),
        ..Spec::new(DataType::F64, vec!["col".into(), "row".into()], 7, 7)
    };
    let transform = GeoTransform::new(10.0, 0.0, 500_000.0, 0.0, -10.0, 4_000_070.0);
    let ops: [AnyOp; 3] = [
        RandomFlip::default().into(),
        RandomRot90::default().into(),
        RandomCrop::new(4, 5).into(),
    ];
    for op in ops {
        let out = op.output(&spec).unwrap();
        let mut seen = std::collections::HashSet::new();
        for index in 0..64 {
            let (mut src, mut dst) = (ChipBuf::default(), ChipBuf::default());
            coordinates(&spec, &mut src);
            let mut ctx = Context::new(transform, Some(Crs::from_epsg(32631)), &[], (3, 1, index));
            let io = if op.in_place(&spec) {
                Io::InPlace(src.view(&spec))
            } else {
                Io::Copy(src.view(&spec).into_ref(), dst.view(&out))
            };
            op.apply(&spec, io, &mut ctx).unwrap();
            let chip = if op.in_place(&spec) {
                src.view(&out)
            } else {
                dst.view(&out)
            };
            let (w, h) = (out.width as usize, out.height as usize);
            let labels: Vec<u16> = chip
                .labels
                .chunks_exact(2)
                .map(|b| u16::from_ne_bytes([b[0], b[1]]))
                .collect();
            let valid = chip.valid.to_vec();
            let image = unsafe_cast(chip.image);
            seen.insert(ctx.transform.to_affine().map(f64::to_bits));
            for r in 0..h {
                for c in 0..w {
                    let (col, row) = (image[r * w + c], image[w * h + r * w + c]);
                    let moved = ctx.transform.apply(c as f64 + 0.5, r as f64 + 0.5);
                    assert_eq!(
                        moved,
                        transform.apply(col + 0.5, row + 0.5),
                        "{op:?} chip {index}"
                    );
                    assert_eq!(labels[r * w + c] as f64, col + 100.0 * row);
                    assert_eq!(valid[r * w + c], u8::from(col != 0.0));
                }
            }
        }
        assert!(
            seen.len() >= 4,
            "{op:?} drew {} distinct outcomes",
            seen.len()
        );
    }
}

#[test]
fn a_pipeline_equals_its_ops_applied_one_at_a_time() {
    let ops = every_op();
    let input = input();
    let pipeline = ops.pipeline(input.clone()).unwrap();
    let meta = [BandMeta {
        scale: 2.0,
        offset: 1.0,
        ..BandMeta::named("B08")
    }];
    let fill = |buf: &mut ChipBuf| {
        let chip = buf.view(&input);
        for (i, b) in chip.image.iter_mut().enumerate() {
            *b = (i * 7 % 251) as u8;
        }
        for (i, v) in chip.valid.iter_mut().enumerate() {
            *v = u8::from(i % 5 != 0);
        }
        for (i, l) in chip.labels.iter_mut().enumerate() {
            *l = i as u8;
        }
    };
    let transform = GeoTransform::new(1.0, 0.0, 0.0, 0.0, -1.0, 8.0);
    let mut src = ChipBuf::default();
    fill(&mut src);
    let mut out = ChipBuf::default();
    let mut ctx = Context::new(transform, None, &meta, (9, 2, 5));
    pipeline
        .run(src.view(&input), out.view(pipeline.output()), &mut ctx)
        .unwrap();

    let mut spec = input.clone();
    let mut cur = ChipBuf::default();
    fill(&mut cur);
    let mut step_ctx = Context::new(transform, None, &meta, (9, 2, 5));
    for (i, op) in ops.ops.iter().enumerate() {
        let next = op.output(&spec).unwrap();
        // The op alone at its position in the pipeline (so it draws from the same stream), after no-op casts.
        let noop = AnyOp::from(Cast::new(spec.dtype));
        let alone = Sequential::new(std::iter::repeat_n(noop, i).chain([op.clone()]));
        let mut to = ChipBuf::default();
        alone
            .pipeline(spec.clone())
            .unwrap()
            .run(cur.view(&spec), to.view(&next), &mut step_ctx)
            .unwrap();
        cur = to;
        spec = next;
    }
    let a = out.view(pipeline.output());
    let (image, valid, labels) = (a.image.to_vec(), a.valid.to_vec(), a.labels.to_vec());
    let b = cur.view(&spec);
    assert_eq!(image, b.image);
    assert_eq!(valid, b.valid);
    assert_eq!(labels, b.labels);
    assert_eq!(ctx.transform, step_ctx.transform);
}

#[test]
fn chips_of_the_wrong_size_are_refused() {
    let pipeline = Sequential::default()
        .then(RandomFlip::default())
        .pipeline(input())
        .unwrap();
    let (mut image, mut valid) = (vec![0u8; 10], vec![0u8; 64]);
    let chip = ChipMut {
        image: &mut image,
        valid: &mut valid,
        labels: &mut [],
    };
    let mut ctx = Context::new(
        GeoTransform::new(1.0, 0.0, 0.0, 0.0, 1.0, 0.0),
        None,
        &[],
        (0, 0, 0),
    );
    assert!(matches!(
        pipeline.run_in_place(chip, &mut ctx),
        Err(Error::Op { .. })
    ));
}
