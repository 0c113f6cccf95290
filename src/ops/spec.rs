//! Spec: what a chip is made of — image sample type, band names, size — as an op sees it before any pixel.

use crate::dtype::DataType;

/// The layout of the chips an op takes or gives: the loader sizes its ring slots from the last op's spec.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Spec {
    /// Sample type of the image.
    pub dtype: DataType,
    /// One name per image band (channel), in order.
    pub bands: Vec<String>,
    /// Width in pixels.
    pub width: u32,
    /// Height in pixels.
    pub height: u32,
    /// Sample type of the label mask, if chips carry one (ops move its pixels, never change its values).
    pub labels: Option<DataType>,
}

impl Spec {
    /// Chips of `bands` of `dtype`, `width` × `height` px, without labels.
    pub fn new(dtype: DataType, bands: Vec<String>, width: u32, height: u32) -> Spec {
        Spec {
            dtype,
            bands,
            width,
            height,
            labels: None,
        }
    }

    /// Pixels per band.
    pub fn pixels(&self) -> usize {
        self.width as usize * self.height as usize
    }

    /// Bytes of one chip's image: bands × height × width samples.
    pub fn image_bytes(&self) -> usize {
        self.bands.len() * self.pixels() * self.dtype.size()
    }

    /// Bytes of one chip's label mask (0 without labels).
    pub fn labels_bytes(&self) -> usize {
        self.labels.map_or(0, |d| d.size() * self.pixels())
    }

    /// Position of band `name`.
    pub fn band(&self, name: &str) -> Option<usize> {
        self.bands.iter().position(|b| b == name)
    }

    /// Whether chips of `self` and `other` occupy the same bytes (same type, band count and size).
    pub fn same_layout(&self, other: &Spec) -> bool {
        self.dtype == other.dtype
            && self.bands.len() == other.bands.len()
            && (self.width, self.height) == (other.width, other.height)
            && self.labels == other.labels
    }

    /// This spec with image samples of `dtype`.
    pub(crate) fn with_dtype(&self, dtype: DataType) -> Spec {
        Spec {
            dtype,
            ..self.clone()
        }
    }
}
