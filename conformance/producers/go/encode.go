// Published JSON -> protobuf binary, driven by the descriptors generated from proto/.
//
// Go maps have no order, so proto.Marshal cannot write a Row's columns in the order the source
// has them (the golden vectors keep that order). This encoder walks the generated descriptors
// with protowire instead, in field-number order, and writes Row entries in the JSON object's order.
package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math"
	"math/big"
	"sort"
	"strconv"
	"strings"

	"dolake.dev/conformance/producer/gen/cdcv1"
	"google.golang.org/protobuf/encoding/protowire"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"
)

// kv is one member of a JSON object, in order.
type kv struct {
	Key   string
	Value any
}

// object is a JSON object that keeps its key order.
type object []kv

func (o object) get(k string) (any, bool) {
	for _, m := range o {
		if m.Key == k {
			return m.Value, true
		}
	}
	return nil, false
}

// MarshalJSON writes the object in its order.
func (o object) MarshalJSON() ([]byte, error) {
	var b bytes.Buffer
	b.WriteByte('{')
	for i, m := range o {
		if i > 0 {
			b.WriteByte(',')
		}
		k, _ := json.Marshal(m.Key)
		v, err := json.Marshal(m.Value)
		if err != nil {
			return nil, err
		}
		b.Write(k)
		b.WriteByte(':')
		b.Write(v)
	}
	b.WriteByte('}')
	return b.Bytes(), nil
}

// parseOrdered reads JSON keeping object key order and numbers as json.Number.
func parseOrdered(data []byte) (any, error) {
	d := json.NewDecoder(bytes.NewReader(data))
	d.UseNumber()
	return readValue(d)
}

func readValue(d *json.Decoder) (any, error) {
	t, err := d.Token()
	if err != nil {
		return nil, err
	}
	switch t := t.(type) {
	case json.Delim:
		if t == '{' {
			var o object
			for d.More() {
				k, err := d.Token()
				if err != nil {
					return nil, err
				}
				v, err := readValue(d)
				if err != nil {
					return nil, err
				}
				o = append(o, kv{k.(string), v})
			}
			_, err := d.Token()
			return o, err
		}
		var a []any
		for d.More() {
			v, err := readValue(d)
			if err != nil {
				return nil, err
			}
			a = append(a, v)
		}
		_, err := d.Token()
		return a, err
	default:
		return t, nil
	}
}

// jsonTypes maps each envelope case's json_type ("cdc_batch") to its field in the envelope message.
func jsonTypes(envelope protoreflect.MessageDescriptor) map[string]protoreflect.FieldDescriptor {
	out := map[string]protoreflect.FieldDescriptor{}
	fields := envelope.Fields()
	for i := 0; i < fields.Len(); i++ {
		f := fields.Get(i)
		t := proto.GetExtension(f.Message().Options(), cdcv1.E_JsonType).(string)
		out[t] = f
	}
	return out
}

var clientCases = jsonTypes((&cdcv1.ClientMessage{}).ProtoReflect().Descriptor())

// encodeClient encodes a CDC client message given in published JSON form ({"type": ...}).
func encodeClient(msg object) ([]byte, error) {
	return encodeEnvelope(clientCases, msg)
}

// encodeEnvelope encodes a message in published JSON form as the envelope case its "type" names.
func encodeEnvelope(cases map[string]protoreflect.FieldDescriptor, msg object) ([]byte, error) {
	t, _ := msg.get("type")
	f, ok := cases[fmt.Sprint(t)]
	if !ok {
		return nil, fmt.Errorf("unknown message type %v", t)
	}
	inner, err := encodeMessage(f.Message(), msg)
	if err != nil {
		return nil, err
	}
	b := protowire.AppendTag(nil, f.Number(), protowire.BytesType)
	return protowire.AppendBytes(b, inner), nil
}

