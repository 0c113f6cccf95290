//! Pixel data types: the sample formats a COG may hold and we can serve.

use std::fmt;
use std::str::FromStr;

/// The data type of one pixel sample, as GDAL names it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum DataType {
    /// Unsigned 8-bit integer.
    U8,
    /// Signed 8-bit integer.
    I8,
    /// Unsigned 16-bit integer.
    U16,
    /// Signed 16-bit integer.
    I16,
    /// Unsigned 32-bit integer.
    U32,
    /// Signed 32-bit integer.
    I32,
    /// 32-bit IEEE float.
    F32,
    /// 64-bit IEEE float.
    F64,
    /// 16-bit IEEE half float (an op's output: no COG is read as it, GDAL serves those as f32).
    F16,
    /// 16-bit bfloat16: the high half of an f32 (an op's output; no TIFF stores it).
    BF16,
}

impl DataType {
    /// Every type, in declaration order.
    pub const ALL: [DataType; 10] = [
        DataType::U8,
        DataType::I8,
        DataType::U16,
        DataType::I16,
        DataType::U32,
        DataType::I32,
        DataType::F32,
        DataType::F64,
        DataType::F16,
        DataType::BF16,
    ];

    /// Bytes per sample.
    pub fn size(self) -> usize {
        match self {
            DataType::U8 | DataType::I8 => 1,
            DataType::U16 | DataType::I16 | DataType::F16 | DataType::BF16 => 2,
            DataType::U32 | DataType::I32 | DataType::F32 => 4,
            DataType::F64 => 8,
        }
    }

    /// Whether samples are IEEE floats.
    pub fn is_float(self) -> bool {
        matches!(
            self,
            DataType::F32 | DataType::F64 | DataType::F16 | DataType::BF16
        )
    }

    /// The numpy name of the type (`"uint16"`, `"float32"`, ...).
    pub fn name(self) -> &'static str {
        match self {
            DataType::U8 => "uint8",
            DataType::I8 => "int8",
            DataType::U16 => "uint16",
            DataType::I16 => "int16",
            DataType::U32 => "uint32",
            DataType::I32 => "int32",
            DataType::F32 => "float32",
            DataType::F64 => "float64",
            DataType::F16 => "float16",
            DataType::BF16 => "bfloat16",
        }
    }

    /// The type for a TIFF `SampleFormat` (1 unsigned, 2 signed, 3 float) and `BitsPerSample`.
    pub fn from_tiff(sample_format: u16, bits: u16) -> Option<DataType> {
        Some(match (sample_format, bits) {
            (1, 8) => DataType::U8,
            (2, 8) => DataType::I8,
            (1, 16) => DataType::U16,
            (2, 16) => DataType::I16,
            (1, 32) => DataType::U32,
            (2, 32) => DataType::I32,
            (3, 32) => DataType::F32,
            (3, 64) => DataType::F64,
            _ => return None,
        })
    }

    /// `value` cast to this type and written as native-endian bytes into `out` (`out.len() == size()`).
    ///
    /// Casts saturate like Rust's `as`; a NaN cast to an integer type gives 0.
    pub fn write_value(self, value: f64, out: &mut [u8]) {
        match self {
            DataType::U8 => out.copy_from_slice(&(value as u8).to_ne_bytes()),
            DataType::I8 => out.copy_from_slice(&(value as i8).to_ne_bytes()),
            DataType::U16 => out.copy_from_slice(&(value as u16).to_ne_bytes()),
            DataType::I16 => out.copy_from_slice(&(value as i16).to_ne_bytes()),
            DataType::U32 => out.copy_from_slice(&(value as u32).to_ne_bytes()),
            DataType::I32 => out.copy_from_slice(&(value as i32).to_ne_bytes()),
            DataType::F32 => out.copy_from_slice(&(value as f32).to_ne_bytes()),
            DataType::F64 => out.copy_from_slice(&value.to_ne_bytes()),
            DataType::F16 => out.copy_from_slice(&f16_of(value).to_ne_bytes()),
            DataType::BF16 => out.copy_from_slice(&bf16_of(value).to_ne_bytes()),
        }
    }

    /// The native-endian sample in `bytes` (`bytes.len() == size()`) as an f64.
    pub fn read_value(self, bytes: &[u8]) -> f64 {
        fn arr<const N: usize>(b: &[u8]) -> [u8; N] {
            b.try_into().expect("sample slice has the type's size")
        }
        match self {
            DataType::U8 => bytes[0] as f64,
            DataType::I8 => bytes[0] as i8 as f64,
            DataType::U16 => u16::from_ne_bytes(arr(bytes)) as f64,
            DataType::I16 => i16::from_ne_bytes(arr(bytes)) as f64,
            DataType::U32 => u32::from_ne_bytes(arr(bytes)) as f64,
            DataType::I32 => i32::from_ne_bytes(arr(bytes)) as f64,
            DataType::F32 => f32::from_ne_bytes(arr(bytes)) as f64,
            DataType::F64 => f64::from_ne_bytes(arr(bytes)),
            DataType::F16 => half::f16::from_ne_bytes(arr(bytes)).to_f64(),
            DataType::BF16 => half::bf16::from_ne_bytes(arr(bytes)).to_f64(),
        }
    }

    /// Cast every sample of `src` (this type) into `dst` (type `to`), as [`DataType::write_value`] casts.
    pub fn cast_into(self, src: &[u8], to: DataType, dst: &mut [u8]) {
        let samples = src
            .chunks_exact(self.size())
            .zip(dst.chunks_exact_mut(to.size()));
        for (s, d) in samples {
            to.write_value(self.read_value(s), d);
        }
    }
}

