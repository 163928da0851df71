package emit

import (
	"fmt"
	"path"
	"strconv"
	"strings"
	"unicode"

	"github.com/eventrunner/eventrunner/gen/ir"
	"github.com/eventrunner/eventrunner/gen/protogen"
)

// The typed gRPC API: every schema version becomes messages and a service
// in one proto package, so that clients in any language can compile
// generated/proto with protoc; the Go code goes to generated/typedpb.
const (
	typedProtoPkg  = "eventrunner.typed.v1"
	typedProtoDir  = "eventrunner/typed/v1"
	typedGoDir     = "typedpb"
	typedCommon    = typedProtoDir + "/common.proto"
	modulePath     = "github.com/eventrunner/eventrunner"
	timestampProto = "google/protobuf/timestamp.proto"
)

// protoModel is the typed API of a bundle: one .proto per schema version
// (plus the shared acks), and for every object, enum and array-of-array
// type of the schemas the proto name that the converters use.
type protoModel struct {
	files   []*protogen.File
	schemas map[*ir.Schema]*protoSchema
}

// protoSchema names the messages of one schema version.
type protoSchema struct {
	file    *protogen.File
	event   string // envelope message, e.g. OrderCreatedV1Event
	service string
	objects map[*ir.ObjectType]string
	enums   map[*ir.Type]*protoEnum
	lists   map[*ir.Type]string // wrapper message of an array's items that are arrays
	fields  map[*ir.Field]string
}

// protoEnum maps a string enum to a proto enum: number i+1 is the value at
// index i of values; 0 is unset.
type protoEnum struct {
	name   string
	values []string // schema values, "" skipped
	consts []string // proto value names, parallel to values
	index  []int    // index of each value in the schema's enum
}

func buildProtoModel(b *ir.Bundle, goImport string) *protoModel {
	m := &protoModel{schemas: map[*ir.Schema]*protoSchema{}}
	common := &protogen.File{
		Path:      typedCommon,
		Header:    []string{strings.TrimPrefix(Header, "// "), "Source: the eventgen typed gRPC API (acks shared by every typed service)"},
		Package:   typedProtoPkg,
		GoPackage: goImport,
		Messages:  protogen.AckMessages(typedProtoPkg),
	}
	m.files = append(m.files, common)
	used := map[string]bool{"Ack": true, "Violation": true}
	for _, s := range b.Schemas {
		ps := schemaProto(s, goImport, used)
		m.schemas[s] = ps
		m.files = append(m.files, ps.file)
	}
	return m
}

// unique returns name, or name with a numeric suffix when the proto
// package already has it.
func unique(used map[string]bool, name string) string {
	n := name
	for i := 2; used[n]; i++ {
		n = name + strconv.Itoa(i)
	}
	used[n] = true
	return n
}

