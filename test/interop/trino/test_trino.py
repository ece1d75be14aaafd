"""Trino 476 (Iceberg connector, REST catalog, native S3) against DoLake: one Trino server for all
checks (trino_server.py installs it from Maven Central and writes its catalog file from /v1/config).

1. A CDC table with updates and deletes (position deletes) read by Trino equals the oracle; time
   travel by snapshot id and by timestamp; the "$snapshots" and "$files" metadata tables.
2. A CDC table partitioned by region (DoLake's partitionBy): a filter on region reads fewer files
   (splits and rows read from the query's stats) and returns the right rows.
3. Trino writes: CREATE SCHEMA (also WITH the default location), CREATE TABLE, INSERT, DELETE, CTAS,
   DELETE from a CDC mirror (an INSERT into it is refused); pyiceberg reads every write back. A failed CTAS and a failed CREATE
   TABLE leave no table behind.

Needs DOLAKE_URL and DOLAKE_TOKEN (scripts/with-server.mjs), mvn (Maven Central) and a Java >= 24.
"""

import json
import os
import shutil
import sys
import urllib.request
import uuid

import pytest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from trino_server import JAVA_HOME, TrinoError, TrinoServer  # noqa: E402

URL = os.environ.get("DOLAKE_URL")
TOKEN = os.environ.get("DOLAKE_TOKEN")
pytestmark = [
    pytest.mark.skipif(not URL or not TOKEN, reason="DOLAKE_URL and DOLAKE_TOKEN not set (run through scripts/with-server.mjs)"),
    pytest.mark.skipif(not shutil.which("mvn") or not os.path.exists(os.path.join(JAVA_HOME, "bin", "java")), reason="needs mvn and a Java >= 24 (TRINO_JAVA_HOME)"),
]
RUN = uuid.uuid4().hex[:6]
CDC_TABLE = f"trino_cdc_{RUN}"
PART_TABLE = f"trino_part_{RUN}"


def http(method, path, body=None):
    headers = {"Authorization": "Bearer " + TOKEN}
    if body is not None:
        headers["Content-Type"] = "application/json"
    req = urllib.request.Request(URL + path, data=None if body is None else json.dumps(body).encode(), method=method, headers=headers)
    with urllib.request.urlopen(req, timeout=60) as res:
        return json.load(res)


def cdc(events):
    """One JSON cdc_batch over /ws (buffered ack), then a flush."""
    from websockets.sync.client import connect

    source = f"trino-{RUN}-{uuid.uuid4().hex[:4]}"
    with connect(URL.replace("http", "ws", 1) + "/ws?token=" + TOKEN) as ws:
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
    result = http("POST", "/flush")
    assert result["ok"], result


def row(key, amount, label, region="eu"):
    return {"id": key, "amount": amount, "label": label, "region": region}


@pytest.fixture(scope="module")
def trino():
    with TrinoServer(URL, TOKEN) as server:
        yield server


@pytest.fixture(scope="module")
def catalog():
    from pyiceberg.catalog import load_catalog

    return load_catalog("dolake", type="rest", uri=URL, token=TOKEN)


@pytest.fixture(scope="module")
def cdc_table():
    """Two flushes: 20 inserts, then 5 updates and 5 deletes. Returns (oracle after, oracle after the first flush)."""
    first = {f"k{i:02d}": row(f"k{i:02d}", i, "v1") for i in range(20)}
    cdc([{"operation": "INSERT", "table": CDC_TABLE, "rowId": k, "after": r} for k, r in first.items()])
    live = dict(first)
    events = []
    for i in range(5):
        k = f"k{i:02d}"
        live[k] = row(k, 100 + i, "v2")
        events.append({"operation": "UPDATE", "table": CDC_TABLE, "rowId": k, "after": live[k]})
    for i in range(15, 20):
        k = f"k{i:02d}"
        del live[k]
        events.append({"operation": "DELETE", "table": CDC_TABLE, "rowId": k, "before": {"id": k}})
    cdc(events)
    return live, first


