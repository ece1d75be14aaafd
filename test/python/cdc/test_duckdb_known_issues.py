"""Pinned known issue: DuckDB's iceberg extension ignores position deletes under null filters.

Upstream: https://github.com/duckdb/duckdb-iceberg/issues/691 and
https://github.com/duckdb/duckdb-iceberg/issues/782. Every DoLake UPDATE and DELETE is a position
delete, so `WHERE x IS NULL` and `WHERE x IS NOT NULL` filters in DuckDB (the extension pinned in
test/python/requirements.txt) return rows the source has deleted or replaced, and a COALESCE
filter (`COALESCE(x, 'none') = 'none'`) returns no row at all. Plain scans and other filters apply
the deletes.

The test asserts the current WRONG answer. When a fixed extension is installed it FAILS: then
update the DuckDB row's footnote in conformance/matrix.mjs (docs/interop-matrix.md, README) and
turn this test into an ordinary equality check.

Needs DOLAKE_URL and DOLAKE_TOKEN (scripts/with-server.mjs sets both).
"""

import json
import os
import urllib.request
import uuid

import pytest
from websockets.sync.client import connect
from duckdb_offline import lake_duckdb  # noqa: E402

URL = os.environ.get("DOLAKE_URL")
TOKEN = os.environ.get("DOLAKE_TOKEN")
pytestmark = pytest.mark.skipif(not URL or not TOKEN, reason="DOLAKE_URL and DOLAKE_TOKEN not set (run through scripts/with-server.mjs)")
TABLE = f"duckdb_nulls_{uuid.uuid4().hex[:6]}"


def cdc(events):
    source = f"py-nulls-{uuid.uuid4().hex[:4]}"
    with connect(URL.replace("http", "ws") + "/ws?token=" + TOKEN) as ws:
        ws.send(json.dumps({"type": "connect", "sourceDoId": source, "protocolVersion": 1}))
        assert json.loads(ws.recv(timeout=10))["type"] == "connected"
        for i, e in enumerate(events, 1):
            e["sequence"] = i
        ws.send(json.dumps({"type": "cdc_batch", "sourceDoId": source, "sequenceNumber": 1, "events": events}))
        while True:
            msg = json.loads(ws.recv(timeout=10))
            if msg["type"] == "ack" and msg["status"] == "persisted":
                continue
            assert msg["type"] == "ack" and msg["status"] == "buffered", msg
            break
    req = urllib.request.Request(URL + "/flush", method="POST", headers={"Authorization": "Bearer " + TOKEN})
    with urllib.request.urlopen(req, timeout=60) as res:
        assert json.load(res)["ok"]


@pytest.fixture(scope="module")
def table():
    """10 rows, every other `note` null; then 2 deletes and 2 updates (4 position deletes). Returns the oracle."""
    live = {f"n{i}": {"id": f"n{i}", "amount": i, "note": None if i % 2 == 0 else f"note {i}"} for i in range(10)}
    cdc([{"operation": "INSERT", "table": TABLE, "rowId": k, "after": r} for k, r in live.items()])
    events = []
    for k in ("n0", "n1"):  # one null note, one non-null note
        del live[k]
        events.append({"operation": "DELETE", "table": TABLE, "rowId": k, "before": {"id": k}})
    for k, amount in (("n2", 200), ("n3", 300)):
        live[k] = {**live[k], "amount": amount}
        events.append({"operation": "UPDATE", "table": TABLE, "rowId": k, "after": live[k]})
    cdc(events)
    return live


@pytest.fixture(scope="module")
def duck():
    return lake_duckdb(URL, TOKEN)


def ids(con, where):
    return sorted(r[0] for r in con.execute(f'SELECT id FROM lake."default"."{TABLE}" WHERE {where}').fetchall())


def test_duckdb_applies_position_deletes_without_null_filters(table, duck):
    rows = duck.execute(f'SELECT id, amount FROM lake."default"."{TABLE}"').fetchall()
    assert dict(rows) == {k: r["amount"] for k, r in table.items()}
    assert ids(duck, "amount >= 0") == sorted(table)


