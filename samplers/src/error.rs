//! The error a sampler's constructor returns when its inputs cannot make a sampler.

use std::fmt;

/// Why a sampler could not be built. Samplers never fail once built.
#[derive(Debug, Clone, PartialEq)]
pub enum SamplerError {
    /// An option is out of range (a zero chip size or stride, a non-finite length, ...).
    InvalidOption {
        /// The option's name, as in the options struct.
        option: &'static str,
        /// What is wrong with it.
        reason: String,
    },
    /// A footprint cannot describe a raster grid (non-positive or non-finite resolution or bounds).
    InvalidFootprint {
        /// The footprint's [`crate::Footprint::item`].
        item: usize,
        /// What is wrong with it.
        reason: String,
    },
    /// A region of interest is not a usable polygon (fewer than three points, non-finite coordinates).
    InvalidRoi(String),
}

impl fmt::Display for SamplerError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SamplerError::InvalidOption { option, reason } => {
                write!(f, "invalid sampler option `{option}`: {reason}")
            }
            SamplerError::InvalidFootprint { item, reason } => {
                write!(f, "invalid footprint of item {item}: {reason}")
            }
            SamplerError::InvalidRoi(reason) => write!(f, "invalid roi: {reason}"),
        }
    }
}

impl std::error::Error for SamplerError {}
