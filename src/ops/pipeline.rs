//! Pipeline: a Sequential bound to one input spec — each op's spec worked out once, each op run in place where
//! it can, and otherwise from one reused buffer into another, the last such op writing straight into the
//! output chip.

use super::chip::{ChipMut, ChipPool, Io};
use super::{AnyOp, Context, Op, Spec, bad};
use crate::error::Result;

/// Ops bound to chips of one input spec. Shared across threads: each chip run borrows two scratch buffers
/// from the pipeline's pool, so steady-state runs allocate nothing.
#[derive(Debug)]
pub struct Pipeline {
    ops: Vec<AnyOp>,
    /// `specs[i]` is op `i`'s input; the last is the output.
    specs: Vec<Spec>,
    /// Whether op `i` runs in place.
    in_place: Vec<bool>,
    scratch: ChipPool,
}

/// Where a chip's current pixels are while a pipeline runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum At {
    Src,
    A,
    B,
    Dst,
}

impl Pipeline {
    /// `ops` bound to chips of `input` (each op's [`Op::output`] checked in turn).
    pub(crate) fn new(ops: Vec<AnyOp>, input: Spec) -> Result<Pipeline> {
        let mut specs = vec![input];
        let mut in_place = Vec::with_capacity(ops.len());
        for op in &ops {
            let spec = specs.last().expect("specs start with the input");
            in_place.push(op.in_place(spec));
            let next = op.output(spec)?;
            specs.push(next);
        }
        Ok(Pipeline {
            ops,
            specs,
            in_place,
            scratch: ChipPool::default(),
        })
    }

    /// The spec of the chips it takes.
    pub fn input(&self) -> &Spec {
        &self.specs[0]
    }

    /// The spec of the chips it gives.
    pub fn output(&self) -> &Spec {
        self.specs.last().expect("specs start with the input")
    }

    /// Whether the whole pipeline can run over its input ([`Pipeline::run_in_place`]): every op runs in
    /// place, so input and output chips have the same layout.
    pub fn in_place(&self) -> bool {
        self.in_place.iter().all(|p| *p)
    }

    /// Run every op over `chip` (laid out as the input, which is the output). Only for pipelines that are
    /// [`Pipeline::in_place`].
    pub fn run_in_place(&self, mut chip: ChipMut<'_>, ctx: &mut Context<'_>) -> Result<()> {
        if !self.in_place() {
            return Err(bad("pipeline", "has ops that cannot run in place"));
        }
        self.check(&chip, self.input(), "input")?;
        for (i, op) in self.ops.iter().enumerate() {
            ctx.step = i as u64;
            op.apply(&self.specs[i], Io::InPlace(chip.reborrow()), ctx)?;
        }
        Ok(())
    }

    /// Run every op on `src` (laid out as the input; ops may rewrite it) and write the result into `dst`
    /// (laid out as the output). `ctx` ends with the output's transform.
    pub fn run(
        &self,
        mut src: ChipMut<'_>,
        mut dst: ChipMut<'_>,
        ctx: &mut Context<'_>,
    ) -> Result<()> {
        self.check(&src, self.input(), "input")?;
        self.check(&dst, self.output(), "output")?;
        let (mut a, mut b) = (self.scratch.take(), self.scratch.take());
        let last_copy = self.in_place.iter().rposition(|p| !p);
        let mut at = At::Src;
        let mut result = Ok(());
        for (i, op) in self.ops.iter().enumerate() {
            ctx.step = i as u64;
            let (input, output) = (&self.specs[i], &self.specs[i + 1]);
            let (io, to) = if self.in_place[i] {
                let chip = match at {
                    At::Src => src.reborrow(),
                    At::A => a.view(input),
                    At::B => b.view(input),
                    At::Dst => dst.reborrow(),
                };
                (Io::InPlace(chip), at)
            } else {
                let to = match (Some(i) == last_copy, at) {
                    (true, _) => At::Dst,
                    (false, At::A) => At::B,
                    (false, _) => At::A,
                };
                let io = match (at, to) {
                    (At::Src, At::A) => Io::Copy(src.to_ref(), a.view(output)),
                    (At::Src, _) => Io::Copy(src.to_ref(), dst.reborrow()),
                    (At::A, At::B) => Io::Copy(a.view(input).into_ref(), b.view(output)),
                    (At::A, _) => Io::Copy(a.view(input).into_ref(), dst.reborrow()),
                    (At::B, At::A) => Io::Copy(b.view(input).into_ref(), a.view(output)),
                    (At::B, _) => Io::Copy(b.view(input).into_ref(), dst.reborrow()),
                    (At::Dst, _) => unreachable!("only the last copying op writes the output"),
                };
                (io, to)
            };
            result = op.apply(input, io, ctx);
            if result.is_err() {
                break;
            }
            at = to;
        }
        if result.is_ok() {
            match at {
                At::Src => dst.copy_from(src.to_ref()),
                At::A => dst.copy_from(a.view(self.output()).into_ref()),
                At::B => dst.copy_from(b.view(self.output()).into_ref()),
                At::Dst => {}
            }
        }
        self.scratch.put(a);
        self.scratch.put(b);
        result
    }

    /// Check that `chip` has the sizes of `spec`.
    fn check(&self, chip: &ChipMut<'_>, spec: &Spec, which: &str) -> Result<()> {
        let sizes = (chip.image.len(), chip.valid.len(), chip.labels.len());
        let want = (spec.image_bytes(), spec.pixels(), spec.labels_bytes());
        if sizes == want {
            Ok(())
        } else {
            Err(bad(
                "pipeline",
                format!(
                    "the {which} chip has {sizes:?} bytes of image, validity and labels; its spec needs {want:?}"
                ),
            ))
        }
    }
}
