//! Sample types as Rust types: conversions between them, the float type an op computes in, and the
//! macros that turn a runtime [`DataType`] into a monomorphised loop.

use std::ops::{Add, Div, Mul, Sub};

use half::{bf16, f16};

use crate::dtype::DataType;

/// A plain number type: any bit pattern is a value, so chip bytes can be viewed as a slice of it.
pub(crate) trait Plain: Copy + Send + Sync + 'static {}

impl Plain for u64 {}

/// One image sample type.
pub(crate) trait Element: Plain + PartialOrd {
    /// Whether every value of the type is exact in an f32 (so conversions may go through f32).
    const EXACT_F32: bool;
    /// The value as an f32 (rounded to nearest for 32-bit integers).
    fn to_f32(self) -> f32;
    /// The value as an f64 (exact).
    fn to_f64(self) -> f64;
    /// `v` in this type: floats round to nearest even, integers truncate and saturate as Rust's `as` (NaN: 0).
    fn from_f32(v: f32) -> Self;
    /// As [`Element::from_f32`], from an f64.
    fn from_f64(v: f64) -> Self;
}

macro_rules! primitive {
    ($($t:ty => $exact:expr),*) => {$(
        impl Plain for $t {}
        impl Element for $t {
            const EXACT_F32: bool = $exact;
            #[inline(always)]
            fn to_f32(self) -> f32 { self as f32 }
            #[inline(always)]
            fn to_f64(self) -> f64 { self as f64 }
            #[inline(always)]
            fn from_f32(v: f32) -> Self { v as $t }
            #[inline(always)]
            fn from_f64(v: f64) -> Self { v as $t }
        }
    )*};
}
primitive!(u8 => true, i8 => true, u16 => true, i16 => true, u32 => false, i32 => false, f32 => true,
    f64 => false);

macro_rules! half_float {
    ($($t:ty => $of_f64:path),*) => {$(
        impl Plain for $t {}
        impl Element for $t {
            const EXACT_F32: bool = true;
            #[inline(always)]
            fn to_f32(self) -> f32 { <$t>::to_f32(self) }
            #[inline(always)]
            fn to_f64(self) -> f64 { <$t>::to_f64(self) }
            #[inline(always)]
            fn from_f32(v: f32) -> Self { <$t>::from_f32(v) }
            #[inline(always)]
            fn from_f64(v: f64) -> Self { $of_f64(v) }
        }
    )*};
}
half_float!(f16 => crate::dtype::f16_of, bf16 => crate::dtype::bf16_of);

/// `x` converted to `D` with one rounding (through f32 when that is exact, else through f64).
#[inline(always)]
pub(crate) fn convert<S: Element, D: Element>(x: S) -> D {
    if S::EXACT_F32 {
        D::from_f32(x.to_f32())
    } else {
        D::from_f64(x.to_f64())
    }
}

/// The float type an op computes in: f64 for f64 output, f32 otherwise.
pub(crate) trait Real:
    Element + Add<Output = Self> + Sub<Output = Self> + Mul<Output = Self> + Div<Output = Self>
{
    /// Zero.
    const ZERO: Self;
    /// One.
    const ONE: Self;
    /// A sample in this type.
    fn of<T: Element>(x: T) -> Self;
    /// A constant in this type.
    fn lit(v: f64) -> Self;
    /// This value as an output sample of type `O`.
    fn to<O: Element>(self) -> O;
    /// `self` limited to `[lo, hi]`, NaN kept.
    fn clamp_to(self, lo: Self, hi: Self) -> Self;
}

impl Real for f32 {
    const ZERO: f32 = 0.0;
    const ONE: f32 = 1.0;
    #[inline(always)]
    fn of<T: Element>(x: T) -> f32 {
        x.to_f32()
    }
    #[inline(always)]
    fn lit(v: f64) -> f32 {
        v as f32
    }
    #[inline(always)]
    fn to<O: Element>(self) -> O {
        O::from_f32(self)
    }
    #[inline(always)]
    fn clamp_to(self, lo: f32, hi: f32) -> f32 {
        self.clamp(lo, hi)
    }
}

