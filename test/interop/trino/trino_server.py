"""Trino 476 for the interoperability suite: install from Maven Central, configure a single-node
coordinator with a `dolake` Iceberg REST catalog, start, wait, run statements over the HTTP API.

    install()                 -> the server folder (cached in .tools/trino, or $TRINO_CACHE)
    TrinoServer(url, token)   -> a started coordinator (context manager), .query(sql) -> rows

The server comes from io.trino:trino-server-core:476 (tar.gz) and the connector from
io.trino:trino-iceberg:476 (zip, placed as plugin/iceberg), fetched by `mvn dependency:unpack`
through test/interop/trino/pom.xml. Trino 476 needs Java >= 24: $TRINO_JAVA_HOME, else the
Temurin 25 JDK at /usr/lib/jvm/temurin-25-jdk-amd64. The catalog file uses only what DoLake's
/v1/config vends (s3.endpoint, s3.region, keys; docs/trino.md): Trino reads no vended endpoint.
"""

import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request

VERSION = "476"
HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(os.path.dirname(HERE)))
CACHE = os.environ.get("TRINO_CACHE") or os.path.join(ROOT, ".tools", "trino")
JAVA_HOME = os.environ.get("TRINO_JAVA_HOME") or "/usr/lib/jvm/temurin-25-jdk-amd64"
START_TIMEOUT_S = 900  # Trino starts in ~1-3 min on 2 loaded cores; generous, never a verdict on speed


def install():
    """The Trino server folder with the Iceberg plugin, downloaded on first use."""
    home = os.path.join(CACHE, VERSION)
    server = os.path.join(home, f"trino-server-core-{VERSION}")
    plugin = os.path.join(server, "plugin", "iceberg")
    if not os.path.exists(os.path.join(server, "bin", "launcher")) or not os.path.isdir(plugin):
        subprocess.run(
            ["mvn", "-B", "-q", "-f", os.path.join(HERE, "pom.xml"), "dependency:unpack", f"-Dtrino.version={VERSION}", f"-Dtrino.dir={home}"],
            check=True,
            timeout=1800,
        )
        unpacked = os.path.join(home, "plugin-iceberg", f"trino-iceberg-{VERSION}")
        if not os.path.isdir(plugin):
            shutil.move(unpacked, plugin)
    return server


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def http_json(method, url, body=None, headers=None, timeout=120):
    req = urllib.request.Request(url, data=body, method=method, headers=headers or {})
    with urllib.request.urlopen(req, timeout=timeout) as res:
        return json.load(res)


def catalog_properties(url, token):
    """dolake.properties from DoLake's /v1/config: REST catalog with the token, native S3 with the vended s3.* values."""
    vended = http_json("GET", url + "/v1/config", headers={"Authorization": "Bearer " + token})["overrides"]
    props = {
        "connector.name": "iceberg",
        "iceberg.catalog.type": "rest",
        "iceberg.rest-catalog.uri": url,
        "iceberg.rest-catalog.security": "OAUTH2",
        "iceberg.rest-catalog.oauth2.token": token,
        "fs.native-s3.enabled": "true",
        "s3.endpoint": vended["s3.endpoint"],
        "s3.region": vended.get("s3.region", "auto"),
        "s3.path-style-access": vended.get("s3.path-style-access", "true"),
        "s3.aws-access-key": vended["s3.access-key-id"],
        "s3.aws-secret-key": vended["s3.secret-access-key"],
    }
    if "s3.session-token" in vended:
        # Temporary keys: Trino passes a session token only with vended credentials (per-table config).
        props["iceberg.rest-catalog.vended-credentials-enabled"] = "true"
    return props


