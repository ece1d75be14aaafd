"""A DoLake change-stream subscriber in Python, built on code generated from proto/ (see generate.sh).

It speaks binary frames on /v1/subscribe: subscribe (tables, start position, credits), then reads
change_batch messages, granting one credit per batch it has handled, and resumes from the cursor
of the last batch after a dropped connection (or, with --resume-every N, after every N batches on
purpose, to show that a cursor resumes exactly). It can check its encoder against the golden
vectors (testdata/subscribe/v1: client byte-exact, server decodable).

usage:
  subscriber.py verify <testdata/subscribe/v1>
  subscriber.py stream --url http://127.0.0.1:8787 --token T --table T --count N [--from earliest] [--resume-every 2]
Prints a JSON summary on the last line of stdout (stream): events received, their sequences and
operations, reconnects.
"""

import os

os.environ.setdefault("PROTOCOL_BUFFERS_PYTHON_IMPLEMENTATION", "python")

import argparse  # noqa: E402
import json  # noqa: E402
import sys  # noqa: E402
import warnings  # noqa: E402

warnings.simplefilter("ignore", DeprecationWarning)
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "gen"))

from dolake.cdc.v1 import cdc_pb2  # noqa: E402
from dolake.subscribe.v1 import subscribe_pb2  # noqa: E402
from producer import cases, envelope_message  # noqa: E402

SERVER_CASES = cases(subscribe_pb2.SubscribeServerMessage)


def client_message(obj):
    """A SubscribeClientMessage from its published JSON form ({"type": "subscribe", ...})."""
    return envelope_message(subscribe_pb2.SubscribeClientMessage, obj)


def verify(testdata):
    """Client vectors encode byte for byte; server vectors decode to the message their type names."""
    bad = total = 0
    for side in ("client", "server"):
        folder = os.path.join(testdata, side)
        for name in sorted(n[:-5] for n in os.listdir(folder) if n.endswith(".json")):
            total += 1
            with open(os.path.join(folder, name + ".json")) as f:
                obj = json.load(f)
            with open(os.path.join(folder, name + ".binpb"), "rb") as f:
                want = f.read()
            if side == "client":
                ok = client_message(obj).SerializeToString() == want
            else:
                ok = subscribe_pb2.SubscribeServerMessage.FromString(want).WhichOneof("message") == SERVER_CASES[obj["type"]]
            bad += not ok
            print(f"  {'ok ' if ok else 'BAD'} {side}/{name}")
    print(f"python subscriber: {total - bad}/{total} subscribe vectors")
    return 1 if bad else 0


def stream(args):
    from websockets.exceptions import ConnectionClosed
    from websockets.sync.client import connect as ws_connect

    url = args.url.replace("http", "ws", 1).rstrip("/") + "/v1/subscribe"
    received, cursor, reconnects = [], None, -1
    while len(received) < args.count:
        reconnects += 1
        ws = ws_connect(url, additional_headers={"Authorization": f"Bearer {args.token}"}, max_size=None)
        start = {"from": "cursor", "cursor": cursor} if cursor is not None else {"from": args.start}
        ws.send(client_message({"type": "subscribe", "tables": [args.table], "credits": 4, "maxBatchEvents": args.batch, **start}).SerializeToString())
        batches = 0
        try:
            while len(received) < args.count:
                m = subscribe_pb2.SubscribeServerMessage.FromString(ws.recv(timeout=30))
                kind = m.WhichOneof("message")
                if kind == "subscribed" and cursor is None:
                    cursor = m.subscribed.cursor
                elif kind == "change_batch":
                    for e in m.change_batch.events:
                        received.append({"position": e.position, "sequence": e.sequence, "operation": cdc_pb2.Operation.Name(e.operation), "rowId": e.row_id})
                    cursor = m.change_batch.cursor
                    ws.send(client_message({"type": "credit", "batches": 1}).SerializeToString())
                    batches += 1
                    if args.resume_every and batches >= args.resume_every:
                        break
                elif kind == "error":
                    raise RuntimeError(f"subscription refused: {subscribe_pb2.SubscribeErrorCode.Name(m.error.code)} {m.error.message}")
        except (ConnectionClosed, TimeoutError, OSError):
            pass
        ws.close()
    positions = [e["position"] for e in received]
    print(json.dumps({"events": len(received), "sequences": [e["sequence"] for e in received], "operations": [e["operation"] for e in received],
                      "increasing": all(a < b for a, b in zip(positions, positions[1:])), "reconnects": reconnects}))
    return 0


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = p.add_subparsers(dest="cmd", required=True)
    v = sub.add_parser("verify")
    v.add_argument("testdata")
    s = sub.add_parser("stream")
    s.add_argument("--url", default=os.environ.get("DOLAKE_URL", "http://127.0.0.1:8787"))
    s.add_argument("--token", default=os.environ.get("DOLAKE_TOKEN", "dev-token"))
    s.add_argument("--table", required=True)
    s.add_argument("--count", type=int, required=True)
    s.add_argument("--from", dest="start", default="earliest", choices=["earliest", "now"])
    s.add_argument("--batch", type=int, default=10)
    s.add_argument("--resume-every", type=int, default=0)
    args = p.parse_args()
    return verify(args.testdata) if args.cmd == "verify" else stream(args)


if __name__ == "__main__":
    sys.exit(main())
