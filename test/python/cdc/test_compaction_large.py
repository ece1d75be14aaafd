"""A compaction step whose output is larger than one multipart part, read back by engines we did
not write (issue 9: "stream the merge row group by row group into an R2 multipart upload").

About 20 MB of wide rows (2,000 random characters each) are flushed into a mirror as several
files; one compaction job (128 MiB of input by default) rewrites them all into one file that the
object streams into an R2 multipart upload (5 MiB parts; miniflare's R2 under `wrangler dev`
enforces the part rules), applying the UPDATEs' and DELETEs' position deletes. The job runs in
slices of 2 MiB of input, each restoring the upload, the Parquet footer's row groups and column
statistics from SQLite, so the file the readers check was written across many slices. pyiceberg and DuckDB must read
exactly the oracle's rows, and CDC changes after the compaction must still hit the right rows.

Needs DOLAKE_URL and DOLAKE_TOKEN (scripts/with-server.mjs sets both).
"""

import os
import random
import string
import uuid

import pytest
from websockets.sync.client import connect

from pyiceberg.catalog import load_catalog
from duckdb_offline import lake_duckdb, lake_http  # noqa: E402
from cdc_producer import Producer  # noqa: E402

URL = os.environ.get("DOLAKE_URL")
TOKEN = os.environ.get("DOLAKE_TOKEN")
pytestmark = pytest.mark.skipif(not URL or not TOKEN, reason="DOLAKE_URL and DOLAKE_TOKEN not set (run through scripts/with-server.mjs)")

PART = 5 * 1024 * 1024
ROWS = 10_000
WIDTH = 2_000


def http(method, path, body=None):
    return lake_http(URL, TOKEN, method, path, body, timeout=600)


def duckdb_rows(table):
    return {r[0]: r[1] for r in lake_duckdb(URL, TOKEN).execute(f'SELECT id, blob FROM lake."default"."{table}"').fetchall()}


def pyiceberg_rows(catalog, table):
    return {r["id"]: r["blob"] for r in catalog.load_table(("default", table)).scan().to_arrow().to_pylist()}


def test_a_step_larger_than_a_part_streams_one_file_read_back_exactly():
    rng = random.Random(20261129)
    table = f"big_{uuid.uuid4().hex[:6]}"
    blob = lambda: "".join(rng.choices(string.ascii_letters + string.digits, k=WIDTH))  # noqa: E731
    live = {}

    def random_changes(n):
        """Updates or deletes of n random live keys, applied to `live`."""
        changes = []
        for key in rng.sample(sorted(live), n):
            if rng.random() < 0.5:
                changes.append({"operation": "DELETE", "table": table, "rowId": key, "before": {"id": key}})
                del live[key]
            else:
                live[key] = blob()
                changes.append({"operation": "UPDATE", "table": table, "rowId": key, "after": {"id": key, "blob": live[key]}})
        return changes

    catalog = load_catalog("dolake", type="rest", uri=URL, token=TOKEN)
    http("PATCH", "/config", {"compaction": {"minFilesToCompact": 2}})
    try:
        with connect(URL.replace("http", "ws") + "/ws?token=" + TOKEN, max_size=None) as ws:
            producer = Producer(ws, f"big-{table}")
            for flush in range(3):
                for _ in range(ROWS // 3 // 200):
                    batch = []
                    for _ in range(200):
                        key = f"k{len(live)}"
                        live[key] = blob()
                        batch.append({"operation": "INSERT", "table": table, "rowId": key, "after": {"id": key, "blob": live[key]}})
                    producer.send(batch)
                assert http("POST", "/flush")["ok"]
            producer.send(random_changes(300))
            assert http("POST", "/flush")["ok"]
            assert len(list(catalog.load_table(("default", table)).scan().plan_files())) >= 4

            report = http("POST", "/v1/compaction/run", {"namespace": "default", "table": table})
            steps = [s for s in report["steps"] if s["table"] == f"default.{table}"]
            assert len(steps) == 1, report
            step = steps[0]
            assert step["addedFiles"] == 1 and step["rowsKept"] == len(live), step
            assert step["slices"] >= 5, step  # ~20 MB of input, 2 MiB a slice
            assert step["addedBytes"] > 2 * PART, step  # three parts or more: a multipart upload
            tasks = list(catalog.load_table(("default", table)).scan().plan_files())
            assert len(tasks) == 1 and not tasks[0].delete_files
            assert tasks[0].file.file_size_in_bytes == step["addedBytes"]
            assert pyiceberg_rows(catalog, table) == live
            assert duckdb_rows(table) == live

            # CDC after the compaction: the index followed every row into the streamed file.
            producer.send(random_changes(50))
            assert http("POST", "/flush")["ok"]
            assert pyiceberg_rows(catalog, table) == live
            assert duckdb_rows(table) == live
    finally:
        http("PATCH", "/config", {"compaction": {"minFilesToCompact": 5}})
