"""CDC -> Iceberg, end to end, read by engines we did not write.

Streams a seeded INSERT/UPDATE/DELETE workload over the WebSocket (published JSON frames) into a
running DoLake, flushes several times, then reads the mirror and changelog tables through the REST
catalog and the vended S3 settings with pyiceberg (position deletes applied) and DuckDB's iceberg
extension, and compares with an oracle. Time travel to each flush's snapshot gives that flush's state.

Needs DOLAKE_URL and DOLAKE_TOKEN (scripts/with-server.mjs sets both).
"""

import os
import random
import uuid

import pytest
from websockets.sync.client import connect

from pyiceberg.catalog import load_catalog
from duckdb_offline import lake_http, offline_duckdb  # noqa: E402
from cdc_producer import Producer  # noqa: E402

URL = os.environ.get("DOLAKE_URL")
TOKEN = os.environ.get("DOLAKE_TOKEN")
pytestmark = pytest.mark.skipif(not URL or not TOKEN, reason="DOLAKE_URL and DOLAKE_TOKEN not set (run through scripts/with-server.mjs)")


def http(method, path):
    return lake_http(URL, TOKEN, method, path, timeout=60)


@pytest.fixture(scope="module")
def workload():
    """Streams the workload; returns (tables, oracle states after each flush, changelog counts)."""
    rng = random.Random(20261121)
    run = uuid.uuid4().hex[:6]
    tables = [f"cdc_{run}_users", f"cdc_{run}_orders"]
    live = {t: {} for t in tables}
    states = []
    events_per_table = {t: 0 for t in tables}
    with connect(URL.replace("http", "ws") + "/ws?token=" + TOKEN) as ws:
        producer = Producer(ws, f"py-{run}")
        stream(rng, producer, tables, live, states, events_per_table)
    return tables, states, events_per_table


def stream(rng, producer, tables, live, states, events_per_table):
    """Sends 4 flushes' worth of random changes, recording the oracle state after each flush."""
    for flush in range(4):
        for _ in range(5):
            batch = []
            for _ in range(40):
                t = rng.choice(tables)
                key = f"k{rng.randrange(60)}"
                if key in live[t] and rng.random() < 0.3:
                    batch.append({"operation": "DELETE", "table": t, "rowId": key, "before": {"id": key}})
                    del live[t][key]
                else:
                    row = {"id": key, "amount": rng.randrange(1, 10**6), "big": 2**60 + rng.randrange(1000), "label": f"v{rng.randrange(100)}", "active": rng.random() < 0.5}
                    batch.append({"operation": "UPDATE" if key in live[t] else "INSERT", "table": t, "rowId": key, "after": row})
                    live[t][key] = row
                events_per_table[t] += 1
            producer.send(batch)
        result = http("POST", "/flush")
        assert result["ok"], result
        states.append({t: {k: dict(v) for k, v in live[t].items()} for t in tables})


@pytest.fixture(scope="module")
def catalog():
    return load_catalog("dolake", type="rest", uri=URL, token=TOKEN)


def rows_of(arrow_table):
    return {r["id"]: r for r in arrow_table.to_pylist()}


def test_pyiceberg_reads_the_mirror_with_deletes_applied(workload, catalog):
    tables, states, _ = workload
    for t in tables:
        table = catalog.load_table(("default", t))
        got = rows_of(table.scan().to_arrow())
        want = states[-1][t]
        assert set(got) == set(want)
        for key, row in want.items():
            assert got[key]["amount"] == row["amount"]
            assert got[key]["big"] == row["big"]  # int64 above 2^53, exact
            assert got[key]["label"] == row["label"]
            assert got[key]["active"] == row["active"]


def test_pyiceberg_time_travels_to_each_flush(workload, catalog):
    tables, states, _ = workload
    for t in tables:
        table = catalog.load_table(("default", t))
        snapshots = sorted(table.snapshots(), key=lambda s: s.sequence_number)
        assert len(snapshots) == len(states)
        for snap, state in zip(snapshots, states):
            got = rows_of(table.scan(snapshot_id=snap.snapshot_id).to_arrow())
            assert {k: v["amount"] for k, v in got.items()} == {k: v["amount"] for k, v in state[t].items()}


def test_changelog_has_every_event_once(workload, catalog):
    tables, _, counts = workload
    for t in tables:
        log = catalog.load_table(("default", f"{t}__changelog")).scan().to_arrow()
        assert log.num_rows == counts[t]
        seqs = log.column("sequence").to_pylist()
        assert len(seqs) == len(set(seqs))


def test_duckdb_attaches_the_catalog_and_scans(workload):
    import duckdb
    import duckdb_ext

    tables, states, _ = workload
    # Extensions come from PyPI (duckdb-ext-*), never downloaded at run time.
    con = offline_duckdb()
    for ext in ("httpfs", "avro", "iceberg"):
        con.execute(f"LOAD {ext}")
    con.execute(f"CREATE SECRET dolake (TYPE ICEBERG, TOKEN '{TOKEN}')")
    con.execute(f"ATTACH 'warehouse' AS lake (TYPE ICEBERG, ENDPOINT '{URL}', SECRET dolake)")
    for t in tables:
        n = con.execute(f'SELECT count(*) FROM lake."default"."{t}"').fetchone()[0]
        assert n == len(states[-1][t])


def test_cdc_widens_an_int_column_of_a_table_made_by_pyiceberg(catalog):
    """A table created by another engine with an int column: CDC values beyond int32 widen it to long (safe promotion)."""
    import pyarrow as pa
    from pyiceberg.schema import Schema
    from pyiceberg.types import IntegerType, NestedField, StringType

    name = f"widen_{uuid.uuid4().hex[:6]}"
    catalog.create_namespace_if_not_exists("default")
    table = catalog.create_table(("default", name), schema=Schema(NestedField(1, "id", StringType(), required=False), NestedField(2, "n", IntegerType(), required=False)))
    table.append(pa.Table.from_pylist([{"id": "a", "n": 7}], schema=table.schema().as_arrow()))
    with connect(URL.replace("http", "ws") + "/ws?token=" + TOKEN) as ws:
        producer = Producer(ws, f"widen-{uuid.uuid4().hex[:6]}")
        producer.send([{"operation": "INSERT", "table": name, "rowId": "b", "after": {"id": "b", "n": 2**40}}])
    assert http("POST", "/flush")["ok"]
    table = catalog.load_table(("default", name))
    assert str(table.schema().find_field("n").field_type) == "long"
    rows = {r["id"]: r["n"] for r in table.scan().to_arrow().to_pylist()}
    assert rows == {"a": 7, "b": 2**40}
