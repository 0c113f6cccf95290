//! AnyOp: every op geochips has, as one type a config names by its `op` field.

use serde::{Deserialize, Serialize};

use super::{
    Cast, Clip, CloudMask, Context, FillNodata, Io, Normalize, NormalizedDifference, Op,
    PercentileStretch, RandomCrop, RandomFlip, RandomRot90, ScaleOffset, SelectBands, Spec,
    SpectralIndex,
};
use crate::error::Result;

macro_rules! any_op {
    ($($(#[$doc:meta])* $variant:ident($op:ty)),* $(,)?) => {
        /// One op of a [`super::Sequential`]: in a config, an object whose `op` field names the op (in
        /// snake case: `select_bands`, `cast`, ...) beside the op's own fields.
        #[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
        #[serde(tag = "op", rename_all = "snake_case")]
        pub enum AnyOp {
            $($(#[$doc])* $variant($op),)*
        }

        $(impl From<$op> for AnyOp {
            fn from(op: $op) -> AnyOp {
                AnyOp::$variant(op)
            }
        })*

        impl Op for AnyOp {
            fn output(&self, input: &Spec) -> Result<Spec> {
                match self {
                    $(AnyOp::$variant(op) => op.output(input),)*
                }
            }

            fn in_place(&self, input: &Spec) -> bool {
                match self {
                    $(AnyOp::$variant(op) => op.in_place(input),)*
                }
            }

            fn apply(&self, input: &Spec, io: Io<'_>, ctx: &mut Context<'_>) -> Result<()> {
                match self {
                    $(AnyOp::$variant(op) => op.apply(input, io, ctx),)*
                }
            }
        }
    };
}

any_op! {
    /// [`SelectBands`].
    SelectBands(SelectBands),
    /// [`Cast`].
    Cast(Cast),
    /// [`ScaleOffset`].
    ScaleOffset(ScaleOffset),
    /// [`Normalize`].
    Normalize(Normalize),
    /// [`Clip`].
    Clip(Clip),
    /// [`PercentileStretch`].
    PercentileStretch(PercentileStretch),
    /// [`NormalizedDifference`].
    NormalizedDifference(NormalizedDifference),
    /// [`SpectralIndex`] (`op: index`).
    Index(SpectralIndex),
    /// [`CloudMask`].
    CloudMask(CloudMask),
    /// [`FillNodata`].
    FillNodata(FillNodata),
    /// [`RandomFlip`].
    RandomFlip(RandomFlip),
    /// [`RandomRot90`].
    RandomRot90(RandomRot90),
    /// [`RandomCrop`].
    RandomCrop(RandomCrop),
}
