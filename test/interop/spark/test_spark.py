"""Apache Spark (pyspark 3.5 + Iceberg's Spark runtime) against DoLake, configured only with the
catalog URI and the bearer token: S3FileIO and its settings come from the catalog's /v1/config.

1. A CDC workload (inserts, updates, deletes over two flushes) streamed over the WebSocket is read
   by Spark SQL with the position deletes applied.
2. Spark DELETEs from that CDC mirror (position deletes, learned by the primary-key index) and cannot
   INSERT into it (refused: rows with no source key); a later CDC flush commits on top of
   Spark's snapshot; pyiceberg reads the combined table.
3. Spark creates a partitioned table, inserts, deletes a row and adds then drops a column; pyiceberg
   reads the result.
4. A CDC table with a Spark DELETE, compacted by DoLake with snapshots expired (issue 9), read by
   Java's Iceberg: rows, metadata tables, an expired snapshot refused; CDC changes after it.

Needs DOLAKE_URL and DOLAKE_TOKEN (scripts/with-server.mjs), java and mvn (the jars come from Maven
Central through test/interop/spark/pom.xml into test/interop/spark/target/jars).
"""

import glob
import os
import shutil
import subprocess
import sys
import time
import uuid

import pytest

# The Python checks' shared helpers (test/python): the CDC producer and DoLake's JSON routes.
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "python"))
from cdc_producer import Producer  # noqa: E402
from duckdb_offline import lake_http  # noqa: E402

URL = os.environ.get("DOLAKE_URL")
TOKEN = os.environ.get("DOLAKE_TOKEN")
HERE = os.path.dirname(os.path.abspath(__file__))
pytestmark = [
    pytest.mark.skipif(not URL or not TOKEN, reason="DOLAKE_URL and DOLAKE_TOKEN not set (run through scripts/with-server.mjs)"),
    pytest.mark.skipif(not (shutil.which("java") and shutil.which("mvn")), reason="needs java and mvn"),
]
RUN = uuid.uuid4().hex[:6]
CDC_TABLE = f"spark_cdc_{RUN}"


def http(method, path):
    return lake_http(URL, TOKEN, method, path, timeout=60)


def jars():
    """The Iceberg Spark runtime and AWS bundle, fetched by Maven (cached in ~/.m2) on first use."""
    subprocess.run(["mvn", "-B", "-q", "-f", os.path.join(HERE, "pom.xml"), "package"], check=True, timeout=900)
    found = sorted(glob.glob(os.path.join(HERE, "target", "jars", "*.jar")))
    assert len(found) == 2, found
    return found


@pytest.fixture(scope="module")
def spark():
    from pyspark.sql import SparkSession

    paths = jars()
    started = time.monotonic()
    session = (
        SparkSession.builder.master("local[2]")
        .appName("dolake-interop")
        .config("spark.jars", ",".join(paths))
        .config("spark.driver.host", "127.0.0.1")
        .config("spark.driver.bindAddress", "127.0.0.1")
        .config("spark.ui.enabled", "false")
        .config("spark.sql.shuffle.partitions", "2")
        .config("spark.sql.session.timeZone", "UTC")
        .config("spark.sql.extensions", "org.apache.iceberg.spark.extensions.IcebergSparkSessionExtensions")
        # The whole catalog configuration: no io-impl, no s3.* (vended by /v1/config), no warehouse.
        .config("spark.sql.catalog.dolake", "org.apache.iceberg.spark.SparkCatalog")
        .config("spark.sql.catalog.dolake.type", "rest")
        .config("spark.sql.catalog.dolake.uri", URL)
        .config("spark.sql.catalog.dolake.token", TOKEN)
        .getOrCreate()
    )
    session.sparkContext.setLogLevel("ERROR")
    print(f"\nspark: session with the Iceberg runtime up in {time.monotonic() - started:.1f} s", file=sys.stderr)
    yield session
    session.stop()


@pytest.fixture(scope="module")
def catalog():
    from pyiceberg.catalog import load_catalog

    return load_catalog("dolake", type="rest", uri=URL, token=TOKEN)


def row(key, amount, label):
    return {"id": key, "amount": amount, "big": 2**60 + amount, "label": label, "active": amount % 2 == 0}


def cdc(events):
    from websockets.sync.client import connect

    with connect(URL.replace("http", "ws", 1) + "/ws?token=" + TOKEN) as ws:
        Producer(ws, f"spark-{RUN}-{uuid.uuid4().hex[:4]}", timeout=10).send(events)
    result = http("POST", "/flush")
    assert result["ok"], result


