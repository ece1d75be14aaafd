"""The S3 API driven by boto3, the client pyiceberg's users and most tooling sit on."""
import io
import os
import urllib.error
import urllib.request

import boto3
import pytest
from boto3.s3.transfer import TransferConfig
from botocore.config import Config
from botocore.exceptions import ClientError

# Not imported from conftest: in a run over several test folders, `conftest` names more than one module.
BUCKET = os.environ.get("DOLAKE_BUCKET", "dolake-warehouse")


def error_code(excinfo):
    return excinfo.value.response["Error"]["Code"]


def test_put_get_head_delete(s3, prefix):
    key = prefix + "data/00000-0.parquet"
    put = s3.put_object(Bucket=BUCKET, Key=key, Body=b"PAR1 hello PAR1", ContentType="application/octet-stream", Metadata={"origin": "boto3"})
    got = s3.get_object(Bucket=BUCKET, Key=key)
    assert got["Body"].read() == b"PAR1 hello PAR1"
    assert got["ETag"] == put["ETag"]
    assert got["ContentLength"] == 15
    assert got["Metadata"] == {"origin": "boto3"}
    head = s3.head_object(Bucket=BUCKET, Key=key)
    assert head["ContentLength"] == 15 and head["ETag"] == put["ETag"]
    s3.delete_object(Bucket=BUCKET, Key=key)
    with pytest.raises(ClientError) as missing:
        s3.get_object(Bucket=BUCKET, Key=key)
    assert error_code(missing) == "NoSuchKey"
    with pytest.raises(ClientError) as missing_head:
        s3.head_object(Bucket=BUCKET, Key=key)
    assert missing_head.value.response["ResponseMetadata"]["HTTPStatusCode"] == 404


def test_ranges(s3, prefix):
    key = prefix + "ranged.bin"
    data = bytes(range(256)) * 8
    s3.put_object(Bucket=BUCKET, Key=key, Body=data)
    assert s3.get_object(Bucket=BUCKET, Key=key, Range="bytes=10-19")["Body"].read() == data[10:20]
    tail = s3.get_object(Bucket=BUCKET, Key=key, Range="bytes=-8")
    assert tail["Body"].read() == data[-8:]
    assert tail["ContentRange"] == "bytes %d-%d/%d" % (len(data) - 8, len(data) - 1, len(data))
    assert s3.get_object(Bucket=BUCKET, Key=key, Range="bytes=2000-")["Body"].read() == data[2000:]
    with pytest.raises(ClientError) as bad:
        s3.get_object(Bucket=BUCKET, Key=key, Range="bytes=5000-")
    assert error_code(bad) == "InvalidRange"


def test_list_with_delimiter_and_pagination(s3, prefix):
    keys = [prefix + k for k in ["a/1", "a/2", "a/b/3", "c", "d e/f", "g+h", "ü"]]
    for k in keys:
        s3.put_object(Bucket=BUCKET, Key=k, Body=k.encode())
    listed = []
    for page in s3.get_paginator("list_objects_v2").paginate(Bucket=BUCKET, Prefix=prefix, PaginationConfig={"PageSize": 2}):
        assert page["KeyCount"] <= 2
        listed += [o["Key"] for o in page.get("Contents", [])]
    assert listed == sorted(keys, key=lambda k: k.encode())
    top = s3.list_objects_v2(Bucket=BUCKET, Prefix=prefix, Delimiter="/")
    assert [o["Key"] for o in top["Contents"]] == [prefix + "c", prefix + "g+h", prefix + "ü"]
    assert [p["Prefix"] for p in top["CommonPrefixes"]] == [prefix + "a/", prefix + "d e/"]
    after = s3.list_objects_v2(Bucket=BUCKET, Prefix=prefix, StartAfter=prefix + "c")
    assert [o["Key"] for o in after["Contents"]] == [prefix + "d e/f", prefix + "g+h", prefix + "ü"]
    v1 = s3.list_objects(Bucket=BUCKET, Prefix=prefix + "a/", Delimiter="/")
    assert [o["Key"] for o in v1["Contents"]] == [prefix + "a/1", prefix + "a/2"]


def test_delete_objects_and_copy(s3, prefix):
    for k in ["x", "y", "z"]:
        s3.put_object(Bucket=BUCKET, Key=prefix + k, Body=k.encode())
    s3.copy_object(Bucket=BUCKET, Key=prefix + "x-copy", CopySource={"Bucket": BUCKET, "Key": prefix + "x"})
    assert s3.get_object(Bucket=BUCKET, Key=prefix + "x-copy")["Body"].read() == b"x"
    result = s3.delete_objects(Bucket=BUCKET, Delete={"Objects": [{"Key": prefix + k} for k in ["x", "y", "x-copy"]]})
    assert sorted(d["Key"] for d in result["Deleted"]) == sorted(prefix + k for k in ["x", "y", "x-copy"])
    remaining = s3.list_objects_v2(Bucket=BUCKET, Prefix=prefix)
    assert [o["Key"] for o in remaining["Contents"]] == [prefix + "z"]


