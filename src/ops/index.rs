//! SpectralIndex: named normalised-difference indices (NDVI, NDWI, NBR, ...) over bands given by role.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::difference;
use super::{Context, Io, Op, Spec, bad};
use crate::error::Result;

/// A named index: which two band roles it takes the normalised difference of.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum IndexName {
    /// Vegetation: (nir - red) / (nir + red).
    Ndvi,
    /// Water, McFeeters: (green - nir) / (green + nir).
    Ndwi,
    /// Water, modified (Xu): (green - swir1) / (green + swir1).
    Mndwi,
    /// Burn ratio: (nir - swir2) / (nir + swir2).
    Nbr,
    /// Moisture: (nir - swir1) / (nir + swir1).
    Ndmi,
    /// Built-up: (swir1 - nir) / (swir1 + nir).
    Ndbi,
}

impl IndexName {
    /// The roles of the index's two bands, `(a, b)` in `(a - b) / (a + b)`.
    pub fn roles(self) -> (&'static str, &'static str) {
        match self {
            IndexName::Ndvi => ("nir", "red"),
            IndexName::Ndwi => ("green", "nir"),
            IndexName::Mndwi => ("green", "swir1"),
            IndexName::Nbr => ("nir", "swir2"),
            IndexName::Ndmi => ("nir", "swir1"),
            IndexName::Ndbi => ("swir1", "nir"),
        }
    }

    /// The index's lower-case name (the default name of the band it appends).
    pub fn name(self) -> &'static str {
        match self {
            IndexName::Ndvi => "ndvi",
            IndexName::Ndwi => "ndwi",
            IndexName::Mndwi => "mndwi",
            IndexName::Nbr => "nbr",
            IndexName::Ndmi => "ndmi",
            IndexName::Ndbi => "ndbi",
        }
    }
}

/// Append a named index as a band: the [`super::NormalizedDifference`] of the bands playing its roles. `bands` maps
/// roles (`nir`, `red`, `green`, `swir1`, `swir2`) to the chips' band names; a role not mapped is looked up
/// as a band of that name. The new band is named `name`, by default the index's name (`"ndvi"`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SpectralIndex {
    /// Which index.
    pub index: IndexName,
    /// Role → band name.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub bands: BTreeMap<String, String>,
    /// The new band's name; `None`: the index's name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
}

impl SpectralIndex {
    /// `index` over the bands playing its roles, given as `(role, band)` pairs.
    pub fn new<'a>(index: IndexName, bands: impl IntoIterator<Item = (&'a str, &'a str)>) -> Self {
        SpectralIndex {
            index,
            bands: bands
                .into_iter()
                .map(|(r, b)| (r.to_owned(), b.to_owned()))
                .collect(),
            name: None,
        }
    }

    /// The names of the two bands this index takes, `(a, b)` in `(a - b) / (a + b)`.
    fn band_names(&self) -> (&str, &str) {
        let (a, b) = self.index.roles();
        let band = |role: &'static str| self.bands.get(role).map_or(role, String::as_str);
        (band(a), band(b))
    }
}

impl Op for SpectralIndex {
    fn output(&self, input: &Spec) -> Result<Spec> {
        let (a, b) = self.index.roles();
        if let Some(role) = self
            .bands
            .keys()
            .find(|r| r.as_str() != a && r.as_str() != b)
        {
            return Err(bad(
                self.index.name(),
                format!("{role:?} is not one of its roles ({a}, {b})"),
            ));
        }
        let name = self.name.as_deref().unwrap_or(self.index.name());
        difference::appended(input, self.index.name(), self.band_names(), name)
    }

    fn in_place(&self, _input: &Spec) -> bool {
        false
    }

    fn apply(&self, input: &Spec, io: Io<'_>, _ctx: &mut Context<'_>) -> Result<()> {
        difference::append(input, io, self.index.name(), self.band_names())
    }
}