@pytest.fixture(scope="module")
def cdc_table():
    """Two flushes: 20 inserts, then 5 updates and 5 deletes (position deletes). Returns the oracle."""
    live = {f"k{i:02d}": row(f"k{i:02d}", i, "v1") for i in range(20)}
    cdc([{"operation": "INSERT", "table": CDC_TABLE, "rowId": k, "after": r} for k, r in live.items()])
    events = []
    for i in range(5):
        k = f"k{i:02d}"
        live[k] = row(k, 100 + i, "v2")
        events.append({"operation": "UPDATE", "table": CDC_TABLE, "rowId": k, "after": live[k]})
    for i in range(15, 20):
        k = f"k{i:02d}"
        del live[k]
        events.append({"operation": "DELETE", "table": CDC_TABLE, "rowId": k, "before": {"id": k}})
    cdc(events)
    return live


def spark_rows(spark, sql):
    return {r["id"]: r.asDict() for r in spark.sql(sql).collect()}


def test_spark_reads_a_cdc_table_with_deletes_applied(spark, cdc_table):
    got = spark_rows(spark, f"SELECT id, amount, big, label, active FROM dolake.default.{CDC_TABLE}")
    assert got == cdc_table
    files = spark.sql(f"SELECT content, count(*) AS n FROM dolake.default.{CDC_TABLE}.files GROUP BY content").collect()
    assert {r["content"] for r in files} == {0, 1}, files  # data and position-delete files
    snapshots = spark.sql(f"SELECT snapshot_id, parent_id FROM dolake.default.{CDC_TABLE}.snapshots").collect()
    assert len(snapshots) == 2
    first = next(r["snapshot_id"] for r in snapshots if r["parent_id"] is None)
    # Time travel to the first flush: all 20 inserts, none of the updates.
    assert spark_rows(spark, f"SELECT id, amount FROM dolake.default.{CDC_TABLE} VERSION AS OF {first}") == {f"k{i:02d}": {"id": f"k{i:02d}", "amount": i} for i in range(20)}


def test_spark_deletes_from_the_cdc_mirror_and_cdc_updates_on_top_but_cannot_insert(spark, catalog, cdc_table):
    """A mirror's rows come from its source (docs/external-writers.md). Spark's DELETE writes position
    deletes (the mirror's write.delete.mode is merge-on-read) and the primary-key index forgets the row;
    Spark's INSERT, rows no source key addresses, is refused with 403 and changes nothing."""
    with pytest.raises(Exception, match="ForbiddenException|CDC mirror"):
        spark.sql(f"INSERT INTO dolake.default.{CDC_TABLE} (id, amount, big, label, active) VALUES ('spark-1', 7, 1152921504606846983, 'spark', false)")
    victim = sorted(cdc_table)[0]
    spark.sql(f"DELETE FROM dolake.default.{CDC_TABLE} WHERE id = '{victim}'")
    want = dict(cdc_table)
    del want[victim]
    table = catalog.load_table(("default", CDC_TABLE))
    assert {r["id"]: r for r in table.scan().to_arrow().to_pylist()} == want
    # The source updates that row afterwards: the new version is written on top of Spark's snapshot
    # (one commit point), and the old position is not deleted a second time.
    want[victim] = row(victim, 505, "v3")
    cdc([{"operation": "UPDATE", "table": CDC_TABLE, "rowId": victim, "after": want[victim]}])
    table = catalog.load_table(("default", CDC_TABLE))
    assert {r["id"]: r for r in table.scan().to_arrow().to_pylist()} == want
    summary = table.current_snapshot().summary
    assert int(summary["total-records"]) - int(summary["total-position-deletes"]) == len(want)
    # Spark's catalog caches loaded tables (cache-enabled, 30 s): another writer's commit shows after a refresh.
    spark.sql(f"REFRESH TABLE dolake.default.{CDC_TABLE}")
    assert spark_rows(spark, f"SELECT id, amount, big, label, active FROM dolake.default.{CDC_TABLE}") == want
    assert len(table.snapshots()) == 4


def test_spark_creates_writes_deletes_and_evolves_a_table(spark, catalog):
    ns = f"spark_{RUN}"
    name = f"dolake.{ns}.events"
    spark.sql(f"CREATE NAMESPACE dolake.{ns}")
    spark.sql(f"CREATE TABLE {name} (id BIGINT, name STRING, ts TIMESTAMP) USING iceberg PARTITIONED BY (days(ts))")
    spark.sql(
        f"INSERT INTO {name} VALUES (1, 'a', TIMESTAMP '2026-01-01 10:00:00'), (2, 'b', TIMESTAMP '2026-01-01 11:00:00'), "
        "(3, 'c', TIMESTAMP '2026-01-02 12:00:00')"
    )
    spark.sql(f"DELETE FROM {name} WHERE id = 2")
    spark.sql(f"ALTER TABLE {name} ADD COLUMN note STRING")
    spark.sql(f"INSERT INTO {name} VALUES (4, 'd', TIMESTAMP '2026-01-03 00:00:00', 'noted')")
    # Dropping the newest column: Java sends add-schema with last-column-id below the table's.
    spark.sql(f"ALTER TABLE {name} DROP COLUMN note")
    assert sorted(r["id"] for r in spark.sql(f"SELECT id FROM {name}").collect()) == [1, 3, 4]

    table = catalog.load_table((ns, "events"))
    assert [f.name for f in table.schema().fields] == ["id", "name", "ts"]
    assert table.metadata.last_column_id == 4
    assert str(table.spec()).find("day") >= 0
    got = sorted(table.scan().to_arrow().to_pylist(), key=lambda r: r["id"])
    assert [(r["id"], r["name"]) for r in got] == [(1, "a"), (3, "c"), (4, "d")]
    assert got[0]["ts"].isoformat().startswith("2026-01-01T10:00:00")


