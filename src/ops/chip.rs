//! A chip's pixels as ops see them: the image [C, H, W], the validity mask [H, W] (1 where every band is
//! valid) and the label mask [H, W] (empty when the chip has none), borrowed or owned.

use std::sync::Mutex;

use super::spec::Spec;
use crate::error::{Error, Result};

/// A chip to read from.
#[derive(Debug, Clone, Copy)]
pub struct ChipRef<'a> {
    /// Image samples [C, H, W], native-endian, aligned for the sample type.
    pub image: &'a [u8],
    /// Validity [H, W]: 1 where every band is valid, else 0.
    pub valid: &'a [u8],
    /// Label samples [H, W] (empty when the chip has no labels).
    pub labels: &'a [u8],
}

/// A chip to write.
#[derive(Debug)]
pub struct ChipMut<'a> {
    /// Image samples [C, H, W], native-endian, aligned for the sample type.
    pub image: &'a mut [u8],
    /// Validity [H, W]: 1 where every band is valid, else 0.
    pub valid: &'a mut [u8],
    /// Label samples [H, W] (empty when the chip has no labels).
    pub labels: &'a mut [u8],
}

impl<'a> ChipMut<'a> {
    /// A shorter borrow of the same chip.
    pub fn reborrow(&mut self) -> ChipMut<'_> {
        ChipMut {
            image: self.image,
            valid: self.valid,
            labels: self.labels,
        }
    }

    /// The same chip, read-only.
    pub fn to_ref(&self) -> ChipRef<'_> {
        ChipRef {
            image: self.image,
            valid: self.valid,
            labels: self.labels,
        }
    }

    /// The same chip, read-only, for as long as this borrow.
    pub fn into_ref(self) -> ChipRef<'a> {
        ChipRef {
            image: self.image,
            valid: self.valid,
            labels: self.labels,
        }
    }

    /// Copy `src` (of the same layout) into this chip.
    pub fn copy_from(&mut self, src: ChipRef<'_>) {
        self.image.copy_from_slice(src.image);
        self.valid.copy_from_slice(src.valid);
        self.labels.copy_from_slice(src.labels);
    }
}

/// Where an op's output goes: over its input, or into a separate chip laid out as the op's output spec.
#[derive(Debug)]
pub enum Io<'a> {
    /// Rewrite this chip (only for ops whose [`super::Op::in_place`] says so).
    InPlace(ChipMut<'a>),
    /// Read the first chip (the op's input spec), write the second (its output spec).
    Copy(ChipRef<'a>, ChipMut<'a>),
}

impl<'a> Io<'a> {
    /// The chip an in-place op rewrites: the input itself, or the destination once the input is copied there.
    pub fn into_place(self) -> ChipMut<'a> {
        match self {
            Io::InPlace(chip) => chip,
            Io::Copy(src, mut dst) => {
                dst.copy_from(src);
                dst
            }
        }
    }
}

impl<'a> Io<'a> {
    /// The source and destination of an op that cannot run in place (`op` names it in the error a misuse
    /// gets).
    pub fn split(self, op: &str) -> Result<(ChipRef<'a>, ChipMut<'a>)> {
        match self {
            Io::Copy(src, dst) => Ok((src, dst)),
            Io::InPlace(_) => Err(Error::Op {
                op: op.into(),
                reason: "runs only from one chip into another, not in place".into(),
            }),
        }
    }
}

/// Copy the masks (validity, labels) of `src` into `dst`: for ops that change only the image.
pub(crate) fn carry_masks(src: &ChipRef<'_>, dst: &mut ChipMut<'_>) {
    dst.valid.copy_from_slice(src.valid);
    dst.labels.copy_from_slice(src.labels);
}

/// A chip's buffers, owned and reused: sized to a spec on each use, so steady-state work allocates nothing.
/// Samples are `u64`-aligned (every sample type's alignment).
#[derive(Debug, Default)]
pub struct ChipBuf {
    image: Vec<u64>,
    valid: Vec<u8>,
    labels: Vec<u64>,
}

impl ChipBuf {
    /// The buffers as a chip of `spec` (grown if needed; contents unspecified).
    pub fn view(&mut self, spec: &Spec) -> ChipMut<'_> {
        ChipMut {
            image: bytes_of(&mut self.image, spec.image_bytes()),
            valid: {
                self.valid.resize(spec.pixels(), 0);
                &mut self.valid[..]
            },
            labels: bytes_of(&mut self.labels, spec.labels_bytes()),
        }
    }
}

/// The first `len` bytes of `words` (grown to hold them): a byte buffer aligned for every sample type.
pub(crate) fn bytes_of(words: &mut Vec<u64>, len: usize) -> &mut [u8] {
    words.resize(len.div_ceil(8), 0);
    // SAFETY: a `u64` slice is valid as bytes; `len` is within its `8 * words.len()` bytes.
    unsafe { std::slice::from_raw_parts_mut(words.as_mut_ptr().cast::<u8>(), len) }
}

/// Chip buffers kept for reuse across chips and threads.
#[derive(Debug, Default)]
pub struct ChipPool(Mutex<Vec<ChipBuf>>);

impl ChipPool {
    /// A buffer (a new, empty one when none is kept).
    pub fn take(&self) -> ChipBuf {
        self.lock().pop().unwrap_or_default()
    }

    /// Keep `buf` for the next [`ChipPool::take`].
    pub fn put(&self, buf: ChipBuf) {
        self.lock().push(buf);
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Vec<ChipBuf>> {
        self.0.lock().unwrap_or_else(|e| e.into_inner())
    }
}
