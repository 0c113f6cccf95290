//! The catalog, end to end on real files: build from COGs written by geochips' own writer (two UTM zones),
//! bad inputs listed with their reasons, GeoParquet round trip, queries, STAC items with several assets.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use geochips::catalog::{BuildOptions, BuildReport, Catalog, write_slices};
use geochips::runtime::block_on;
use geochips::write::{CogOptions, write_cog};
use geochips::{Bounds, Crs, DataType, GeoSlice, GeoTransform, Interval};

/// A fresh directory under the system's temp dir, removed when dropped.
struct TempDir(PathBuf);

impl std::ops::Deref for TempDir {
    type Target = Path;
    fn deref(&self) -> &Path {
        &self.0
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn tempdir(name: &str) -> TempDir {
    let dir = std::env::temp_dir().join(format!("geochips-catalog-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    TempDir(dir)
}

/// A 64 × 48 px, `bands`-band uint16 COG at `path` in `epsg`, its top-left corner at (x, y), 10 m pixels.
fn cog(path: &Path, epsg: u16, x: f64, y: f64, bands: usize) {
    let mut opts = CogOptions::new(GeoTransform::new(10.0, 0.0, x, 0.0, -10.0, y));
    opts.epsg = Some(epsg);
    opts.tile_size = 32;
    opts.overviews = 1;
    opts.nodata = Some(0.0);
    let data = vec![7u8; 64 * 48 * 2 * bands];
    write_cog(path, &data, DataType::U16, bands, 64, 48, &opts).unwrap();
}

fn build(sources: &[String], options: &BuildOptions) -> geochips::Result<(Catalog, BuildReport)> {
    block_on(Catalog::build(sources, options))
}

fn s(p: &Path) -> String {
    p.to_string_lossy().into_owned()
}

#[test]
fn build_reads_headers_and_records_what_each_item_needs() {
    let dir = tempdir("basic");
    cog(
        &dir.join("a_20230601.tif"),
        32631,
        500_000.0,
        5_300_000.0,
        3,
    );
    cog(
        &dir.join("b_20230715.tif"),
        32632,
        300_000.0,
        5_300_000.0,
        1,
    );
    std::fs::write(dir.join("notes.txt"), "not a raster, not listed").unwrap();
    let calls = Arc::new(AtomicUsize::new(0));
    let last = Arc::new(AtomicUsize::new(0));
    let (c, l) = (calls.clone(), last.clone());
    let options = BuildOptions {
        filename_regex: Some(r"^[ab]_(?P<date>\d{8})\.tif$".into()),
        progress: Some(Arc::new(move |done, total| {
            c.fetch_add(1, Ordering::SeqCst);
            assert!(done <= total);
            l.store(done * 1000 + total, Ordering::SeqCst);
        })),
        ..BuildOptions::default()
    };
    let (catalog, report) = build(&[s(&dir)], &options).unwrap();
    assert_eq!(report.failures, vec![]);
    assert_eq!(catalog.len(), 2);
    assert_eq!(
        calls.load(Ordering::SeqCst),
        3,
        "once at 0, once per header"
    );
    assert_eq!(last.load(Ordering::SeqCst), 2002);

    let a = &catalog.items()[0];
    assert_eq!(a.id, "a_20230601");
    assert_eq!(a.crs, Crs::from_epsg(32631));
    assert_eq!(
        a.bounds,
        Bounds::new(500_000.0, 5_299_520.0, 500_640.0, 5_300_000.0)
    );
    let asset = &a.assets[0];
    assert_eq!(asset.key, "image");
    assert_eq!(asset.bands, ["b1", "b2", "b3"]);
    assert_eq!(
        (asset.width, asset.height, asset.tile, asset.overviews),
        (64, 48, (32, 32), 1)
    );
    assert_eq!((asset.dtype, asset.nodata), (DataType::U16, Some(0.0)));
    assert!(asset.href.ends_with("a_20230601.tif"));
    // 2023-06-01 covers the whole day, in µs since the epoch.
    assert_eq!(
        a.interval,
        Interval::new(1_685_577_600_000_000, 1_685_663_999_999_999)
    );
    // UTM 31N easting 500 000 m is the 3° E meridian; 5 300 000 m north is about 47.85° N.
    let (lon, lat) = a.footprint[0];
    assert!(
        (lon - 3.0).abs() < 1e-6 && (lat - 47.8487).abs() < 1e-3,
        "{lon} {lat}"
    );
    assert_eq!(a.footprint.first(), a.footprint.last());
    assert_eq!(catalog.items()[1].crs, Crs::from_epsg(32632));
}

#[test]
fn bad_files_are_listed_with_reasons_naming_them_and_the_rest_is_built() {
    let dir = tempdir("bad");
    cog(&dir.join("good.tif"), 32631, 500_000.0, 5_300_000.0, 1);
    let mut truncated = std::fs::read(dir.join("good.tif")).unwrap();
    truncated.truncate(24);
    std::fs::write(dir.join("corrupt.tif"), &truncated).unwrap();
    std::fs::write(
        dir.join("text.tif"),
        "this is not a TIFF at all, just words",
    )
    .unwrap();
    let missing = s(&dir.join("elsewhere/missing.tif"));
    let (catalog, report) = build(&[s(&dir), missing], &BuildOptions::default()).unwrap();
    assert_eq!(catalog.len(), 1);
    assert_eq!(catalog.items()[0].id, "good");
    assert_eq!(report.failures.len(), 3, "{:#?}", report.failures);
    for (name, f) in ["corrupt.tif", "text.tif", "missing.tif"]
        .iter()
        .zip(&report.failures)
    {
        assert!(f.href.ends_with(name), "{f:?}");
        assert!(f.reason.contains(name), "reason must name the file: {f:?}");
    }
    assert!(
        report.failures[1].reason.contains("TIFF"),
        "{:?}",
        report.failures[1]
    );

    let err = build(
        &[s(&dir)],
        &BuildOptions {
            fail_fast: true,
            ..BuildOptions::default()
        },
    )
    .unwrap_err()
    .to_string();
    assert!(
        err.contains("corrupt.tif") || err.contains("text.tif"),
        "{err}"
    );
}

#[test]
fn geoparquet_round_trip_is_equal_and_queries_work_in_any_crs() {
    let dir = tempdir("roundtrip");
    cog(&dir.join("a.tif"), 32631, 500_000.0, 5_300_000.0, 2);
    cog(&dir.join("b.tif"), 32632, 300_000.0, 5_300_000.0, 1);
    let (catalog, _) = build(&[s(&dir.join("*.tif"))], &BuildOptions::default()).unwrap();
    assert_eq!(catalog.len(), 2);
    let path = dir.join("catalog.parquet");
    catalog.write(&path).unwrap();
    let back = Catalog::open(&path).unwrap();
    assert_eq!(back, catalog);
    assert_eq!(back.items(), catalog.items());

    // A box in UTM 31N around item a only; the same place in EPSG:4326; everywhere.
    let utm = Crs::from_epsg(32631);
    let near_a = Bounds::new(500_100.0, 5_299_600.0, 500_200.0, 5_299_700.0);
    assert_eq!(back.query(&near_a, utm, &Interval::OPEN).unwrap(), vec![0]);
    let wgs = Bounds::new(3.0001, 47.850, 3.001, 47.851);
    assert_eq!(
        back.query(&wgs, Crs::from_epsg(4326), &Interval::OPEN)
            .unwrap(),
        vec![0]
    );
    let world = Bounds::new(-180.0, -90.0, 180.0, 90.0);
    assert_eq!(
        back.query(&world, Crs::from_epsg(4326), &Interval::OPEN)
            .unwrap(),
        vec![0, 1]
    );
    assert!(
        back.query(&world, Crs::from_epsg(999_999), &Interval::OPEN)
            .is_err()
    );
    let only_b = back.filter(|item| item.crs == Crs::from_epsg(32632));
    assert_eq!(only_b.len(), 1);
    assert_eq!(only_b.items()[0].id, "b");
}

#[test]
fn query_filters_by_time() {
    let dir = tempdir("time");
    cog(
        &dir.join("s_20230601.tif"),
        32631,
        500_000.0,
        5_300_000.0,
        1,
    );
    cog(
        &dir.join("s_20240601.tif"),
        32631,
        500_000.0,
        5_300_000.0,
        1,
    );
    cog(&dir.join("unrelated.tif"), 32631, 500_000.0, 5_300_000.0, 1);
    let options = BuildOptions {
        filename_regex: Some(r"^s_(?P<date>\d{8})".into()),
        ..BuildOptions::default()
    };
    let (catalog, report) = build(&[s(&dir)], &options).unwrap();
    assert_eq!(
        (catalog.len(), report.skipped),
        (2, 1),
        "the regex passes over unrelated.tif"
    );
    let world = Bounds::new(-180.0, -90.0, 180.0, 90.0);
    let june_2024 = Interval::new(1_717_200_000_000_000, 1_717_286_399_999_999);
    let hits = catalog
        .query(&world, Crs::from_epsg(4326), &june_2024)
        .unwrap();
    assert_eq!(hits, vec![1]);
}

#[test]
fn malformed_parquet_is_an_error_naming_the_file() {
    let dir = tempdir("badparquet");
    let garbage = dir.join("garbage.parquet");
    std::fs::write(&garbage, b"PAR1 this is not parquet at all PAR1").unwrap();
    let err = Catalog::open(&garbage).unwrap_err().to_string();
    assert!(
        err.contains("garbage.parquet") && err.contains("not a Parquet file"),
        "{err}"
    );

    cog(&dir.join("a.tif"), 32631, 500_000.0, 5_300_000.0, 1);
    let (catalog, _) = build(&[s(&dir.join("a.tif"))], &BuildOptions::default()).unwrap();
    let good = catalog.to_geoparquet().unwrap();
    let cut = dir.join("truncated.parquet");
    std::fs::write(&cut, &good[..good.len() / 2]).unwrap();
    let err = Catalog::open(&cut).unwrap_err().to_string();
    assert!(err.contains("truncated.parquet"), "{err}");
}

#[test]
fn stac_items_with_one_cog_per_band_become_multi_asset_items() {
    let dir = tempdir("stac");
    for band in ["B02", "B03", "B04"] {
        cog(
            &dir.join(format!("S2A_1_{band}.tif")),
            32631,
            500_000.0,
            5_300_000.0,
            1,
        );
    }
    cog(&dir.join("S2A_2_B02.tif"), 32631, 600_000.0, 5_300_000.0, 1);
    cog(&dir.join("S2A_2_B03.tif"), 32632, 300_000.0, 5_300_000.0, 1);
    let collection = serde_json::json!({
        "type": "FeatureCollection",
        "features": [
            {
                "type": "Feature", "stac_version": "1.0.0", "id": "S2A_1",
                "properties": {"datetime": "2023-06-01T10:20:30Z"},
                "assets": {
                    "B02": {"href": "./S2A_1_B02.tif", "type": "image/tiff; application=geotiff; profile=cloud-optimized",
                            "eo:bands": [{"name": "blue"}]},
                    "B03": {"href": "S2A_1_B03.tif", "type": "image/tiff; application=geotiff",
                            "raster:bands": [{"name": "green"}]},
                    "B04": {"href": s(&dir.join("S2A_1_B04.tif")), "type": "image/tiff"},
                    "thumbnail": {"href": "thumb.jpg", "type": "image/jpeg", "roles": ["thumbnail"]}
                }
            },
            {
                "type": "Feature", "id": "S2A_2",
                "properties": {"datetime": null, "start_datetime": "2023-07-01T00:00:00Z",
                               "end_datetime": "2023-07-02T00:00:00Z"},
                "assets": {
                    "B02": {"href": "S2A_2_B02.tif", "type": "image/tiff"},
                    "B03": {"href": "S2A_2_B03.tif", "type": "image/tiff"}
                }
            }
        ]
    });
    let stac = dir.join("items.json");
    std::fs::write(&stac, collection.to_string()).unwrap();
    let (catalog, report) = build(&[s(&stac)], &BuildOptions::default()).unwrap();
    assert_eq!(catalog.len(), 1);
    let item = &catalog.items()[0];
    assert_eq!(item.id, "S2A_1");
    let keys: Vec<&str> = item.assets.iter().map(|a| a.key.as_str()).collect();
    assert_eq!(keys, ["B02", "B03", "B04"]);
    let bands: Vec<&str> = item.assets.iter().map(|a| a.bands[0].as_str()).collect();
    assert_eq!(bands, ["blue", "green", "B04"]);
    assert_eq!(item.interval, Interval::instant(1_685_614_830_000_000));
    assert_eq!(report.failures.len(), 1, "S2A_2 mixes two UTM zones");
    let reason = &report.failures[0].reason;
    assert!(
        reason.contains("S2A_2") && reason.contains("different CRSs"),
        "{reason}"
    );

    let path = dir.join("stac.parquet");
    catalog.write(&path).unwrap();
    assert_eq!(Catalog::open(&path).unwrap(), catalog);
}

#[test]
fn malformed_stac_is_an_error_naming_the_file_and_what_is_wrong() {
    let dir = tempdir("badstac");
    let cases = [
        (
            "broken.json",
            "{\"type\": \"FeatureCollection\", \"features\": [",
            "not JSON",
        ),
        (
            "nofeatures.json",
            "{\"type\": \"FeatureCollection\"}",
            "features",
        ),
        (
            "noid.json",
            "{\"type\": \"Feature\", \"properties\": {}, \"assets\": {}}",
            "id",
        ),
        (
            "nohref.json",
            "{\"type\": \"Feature\", \"id\": \"x\", \"properties\": {}, \"assets\": {\"B1\": {}}}",
            "href",
        ),
        (
            "baddate.json",
            "{\"type\": \"Feature\", \"id\": \"x\", \"properties\": {\"datetime\": \"June\"}, \"assets\": {}}",
            "datetime",
        ),
    ];
    for (name, text, what) in cases {
        let path = dir.join(name);
        std::fs::write(&path, text).unwrap();
        let err = build(&[s(&path)], &BuildOptions::default())
            .unwrap_err()
            .to_string();
        assert!(err.contains(name) && err.contains(what), "{name}: {err}");
    }
}

#[test]
fn slices_export_as_geoparquet() {
    let dir = tempdir("slices");
    let slices: Vec<GeoSlice> = (0..3)
        .map(|i| GeoSlice {
            id: i,
            item: 0,
            bounds: Bounds::new(
                500_000.0 + 100.0 * i as f64,
                5_299_000.0,
                500_640.0,
                5_299_640.0,
            ),
            crs: Crs::from_epsg(32631),
            interval: Interval::OPEN,
            size: (64, 64),
            res: (10.0, 10.0),
        })
        .collect();
    let path = dir.join("slices.parquet");
    write_slices(&path, &slices).unwrap();
    let file = std::fs::File::open(&path).unwrap();
    let reader =
        parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder::try_new(file).unwrap();
    let geo = reader
        .metadata()
        .file_metadata()
        .key_value_metadata()
        .unwrap()
        .iter()
        .find(|kv| kv.key == "geo")
        .unwrap()
        .value
        .clone()
        .unwrap();
    assert!(geo.contains("\"primary_column\":\"geometry\""), "{geo}");
    let rows: usize = reader.build().unwrap().map(|b| b.unwrap().num_rows()).sum();
    assert_eq!(rows, 3);
}