impl Real for f64 {
    const ZERO: f64 = 0.0;
    const ONE: f64 = 1.0;
    #[inline(always)]
    fn of<T: Element>(x: T) -> f64 {
        x.to_f64()
    }
    #[inline(always)]
    fn lit(v: f64) -> f64 {
        v
    }
    #[inline(always)]
    fn to<O: Element>(self) -> O {
        O::from_f64(self)
    }
    #[inline(always)]
    fn clamp_to(self, lo: f64, hi: f64) -> f64 {
        self.clamp(lo, hi)
    }
}

/// The sample type of a float op's output for input samples of `dtype`: floats stay as they are, integers
/// become f32.
pub(crate) fn float_of(dtype: DataType) -> DataType {
    if dtype.is_float() {
        dtype
    } else {
        DataType::F32
    }
}

/// Run `$body` with `$T` the Rust type of the [`DataType`] `$dtype`.
macro_rules! with_type {
    ($dtype:expr, |$T:ident| $body:expr) => {{
        use $crate::dtype::DataType as D;
        match $dtype {
            D::U8 => {
                type $T = u8;
                $body
            }
            D::I8 => {
                type $T = i8;
                $body
            }
            D::U16 => {
                type $T = u16;
                $body
            }
            D::I16 => {
                type $T = i16;
                $body
            }
            D::U32 => {
                type $T = u32;
                $body
            }
            D::I32 => {
                type $T = i32;
                $body
            }
            D::F32 => {
                type $T = f32;
                $body
            }
            D::F64 => {
                type $T = f64;
                $body
            }
            D::F16 => {
                type $T = half::f16;
                $body
            }
            D::BF16 => {
                type $T = half::bf16;
                $body
            }
        }
    }};
}

/// Run `$body` with `$F` the float type ([`Real`]) an op writing samples of `$dtype` computes in.
macro_rules! with_real {
    ($dtype:expr, |$F:ident| $body:expr) => {{
        if $dtype == $crate::dtype::DataType::F64 {
            type $F = f64;
            $body
        } else {
            type $F = f32;
            $body
        }
    }};
}

/// Run `$body` with `$W` an unsigned integer type of `$size` bytes (1, 2, 4 or 8): pixels moved as words.
macro_rules! with_word {
    ($size:expr, |$W:ident| $body:expr) => {{
        match $size {
            1 => {
                type $W = u8;
                $body
            }
            2 => {
                type $W = u16;
                $body
            }
            4 => {
                type $W = u32;
                $body
            }
            _ => {
                type $W = u64;
                $body
            }
        }
    }};
}

pub(crate) use {with_real, with_type, with_word};

/// The samples of type `T` in `bytes`.
///
/// # Panics
/// If `bytes` is not aligned for `T` or not a whole number of samples: chip buffers are (ring slots are
/// page-aligned, scratch buffers are `u64`-aligned, and every chip is a whole number of samples).
pub(crate) fn samples<T: Plain>(bytes: &[u8]) -> &[T] {
    // SAFETY: every `Plain` type is a number type for which any bit pattern is valid.
    let (head, body, tail) = unsafe { bytes.align_to::<T>() };
    assert!(
        head.is_empty() && tail.is_empty(),
        "chip buffers are aligned"
    );
    body
}

/// The samples of type `T` in `bytes`, writable (see [`samples`]).
pub(crate) fn samples_mut<T: Plain>(bytes: &mut [u8]) -> &mut [T] {
    // SAFETY: as in `samples`.
    let (head, body, tail) = unsafe { bytes.align_to_mut::<T>() };
    assert!(
        head.is_empty() && tail.is_empty(),
        "chip buffers are aligned"
    );
    body
}
