"""Single files: Parquet through DuckDB's read_parquet/parquet_schema, Avro manifests and manifest
lists through fastavro and Apache Avro."""
import glob
import json
import os
from datetime import date, datetime, timezone

import avro.datafile
import avro.io
import fastavro
import pytest
from pyiceberg.table import StaticTable


def table(oracle, name, kind="mirror"):
    return StaticTable.from_metadata("file://" + oracle["tables"][name]["flushes"][-1]["metadata"][kind])


def data_files(out_dir, name):
    files = glob.glob(os.path.join(out_dir, "warehouse", "ns", name, "data", "**", "*.parquet"), recursive=True)
    return [f for f in files if not f.endswith("-deletes.parquet")], [f for f in files if f.endswith("-deletes.parquet")]


def test_parquet_columns_carry_iceberg_field_ids(oracle, out_dir, duck):
    for name in ["orders", "events", "users", "docs"]:
        ids = {f.name: f.field_id for f in table(oracle, name).schema().fields}
        data, _ = data_files(out_dir, name)
        assert data
        for path in data:
            schema = duck.execute(f"SELECT name, field_id FROM parquet_schema('{path}') WHERE num_children IS NULL").fetchall()
            assert schema and all(ids[n] == fid for n, fid in schema), (path, schema)


def test_string_chunks_of_several_pages_read_back(oracle, out_dir, duck):
    # The writer cuts PLAIN string pages at 1 MiB: the docs table's body chunks hold several pages.
    data, _ = data_files(out_dir, "docs")
    sizes = [r[0] for path in data for r in duck.execute(f"SELECT total_uncompressed_size FROM parquet_metadata('{path}') WHERE path_in_schema = 'body'").fetchall()]
    assert max(sizes) > 1.1 * 1024 * 1024, sizes
    # DuckDB reads every page: the table's rows equal the oracle's.
    state = {k: v.get("body") for k, v in oracle["tables"]["docs"]["flushes"][-1]["state"].items()}
    got = dict((str(i), b) for i, b in duck.execute(f"SELECT id, body FROM iceberg_scan('{oracle['tables']['docs']['flushes'][-1]['metadata']['mirror']}')").fetchall())
    assert got == state


def test_position_delete_files_use_reserved_ids_and_are_sorted(out_dir, duck):
    _, deletes = data_files(out_dir, "orders")
    assert deletes
    for path in deletes:
        assert dict(duck.execute(f"SELECT name, field_id FROM parquet_schema('{path}') WHERE num_children IS NULL").fetchall()) == {"file_path": 2147483546, "pos": 2147483545}
        rows = duck.execute(f"SELECT file_path, pos FROM read_parquet('{path}')").fetchall()
        assert rows == sorted(rows)


def test_int64_beyond_2_pow_53_is_exact(oracle, out_dir, duck):
    expected = {}
    for f in oracle["tables"]["orders"]["flushes"]:
        for image in f["state"].values():
            expected[image["id"]] = image["big"]
    data, _ = data_files(out_dir, "orders")
    seen = 0
    for path in data:
        assert duck.execute(f"SELECT type FROM parquet_schema('{path}') WHERE name = 'big'").fetchone() == ("INT64",)
        for row_id, big in duck.execute(f"SELECT id, big FROM read_parquet('{path}')").fetchall():
            assert big > 2**53
            if row_id in expected and expected[row_id] == big:
                seen += 1
    assert seen > 0
    # every current value is exact (an off-by-one from double rounding would miss)
    state = oracle["tables"]["orders"]["flushes"][-1]["state"]
    rows = dict(duck.execute(f"SELECT id, big FROM iceberg_scan('{oracle['tables']['orders']['flushes'][-1]['metadata']['mirror']}')").fetchall())
    assert rows == {int(k): v["big"] for k, v in state.items()}


def test_timestamps_are_utc_micros_and_partitioned_by_day(out_dir, duck):
    data, _ = data_files(out_dir, "events")
    for path in data:
        logical = duck.execute(f"SELECT logical_type FROM parquet_schema('{path}') WHERE name = 'at'").fetchone()[0]
        assert "isAdjustedToUTC=1" in logical.replace(" ", "") or "isAdjustedToUTC=true" in logical.replace(" ", "")
        assert "MICROS" in logical
        day = date.fromisoformat(path.split("at_day=")[1].split("/")[0])
        # epoch_us: DuckDB hands timestamptz to Python only with pytz; the micros are what we check
        for (micros,) in duck.execute(f"SELECT epoch_us(\"at\") FROM read_parquet('{path}')").fetchall():
            assert datetime.fromtimestamp(micros / 1e6, tz=timezone.utc).date() == day


def avro_files(tbl):
    snap = tbl.current_snapshot()
    list_path = snap.manifest_list.replace("file://", "")
    return snap, list_path, [m.manifest_path.replace("file://", "") for m in snap.manifests(tbl.io)]