func fieldByJSON(md protoreflect.MessageDescriptor, key string) protoreflect.FieldDescriptor {
	if f := md.Fields().ByJSONName(key); f != nil {
		return f
	}
	return md.Fields().ByName(protoreflect.Name(key))
}

// encodeMessage encodes a message from its JSON object, fields in number order (as protobuf-es writes them).
func encodeMessage(md protoreflect.MessageDescriptor, o object) ([]byte, error) {
	if md.FullName() == "dolake.cdc.v1.Row" {
		return encodeRow(o)
	}
	type field struct {
		fd protoreflect.FieldDescriptor
		v  any
	}
	var fs []field
	for _, m := range o {
		if m.Key == "type" || m.Value == nil {
			continue
		}
		fd := fieldByJSON(md, m.Key)
		if fd == nil {
			return nil, fmt.Errorf("%s has no field %s", md.FullName(), m.Key)
		}
		fs = append(fs, field{fd, m.Value})
	}
	sort.SliceStable(fs, func(i, j int) bool { return fs[i].fd.Number() < fs[j].fd.Number() })
	var b []byte
	for _, f := range fs {
		var err error
		if f.fd.IsList() && f.fd.Kind() != protoreflect.MessageKind && f.fd.Kind() != protoreflect.StringKind {
			// proto3 packs repeated scalars: one length-delimited field of varints.
			var values []byte
			for _, x := range f.v.([]any) {
				one, err := appendField(nil, f.fd, x, true)
				if err != nil {
					return nil, err
				}
				_, _, n := protowire.ConsumeTag(one)
				values = append(values, one[n:]...)
			}
			if len(values) > 0 {
				b = protowire.AppendBytes(protowire.AppendTag(b, f.fd.Number(), protowire.BytesType), values)
			}
			continue
		}
		if f.fd.IsList() {
			for _, x := range f.v.([]any) {
				if b, err = appendField(b, f.fd, x, true); err != nil {
					return nil, err
				}
			}
			continue
		}
		if b, err = appendField(b, f.fd, f.v, f.fd.ContainingOneof() != nil); err != nil {
			return nil, err
		}
	}
	return b, nil
}

// appendField appends one value of a field; proto3 scalars at their default are left out unless `always`.
func appendField(b []byte, fd protoreflect.FieldDescriptor, v any, always bool) ([]byte, error) {
	num := fd.Number()
	switch fd.Kind() {
	case protoreflect.MessageKind:
		o, ok := v.(object)
		if !ok {
			return nil, fmt.Errorf("%s: expected an object", fd.FullName())
		}
		inner, err := encodeMessage(fd.Message(), o)
		if err != nil {
			return nil, err
		}
		return protowire.AppendBytes(protowire.AppendTag(b, num, protowire.BytesType), inner), nil
	case protoreflect.StringKind:
		s := fmt.Sprint(v)
		if s == "" && !always {
			return b, nil
		}
		return protowire.AppendString(protowire.AppendTag(b, num, protowire.BytesType), s), nil
	case protoreflect.BoolKind:
		if v != true && !always {
			return b, nil
		}
		x := uint64(0)
		if v == true {
			x = 1
		}
		return protowire.AppendVarint(protowire.AppendTag(b, num, protowire.VarintType), x), nil
	case protoreflect.EnumKind:
		n, err := enumNumber(fd.Enum(), v)
		if err != nil {
			return nil, err
		}
		if n == 0 && !always {
			return b, nil
		}
		return protowire.AppendVarint(protowire.AppendTag(b, num, protowire.VarintType), uint64(n)), nil
	case protoreflect.DoubleKind:
		f, err := strconv.ParseFloat(fmt.Sprint(v), 64)
		if err != nil {
			return nil, err
		}
		if f == 0 && !always {
			return b, nil
		}
		return protowire.AppendFixed64(protowire.AppendTag(b, num, protowire.Fixed64Type), math.Float64bits(f)), nil
	case protoreflect.Int64Kind, protoreflect.Int32Kind, protoreflect.Uint32Kind, protoreflect.Uint64Kind, protoreflect.Sint64Kind:
		n, err := strconv.ParseInt(fmt.Sprint(v), 10, 64)
		if err != nil {
			return nil, fmt.Errorf("%s: %v", fd.FullName(), err)
		}
		if n == 0 && !always {
			return b, nil
		}
		x := uint64(n)
		if fd.Kind() == protoreflect.Sint64Kind {
			x = protowire.EncodeZigZag(n)
		}
		return protowire.AppendVarint(protowire.AppendTag(b, num, protowire.VarintType), x), nil
	}
	return nil, fmt.Errorf("%s: kind %v is not used by the wire messages", fd.FullName(), fd.Kind())
}