def by_id(rows):
    return {r[0]: {"id": r[0], "amount": r[1], "label": r[2], "region": r[3]} for r in rows}


def test_trino_reads_a_cdc_table_with_deletes_time_travel_and_metadata_tables(trino, cdc_table):
    live, first = cdc_table
    t = f"dolake.default.{CDC_TABLE}"
    assert by_id(trino.query(f"SELECT id, amount, label, region FROM {t}")) == live
    snapshots = trino.query(f'SELECT snapshot_id, parent_id, CAST(committed_at AS varchar) FROM dolake.default."{CDC_TABLE}$snapshots" ORDER BY committed_at')
    assert len(snapshots) == 2 and snapshots[0][1] is None and snapshots[1][1] == snapshots[0][0]
    assert by_id(trino.query(f"SELECT id, amount, label, region FROM {t} FOR VERSION AS OF {snapshots[0][0]}")) == first
    # FOR TIMESTAMP AS OF the first commit's time: the state after the first flush.
    at = snapshots[0][2]
    assert by_id(trino.query(f"SELECT id, amount, label, region FROM {t} FOR TIMESTAMP AS OF TIMESTAMP '{at}'")) == first
    files = trino.query(f'SELECT content, count(*) FROM dolake.default."{CDC_TABLE}$files" GROUP BY content')
    assert {c for c, _ in files} == {0, 1}, files  # data files and position-delete files


def test_trino_prunes_partitions_of_a_partitioned_cdc_table(trino):
    patched = http("PATCH", "/config", {"partitionBy": {PART_TABLE: [{"column": "region", "transform": "identity"}]}})
    assert PART_TABLE in json.dumps(patched)
    regions = ["eu", "us", "ap"]
    live = {f"p{i:02d}": row(f"p{i:02d}", i, "v1", regions[i % 3]) for i in range(30)}
    cdc([{"operation": "INSERT", "table": PART_TABLE, "rowId": k, "after": r} for k, r in live.items()])
    live["p00"] = row("p00", 500, "v2", "eu")
    del live["p03"]
    cdc([{"operation": "UPDATE", "table": PART_TABLE, "rowId": "p00", "after": live["p00"]}, {"operation": "DELETE", "table": PART_TABLE, "rowId": "p03", "before": {"id": "p03"}}])
    t = f"dolake.default.{PART_TABLE}"
    parts = trino.query(f'SELECT partition.region, count(*) FROM dolake.default."{PART_TABLE}$files" WHERE content = 0 GROUP BY 1')
    assert {r for r, _ in parts} == set(regions), parts  # one partition per region
    all_rows, all_stats = trino.execute(f"SELECT id, amount, label, region FROM {t}")
    eu_rows, eu_stats = trino.execute(f"SELECT id, amount, label, region FROM {t} WHERE region = 'eu'")
    assert by_id(all_rows) == live
    assert by_id(eu_rows) == {k: r for k, r in live.items() if r["region"] == "eu"}
    # Pruning: the filtered scan reads only the eu data files (fewer splits, fewer rows read).
    assert eu_stats["totalSplits"] < all_stats["totalSplits"], (eu_stats, all_stats)
    assert eu_stats["processedRows"] < all_stats["processedRows"], (eu_stats, all_stats)
    eu_written = sum(1 for i in range(30) if i % 3 == 0) + 1  # first flush's eu rows + the update's new image
    assert eu_stats["processedRows"] <= eu_written, eu_stats


