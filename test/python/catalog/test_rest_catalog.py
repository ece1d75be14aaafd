"""pyiceberg against a running DoLake: the REST catalog and the S3-compatible file access it vends.

Needs DOLAKE_URL and DOLAKE_TOKEN (scripts/with-server.mjs sets both); skipped otherwise.
Every table this module creates lives in a namespace unique to the run, dropped at the end.
"""

import os
import uuid

import pyarrow as pa
import pytest

pytest.importorskip("pyiceberg")

from pyiceberg.catalog import load_catalog  # noqa: E402
from pyiceberg.exceptions import (  # noqa: E402
    CommitFailedException,
    NamespaceAlreadyExistsError,
    NamespaceNotEmptyError,
    NoSuchNamespaceError,
    NoSuchTableError,
    TableAlreadyExistsError,
)
from pyiceberg.partitioning import PartitionField, PartitionSpec  # noqa: E402
from pyiceberg.schema import Schema  # noqa: E402
from pyiceberg.table.update import AssertRefSnapshotId, SetPropertiesUpdate  # noqa: E402
from pyiceberg.transforms import DayTransform  # noqa: E402
from pyiceberg.types import LongType, NestedField, StringType, TimestamptzType  # noqa: E402

URL = os.environ.get("DOLAKE_URL")
TOKEN = os.environ.get("DOLAKE_TOKEN")
pytestmark = pytest.mark.skipif(not URL or not TOKEN, reason="DOLAKE_URL and DOLAKE_TOKEN not set (run through scripts/with-server.mjs)")

SCHEMA = Schema(
    NestedField(1, "id", LongType(), required=True),
    NestedField(2, "data", StringType(), required=False),
    NestedField(3, "ts", TimestamptzType(), required=False),
)


@pytest.fixture(scope="module")
def catalog():
    return load_catalog("dolake", type="rest", uri=URL, token=TOKEN)


@pytest.fixture(scope="module")
def ns(catalog):
    name = f"py_{uuid.uuid4().hex[:8]}"
    catalog.create_namespace(name, {"owner": "pytest"})
    yield name
    for ident in catalog.list_tables(name):
        catalog.purge_table(ident)
    catalog.drop_namespace(name)


def rows(n, start=0):
    import datetime as dt

    return pa.Table.from_pylist(
        [{"id": i, "data": f"row {i}", "ts": dt.datetime(2024, 1, 1 + i % 3, tzinfo=dt.timezone.utc)} for i in range(start, start + n)],
        schema=SCHEMA.as_arrow(),
    )


def test_namespaces(catalog, ns):
    assert (ns,) in catalog.list_namespaces()
    props = catalog.load_namespace_properties(ns)
    assert props.pop("location").endswith(f"/{ns}")  # the catalog answers where the namespace's tables live
    assert props == {"owner": "pytest"}
    with pytest.raises(NamespaceAlreadyExistsError):
        catalog.create_namespace(ns)
    summary = catalog.update_namespace_properties(ns, removals={"nope"}, updates={"k": "v"})
    assert summary.updated == ["k"] and summary.missing == ["nope"]
    catalog.create_namespace((ns, "child"))
    assert catalog.list_namespaces(ns) == [(ns, "child")]
    with pytest.raises(NamespaceNotEmptyError):
        catalog.drop_namespace(ns)
    catalog.drop_namespace((ns, "child"))
    with pytest.raises(NoSuchNamespaceError):
        catalog.load_namespace_properties(f"{ns}_missing")


def test_create_partitioned(catalog, ns):
    spec = PartitionSpec(PartitionField(source_id=3, field_id=1000, transform=DayTransform(), name="ts_day"))
    table = catalog.create_table(f"{ns}.by_day", schema=SCHEMA, partition_spec=spec)
    assert table.metadata.format_version == 2
    assert table.spec().fields[0].name == "ts_day"
    with pytest.raises(TableAlreadyExistsError):
        catalog.create_table(f"{ns}.by_day", schema=SCHEMA)


def test_create_append_read(catalog, ns):
    # Unpartitioned: pyiceberg's partitioned writes need the optional pyiceberg-core package.
    table = catalog.create_table(f"{ns}.events", schema=SCHEMA)
    table.append(rows(10))
    table.append(rows(5, start=10))
    table = catalog.load_table(f"{ns}.events")
    assert len(table.metadata.snapshots) == 2
    assert table.scan().to_arrow().num_rows == 15
    assert sorted(table.scan(row_filter="id >= 12").to_arrow()["id"].to_pylist()) == [12, 13, 14]
    # time travel to the first snapshot
    first = table.metadata.snapshots[0].snapshot_id
    assert table.scan(snapshot_id=first).to_arrow().num_rows == 10


def test_schema_evolution_and_properties(catalog, ns):
    table = catalog.create_table(f"{ns}.evolve", schema=SCHEMA)
    with table.update_schema() as update:
        update.add_column("extra", StringType())
    with table.transaction() as tx:
        tx.set_properties(owner="py")
    table = catalog.load_table(f"{ns}.evolve")
    assert table.schema().find_field("extra").field_id == 4
    assert table.properties["owner"] == "py"


def test_concurrent_commit_conflict(catalog, ns):
    catalog.create_table(f"{ns}.race", schema=SCHEMA)
    a = catalog.load_table(f"{ns}.race")
    b = catalog.load_table(f"{ns}.race")
    a.append(rows(1))
    # b's requirement (main is empty) no longer holds: the catalog answers 409 and pyiceberg
    # refreshes and retries, so both appends land, one after the other.
    b.append(rows(1, start=1))
    table = catalog.load_table(f"{ns}.race")
    first, second = table.metadata.snapshots
    assert second.parent_snapshot_id == first.snapshot_id
    assert sorted(table.scan().to_arrow()["id"].to_pylist()) == [0, 1]
    # Without pyiceberg's retry, the stale requirement is a CommitFailedException.
    with pytest.raises(CommitFailedException, match="branch main has changed"):
        catalog.commit_table(
            table,
            requirements=(AssertRefSnapshotId(ref="main", snapshot_id=first.snapshot_id),),
            updates=(SetPropertiesUpdate(updates={"stale": "yes"}),),
        )


def test_create_table_transaction(catalog, ns):
    tx = catalog.create_table_transaction(f"{ns}.staged", schema=SCHEMA)
    tx.set_properties(staged="yes")
    tx.commit_transaction()
    assert catalog.load_table(f"{ns}.staged").properties["staged"] == "yes"


def test_rename_drop_register(catalog, ns):
    table = catalog.create_table(f"{ns}.old", schema=SCHEMA)
    table.append(rows(3))
    catalog.rename_table(f"{ns}.old", f"{ns}.new")
    assert not catalog.table_exists(f"{ns}.old")
    location = catalog.load_table(f"{ns}.new").metadata_location
    catalog.drop_table(f"{ns}.new")
    with pytest.raises(NoSuchTableError):
        catalog.load_table(f"{ns}.new")
    registered = catalog.register_table(f"{ns}.back", location)
    assert registered.scan().to_arrow().num_rows == 3


def test_oauth_client_credentials():
    oauth = load_catalog("dolake-oauth", type="rest", uri=URL, credential=f"pyiceberg:{TOKEN}", **{"oauth2-server-uri": f"{URL}/v1/oauth/tokens"})
    assert isinstance(oauth.list_namespaces(), list)
