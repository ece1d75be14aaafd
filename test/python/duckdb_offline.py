"""One DuckDB connection for every Python check: the extensions (iceberg, avro, httpfs) come from
PyPI (duckdb-ext-*, same version as duckdb, pinned in requirements.txt) and are loaded from that
package's folder, with auto-install off, so nothing is fetched at test time."""

import os

import duckdb
import duckdb_ext


def offline_duckdb(**config):
    """A DuckDB connection that loads its extensions from the duckdb-ext package, never the network."""
    ext_dir = os.path.join(list(duckdb_ext.__path__)[0], "extensions")
    return duckdb.connect(config={"extension_directory": ext_dir, "autoinstall_known_extensions": "false", "autoload_known_extensions": "true", **config})


def lake_duckdb(url, token):
    """An offline DuckDB connection with DoLake's warehouse attached as `lake` through its REST catalog (UTC session)."""
    con = offline_duckdb()
    for ext in ("httpfs", "avro", "iceberg"):
        con.execute(f"LOAD {ext}")
    con.execute("SET TimeZone='UTC'")
    con.execute(f"CREATE SECRET dolake (TYPE ICEBERG, TOKEN '{token}')")
    con.execute(f"ATTACH 'warehouse' AS lake (TYPE ICEBERG, ENDPOINT '{url}', SECRET dolake)")
    return con


def lake_http(url, token, method, path, body=None, timeout=120):
    """One JSON request to a DoLake route with the bearer token; the parsed answer."""
    import json
    import urllib.request

    data = None if body is None else json.dumps(body).encode()
    req = urllib.request.Request(url + path, method=method, data=data, headers={"Authorization": "Bearer " + token, "Content-Type": "application/json"})
    with urllib.request.urlopen(req, timeout=timeout) as res:
        return json.load(res)