func enumNumber(ed protoreflect.EnumDescriptor, v any) (protoreflect.EnumNumber, error) {
	if n, ok := v.(json.Number); ok {
		i, err := n.Int64()
		return protoreflect.EnumNumber(i), err
	}
	values := ed.Values()
	for i := 0; i < values.Len(); i++ {
		ev := values.Get(i)
		if string(ev.Name()) == v || proto.GetExtension(ev.Options(), cdcv1.E_JsonValue).(string) == v {
			return ev.Number(), nil
		}
	}
	return 0, fmt.Errorf("%v is not a %s", v, ed.FullName())
}

// encodeRow writes a Row: map entries {1: column, 2: Value}, in the object's order.
func encodeRow(o object) ([]byte, error) {
	var b []byte
	for _, m := range o {
		val, err := encodeValue(m.Value)
		if err != nil {
			return nil, err
		}
		entry := protowire.AppendString(protowire.AppendTag(nil, 1, protowire.BytesType), m.Key)
		entry = protowire.AppendBytes(protowire.AppendTag(entry, 2, protowire.BytesType), val)
		b = protowire.AppendBytes(protowire.AppendTag(b, 1, protowire.BytesType), entry)
	}
	return b, nil
}

// encodeValue writes a dolake.cdc.v1.Value: integers exact (int_value), other numbers double,
// numbers that fit neither as number_text.
func encodeValue(v any) ([]byte, error) {
	switch x := v.(type) {
	case nil:
		return protowire.AppendVarint(protowire.AppendTag(nil, 1, protowire.VarintType), 0), nil
	case bool:
		n := uint64(0)
		if x {
			n = 1
		}
		return protowire.AppendVarint(protowire.AppendTag(nil, 2, protowire.VarintType), n), nil
	case json.Number:
		s := x.String()
		if !strings.ContainsAny(s, ".eE") {
			if i, err := strconv.ParseInt(s, 10, 64); err == nil {
				return protowire.AppendVarint(protowire.AppendTag(nil, 3, protowire.VarintType), protowire.EncodeZigZag(i)), nil
			}
			if _, ok := new(big.Int).SetString(s, 10); ok {
				return protowire.AppendString(protowire.AppendTag(nil, 8, protowire.BytesType), s), nil
			}
		}
		f, err := strconv.ParseFloat(s, 64)
		if err != nil {
			return nil, err
		}
		return protowire.AppendFixed64(protowire.AppendTag(nil, 4, protowire.Fixed64Type), math.Float64bits(f)), nil
	case string:
		return protowire.AppendString(protowire.AppendTag(nil, 5, protowire.BytesType), x), nil
	case object:
		row, err := encodeRow(x)
		if err != nil {
			return nil, err
		}
		return protowire.AppendBytes(protowire.AppendTag(nil, 6, protowire.BytesType), row), nil
	case []any:
		var list []byte
		for _, e := range x {
			ev, err := encodeValue(e)
			if err != nil {
				return nil, err
			}
			list = protowire.AppendBytes(protowire.AppendTag(list, 1, protowire.BytesType), ev)
		}
		return protowire.AppendBytes(protowire.AppendTag(nil, 7, protowire.BytesType), list), nil
	}
	return nil, fmt.Errorf("not a JSON value: %T", v)
}
