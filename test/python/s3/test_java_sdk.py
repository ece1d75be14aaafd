"""The S3 API driven by the AWS SDK for Java v2 (Iceberg S3FileIO's client), old and new generations.

Maven resolves the SDK from Maven Central into the usual local repository; skipped without java/mvn.
"""
import os
import shutil
import subprocess

import pytest

HERE = os.path.join(os.path.dirname(os.path.abspath(__file__)), "java")
# 2.20: STREAMING-AWS4-HMAC-SHA256-PAYLOAD (iceberg-aws-bundle 1.4-1.6); 2.31: ...-PAYLOAD-TRAILER with CRC32.
VERSIONS = {"2.20.162": "STREAMING-AWS4-HMAC-SHA256-PAYLOAD trailer=-", "2.31.0": "STREAMING-AWS4-HMAC-SHA256-PAYLOAD-TRAILER trailer=x-amz-checksum-crc32"}


def _classpath(version, workdir):
    out = os.path.join(workdir, "cp-%s.txt" % version)
    subprocess.run(
        ["mvn", "-q", "-B", "-f", os.path.join(HERE, "pom.xml"), "-Dsdk.version=" + version, "dependency:build-classpath", "-Dmdep.outputFile=" + out],
        check=True,
        timeout=600,
    )
    with open(out) as f:
        return f.read().strip()


@pytest.mark.skipif(not (shutil.which("java") and shutil.which("javac") and shutil.which("mvn")), reason="needs java, javac and mvn")
@pytest.mark.parametrize("version", sorted(VERSIONS))
def test_java_sdk(server, tmp_path, version):
    cp = _classpath(version, str(tmp_path))
    subprocess.run(["javac", "-d", str(tmp_path), "-cp", cp, os.path.join(HERE, "Probe.java")], check=True, timeout=300)
    run = subprocess.run(
        ["java", "-cp", "%s%s%s" % (tmp_path, os.pathsep, cp), "Probe", server["url"], server["access_key_id"], server["secret_access_key"], server["warehouse"] + "/"],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert run.returncode == 0, run.stdout + run.stderr
    assert "PUT " + VERSIONS[version] in run.stdout, run.stdout
