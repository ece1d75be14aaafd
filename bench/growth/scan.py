"""Times a full scan of a table's metadata.json with pyiceberg and DuckDB (bench/growth/run.mjs).
Prints JSON: {"pyiceberg_s", "duckdb_s", "rows"}."""
import json
import os
import sys
import time

import duckdb
import duckdb_ext
from pyiceberg.table import StaticTable

path = sys.argv[1]
t = time.perf_counter()
rows = StaticTable.from_metadata("file://" + path).scan().to_arrow().num_rows
py_s = time.perf_counter() - t
ext_dir = os.path.join(list(duckdb_ext.__path__)[0], "extensions")
con = duckdb.connect(config={"extension_directory": ext_dir, "autoinstall_known_extensions": "false", "autoload_known_extensions": "true"})
con.execute("LOAD iceberg")
t = time.perf_counter()
duck_rows = con.execute(f"SELECT count(*) FROM (SELECT * FROM iceberg_scan('{path}'))").fetchone()[0]
duck_s = time.perf_counter() - t
print(json.dumps({"pyiceberg_s": py_s, "duckdb_s": duck_s, "rows": rows, "duckdb_rows": duck_rows}))
