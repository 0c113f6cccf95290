"""The catalog against GDAL and geopandas: COGs written with rasterio in two UTM zones, a GeoParquet catalog
that geopandas reads with the right CRS and geometries, bad inputs named in their reasons, STAC items with
one COG per band, and builds over HTTP."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import geochips
import geopandas
import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
import rasterio
import rasterio.warp
from affine import Affine
from servers import free_port, moto_s3_server, point_aws_at, serve_directory

REPO = Path(__file__).resolve().parents[2]

# Footprints are transformed by proj4rs, GDAL's by PROJ: both take 21 points per edge. Tolerance, degrees:
# 1e-7° is about 1 cm on the ground.
TOLERANCE_DEG = 1e-7

SCENES = {
    # name: (crs, top-left x, top-left y)
    "utm31_20230601.tif": ("EPSG:32631", 499_980.0, 5_300_040.0),
    "utm32_20230715.tif": ("EPSG:32632", 300_000.0, 5_200_000.0),
}


def write_cog(path: Path, crs: str, x: float, y: float, bands: int = 2, size: int = 256, nodata=0) -> None:
    data = (np.arange(bands * size * size, dtype=np.uint16) % 1000).reshape(bands, size, size)
    with rasterio.open(
        path,
        "w",
        driver="COG",
        width=size,
        height=size,
        count=bands,
        dtype="uint16",
        crs=crs,
        transform=Affine(10.0, 0.0, x, 0.0, -10.0, y),
        nodata=nodata,
        blocksize=128,
        overview_count=1,
        compress="DEFLATE",
    ) as ds:
        ds.write(data)


@pytest.fixture(scope="module")
def scenes(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("scenes")
    for name, (crs, x, y) in SCENES.items():
        write_cog(root / name, crs, x, y)
    return root


def test_catalog_round_trips_through_geopandas_with_rasterio_footprints(scenes, tmp_path):
    catalog = geochips.Catalog.build(
        str(scenes), filename_regex=r"_(?P<date>\d{8})\.tif$", date_format="%Y%m%d"
    )
    assert catalog.failures == []
    assert catalog.ids == ["utm31_20230601", "utm32_20230715"]
    path = tmp_path / "catalog.parquet"
    catalog.write(path)

    frame = geopandas.read_parquet(path)
    assert frame.crs is not None and frame.crs.to_epsg() == 4326
    assert list(frame["id"]) == catalog.ids
    assert list(frame["crs"]) == ["EPSG:32631", "EPSG:32632"]
    for row, name in zip(frame.itertuples(), SCENES):
        with rasterio.open(scenes / name) as ds:
            expected = rasterio.warp.transform_bounds(ds.crs, "EPSG:4326", *ds.bounds, densify_pts=21)
            assert tuple(row.bounds.values()) == tuple(ds.bounds)
            assert row.assets[0]["bands"].tolist() == ["b1", "b2"]
            assert row.assets[0]["href"] == str(scenes / name)
            assert list(row.assets[0]["transform"]) == list(ds.transform)[:6]
        np.testing.assert_allclose(row.geometry.bounds, expected, rtol=0, atol=TOLERANCE_DEG)
    table = pq.read_table(path)  # geopandas uses the bbox covering column and drops it; pyarrow shows it
    for box, row in zip(table.column("bbox").to_pylist(), frame.itertuples()):
        np.testing.assert_allclose(
            (box["xmin"], box["ymin"], box["xmax"], box["ymax"]), row.geometry.bounds, rtol=0, atol=1e-12
        )
    assert str(frame["start"].iloc[0]) == "2023-06-01 00:00:00+00:00"

    geo = json.loads(pq.read_metadata(path).metadata[b"geo"])
    column = geo["columns"]["geometry"]
    assert geo["version"] == "1.1.0" and geo["primary_column"] == "geometry"
    assert column["encoding"] == "WKB" and column["geometry_types"] == ["Polygon"]
    assert column["covering"]["bbox"]["xmin"] == ["bbox", "xmin"]
    np.testing.assert_allclose(column["bbox"], frame.total_bounds, rtol=0, atol=1e-12)

    assert geochips.Catalog.open(path) == catalog
    assert len(geochips.Catalog.open(path)) == 2


def test_footprint_vertices_equal_rasterio_warp_transform(scenes):
    catalog = geochips.Catalog.build(str(scenes))
    for index in range(len(catalog)):
        item = catalog.item(index)
        left, bottom, right, top = item["bounds"]
        # The ring starts at the lower-left corner and runs counter-clockwise, 20 steps per edge.
        t = np.linspace(0, 1, 21)[:-1]
        xs = np.concatenate(
            [left + (right - left) * t, np.full(20, right), right - (right - left) * t, [left] * 20]
        )
        ys = np.concatenate(
            [np.full(20, bottom), bottom + (top - bottom) * t, np.full(20, top), top - (top - bottom) * t]
        )
        lon, lat = rasterio.warp.transform(item["crs"], "EPSG:4326", xs, ys)
        ring = np.array(item["footprint"][:-1])
        np.testing.assert_allclose(ring[:, 0], lon, rtol=0, atol=TOLERANCE_DEG)
        np.testing.assert_allclose(ring[:, 1], lat, rtol=0, atol=TOLERANCE_DEG)


def test_query_in_native_crs_and_time(scenes):
    catalog = geochips.Catalog.build(str(scenes), filename_regex=r"_(?P<date>\d{8})\.tif$")
    assert catalog.query((500_000, 5_299_500, 500_100, 5_299_600), crs="EPSG:32631") == [0]
    assert catalog.query((-180, -90, 180, 90)) == [0, 1]
    july = 1_688_169_600_000_000  # 2023-07-01T00:00:00Z in µs
    assert catalog.query((-180, -90, 180, 90), start=july) == [1]


def test_bad_inputs_are_listed_with_reasons_naming_each_file(scenes, tmp_path):
    folder = tmp_path / "mixed"
    folder.mkdir()
    (folder / "good.tif").write_bytes((scenes / "utm31_20230601.tif").read_bytes())
    (folder / "corrupt.tif").write_bytes((scenes / "utm31_20230601.tif").read_bytes()[:40])
    (folder / "picture.tif").write_bytes(b"\x89PNG\r\n\x1a\n" + b"\0" * 64)
    refused = f"http://127.0.0.1:{free_port()}/refused.tif"  # nothing listens there
    with serve_directory(folder) as server:
        missing = server.url("nowhere/missing.tif")  # 404
        catalog = geochips.Catalog.build([str(folder), missing, refused])
    assert catalog.ids == ["good"]
    reasons = dict(catalog.failures)
    assert len(reasons) == 4, catalog.failures
    for name in ["corrupt.tif", "picture.tif", "missing.tif", "refused.tif"]:
        [(_href, reason)] = [(h, r) for h, r in reasons.items() if h.endswith(name)]
        assert name in reason, reason
    with pytest.raises(geochips.GeochipsError, match=r"(corrupt|picture)\.tif"):
        geochips.Catalog.build(str(folder), fail_fast=True)


def test_malformed_parquet_and_stac_raise_errors_naming_the_file(tmp_path):
    garbage = tmp_path / "garbage.parquet"
    garbage.write_bytes(b"PAR1 nothing PAR1")
    with pytest.raises(geochips.GeochipsError, match=r"garbage\.parquet.*not a Parquet file"):
        geochips.Catalog.open(garbage)
    plain = tmp_path / "plain.parquet"
    pq.write_table(pa.table({"a": [1, 2]}), plain)
    with pytest.raises(geochips.GeochipsError, match=r"plain\.parquet.*not a GeoParquet file"):
        geochips.Catalog.open(plain)
    broken = tmp_path / "items.json"
    broken.write_text('{"type": "FeatureCollection", "features": [{"type": "Feature", "id": 3}]}')
    with pytest.raises(geochips.GeochipsError, match=r"items\.json.*item 0.*id"):
        geochips.Catalog.build(str(broken))


def test_stac_item_collection_gives_items_with_one_asset_per_band(tmp_path):
    bands = {"B02": "blue", "B03": "green", "B04": "red", "B08": "nir"}
    features = []
    for scene, (crs, x, y, when) in {
        "S2B_T31UDQ_20230601": ("EPSG:32631", 499_980.0, 5_300_040.0, "2023-06-01T10:56:19Z"),
        "S2B_T32ULU_20230604": ("EPSG:32632", 300_000.0, 5_200_000.0, "2023-06-04T10:46:29Z"),
    }.items():
        assets = {}
        for key, name in bands.items():
            write_cog(tmp_path / f"{scene}_{key}.tif", crs, x, y, bands=1)
            assets[key] = {
                "href": f"./{scene}_{key}.tif",
                "type": "image/tiff; application=geotiff; profile=cloud-optimized",
                "roles": ["data"],
                "eo:bands": [{"name": key, "common_name": name}],
            }
        assets["thumbnail"] = {"href": f"{scene}.jpg", "type": "image/jpeg", "roles": ["thumbnail"]}
        features.append(
            {
                "type": "Feature",
                "stac_version": "1.0.0",
                "id": scene,
                "geometry": None,
                "properties": {"datetime": when},
                "assets": assets,
            }
        )
    collection = tmp_path / "items.json"
    collection.write_text(json.dumps({"type": "FeatureCollection", "features": features}))
    catalog = geochips.Catalog.build(str(collection))
    assert catalog.failures == []
    assert catalog.ids == ["S2B_T31UDQ_20230601", "S2B_T32ULU_20230604"]
    item = catalog.item(1)
    assert item["crs"] == "EPSG:32632"
    assert [a["key"] for a in item["assets"]] == list(bands)
    assert [a["bands"] for a in item["assets"]] == [[k] for k in bands]
    assert item["assets"][0]["href"] == str(tmp_path / "S2B_T32ULU_20230604_B02.tif")
    assert item["start"] == item["end"] == 1_685_875_589_000_000
    only = geochips.Catalog.build(str(collection), stac_assets=["B04"])
    assert [a["key"] for a in only.item(0)["assets"]] == ["B04"]
    path = tmp_path / "stac.parquet"
    catalog.write(path)
    frame = geopandas.read_parquet(path)
    assert [len(a) for a in frame["assets"]] == [4, 4]


def test_build_over_http_reads_headers_only(scenes):
    with serve_directory(scenes) as server:
        hrefs = [server.url(name) for name in SCENES]
        calls = []
        catalog = geochips.Catalog.build(hrefs, progress=lambda done, total: calls.append((done, total)))
        requests = server.requests_since(0)
    assert catalog.ids == ["utm31_20230601", "utm32_20230715"]
    assert calls[0] == (0, 2) and calls[-1] == (2, 2)
    assert len(requests) <= 2 * len(SCENES), requests  # one or two header requests per file, no pixels


def test_build_keeps_at_most_concurrency_header_reads_in_flight(scenes, tmp_path):
    for i in range(40):
        (tmp_path / f"copy_{i:02d}.tif").write_bytes((scenes / "utm31_20230601.tif").read_bytes())
    with serve_directory(tmp_path, delay=0.05) as server:
        hrefs = [server.url(f"copy_{i:02d}.tif") for i in range(40)]
        catalog = geochips.Catalog.build(hrefs, concurrency=8)
    assert len(catalog) == 40 and catalog.failures == []
    assert 4 <= server.max_in_flight <= 8, server.max_in_flight


def test_cli_catalog_prints_failures_and_writes_geoparquet(scenes, tmp_path):
    folder = tmp_path / "cli"
    folder.mkdir()
    (folder / "a.tif").write_bytes((scenes / "utm31_20230601.tif").read_bytes())
    (folder / "b.tif").write_text("not a tiff")
    out = tmp_path / "cli.parquet"
    run = subprocess.run(
        ["cargo", "run", "--quiet", "--bin", "geochips", "--", "catalog", str(folder), "-o", str(out)],
        cwd=REPO,
        capture_output=True,
        text=True,
        check=True,
    )
    assert "b.tif" in run.stderr and "1 items, 1 failures" in run.stdout, (run.stdout, run.stderr)
    assert len(geopandas.read_parquet(out)) == 1


def test_stac_geoparquet_rows_give_items_with_one_asset_per_band(tmp_path):
    keys = ["B02", "B03"]
    ids, times, assets = [], [], []
    for scene, crs, x in [("S2A_A", "EPSG:32631", 499_980.0), ("S2A_B", "EPSG:32632", 300_000.0)]:
        for key in keys:
            write_cog(tmp_path / f"{scene}_{key}.tif", crs, x, 5_300_040.0, bands=1)
        ids.append(scene)
        times.append(1_685_614_830_000_000)
        assets.append(
            {
                key: {"href": f"{scene}_{key}.tif", "type": "image/tiff", "eo:bands": [{"name": key.lower()}]}
                for key in keys
            }
        )
    band = pa.struct([("name", pa.string())])
    asset = pa.struct([("href", pa.string()), ("type", pa.string()), ("eo:bands", pa.list_(band))])
    table = pa.table(
        {
            "type": ["Feature"] * 2,
            "id": ids,
            "datetime": pa.array(times, pa.timestamp("us", tz="UTC")),
            "assets": pa.array(assets, pa.struct([(key, asset) for key in keys])),
        }
    )
    path = tmp_path / "items.parquet"
    pq.write_table(table, path)
    catalog = geochips.Catalog.build(str(path))
    assert catalog.failures == [] and catalog.ids == ids
    item = catalog.item(1)
    assert [a["key"] for a in item["assets"]] == keys
    assert [a["bands"] for a in item["assets"]] == [["b02"], ["b03"]]
    assert item["assets"][1]["href"] == str(tmp_path / "S2A_B_B03.tif")
    assert item["start"] == 1_685_614_830_000_000 and item["crs"] == "EPSG:32632"
    with pytest.raises(geochips.GeochipsError, match=r"plain\.parquet.*no column \"id\""):
        plain = tmp_path / "plain.parquet"
        pq.write_table(pa.table({"a": [1]}), plain)
        geochips.Catalog.build(str(plain))


def test_s3_prefix_is_listed_and_the_catalog_round_trips_through_s3(scenes, tmp_path, monkeypatch):
    with moto_s3_server(tmp_path / "moto.log") as endpoint:
        s3 = point_aws_at(endpoint, monkeypatch)
        s3.create_bucket(Bucket="catalog-test")
        for name in SCENES:
            s3.upload_file(str(scenes / name), "catalog-test", f"scenes/{name}")
        s3.put_object(Bucket="catalog-test", Key="scenes/README.txt", Body=b"not listed: not a .tif")
        s3.put_object(Bucket="catalog-test", Key="other/x.tif", Body=b"outside the prefix")
        catalog = geochips.Catalog.build("s3://catalog-test/scenes/")
        assert catalog.failures == []
        assert catalog.ids == ["utm31_20230601", "utm32_20230715"]
        assert catalog.item(0)["assets"][0]["href"] == "s3://catalog-test/scenes/utm31_20230601.tif"
        catalog.write("s3://catalog-test/catalog.parquet")
        assert geochips.Catalog.open("s3://catalog-test/catalog.parquet") == catalog
