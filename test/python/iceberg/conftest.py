"""Fixtures of the interop harness: the folder written by produce.interop.test.ts and an offline DuckDB.

DuckDB normally downloads extensions from the internet at INSTALL/LOAD time. Offline, the
`duckdb-ext-iceberg` and `duckdb-ext-avro` PyPI packages (same DuckDB version, pinned in
requirements.txt) ship the extension binaries under site-packages/duckdb_ext/extensions/
v<version>/<platform>/, which is exactly DuckDB's extension_directory layout: pointing
`extension_directory` there and turning off auto-install makes `LOAD iceberg` work with no network
(iceberg autoloads avro from the same folder).
"""
import json
import os

import duckdb
import duckdb_ext
import pytest
from duckdb_offline import offline_duckdb  # noqa: E402


@pytest.fixture(scope="session")
def out_dir():
    out = os.environ.get("INTEROP_OUT")
    if not out or not os.path.exists(os.path.join(out, "oracle.json")):
        pytest.fail("INTEROP_OUT must point at a folder written by test/python/produce.interop.test.ts (run `npm run test:interop`)")
    return out


@pytest.fixture(scope="session")
def oracle(out_dir):
    with open(os.path.join(out_dir, "oracle.json")) as f:
        return json.load(f)


def duckdb_offline():
    """A DuckDB connection with the iceberg extension loaded from the PyPI package, no network."""
    con = offline_duckdb()
    con.execute("LOAD iceberg")
    return con


@pytest.fixture(scope="session")
def duck():
    con = duckdb_offline()
    yield con
    con.close()
