// The change-stream side: a subscriber on /v1/subscribe built on the code generated from
// proto/dolake/subscribe/v1. It subscribes (binary frames), grants one credit per batch handled,
// and resumes from the last batch's cursor after a dropped connection, or every -resume-every
// batches on purpose, to show that a cursor resumes exactly.
//
//	go run . verify-subscribe ../../../testdata/subscribe/v1
//	go run . subscribe -url http://127.0.0.1:8787 -token T -table T -count N [-resume-every 2]
//
// subscribe prints a JSON summary on its last line: events, their sequences and operations, reconnects.
package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"dolake.dev/conformance/producer/gen/subscribev1"
	"github.com/gorilla/websocket"
	"google.golang.org/protobuf/proto"
)

var subscribeCases = jsonTypes((&subscribev1.SubscribeClientMessage{}).ProtoReflect().Descriptor())

// verifySubscribe: client vectors encode byte for byte; server vectors decode to the case their type names.
func verifySubscribe(testdata string) error {
	serverCases := jsonTypes((&subscribev1.SubscribeServerMessage{}).ProtoReflect().Descriptor())
	bad, total := 0, 0
	for _, side := range []string{"client", "server"} {
		files, _ := filepath.Glob(filepath.Join(testdata, side, "*.json"))
		sort.Strings(files)
		for _, f := range files {
			total++
			name := side + "/" + strings.TrimSuffix(filepath.Base(f), ".json")
			text, _ := os.ReadFile(f)
			want, _ := os.ReadFile(strings.TrimSuffix(f, ".json") + ".binpb")
			v, err := parseOrdered(text)
			if err != nil {
				return fmt.Errorf("%s: %w", name, err)
			}
			ok := false
			if side == "client" {
				got, err := encodeEnvelope(subscribeCases, v.(object))
				if err != nil {
					return fmt.Errorf("%s: %w", name, err)
				}
				ok = bytes.Equal(got, want)
			} else {
				m := &subscribev1.SubscribeServerMessage{}
				t, _ := v.(object).get("type")
				if err := proto.Unmarshal(want, m); err == nil {
					which := m.ProtoReflect().WhichOneof(m.ProtoReflect().Descriptor().Oneofs().Get(0))
					ok = which != nil && which.Number() == serverCases[fmt.Sprint(t)].Number()
				}
			}
			if !ok {
				bad++
			}
			fmt.Printf("  %s %s\n", map[bool]string{true: "ok ", false: "BAD"}[ok], name)
		}
	}
	fmt.Printf("go subscriber: %d/%d subscribe vectors\n", total-bad, total)
	if bad > 0 || total == 0 {
		return errors.New("subscribe codec differs from the golden vectors")
	}
	return nil
}

type received struct {
	Position  int64  `json:"position"`
	Sequence  int64  `json:"sequence"`
	Operation string `json:"operation"`
	RowID     string `json:"rowId"`
}

func subscribe(args []string) error {
	fs := flag.NewFlagSet("subscribe", flag.ExitOnError)
	url := fs.String("url", envOr("DOLAKE_URL", "http://127.0.0.1:8787"), "DoLake base URL")
	token := fs.String("token", envOr("DOLAKE_TOKEN", "dev-token"), "bearer token")
	table := fs.String("table", "", "source table to follow")
	count := fs.Int("count", 0, "events to receive")
	batch := fs.Int("batch", 10, "most events per batch")
	resumeEvery := fs.Int("resume-every", 0, "reconnect after this many batches (0: never)")
	_ = fs.Parse(args)

	wsURL := strings.Replace(strings.TrimRight(*url, "/"), "http", "ws", 1) + "/v1/subscribe"
	var got []received
	cursor := ""
	reconnects := -1
	send := func(ws *websocket.Conn, msg object) error {
		b, err := encodeEnvelope(subscribeCases, msg)
		if err != nil {
			return err
		}
		return ws.WriteMessage(websocket.BinaryMessage, b)
	}
	for len(got) < *count {
		reconnects++
		ws, _, err := websocket.DefaultDialer.Dial(wsURL, http.Header{"Authorization": {"Bearer " + *token}})
		if err != nil {
			time.Sleep(200 * time.Millisecond)
			continue
		}
		start := object{{"from", "earliest"}}
		if cursor != "" {
			start = object{{"from", "cursor"}, {"cursor", cursor}}
		}
		if err := send(ws, append(object{{"type", "subscribe"}, {"tables", []any{*table}}, {"credits", num(4)}, {"maxBatchEvents", num(int64(*batch))}}, start...)); err != nil {
			return err
		}
		batches := 0
		for len(got) < *count {
			_ = ws.SetReadDeadline(time.Now().Add(30 * time.Second))
			_, data, err := ws.ReadMessage()
			if err != nil {
				break
			}
			m := &subscribev1.SubscribeServerMessage{}
			if err := proto.Unmarshal(data, m); err != nil {
				return err
			}
			if e := m.GetError(); e != nil {
				return fmt.Errorf("subscription refused: %s %s", e.GetCode(), e.GetMessage())
			}
			if s := m.GetSubscribed(); s != nil && cursor == "" {
				cursor = s.GetCursor()
			}
			if b := m.GetChangeBatch(); b != nil {
				for _, e := range b.GetEvents() {
					got = append(got, received{e.GetPosition(), e.GetSequence(), strings.TrimPrefix(e.GetOperation().String(), "OPERATION_"), e.GetRowId()})
				}
				cursor = b.GetCursor()
				if err := send(ws, object{{"type", "credit"}, {"batches", num(1)}}); err != nil {
					break
				}
				if batches++; *resumeEvery > 0 && batches >= *resumeEvery {
					break
				}
			}
		}
		_ = ws.Close()
	}
	seqs, ops := make([]int64, len(got)), make([]string, len(got))
	increasing := true
	for i, e := range got {
		seqs[i], ops[i] = e.Sequence, e.Operation
		if i > 0 && e.Position <= got[i-1].Position {
			increasing = false
		}
	}
	out, _ := json.Marshal(map[string]any{"events": len(got), "sequences": seqs, "operations": ops, "increasing": increasing, "reconnects": reconnects})
	fmt.Println(string(out))
	return nil
}
