"""Freshness poller of bench/sustained/run.mjs: reads marker ids on stdin (one per line, written
when the marker's batch was acked), polls table default.freshness through DoLake's REST catalog
with pyiceberg, and prints `{"marker": id, "visible_ms": <epoch ms>}` for each marker once a
committed snapshot holds it, stamped when the table's metadata was loaded (the snapshot a reader
sees is fixed then). Needs DOLAKE_URL and DOLAKE_TOKEN. Polls back to back (each loads the table
and scans its `id` column); a poll that fails (a timeout under load) is reported and retried.
"""
import json
import os
import sys
import threading
import time

from pyiceberg.catalog import load_catalog
from pyiceberg.exceptions import NoSuchTableError

catalog = load_catalog("dolake", type="rest", uri=os.environ["DOLAKE_URL"], token=os.environ["DOLAKE_TOKEN"])
pending = set()
lock = threading.Lock()
done = threading.Event()


def read_stdin():
    for line in sys.stdin:
        line = line.strip()
        if line:
            with lock:
                pending.add(int(line))
    done.set()


threading.Thread(target=read_stdin, daemon=True).start()
while True:
    with lock:
        want = set(pending)
    if not want:
        if done.is_set():
            break
        time.sleep(0.05)
        continue
    try:
        table = catalog.load_table(("default", "freshness"))
        # The snapshot a reader sees is fixed when its metadata loads: that is the visible time.
        now = int(time.time() * 1000)
        ids = set(table.scan(selected_fields=("id",)).to_arrow().column("id").to_pylist())
    except NoSuchTableError:
        continue
    except Exception as e:  # a read that failed under load (timeouts): poll again
        print(json.dumps({"poll_error": str(e)[:200]}), flush=True)
        time.sleep(0.2)
        continue
    for m in sorted(want & ids):
        print(json.dumps({"marker": m, "visible_ms": now}), flush=True)
        with lock:
            pending.discard(m)