/// `x` rounded once (to nearest, ties to even) to an f16. `half`'s own `from_f64` goes through an f32 on
/// x86 (rounding twice); rounding to odd into the f32 first keeps the single rounding.
pub(crate) fn f16_of(x: f64) -> half::f16 {
    half::f16::from_f32(f32_round_to_odd(x))
}

/// `x` rounded once (to nearest, ties to even) to a bfloat16 (see [`f16_of`]).
pub(crate) fn bf16_of(x: f64) -> half::bf16 {
    half::bf16::from_f32(f32_round_to_odd(x))
}

/// `x` as an f32 rounded to odd: exact values stay, others take the neighbour whose last mantissa bit is 1.
/// Rounding that again to a format at least two bits narrower equals rounding `x` there directly.
fn f32_round_to_odd(x: f64) -> f32 {
    let r = x as f32;
    if x.is_nan() || r as f64 == x || r.is_infinite() || r.to_bits() & 1 == 1 {
        return r;
    }
    // `r` is even and inexact: step one ulp towards `x` (away from zero when `|r| < |x|`).
    let away = (r as f64).abs() < x.abs();
    let magnitude = if away {
        r.abs().to_bits() + 1
    } else {
        r.abs().to_bits() - 1
    };
    f32::from_bits(magnitude | (x.is_sign_negative() as u32) << 31)
}

impl FromStr for DataType {
    type Err = String;

    /// The type of a numpy name (`"uint16"`, `"float32"`, `"bfloat16"`, ...).
    fn from_str(name: &str) -> Result<DataType, String> {
        DataType::ALL
            .into_iter()
            .find(|d| d.name() == name)
            .ok_or_else(|| {
                let names: Vec<&str> = DataType::ALL.iter().map(|d| d.name()).collect();
                format!("unknown dtype {name:?}: one of {}", names.join(", "))
            })
    }
}

impl serde::Serialize for DataType {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.name())
    }
}

impl<'de> serde::Deserialize<'de> for DataType {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<DataType, D::Error> {
        let name = String::deserialize(d)?;
        name.parse().map_err(serde::de::Error::custom)
    }
}

impl fmt::Display for DataType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}
