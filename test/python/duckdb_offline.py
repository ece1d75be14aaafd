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
