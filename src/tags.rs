//! TIFF and GeoTIFF numbers, written once for the reader and the writer: tag codes and GeoKey ids.

/// NewSubfileType: bit 0 reduced resolution (overview), bit 2 transparency mask.
pub(crate) const NEW_SUBFILE_TYPE: u16 = 254;
pub(crate) const IMAGE_WIDTH: u16 = 256;
pub(crate) const IMAGE_LENGTH: u16 = 257;
pub(crate) const BITS_PER_SAMPLE: u16 = 258;
pub(crate) const COMPRESSION: u16 = 259;
pub(crate) const PHOTOMETRIC_INTERPRETATION: u16 = 262;
pub(crate) const STRIP_OFFSETS: u16 = 273;
pub(crate) const SAMPLES_PER_PIXEL: u16 = 277;
pub(crate) const ROWS_PER_STRIP: u16 = 278;
pub(crate) const STRIP_BYTE_COUNTS: u16 = 279;
pub(crate) const PLANAR_CONFIGURATION: u16 = 284;
pub(crate) const PREDICTOR: u16 = 317;
pub(crate) const TILE_WIDTH: u16 = 322;
pub(crate) const TILE_LENGTH: u16 = 323;
pub(crate) const TILE_OFFSETS: u16 = 324;
pub(crate) const TILE_BYTE_COUNTS: u16 = 325;
pub(crate) const EXTRA_SAMPLES: u16 = 338;
pub(crate) const SAMPLE_FORMAT: u16 = 339;
pub(crate) const JPEG_TABLES: u16 = 347;
pub(crate) const MODEL_PIXEL_SCALE: u16 = 33550;
pub(crate) const MODEL_TIEPOINT: u16 = 33922;
pub(crate) const MODEL_TRANSFORMATION: u16 = 34264;
pub(crate) const GEO_KEY_DIRECTORY: u16 = 34735;
pub(crate) const GEO_ASCII_PARAMS: u16 = 34737;
pub(crate) const GDAL_METADATA: u16 = 42112;
pub(crate) const GDAL_NODATA: u16 = 42113;
/// GDAL's LercParameters: LERC version, additional compression.
#[cfg(feature = "lerc")]
pub(crate) const LERC_PARAMETERS: u16 = 50674;

/// GeoKey ids (in the GeoKeyDirectory), and the value that marks a user-defined CRS.
pub(crate) mod geokey {
    pub(crate) const GT_MODEL_TYPE: u16 = 1024;
    pub(crate) const GT_RASTER_TYPE: u16 = 1025;
    pub(crate) const GEOGRAPHIC_TYPE: u16 = 2048;
    pub(crate) const PROJECTED_CS_TYPE: u16 = 3072;
    pub(crate) const USER_DEFINED: u16 = 32767;
}
