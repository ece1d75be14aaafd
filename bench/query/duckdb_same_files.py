"""DuckDB on the same Iceberg tables (bench/query/live.mjs): ATTACH through DoLake's REST catalog,
run each query given on stdin (one per line) 3 times, print the best wall time in ms per query as
JSON. Extensions come from PyPI (duckdb-ext-*), nothing is fetched."""

import json
import os
import sys
import time

import duckdb
import duckdb_ext

url, token = sys.argv[1], sys.argv[2]
ext_dir = os.path.join(list(duckdb_ext.__path__)[0], "extensions")
con = duckdb.connect(config={"extension_directory": ext_dir, "autoinstall_known_extensions": "false", "autoload_known_extensions": "true", "threads": 1})
con.execute("LOAD httpfs")
con.execute("LOAD iceberg")
con.execute(f"CREATE SECRET s (TYPE ICEBERG, TOKEN '{token}')")
con.execute(f"ATTACH 'warehouse' AS lake (TYPE ICEBERG, ENDPOINT '{url}', SECRET s)")
con.execute("USE lake.default")
out = {}
for sql in [line.strip() for line in sys.stdin if line.strip()]:
    best = None
    for _ in range(3):
        t = time.perf_counter()
        rows = con.execute(sql).fetchall()
        ms = (time.perf_counter() - t) * 1000
        best = ms if best is None else min(best, ms)
    out[sql] = {"ms": round(best, 1), "rows": len(rows)}
print(json.dumps(out))
