"""A DoLake CDC producer in Python, built on code generated from proto/ (see generate.sh).

It streams binary frames: connect, then cdc_batch messages of INSERT/UPDATE/DELETE events, and
follows the protocol's rules: resume from connected.lastAckSequence, retry a batch refused with a
retryable nack after retryDelayMs, reconnect when the socket drops. It can also check its encoder
against the golden vectors (testdata/cdc/v1/client: byte-exact).

usage:
  producer.py verify <testdata/cdc/v1>
  producer.py stream --url http://127.0.0.1:8787 --token T --source S --table T [--rows 40] [--batch 5] [--flush]
Prints a JSON summary on the last line of stdout (stream): acked events, retries, reconnects, expected rows.
"""

import os

# The pure-Python runtime writes map entries in insertion order, as the golden vectors do
# (the C runtime's order is its hash table's). Must be set before protobuf is imported.
os.environ.setdefault("PROTOCOL_BUFFERS_PYTHON_IMPLEMENTATION", "python")

import argparse  # noqa: E402
import json  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402
import warnings  # noqa: E402

# websockets 17 prefers `with connect(...)`; this producer reconnects in a loop and closes explicitly.
warnings.simplefilter("ignore", DeprecationWarning)

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "gen"))

from dolake.cdc.v1 import cdc_pb2, options_pb2, value_pb2  # noqa: E402

INT64_MIN, INT64_MAX = -(2**63), 2**63 - 1


def value(v):
    """A JSON value as a dolake.cdc.v1.Value (integers exact, as the proto's Value says)."""
    out = value_pb2.Value()
    if v is None:
        out.null_value = value_pb2.NULL_VALUE_UNSPECIFIED
    elif isinstance(v, bool):
        out.bool_value = v
    elif isinstance(v, int):
        if INT64_MIN <= v <= INT64_MAX:
            out.int_value = v
        else:
            out.number_text = str(v)
    elif isinstance(v, float):
        out.double_value = v
    elif isinstance(v, str):
        out.string_value = v
    elif isinstance(v, list):
        out.list_value.values.extend(value(x) for x in v)
    elif isinstance(v, dict):
        out.object_value.CopyFrom(row(v))
    else:
        raise TypeError(f"not a JSON value: {v!r}")
    return out


def row(obj):
    """A JSON object as a dolake.cdc.v1.Row, columns in the object's order."""
    out = value_pb2.Row()
    for k, v in obj.items():
        out.fields[k].CopyFrom(value(v))
    return out


def enum_number(enum_desc, text):
    for v in enum_desc.values:
        if v.name == text or v.GetOptions().Extensions[options_pb2.json_value] == text:
            return v.number
    raise ValueError(f"{text!r} is not a {enum_desc.full_name}")


def fill(msg, obj):
    """Sets a message's fields from its published JSON object (camelCase keys, enums by json_value)."""
    fields = msg.DESCRIPTOR.fields_by_camelcase_name
    for key, v in obj.items():
        if key == "type" or v is None:
            continue
        f = fields.get(key)
        if f is None:
            raise KeyError(f"{msg.DESCRIPTOR.full_name} has no field {key}")
        if f.message_type is not None and f.message_type.full_name == "dolake.cdc.v1.Row":
            getattr(msg, f.name).CopyFrom(row(v))
        elif f.is_repeated and f.message_type is not None:
            for x in v:
                fill(getattr(msg, f.name).add(), x)
        elif f.message_type is not None:
            fill(getattr(msg, f.name), v)
        elif f.is_repeated and f.message_type is None and f.enum_type is None:
            getattr(msg, f.name).extend(v)
        elif f.enum_type is not None and f.is_repeated:
            getattr(msg, f.name).extend(enum_number(f.enum_type, x) for x in v)
        elif f.enum_type is not None:
            setattr(msg, f.name, enum_number(f.enum_type, v))
        else:
            setattr(msg, f.name, v)
    return msg


def cases(envelope):
    """json_type -> field name of each message an envelope (ClientMessage, SubscribeClientMessage, ...) holds."""
    return {f.message_type.GetOptions().Extensions[options_pb2.json_type]: f.name for f in envelope.DESCRIPTOR.fields}


def envelope_message(envelope, obj):
    """An envelope message holding `obj`, a message in published JSON form ({"type": "cdc_batch", ...})."""
    env = envelope()
    fill(getattr(env, cases(envelope)[obj["type"]]), obj)
    return env


def client_message(obj):
    """A ClientMessage from a message in published JSON form."""
    return envelope_message(cdc_pb2.ClientMessage, obj)


def verify(testdata):
    """Checks the encoder against every client golden vector, byte for byte."""
    folder = os.path.join(testdata, "client")
    bad = 0
    names = sorted(n[:-5] for n in os.listdir(folder) if n.endswith(".json"))
    for name in names:
        with open(os.path.join(folder, name + ".json")) as f:
            obj = json.load(f)
        with open(os.path.join(folder, name + ".binpb"), "rb") as f:
            want = f.read()
        got = client_message(obj).SerializeToString()
        ok = got == want
        bad += not ok
        print(f"  {'ok ' if ok else 'BAD'} {name}" + ("" if ok else f"\n      ours   {got.hex()}\n      golden {want.hex()}"))
        back = cdc_pb2.ClientMessage.FromString(want)
        if back != client_message(obj):
            bad += 1
            print(f"  BAD {name}: decoding the golden bytes gives another message")
    print(f"python producer: {len(names) - bad}/{len(names)} client vectors byte-exact")
    return 1 if bad else 0