func schemaProto(s *ir.Schema, goImport string, used map[string]bool) *protoSchema {
	ps := &protoSchema{
		objects: map[*ir.ObjectType]string{},
		enums:   map[*ir.Type]*protoEnum{},
		lists:   map[*ir.Type]string{},
		fields:  map[*ir.Field]string{},
	}
	objs := objects(s)
	for _, o := range objs {
		ps.objects[o] = unique(used, o.GoName)
	}
	ps.event = unique(used, s.GoName+"Event")
	ps.service = unique(used, s.GoName+"Ingest")
	f := &protogen.File{
		Path:      path.Join(typedProtoDir, s.FileStem+".proto"),
		Header:    []string{strings.TrimPrefix(Header, "// "), "Source: " + s.File},
		Package:   typedProtoPkg,
		GoPackage: goImport,
		Imports:   []string{typedCommon, timestampProto},
	}
	ps.file = f
	full := func(n string) string { return typedProtoPkg + "." + n }
	f.Services = []*protogen.Service{{
		Name: ps.service,
		Comment: fmt.Sprintf("%s takes %s events with typed data. Authenticate with the metadata\n"+
			"\"authorization: Bearer <API key>\" or \"x-api-key: <API key>\".", ps.service, s.ID),
		Methods: []*protogen.Method{
			{
				Name: "Publish" + s.GoName,
				Comment: "Publish" + s.GoName + " stores one event and answers once it is stored; a refused\n" +
					"event gets INVALID_ARGUMENT (with a BadRequest naming the field),\n" +
					"PERMISSION_DENIED or UNAVAILABLE (retry).",
				Input: full(ps.event), Output: full("Ack"),
			},
			{
				Name:    "Stream" + s.GoName,
				Comment: "Stream" + s.GoName + " takes events as they come and acknowledges each once stored.",
				Input:   full(ps.event), Output: full("Ack"), ClientStreaming: true, ServerStreaming: true,
			},
		},
	}}
	f.Messages = append(f.Messages, &protogen.Message{
		Name: ps.event,
		Comment: fmt.Sprintf("%s is a %s event: its CloudEvent attributes and its data.\n"+
			"The type (%s) and dataschema (%s) follow from the message.", ps.event, s.ID, s.Type, s.ID),
		Fields: []*protogen.Field{
			{Name: "id", Number: 1, Type: protogen.TString, Comment: "Unique per source; a retry with the same source and id is deduplicated."},
			{Name: "source", Number: 2, Type: protogen.TString, Comment: "URI-reference naming the producer."},
			{Name: "subject", Number: 3, Type: protogen.TString},
			{Name: "time", Number: 4, TypeName: "google.protobuf.Timestamp", Comment: "When the event happened; the ingest time when unset."},
			{Name: "extensions", Number: 5, Map: &protogen.MapType{Key: protogen.TString, Value: protogen.TString},
				Comment: "Further CloudEvent attributes (lower-case alphanumeric names)."},
			{Name: "data", Number: 6, TypeName: full(ps.objects[s.Root])},
		},
	})
	for _, o := range objs {
		f.Messages = append(f.Messages, ps.objectMessage(s, o, used))
	}
	return ps
}

// objectMessage is the message of an object type, with its enums and the
// wrappers its nested arrays need declared after it.
func (ps *protoSchema) objectMessage(s *ir.Schema, o *ir.ObjectType, used map[string]bool) *protogen.Message {
	msg := &protogen.Message{Name: ps.objects[o], Comment: o.Description}
	if o == s.Root {
		msg.Comment = strings.TrimSpace(fmt.Sprintf("%s is the data of a %s event.\n\n%s", msg.Name, s.ID, s.Description))
	}
	names, jsonNames := map[string]bool{}, map[string]bool{}
	num := int32(0)
	for _, fl := range o.Fields {
		num++
		if num == 19000 { // reserved for the protobuf implementation
			num = 20000
		}
		name := fieldName(fl.Name)
		// Distinct names whose default JSON names clash (foo_bar1,
		// foo_bar_1) are refused by protoc too.
		for i := 2; names[name] || jsonNames[protogen.DefaultJSONName(name)]; i++ {
			name = fieldName(fl.Name) + "_" + strconv.Itoa(i)
		}
		names[name], jsonNames[protogen.DefaultJSONName(name)] = true, true
		ps.fields[fl] = name
		pf := &protogen.Field{Name: name, Number: num, JSONName: fl.Name, Comment: fl.Description}
		ps.setType(pf, fl.Type, ps.objects[o]+goPart(fl.Name), used)
		msg.Fields = append(msg.Fields, pf)
	}
	return msg
}