def test_multipart_upload_via_transfer_manager(s3, prefix):
    key = prefix + "big.parquet"
    data = os.urandom(12 * 1024 * 1024 + 123)
    config = TransferConfig(multipart_threshold=5 * 1024 * 1024, multipart_chunksize=5 * 1024 * 1024, max_concurrency=2)
    s3.upload_fileobj(io.BytesIO(data), BUCKET, key, Config=config)
    head = s3.head_object(Bucket=BUCKET, Key=key)
    assert head["ContentLength"] == len(data)
    assert head["ETag"].endswith('-3"')
    out = io.BytesIO()
    s3.download_fileobj(BUCKET, key, out, Config=TransferConfig(multipart_threshold=4 * 1024 * 1024, multipart_chunksize=4 * 1024 * 1024))
    assert out.getvalue() == data


def test_abort_multipart(s3, prefix):
    key = prefix + "aborted"
    upload = s3.create_multipart_upload(Bucket=BUCKET, Key=key)
    s3.upload_part(Bucket=BUCKET, Key=key, UploadId=upload["UploadId"], PartNumber=1, Body=b"part")
    s3.abort_multipart_upload(Bucket=BUCKET, Key=key, UploadId=upload["UploadId"])
    with pytest.raises(ClientError) as gone:
        s3.upload_part(Bucket=BUCKET, Key=key, UploadId=upload["UploadId"], PartNumber=2, Body=b"late")
    assert error_code(gone) == "NoSuchUpload"


@pytest.mark.parametrize("checksums", ["when_required", "when_supported"])
def test_checksum_modes(server, prefix, checksums):
    """boto3 >= 1.36 adds CRC checksums (aws-chunked trailers where it can); both modes must store the exact bytes."""
    client = boto3.client(
        "s3",
        endpoint_url=server["url"],
        aws_access_key_id=server["access_key_id"],
        aws_secret_access_key=server["secret_access_key"],
        region_name="us-east-1",
        config=Config(signature_version="s3v4", s3={"addressing_style": "path"}, request_checksum_calculation=checksums),
    )
    data = os.urandom(300_000)
    client.put_object(Bucket=BUCKET, Key=prefix + "c", Body=data)
    client.upload_fileobj(io.BytesIO(data), BUCKET, prefix + "stream")
    assert client.get_object(Bucket=BUCKET, Key=prefix + "c")["Body"].read() == data
    assert client.get_object(Bucket=BUCKET, Key=prefix + "stream")["Body"].read() == data


def test_refuses_a_wrong_checksum(s3, prefix):
    with pytest.raises(ClientError) as bad:
        s3.put_object(Bucket=BUCKET, Key=prefix + "bad", Body=b"payload", ChecksumCRC32="AAAAAA==")
    assert error_code(bad) == "BadDigest"
    with pytest.raises(ClientError) as gone:
        s3.head_object(Bucket=BUCKET, Key=prefix + "bad")
    assert gone.value.response["ResponseMetadata"]["HTTPStatusCode"] == 404


def test_presigned_urls(s3, prefix):
    key = prefix + "presigned.txt"
    put_url = s3.generate_presigned_url("put_object", Params={"Bucket": BUCKET, "Key": key}, ExpiresIn=300)
    req = urllib.request.Request(put_url, data=b"uploaded by url", method="PUT")
    with urllib.request.urlopen(req, timeout=10) as res:
        assert res.status == 200
    get_url = s3.generate_presigned_url("get_object", Params={"Bucket": BUCKET, "Key": key}, ExpiresIn=300)
    with urllib.request.urlopen(get_url, timeout=10) as res:
        assert res.read() == b"uploaded by url"
    with pytest.raises(urllib.error.HTTPError) as tampered:
        urllib.request.urlopen(get_url.replace("presigned.txt", "other.txt"), timeout=10)
    assert tampered.value.code == 403


def test_refuses_wrong_and_missing_credentials(server, prefix):
    wrong = boto3.client(
        "s3",
        endpoint_url=server["url"],
        aws_access_key_id=server["access_key_id"],
        aws_secret_access_key="not-the-secret",
        region_name="auto",
        config=Config(signature_version="s3v4", s3={"addressing_style": "path"}, retries={"max_attempts": 1}),
    )
    with pytest.raises(ClientError) as denied:
        wrong.put_object(Bucket=BUCKET, Key=prefix + "nope", Body=b"x")
    assert error_code(denied) == "SignatureDoesNotMatch"
    with pytest.raises(urllib.error.HTTPError) as anonymous:
        urllib.request.urlopen("%s/%s/%s" % (server["url"], BUCKET, prefix + "nope"), timeout=10)
    assert anonymous.value.code == 403


def test_head_bucket(s3):
    assert s3.head_bucket(Bucket=BUCKET)["ResponseMetadata"]["HTTPStatusCode"] == 200
