"""Times a full scan of a table's metadata.json with pyiceberg and DuckDB (bench/growth/run.mjs).
Prints JSON: {"pyiceberg_s", "duckdb_s", "rows", "duckdb_rows", "fingerprint", "duckdb_fingerprint"} (sha256 of sorted "id:name" lines)."""
import hashlib
import json
import os
import sys
import time

import duckdb
import duckdb_ext
from pyiceberg.table import StaticTable

path = sys.argv[1]
t = time.perf_counter()
arrow = StaticTable.from_metadata("file://" + path).scan().to_arrow()
rows = arrow.num_rows
py_s = time.perf_counter() - t
ext_dir = os.path.join(list(duckdb_ext.__path__)[0], "extensions")
con = duckdb.connect(config={"extension_directory": ext_dir, "autoinstall_known_extensions": "false", "autoload_known_extensions": "true"})
con.execute("LOAD iceberg")
t = time.perf_counter()
duck_rows = con.execute(f"SELECT count(*) FROM (SELECT * FROM iceberg_scan('{path}'))").fetchone()[0]
duck_s = time.perf_counter() - t


def fingerprint(pairs):
    return hashlib.sha256("\n".join(sorted(f"{i}:{n}" for i, n in pairs)).encode()).hexdigest()


py_fp = fingerprint(zip(arrow.column("id").to_pylist(), arrow.column("name").to_pylist()))
duck_fp = fingerprint(con.execute(f"SELECT id, name FROM iceberg_scan('{path}')").fetchall())
print(json.dumps({"pyiceberg_s": py_s, "duckdb_s": duck_s, "rows": rows, "duckdb_rows": duck_rows, "fingerprint": py_fp, "duckdb_fingerprint": duck_fp}))