class TrinoServer:
    """A single-node Trino coordinator against one DoLake; stopped (and its folder removed) on exit."""

    def __init__(self, dolake_url, token):
        self.dolake_url, self.token = dolake_url, token
        self.work = tempfile.mkdtemp(prefix="dolake-trino-")
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.proc = None
        self.started_s = None

    def _configure(self, server):
        etc = os.path.join(self.work, "etc")
        os.makedirs(os.path.join(etc, "catalog"))
        # Only the Iceberg plugin: the core tarball's other plugins are not needed (and some do not load alone).
        plugins = os.path.join(self.work, "plugin")
        os.makedirs(plugins)
        os.symlink(os.path.join(server, "plugin", "iceberg"), os.path.join(plugins, "iceberg"))
        files = {
            "node.properties": {
                "node.environment": "dolake_interop",
                "node.id": "dolake-interop-1",
                "node.data-dir": os.path.join(self.work, "data"),
                "node.internal-address": "127.0.0.1",
            },
            "config.properties": {
                "coordinator": "true",
                "node-scheduler.include-coordinator": "true",
                "http-server.http.port": str(self.port),
                "discovery.uri": self.url,
                "plugin.dir": plugins,
                "query.max-memory": "300MB",
                "query.max-memory-per-node": "300MB",
                "memory.heap-headroom-per-node": "200MB",
                "task.concurrency": "2",
            },
            "log.properties": {"io.trino": "WARN"},
            os.path.join("catalog", "dolake.properties"): catalog_properties(self.dolake_url, self.token),
        }
        for name, props in files.items():
            with open(os.path.join(etc, name), "w") as f:
                f.write("".join(f"{k}={v}\n" for k, v in props.items()))
        jvm = ["-server", "-Xmx1G", "-XX:+UseG1GC", "-XX:+ExitOnOutOfMemoryError", "-Djdk.attach.allowAttachSelf=true", "-XX:+EnableDynamicAgentLoading", "-Dfile.encoding=UTF-8", "--enable-native-access=ALL-UNNAMED"]
        with open(os.path.join(etc, "jvm.config"), "w") as f:
            f.write("\n".join(jvm) + "\n")
        return etc

    def __enter__(self):
        server = install()
        etc = self._configure(server)
        env = {**os.environ, "JAVA_HOME": JAVA_HOME, "PATH": f"{JAVA_HOME}/bin:{os.environ['PATH']}"}
        self.log = open(os.path.join(self.work, "server.log"), "w")
        began = time.monotonic()
        self.proc = subprocess.Popen(
            [os.path.join(server, "bin", "launcher"), "run", f"--etc-dir={etc}", f"--data-dir={os.path.join(self.work, 'data')}"],
            stdout=self.log,
            stderr=subprocess.STDOUT,
            env=env,
        )
        while True:
            if self.proc.poll() is not None:
                raise RuntimeError(f"Trino exited ({self.proc.returncode}):\n{self.tail()}")
            try:
                if not http_json("GET", self.url + "/v1/info", timeout=10)["starting"]:
                    break
            except (urllib.error.URLError, ConnectionError, TimeoutError, json.JSONDecodeError):
                pass
            if time.monotonic() - began > START_TIMEOUT_S:
                raise RuntimeError(f"Trino did not start in {START_TIMEOUT_S} s:\n{self.tail()}")
            time.sleep(2)
        # "Not starting" comes before the coordinator has registered itself as a worker: until then
        # every query fails with NO_NODES_AVAILABLE. Ready means a query runs.
        while True:
            try:
                self._execute_once("SELECT 1")
                break
            except TrinoError as e:
                if e.name != "NO_NODES_AVAILABLE":
                    raise
            if time.monotonic() - began > START_TIMEOUT_S:
                raise RuntimeError(f"Trino had no worker node in {START_TIMEOUT_S} s:\n{self.tail()}")
            time.sleep(1)
        self.started_s = time.monotonic() - began
        print(f"\ntrino: {VERSION} up at {self.url} in {self.started_s:.1f} s", file=sys.stderr)
        return self

    def tail(self, n=60):
        self.log.flush()
        with open(os.path.join(self.work, "server.log")) as f:
            return "".join(f.readlines()[-n:])

    def __exit__(self, *exc):
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=60)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.log.close()
        if not os.environ.get("TRINO_KEEP"):
            shutil.rmtree(self.work, ignore_errors=True)

    def execute(self, sql):
        """Runs one statement; returns (rows, final stats). Raises TrinoError.

        NO_NODES_AVAILABLE is retried for up to a minute: on a loaded machine the one-node cluster's
        failure detector can drop the coordinator's own worker for a moment after start-up (seen in
        a clean-clone CI run: the readiness query ran, the next two queries had no node). Such a
        statement fails while it is scheduled, before it reads or writes anything.
        """
        deadline = time.monotonic() + 60
        while True:
            try:
                return self._execute_once(sql)
            except TrinoError as e:
                if e.name != "NO_NODES_AVAILABLE" or time.monotonic() > deadline:
                    raise
                print(f"trino: no worker node yet for {sql[:60]!r}; retrying", file=sys.stderr)
                time.sleep(1)

    def _execute_once(self, sql):
        headers = {"X-Trino-User": "dolake", "X-Trino-Catalog": "dolake", "X-Trino-Time-Zone": "UTC"}
        res = http_json("POST", self.url + "/v1/statement", sql.encode(), headers)
        rows = []
        while True:
            if "error" in res:
                raise TrinoError(res["error"])
            rows.extend(res.get("data") or [])
            if "nextUri" not in res:
                return rows, res.get("stats", {})
            res = http_json("GET", res["nextUri"], headers=headers)

    def query(self, sql):
        """The rows of one statement (lists, in column order)."""
        return self.execute(sql)[0]


class TrinoError(Exception):
    """A failed Trino statement: its error name and message."""

    def __init__(self, error):
        self.name = error.get("errorName")
        super().__init__(f"{self.name}: {error.get('message')}")
