"""Whole tables written by DoLake's CDC writer, read by pyiceberg and DuckDB, against the oracle."""
import json
from datetime import datetime, timezone

import pytest
from pyiceberg.table import StaticTable

TABLES = ["orders", "events", "users", "docs"]


def expected_value(value, arrow_type):
    if value is None:
        return None
    if isinstance(value, (dict, list)):
        return value  # compared as parsed JSON
    if "timestamp" in str(arrow_type) and isinstance(value, str):
        return datetime.fromisoformat(value.replace("Z", "+00:00"))
    return value


def normalize(actual, expected):
    if isinstance(expected, (dict, list)) and isinstance(actual, str):
        return json.loads(actual)
    if isinstance(actual, datetime) and actual.tzinfo is None and isinstance(expected, datetime):
        return actual.replace(tzinfo=timezone.utc)
    return actual


def compare(arrow_table, state):
    """Rows of an Arrow table equal the oracle's rows (keyed by id), every column."""
    rows = arrow_table.to_pylist()
    assert len(rows) == len(state), f"row count {len(rows)} != oracle {len(state)}"
    by_id = {str(r["id"]): r for r in rows}
    assert set(by_id) == set(state), f"row ids differ: {sorted(set(by_id) ^ set(state))[:10]}"
    types = {f.name: f.type for f in arrow_table.schema}
    for row_id, image in state.items():
        actual = by_id[row_id]
        for col, arrow_type in types.items():
            want = expected_value(image.get(col), arrow_type)
            got = normalize(actual[col], want)
            assert got == want, f"row {row_id} column {col}: {got!r} != {want!r}"


def mirror(oracle, name, flush=-1):
    return oracle["tables"][name]["flushes"][flush]


@pytest.mark.parametrize("name", TABLES)
def test_pyiceberg_reads_the_oracle_state(oracle, name):
    f = mirror(oracle, name)
    table = StaticTable.from_metadata("file://" + f["metadata"]["mirror"])
    assert table.metadata.format_version == 2
    assert table.metadata.current_snapshot_id == f["mirror_snapshot_id"] > 2**53
    compare(table.scan().to_arrow(), f["state"])


@pytest.mark.parametrize("name", TABLES)
def test_pyiceberg_time_travel_gives_each_flush_state(oracle, name):
    flushes = oracle["tables"][name]["flushes"]
    table = StaticTable.from_metadata("file://" + flushes[-1]["metadata"]["mirror"])
    for f in flushes:
        compare(table.scan(snapshot_id=f["mirror_snapshot_id"]).to_arrow(), f["state"])


@pytest.mark.parametrize("name", TABLES)
def test_duckdb_iceberg_scan_reads_the_oracle_state(oracle, duck, name):
    flushes = oracle["tables"][name]["flushes"]
    path = flushes[-1]["metadata"]["mirror"]
    compare(duck.execute(f"SELECT * FROM iceberg_scan('{path}')").fetch_arrow_table(), flushes[-1]["state"])
    middle = flushes[len(flushes) // 2]
    at = duck.execute(f"SELECT * FROM iceberg_scan('{path}', snapshot_from_id={middle['mirror_snapshot_id']})").fetch_arrow_table()
    compare(at, middle["state"])


@pytest.mark.parametrize("name", TABLES)
def test_changelog_equals_the_change_stream(oracle, duck, name):
    t = oracle["tables"][name]
    path = t["flushes"][-1]["metadata"]["changelog"]
    rows = StaticTable.from_metadata("file://" + path).scan().to_arrow().to_pylist()
    rows.sort(key=lambda r: r["sequence"])
    assert len(rows) == len(t["changes"])
    commit_ms = [f["commit_ms"] for f in t["flushes"] for _ in range(len(t["changes"]) // len(t["flushes"]))]
    for got, want, ms in zip(rows, t["changes"], commit_ms):
        assert got["operation"] == want["operation"]
        assert got["sequence"] == want["sequence"]
        assert got["row_id"] == want["row_id"]
        assert got["source"] == want["source"]
        assert got["source_timestamp"] == datetime.fromtimestamp(want["source_timestamp_ms"] / 1000, tz=timezone.utc)
        assert got["commit_timestamp"] == datetime.fromtimestamp(ms / 1000, tz=timezone.utc)
        assert (json.loads(got["after"]) if got["after"] else None) == want["after"]
        assert (json.loads(got["before"]) if got["before"] else None) == want["before"]
        assert json.loads(got["metadata"]) == want["metadata"]
    count = duck.execute(f"SELECT count(*), count(DISTINCT sequence) FROM iceberg_scan('{path}')").fetchone()
    assert count == (len(t["changes"]), len(t["changes"]))


def test_snapshot_summaries_keep_running_totals(oracle):
    f = mirror(oracle, "orders")
    table = StaticTable.from_metadata("file://" + f["metadata"]["mirror"])
    snaps = table.metadata.snapshots
    assert [s.sequence_number for s in snaps] == list(range(1, len(snaps) + 1))
    last = snaps[-1].summary
    files = table.inspect.files().to_pylist()
    data = [x for x in files if x["content"] == 0]
    deletes = [x for x in files if x["content"] == 1]
    assert int(last["total-data-files"]) == len(data)
    assert int(last["total-delete-files"]) == len(deletes)
    assert int(last["total-records"]) == sum(x["record_count"] for x in data)
    assert int(last["total-position-deletes"]) == sum(x["record_count"] for x in deletes)
    assert int(last["total-records"]) - int(last["total-position-deletes"]) == len(f["state"])


def test_column_bounds_decode_to_the_file_min_max(oracle, duck):
    """pyiceberg decodes our single-value bounds; they equal DuckDB's min/max of each data file."""
    f = mirror(oracle, "orders")
    table = StaticTable.from_metadata("file://" + f["metadata"]["mirror"])
    checked = 0
    for x in table.inspect.files().to_pylist():
        if x["content"] != 0:
            continue
        m = x["readable_metrics"]
        path = x["file_path"].replace("file://", "")
        lo, hi, big_lo, big_hi, amt_lo, amt_hi = duck.execute(f"SELECT min(id), max(id), min(big), max(big), min(amount), max(amount) FROM read_parquet('{path}')").fetchone()
        assert (m["id"]["lower_bound"], m["id"]["upper_bound"]) == (lo, hi)
        assert (m["big"]["lower_bound"], m["big"]["upper_bound"]) == (big_lo, big_hi)
        assert (m["amount"]["lower_bound"], m["amount"]["upper_bound"]) == (amt_lo, amt_hi)
        assert m["id"]["value_count"] == x["record_count"]
        assert m["id"]["null_value_count"] == 0
        checked += 1
    assert checked >= 3


def test_position_delete_files_carry_full_file_path_bounds(oracle, duck):
    """file_path bounds of delete files are whole paths (Java's forPositionDelete "full" mode), equal
    to DuckDB's min/max of the file, so readers attach a delete file only to the data files it names."""
    for name in ["orders", "users"]:
        f = mirror(oracle, name)
        table = StaticTable.from_metadata("file://" + f["metadata"]["mirror"])
        checked = 0
        for x in table.inspect.files().to_pylist():
            if x["content"] != 1:
                continue
            path = x["file_path"].replace("file://", "")
            lo, hi = duck.execute(f"SELECT min(file_path), max(file_path) FROM read_parquet('{path}')").fetchone()
            assert len(lo) > 16
            assert dict(x["lower_bounds"])[2147483546].decode() == lo
            assert dict(x["upper_bounds"])[2147483546].decode() == hi
            checked += 1
        assert checked >= 2, name
