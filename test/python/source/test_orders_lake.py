"""dolake/source end to end, read by engines we did not write.

test/e2e/source-orders.test.ts drives the orders example (random writes, rolled-back batches,
SIGKILL restarts), flushes, and runs this file with ORDERS_ORACLE (the source's rows and every
committed change in commit order), DOLAKE_URL and DOLAKE_TOKEN. pyiceberg and DuckDB must see the
mirror equal to the source row for row, and the changelog must hold every committed change
exactly once, in commit order, with consecutive sequences.
"""

import json
import os

import duckdb
import duckdb_ext
import pytest
from pyiceberg.catalog import load_catalog
from duckdb_offline import offline_duckdb  # noqa: E402

URL = os.environ.get("DOLAKE_URL")
TOKEN = os.environ.get("DOLAKE_TOKEN")
ORACLE = os.environ.get("ORDERS_ORACLE")
pytestmark = pytest.mark.skipif(not (URL and TOKEN and ORACLE), reason="run by test/e2e/source-orders.test.ts with DOLAKE_PYTHON set")


@pytest.fixture(scope="module")
def oracle():
    with open(ORACLE) as f:
        return json.load(f)


@pytest.fixture(scope="module")
def lake():
    return load_catalog("dolake", type="rest", uri=URL, token=TOKEN)


def expected_rows(oracle):
    return sorted((int(r["id"]), r["customer"], int(r["amount_cents"]), r["status"]) for r in oracle["rows"])


def test_pyiceberg_mirror_equals_source(lake, oracle):
    rows = lake.load_table("default.orders").scan().to_arrow().to_pylist()
    got = sorted((r["id"], r["customer"], r["amount_cents"], r["status"]) for r in rows)
    assert got == expected_rows(oracle)


def test_pyiceberg_changelog_has_every_committed_change_once(lake, oracle):
    log = lake.load_table("default.orders__changelog").scan().to_arrow().to_pylist()
    log.sort(key=lambda r: r["sequence"])
    assert [r["sequence"] for r in log] == list(range(1, len(oracle["changes"]) + 1))
    assert [(r["operation"], r["row_id"]) for r in log] == [(c["op"], c["id"]) for c in oracle["changes"]]
    assert len({r["source"] for r in log}) == 1


def test_duckdb_mirror_equals_source(oracle):
    # Extensions from PyPI (duckdb-ext-*), as test/python/catalog does: nothing is fetched at LOAD time.
    con = offline_duckdb()
    con.execute("LOAD httpfs")
    con.execute("LOAD iceberg")
    con.execute(f"CREATE SECRET s (TYPE ICEBERG, TOKEN '{TOKEN}')")
    con.execute(f"ATTACH 'warehouse' AS lake (TYPE ICEBERG, ENDPOINT '{URL}', SECRET s)")
    got = sorted(con.execute("SELECT id, customer, amount_cents, status FROM lake.default.orders").fetchall())
    assert got == expected_rows(oracle)
