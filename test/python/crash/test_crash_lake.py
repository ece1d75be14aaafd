"""The crash-restart e2e (test/e2e/crash-restart.test.ts), read by engines we did not write.

The e2e streams CDC while wrangler dev is SIGKILLed mid-batch and restarted, flushes, and runs this
file with CRASH_ORACLE (each table's live row ids with their last `n`, and the number of acked
events), DOLAKE_URL and DOLAKE_TOKEN. pyiceberg and DuckDB must see exactly the oracle's rows in each
mirror, and the changelogs must hold every acked event exactly once (sequences 1..N, no gap, no
double), not counted through DoLake's own snapshot summaries.
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
ORACLE = os.environ.get("CRASH_ORACLE")
pytestmark = pytest.mark.skipif(not (URL and TOKEN and ORACLE), reason="run by test/e2e/crash-restart.test.ts with DOLAKE_PYTHON set")
TABLES = ("items", "logs")


@pytest.fixture(scope="module")
def oracle():
    with open(ORACLE) as f:
        return json.load(f)


@pytest.fixture(scope="module")
def lake():
    return load_catalog("dolake", type="rest", uri=URL, token=TOKEN)


def test_pyiceberg_mirrors_equal_the_oracle(lake, oracle):
    for table in TABLES:
        rows = lake.load_table(f"default.{table}").scan().to_arrow().to_pylist()
        assert sorted((r["id"], int(r["n"])) for r in rows) == sorted((k, int(n)) for k, n in oracle["live"][table].items())


def test_pyiceberg_changelogs_hold_every_acked_event_once(lake, oracle):
    sequences = []
    for table in TABLES:
        sequences += [int(r["sequence"]) for r in lake.load_table(f"default.{table}__changelog").scan().to_arrow().to_pylist()]
    assert sorted(sequences) == list(range(1, oracle["total"] + 1))


def test_duckdb_mirrors_equal_the_oracle(oracle):
    # Extensions from PyPI (duckdb-ext-*), as test/python/catalog does: nothing is fetched at LOAD time.
    con = offline_duckdb()
    con.execute("LOAD httpfs")
    con.execute("LOAD iceberg")
    con.execute(f"CREATE SECRET s (TYPE ICEBERG, TOKEN '{TOKEN}')")
    con.execute(f"ATTACH 'warehouse' AS lake (TYPE ICEBERG, ENDPOINT '{URL}', SECRET s)")
    for table in TABLES:
        got = sorted((k, int(n)) for k, n in con.execute(f"SELECT id, n FROM lake.default.{table}").fetchall())
        assert got == sorted((k, int(n)) for k, n in oracle["live"][table].items())
    total = sum(con.execute(f"SELECT count(*) FROM lake.default.{t}__changelog").fetchone()[0] for t in TABLES)
    assert total == oracle["total"]