// setType fills the type of field pf from t; base names the enum or list
// wrapper types a field needs.
func (ps *protoSchema) setType(pf *protogen.Field, t *ir.Type, base string, used map[string]bool) {
	full := func(n string) string { return typedProtoPkg + "." + n }
	switch t.Kind {
	case ir.String:
		if len(t.Enum) > 0 {
			pe := ps.enum(t, used)
			pf.TypeName, pf.IsEnum = full(pe.name), true
			return
		}
		pf.Type = protogen.TString
	case ir.Integer:
		pf.Type = protogen.TInt64
	case ir.Number:
		pf.Type = protogen.TDouble
	case ir.Boolean:
		pf.Type = protogen.TBool
	case ir.Object:
		pf.TypeName = full(ps.objects[t.Object])
	case ir.Array:
		pf.Repeated = true
		if t.Items.Kind != ir.Array {
			ps.setType(pf, t.Items, base, used)
			return
		}
		// repeated repeated does not exist: wrap the inner array.
		name := unique(used, base+"List")
		ps.lists[t.Items] = name
		inner := &protogen.Field{Name: "items", Number: 1}
		ps.setType(inner, t.Items, base+"Item", used)
		ps.file.Messages = append(ps.file.Messages, &protogen.Message{
			Name:    name,
			Comment: name + " holds one array of an array of arrays.",
			Fields:  []*protogen.Field{inner},
		})
		pf.TypeName = full(name)
	}
}

// enum declares the proto enum of a string enum, named like the Go
// constants of its values.
func (ps *protoSchema) enum(t *ir.Type, used map[string]bool) *protoEnum {
	if pe := ps.enums[t]; pe != nil {
		return pe
	}
	prefix := strings.TrimSuffix(t.EnumNames[0], goSuffixOf(t.EnumNames[0], t.Enum[0]))
	pe := &protoEnum{name: unique(used, prefix)}
	upper := upperSnake(pe.name)
	e := &protogen.Enum{
		Name:   pe.name,
		Values: []*protogen.EnumValue{{Name: upper + "_UNSPECIFIED", Number: 0, Comment: "Unset: the property is absent."}},
	}
	// Enum values are scoped to the proto package, as in C++: the prefix
	// keeps them apart, used makes sure.
	first := unique(used, upper+"_UNSPECIFIED")
	e.Values[0].Name = first
	for i, v := range t.Enum {
		if v == "" {
			continue
		}
		suffix := upperSnake(v)
		if suffix == "" {
			suffix = "VALUE"
		}
		c := unique(used, upper+"_"+suffix)
		pe.values = append(pe.values, v)
		pe.consts = append(pe.consts, c)
		pe.index = append(pe.index, i)
		e.Values = append(e.Values, &protogen.EnumValue{Name: c, Number: int32(len(pe.values)), Comment: strconv.Quote(v)})
	}
	ps.enums[t] = pe
	ps.file.Enums = append(ps.file.Enums, e)
	return pe
}

// fieldName is the proto field name of a JSON property: snake_case, only
// letters, digits and underscores, not starting with a digit.
func fieldName(prop string) string {
	var b strings.Builder
	prevLower := false
	for _, r := range prop {
		switch {
		case unicode.IsUpper(r) && r < 128:
			if prevLower {
				b.WriteByte('_')
			}
			b.WriteRune(unicode.ToLower(r))
			prevLower = false
		case r < 128 && (unicode.IsLetter(r) || unicode.IsDigit(r)):
			b.WriteRune(r)
			prevLower = true
		default:
			if b.Len() > 0 && !strings.HasSuffix(b.String(), "_") {
				b.WriteByte('_')
			}
			prevLower = false
		}
	}
	s := strings.Trim(b.String(), "_")
	if s == "" || s[0] >= '0' && s[0] <= '9' {
		s = "f_" + s
	}
	return s
}

// upperSnake is UPPER_SNAKE_CASE of a name or value.
func upperSnake(s string) string {
	return strings.ToUpper(strings.TrimPrefix(fieldName(s), "f_"))
}

// goPart CamelCases a property name for type names.
func goPart(prop string) string {
	var b strings.Builder
	for _, p := range strings.Split(fieldName(prop), "_") {
		if p != "" {
			b.WriteString(strings.ToUpper(p[:1]) + p[1:])
		}
	}
	return b.String()
}
