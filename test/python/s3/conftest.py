"""Fixtures for the S3 API tests: a running DoLake (DOLAKE_URL, DOLAKE_TOKEN) and its S3 keys.

The keys come from the catalog's /v1/config (s3.access-key-id / s3.secret-access-key) when it
vends them, else from DOLAKE_S3_ACCESS_KEY_ID / DOLAKE_S3_SECRET_ACCESS_KEY, else they are derived
from the token exactly as src/s3/credentials.ts documents it. Vended keys belong to one warehouse
(DOLAKE_WAREHOUSE, default "warehouse") and reach only keys under "<warehouse>/": every test key
lives there.
"""
import hashlib
import hmac
import json
import os
import urllib.request

import pytest


def _derived_keys(token, warehouse):
    key_id = hmac.new(token.encode(), b"s3-access-key-id\0" + warehouse.encode(), hashlib.sha256).hexdigest()[:20]
    secret = hmac.new(token.encode(), b"s3-secret-access-key\0" + warehouse.encode(), hashlib.sha256).hexdigest()
    return "dolake-%s-%s" % (warehouse, key_id), secret


def _vended_keys(url, token):
    try:
        req = urllib.request.Request(url + "/v1/config", headers={"Authorization": "Bearer " + token})
        with urllib.request.urlopen(req, timeout=10) as res:
            config = json.load(res)
    except Exception:
        return None
    merged = {**config.get("defaults", {}), **config.get("overrides", {})}
    if "s3.access-key-id" in merged and "s3.secret-access-key" in merged:
        return merged["s3.access-key-id"], merged["s3.secret-access-key"]
    return None


@pytest.fixture(scope="session")
def server():
    url = os.environ.get("DOLAKE_URL")
    token = os.environ.get("DOLAKE_TOKEN")
    if not url or not token:
        pytest.fail("DOLAKE_URL and DOLAKE_TOKEN must point at a running DoLake (scripts/with-server.mjs sets them)")
    url = url.rstrip("/")
    explicit = os.environ.get("DOLAKE_S3_ACCESS_KEY_ID"), os.environ.get("DOLAKE_S3_SECRET_ACCESS_KEY")
    warehouse = os.environ.get("DOLAKE_WAREHOUSE") or "warehouse"
    keys = explicit if all(explicit) else (_vended_keys(url, token) or _derived_keys(token, warehouse))
    return {"url": url, "token": token, "warehouse": warehouse, "access_key_id": keys[0], "secret_access_key": keys[1]}


@pytest.fixture(scope="session")
def s3(server):
    import boto3
    from botocore.config import Config

    return boto3.client(
        "s3",
        endpoint_url=server["url"],
        aws_access_key_id=server["access_key_id"],
        aws_secret_access_key=server["secret_access_key"],
        region_name="auto",
        config=Config(signature_version="s3v4", s3={"addressing_style": "path"}, retries={"max_attempts": 1}),
    )


@pytest.fixture()
def prefix(request, server):
    """A key prefix unique to one test (inside the warehouse), so reruns against one server do not collide."""
    return "%s/pytest-s3/%s/%s/" % (server["warehouse"], request.node.name, os.urandom(4).hex())
