//! CloudMask: pixels whose QA band flags cloud, shadow or the like become invalid in the validity mask.

use serde::{Deserialize, Serialize};

use super::element::{Element, samples, with_type};
use super::{Context, Io, Op, Spec, bad, band_of};
use crate::error::Result;

/// Which QA values mark a pixel invalid.
#[derive(Debug, Clone, PartialEq)]
pub enum QaRule {
    /// A classification band: these classes are invalid (Sentinel-2 SCL: 3 cloud shadow, 8 and 9 cloud,
    /// 10 cirrus).
    Classes(Vec<i64>),
    /// A bit-flag band: a pixel with any of these bits (0 = least significant) set is invalid (Landsat
    /// QA_PIXEL: 1 dilated cloud, 2 cirrus, 3 cloud, 4 cloud shadow).
    Bits(Vec<u32>),
}

/// Set the validity mask to 0 where band `band` (a QA band: classes or bit flags) says so; the image is left
/// as it is. QA samples are read as integers (floats truncated). In a config: `band` and one of `classes`
/// or `bits`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(try_from = "Config", into = "Config")]
pub struct CloudMask {
    /// The QA band's name.
    pub band: String,
    /// The classes or bits that mark a pixel invalid.
    pub rule: QaRule,
}

/// CloudMask as a config writes it.
#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct Config {
    band: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    classes: Option<Vec<i64>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    bits: Option<Vec<u32>>,
}

impl TryFrom<Config> for CloudMask {
    type Error = String;

    fn try_from(c: Config) -> Result<CloudMask, String> {
        let rule = match (c.classes, c.bits) {
            (Some(classes), None) => QaRule::Classes(classes),
            (None, Some(bits)) => QaRule::Bits(bits),
            _ => return Err("cloud_mask takes one of classes or bits".into()),
        };
        Ok(CloudMask { band: c.band, rule })
    }
}

impl From<CloudMask> for Config {
    fn from(m: CloudMask) -> Config {
        let (classes, bits) = match m.rule {
            QaRule::Classes(c) => (Some(c), None),
            QaRule::Bits(b) => (None, Some(b)),
        };
        Config {
            band: m.band,
            classes,
            bits,
        }
    }
}

impl CloudMask {
    /// Sentinel-2 L2A's scene classification band `band`: cloud shadow (3), cloud medium and high
    /// probability (8, 9) and thin cirrus (10) are invalid.
    pub fn sentinel2_scl(band: impl Into<String>) -> CloudMask {
        CloudMask {
            band: band.into(),
            rule: QaRule::Classes(vec![3, 8, 9, 10]),
        }
    }

    /// Landsat Collection 2's QA_PIXEL band `band`: dilated cloud (bit 1), cirrus (2), cloud (3) and cloud
    /// shadow (4) are invalid.
    pub fn landsat_qa_pixel(band: impl Into<String>) -> CloudMask {
        CloudMask {
            band: band.into(),
            rule: QaRule::Bits(vec![1, 2, 3, 4]),
        }
    }
}

impl Op for CloudMask {
    fn output(&self, input: &Spec) -> Result<Spec> {
        band_of(input, "cloud_mask", &self.band)?;
        if let QaRule::Bits(bits) = &self.rule
            && let Some(bit) = bits.iter().find(|b| **b >= 64)
        {
            return Err(bad("cloud_mask.bits", format!("bit {bit} is past 63")));
        }
        Ok(input.clone())
    }

    fn in_place(&self, _input: &Spec) -> bool {
        true
    }

    fn apply(&self, input: &Spec, io: Io<'_>, _ctx: &mut Context<'_>) -> Result<()> {
        let b = band_of(input, "cloud_mask", &self.band)?;
        let chip = io.into_place();
        let plane = input.pixels() * input.dtype.size();
        let qa = &chip.image[b * plane..][..plane];
        with_type!(input.dtype, |T| match &self.rule {
            QaRule::Classes(classes) => mask(samples::<T>(qa), chip.valid, |q| {
                classes.contains(&(q as i64))
            }),
            QaRule::Bits(bits) => {
                let flags = bits.iter().fold(0u64, |m, b| m | (1 << b));
                mask(samples::<T>(qa), chip.valid, |q| {
                    (q as i64 as u64) & flags != 0
                })
            }
        });
        Ok(())
    }
}

/// Clear `valid` where `invalid(qa)`.
fn mask<T: Element>(qa: &[T], valid: &mut [u8], invalid: impl Fn(f64) -> bool) {
    for (v, q) in valid.iter_mut().zip(qa) {
        if invalid(q.to_f64()) {
            *v = 0;
        }
    }
}
