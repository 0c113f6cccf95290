//! Sample types as the resampler sees them: native-endian bytes in, a value to weigh, GDAL's rounding out.

/// One sample of a pixel type geochips serves (see [`DataType`](crate::DataType)).
pub(super) trait Sample: Copy {
    /// Bytes per sample.
    const SIZE: usize;

    /// The sample in `bytes` (`SIZE` of them, native-endian).
    fn load(bytes: &[u8]) -> Self;

    /// Write the sample into `out` (`SIZE` bytes, native-endian).
    fn store(self, out: &mut [u8]);

    /// The sample as a weight-able number.
    fn to_f64(self) -> f64;

    /// A weighted mean as a sample, as GDAL's warper stores it: integers rounded half up and clamped to the
    /// type's range, floats cast.
    fn from_f64(value: f64) -> Self;
}

macro_rules! integer_sample {
    ($($t:ty),*) => {$(
        impl Sample for $t {
            const SIZE: usize = std::mem::size_of::<$t>();

            fn load(bytes: &[u8]) -> $t {
                <$t>::from_ne_bytes(bytes.try_into().expect("a sample's bytes"))
            }

            fn store(self, out: &mut [u8]) {
                out.copy_from_slice(&self.to_ne_bytes());
            }

            fn to_f64(self) -> f64 {
                self as f64
            }

            fn from_f64(value: f64) -> $t {
                // `as` saturates at the type's bounds (and takes NaN to 0).
                super::map::floor(value + 0.5) as $t
            }
        }
    )*};
}

macro_rules! float_sample {
    ($($t:ty),*) => {$(
        impl Sample for $t {
            const SIZE: usize = std::mem::size_of::<$t>();

            fn load(bytes: &[u8]) -> $t {
                <$t>::from_ne_bytes(bytes.try_into().expect("a sample's bytes"))
            }

            fn store(self, out: &mut [u8]) {
                out.copy_from_slice(&self.to_ne_bytes());
            }

            fn to_f64(self) -> f64 {
                self as f64
            }

            fn from_f64(value: f64) -> $t {
                value as $t
            }
        }
    )*};
}

integer_sample!(u8, i8, u16, i16, u32, i32);
float_sample!(f32, f64);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn integers_round_half_up_and_clamp_to_their_range() {
        assert_eq!(u8::from_f64(2.5), 3);
        assert_eq!(u8::from_f64(2.4999), 2);
        assert_eq!(i16::from_f64(-2.5), -2);
        assert_eq!(i16::from_f64(-2.5001), -3);
        assert_eq!(u8::from_f64(300.0), 255);
        assert_eq!(u16::from_f64(-3.0), 0);
        assert_eq!(i32::from_f64(f64::NAN), 0);
        assert_eq!(f32::from_f64(2.5), 2.5);
    }

    #[test]
    fn samples_round_trip_through_bytes() {
        let mut b = [0u8; 4];
        (-7i32).store(&mut b);
        assert_eq!(i32::load(&b), -7);
        f32::NAN.store(&mut b);
        assert!(f32::load(&b).is_nan());
    }
}