def post(path, body):
    return lake_http(URL, TOKEN, "POST", path, body, timeout=120)


def test_spark_reads_a_compacted_cdc_table_with_expired_snapshots(spark, catalog):
    """Issue 9: six CDC flushes and a Spark DELETE (an external position delete), then
    POST /v1/compaction/run with a retention that lets old snapshots go: Java's Iceberg reads the
    replace snapshot (one data file, no delete file), its metadata tables, refuses an expired
    snapshot, and CDC UPDATE/DELETE of compacted rows land right afterwards."""
    name = f"spark_cmp_{RUN}"
    live = {f"c{i:02d}": row(f"c{i:02d}", i, "v1") for i in range(30)}
    cdc([{"operation": "INSERT", "table": name, "rowId": k, "after": r} for k, r in live.items()])
    for f in range(5):
        events = []
        for i in (f, 10 + f):
            k = f"c{i:02d}"
            live[k] = row(k, 1000 * (f + 1) + i, f"v{f + 2}")
            events.append({"operation": "UPDATE", "table": name, "rowId": k, "after": live[k]})
        k = f"c{29 - f:02d}"
        del live[k]
        events.append({"operation": "DELETE", "table": name, "rowId": k, "before": {"id": k}})
        cdc(events)
    spark.sql(f"DELETE FROM dolake.default.{name} WHERE id = 'c20'")
    del live["c20"]
    first = min(catalog.load_table(("default", name)).snapshots(), key=lambda s: s.sequence_number).snapshot_id
    table = catalog.load_table(("default", name))
    with table.transaction() as tx:
        tx.set_properties({"history.expire.max-snapshot-age-ms": "1", "history.expire.min-snapshots-to-keep": "2"})
    time.sleep(0.01)
    # Spark's file-scoped DELETE folds the earlier position deletes of that data file into its own.
    deletes = [x for x in catalog.load_table(("default", name)).inspect.files().to_pylist() if x["content"] == 1]
    run = post("/v1/compaction/run", {"namespace": "default", "table": name})
    assert [s["rewrittenFiles"] for s in run["steps"]] == [6], run
    step = run["steps"][0]
    assert step["retiredDeleteFiles"] == len(deletes) >= 1 and step["rowsDropped"] == 16 and step["rowsKept"] == len(live), run
    assert run["snapshotsExpired"] > 0, run

    spark.sql(f"REFRESH TABLE dolake.default.{name}")
    assert spark_rows(spark, f"SELECT id, amount, big, label, active FROM dolake.default.{name}") == live
    files = spark.sql(f"SELECT content, count(*) AS n FROM dolake.default.{name}.files GROUP BY content").collect()
    assert {r["content"]: r["n"] for r in files} == {0: 1}
    ops = [r["operation"] for r in spark.sql(f"SELECT operation FROM dolake.default.{name}.snapshots ORDER BY committed_at").collect()]
    assert ops[-1] == "replace" and len(ops) <= 3, ops
    assert spark.sql(f"SELECT count(*) AS n FROM dolake.default.{name}.all_data_files").collect()[0]["n"] >= 1
    with pytest.raises(Exception, match="(?i)snapshot|cannot find"):
        spark.sql(f"SELECT * FROM dolake.default.{name} VERSION AS OF {first}").collect()

    # The primary-key index followed the rewrite: CDC changes of compacted rows hit the new file.
    live["c00"] = row("c00", 777, "v9")
    del live["c11"]
    cdc([{"operation": "UPDATE", "table": name, "rowId": "c00", "after": live["c00"]}, {"operation": "DELETE", "table": name, "rowId": "c11", "before": {"id": "c11"}}])
    spark.sql(f"REFRESH TABLE dolake.default.{name}")
    assert spark_rows(spark, f"SELECT id, amount, big, label, active FROM dolake.default.{name}") == live
    assert {r["id"]: r for r in catalog.load_table(("default", name)).scan().to_arrow().to_pylist()} == live
