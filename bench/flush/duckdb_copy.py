"""DuckDB's side of the flush bench: load the same rows (NDJSON from bench/flush/run.mjs, typed as
our writer types them), then time COPY ... TO 'x.parquet' (snappy) of the mirror rows and of
the changelog rows (the same columns our changelog table has, row image as JSON text).

  python bench/flush/duckdb_copy.py ROWS.ndjson OUTDIR THREADS

Prints one JSON object: rows, seconds and bytes of each COPY, peak RSS of this process.
"""
import json
import os
import resource
import sys
import time

import duckdb

src, out, threads = sys.argv[1], sys.argv[2], int(sys.argv[3])
con = duckdb.connect()
con.execute(f"SET threads = {threads}")
# Types as src/iceberg/schema-infer.ts infers them for bench/lib/workload.ts makeRow (long, string, double, boolean).
columns = {
    "id": "BIGINT", "customer_id": "BIGINT", "email": "VARCHAR", "name": "VARCHAR", "status": "VARCHAR",
    "amount": "DOUBLE", "quantity": "BIGINT", "active": "BOOLEAN", "created_at": "VARCHAR", "note": "VARCHAR",
}
cols = ", ".join(f"'{k}': '{v}'" for k, v in columns.items())
con.execute(f"CREATE TABLE mirror AS SELECT * FROM read_json('{src}', format='newline_delimited', columns={{{cols}}})")
# The changelog rows of the same INSERTs: operation, sequence, source, commit/source timestamps, row id, after as JSON.
con.execute("""
CREATE TABLE changelog AS SELECT 'INSERT' AS operation, id AS sequence, 'bench-src' AS source,
  now()::TIMESTAMPTZ AS commit_timestamp, to_timestamp((1704067200000 + id) / 1000.0) AS source_timestamp,
  CAST(id AS VARCHAR) AS row_id, NULL::VARCHAR AS before, to_json(m)::VARCHAR AS after, NULL::VARCHAR AS metadata
FROM mirror m
""")
rows = con.execute("SELECT count(*) FROM mirror").fetchone()[0]
res = {"rows": rows, "threads": threads}
for table in ["mirror", "changelog"]:
    path = os.path.join(out, f"{table}.parquet")
    t = time.perf_counter()
    con.execute(f"COPY {table} TO '{path}' (FORMAT parquet, COMPRESSION snappy, ROW_GROUP_SIZE 100000)")
    res[f"{table}Sec"] = round(time.perf_counter() - t, 3)
    res[f"{table}Bytes"] = os.path.getsize(path)
res["peakRssMiB"] = round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)
print(json.dumps(res))
