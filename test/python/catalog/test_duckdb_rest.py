"""DuckDB's iceberg extension against DoLake's REST catalog: it reads tables pyiceberg wrote, and
writes (CREATE TABLE, INSERT) tables pyiceberg then reads, with the S3 settings the catalog vends.

Needs DOLAKE_URL and DOLAKE_TOKEN, and the iceberg + httpfs extensions from PyPI
(duckdb-ext-iceberg, duckdb-ext-httpfs in test/python/requirements.txt): no network at LOAD time.
"""

import os
import uuid

import pyarrow as pa
import pytest

duckdb = pytest.importorskip("duckdb")
duckdb_ext = pytest.importorskip("duckdb_ext")

from pyiceberg.catalog import load_catalog  # noqa: E402
from duckdb_offline import offline_duckdb  # noqa: E402

URL = os.environ.get("DOLAKE_URL")
TOKEN = os.environ.get("DOLAKE_TOKEN")
pytestmark = pytest.mark.skipif(not URL or not TOKEN, reason="DOLAKE_URL and DOLAKE_TOKEN not set (run through scripts/with-server.mjs)")
ARROW = pa.schema([pa.field("id", pa.int64(), nullable=False), pa.field("name", pa.string())])


@pytest.fixture(scope="module")
def catalog():
    return load_catalog("dolake", type="rest", uri=URL, token=TOKEN)


@pytest.fixture(scope="module")
def ns(catalog):
    name = f"duck_{uuid.uuid4().hex[:8]}"
    catalog.create_namespace(name)
    yield name
    for ident in catalog.list_tables(name):
        catalog.purge_table(ident)
    catalog.drop_namespace(name)


@pytest.fixture(scope="module")
def duck():
    con = offline_duckdb()
    try:
        con.execute("LOAD httpfs")
    except duckdb.Error as e:
        pytest.skip(f"httpfs extension not installed offline: {e}")
    con.execute("LOAD iceberg")
    con.execute(f"CREATE SECRET dolake (TYPE ICEBERG, TOKEN '{TOKEN}')")
    con.execute(f"ATTACH 'warehouse' AS lake (TYPE ICEBERG, ENDPOINT '{URL}', SECRET dolake)")
    yield con
    con.close()


def test_duckdb_reads_and_appends_to_a_pyiceberg_table(catalog, ns, duck):
    table = catalog.create_table(f"{ns}.people", schema=ARROW)
    table.append(pa.Table.from_pylist([{"id": 1, "name": "ada"}, {"id": 2, "name": "bob"}], schema=ARROW))
    assert duck.execute(f"SELECT id, name FROM lake.{ns}.people ORDER BY id").fetchall() == [(1, "ada"), (2, "bob")]
    duck.execute(f"INSERT INTO lake.{ns}.people VALUES (3, 'cy')")
    table = catalog.load_table(f"{ns}.people")
    assert sorted(table.scan().to_arrow()["id"].to_pylist()) == [1, 2, 3]
    assert len(table.metadata.snapshots) == 2


def test_duckdb_creates_a_table_pyiceberg_reads(catalog, ns, duck):
    duck.execute(f"CREATE TABLE lake.{ns}.from_duck (a INTEGER, b VARCHAR)")
    duck.execute(f"INSERT INTO lake.{ns}.from_duck VALUES (1, 'x'), (2, 'y')")
    rows = catalog.load_table(f"{ns}.from_duck").scan().to_arrow().to_pylist()
    assert sorted(rows, key=lambda r: r["a"]) == [{"a": 1, "b": "x"}, {"a": 2, "b": "y"}]