def ids(schema):
    """Field name -> field-id for a record schema (one level)."""
    return {f["name"]: f.get("field-id") for f in schema["fields"]}


def test_manifest_list_fields_ids_and_metadata_with_fastavro(oracle):
    tbl = table(oracle, "events")
    snap, list_path, _ = avro_files(tbl)
    with open(list_path, "rb") as f:
        reader = fastavro.reader(f)
        meta = {k: (v.decode() if isinstance(v, bytes) else v) for k, v in reader.metadata.items()}
        records = list(reader)
    assert meta["snapshot-id"] == str(snap.snapshot_id)
    assert meta["parent-snapshot-id"] == str(snap.parent_snapshot_id)
    assert meta["sequence-number"] == str(snap.sequence_number)
    assert meta["format-version"] == "2"
    schema = json.loads(meta["avro.schema"])
    assert schema["name"] == "manifest_file"
    assert ids(schema) == {"manifest_path": 500, "manifest_length": 501, "partition_spec_id": 502, "content": 517, "sequence_number": 515, "min_sequence_number": 516, "added_snapshot_id": 503, "added_files_count": 504, "existing_files_count": 505, "deleted_files_count": 506, "added_rows_count": 512, "existing_rows_count": 513, "deleted_rows_count": 514, "partitions": 507, "key_metadata": 519}
    assert records[0]["added_snapshot_id"] == snap.snapshot_id > 2**53
    assert records[0]["sequence_number"] == snap.sequence_number
    assert {r["content"] for r in records} == {0, 1}
    # partition summaries bound the day partition values (4-byte little-endian date ints)
    for r in records:
        lo = int.from_bytes(r["partitions"][0]["lower_bound"], "little", signed=True)
        hi = int.from_bytes(r["partitions"][0]["upper_bound"], "little", signed=True)
        assert date(1970, 1, 1).toordinal() + lo >= date(2024, 1, 1).toordinal()
        assert lo <= hi <= (date(2024, 1, 5) - date(1970, 1, 1)).days


def test_manifests_fields_ids_and_metadata_with_fastavro_and_avro(oracle):
    tbl = table(oracle, "events")
    _, _, manifests = avro_files(tbl)
    contents = set()
    for path in manifests:
        with open(path, "rb") as f:
            reader = fastavro.reader(f)
            meta = {k: (v.decode() if isinstance(v, bytes) else v) for k, v in reader.metadata.items()}
            records = list(reader)
        assert meta["format-version"] == "2"
        assert meta["content"] in ("data", "deletes")
        contents.add(meta["content"])
        assert json.loads(meta["partition-spec"]) == [{"source-id": 3, "field-id": 1000, "name": "at_day", "transform": "day"}]
        assert meta["partition-spec-id"] == "0"
        assert json.loads(meta["schema"])["schema-id"] == int(meta["schema-id"])
        schema = json.loads(meta["avro.schema"])
        assert schema["name"] == "manifest_entry"
        assert ids(schema) == {"status": 0, "snapshot_id": 1, "sequence_number": 3, "file_sequence_number": 4, "data_file": 2}
        r2 = schema["fields"][4]["type"]
        assert r2["name"] == "r2"
        r2_ids = ids(r2)
        assert r2_ids["content"] == 134 and r2_ids["file_path"] == 100 and r2_ids["partition"] == 102 and r2_ids["lower_bounds"] == 125
        bounds = [f for f in r2["fields"] if f["name"] == "lower_bounds"][0]["type"][1]
        assert bounds["logicalType"] == "map" and bounds["items"]["name"] == "k126_v127"
        assert ids(bounds["items"]) == {"key": 126, "value": 127}
        part = [f for f in r2["fields"] if f["name"] == "partition"][0]["type"]
        assert part["name"] == "r102" and ids(part) == {"at_day": 1000}
        for r in records:
            # ADDED, or (after compaction and merging) EXISTING / DELETED with explicit sequence numbers.
            assert r["status"] in (0, 1, 2)
            if r["status"] != 1:
                assert r["sequence_number"] is not None and r["file_sequence_number"] is not None
            assert r["data_file"]["content"] == (0 if meta["content"] == "data" else 1)
            day = r["data_file"]["partition"]["at_day"]
            assert f"at_day={date.fromordinal(date(1970, 1, 1).toordinal() + day).isoformat()}/" in r["data_file"]["file_path"] if isinstance(day, int) else day.isoformat() in r["data_file"]["file_path"]
        # Apache Avro's reader decodes the same records
        with open(path, "rb") as f:
            apache = list(avro.datafile.DataFileReader(f, avro.io.DatumReader()))
        assert [a["data_file"]["file_path"] for a in apache] == [r["data_file"]["file_path"] for r in records]
        assert [a["data_file"]["record_count"] for a in apache] == [r["data_file"]["record_count"] for r in records]
    assert contents == {"data", "deletes"}
