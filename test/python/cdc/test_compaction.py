"""Compaction (issue 9) read back by engines we did not write.

A seeded random INSERT/UPDATE/DELETE workload (JSON frames over the WebSocket) is flushed many
times into a running DoLake, and POST /v1/compaction/run compacts the mirrors and changelogs every
few flushes, so later UPDATEs and DELETEs land on rows that compaction moved (the primary-key index
must follow). pyiceberg (position deletes applied) and DuckDB's iceberg extension must read exactly
the oracle's rows after every compaction and at the end; the compacted snapshots are `replace`
snapshots; time travel to a snapshot from before a compaction still gives that flush's rows; the
changelog holds every event exactly once.

Needs DOLAKE_URL and DOLAKE_TOKEN (scripts/with-server.mjs sets both).
"""

import os
import random
import uuid

import pytest
from websockets.sync.client import connect

from pyiceberg.catalog import load_catalog
from duckdb_offline import lake_duckdb, lake_http  # noqa: E402
from cdc_producer import Producer  # noqa: E402

URL = os.environ.get("DOLAKE_URL")
TOKEN = os.environ.get("DOLAKE_TOKEN")
pytestmark = pytest.mark.skipif(not URL or not TOKEN, reason="DOLAKE_URL and DOLAKE_TOKEN not set (run through scripts/with-server.mjs)")

ROUNDS = 12
COMPACT_EVERY = 3


def http(method, path, body=None):
    return lake_http(URL, TOKEN, method, path, body)


def duckdb_rows(table):
    return {r[0]: r[1] for r in lake_duckdb(URL, TOKEN).execute(f'SELECT id, amount FROM lake."default"."{table}"').fetchall()}


@pytest.fixture(scope="module")
def catalog():
    return load_catalog("dolake", type="rest", uri=URL, token=TOKEN)


@pytest.fixture(scope="module")
def workload(catalog):
    """Streams ROUNDS flushes with a compaction every COMPACT_EVERY; checks readers after each compaction."""
    rng = random.Random(20261129)
    run = uuid.uuid4().hex[:6]
    tables = [f"cmp_{run}_a", f"cmp_{run}_b"]
    live = {t: {} for t in tables}
    counts = {t: 0 for t in tables}
    history = []  # (snapshot id per table, oracle state) after each flush
    reports = []
    # Three flushes between compactions: compact once three small files pile up (the default is 5).
    http("PATCH", "/config", {"compaction": {"minFilesToCompact": 3}})
    with connect(URL.replace("http", "ws") + "/ws?token=" + TOKEN) as ws:
        producer = Producer(ws, f"cmp-{run}")
        for rnd in range(1, ROUNDS + 1):
            for _ in range(3):
                batch = []
                for _ in range(30):
                    t = rng.choice(tables)
                    key = f"k{rng.randrange(50)}"
                    if key in live[t] and rng.random() < 0.25:
                        batch.append({"operation": "DELETE", "table": t, "rowId": key, "before": {"id": key}})
                        del live[t][key]
                    else:
                        amount = rng.randrange(1, 10**6)
                        batch.append({"operation": "UPDATE" if key in live[t] else "INSERT", "table": t, "rowId": key, "after": {"id": key, "amount": amount, "big": 2**60 + amount}})
                        live[t][key] = amount
                    counts[t] += 1
                producer.send(batch)
            assert http("POST", "/flush")["ok"]
            snaps = {t: catalog.load_table(("default", t)).metadata.current_snapshot_id for t in tables}
            history.append((snaps, {t: dict(live[t]) for t in tables}))
            if rnd % COMPACT_EVERY == 0:
                for t in tables:
                    for name in (t, f"{t}__changelog"):
                        reports.append(http("POST", "/v1/compaction/run", {"namespace": "default", "table": name}))
                    got = {r["id"]: r["amount"] for r in catalog.load_table(("default", t)).scan().to_arrow().to_pylist()}
                    assert got == live[t], f"pyiceberg after compaction {rnd // COMPACT_EVERY} of {t}"
                    assert duckdb_rows(t) == live[t], f"DuckDB after compaction {rnd // COMPACT_EVERY} of {t}"
    http("PATCH", "/config", {"compaction": {"minFilesToCompact": 5}})
    return tables, live, counts, history, reports


def test_every_compaction_committed_a_replace_snapshot(workload, catalog):
    tables, _, _, _, reports = workload
    steps = [s for r in reports for s in r["steps"]]
    assert len([s for s in steps if not s["table"].endswith("__changelog")]) >= len(tables) * (ROUNDS // COMPACT_EVERY - 1)
    assert all(s["rowsDropped"] >= 0 and s["addedFiles"] <= 1 for s in steps)
    for t in tables:
        table = catalog.load_table(("default", t))
        ops = [s.summary.operation.value for s in table.snapshots()]
        assert "replace" in ops
        assert table.current_snapshot().summary.operation.value == "replace"  # the last round compacted
        files = list(table.scan().plan_files())
        assert len(files) == 1 and not files[0].delete_files


def test_pyiceberg_and_duckdb_read_the_oracle_after_many_compactions(workload, catalog):
    tables, live, _, _, _ = workload
    for t in tables:
        rows = {r["id"]: r for r in catalog.load_table(("default", t)).scan().to_arrow().to_pylist()}
        assert {k: r["amount"] for k, r in rows.items()} == live[t]
        assert all(r["big"] == 2**60 + r["amount"] for r in rows.values())  # int64 above 2^53 survives the rewrite
        assert duckdb_rows(t) == live[t]


def test_time_travel_to_snapshots_before_compactions(workload, catalog):
    tables, _, _, history, _ = workload
    for t in tables:
        table = catalog.load_table(("default", t))
        kept = {s.snapshot_id for s in table.snapshots()}
        checked = 0
        for snaps, state in history:
            if snaps[t] not in kept:
                continue  # expired by the table's retention
            got = {r["id"]: r["amount"] for r in table.scan(snapshot_id=snaps[t]).to_arrow().to_pylist()}
            assert got == state[t]
            checked += 1
        assert checked >= 2


def test_compacted_changelog_has_every_event_once(workload, catalog):
    tables, _, counts, _, _ = workload
    for t in tables:
        log = catalog.load_table(("default", f"{t}__changelog"))
        arrow = log.scan().to_arrow()
        assert arrow.num_rows == counts[t]
        seqs = arrow.column("sequence").to_pylist()
        assert len(seqs) == len(set(seqs))
        assert len(list(log.scan().plan_files())) == 1
