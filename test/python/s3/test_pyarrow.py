"""The S3 API driven by pyarrow's S3FileSystem (the AWS C++ SDK), which pyiceberg uses for data files."""
import os
from urllib.parse import urlparse

import pytest

# Not imported from conftest: in a run over several test folders, `conftest` names more than one module.
BUCKET = os.environ.get("DOLAKE_BUCKET", "dolake-warehouse")

fs_mod = pytest.importorskip("pyarrow.fs")
pa = pytest.importorskip("pyarrow")
pq = pytest.importorskip("pyarrow.parquet")


@pytest.fixture(scope="module")
def fs(server):
    url = urlparse(server["url"])
    return fs_mod.S3FileSystem(
        access_key=server["access_key_id"],
        secret_key=server["secret_access_key"],
        endpoint_override=url.netloc,
        scheme=url.scheme,
        region="auto",
        allow_bucket_creation=False,
    )


def test_parquet_round_trip(fs, prefix):
    table = pa.table({"id": pa.array(range(100_000), pa.int64()), "name": pa.array(["row-%d" % i for i in range(100_000)])})
    path = "%s/%sdata/file.parquet" % (BUCKET, prefix)
    pq.write_table(table, path, filesystem=fs, row_group_size=20_000)
    info = fs.get_file_info(path)
    assert info.type == fs_mod.FileType.File and info.size > 0
    back = pq.read_table(path, filesystem=fs)
    assert back.equals(table)
    # Parquet readers seek: footer first, then column chunks, all by ranged GETs.
    pf = pq.ParquetFile(fs.open_input_file(path))
    assert pf.metadata.num_row_groups == 5
    assert pf.read_row_group(3).column("id")[0].as_py() == 60_000


def test_listing_and_delete(fs, prefix):
    base = "%s/%slist" % (BUCKET, prefix)
    for name in ["a/1.bin", "a/2.bin", "b.bin"]:
        with fs.open_output_stream("%s/%s" % (base, name)) as out:
            out.write(b"x" * 10)
    infos = fs.get_file_info(fs_mod.FileSelector(base, recursive=True))
    files = sorted(i.path for i in infos if i.type == fs_mod.FileType.File)
    assert files == ["%s/%s" % (base, n) for n in ["a/1.bin", "a/2.bin", "b.bin"]]
    top = fs.get_file_info(fs_mod.FileSelector(base))
    assert sorted((i.path, i.type) for i in top) == [("%s/a" % base, fs_mod.FileType.Directory), ("%s/b.bin" % base, fs_mod.FileType.File)]
    fs.delete_file("%s/b.bin" % base)
    assert fs.get_file_info("%s/b.bin" % base).type == fs_mod.FileType.NotFound


def test_large_multipart_write(fs, prefix):
    path = "%s/%sbig.bin" % (BUCKET, prefix)
    data = bytes(range(256)) * (50 * 1024 * 4)  # 50 MiB: pyarrow switches to multipart upload
    with fs.open_output_stream(path) as out:
        out.write(data)
    with fs.open_input_file(path) as f:
        assert f.size() == len(data)
        f.seek(len(data) - 1000)
        assert f.read(1000) == data[-1000:]
