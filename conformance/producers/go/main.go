// A DoLake CDC producer in Go, built on code generated from proto/ (see generate.sh).
//
// It streams binary frames: connect, then cdc_batch messages of INSERT/UPDATE/DELETE events, and
// follows the protocol: resume from connected.lastAckSequence, retry a batch refused with a
// retryable nack after retryDelayMs, reconnect when the socket drops. `verify` checks its encoder
// against the golden vectors (testdata/cdc/v1/client), byte for byte.
//
//	go run . verify ../../../testdata/cdc/v1
//	go run . stream -url http://127.0.0.1:8787 -token T -source S -table T [-rows 40] [-batch 5] [-flush]
//
// stream prints a JSON summary on its last line: acked events, retries, reconnects, expected rows.
package main

import (
	"bytes"
	"encoding/hex"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"time"

	"dolake.dev/conformance/producer/gen/cdcv1"
	"github.com/gorilla/websocket"
	"google.golang.org/protobuf/proto"
)

func main() {
	if len(os.Args) < 2 {
		fmt.Fprintln(os.Stderr, "usage: producer verify <testdata/cdc/v1> | producer stream [flags] | producer verify-subscribe <testdata/subscribe/v1> | producer subscribe [flags]")
		os.Exit(2)
	}
	var err error
	switch os.Args[1] {
	case "verify":
		err = verify(os.Args[2])
	case "stream":
		err = stream(os.Args[2:])
	case "verify-subscribe":
		err = verifySubscribe(os.Args[2])
	case "subscribe":
		err = subscribe(os.Args[2:])
	default:
		err = fmt.Errorf("unknown command %s", os.Args[1])
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "go producer:", err)
		os.Exit(1)
	}
}

// verify encodes every client golden vector's JSON and compares with its .binpb.
func verify(testdata string) error {
	dir := filepath.Join(testdata, "client")
	files, _ := filepath.Glob(filepath.Join(dir, "*.json"))
	sort.Strings(files)
	bad := 0
	for _, f := range files {
		name := strings.TrimSuffix(filepath.Base(f), ".json")
		text, _ := os.ReadFile(f)
		want, _ := os.ReadFile(strings.TrimSuffix(f, ".json") + ".binpb")
		v, err := parseOrdered(text)
		if err != nil {
			return fmt.Errorf("%s: %w", name, err)
		}
		got, err := encodeClient(v.(object))
		if err != nil {
			return fmt.Errorf("%s: %w", name, err)
		}
		// The generated types must read the golden bytes too.
		if err := proto.Unmarshal(want, &cdcv1.ClientMessage{}); err != nil {
			return fmt.Errorf("%s: generated code cannot decode the golden bytes: %w", name, err)
		}
		if bytes.Equal(got, want) {
			fmt.Printf("  ok  %s\n", name)
		} else {
			bad++
			fmt.Printf("  BAD %s\n      ours   %s\n      golden %s\n", name, hex.EncodeToString(got), hex.EncodeToString(want))
		}
	}
	fmt.Printf("go producer: %d/%d client vectors byte-exact\n", len(files)-bad, len(files))
	if bad > 0 || len(files) == 0 {
		return errors.New("encoder differs from the golden vectors")
	}
	return nil
}

func num(n int64) json.Number { return json.Number(strconv.FormatInt(n, 10)) }

// workload returns the events (published JSON) of a small CDC workload and the rows it leaves.
func workload(table string, rows int) ([]object, map[string]object) {
	var events []object
	state := map[string]object{}
	ev := func(op string, i int64, version int) {
		seq := int64(len(events) + 1)
		e := object{{"sequence", num(seq)}, {"timestamp", num(1704067200000 + seq)}, {"operation", op}, {"table", table}, {"rowId", strconv.FormatInt(i, 10)}}
		id := strconv.FormatInt(i, 10)
		if op == "DELETE" {
			e = append(e, kv{"before", state[id]})
			delete(state, id)
		} else {
			after := object{{"id", num(i)}, {"name", fmt.Sprintf("go %d v%d", i, version)}, {"score", json.Number(fmt.Sprintf("%d.25", i))}, {"big", num(1<<53 + i)}, {"ok", i%2 == 1}}
			state[id] = after
			e = append(e, kv{"after", after})
		}
		events = append(events, e)
	}
	for i := int64(1); i <= int64(rows); i++ {
		ev("INSERT", i, 0)
	}
	for i := int64(2); i <= int64(rows); i += 3 {
		ev("UPDATE", i, 1)
	}
	for i := int64(4); i <= int64(rows); i += 6 {
		ev("DELETE", i, 0)
	}
	return events, state
}

type session struct {
	ws *websocket.Conn
}

func (s *session) send(msg object) error {
	b, err := encodeClient(msg)
	if err != nil {
		return err
	}
	return s.ws.WriteMessage(websocket.BinaryMessage, b)
}

// recv returns the next server message that is not an unprompted persisted ack (unless wanted).
func (s *session) recv(wantPersisted bool) (*cdcv1.ServerMessage, error) {
	for {
		_ = s.ws.SetReadDeadline(time.Now().Add(60 * time.Second))
		_, data, err := s.ws.ReadMessage()
		if err != nil {
			return nil, err
		}
		m := &cdcv1.ServerMessage{}
		if err := proto.Unmarshal(data, m); err != nil {
			return nil, fmt.Errorf("undecodable server frame: %w", err)
		}
		if a := m.GetAck(); a != nil && a.GetStatus() == cdcv1.AckStatus_ACK_STATUS_PERSISTED && !wantPersisted {
			continue
		}
		return m, nil
	}
}