def workload(table, rows):
    """Events (published JSON) of a small CDC workload and the rows it leaves."""
    events, state = [], {}

    def ev(op, i, version):
        e = {"sequence": len(events) + 1, "timestamp": 1704067200000 + len(events), "operation": op, "table": table, "rowId": str(i)}
        if op == "DELETE":
            e["before"] = state.pop(str(i))
        else:
            e["after"] = state[str(i)] = {"id": i, "name": f"py {i} v{version}", "score": i + 0.5, "big": 2**53 + i, "ok": i % 2 == 0}
        events.append(e)

    for i in range(1, rows + 1):
        ev("INSERT", i, 0)
    for i in range(1, rows + 1, 4):
        ev("UPDATE", i, 1)
    for i in range(3, rows + 1, 5):
        ev("DELETE", i, 0)
    return events, state


def stream(args):
    from websockets.exceptions import ConnectionClosed
    from websockets.sync.client import connect as ws_connect

    events, expected = workload(args.table, args.rows)
    url = args.url.replace("http", "ws", 1).rstrip("/") + "/ws"
    stats = {"acked_events": 0, "retries": 0, "reconnects": -1, "duplicates": 0, "last_ack_sequence": 0}
    batch_no = 0

    def recv(ws, want):
        """The next answer of one of the wanted kinds (persisted acks and others are noted and skipped)."""
        while True:
            m = cdc_pb2.ServerMessage.FromString(ws.recv(timeout=30))
            kind = m.WhichOneof("message")
            if kind == "ack" and m.ack.status == cdc_pb2.ACK_STATUS_PERSISTED and "persisted" not in want:
                continue
            if kind in want:
                return kind, getattr(m, kind)

    def session():
        ws = ws_connect(url, additional_headers={"Authorization": f"Bearer {args.token}"}, max_size=None)
        ws.send(client_message({"type": "connect", "timestamp": int(time.time() * 1000), "sourceDoId": args.source, "protocolVersion": 1,
                                "capabilities": {"binaryProtocol": True, "batching": True, "maxBatchSize": args.batch}}).SerializeToString())
        kind, m = recv(ws, {"connected", "nack"})
        if kind == "nack":
            raise RuntimeError(f"connect refused: {cdc_pb2.NackReason.Name(m.reason)} {m.error_message}")
        stats["reconnects"] += 1
        return ws, m.last_ack_sequence

    ws, resume = session()
    while True:
        pending = [e for e in events if e["sequence"] > resume]
        if not pending:
            break
        part = pending[: args.batch]
        batch_no += 1
        batch = {"type": "cdc_batch", "timestamp": int(time.time() * 1000), "sourceDoId": args.source, "sequenceNumber": batch_no,
                 "firstEventSequence": part[0]["sequence"], "lastEventSequence": part[-1]["sequence"], "events": part}
        retries = 0
        try:
            while True:
                if retries:
                    batch.update(isRetry=True, retryCount=retries)
                ws.send(client_message(batch).SerializeToString())
                kind, m = recv(ws, {"ack", "nack"})
                if kind == "ack":
                    stats["acked_events"] += m.details.events_processed
                    stats["duplicates"] += m.status == cdc_pb2.ACK_STATUS_DUPLICATE
                    resume = stats["last_ack_sequence"] = m.details.last_ack_sequence or part[-1]["sequence"]
                    break
                if not m.should_retry:
                    raise RuntimeError(f"batch {batch_no} refused: {cdc_pb2.NackReason.Name(m.reason)} {m.error_message}")
                retries += 1
                stats["retries"] += 1
                time.sleep(m.retry_delay_ms / 1000)
        except (ConnectionClosed, TimeoutError, OSError):
            time.sleep(0.2)
            ws, resume = session()
    if args.flush:
        ws.send(client_message({"type": "flush_request", "sourceDoId": args.source, "reason": "shutdown", "correlationId": "py-flush"}).SerializeToString())
        kind, m = recv(ws, {"flush_result"})
        stats["flushed"] = m.ok
        if not m.ok:
            raise RuntimeError(f"flush failed: {m.error_message}")
    ws.close()
    stats["events"] = len(events)
    stats["expected"] = expected
    print(json.dumps(stats))
    return 0


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = p.add_subparsers(dest="cmd", required=True)
    v = sub.add_parser("verify")
    v.add_argument("testdata")
    s = sub.add_parser("stream")
    s.add_argument("--url", default=os.environ.get("DOLAKE_URL", "http://127.0.0.1:8787"))
    s.add_argument("--token", default=os.environ.get("DOLAKE_TOKEN", "dev-token"))
    s.add_argument("--source", default="python-producer")
    s.add_argument("--table", default="py_producer")
    s.add_argument("--rows", type=int, default=40)
    s.add_argument("--batch", type=int, default=5)
    s.add_argument("--flush", action="store_true")
    args = p.parse_args()
    return verify(args.testdata) if args.cmd == "verify" else stream(args)


if __name__ == "__main__":
    sys.exit(main())