def test_trino_creates_inserts_deletes_and_ctas_read_back_by_pyiceberg(trino, catalog, cdc_table):
    ns = f"trino_{RUN}"
    trino.query(f"CREATE SCHEMA dolake.{ns}")
    trino.query(f"CREATE TABLE dolake.{ns}.events (id bigint, name varchar, day date) WITH (partitioning = ARRAY['day'])")
    trino.query(f"INSERT INTO dolake.{ns}.events VALUES (1, 'a', DATE '2026-01-01'), (2, 'b', DATE '2026-01-01'), (3, 'c', DATE '2026-01-02')")
    trino.query(f"DELETE FROM dolake.{ns}.events WHERE id = 2")
    assert sorted(trino.query(f"SELECT id, name FROM dolake.{ns}.events")) == [[1, "a"], [3, "c"]]
    trino.query(f"CREATE TABLE dolake.{ns}.summary AS SELECT day, count(*) AS n FROM dolake.{ns}.events GROUP BY day")

    events = catalog.load_table((ns, "events"))
    assert events.location().startswith(catalog.load_namespace_properties(ns)["location"] + "/events")
    assert sorted((r["id"], r["name"]) for r in events.scan().to_arrow().to_pylist()) == [(1, "a"), (3, "c")]
    summary = sorted((str(r["day"]), r["n"]) for r in catalog.load_table((ns, "summary")).scan().to_arrow().to_pylist())
    assert summary == [("2026-01-01", 1), ("2026-01-02", 1)]

    # A CDC mirror follows its source (docs/external-writers.md): Trino's DELETE (position deletes) is
    # accepted and learned by the primary-key index; its INSERT, rows no source key addresses, is refused.
    live, _ = cdc_table
    with pytest.raises(TrinoError, match="CDC mirror|Forbidden"):
        trino.query(f"INSERT INTO dolake.default.{CDC_TABLE} (id, amount, label, region) VALUES ('trino-1', 7, 'trino', 'us')")
    victim = sorted(live)[0]
    trino.query(f"DELETE FROM dolake.default.{CDC_TABLE} WHERE id = '{victim}'")
    want = {k: v for k, v in live.items() if k != victim}
    got = {r["id"]: r for r in catalog.load_table(("default", CDC_TABLE)).scan().to_arrow().to_pylist()}
    assert got == want
    assert sorted(r[0] for r in trino.query(f"SELECT id FROM dolake.default.{CDC_TABLE}")) == sorted(want)


def test_trino_create_schema_with_the_default_location(trino, catalog):
    ns = f"trino_loc_{RUN}"
    location = catalog.load_namespace_properties("default")["location"].rsplit("/", 1)[0] + "/" + ns
    trino.query(f"CREATE SCHEMA dolake.{ns} WITH (location = '{location}')")
    assert catalog.load_namespace_properties(ns)["location"] == location
    with pytest.raises(TrinoError):
        trino.query(f"CREATE SCHEMA dolake.{ns}_elsewhere WITH (location = 's3://elsewhere/{ns}')")
    assert (ns + "_elsewhere",) not in catalog.list_namespaces()


def test_trino_failed_creates_leave_no_table_behind(trino, catalog):
    ns = f"trino_fail_{RUN}"
    trino.query(f"CREATE SCHEMA dolake.{ns}")
    # CTAS whose query fails while running: no table, no files registered.
    with pytest.raises(TrinoError, match="DIVISION_BY_ZERO"):
        trino.query(f"CREATE TABLE dolake.{ns}.broken AS SELECT x / (x - 2) AS y FROM UNNEST(ARRAY[1, 2, 3]) AS u(x)")
    assert not catalog.table_exists((ns, "broken"))
    # CREATE TABLE of an existing name fails and leaves the existing table as it was.
    trino.query(f"CREATE TABLE dolake.{ns}.kept (id bigint)")
    trino.query(f"INSERT INTO dolake.{ns}.kept VALUES (1)")
    with pytest.raises(TrinoError, match="already exists"):
        trino.query(f"CREATE TABLE dolake.{ns}.kept (other varchar)")
    assert [r["id"] for r in catalog.load_table((ns, "kept")).scan().to_arrow().to_pylist()] == [1]
    assert catalog.list_tables(ns) == [(ns, "kept")]