func stream(args []string) error {
	fs := flag.NewFlagSet("stream", flag.ExitOnError)
	url := fs.String("url", envOr("DOLAKE_URL", "http://127.0.0.1:8787"), "DoLake base URL")
	token := fs.String("token", envOr("DOLAKE_TOKEN", "dev-token"), "bearer token")
	source := fs.String("source", "go-producer", "sourceDoId")
	table := fs.String("table", "go_producer", "table")
	rows := fs.Int("rows", 40, "rows to insert")
	batch := fs.Int("batch", 5, "events per batch")
	flush := fs.Bool("flush", false, "send flush_request at the end")
	_ = fs.Parse(args)

	events, expected := workload(*table, *rows)
	wsURL := strings.Replace(strings.TrimRight(*url, "/"), "http", "ws", 1) + "/ws"
	stats := map[string]any{"acked_events": 0, "retries": 0, "reconnects": -1, "duplicates": 0}
	connect := func() (*session, int64, error) {
		ws, _, err := websocket.DefaultDialer.Dial(wsURL, http.Header{"Authorization": {"Bearer " + *token}})
		if err != nil {
			return nil, 0, err
		}
		s := &session{ws}
		caps := object{{"binaryProtocol", true}, {"batching", true}, {"maxBatchSize", num(int64(*batch))}}
		if err := s.send(object{{"type", "connect"}, {"timestamp", num(time.Now().UnixMilli())}, {"sourceDoId", *source}, {"protocolVersion", num(1)}, {"capabilities", caps}}); err != nil {
			return nil, 0, err
		}
		m, err := s.recv(false)
		if err != nil {
			return nil, 0, err
		}
		if n := m.GetNack(); n != nil {
			return nil, 0, fmt.Errorf("connect refused: %s %s", n.GetReason(), n.GetErrorMessage())
		}
		stats["reconnects"] = stats["reconnects"].(int) + 1
		return s, m.GetConnected().GetLastAckSequence(), nil
	}
	s, resume, err := connect()
	if err != nil {
		return err
	}
	batchNo := int64(0)
	for {
		var pending []any
		for _, e := range events {
			seq, _ := e[0].Value.(json.Number).Int64()
			if seq > resume {
				pending = append(pending, e)
			}
			if len(pending) == *batch {
				break
			}
		}
		if len(pending) == 0 {
			break
		}
		batchNo++
		first, _ := pending[0].(object)[0].Value.(json.Number).Int64()
		last, _ := pending[len(pending)-1].(object)[0].Value.(json.Number).Int64()
		msg := object{{"type", "cdc_batch"}, {"timestamp", num(time.Now().UnixMilli())}, {"sourceDoId", *source}, {"events", pending},
			{"sequenceNumber", num(batchNo)}, {"firstEventSequence", num(first)}, {"lastEventSequence", num(last)}}
		retries := 0
		dropped := false
		for {
			if retries > 0 {
				msg = append(msg, kv{"isRetry", true}, kv{"retryCount", num(int64(retries))})
			}
			var m *cdcv1.ServerMessage
			if err = s.send(msg); err == nil {
				m, err = s.recv(false)
			}
			if err != nil {
				dropped = true
				break
			}
			if a := m.GetAck(); a != nil {
				stats["acked_events"] = stats["acked_events"].(int) + int(a.GetDetails().GetEventsProcessed())
				if a.GetStatus() == cdcv1.AckStatus_ACK_STATUS_DUPLICATE {
					stats["duplicates"] = stats["duplicates"].(int) + 1
				}
				resume = a.GetDetails().GetLastAckSequence()
				if resume == 0 {
					resume = last
				}
				break
			}
			n := m.GetNack()
			if n == nil {
				return fmt.Errorf("unexpected answer to a batch: %v", m)
			}
			if !n.GetShouldRetry() {
				return fmt.Errorf("batch %d refused: %s %s", batchNo, n.GetReason(), n.GetErrorMessage())
			}
			retries++
			stats["retries"] = stats["retries"].(int) + 1
			msg = msg[:7]
			time.Sleep(time.Duration(n.GetRetryDelayMs()) * time.Millisecond)
		}
		if dropped {
			_ = s.ws.Close()
			time.Sleep(200 * time.Millisecond)
			if s, resume, err = connect(); err != nil {
				return err
			}
		}
	}
	if *flush {
		if err := s.send(object{{"type", "flush_request"}, {"sourceDoId", *source}, {"reason", "shutdown"}, {"correlationId", "go-flush"}}); err != nil {
			return err
		}
		for {
			m, err := s.recv(false)
			if err != nil {
				return err
			}
			if r := m.GetFlushResult(); r != nil {
				if !r.GetOk() {
					return fmt.Errorf("flush failed: %s", r.GetErrorMessage())
				}
				stats["flushed"] = true
				break
			}
		}
	}
	_ = s.ws.WriteMessage(websocket.CloseMessage, websocket.FormatCloseMessage(websocket.CloseNormalClosure, "done"))
	_ = s.ws.Close()
	stats["last_ack_sequence"] = resume
	stats["events"] = len(events)
	stats["expected"] = expected
	out, err := json.Marshal(stats)
	if err != nil {
		return err
	}
	fmt.Println(string(out))
	return nil
}

func envOr(k, d string) string {
	if v := os.Getenv(k); v != "" {
		return v
	}
	return d
}
