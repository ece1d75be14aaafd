"""The suite's independent reader: pyiceberg through the REST catalog and the S3 settings it vends.

usage: pyiceberg_read.py <base-url> <token> <namespace.table> [snapshot-id ...]
Prints one JSON object: {"current": [rows], "snapshots": {"<id>": [rows]}, "schema": [names]}.
Integers stay exact (Python ints); anything else JSON cannot hold is printed as text.
"""

import json
import sys

from pyiceberg.catalog import load_catalog


def rows(scan):
    return scan.to_arrow().to_pylist()


def main():
    url, token, ident, *snapshots = sys.argv[1:]
    catalog = load_catalog("conformance", type="rest", uri=url, token=token)
    table = catalog.load_table(ident)
    out = {
        "schema": [f.name for f in table.schema().fields],
        "current": rows(table.scan()),
        "snapshots": {s: rows(table.scan(snapshot_id=int(s))) for s in snapshots},
        "history": [str(s.snapshot_id) for s in table.snapshots()],
    }
    json.dump(out, sys.stdout, default=str)


if __name__ == "__main__":
    main()
