"""The S3 API driven by DuckDB's httpfs (the AWS-compatible client DuckDB's iceberg extension reads through).

Extensions load from the duckdb-ext-* PyPI packages (test/python/requirements.txt), never from the network.
"""
import os
from urllib.parse import urlparse

import pytest
from duckdb_offline import offline_duckdb  # noqa: E402

# Not imported from conftest: in a run over several test folders, `conftest` names more than one module.
BUCKET = os.environ.get("DOLAKE_BUCKET", "dolake-warehouse")

duckdb = pytest.importorskip("duckdb")
duckdb_ext = pytest.importorskip("duckdb_ext")


@pytest.fixture(scope="module")
def duck(server):
    con = offline_duckdb()
    con.execute("LOAD httpfs")
    url = urlparse(server["url"])
    con.execute(
        "CREATE SECRET dolake (TYPE s3, KEY_ID ?, SECRET ?, ENDPOINT ?, URL_STYLE 'path', USE_SSL ?, REGION 'auto')",
        [server["access_key_id"], server["secret_access_key"], url.netloc, url.scheme == "https"],
    )
    yield con
    con.close()


def test_copy_to_and_read_back(duck, prefix):
    base = "s3://%s/%sduck" % (BUCKET, prefix)
    for part in range(3):
        duck.execute("COPY (SELECT range AS id, %d AS part, 'row-' || range AS name FROM range(%d, %d)) TO '%s/part-%d.parquet' (FORMAT parquet)" % (part, part * 50_000, (part + 1) * 50_000, base, part))
    # The glob lists the prefix (ListObjectsV2); the scan reads footers and row groups by ranged GETs.
    count, total, parts = duck.execute("SELECT count(*), sum(id), count(DISTINCT part) FROM read_parquet('%s/*.parquet')" % base).fetchone()
    assert (count, total, parts) == (150_000, sum(range(150_000)), 3)
    files = duck.execute("SELECT file FROM glob('%s/*')" % base).fetchall()
    assert sorted(f[0] for f in files) == ["%s/part-%d.parquet" % (base, i) for i in range(3)]


def test_large_write_uses_multipart(duck, prefix):
    path = "s3://%s/%sbig.csv" % (BUCKET, prefix)
    # ~30 MB of CSV: DuckDB's S3 writer uploads it in multipart parts.
    duck.execute("COPY (SELECT range AS id, repeat('x', 200) AS pad FROM range(150000)) TO '%s' (FORMAT csv)" % path)
    assert duck.execute("SELECT count(*), max(id) FROM read_csv('%s')" % path).fetchone() == (150000, 149999)


def test_wrong_secret_is_refused(server, prefix):
    con = offline_duckdb()
    con.execute("LOAD httpfs")
    url = urlparse(server["url"])
    con.execute("CREATE SECRET bad (TYPE s3, KEY_ID ?, SECRET 'wrong', ENDPOINT ?, URL_STYLE 'path', USE_SSL false, REGION 'auto')", [server["access_key_id"], url.netloc])
    with pytest.raises(duckdb.Error) as err:
        con.execute("SELECT * FROM read_parquet('s3://%s/%snothing.parquet')" % (BUCKET, prefix)).fetchall()
    assert "403" in str(err.value) or "SignatureDoesNotMatch" in str(err.value) or "Forbidden" in str(err.value)
    con.close()
