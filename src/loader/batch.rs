//! Batch: a filled ring slot — images [B, C, H, W], validity [B, H, W], labels [B, H, W] when the loader
//! reads them — with each chip's GeoSlice, item id and transform. The slot goes back to the ring when the Batch and every export of it are dropped.

use geochips_samplers::GeoSlice;
use ndarray::{ArrayView3, ArrayView4, ArrayView5};

use crate::dtype::DataType;
use crate::error::{Error, Result};
use crate::grid::GeoTransform;
use crate::ring::Lease;

/// A batch of chips in a ring slot.
#[derive(Debug, Clone)]
pub struct Batch {
    pub(crate) lease: Lease,
    pub(crate) index: u64,
    pub(crate) dtype: DataType,
    /// The labels' sample type; `None` when the loader reads no labels.
    pub(crate) label_dtype: Option<DataType>,
    /// Where the labels start in the slot's mask region.
    pub(crate) labels_offset: usize,
    /// Chips per sample: 1, or the time steps of time series samples.
    pub(crate) steps: usize,
    /// (chips in this batch, channels, height, width).
    pub(crate) shape: [usize; 4],
    pub(crate) slices: Vec<GeoSlice>,
    pub(crate) items: Vec<String>,
    pub(crate) transforms: Vec<GeoTransform>,
}

/// Rust sample types a batch image can be viewed as: the number types of the [`DataType`]s (sealed: a slot's
/// bytes are read as them, so they must be plain numbers, valid for every bit pattern).
pub trait Sample: Copy + 'static + sealed::Number {
    /// The matching [`DataType`].
    const DTYPE: DataType;
}

mod sealed {
    /// Implemented for the sample types only, so that no other crate can add a [`super::Sample`].
    #[allow(unreachable_pub)] // public in a private module: the way to seal a public trait
    pub trait Number {}
}

macro_rules! sample {
    ($($t:ty => $d:ident),*) => {
        $(impl Sample for $t {
            const DTYPE: DataType = DataType::$d;
        }
        impl sealed::Number for $t {})*
    };
}
sample!(u8 => U8, i8 => I8, u16 => U16, i16 => I16, u32 => U32, i32 => I32, f32 => F32, f64 => F64,
    half::f16 => F16, half::bf16 => BF16);

impl Batch {
    /// Position of this batch in its epoch (0, 1, …); in unordered mode batches may arrive out of order.
    pub fn index(&self) -> u64 {
        self.index
    }

    /// Number of chips (the batch size, or fewer for the last batch of an epoch).
    pub fn len(&self) -> usize {
        self.shape[0]
    }

    /// Whether the batch holds no chip.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// (chips, channels, height, width) of [`Batch::image_bytes`].
    pub fn shape(&self) -> [usize; 4] {
        self.shape
    }

    /// Chips per sample: 1, or `T` for time series ([`super::LoaderConfig::time_steps`]); the batch holds
    /// [`Batch::len`] / `T` samples of `T` chips each, sample-major (chip `b * T + t` is step `t` of sample
    /// `b`, and its slice's interval the step's time).
    pub fn steps(&self) -> usize {
        self.steps
    }

    /// The image sample type.
    pub fn dtype(&self) -> DataType {
        self.dtype
    }

    /// The images as native-endian bytes, [B, C, H, W] in C order.
    pub fn image_bytes(&self) -> &[u8] {
        let [b, c, h, w] = self.shape;
        &self.lease.image()[..b * c * h * w * self.dtype.size()]
    }

    /// The validity mask [B, H, W]: 1 where every band of the chip is valid, else 0.
    pub fn valid_bytes(&self) -> &[u8] {
        let [b, _, h, w] = self.shape;
        &self.lease.mask()[..b * h * w]
    }

    /// The labels' sample type, `None` when the loader reads no labels.
    pub fn mask_dtype(&self) -> Option<DataType> {
        self.label_dtype
    }

    /// The labels [B, H, W] as native-endian bytes, `None` when the loader reads no labels.
    pub fn mask_bytes(&self) -> Option<&[u8]> {
        let [b, _, h, w] = self.shape;
        let size = self.label_dtype?.size();
        Some(&self.lease.mask()[self.labels_offset..][..b * h * w * size])
    }

