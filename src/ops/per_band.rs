//! PerBand: an op parameter given once for every band or once per band (a number or a list in a config).

use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::error::{Error, Result};

/// One value for every band, or one per band.
#[derive(Debug, Clone, PartialEq)]
pub struct PerBand(pub Vec<f64>);

impl PerBand {
    /// The same value for every band.
    pub fn all(value: f64) -> PerBand {
        PerBand(vec![value])
    }

    /// The value of band `band`.
    #[inline]
    pub fn get(&self, band: usize) -> f64 {
        if self.0.len() == 1 {
            self.0[0]
        } else {
            self.0[band]
        }
    }

    /// Check that the values fit chips of `bands` bands: one value, or one per band; `what` names the
    /// parameter (`"normalize.std"`) in the error.
    pub(crate) fn check(&self, bands: usize, what: &str) -> Result<()> {
        if self.0.len() == 1 || self.0.len() == bands {
            Ok(())
        } else {
            Err(Error::Op {
                op: what.into(),
                reason: format!(
                    "{} values for chips of {bands} bands: give one, or one per band",
                    self.0.len()
                ),
            })
        }
    }
}

impl From<f64> for PerBand {
    fn from(value: f64) -> PerBand {
        PerBand::all(value)
    }
}

impl From<Vec<f64>> for PerBand {
    fn from(values: Vec<f64>) -> PerBand {
        PerBand(values)
    }
}

impl Serialize for PerBand {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self.0.as_slice() {
            [one] => s.serialize_f64(*one),
            many => many.serialize(s),
        }
    }
}

impl<'de> Deserialize<'de> for PerBand {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<PerBand, D::Error> {
        #[derive(Deserialize)]
        #[serde(untagged)]
        enum Given {
            One(f64),
            Many(Vec<f64>),
        }
        match Given::deserialize(d)? {
            Given::One(v) => Ok(PerBand::all(v)),
            Given::Many(v) if v.is_empty() => Err(serde::de::Error::custom(
                "an empty list: give one value, or one per band",
            )),
            Given::Many(v) => Ok(PerBand(v)),
        }
    }
}
