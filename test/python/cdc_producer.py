"""A minimal CDC producer over the WebSocket for Python checks: published JSON frames, sequences
numbered in order, and each batch's own `buffered` ack awaited (unprompted `persisted` acks from
flushes are skipped, so they are never taken for the next batch's answer)."""

import json


class Producer:
    def __init__(self, ws, source, timeout=30):
        self.source = source
        self.seq = 0
        self.batch = 0
        self.ws = ws
        self.timeout = timeout
        self.ws.send(json.dumps({"type": "connect", "sourceDoId": source, "protocolVersion": 1}))
        assert json.loads(self.ws.recv(timeout=timeout))["type"] == "connected"

    def send(self, events):
        """Sends `events` (dicts without sequence) as one batch and waits for its buffered ack."""
        self.batch += 1
        for e in events:
            self.seq += 1
            e["sequence"] = self.seq
        self.ws.send(json.dumps({"type": "cdc_batch", "sourceDoId": self.source, "sequenceNumber": self.batch, "events": events}))
        while True:
            msg = json.loads(self.ws.recv(timeout=self.timeout))
            if msg["type"] == "ack" and msg["status"] == "persisted":
                continue
            assert msg["type"] == "ack" and msg["status"] == "buffered", msg
            return