    /// The images as an ndarray view [B, C, H, W] of `T`, which must be the batch's [`Batch::dtype`].
    pub fn image<T: Sample>(&self) -> Result<ArrayView4<'_, T>> {
        let samples = samples::<T>(self.image_bytes(), self.dtype, "images")?;
        Ok(ArrayView4::from_shape(self.shape, samples)
            .expect("the slot holds exactly `shape` samples"))
    }

    /// The images of time series samples as an ndarray view [B, T, C, H, W] of `T` (the same samples as
    /// [`Batch::image`], B·T chips seen as B samples of [`Batch::steps`] steps).
    pub fn image_series<T: Sample>(&self) -> Result<ArrayView5<'_, T>> {
        let [n, c, h, w] = self.shape;
        let steps = self.steps;
        Ok(self
            .image::<T>()?
            .into_shape_with_order([n / steps, steps, c, h, w])
            .expect("a batch holds whole samples"))
    }

    /// The validity mask as an ndarray view [B, H, W]: 1 where every band of the chip is valid, else 0.
    pub fn valid(&self) -> ArrayView3<'_, u8> {
        let [b, _, h, w] = self.shape;
        ArrayView3::from_shape([b, h, w], self.valid_bytes())
            .expect("the slot holds exactly B*H*W mask bytes")
    }

    /// The labels as an ndarray view [B, H, W] of `T`, which must be [`Batch::mask_dtype`]; an error when the
    /// loader reads no labels ([`super::LoaderConfig::labels`]).
    pub fn mask<T: Sample>(&self) -> Result<ArrayView3<'_, T>> {
        let (Some(bytes), Some(dtype)) = (self.mask_bytes(), self.label_dtype) else {
            return Err(Error::Loader {
                reason: "this loader reads no labels (set LoaderConfig::labels)".into(),
            });
        };
        let [b, _, h, w] = self.shape;
        let samples = samples::<T>(bytes, dtype, "labels")?;
        Ok(ArrayView3::from_shape([b, h, w], samples).expect("the slot holds B*H*W labels"))
    }

    /// Each chip's GeoSlice, in batch order.
    pub fn slices(&self) -> &[GeoSlice] {
        &self.slices
    }

    /// Each chip's catalog item id.
    pub fn items(&self) -> &[String] {
        &self.items
    }

    /// Each chip's pixel → CRS transform (to write a prediction back georeferenced).
    pub fn transforms(&self) -> &[GeoTransform] {
        &self.transforms
    }

    /// Whether the slot is pinned (page-locked, registered with CUDA) host memory.
    pub fn pinned(&self) -> bool {
        self.lease.pinned()
    }

    /// The ring lease that keeps the slot from reuse: clone it into an export (DLPack) to keep the memory
    /// alive as long as the export lives.
    pub fn lease(&self) -> &Lease {
        &self.lease
    }

    /// The images [B, C, H, W] in C order as a `Vec` of `T` (the batch's [`Batch::dtype`]) that owns the
    /// slot's image memory: taken out of the ring slot without a copy, for a framework whose tensors own their
    /// memory; the slot gets fresh memory for its next batch. The batch comes back, unchanged, when its images
    /// cannot be taken so: `T` is not their type, the loader's ring does not hand images over (it does with
    /// [`super::LoaderConfig::hand_over_images`], unless it is pinned: a CUDA driver is present), or the slot is
    /// also held elsewhere (a clone of the batch or of its lease, a DLPack export). The Vec's capacity is the
    /// whole region: a short last batch leaves room.
    #[allow(clippy::result_large_err)] // the batch itself comes back, as `Arc::try_unwrap` gives the Arc back
    pub fn into_image<T: Sample>(self) -> std::result::Result<Vec<T>, Batch> {
        let [b, c, h, w] = self.shape;
        let len = b * c * h * w;
        if T::DTYPE != self.dtype || !self.lease.hands_over::<T>(len) {
            return Err(self);
        }
        // SAFETY: `T` is a Sample, a plain number type valid for every bit pattern (the trait is sealed).
        let taken = unsafe { self.lease.take_image::<T>(len) };
        // The batch owns its lease, so nothing can clone it between the check and the take.
        Ok(
            taken
                .unwrap_or_else(|_| unreachable!("checked: the batch holds the slot's only lease")),
        )
    }
}

/// `bytes` of a slot region holding `dtype` samples, viewed as `T` (which must be that type).
fn samples<'a, T: Sample>(bytes: &'a [u8], dtype: DataType, what: &str) -> Result<&'a [T]> {
    if T::DTYPE != dtype {
        return Err(Error::Loader {
            reason: format!("batch {what} are {dtype}, viewed as {}", T::DTYPE),
        });
    }
    // SAFETY: slot regions start page-aligned, or aligned for the image's sample type (an image region of its
    // own, ring::Ring::handing_over), and the labels 64-byte aligned, so aligned for the samples they hold;
    // the length is a whole number of `T` (the region holds samples of `dtype`, and `T` is that type); `T` is
    // a plain number type for which every bit pattern is valid; the borrow keeps the lease, so the memory is
    // alive and unwritten.
    Ok(unsafe {
        std::slice::from_raw_parts(bytes.as_ptr().cast::<T>(), bytes.len() / size_of::<T>())
    })
}