@pytest.mark.parametrize("where", ["note IS NULL", "note IS NOT NULL"])
def test_duckdb_known_issue_null_filters_ignore_position_deletes(table, duck, where):
    """duckdb-iceberg #691/#782: FAILS once fixed. Then update the matrix footnote (conformance/matrix.mjs)."""
    import duckdb

    want = sorted(k for k, r in table.items() if eval_where(where, r))
    got = ids(duck, where)
    assert got != want, (
        f"DuckDB {duckdb.__version__} now applies position deletes under `{where}`: duckdb-iceberg #691/#782 look fixed. "
        "Remove the known-issue mark from the DuckDB row in conformance/matrix.mjs and assert equality here."
    )
    # The wrong answer is exactly the deleted rows and the old images of updated rows coming back.
    stale = [k for k in ("n0", "n1", "n2", "n3") if eval_where(where, OLD[k])]
    assert sorted(got) == sorted(want + stale), got


def test_duckdb_known_issue_coalesce_filter_on_a_table_with_deletes(table, duck):
    """COALESCE(note, 'none') = 'none' (same rows as IS NULL) returns no row at all with DuckDB 1.4.4. FAILS once it changes."""
    import duckdb

    want = sorted(k for k, r in table.items() if r["note"] is None)
    assert want, "the oracle has rows with a null note"
    got = ids(duck, "COALESCE(note, 'none') = 'none'")
    assert got == [], f"DuckDB {duckdb.__version__} now answers {got} for the COALESCE filter (right answer {want}): update the matrix footnote and this test."


OLD = {f"n{i}": {"note": None if i % 2 == 0 else f"note {i}"} for i in range(4)}


def eval_where(where, row):
    if where == "note IS NULL":
        return row["note"] is None
    return row["note"] is not None


DAY_TABLE = f"duckdb_day_{uuid.uuid4().hex[:6]}"


def test_duckdb_known_issue_expression_filter_on_a_day_partitioned_timestamptz(duck):
    """DuckDB 1.4.4's iceberg extension fails (INTERNAL Error, then the database is invalidated) on a
    filter that applies a function to a timestamptz column partitioned by day(), e.g.
    `WHERE extract(hour FROM ts) = 5`: it evaluates the expression against the day partition values
    (int dates) as if they were timestamps. The same files without the partition spec read fine, so
    do full-scan copies; Spark, Trino and pyiceberg read the partitioned table. Related upstream:
    duckdb-iceberg #312, #941, #984 (day() partition filters over timestamps). FAILS once fixed:
    then drop the known_issue() rule in test/python/query and this pin."""
    import duckdb

    req = urllib.request.Request(
        URL + "/v1/namespaces/default/tables",
        method="POST",
        headers={"Authorization": "Bearer " + TOKEN, "Content-Type": "application/json"},
        data=json.dumps({
            "name": DAY_TABLE,
            "schema": {"type": "struct", "schema-id": 0, "fields": [
                {"id": 1, "name": "id", "type": "long", "required": False},
                {"id": 2, "name": "x", "type": "long", "required": False},
                {"id": 3, "name": "ts", "type": "timestamptz", "required": False},
            ]},
            "partition-spec": {"spec-id": 0, "fields": [{"source-id": 3, "field-id": 1000, "transform": "day", "name": "ts_day"}]},
        }).encode(),
    )
    with urllib.request.urlopen(req, timeout=30) as res:
        assert res.status == 200
    cdc([
        {"operation": "INSERT", "table": DAY_TABLE, "rowId": "1", "after": {"id": 1, "x": 5, "ts": "2025-01-13T05:00:00Z"}},
        {"operation": "INSERT", "table": DAY_TABLE, "rowId": "2", "after": {"id": 2, "x": 6, "ts": "2025-01-14T06:00:00Z"}},
        {"operation": "INSERT", "table": DAY_TABLE, "rowId": "3", "after": {"id": 3, "x": 7}},
    ])
    con = lake_duckdb(URL, TOKEN)  # its own connection: the failure invalidates the database
    name = f'lake."default"."{DAY_TABLE}"'
    assert con.execute(f"SELECT SUM(x) FROM {name} WHERE ts >= TIMESTAMPTZ '2025-01-14 00:00:00+00'").fetchall() == [(6,)]
    con.execute(f"CREATE TABLE copy AS SELECT * FROM {name}")
    assert con.execute("SELECT SUM(x) FROM copy WHERE extract(hour FROM ts) = 5").fetchall() == [(5,)]
    with pytest.raises(duckdb.Error, match="Expected vector of type INT64, but found vector of type INT32"):
        con.execute(f"SELECT SUM(x) FROM {name} WHERE extract(hour FROM ts) = 5").fetchall()
    con.close()
