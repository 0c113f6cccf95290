//! When an item was taken: from its file name (a regex and a strftime format, as TorchGeo's
//! `filename_regex`/`date_format`) or from STAC `datetime`/`start_datetime`/`end_datetime`.

use chrono::{DateTime, NaiveDate, NaiveDateTime};
use geochips_samplers::Interval;
use regex::Regex;

/// Microseconds in one day.
const DAY_US: i64 = 86_400_000_000;

/// Dates read from file names: a regex whose named group `date` (or groups `start` and `stop`) holds the
/// date, parsed with a chrono (strftime) `format` such as `"%Y%m%d"` or `"%Y-%m-%dT%H%M%S"`.
///
/// A date without a time covers its whole day (a year-month its month, a year its year), as TorchGeo's
/// `disambiguate_timestamp` does. A name without the groups has no datetime ([`Interval::OPEN`]).
#[derive(Debug, Clone)]
pub struct FilenameDates {
    regex: Regex,
    format: String,
}

impl FilenameDates {
    /// Compile `regex`; `format` is the chrono format of the `date` group.
    pub fn new(regex: &str, format: &str) -> Result<FilenameDates, String> {
        let regex = Regex::new(regex).map_err(|e| format!("bad filename regex: {e}"))?;
        Ok(FilenameDates {
            regex,
            format: format.to_string(),
        })
    }

    /// Whether `name` (a file name, no directory) matches the regex.
    pub fn matches(&self, name: &str) -> bool {
        self.regex.is_match(name)
    }

    /// Whether the regex has a `band` group: files are then assets of band-per-file items.
    pub fn has_band_group(&self) -> bool {
        self.regex.capture_names().any(|n| n == Some("band"))
    }

    /// For a band-per-file name, the item id and the band (the asset key): the regex's `band` group, and its
    /// `item` group or else the name's stem with the band's text cut out; `None` without a `band` group.
    pub fn item_and_band(&self, name: &str) -> Option<(String, String)> {
        let caps = self.regex.captures(name)?;
        let band = caps.name("band")?;
        let item = match caps.name("item") {
            Some(item) => item.as_str().to_string(),
            None => {
                let stem = name.rsplit_once('.').map_or(name, |(stem, _)| stem);
                let cut = format!("{}{}", &name[..band.start()], &name[band.end()..]);
                cut[..cut.len() - (name.len() - stem.len())].to_string()
            }
        };
        Some((item, band.as_str().to_string()))
    }

    /// The interval `name` says, [`Interval::OPEN`] when the regex has no date group; an error when a date
    /// group does not parse with the format, or the name does not match.
    pub fn interval(&self, name: &str) -> Result<Interval, String> {
        let caps = self
            .regex
            .captures(name)
            .ok_or_else(|| format!("file name {name:?} does not match the filename regex"))?;
        if let Some(date) = caps.name("date") {
            return parse_with_format(date.as_str(), &self.format);
        }
        match (caps.name("start"), caps.name("stop")) {
            (Some(start), Some(stop)) => {
                let start = parse_with_format(start.as_str(), &self.format)?;
                let stop = parse_with_format(stop.as_str(), &self.format)?;
                Ok(Interval::new(start.start, stop.end))
            }
            _ => Ok(Interval::OPEN),
        }
    }
}

/// `text` parsed with the chrono `format`: an instant when the format has a time, else the whole day (or
/// month, or year) it names.
pub fn parse_with_format(text: &str, format: &str) -> Result<Interval, String> {
    if let Ok(t) = NaiveDateTime::parse_from_str(text, format) {
        return Ok(Interval::instant(t.and_utc().timestamp_micros()));
    }
    if let Ok(d) = NaiveDate::parse_from_str(text, format) {
        let start = day_start(d);
        return Ok(Interval::new(start, start + DAY_US - 1));
    }
    // A year-month, or a year: chrono wants a day, so give it the first one and span the whole period.
    if let Ok(d) = NaiveDate::parse_from_str(&format!("{text}-01"), &format!("{format}-%d")) {
        let next = d
            .checked_add_months(chrono::Months::new(1))
            .ok_or("date out of range")?;
        return Ok(Interval::new(day_start(d), day_start(next) - 1));
    }
    if let Ok(d) = NaiveDate::parse_from_str(&format!("{text}-01-01"), &format!("{format}-%m-%d")) {
        let next = d
            .checked_add_months(chrono::Months::new(12))
            .ok_or("date out of range")?;
        return Ok(Interval::new(day_start(d), day_start(next) - 1));
    }
    Err(format!(
        "date {text:?} does not parse with format {format:?}"
    ))
}

fn day_start(d: NaiveDate) -> i64 {
    d.and_hms_opt(0, 0, 0)
        .expect("midnight exists")
        .and_utc()
        .timestamp_micros()
}

/// An RFC 3339 datetime (STAC's format, e.g. `2023-06-01T10:20:30Z`) in microseconds since the epoch.
pub(crate) fn parse_rfc3339(text: &str) -> Result<i64, String> {
    DateTime::parse_from_rfc3339(text)
        .map(|t| t.timestamp_micros())
        .map_err(|e| format!("datetime {text:?} is not RFC 3339: {e}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_date_without_time_covers_its_day_and_a_datetime_is_an_instant() {
        let day = parse_with_format("20230601", "%Y%m%d").unwrap();
        assert_eq!(day.start, parse_rfc3339("2023-06-01T00:00:00Z").unwrap());
        assert_eq!(day.end, parse_rfc3339("2023-06-02T00:00:00Z").unwrap() - 1);
        let t = parse_with_format("20230601T102030", "%Y%m%dT%H%M%S").unwrap();
        assert_eq!(
            t,
            Interval::instant(parse_rfc3339("2023-06-01T10:20:30Z").unwrap())
        );
        let month = parse_with_format("2023-02", "%Y-%m").unwrap();
        assert_eq!(
            month.end,
            parse_rfc3339("2023-03-01T00:00:00Z").unwrap() - 1
        );
        assert!(parse_with_format("June", "%Y%m%d").is_err());
    }

    #[test]
    fn filename_regex_date_group_like_torchgeo() {
        let f = FilenameDates::new(r"^S2_(?P<date>\d{8})_.*\.tif$", "%Y%m%d").unwrap();
        let i = f.interval("S2_20230601_B02.tif").unwrap();
        assert_eq!(i.start, parse_rfc3339("2023-06-01T00:00:00Z").unwrap());
        assert!(f.interval("other.tif").is_err());
        let open = FilenameDates::new(r".*\.tif$", "%Y").unwrap();
        assert_eq!(open.item_and_band("x.tif"), None);
        assert!(open.interval("x.tif").unwrap().is_open());
    }

    #[test]
    fn band_group_names_the_asset_and_the_rest_the_item() {
        let f =
            FilenameDates::new(r"^T31_(?P<date>\d{8})_(?P<band>B\d\d)\.tif$", "%Y%m%d").unwrap();
        let (item, band) = f.item_and_band("T31_20230601_B02.tif").unwrap();
        assert_eq!((item.as_str(), band.as_str()), ("T31_20230601_", "B02"));
        let g = FilenameDates::new(r"^(?P<item>s\d+)-(?P<band>\w+)\.tif$", "%Y").unwrap();
        let (item, band) = g.item_and_band("s01-label.tif").unwrap();
        assert_eq!((item.as_str(), band.as_str()), ("s01", "label"));
    }
}
